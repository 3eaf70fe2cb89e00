/**
 * What every audit check shares: the finding shape and its builder, and the context each check reads (the
 * role, the schema, the administrators). Its own module so the checks and the audit import it, not each other.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import type { QueryResultRow } from "../kernel/db.js";
import type { AuditClass } from "./classes.js";

/** How bad a finding is: `fail` makes the audit fail; `warn` is reported with its remedy. */
export type Severity = "pass" | "warn" | "fail";

/** One check's result: a passing check is a finding with severity pass and no objects. */
export interface Finding {
  /** The threat model's path class the check belongs to (scripts/audit/classes.ts, docs/threat-model.md). */
  class: AuditClass;
  check: string;
  severity: Severity;
  /** The objects involved, each with what was found (e.g. `public.orders (SELECT via PUBLIC)`). */
  objects: string[];
  /** What to do about it (a sentence; for a pass, what the check proves). */
  remedy: string;
  detail?: string;
}

/** A query function that counts round trips. */
export type CountedQuery = <R extends QueryResultRow>(sql: string, params: unknown[]) => Promise<R[]>;

/** What every check needs to know about the role, the schema and the administrators. */
export interface AuditContext {
  spec: UmamiDatabaseSpec;
  query: CountedQuery;
  database: string;
  adminUser: string;
  /** The Umami role's oid, or null when it does not exist. */
  roleOid: string | null;
  role: null | {
    superuser: boolean;
    createDb: boolean;
    createRole: boolean;
    replication: boolean;
    bypassRls: boolean;
    connectionLimit: number;
  };
  /** The Umami schema's oid, or null when it does not exist. */
  schemaOid: string | null;
  /** Oids of the roles allowed to hold privileges on the Umami schema: the role itself and the administrators. */
  allowedOids: string[];
  /** Names of those administrators, for messages. */
  administrators: string[];
  /** The other databases the Umami role can connect to, when the context query read them (databases.ts). */
  otherDatabases?: DatabaseRow[];
}

/** One other database the Umami role can connect to: what it holds there, PUBLIC's defaults, the admin's CONNECT. */
export interface DatabaseRow {
  name: string;
  held: string[];
  public_held: string[];
  admin_can_connect: boolean;
}

/** Builds a finding of class `cls`; `objects` empty means pass (unless `severity` says otherwise). */
export function finding(
  cls: AuditClass,
  check: string,
  severity: Exclude<Severity, "pass">,
  objects: string[],
  remedy: string,
  pass: string,
  detail?: string,
): Finding {
  if (objects.length === 0)
    return { class: cls, check, severity: "pass", objects: [], remedy: pass, ...(detail ? { detail } : {}) };
  return { class: cls, check, severity, objects, remedy, ...(detail ? { detail } : {}) };
}
