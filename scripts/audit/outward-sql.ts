/**
 * The outward audit's one query: every schema, relation, sequence, SECURITY DEFINER function, database,
 * membership, default ACL, large object and foreign server the Umami role reaches, with what PUBLIC alone
 * holds, whom a REVOKE must name, and why a grant exposes no data (an extension's own, a security_invoker
 * view over what the role cannot read). Its own module because it is long; `outward.ts` reads the rows.
 */

// $1 role oid, $2 Umami schema, $3 table privileges, $4 sequence privileges, $5 schema privileges,
// $6 database privileges, $7 column privileges, $8 table privileges as one list, $9 sequence privileges as
// one list, $10 column privileges as one list, $11 large objects listed.
// Per relation only a catalog pre-filter runs; has_*_privilege() decides on the candidates, and the
// per-privilege breakdown (and what PUBLIC alone holds) is computed only for the few relations reached.
export const OUTWARD_SQL = `
  WITH RECURSIVE ns AS (
    SELECT n.oid, n.nspname, pg_catalog.has_schema_privilege($1::oid, n.oid, 'USAGE') AS usable
      FROM pg_catalog.pg_namespace n
     WHERE n.nspname <> $2 AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  ), grantees AS (
    -- PUBLIC and every role whose privileges the Umami role uses (itself, and memberships with INHERIT).
    SELECT 0::oid AS oid
    UNION ALL
    SELECT r.oid FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role($1::oid, r.oid, 'USAGE')
  ), everything AS (
    -- Roles that bypass ACLs: then every relation is a candidate.
    SELECT COALESCE((SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = $1::oid), false)
        OR pg_catalog.pg_has_role($1::oid, 'pg_read_all_data', 'USAGE')
        OR pg_catalog.pg_has_role($1::oid, 'pg_write_all_data', 'USAGE') AS bypass
  ), acl_columns AS (
    -- No DISTINCT: the planner would walk pg_attribute's index in order; the hashed IN below dedupes anyway.
    SELECT att.attrelid FROM pg_catalog.pg_attribute att
     WHERE att.attacl IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(att.attacl) a WHERE a.grantee IN (SELECT oid FROM grantees))
  ), candidates AS MATERIALIZED (
    -- A cheap ACL pre-filter over one scan of pg_class: a relation's privileges come only from its owner, its
    -- and its columns' ACL entries, superuser and pg_read/write_all_data. MATERIALIZED keeps the planner from
    -- running the has_*_privilege() calls below on every relation first (they look cheaper than they are).
    SELECT c.oid, c.relkind, c.relname, c.relnamespace
      FROM pg_catalog.pg_class c
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
       AND ((SELECT bypass FROM everything)
            OR c.relowner IN (SELECT oid FROM grantees)
            OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(c.relacl) a WHERE a.grantee IN (SELECT oid FROM grantees))
            OR c.oid IN (SELECT attrelid FROM acl_columns))
  ), reach AS (
    SELECT c.oid, c.relkind, pg_catalog.quote_ident(ns.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS object,
           ARRAY[ns.nspname::text, c.relname::text] AS names, ns.usable
      FROM candidates c JOIN ns ON ns.oid = c.relnamespace
     WHERE CASE WHEN c.relkind = 'S' THEN pg_catalog.has_sequence_privilege($1::oid, c.oid, $9)
                ELSE pg_catalog.has_table_privilege($1::oid, c.oid, $8)
                  OR pg_catalog.has_any_column_privilege($1::oid, c.oid, $10) END
  ), member_of AS (
    SELECT am.roleid, true AS direct FROM pg_catalog.pg_auth_members am WHERE am.member = $1::oid
    UNION
    SELECT am.roleid, false FROM pg_catalog.pg_auth_members am JOIN member_of m ON am.member = m.roleid
  )
  SELECT CASE WHEN reach.relkind = 'S' THEN 'sequence' ELSE 'relation' END AS kind, reach.object, reach.usable,
         CASE WHEN reach.relkind = 'S'
              THEN ARRAY(SELECT p FROM pg_catalog.unnest($4::text[]) p WHERE pg_catalog.has_sequence_privilege($1::oid, reach.oid, p))
              ELSE ARRAY(SELECT p FROM pg_catalog.unnest($3::text[]) p WHERE pg_catalog.has_table_privilege($1::oid, reach.oid, p))
                || ARRAY(SELECT p || ' (columns)' FROM pg_catalog.unnest($7::text[]) p
                          WHERE NOT pg_catalog.has_table_privilege($1::oid, reach.oid, p)
                            AND pg_catalog.has_any_column_privilege($1::oid, reach.oid, p)) END AS privileges,
         CASE WHEN reach.relkind = 'S'
              THEN ARRAY(SELECT p FROM pg_catalog.unnest($4::text[]) p WHERE pg_catalog.has_sequence_privilege('public', reach.oid, p))
              ELSE ARRAY(SELECT p FROM pg_catalog.unnest($3::text[]) p WHERE pg_catalog.has_table_privilege('public', reach.oid, p))
                || ARRAY(SELECT p || ' (columns)' FROM pg_catalog.unnest($7::text[]) p
                          WHERE NOT pg_catalog.has_table_privilege('public', reach.oid, p)
                            AND pg_catalog.has_any_column_privilege('public', reach.oid, p)) END AS public_privileges,
         -- Whom a REVOKE must name (or OWNER: the role owns it, which no REVOKE undoes).
         ARRAY(SELECT 'OWNER' FROM pg_catalog.pg_class o WHERE o.oid = reach.oid AND o.relowner = $1::oid
               UNION ALL
               SELECT DISTINCT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
                 FROM (SELECT o.relacl AS acl FROM pg_catalog.pg_class o WHERE o.oid = reach.oid
                       UNION ALL
                       SELECT att.attacl FROM pg_catalog.pg_attribute att WHERE att.attrelid = reach.oid AND att.attacl IS NOT NULL) acls
                 CROSS JOIN LATERAL pg_catalog.aclexplode(acls.acl) a
                WHERE a.grantee = 0 OR a.grantee = $1::oid) AS defaults,
         -- The same grantees as stored, NULL for PUBLIC (remedies are built from these).
         ARRAY(SELECT DISTINCT CASE a.grantee WHEN 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
                 FROM (SELECT o.relacl AS acl FROM pg_catalog.pg_class o WHERE o.oid = reach.oid
                       UNION ALL
                       SELECT att.attacl FROM pg_catalog.pg_attribute att WHERE att.attrelid = reach.oid AND att.attacl IS NOT NULL) acls
                 CROSS JOIN LATERAL pg_catalog.aclexplode(acls.acl) a
                WHERE a.grantee = 0 OR a.grantee = $1::oid) AS revoke_from,
         -- What a grant that exposes no data is: the extension's own (its install script's grant, pg_init_privs,
         -- on an object that is not one of its configuration tables), or a security_invoker view over a
         -- relation the role holds nothing on (every query on it fails with permission denied).
         CASE WHEN e.extname IS NOT NULL AND rc.relacl IS NOT DISTINCT FROM ip.initprivs
                   AND NOT reach.oid = ANY (COALESCE(e.extconfig, ARRAY[]::oid[])) THEN 'extension ' || e.extname
              WHEN reach.relkind = 'v' AND EXISTS (
                     SELECT 1 FROM pg_catalog.unnest(rc.reloptions) o
                      WHERE pg_catalog.lower(o) IN ('security_invoker=true', 'security_invoker=on', 'security_invoker=1', 'security_invoker=yes'))
                   AND EXISTS (
                     SELECT 1 FROM pg_catalog.pg_rewrite rw
                       JOIN pg_catalog.pg_depend dep ON dep.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND dep.objid = rw.oid
                      WHERE rw.ev_class = reach.oid AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                        AND dep.refobjid <> reach.oid
                        AND NOT pg_catalog.has_table_privilege($1::oid, dep.refobjid, $8)
                        AND NOT pg_catalog.has_any_column_privilege($1::oid, dep.refobjid, $10))
                   THEN 'invoker'
              -- Row-level security hides the relation's statistics in pg_stats (its latent SELECT stays latent).
              WHEN rc.relrowsecurity THEN 'rls' END AS note,
         NULL::text[] AS via, reach.names, NULL::text[] AS args
    FROM reach
    JOIN pg_catalog.pg_class rc ON rc.oid = reach.oid
    LEFT JOIN pg_catalog.pg_depend ed ON ed.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND ed.objid = reach.oid
         AND ed.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND ed.deptype = 'e'
    LEFT JOIN pg_catalog.pg_extension e ON e.oid = ed.refobjid
    LEFT JOIN pg_catalog.pg_init_privs ip ON ip.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND ip.objoid = reach.oid
         AND ip.objsubid = 0 AND ip.privtype = 'e'
  UNION ALL
  SELECT 'schema', pg_catalog.quote_ident(ns.nspname), ns.usable,
         ARRAY(SELECT p FROM pg_catalog.unnest($5::text[]) p WHERE pg_catalog.has_schema_privilege($1::oid, ns.oid, p)),
         ARRAY(SELECT p FROM pg_catalog.unnest($5::text[]) p WHERE pg_catalog.has_schema_privilege('public', ns.oid, p)),
         NULL, NULL, NULL, NULL, ARRAY[ns.nspname::text], NULL
    FROM ns
  UNION ALL
  SELECT 'function', pg_catalog.quote_ident(ns.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
         ns.usable, ARRAY['EXECUTE'],
         CASE WHEN pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE') THEN ARRAY['EXECUTE'] ELSE ARRAY[]::text[] END,
         NULL, NULL, pg_catalog.pg_get_userbyid(p.proowner),
         -- What calls it without looking its name up (so without USAGE on its schema): an operator in a schema
         -- the role may use, a cast (casts have no schema), an aggregate in a usable schema.
         CASE WHEN NOT ns.usable THEN ARRAY(
           SELECT 'operator ' || pg_catalog.quote_ident(ons.nspname) || '.' || o.oprname || '('
                  || COALESCE(pg_catalog.format_type(NULLIF(o.oprleft, 0), NULL), 'NONE') || ', '
                  || pg_catalog.format_type(o.oprright, NULL) || ')'
             FROM pg_catalog.pg_operator o JOIN ns ons ON ons.oid = o.oprnamespace
            WHERE o.oprcode = p.oid AND ons.usable
           UNION ALL
           SELECT 'cast ' || pg_catalog.format_type(c.castsource, NULL) || ' AS ' || pg_catalog.format_type(c.casttarget, NULL)
             FROM pg_catalog.pg_cast c WHERE c.castfunc = p.oid
           UNION ALL
           SELECT 'aggregate ' || pg_catalog.quote_ident(ans.nspname) || '.' || pg_catalog.quote_ident(ap.proname)
                  || '(' || pg_catalog.pg_get_function_identity_arguments(ap.oid) || ')'
             FROM pg_catalog.pg_aggregate a
             JOIN pg_catalog.pg_proc ap ON ap.oid = a.aggfnoid JOIN ns ans ON ans.oid = ap.pronamespace
            WHERE ans.usable AND p.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn,
                                           a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn)
           UNION ALL
           -- A view runs its functions checking EXECUTE as the reader, never their schema.
           SELECT DISTINCT 'view ' || pg_catalog.quote_ident(vns.nspname) || '.' || pg_catalog.quote_ident(v.relname)
             FROM pg_catalog.pg_depend d
             JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid
             JOIN pg_catalog.pg_class v ON v.oid = rw.ev_class AND v.relkind = 'v'
             JOIN ns vns ON vns.oid = v.relnamespace
            WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
              AND d.refobjid = p.oid AND vns.usable AND pg_catalog.has_table_privilege($1::oid, v.oid, 'SELECT')) END,
         ARRAY[ns.nspname::text, p.proname::text], ARRAY[pg_catalog.pg_get_function_identity_arguments(p.oid)]
    FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace
   WHERE p.prosecdef AND pg_catalog.has_function_privilege($1::oid, p.oid, 'EXECUTE')
  UNION ALL
  SELECT 'database', pg_catalog.quote_ident(d.datname), true,
         ARRAY(SELECT p FROM pg_catalog.unnest($6::text[]) p WHERE pg_catalog.has_database_privilege($1::oid, d.oid, p)),
         ARRAY(SELECT p FROM pg_catalog.unnest($6::text[]) p WHERE pg_catalog.has_database_privilege('public', d.oid, p)),
         ARRAY(SELECT a.privilege_type FROM pg_catalog.aclexplode(pg_catalog.acldefault('d', d.datdba)) a WHERE a.grantee = 0),
         NULL, NULL, NULL, ARRAY[d.datname::text], NULL
    FROM pg_catalog.pg_database d
   WHERE d.datallowconn AND d.datname <> pg_catalog.current_database()
  UNION ALL
  SELECT 'membership', pg_catalog.quote_ident(g.rolname), true, ARRAY[CASE WHEN pg_catalog.bool_or(m.direct) THEN 'direct' ELSE 'inherited' END], NULL, NULL,
         NULL, NULL, NULL, ARRAY[g.rolname::text], NULL
    FROM member_of m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
   GROUP BY g.rolname
  UNION ALL
  SELECT 'default', 'ON ' || dt.word
           || COALESCE(' IN SCHEMA ' || n.nspname, '') || ' FOR ROLE ' || pg_catalog.pg_get_userbyid(d.defaclrole)
           || ' TO ' || CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END,
         true, pg_catalog.array_agg(a.privilege_type ORDER BY a.privilege_type), NULL, NULL,
         ARRAY[CASE a.grantee WHEN 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END], dt.word, NULL,
         ARRAY[pg_catalog.pg_get_userbyid(d.defaclrole)::text, n.nspname::text], NULL
    FROM pg_catalog.pg_default_acl d
    LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
    CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a
    CROSS JOIN LATERAL (SELECT CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS'
                                  WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END AS word) dt
   WHERE (n.nspname IS NULL OR (n.nspname <> $2 AND n.nspname !~ '^pg_'))
     AND (a.grantee = 0 OR pg_catalog.pg_has_role($1::oid, a.grantee, 'USAGE'))
     -- The row's own role's entry is its implicit right on what it creates (present whenever the row exists),
     -- and rows for the Umami role itself concern what it creates: inward's business.
     AND a.grantee <> d.defaclrole AND d.defaclrole <> $1::oid
     -- EXECUTE on functions and USAGE on types go to PUBLIC by PostgreSQL's own default; not a new leak.
     AND NOT (a.grantee = 0 AND d.defaclobjtype IN ('f', 'T'))
   GROUP BY d.oid, dt.word, n.nspname, d.defaclrole, a.grantee
  UNION ALL
  SELECT 'large objects', pg_catalog.count(*)::text, true,
         (pg_catalog.array_agg(l.oid::text ORDER BY l.oid))[1:$11], NULL, NULL, NULL, pg_catalog.current_setting('lo_compat_privileges'), NULL,
         NULL, NULL
    FROM pg_catalog.pg_largeobject_metadata l
   WHERE pg_catalog.current_setting('lo_compat_privileges')::boolean OR l.lomowner = $1::oid
      OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(l.lomacl) a
                  WHERE a.grantee = 0 OR pg_catalog.pg_has_role($1::oid, a.grantee, 'USAGE'))
  UNION ALL
  SELECT 'foreign data wrapper', pg_catalog.quote_ident(w.fdwname), true, ARRAY['USAGE'],
         CASE WHEN pg_catalog.has_foreign_data_wrapper_privilege('public', w.oid, 'USAGE') THEN ARRAY['USAGE'] ELSE ARRAY[]::text[] END,
         NULL, NULL, 'FOREIGN DATA WRAPPER', NULL, ARRAY[w.fdwname::text], NULL
    FROM pg_catalog.pg_foreign_data_wrapper w WHERE pg_catalog.has_foreign_data_wrapper_privilege($1::oid, w.oid, 'USAGE')
  UNION ALL
  SELECT 'foreign server', pg_catalog.quote_ident(s.srvname), true, ARRAY['USAGE'],
         CASE WHEN pg_catalog.has_server_privilege('public', s.oid, 'USAGE') THEN ARRAY['USAGE'] ELSE ARRAY[]::text[] END,
         NULL, NULL, 'FOREIGN SERVER', NULL, ARRAY[s.srvname::text], NULL
    FROM pg_catalog.pg_foreign_server s WHERE pg_catalog.has_server_privilege($1::oid, s.oid, 'USAGE')
  UNION ALL
  SELECT 'user mapping', 'FOR ' || CASE WHEN um.umuser = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(um.usename) END
           || ' SERVER ' || pg_catalog.quote_ident(um.srvname),
         true, ARRAY['USAGE'], NULL, NULL, ARRAY[CASE WHEN um.umuser = 0 THEN NULL ELSE um.usename::text END], 'USER MAPPING', NULL,
         ARRAY[um.srvname::text], NULL
    FROM pg_catalog.pg_user_mappings um
   -- A mapping is used only by a role that may use its server (USAGE, to create a foreign table on it); the
   -- application's foreign tables are reached through their own grants, which the relation rows report.
   WHERE (um.umuser = 0 OR um.umuser = $1::oid) AND pg_catalog.has_server_privilege($1::oid, um.srvid, 'USAGE')
`;
