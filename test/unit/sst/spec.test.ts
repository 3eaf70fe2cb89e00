import { describe, expect, it } from "vitest";
import type { StageSettings } from "../../../sst/stages.js";
import {
  ALL_PRIVILEGES,
  buildSpec,
  missingPgcryptoMessage,
  stageNames,
  STORY_NAMES,
  validateIdentifier,
  validateStage,
} from "../../../sst/database/spec.js";
import { buildCredentialsSecret, SECRET_KEYS } from "../../../sst/database/secret.js";
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
    expect(() => validateIdentifier("schema name", "x".repeat(64))).toThrow(
      /64 bytes; PostgreSQL truncates identifiers at 63/,
    );
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
    expect(spec.privileges.defaultPrivileges).toEqual({
      tables: ALL_PRIVILEGES.table,
      sequences: ALL_PRIVILEGES.sequence,
    });
    expect(spec.role).toMatchObject({
      name: "umami_user",
      login: true,
      superuser: false,
      connectionLimit: 22,
      searchPath: ["umami"],
    });
    expect(spec.extension).toEqual({ name: "pgcrypto", schema: "umami", create: true, notCreatedBecause: null });
    expect(spec.protect).toBe(false);
  });

  it("takes the pgcrypto decision from the stage settings", () => {
    const spec = buildSpec("production", { clusterIdentifier: "c", database: "app", pgcryptoAlreadyInstalled: true });
    expect(spec.extension).toMatchObject({ create: false, notCreatedBecause: "already-installed" });
    expect(missingPgcryptoMessage(spec)).toEqual({
      detail: "stage production is configured with pgcryptoAlreadyInstalled, but database app has no pgcrypto",
      remedy:
        "Set pgcryptoAlreadyInstalled: false for stage production in sst/stages.ts, or have the administrator run CREATE EXTENSION pgcrypto.",
    });
  });

  it("derives the connection limit from Umami's pools: 10 × (1 + replica) × tasks × 2 (rolling deploy) + 2 (post-deploy)", () => {
    const limit = (settings: Partial<StageSettings>) =>
      buildSpec("pr-7", { clusterIdentifier: "c", database: "app", ...settings }).role;
    // The old fixed 10 was exactly one pool: a rolling deploy's second task failed 10 of 20 queries (`docs/design.md` § "Umami's releases and Prisma").
    expect(limit({}).connectionLimit).toBe(22);
    expect(limit({ umamiTasks: 3 }).connectionLimit).toBe(62);
    // The replica pool counts only where the task gets DATABASE_REPLICA_URL: Umami 2.18–2.x, not 3.x.
    expect(limit({ umamiTasks: 3, readReplica: true, umamiVersion: "2.20.0" }).connectionLimit).toBe(122);
    expect(limit({ umamiTasks: 3, readReplica: true }).connectionLimit).toBe(62);
    expect(limit({ umamiTasks: 3, readReplica: true, umamiVersion: "2.10.0" }).connectionLimit).toBe(62);
    expect(limit({ readReplica: true }).connectionBudget.formula).toBe(
      "10 per pool × 1 pool per task (no replica pool: Umami 3.1.0 gets no DATABASE_REPLICA_URL) × 1 task × 2 (rolling deploy) + 2 (post-deploy) = 22",
    );
    expect(limit({ readReplica: true, umamiVersion: "2.18.0" }).connectionBudget).toEqual({
      poolMax: 10,
      poolsPerTask: 2,
      tasks: 1,
      rollingFactor: 2,
      postDeploy: 2,
      total: 42,
      formula: "10 per pool × 2 pools per task × 1 task × 2 (rolling deploy) + 2 (post-deploy) = 42",
    });
    expect(() => limit({ umamiTasks: 0 })).toThrow(/umamiTasks/);
    expect(() => limit({ umamiTasks: 1.5 })).toThrow(/umamiTasks/);
  });

  it("describes the container: tasks, read replica and where its RDS CA bundle is", () => {
    expect(buildSpec("dev").container).toEqual({
      tasks: 1,
      readReplica: false,
      caBundlePath: "/etc/ssl/certs/rds-global-bundle.pem",
    });
    const spec = buildSpec("pr-7", {
      clusterIdentifier: "c",
      database: "app",
      umamiTasks: 2,
      readReplica: true,
      containerCaBundle: "/app/rds.pem",
    });
    expect(spec.container).toEqual({ tasks: 2, readReplica: true, caBundlePath: "/app/rds.pem" });
    const base = { clusterIdentifier: "c", database: "app" };
    expect(() => buildSpec("pr-7", { ...base, containerCaBundle: "rds.pem" })).toThrow(
      /containerCaBundle.*absolute path/,
    );
    expect(() => buildSpec("pr-7", { ...base, passwordGeneration: 1.5 })).toThrow(/passwordGeneration/);
    expect(buildSpec("pr-7", { ...base, passwordGeneration: 2 }).secret.passwordGeneration).toBe(2);
  });

  it("never lets a derived stage manage pgcrypto: its database holds one, the default stage's", () => {
    const spec = buildSpec("pr-42");
    expect(spec.extension).toEqual({
      name: "pgcrypto",
      schema: "umami_pr_42",
      create: false,
      notCreatedBecause: "derived-stage",
    });
    expect(
      buildSpec("pr-42", { clusterIdentifier: "c", database: "app", pgcryptoAlreadyInstalled: false }).extension.create,
    ).toBe(false);
    expect(missingPgcryptoMessage(spec).remedy).toBe(
      "Deploy stage dev first, or have the administrator run CREATE EXTENSION pgcrypto in database app.",
    );
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
      DATABASE_URL:
        "postgresql://umami_user:Abc-_123@cluster.example.com:5432/app?schema=umami&sslmode=verify-full&sslaccept=strict",
      DIRECT_DATABASE_URL:
        "postgresql://umami_user:Abc-_123@cluster.example.com:5432/app?schema=umami&sslmode=verify-full&sslaccept=strict&options=-c%20statement_timeout%3D0",
    });
    expect(Object.keys(secret)).toEqual([...SECRET_KEYS]);
  });

  it("adds DATABASE_REPLICA_URL on the reader endpoint when asked, and keeps TLS off only on this machine", () => {
    const parts = {
      username: "u",
      password: "p",
      host: "c.cluster-x.rds.amazonaws.com",
      port: 5432,
      database: "app",
      schema: "umami",
    };
    const secret = buildCredentialsSecret({ ...parts, readerHost: "c.cluster-ro-x.rds.amazonaws.com" });
    expect(secret.DATABASE_REPLICA_URL).toBe(
      "postgresql://u:p@c.cluster-ro-x.rds.amazonaws.com:5432/app?schema=umami&sslmode=verify-full&sslaccept=strict",
    );
    const local = buildCredentialsSecret({ ...parts, host: "127.0.0.1", sslmode: "disable" });
    expect(local.DATABASE_URL).toBe("postgresql://u:p@127.0.0.1:5432/app?schema=umami&sslmode=disable");
    expect(local.DIRECT_DATABASE_URL).toBe(
      "postgresql://u:p@127.0.0.1:5432/app?schema=umami&sslmode=disable&options=-c%20statement_timeout%3D0",
    );
    expect("DATABASE_REPLICA_URL" in local).toBe(false);
  });
});
