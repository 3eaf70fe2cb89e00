/**
 * Inward through replication (threat model class inward-via-replication): logical decoding hands a
 * consumer every row written, whatever its SELECT privileges. A role with REPLICATION creates a slot with
 * test_decoding (or any plugin) and reads every change of every table, Umami's included; it can also take a
 * base backup of the whole cluster. On RDS and Aurora, members of `rds_replication` create logical slots once
 * logical replication is on. A publication FOR ALL TABLES, or one that includes Umami's tables or its schema,
 * ships their rows to whatever subscribes — a CDC pipeline run by an administrator included. Logical slots in
 * this database are named with what they decode.
 */
import {
  alterPublicationDrop,
  alterRole,
  createPublication,
  drop,
  revokeRole,
  script,
} from "../../sst/database/statements.js";
import { finding, type AuditContext, type Finding } from "./types.js";

/** RDS's and Aurora's group whose members may create logical replication slots. */
const RDS_REPLICATION_GROUP = "rds_replication";

// $1 allowed role oids, $2 Umami schema oid, $3 the RDS replication group. Roles outside the administrators
// with REPLICATION or in the group (with the login roles behind a group member); publications that carry
// Umami's tables; logical slots of this database (their plugin decides what they decode).
const REPLICATION_SQL = `
  SELECT 'role' AS kind, pg_catalog.quote_ident(r.rolname) AS name, CASE WHEN r.rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END AS detail,
         ARRAY(SELECT u.rolname::text FROM pg_catalog.pg_roles u
                WHERE u.oid <> r.oid AND u.rolcanlogin AND u.oid <> ALL ($1::oid[])
                  AND pg_catalog.pg_has_role(u.oid, r.oid, 'MEMBER') ORDER BY 1) AS list,
         pg_catalog.current_setting('wal_level') AS wal_level, NULL AS schemas,
         r.rolname::text AS raw_name, NULL::text AS raw_detail, NULL::jsonb AS items, NULL::text[] AS schema_names
    FROM pg_catalog.pg_roles r
   -- A role that cannot log in replicates only for its members (SET ROLE, then the slot functions): one
   -- without members outside the administrators (RDS's rdsrepladmin) reaches nothing.
   WHERE r.rolreplication AND r.oid <> ALL ($1::oid[])
     AND (r.rolcanlogin OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles u
                                    WHERE u.oid <> r.oid AND u.rolcanlogin AND u.oid <> ALL ($1::oid[])
                                      AND pg_catalog.pg_has_role(u.oid, r.oid, 'MEMBER')))
  UNION ALL
  SELECT 'group', pg_catalog.quote_ident(m.rolname), pg_catalog.quote_ident(g.rolname),
         ARRAY(SELECT u.rolname::text FROM pg_catalog.pg_roles u
                WHERE u.oid <> m.oid AND u.rolcanlogin AND u.oid <> ALL ($1::oid[])
                  AND pg_catalog.pg_has_role(u.oid, m.oid, 'MEMBER') ORDER BY 1),
         pg_catalog.current_setting('wal_level'), NULL, m.rolname::text, g.rolname::text, NULL, NULL
    FROM pg_catalog.pg_auth_members am
    JOIN pg_catalog.pg_roles g ON g.oid = am.roleid AND g.rolname = $3
    JOIN pg_catalog.pg_roles m ON m.oid = am.member
   WHERE m.oid <> ALL ($1::oid[])
  UNION ALL
  SELECT 'publication', pg_catalog.quote_ident(p.pubname), pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(p.pubowner)),
         CASE WHEN p.puballtables THEN ARRAY['ALL TABLES']
              ELSE ARRAY(SELECT 'TABLES IN SCHEMA ' || pg_catalog.quote_ident(n.nspname)
                           FROM pg_catalog.pg_publication_namespace pn JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid
                          WHERE pn.pnpubid = p.oid AND pn.pnnspid = $2::oid
                         UNION ALL
                         SELECT 'TABLE ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)
                           FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
                           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                          WHERE pr.prpubid = p.oid AND c.relnamespace = $2::oid ORDER BY 1) END,
         pg_catalog.current_setting('wal_level'),
         -- For a FOR ALL TABLES publication rebuilt without Umami's schema: every other schema.
         CASE WHEN p.puballtables THEN (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(n.nspname), ', ' ORDER BY n.nspname)
                                          FROM pg_catalog.pg_namespace n
                                         WHERE n.oid IS DISTINCT FROM $2::oid AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema') END,
         p.pubname::text, NULL,
         -- The same items as stored: [schema] for a schema, [schema, table] for a table (remedies are built from these).
         CASE WHEN NOT p.puballtables THEN pg_catalog.to_jsonb(ARRAY(
                SELECT pg_catalog.jsonb_build_array(n.nspname::text)
                  FROM pg_catalog.pg_publication_namespace pn JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid
                 WHERE pn.pnpubid = p.oid AND pn.pnnspid = $2::oid
                UNION ALL
                SELECT pg_catalog.jsonb_build_array(n.nspname::text, c.relname::text)
                  FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE pr.prpubid = p.oid AND c.relnamespace = $2::oid)) END,
         CASE WHEN p.puballtables THEN ARRAY(SELECT n.nspname::text FROM pg_catalog.pg_namespace n
                                              WHERE n.oid IS DISTINCT FROM $2::oid AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
                                              ORDER BY n.nspname) END
    FROM pg_catalog.pg_publication p
  UNION ALL
  SELECT 'slot', pg_catalog.quote_literal(s.slot_name), s.plugin, NULL, pg_catalog.current_setting('wal_level'), NULL, NULL, NULL, NULL, NULL
    FROM pg_catalog.pg_replication_slots s
   WHERE s.slot_type = 'logical' AND s.database = pg_catalog.current_database()
   ORDER BY 1, 2
`;

