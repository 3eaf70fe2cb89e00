/** The one URL vocabulary (sst/database/url.ts): format, parse, mask — and no password in any error. */
import { describe, expect, it } from "vitest";
import { formatDatabaseUrl, maskUrl, parseDatabaseUrlParts } from "../../../sst/database/url.js";

const parts = {
  user: "umami_user",
  password: "p@ss:w/rd?#% é",
  host: "2001:db8::1",
  port: 5432,
  database: "app",
  params: { schema: "umami", sslmode: "verify-full", options: undefined },
};

describe("formatDatabaseUrl", () => {
  it("brackets an IPv6 host, %-encodes every part with %20 for a space, and leaves out undefined parameters", () => {
    expect(formatDatabaseUrl(parts)).toBe(
      "postgresql://umami_user:p%40ss%3Aw%2Frd%3F%23%25%20%C3%A9@[2001:db8::1]:5432/app?schema=umami&sslmode=verify-full",
    );
  });

  it("masks the password when asked, and writes no user information when there is none", () => {
    expect(formatDatabaseUrl(parts, { masked: true })).toBe(
      "postgresql://umami_user:****@[2001:db8::1]:5432/app?schema=umami&sslmode=verify-full",
    );
    expect(formatDatabaseUrl({ user: "", password: "", host: "h", port: 5433, database: "d b" })).toBe(
      "postgresql://h:5433/d%20b",
    );
  });

  it("round-trips through the parser", () => {
    expect(parseDatabaseUrlParts(formatDatabaseUrl(parts))).toEqual({
      ...parts,
      params: { schema: "umami", sslmode: "verify-full" },
    });
  });
});

describe("maskUrl", () => {
  it.each([
    ["postgresql://admin:Secr3t@host:5432/db", "postgresql://admin:****@host:5432/db"],
    ["postgresql://admin:Secr3t#Pass/x@host/db", "postgresql://admin:****@host/db"],
    ["postgresql://admin:Secr3t@Pass@host/db", "postgresql://admin:****@host/db"],
    ["postgresql://admin:Secr3t/Pass", "postgresql://admin:****"],
    ["postgresql://host:5432/db?password=Secr3t&x=1", "postgresql://host:5432/db?password=****&x=1"],
    ["postgresql://[::1]:5432/db", "postgresql://[::1]:5432/db"],
    ["postgresql://admin@host:Secr3t/db", "postgresql://admin@host:****"],
    ["postgresql://admin:pw@[::1]:5432/db", "postgresql://admin:****@[::1]:5432/db"],
    ["admin:Secr3t@host/db", "****"],
    // A URL with no host after the password: what follows the password's own @ (or : / ? #) is no host or port.
    ["postgresql://admin:#Secr3t", "postgresql://admin:****"],
    ["postgresql://admin:/Secr3t", "postgresql://admin:****"],
    ["postgresql://admin:?Secr3t", "postgresql://admin:****"],
    ["postgresql://admin:sl/ash@#?Secr3t", "postgresql://admin:****@****"],
    ["postgresql://admin:p@ Secr3t", "postgresql://admin:****@****"],
    ["postgresql://admin:p@%Secr3t", "postgresql://admin:****@****"],
    ["postgresql://admin:p@/Secr3t", "postgresql://admin:****@****"],
    ["postgresql://admin:p@&Secr3t", "postgresql://admin:****@****"],
    ["postgresql://admin:pw@host/db#Secr3t", "postgresql://admin:****@host/db#****"],
    ["not a url", "not a url"],
  ])("%s → %s", (url, masked) => {
    expect(maskUrl(url)).toBe(masked);
  });
});

describe("parseDatabaseUrlParts: a malformed URL is refused in one line that never holds the password", () => {
  const PASSWORD = "Secr3tPass";
  it.each([
    [`postgresql://admin:${PASSWORD}#x/y@host/db`, /has a #/],
    [`postgresql://admin:Secr3t#Pass/x@host/db`, /has a #/],
    [`postgresql://admin:Secr3t/Pass@host/db`, /has an @, \/ or \?/],
    [`postgresql://admin:Secr3t?Pass@host/db`, /has an @, \/ or \?/],
    [`postgresql://admin:Secr3t@Pass@host/db`, /has an @, \/ or \?/],
    [`postgresql://admin:5432/Secr3tPass@host/db`, /has an @, \/ or \?/],
    [`postgresql://admin:${PASSWORD}/db`, /port that is not a number/],
    [`postgresql://admin:${PASSWORD}:x@h:1:2/db`, /port that is not a number/],
    [`postgresql://admin:100%zz${PASSWORD}@host/db`, /malformed %-escape/],
    [`admin:${PASSWORD}@host/db`, /is not a URL \(\*\*\*\*\)/],
    [`//admin:${PASSWORD}@host/db`, /is not a URL \(\*\*\*\*\)/],
    [`${PASSWORD}@host/db`, /is not a URL \(\*\*\*\*\)/],
    [`mysql://admin:${PASSWORD}@host/db`, /found mysql:\/\//],
    [`postgresql://admin:${PASSWORD}@/db`, /is not a URL \(postgresql:\/\/admin:\*\*\*\*@\*\*\*\*\)/],
    [`postgresql://admin:${PASSWORD}@:5432/db`, /is not a URL|no host/],
    [`postgresql://admin:#${PASSWORD}`, /has a #/],
    [`postgresql://admin:/${PASSWORD}`, /port that is not a number/],
    [`postgresql://admin:?${PASSWORD}`, /port that is not a number/],
    [`postgresql://admin:x@ ${PASSWORD}`, /is not a URL/],
    [`postgresql://admin:x@/${PASSWORD}`, /is not a URL/],
    [`postgresql://admin:x@?${PASSWORD}`, /is not a URL/],
  ])("%s", (url, message) => {
    let error: Error | undefined;
    try {
      parseDatabaseUrlParts(url);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(message);
    for (const piece of [PASSWORD, "Secr3t", "Pass"]) expect(error?.message).not.toContain(piece);
    expect(error?.message).not.toContain("\n");
  });

  it("reads a password with spaces, unicode and a second ':' as node-pg does", () => {
    expect(parseDatabaseUrlParts("postgresql://u:a b:c ü@h/d").password).toBe("a b:c ü");
    expect(parseDatabaseUrlParts("postgresql://u:a%20b%3Ac@[::1]/d")).toMatchObject({
      password: "a b:c",
      host: "::1",
      port: 5432,
    });
  });
});
