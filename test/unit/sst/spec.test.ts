import { describe, expect, it } from "vitest";
import { ALL_PRIVILEGES, buildCredentialsSecret, buildSpec, missingPgcryptoMessage, stageNames, STORY_NAMES, validateIdentifier, validateStage } from "../../../sst/database/spec.js";
import { InvalidNameError } from "../../../sst/errors.js";

describe("stage names", () => {
  it("uses the story's names for configured stages", () => {
    expect(stageNames("dev")).toEqual({
      schema: "umami",
      role: "umami_user",
      secretName: "observability/umami-db-credentials",
    });
    expect(stageNames("production")).toEqual(STORY_NAMES);
  });

  it("derives collision-free names for any other stage", () => {
    expect(stageNames("pr-42")).toEqual({
      schema: "umami_pr_42",
      role: "umami_user_pr_42",
      secretName: "observability/pr-42/umami-db-credentials",
    });
    expect(stageNames("pr-43").role).not.toBe(stageNames("pr-42").role);
  });

  it("keeps the stage's case, which then needs quoting in SQL", () => {
    expect(stageNames("Alice-Dev").schema).toBe("umami_Alice_Dev");
  });

  it.each([
    ["empty", ""],
    ["starts with a digit", "42"],
    ["has a space", "pr 42"],
    ["has a quote", 'pr"42'],
    ["has a slash", "pr/42"],
    ["has an underscore", "pr_42"],
    ["is too long", "a".repeat(41)],
    ["has a non-ASCII letter", "prüf"],
  ])("refuses a stage that %s", (_why, stage) => {
    expect(() => validateStage(stage)).toThrow(InvalidNameError);
    expect(() => stageNames(stage)).toThrow(/^Invalid stage ".*": a stage starts with a letter/);
  });

  it("accepts the longest stage and its derived role stays within 63 bytes", () => {
    const stage = "a".repeat(40);
    const names = stageNames(stage);
    expect(Buffer.byteLength(names.role)).toBeLessThanOrEqual(63);
  });
});

describe("identifiers", () => {
  it("refuses names over 63 bytes, with characters needing more than quoting, or reserved", () => {
    expect(() => validateIdentifier("schema name", "x".repeat(64))).toThrow(/64 bytes; PostgreSQL truncates identifiers at 63/);
    expect(() => validateIdentifier("role name", "umami-user")).toThrow(/use letters, digits and underscores/);
    expect(() => validateIdentifier("role name", "pg_umami")).toThrow(/reserved by PostgreSQL/);
    expect(validateIdentifier("role name", "x".repeat(63))).toHaveLength(63);
  });
});

describe("buildSpec", () => {
  it("declares the story's privileges and the role limits", () => {
    const spec = buildSpec("dev");
    expect(spec.privileges.schema).toEqual(["USAGE", "CREATE"]);
    expect(spec.privileges.tables).toEqual(ALL_PRIVILEGES.table);
    expect(spec.privileges.sequences).toEqual(ALL_PRIVILEGES.sequence);
    expect(spec.privileges.defaultPrivileges).toEqual({ tables: ALL_PRIVILEGES.table, sequences: ALL_PRIVILEGES.sequence });
    expect(spec.role).toMatchObject({ name: "umami_user", login: true, superuser: false, connectionLimit: 10, searchPath: ["umami"] });
    expect(spec.extension).toEqual({ name: "pgcrypto", schema: "umami", create: true, notCreatedBecause: null });
    expect(spec.protect).toBe(false);
  });

  it("takes limits and the pgcrypto decision from the stage settings", () => {
    const spec = buildSpec("production", { clusterIdentifier: "c", database: "app", connectionLimit: 3, pgcryptoAlreadyInstalled: true });
    expect(spec.role.connectionLimit).toBe(3);
    expect(spec.extension).toMatchObject({ create: false, notCreatedBecause: "already-installed" });
    expect(missingPgcryptoMessage(spec)).toEqual({
      detail: "stage production is configured with pgcryptoAlreadyInstalled, but database app has no pgcrypto",
      remedy: "Set pgcryptoAlreadyInstalled: false for stage production in sst/stages.ts, or have the administrator run CREATE EXTENSION pgcrypto.",
    });
    expect(() => buildSpec("pr-7", { clusterIdentifier: "c", database: "app", connectionLimit: 0 })).toThrow(/connection limit/);
  });

  it("never lets a derived stage manage pgcrypto: its database holds one, the default stage's", () => {
    const spec = buildSpec("pr-42");
    expect(spec.extension).toEqual({ name: "pgcrypto", schema: "umami_pr_42", create: false, notCreatedBecause: "derived-stage" });
    expect(buildSpec("pr-42", { clusterIdentifier: "c", database: "app", pgcryptoAlreadyInstalled: false }).extension.create).toBe(false);
    expect(missingPgcryptoMessage(spec).remedy).toBe("Deploy stage dev first, or have the administrator run CREATE EXTENSION pgcrypto in database app.");
  });

  it("marks production protected and non-configured stages unprotected", () => {
    expect(buildSpec("production").protect).toBe(true);
    expect(buildSpec("pr-42").protect).toBe(false);
  });
});

describe("credentials secret", () => {
  it("holds the story's keys, AWS's rotation keys and a Prisma URL selecting the schema", () => {
    const secret = buildCredentialsSecret({
      username: "umami_user",
      password: "Abc-_123",
      host: "cluster.example.com",
      port: 5432,
      database: "app",
      schema: "umami",
    });
    expect(secret).toEqual({
      username: "umami_user",
      password: "Abc-_123",
      host: "cluster.example.com",
      port: 5432,
      database: "app",
      schema: "umami",
      engine: "postgres",
      dbname: "app",
      DATABASE_URL: "postgresql://umami_user:Abc-_123@cluster.example.com:5432/app?schema=umami&sslmode=require",
    });
  });
});
