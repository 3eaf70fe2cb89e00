/**
 * The edge registry: every kind of link PostgreSQL 15 records between its objects, with the audit classes
 * that judge it or the reason it is out of scope. The universe comes from the server itself, and
 * test/integration/audit/edge-registry.test.ts reads it from a live one: a link in neither list fails the
 * build, and so does an entry the server does not have. docs/threat-model.md is this table, read by class.
 *
 * Keys, as the test derives them:
 * - `catalog.column -> catalog`: a reference between system catalogs (`pg_get_catalog_foreign_keys()`;
 *   several columns joined by commas, as `pg_constraint.conrelid,conkey -> pg_attribute`);
 * - `catalog.column`: a privilege column (`aclitem[]`), a stored settings or options column (`text[]` named
 *   `*options` or `*config`), or an expression (`pg_node_tree`, whose references pg_depend mirrors).
 *
 * To extend: a class that judges an edge adds its id to that edge's list in `JUDGED_EDGES` (moving the edge
 * out of `OUT_OF_SCOPE_EDGES` if it was there); a class that judges no catalog edge goes in
 * `CLASSES_WITHOUT_EDGES` with the reason.
 */
import type { AuditClass } from "./classes.js";

/** One reason an edge is not judged: a short title (the threat model's out-of-scope list quotes it) and why. */
interface OutOfScope {
  title: string;
  why: string;
}

const SUPERUSER_CODE: OutOfScope = {
  title: "Code only a superuser can attach",
  why: "Base types' input, output and analyze functions, operators' selectivity estimators, support functions, access methods' and foreign data wrappers' handlers, languages' call handlers, conversions, transforms, text search parsers and templates, range canonical functions: each takes or returns `internal`, so it is written in C, and only a superuser creates it (trusted).",
};
const OPERATOR_CLASSES: OutOfScope = {
  title: "Operator classes, families and access methods",
  why: "How values are indexed, sorted and compared. CREATE OPERATOR CLASS and CREATE ACCESS METHOD need a superuser; the operators they name run the functions that `planted-code` and `latent-grants` judge.",
};
const TYPES: OutOfScope = {
  title: "Types named by signatures and columns",
  why: "A type named by a function's signature, a column, a cast, an operator, an aggregate, a range or an enum carries no data and no rights; USAGE on types is PUBLIC's by PostgreSQL's default. The code that runs on a type (a domain's constraints and default, a cast, an operator) is judged through its function and its expression (`planted-code`, `latent-grants`).",
};
const INTERNALS: OutOfScope = {
  title: "Storage internals",
  why: "Links PostgreSQL maintains itself between an object and its parts: a relation's row type, TOAST table and rewrite in progress, an index and its table, a partition's bound, an operator's commutator, a constraint's index or parent, a trigger's columns, collations. They are reached only through the object's own privileges, which are judged on the object.",
};
const TABLESPACES: OutOfScope = {
  title: "Tablespaces",
  why: "Where files are stored: CREATE on a tablespace places a role's own objects, reads nothing; filling a disk is denial of service (see below).",
};
const STATISTICS: OutOfScope = {
  title: "Statistics internals",
  why: "The operators and collations a statistics slot was computed with; the values themselves are judged through pg_stats (`latent-grants`).",
};
const PLANNER_OPTIONS: OutOfScope = {
  title: "Planner options of columns",
  why: "`ALTER TABLE … ALTER COLUMN … SET (n_distinct = …)`: hints to the planner, set by the table's owner; no data, no rights.",
};
const FOREIGN_OPTIONS: OutOfScope = {
  title: "Options of foreign data wrappers and columns",
  why: "A wrapper's defaults and which remote column a foreign column names: definitions every role may read, as names are (see below). Where a server connects, the logins of its user mappings (`foreign-logins`) and the remote schema a foreign table reads (`inward-via-objects`) are judged; PostgreSQL keeps passwords in user mappings (`pg_user_mapping.umoptions`), which it shows only to the mapping's own user with USAGE on the server.",
};
const LANGUAGES: OutOfScope = {
  title: "Procedural languages",
  why: "Languages are created by superusers (or by a trusted extension). USAGE on a trusted language lets a role write functions that run with its own rights; on an untrusted one PostgreSQL refuses the GRANT. What a function does is judged on the function (`definer-escalation`, `planted-code`, `notifications`).",
};
const COMMENTS: OutOfScope = {
  title: "Comments and security labels",
  why: "COMMENT text is a definition every role may read (do not write secrets into it); security labels need a label provider (sepgsql), which Aurora does not offer.",
};
const GRANTORS: OutOfScope = {
  title: "Who granted a membership",
  why: "`pg_auth_members.grantor` records who granted a role; the membership itself (member, roleid) is what carries rights, and is judged.",
};
const INIT_PRIVS: OutOfScope = {
  title: "Extensions' initial privileges",
  why: "`pg_init_privs` keeps the ACL an extension's script set, for pg_dump; the effective ACL is the object's own column, judged there (`outward-privileges` reads this one only to tell an extension's own grant).",
};
const SUBSCRIPTIONS: OutOfScope = {
  title: "Subscriptions (for now)",
  why: "Only a superuser creates a subscription in PostgreSQL 15; one that applies rows into Umami's tables is an administrator's act, and the rows come from another server this audit cannot read. Not judged yet.",
};
const EXTENSION_SCRIPTS: OutOfScope = {
  title: "Extensions' scripts and configuration tables (for now)",
  why: "An extension installed in Umami's schema (pgcrypto, by design) runs its install and update scripts as the administrator with that schema first in search_path. PostgreSQL 15.4 and later quote @extschema@, and pgcrypto's scripts create C functions only, but an update script that resolves an unqualified name there would run umami_user's overload with the administrator's rights. Not judged yet: update extensions in Umami's schema only after reading their scripts. Objects an extension created are left out of `foreign-objects-in-schema` for the same reason.",
};

