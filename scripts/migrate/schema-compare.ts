/**
 * Compares the schema a release's migrations produce (`expected`, built on a scratch server) with the live one
 * (`actual`), as exact sets (pgTAP's way): every object missing, extra or different is one named difference,
 * with the SQL that brings the live schema to the release where the catalogs say enough to write it. Pure.
 */
import { quoteIdent } from "../../sst/database/quote.js";
import type { ColumnSnapshot, SchemaSnapshot } from "./schema-snapshot.js";

/** What kind of object differs. */
export type ObjectKind = "table" | "column" | "index" | "constraint" | "sequence" | "enum";

/** One difference between the release's schema and the live one. */
export interface SchemaDifference {
  kind: ObjectKind;
  /** `user.display_name`, `website_created_by_idx`, `team.team_pkey`. */
  object: string;
  /** `missing`: in the release, not live. `extra`: live only. `differs`: both, with another `aspect`. */
  change: "missing" | "extra" | "differs";
  /** For `differs`: what differs (`type`, `nullability`, `default`, `definition`, `labels`, `kind`). */
  aspect?: string;
  expected?: string;
  actual?: string;
  /** SQL that brings the live schema to the release for this difference (none for extras: nothing is dropped). */
  sql?: string;
  /** One line for people: what differs and what it means. */
  message: string;
}

