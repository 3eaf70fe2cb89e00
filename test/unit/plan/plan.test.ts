/**
 * `umami-db plan`: the library's plan (resources under Pulumi mocks + the SQL from sql.ts), its rendering,
 * and the CLI end to end. Plans are built one at a time: `setMocks` is process-global.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { buildProvisionSql, REDACTED } from "../../../sst/database/sql.js";
import { buildSpec } from "../../../sst/database/spec.js";
import { InvalidNameError } from "../../../sst/errors.js";
import { MOCK_MASTER_PASSWORD, MOCK_MASTER_USERNAME } from "../../../scripts/plan/mock-stack.js";
import { buildPlan, renderPlan, type Plan, type PlannedResource } from "../../../scripts/plan/plan.js";

const run = promisify(execFile);
const plans: Record<string, Plan> = {};

beforeAll(async () => {
  plans.dev = await buildPlan("dev");
  plans["pr-42"] = await buildPlan("pr-42");
}, 120_000);

function resource(plan: Plan, name: string): PlannedResource {
  const found = plan.resources.find((r) => r.name === name);
  if (!found) throw new Error(`plan has no ${name}`);
  return found;
}

describe("buildPlan", () => {
  it("lists every resource with its Pulumi type token, components left out", () => {
    expect(plans.dev.stage).toBe("dev");
    expect(plans.dev.resources.map((r) => r.type)).toEqual([
      "pulumi:providers:postgresql",
      "random:index/randomPassword:RandomPassword",
      "random:index/randomBytes:RandomBytes",
      "postgresql:index/role:Role",
      "postgresql:index/schema:Schema",
      "postgresql:index/extension:Extension",
      "postgresql:index/grant:Grant",
      "postgresql:index/grant:Grant",
      "postgresql:index/grant:Grant",
      "postgresql:index/grant:Grant",
      "postgresql:index/defaultPrivileges:DefaultPrivileges",
      "postgresql:index/defaultPrivileges:DefaultPrivileges",
      "aws:secretsmanager/secret:Secret",
      "aws:secretsmanager/secretVersion:SecretVersion",
      "aws:cloudwatch/metricAlarm:MetricAlarm",
      "aws:cloudwatch/metricAlarm:MetricAlarm",
      "aws:cloudwatch/metricAlarm:MetricAlarm",
      "aws:cloudwatch/dashboard:Dashboard",
    ]);
  });

  it("shows secrets as [secret] and never a password", () => {
    expect(resource(plans.dev, "UmamiRole").inputs.password).toBe(REDACTED);
    expect(resource(plans.dev, "UmamiProvider").inputs.password).toBe(REDACTED);
    expect(resource(plans.dev, "UmamiSecretVersion").inputs.secretString).toBe(REDACTED);
    const text = JSON.stringify(plans.dev);
    expect(text).not.toContain(MOCK_MASTER_PASSWORD);
    expect(text).not.toContain("postgresql://");
  });

  it("uses the story's names for dev and derived names for pr-42", () => {
    expect(resource(plans.dev, "UmamiRole").inputs.name).toBe("umami_user");
    expect(resource(plans.dev, "UmamiSchema").inputs.name).toBe("umami");
    expect(resource(plans.dev, "UmamiSecret").inputs.name).toBe("observability/umami-db-credentials");
    expect(resource(plans["pr-42"], "UmamiRole").inputs.name).toBe("umami_user_pr_42");
    expect(resource(plans["pr-42"], "UmamiSchema").inputs.name).toBe("umami_pr_42");
    expect(resource(plans["pr-42"], "UmamiSecret").inputs.name).toBe("observability/pr-42/umami-db-credentials");
  });

  it("shows the provider's configuration as the values the stack set", () => {
    expect(resource(plans.dev, "UmamiProvider").inputs).toEqual({
      host: "app-aurora-dev.cluster-c0ffee000000.us-east-1.rds.amazonaws.com",
      port: 5432,
      username: MOCK_MASTER_USERNAME,
      password: REDACTED,
      database: "app",
      sslmode: "require",
      superuser: false,
      connectTimeout: 15,
    });
  });

  it("prints the SQL from sql.ts for the administrator the provider connects as, password redacted", () => {
    expect(resource(plans.dev, "UmamiProvider").inputs.username).toBe(MOCK_MASTER_USERNAME);
    expect(plans.dev.sql).toEqual(
      buildProvisionSql(buildSpec("dev"), { admin: MOCK_MASTER_USERNAME, password: REDACTED }),
    );
    expect(plans.dev.sql[0]).toMatch(/^CREATE ROLE "umami_user" WITH LOGIN .* PASSWORD '\[secret\]'$/);
    expect(plans["pr-42"].sql).toContain('CREATE SCHEMA "umami_pr_42" AUTHORIZATION "postgres"');
  });

  it("grants in the same order and with the same privileges as the SQL", () => {
    const grants = plans.dev.resources.filter((r) =>
      /\/(grant:Grant|defaultPrivileges:DefaultPrivileges)$/.test(r.type),
    );
    const statements = plans.dev.sql.filter((s) => /^(GRANT|ALTER DEFAULT PRIVILEGES)/.test(s));
    expect(grants).toHaveLength(statements.length);
    const target = { database: "ON DATABASE", schema: "ON SCHEMA", table: "TABLES", sequence: "SEQUENCES" } as const;
    grants.forEach((grant, i) => {
      const { objectType, privileges } = grant.inputs as { objectType: keyof typeof target; privileges: string[] };
      expect(statements[i], grant.name).toContain(`GRANT ${privileges.join(", ")} `);
      expect(statements[i], grant.name).toContain(target[objectType]);
    });
  });

  it("refuses an invalid stage before evaluating anything", async () => {
    await expect(buildPlan("pr_42")).rejects.toThrow(InvalidNameError);
  });
});

describe("renderPlan", () => {
  it("prints a table of resources, then the SQL, one statement a line", () => {
    const text = renderPlan(plans.dev);
    const lines = text.split("\n");
    expect(lines[0]).toBe("Plan for stage dev: 18 resources (secrets shown as [secret])");
    // Below the placeholders' lines (placeholders.test.ts).
    expect(lines[plans.dev.placeholders.length + 2]).toMatch(/^TYPE\s+NAME\s+INPUTS$/);
    for (const r of plans.dev.resources)
      expect(text).toMatch(new RegExp(`^${r.type.replace(/[/.]/g, "\\$&")}\\s+${r.name}\\s`, "m"));
    for (const statement of plans.dev.sql) expect(lines).toContain(`${statement};`);
    expect(text).toContain("password=[secret]");
  });

  it("prints a list of objects (the storage alarm's metric queries) as JSON, never [object Object]", () => {
    const text = renderPlan(plans.dev);
    expect(text).not.toContain("[object Object]");
    const storage = plans.dev.resources.find((r) => r.name === "ClusterStorageGrowth")!;
    const queries = storage.inputs.metricQueries as unknown[];
    expect(queries.length).toBeGreaterThan(0);
    expect(text).toContain(`metricQueries=[${queries.map((q) => JSON.stringify(q)).join(",")}]`);
  });
});

describe("umami-db plan (CLI)", () => {
  it("prints the same plan as JSON", async () => {
    const { stdout } = await run(process.execPath, ["bin/umami-db.js", "plan", "--stage", "dev", "--json"]);
    expect(JSON.parse(stdout)).toEqual(plans.dev);
  });

  it("refuses an invalid stage with one line and exit 2", async () => {
    const failure: { code?: number; stdout: string; stderr: string } = await run(process.execPath, [
      "bin/umami-db.js",
      "plan",
      "--stage",
      "pr_42",
    ]).catch((error: unknown) => error as { code?: number; stdout: string; stderr: string });
    expect(failure.code).toBe(2);
    expect(failure.stdout).toBe("");
    expect(failure.stderr).toMatch(/^error: Invalid stage "pr_42": .*\n$/);
  });
});