/** Out-of-scope reasons, in the order the threat model lists them. */
export const OUT_OF_SCOPE_REASONS: readonly OutOfScope[] = [
  EXTENSION_SCRIPTS,
  SUBSCRIPTIONS,
  SUPERUSER_CODE,
  OPERATOR_CLASSES,
  TYPES,
  INTERNALS,
  STATISTICS,
  TABLESPACES,
  PLANNER_OPTIONS,
  FOREIGN_OPTIONS,
  LANGUAGES,
  COMMENTS,
  GRANTORS,
  INIT_PRIVS,
];

/** Edge → the classes that judge it. */
export const JUDGED_EDGES: Record<string, readonly AuditClass[]> = {
  // Privileges (aclitem[] columns).
  "pg_class.relacl": ["outward-privileges", "latent-grants", "inward-grants", "intended-grants", "inward-via-objects"],
  "pg_attribute.attacl": ["outward-privileges", "latent-grants", "inward-grants"],
  "pg_namespace.nspacl": ["outward-privileges", "inward-grants", "intended-grants", "search-path-shadowing"],
  "pg_proc.proacl": [
    "outward-privileges",
    "latent-grants",
    "inward-grants",
    "definer-escalation",
    "inward-via-objects",
  ],
  "pg_database.datacl": ["other-databases", "intended-grants"],
  "pg_default_acl.defaclacl": ["outward-privileges", "inward-grants", "intended-grants"],
  "pg_largeobject_metadata.lomacl": ["outward-privileges"],
  "pg_foreign_data_wrapper.fdwacl": ["outward-privileges"],
  "pg_foreign_server.srvacl": ["outward-privileges"],
  "pg_parameter_acl.paracl": ["parameter-privileges"],
  // Stored settings and options (text[] *config / *options columns).
  "pg_db_role_setting.setconfig": ["role-settings", "search-path-shadowing", "database-wide-settings"],
  // definer-escalation judges who may call it; opaque-code judges a pinned path that names a schema umami_user can create in.
  "pg_proc.proconfig": ["definer-escalation", "triggers", "opaque-code"],
  "pg_class.reloptions": ["outward-privileges", "inward-via-objects"],
  "pg_user_mapping.umoptions": ["outward-privileges", "foreign-logins"],
  // foreign-logins reads a server's host: whether a mapping's login comes back to this cluster.
  "pg_foreign_server.srvoptions": ["foreign-logins", "inward-via-objects"],
  // inward-via-objects reads a foreign table's schema_name: one over Umami's table through a loopback server is that table.
  "pg_foreign_table.ftoptions": ["inward-via-objects"],
  // Expressions (pg_node_tree columns; pg_depend records what they reference).
  "pg_attrdef.adbin": ["planted-code"],
  "pg_constraint.conbin": ["planted-code"],
  "pg_index.indexprs": ["planted-code"],
  "pg_index.indpred": ["planted-code"],
  "pg_partitioned_table.partexprs": ["planted-code"],
  "pg_policy.polqual": ["planted-code"],
  "pg_policy.polwithcheck": ["planted-code"],
  "pg_proc.proargdefaults": ["planted-code"],
  "pg_proc.prosqlbody": ["inward-via-objects", "opaque-code"],
  "pg_publication_rel.prqual": ["inward-via-replication"],
  "pg_rewrite.ev_action": ["inward-via-objects", "planted-code", "opaque-code"],
  "pg_rewrite.ev_qual": ["triggers"],
  "pg_trigger.tgqual": ["triggers"],
  "pg_type.typdefaultbin": ["planted-code"],
  // Roles: memberships, owners, settings.
  "pg_auth_members.member -> pg_authid": [
    "memberships",
    "inward-members",
    "admin-by-membership",
    "privileged-roles",
    "inward-via-replication",
  ],
  "pg_auth_members.roleid -> pg_authid": [
    "memberships",
    "inward-members",
    "admin-by-membership",
    "privileged-roles",
    "inward-via-replication",
  ],
  "pg_db_role_setting.setrole -> pg_authid": ["role-settings", "search-path-shadowing", "database-wide-settings"],
  "pg_db_role_setting.setdatabase -> pg_database": ["role-settings", "search-path-shadowing", "database-wide-settings"],
  "pg_shdepend.classid -> pg_class": ["ownership", "foreign-objects-in-schema"],
  "pg_shdepend.refclassid -> pg_class": ["ownership", "foreign-objects-in-schema"],
  "pg_shdepend.dbid -> pg_database": ["ownership"],
  "pg_class.relowner -> pg_authid": ["ownership", "inward-grants", "foreign-objects-in-schema", "inward-via-objects"],
  "pg_proc.proowner -> pg_authid": [
    "ownership",
    "inward-grants",
    "definer-escalation",
    "inward-via-objects",
    "privileged-roles",
    "triggers",
  ],
  "pg_namespace.nspowner -> pg_authid": ["ownership", "inward-grants", "search-path-shadowing"],
  "pg_type.typowner -> pg_authid": ["ownership", "foreign-objects-in-schema"],
  "pg_operator.oprowner -> pg_authid": ["ownership", "foreign-objects-in-schema"],
  "pg_collation.collowner -> pg_authid": ["ownership", "foreign-objects-in-schema"],
  "pg_conversion.conowner -> pg_authid": ["ownership", "foreign-objects-in-schema"],
  "pg_opclass.opcowner -> pg_authid": ["ownership", "foreign-objects-in-schema"],
  "pg_opfamily.opfowner -> pg_authid": ["ownership", "foreign-objects-in-schema"],
  "pg_statistic_ext.stxowner -> pg_authid": ["ownership", "foreign-objects-in-schema"],
  "pg_ts_config.cfgowner -> pg_authid": ["ownership", "foreign-objects-in-schema"],
  "pg_ts_dict.dictowner -> pg_authid": ["ownership", "foreign-objects-in-schema"],
  "pg_database.datdba -> pg_authid": ["ownership", "search-path-shadowing"],
  "pg_tablespace.spcowner -> pg_authid": ["ownership"],
  "pg_extension.extowner -> pg_authid": ["ownership"],
  "pg_language.lanowner -> pg_authid": ["ownership"],
  "pg_largeobject_metadata.lomowner -> pg_authid": ["ownership", "outward-privileges"],
  "pg_foreign_data_wrapper.fdwowner -> pg_authid": ["ownership"],
  "pg_foreign_server.srvowner -> pg_authid": ["ownership"],
  "pg_event_trigger.evtowner -> pg_authid": ["triggers", "ownership"],
  "pg_publication.pubowner -> pg_authid": ["inward-via-replication", "ownership"],
  "pg_default_acl.defaclrole -> pg_authid": ["outward-privileges", "inward-grants", "intended-grants"],
  "pg_default_acl.defaclnamespace -> pg_namespace": ["outward-privileges", "inward-grants", "intended-grants"],
  "pg_user_mapping.umuser -> pg_authid": ["outward-privileges", "foreign-logins"],
  "pg_user_mapping.umserver -> pg_foreign_server": ["outward-privileges", "foreign-logins"],
  "pg_policy.polroles -> pg_authid": ["planted-code", "outward-privileges"],
  // Schemas: what lives where.
  "pg_class.relnamespace -> pg_namespace": [
    "outward-privileges",
    "latent-grants",
    "inward-grants",
    "intended-grants",
    "foreign-objects-in-schema",
    "inward-via-objects",
  ],
  "pg_proc.pronamespace -> pg_namespace": [
    "outward-privileges",
    "latent-grants",
    "inward-grants",
    "definer-escalation",
    "inward-via-objects",
    "planted-code",
    "foreign-objects-in-schema",
  ],
  "pg_type.typnamespace -> pg_namespace": ["foreign-objects-in-schema", "planted-code"],
  "pg_operator.oprnamespace -> pg_namespace": ["foreign-objects-in-schema", "latent-grants", "search-path-shadowing"],
  "pg_collation.collnamespace -> pg_namespace": ["foreign-objects-in-schema"],
  "pg_conversion.connamespace -> pg_namespace": ["foreign-objects-in-schema"],
  "pg_constraint.connamespace -> pg_namespace": ["planted-code", "foreign-objects-in-schema"],
  "pg_opclass.opcnamespace -> pg_namespace": ["foreign-objects-in-schema"],
  "pg_opfamily.opfnamespace -> pg_namespace": ["foreign-objects-in-schema"],
  "pg_statistic_ext.stxnamespace -> pg_namespace": ["foreign-objects-in-schema"],
  "pg_ts_config.cfgnamespace -> pg_namespace": ["foreign-objects-in-schema"],
  "pg_ts_dict.dictnamespace -> pg_namespace": ["foreign-objects-in-schema"],
  "pg_ts_parser.prsnamespace -> pg_namespace": ["foreign-objects-in-schema"],
  "pg_ts_template.tmplnamespace -> pg_namespace": ["foreign-objects-in-schema"],
  "pg_depend.classid -> pg_class": ["inward-via-objects", "planted-code", "foreign-objects-in-schema"],
  "pg_depend.refclassid -> pg_class": ["inward-via-objects", "planted-code", "foreign-objects-in-schema"],
  // Code that runs: triggers, rules, event triggers, policies, defaults, constraints, casts, operators, aggregates.
  "pg_trigger.tgrelid -> pg_class": ["triggers", "notifications"],
  "pg_trigger.tgfoid -> pg_proc": ["triggers", "notifications", "planted-code", "opaque-code"],
  "pg_trigger.tgconstrrelid -> pg_class": ["triggers"],
  "pg_rewrite.ev_class -> pg_class": ["triggers", "inward-via-objects", "planted-code"],
  "pg_event_trigger.evtfoid -> pg_proc": ["triggers", "opaque-code"],
  "pg_policy.polrelid -> pg_class": ["planted-code"],
  "pg_attrdef.adrelid -> pg_class": ["planted-code"],
  "pg_attrdef.adrelid,adnum -> pg_attribute": ["planted-code"],
  "pg_attribute.attrelid -> pg_class": ["outward-privileges", "latent-grants", "inward-grants"],
  "pg_attribute.atttypid -> pg_type": ["planted-code"],
  "pg_type.typbasetype -> pg_type": ["planted-code"],
  "pg_constraint.contypid -> pg_type": ["planted-code"],
  "pg_range.rngsubdiff -> pg_proc": ["planted-code"],
  "pg_cast.castfunc -> pg_proc": ["latent-grants", "planted-code"],
  "pg_operator.oprcode -> pg_proc": ["latent-grants", "planted-code"],
  "pg_aggregate.aggfnoid -> pg_proc": ["latent-grants", "planted-code"],
  "pg_aggregate.aggtransfn -> pg_proc": ["latent-grants", "planted-code"],
  "pg_aggregate.aggfinalfn -> pg_proc": ["latent-grants", "planted-code"],
  "pg_aggregate.aggcombinefn -> pg_proc": ["latent-grants", "planted-code"],
  "pg_aggregate.aggserialfn -> pg_proc": ["latent-grants", "planted-code"],
  "pg_aggregate.aggdeserialfn -> pg_proc": ["latent-grants", "planted-code"],
  "pg_aggregate.aggmtransfn -> pg_proc": ["latent-grants", "planted-code"],
  "pg_aggregate.aggminvtransfn -> pg_proc": ["latent-grants", "planted-code"],
  "pg_aggregate.aggmfinalfn -> pg_proc": ["latent-grants", "planted-code"],
  "pg_aggregate.aggsortop -> pg_operator": ["planted-code"],
  "pg_proc.prolang -> pg_language": ["definer-escalation", "notifications"],
  // Relations linked across schemas: foreign keys, inheritance, partitions.
  "pg_constraint.conrelid -> pg_class": ["cross-schema-links", "planted-code"],
  "pg_constraint.conrelid,conkey -> pg_attribute": ["cross-schema-links"],
  "pg_constraint.confrelid -> pg_class": ["cross-schema-links"],
  "pg_constraint.confrelid,confkey -> pg_attribute": ["cross-schema-links"],
  "pg_constraint.conparentid -> pg_constraint": ["cross-schema-links"],
  "pg_inherits.inhparent -> pg_class": ["cross-schema-links"],
  "pg_inherits.inhrelid -> pg_class": ["cross-schema-links"],
  "pg_partitioned_table.partrelid -> pg_class": ["cross-schema-links"],
  "pg_partitioned_table.partdefid -> pg_class": ["cross-schema-links"],
  // Data reached through other paths: sequences, statistics, large objects, foreign tables, replication.
  "pg_sequence.seqrelid -> pg_class": ["outward-privileges", "latent-grants"],
  "pg_statistic.starelid -> pg_class": ["latent-grants", "inward-grants"],
  "pg_statistic.starelid,staattnum -> pg_attribute": ["latent-grants", "inward-grants"],
  "pg_statistic_ext.stxrelid -> pg_class": ["latent-grants", "inward-grants"],
  "pg_statistic_ext.stxrelid,stxkeys -> pg_attribute": ["latent-grants", "inward-grants"],
  "pg_statistic_ext_data.stxoid -> pg_statistic_ext": ["latent-grants", "inward-grants"],
  "pg_largeobject.loid -> pg_largeobject_metadata": ["outward-privileges"],
  "pg_foreign_table.ftrelid -> pg_class": ["outward-privileges", "inward-via-objects"],
  "pg_foreign_table.ftserver -> pg_foreign_server": ["outward-privileges", "inward-via-objects"],
  "pg_foreign_server.srvfdw -> pg_foreign_data_wrapper": ["outward-privileges", "foreign-logins"],
  "pg_publication_rel.prpubid -> pg_publication": ["inward-via-replication"],
  "pg_publication_rel.prrelid -> pg_class": ["inward-via-replication"],
  "pg_publication_namespace.pnpubid -> pg_publication": ["inward-via-replication"],
  "pg_publication_namespace.pnnspid -> pg_namespace": ["inward-via-replication"],
};