/** Every difference, in a stable order (kind, then object). Objects of a missing or extra table are implied by it. */
export function compareSchemas(expected: SchemaSnapshot, actual: SchemaSnapshot): SchemaDifference[] {
  const q = (name: string) => quoteIdent(name);
  const table = (name: string) => `${q(actual.schema)}.${q(name)}`;
  const differences: SchemaDifference[] = [];
  const liveTables = new Map(actual.tables.map((t) => [t.name, t.kind]));
  const releaseTables = new Map(expected.tables.map((t) => [t.name, t.kind]));
  const onlyOneSide = new Set<string>();

  for (const [name, kind] of releaseTables) {
    const live = liveTables.get(name);
    if (live === undefined) {
      onlyOneSide.add(name);
      differences.push({
        kind: "table",
        object: name,
        change: "missing",
        message: `${kind} ${name} is missing (the release's migrations create it)`,
      });
    } else if (live !== kind) {
      differences.push({
        kind: "table",
        object: name,
        change: "differs",
        aspect: "kind",
        expected: kind,
        actual: live,
        message: `${name} is a ${live}, the release has a ${kind}`,
      });
    }
  }
  for (const [name, kind] of liveTables) {
    if (!releaseTables.has(name)) {
      onlyOneSide.add(name);
      differences.push({
        kind: "table",
        object: name,
        change: "extra",
        message: `${kind} ${name} is not in the release`,
      });
    }
  }
  const inBoth = (t: string) => !onlyOneSide.has(t);

  // Columns: type, nullability and default are separate differences, each with its own ALTER.
  const liveColumns = byKey(
    actual.columns.filter((c) => inBoth(c.table)),
    (c) => `${c.table}.${c.name}`,
  );
  const releaseColumns = byKey(
    expected.columns.filter((c) => inBoth(c.table)),
    (c) => `${c.table}.${c.name}`,
  );
  for (const [key, want] of releaseColumns) {
    const have = liveColumns.get(key);
    const alter = `ALTER TABLE ${table(want.table)} ALTER COLUMN ${q(want.name)}`;
    if (!have) {
      differences.push({
        kind: "column",
        object: key,
        change: "missing",
        expected: describeColumn(want),
        sql: `ALTER TABLE ${table(want.table)} ADD COLUMN ${q(want.name)} ${describeColumn(want)};`,
        message: `column ${key} (${describeColumn(want)}) is missing`,
      });
      continue;
    }
    if (have.type !== want.type) {
      differences.push({
        kind: "column",
        object: key,
        change: "differs",
        aspect: "type",
        expected: want.type,
        actual: have.type,
        sql: `${alter} TYPE ${want.type};`,
        message: `column ${key} is ${have.type}, the release has ${want.type}`,
      });
    }
    if (have.notNull !== want.notNull) {
      differences.push({
        kind: "column",
        object: key,
        change: "differs",
        aspect: "nullability",
        expected: nullability(want),
        actual: nullability(have),
        sql: `${alter} ${want.notNull ? "SET" : "DROP"} NOT NULL;`,
        message: `column ${key} is ${nullability(have)}, the release has ${nullability(want)}`,
      });
    }
    if (have.default !== want.default) {
      differences.push({
        kind: "column",
        object: key,
        change: "differs",
        aspect: "default",
        expected: want.default ?? "no default",
        actual: have.default ?? "no default",
        sql: want.default === null ? `${alter} DROP DEFAULT;` : `${alter} SET DEFAULT ${want.default};`,
        message: `column ${key} has ${have.default === null ? "no default" : `DEFAULT ${have.default}`}, the release has ${want.default === null ? "none" : `DEFAULT ${want.default}`}`,
      });
    }
  }
  for (const [key, have] of liveColumns) {
    if (!releaseColumns.has(key))
      differences.push({
        kind: "column",
        object: key,
        change: "extra",
        actual: describeColumn(have),
        message: `column ${key} (${describeColumn(have)}) is not in the release`,
      });
  }

  const named = <T extends { table: string; name: string; definition: string }>(
    kind: "index" | "constraint",
    release: T[],
    live: T[],
    create: (o: T) => string,
    drop: (o: T) => string,
  ) => {
    const keyOf = (o: T) => (kind === "index" ? o.name : `${o.table}.${o.name}`);
    const liveByKey = byKey(
      live.filter((o) => inBoth(o.table)),
      keyOf,
    );
    const releaseByKey = byKey(
      release.filter((o) => inBoth(o.table)),
      keyOf,
    );
    for (const [key, want] of releaseByKey) {
      const have = liveByKey.get(key);
      if (!have)
        differences.push({
          kind,
          object: key,
          change: "missing",
          expected: want.definition,
          sql: create(want),
          message: `${kind} ${key} is missing (${want.definition})`,
        });
      else if (have.definition !== want.definition) {
        differences.push({
          kind,
          object: key,
          change: "differs",
          aspect: "definition",
          expected: want.definition,
          actual: have.definition,
          sql: `${drop(have)}\n${create(want)}`,
          message: `${kind} ${key} is ${have.definition}, the release has ${want.definition}`,
        });
      }
    }
    for (const [key, have] of liveByKey) {
      if (!releaseByKey.has(key))
        differences.push({
          kind,
          object: key,
          change: "extra",
          actual: have.definition,
          message: `${kind} ${key} is not in the release (${have.definition})`,
        });
    }
  };
  named(
    "index",
    expected.indexes,
    actual.indexes,
    (i) => `${i.definition};`,
    (i) => `DROP INDEX ${table(i.name)};`,
  );
  named(
    "constraint",
    expected.constraints,
    actual.constraints,
    (c) => `ALTER TABLE ${table(c.table)} ADD CONSTRAINT ${q(c.name)} ${c.definition};`,
    (c) => `ALTER TABLE ${table(c.table)} DROP CONSTRAINT ${q(c.name)};`,
  );

  const liveSequences = byKey(actual.sequences, (s) => s.name);
  for (const want of expected.sequences) {
    const have = liveSequences.get(want.name);
    const owned = want.ownedBy ? ` OWNED BY ${table(want.ownedBy.split(".")[0])}.${q(want.ownedBy.split(".")[1])}` : "";
    if (!have)
      differences.push({
        kind: "sequence",
        object: want.name,
        change: "missing",
        expected: want.definition,
        sql: `CREATE SEQUENCE ${table(want.name)} ${want.definition}${owned};`,
        message: `sequence ${want.name} is missing`,
      });
    else if (have.definition !== want.definition || have.ownedBy !== want.ownedBy) {
      differences.push({
        kind: "sequence",
        object: want.name,
        change: "differs",
        aspect: "definition",
        expected: `${want.definition}${owned}`,
        actual: `${have.definition}${have.ownedBy ? ` OWNED BY ${have.ownedBy}` : ""}`,
        message: `sequence ${want.name} differs from the release`,
      });
    }
  }
  const releaseSequences = new Set(expected.sequences.map((s) => s.name));
  for (const have of actual.sequences)
    if (!releaseSequences.has(have.name))
      differences.push({
        kind: "sequence",
        object: have.name,
        change: "extra",
        message: `sequence ${have.name} is not in the release`,
      });

  const liveEnums = byKey(actual.enums, (e) => e.name);
  for (const want of expected.enums) {
    const have = liveEnums.get(want.name);
    const labels = want.labels.map((l) => `'${l.replace(/'/g, "''")}'`).join(", ");
    if (!have)
      differences.push({
        kind: "enum",
        object: want.name,
        change: "missing",
        expected: want.labels.join(", "),
        sql: `CREATE TYPE ${table(want.name)} AS ENUM (${labels});`,
        message: `enum ${want.name} is missing`,
      });
    else if (have.labels.join("\u0000") !== want.labels.join("\u0000")) {
      differences.push({
        kind: "enum",
        object: want.name,
        change: "differs",
        aspect: "labels",
        expected: want.labels.join(", "),
        actual: have.labels.join(", "),
        message: `enum ${want.name} has labels (${have.labels.join(", ")}), the release has (${want.labels.join(", ")})`,
      });
    }
  }
  const releaseEnums = new Set(expected.enums.map((e) => e.name));
  for (const have of actual.enums)
    if (!releaseEnums.has(have.name))
      differences.push({
        kind: "enum",
        object: have.name,
        change: "extra",
        message: `enum ${have.name} is not in the release`,
      });

  const order: ObjectKind[] = ["table", "column", "index", "constraint", "sequence", "enum"];
  return differences.sort(
    (a, b) =>
      order.indexOf(a.kind) - order.indexOf(b.kind) ||
      a.object.localeCompare(b.object) ||
      (a.aspect ?? "").localeCompare(b.aspect ?? ""),
  );
}

function describeColumn(c: ColumnSnapshot): string {
  return [c.type, c.default === null ? "" : `DEFAULT ${c.default}`, c.notNull ? "NOT NULL" : ""]
    .filter(Boolean)
    .join(" ");
}

function nullability(c: ColumnSnapshot): string {
  return c.notNull ? "NOT NULL" : "nullable";
}

function byKey<T>(items: T[], key: (item: T) => string): Map<string, T> {
  return new Map(items.map((item) => [key(item), item]));
}