interface ReplicationRow {
  kind: "role" | "group" | "publication" | "slot";
  name: string;
  detail: string | null;
  list: string[] | null;
  wal_level: string;
  schemas: string | null;
  /** The role's or publication's name as stored, and the group's (remedies are built from these). */
  raw_name: string | null;
  raw_detail: string | null;
  /** A publication's items as stored: [schema] or [schema, table]. */
  items: ([string] | [string, string])[] | null;
  /** For a FOR ALL TABLES publication: every other schema, as stored. */
  schema_names: string[] | null;
}

/** Replication roles and publications that carry Umami's rows out; the slots that decode them. */
export async function auditReplication(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const rows = await ctx.query<ReplicationRow>(REPLICATION_SQL, [
    ctx.allowedOids,
    ctx.schemaOid,
    RDS_REPLICATION_GROUP,
  ]);
  const logical = rows[0]?.wal_level === "logical";
  const attribute = rows.filter((r) => r.kind === "role");
  const group = rows.filter((r) => r.kind === "group");
  const publications = rows.filter((r) => r.kind === "publication" && (r.list?.length ?? 0) > 0);
  const slots = rows.filter((r) => r.kind === "slot");
  // The REPLICATION attribute streams the whole cluster at any wal_level (a base backup); the group's slots
  // need wal_level = logical, without which its members are latent.
  const live = attribute.length > 0 || (group.length > 0 && logical);
  const roles = [
    ...attribute.map((r) => `${r.name} REPLICATION${r.list?.length ? ` (and through it: ${r.list.join(", ")})` : ""}`),
    ...group.map(
      (r) =>
        `${r.name} member of ${r.detail}${r.list?.length ? ` (and through it: ${r.list.join(", ")})` : ""}${logical ? "" : " — latent: wal_level is not logical"}`,
    ),
  ];
  const slotNotes = slots.map(
    (s) =>
      `logical slot ${s.name} (${s.detail}${s.detail === "pgoutput" ? ": what its publications carry" : ": every table's changes"})`,
  );
  const publicationRemedy = (r: ReplicationRow) => {
    if (r.list![0] === "ALL TABLES") {
      // PostgreSQL cannot take a table out of FOR ALL TABLES; the same name rebuilt in one transaction keeps
      // its subscribers' slots going with the application's tables only.
      const publication = { kind: "PUBLICATION", name: [r.raw_name!] };
      return `As a superuser, in one transaction: ${script([drop(publication), createPublication(r.raw_name!, r.schema_names!)])}`;
    }
    return script(r.items!.map((item) => alterPublicationDrop(r.raw_name!, item)));
  };
  return [
    finding(
      "inward-via-replication",
      "inward: replication roles",
      live ? "fail" : "warn",
      [...roles, ...(roles.length > 0 ? slotNotes : [])],
      `A replication role reads every row written, ${spec.schema}'s included, without any SELECT privilege (a logical slot with test_decoding, or a base backup): ${[
        // A role that cannot log in is reached through its members: the membership is what to take away.
        ...attribute.map((r) =>
          r.detail === "NOLOGIN"
            ? script(r.list!.map((m) => revokeRole(r.raw_name!, m)))
            : script([alterRole(r.raw_name!, { attributes: ["NOREPLICATION"] })]),
        ),
        ...group.map((r) => script([revokeRole(r.raw_detail!, r.raw_name)])),
      ].join(
        " ",
      )} (only a superuser may take REPLICATION away, so on Aurora grant rds_replication instead of it, and declare a CDC role that must keep it with --admin-role).`,
      `No role outside the administrators has REPLICATION or ${RDS_REPLICATION_GROUP}.`,
    ),
    finding(
      "inward-via-replication",
      "inward: publications of Umami's tables",
      "fail",
      [
        ...publications.map((r) => `publication ${r.name} (owner ${r.detail}) FOR ${r.list!.join(", ")}`),
        ...(publications.length > 0 ? slotNotes : []),
      ],
      `Whatever subscribes to these receives Umami's rows, a CDC pipeline run by an administrator included: ${publications.map(publicationRemedy).join(" ")}`,
      `No publication carries ${spec.schema}'s tables (none is FOR ALL TABLES).`,
    ),
  ];
}