/** Classes that judge no catalog edge, and why. */
export const CLASSES_WITHOUT_EDGES: Partial<Record<AuditClass, string>> = {
  existence: "the role and the schema themselves, the two ends of every edge",
  "role-attributes": "attributes of Umami's role (pg_authid's own columns), not links",
  probes: "behaviour, observed live as Umami's role: what the catalogs forbid is tried",
  "live-effects":
    "behaviour, observed live: what Umami's own DDL and writes set off elsewhere (event triggers, triggers, constraints, defaults, policies), whatever catalog links carry it",
  fingerprint: "change, not reach: a digest of the application's objects and roles compared with a baseline",
};

function reason(why: OutOfScope, edges: string[]): Record<string, OutOfScope> {
  return Object.fromEntries(edges.map((edge) => [edge, why]));
}

/** Edge → why it is not judged. */
export const OUT_OF_SCOPE_EDGES: Record<string, OutOfScope> = {
  ...reason(EXTENSION_SCRIPTS, ["pg_extension.extnamespace -> pg_namespace", "pg_extension.extconfig -> pg_class"]),
  ...reason(SUBSCRIPTIONS, [
    "pg_subscription.subdbid -> pg_database",
    "pg_subscription.subowner -> pg_authid",
    "pg_subscription_rel.srrelid -> pg_class",
    "pg_subscription_rel.srsubid -> pg_subscription",
  ]),
  ...reason(SUPERUSER_CODE, [
    "pg_am.amhandler -> pg_proc",
    "pg_conversion.conproc -> pg_proc",
    "pg_foreign_data_wrapper.fdwhandler -> pg_proc",
    "pg_foreign_data_wrapper.fdwvalidator -> pg_proc",
    "pg_language.laninline -> pg_proc",
    "pg_language.lanplcallfoid -> pg_proc",
    "pg_language.lanvalidator -> pg_proc",
    "pg_operator.oprjoin -> pg_proc",
    "pg_operator.oprrest -> pg_proc",
    "pg_proc.prosupport -> pg_proc",
    "pg_range.rngcanonical -> pg_proc",
    "pg_transform.trffromsql -> pg_proc",
    "pg_transform.trftosql -> pg_proc",
    "pg_ts_parser.prsend -> pg_proc",
    "pg_ts_parser.prsheadline -> pg_proc",
    "pg_ts_parser.prslextype -> pg_proc",
    "pg_ts_parser.prsstart -> pg_proc",
    "pg_ts_parser.prstoken -> pg_proc",
    "pg_ts_template.tmplinit -> pg_proc",
    "pg_ts_template.tmpllexize -> pg_proc",
    "pg_type.typanalyze -> pg_proc",
    "pg_type.typinput -> pg_proc",
    "pg_type.typmodin -> pg_proc",
    "pg_type.typmodout -> pg_proc",
    "pg_type.typoutput -> pg_proc",
    "pg_type.typreceive -> pg_proc",
    "pg_type.typsend -> pg_proc",
    "pg_type.typsubscript -> pg_proc",
  ]),
  ...reason(OPERATOR_CLASSES, [
    "pg_amop.amopfamily -> pg_opfamily",
    "pg_amop.amoplefttype -> pg_type",
    "pg_amop.amopmethod -> pg_am",
    "pg_amop.amopopr -> pg_operator",
    "pg_amop.amoprighttype -> pg_type",
    "pg_amop.amopsortfamily -> pg_opfamily",
    "pg_amproc.amproc -> pg_proc",
    "pg_amproc.amprocfamily -> pg_opfamily",
    "pg_amproc.amproclefttype -> pg_type",
    "pg_amproc.amprocrighttype -> pg_type",
    "pg_class.relam -> pg_am",
    "pg_constraint.conexclop -> pg_operator",
    "pg_constraint.conffeqop -> pg_operator",
    "pg_constraint.conpfeqop -> pg_operator",
    "pg_constraint.conppeqop -> pg_operator",
    "pg_index.indclass -> pg_opclass",
    "pg_opclass.opcfamily -> pg_opfamily",
    "pg_opclass.opcintype -> pg_type",
    "pg_opclass.opckeytype -> pg_type",
    "pg_opclass.opcmethod -> pg_am",
    "pg_opfamily.opfmethod -> pg_am",
    "pg_partitioned_table.partclass -> pg_opclass",
    "pg_range.rngsubopc -> pg_opclass",
  ]),
  ...reason(TYPES, [
    "pg_type.typacl",
    "pg_aggregate.aggmtranstype -> pg_type",
    "pg_aggregate.aggtranstype -> pg_type",
    "pg_cast.castsource -> pg_type",
    "pg_cast.casttarget -> pg_type",
    "pg_class.reloftype -> pg_type",
    "pg_enum.enumtypid -> pg_type",
    "pg_operator.oprleft -> pg_type",
    "pg_operator.oprresult -> pg_type",
    "pg_operator.oprright -> pg_type",
    "pg_proc.proallargtypes -> pg_type",
    "pg_proc.proargtypes -> pg_type",
    "pg_proc.prorettype -> pg_type",
    "pg_proc.protrftypes -> pg_type",
    "pg_proc.provariadic -> pg_type",
    "pg_range.rngmultitypid -> pg_type",
    "pg_range.rngsubtype -> pg_type",
    "pg_range.rngtypid -> pg_type",
    "pg_sequence.seqtypid -> pg_type",
    "pg_transform.trftype -> pg_type",
  ]),
  ...reason(INTERNALS, [
    "pg_class.relpartbound",
    "pg_statistic_ext.stxexprs",
    "pg_attribute.attcollation -> pg_collation",
    "pg_class.relrewrite -> pg_class",
    "pg_class.reltoastrelid -> pg_class",
    "pg_class.reltype -> pg_type",
    "pg_constraint.conindid -> pg_class",
    "pg_index.indcollation -> pg_collation",
    "pg_index.indexrelid -> pg_class",
    "pg_index.indrelid -> pg_class",
    "pg_index.indrelid,indkey -> pg_attribute",
    "pg_operator.oprcom -> pg_operator",
    "pg_operator.oprnegate -> pg_operator",
    "pg_partitioned_table.partcollation -> pg_collation",
    "pg_partitioned_table.partrelid,partattrs -> pg_attribute",
    "pg_range.rngcollation -> pg_collation",
    "pg_trigger.tgconstraint -> pg_constraint",
    "pg_trigger.tgconstrindid -> pg_class",
    "pg_trigger.tgparentid -> pg_trigger",
    "pg_trigger.tgrelid,tgattr -> pg_attribute",
    "pg_ts_config.cfgparser -> pg_ts_parser",
    "pg_ts_config_map.mapcfg -> pg_ts_config",
    "pg_ts_config_map.mapdict -> pg_ts_dict",
    "pg_ts_dict.dicttemplate -> pg_ts_template",
    "pg_type.typarray -> pg_type",
    "pg_type.typcollation -> pg_collation",
    "pg_type.typelem -> pg_type",
    "pg_type.typrelid -> pg_class",
  ]),
  ...reason(STATISTICS, [
    "pg_statistic.stacoll1 -> pg_collation",
    "pg_statistic.stacoll2 -> pg_collation",
    "pg_statistic.stacoll3 -> pg_collation",
    "pg_statistic.stacoll4 -> pg_collation",
    "pg_statistic.stacoll5 -> pg_collation",
    "pg_statistic.staop1 -> pg_operator",
    "pg_statistic.staop2 -> pg_operator",
    "pg_statistic.staop3 -> pg_operator",
    "pg_statistic.staop4 -> pg_operator",
    "pg_statistic.staop5 -> pg_operator",
  ]),
  ...reason(TABLESPACES, [
    "pg_tablespace.spcacl",
    "pg_tablespace.spcoptions",
    "pg_class.reltablespace -> pg_tablespace",
    "pg_database.dattablespace -> pg_tablespace",
  ]),
  ...reason(PLANNER_OPTIONS, ["pg_attribute.attoptions"]),
  ...reason(FOREIGN_OPTIONS, ["pg_foreign_data_wrapper.fdwoptions", "pg_attribute.attfdwoptions"]),
  ...reason(LANGUAGES, ["pg_language.lanacl", "pg_transform.trflang -> pg_language"]),
  ...reason(COMMENTS, [
    "pg_description.classoid -> pg_class",
    "pg_shdescription.classoid -> pg_class",
    "pg_seclabel.classoid -> pg_class",
    "pg_shseclabel.classoid -> pg_class",
  ]),
  ...reason(GRANTORS, ["pg_auth_members.grantor -> pg_authid"]),
  ...reason(INIT_PRIVS, ["pg_init_privs.initprivs", "pg_init_privs.classoid -> pg_class"]),
};
