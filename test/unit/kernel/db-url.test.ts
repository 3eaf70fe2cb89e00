/** The secret's URLs as `umami-db` parses them: libpq's sslmode, node-pg's and Prisma's startup options. */
import { describe, expect, it } from "vitest";
import { buildCredentialsSecret } from "../../../sst/database/secret.js";
import { parseDatabaseUrl, toUrl } from "../../../scripts/kernel/db.js";

const secret = buildCredentialsSecret({
  username: "umami_user",
  password: "pw-pw",
  host: "c.cluster-x.us-east-1.rds.amazonaws.com",
  port: 5432,
  database: "app",
  schema: "umami",
});

describe("parseDatabaseUrl on the secret's URLs", () => {
  it("reads verify-full, ignores Prisma's sslaccept, and keeps DIRECT_DATABASE_URL's startup options", () => {
    const runtime = parseDatabaseUrl(secret.DATABASE_URL);
    expect(runtime).toMatchObject({
      sslmode: "verify-full",
      schema: "umami",
      host: "c.cluster-x.us-east-1.rds.amazonaws.com",
    });
    expect(runtime.options).toBeUndefined();
    expect(parseDatabaseUrl(secret.DIRECT_DATABASE_URL).options).toBe("-c statement_timeout=0");
  });

  it("writes options back with %20, which libpq reads as a space (it does not read + as one)", () => {
    const url = toUrl(parseDatabaseUrl(secret.DIRECT_DATABASE_URL), { user: "other", password: "x y" });
    expect(url).toBe(
      "postgresql://other:x%20y@c.cluster-x.us-east-1.rds.amazonaws.com:5432/app?schema=umami&sslmode=verify-full&options=-c%20statement_timeout%3D0",
    );
    expect(parseDatabaseUrl(url).options).toBe("-c statement_timeout=0");
  });
});

describe("a URL that names no database, where the host may be a password's tail", () => {
  it("is refused in one line quoting neither the password nor what follows its unencoded @", () => {
    for (const url of [
      "postgresql://admin:a@Secr3tPass",
      "postgresql://admin:@Secr3tPass",
      "postgresql://admin:a@Secr3tPass:5432",
      "postgresql://admin:a@Secr3tPass?sslmode=require",
    ]) {
      expect(() => parseDatabaseUrl(url)).toThrow(
        /^The database URL \(postgresql:\/\/admin:\*\*\*\*@\*\*\*\*\) names no database\. Add \/<database> after the port\.$/,
      );
    }
    // Without user information nothing can be a password: the host is quoted.
    expect(() => parseDatabaseUrl("postgresql://db.example.com:5432")).toThrow(
      "The database URL (postgresql://db.example.com:5432) names no database.",
    );
  });
});
