/** The secret's URLs as `umami-db` parses them: libpq's sslmode, node-pg's and Prisma's startup options. */
import { describe, expect, it } from "vitest";
import { buildCredentialsSecret } from "../../../sst/database/secret.js";
import { parseDatabaseUrl, toUrl } from "../../../scripts/kernel/db.js";

const secret = buildCredentialsSecret({ username: "umami_user", password: "pw-pw", host: "c.cluster-x.us-east-1.rds.amazonaws.com", port: 5432, database: "app", schema: "umami" });

describe("parseDatabaseUrl on the secret's URLs", () => {
  it("reads verify-full, ignores Prisma's sslaccept, and keeps DIRECT_DATABASE_URL's startup options", () => {
    const runtime = parseDatabaseUrl(secret.DATABASE_URL);
    expect(runtime).toMatchObject({ sslmode: "verify-full", schema: "umami", host: "c.cluster-x.us-east-1.rds.amazonaws.com" });
    expect(runtime.options).toBeUndefined();
    expect(parseDatabaseUrl(secret.DIRECT_DATABASE_URL).options).toBe("-c statement_timeout=0");
  });

  it("writes options back with %20, which libpq reads as a space (it does not read + as one)", () => {
    const url = toUrl(parseDatabaseUrl(secret.DIRECT_DATABASE_URL), { user: "other", password: "x y" });
    expect(url).toBe("postgresql://other:x%20y@c.cluster-x.us-east-1.rds.amazonaws.com:5432/app?schema=umami&sslmode=verify-full&options=-c%20statement_timeout%3D0");
    expect(parseDatabaseUrl(url).options).toBe("-c statement_timeout=0");
  });
});
