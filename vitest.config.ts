import { defineConfig } from "vitest/config";

// Two projects (STYLE.md rule 12): `unit` needs no database or network; `integration` runs against real
// PostgreSQL 15 (embedded). Each integration file starts its own server: roles are cluster-wide, so files
// that provision `umami_user` would collide on a shared server.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          testTimeout: 30_000,
          // Both cores: vitest's default on this 2-core machine is one worker (available parallelism − 1), and
          // the unit files then ran one after another (606 tests: 239 s alone, 147 s with two, same minutes).
          maxWorkers: 2,
          // Projects with different worker limits need their own group: unit tests run first.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: "forks",
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
