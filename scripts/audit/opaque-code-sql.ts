/**
 * The catalog queries of the opaque-code check (opaque-code.ts judges their rows): the functions, stored queries and
 * trigger arguments outside Umami's schema that run with other roles' rights, and who may put things where.
 */

// $1 Umami schema oid, $2 Umami role oid, $3 POSIX pattern of dynamic SQL, $4 the oids of the role and the administrators,
// $5 POSIX pattern of the names of functions that run SQL passed as text.
// Functions: outside pg_catalog and Umami's schema (Umami's own are planted-code's), not umami_user's (ownership's),
// not an extension's, with a readable body; kept when their body may name a schema umami_user creates in (a
// coarse substring test, referencedSchemas decides), when a search_path is pinned, when the body is an
// SQL-standard one (its references are recorded), when it is SECURITY DEFINER (temp-lookup.ts reads its relation
// names), or when a trigger, an event trigger or SECURITY DEFINER runs dynamic SQL. `reached`: a role outside the
// administrators may set it off in its own session (EXECUTE, or a trigger, an event trigger or a view runs it). Trees: views, materialized views and rules outside Umami's schema that call a function taking
// text (the SQL it runs lives in the tree's constants), or rules whose actions use a relation where umami_user
// creates. Trigger arguments: text handed to a trigger function on a table outside Umami's schema.
export const OPAQUE_SQL = `
  WITH dyn AS (
    -- Functions that run SQL passed as text. A stored query records a built-in (query_to_xml…) by oid in its tree
    -- only: pg_depend has no row for pinned objects.
    SELECT p.oid, p.proname::text AS proname FROM pg_catalog.pg_proc p WHERE p.proname ~* $5
  ), rules AS MATERIALIZED (
    -- The stored queries outside the catalogs, Umami's schema and umami_user's, before their text is searched
    -- (searching the catalogs' own views for each function above cost ~200 ms, measured).
    SELECT rw.oid, rw.rulename, rw.ev_class, rw.ev_action FROM pg_catalog.pg_rewrite rw
      JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relnamespace <> $1::oid AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relowner <> $2::oid
  ), creatable AS (
    SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
     WHERE n.nspowner = $2::oid OR pg_catalog.has_schema_privilege($2::oid, n.oid, 'CREATE')
  ), runs AS (
    SELECT t.tgfoid AS fn, 'trigger ' || pg_catalog.quote_ident(t.tgname) || ' ON '
             || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS use,
           'TRIGGER' AS kind, ARRAY[n.nspname, c.relname, t.tgname]::text[] AS name
      FROM pg_catalog.pg_trigger t
      JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT t.tgisinternal AND c.relnamespace <> $1::oid
    UNION ALL
    SELECT e.evtfoid, 'event trigger ' || pg_catalog.quote_ident(e.evtname), 'EVENT TRIGGER', ARRAY[e.evtname]::text[]
      FROM pg_catalog.pg_event_trigger e
  ), views AS (
    -- Views that call a function: their readers run it (checking EXECUTE, never the function's schema).
    SELECT DISTINCT d.refobjid AS fn, CASE c.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END
             || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS use,
           CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END AS kind, ARRAY[n.nspname, c.relname]::text[] AS name
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid
      JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
       AND c.relkind IN ('v', 'm')
  )
  SELECT 'function' AS kind,
         pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS object,
         CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS otype,
         pg_catalog.pg_get_userbyid(p.proowner)::text AS owner, p.prosecdef AS definer,
         ARRAY[p.prosrc, p.prosqlbody::text] AS texts,
         ARRAY(SELECT pg_catalog.substr(c, 13) FROM pg_catalog.unnest(p.proconfig) c WHERE pg_catalog.starts_with(c, 'search_path=')) AS paths,
         ARRAY(SELECT r.use FROM runs r WHERE r.fn = p.oid UNION SELECT v.use FROM views v WHERE v.fn = p.oid ORDER BY 1) AS uses,
         (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('kind', u.kind, 'name', u.name) ORDER BY u.use)
            FROM (SELECT r.use, r.kind, r.name FROM runs r WHERE r.fn = p.oid
                  UNION SELECT v.use, v.kind, v.name FROM views v WHERE v.fn = p.oid) u) AS drops,
         ARRAY[n.nspname, p.proname]::text[] AS name, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args,
         (p.oid IN (SELECT r.fn FROM runs r UNION SELECT v.fn FROM views v)
          OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
                      WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
                        AND (a.grantee = $2::oid OR a.grantee <> ALL ($4::oid[])))) AS reached,
         -- An SQL-standard body records what it uses: the schemas where umami_user creates that it reaches.
         (SELECT pg_catalog.string_agg(DISTINCT cr.nspname::text, ',')
            FROM pg_catalog.pg_depend d
            LEFT JOIN pg_catalog.pg_class rc ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND rc.oid = d.refobjid
            LEFT JOIN pg_catalog.pg_proc rp ON d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND rp.oid = d.refobjid
            JOIN creatable cr ON cr.oid IN (rc.relnamespace, rp.pronamespace)
           WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND p.prosqlbody IS NOT NULL) AS recorded,
         NULL::text[] AS calls
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_catalog.pg_language l ON l.oid = p.prolang
   WHERE p.pronamespace <> $1::oid AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND p.proowner <> $2::oid AND l.lanname NOT IN ('c', 'internal')
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                      WHERE e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND e.objid = p.oid AND e.deptype = 'e')
     AND (EXISTS (SELECT 1 FROM creatable cr WHERE pg_catalog.strpos(pg_catalog.lower(p.prosrc), pg_catalog.lower(cr.nspname)) > 0)
          OR p.prosqlbody IS NOT NULL OR p.prosecdef OR p.prosrc ~* 'password[[:space:]]*='
          OR EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) c WHERE pg_catalog.starts_with(c, 'search_path='))
          OR ((p.prosecdef OR p.oid IN (SELECT fn FROM runs)) AND p.prosrc ~* $3))
  UNION ALL
  SELECT CASE WHEN rw.rulename = '_RETURN' THEN 'tree' ELSE 'rule' END,
         CASE WHEN rw.rulename = '_RETURN' THEN '' ELSE pg_catalog.quote_ident(rw.rulename) || ' ON ' END
           || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),
         CASE WHEN rw.rulename <> '_RETURN' THEN 'RULE' WHEN c.relkind = 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END,
         pg_catalog.pg_get_userbyid(c.relowner)::text, NULL,
         ARRAY[rw.ev_action::text], NULL, NULL, NULL,
         CASE WHEN rw.rulename = '_RETURN' THEN ARRAY[n.nspname, c.relname] ELSE ARRAY[n.nspname, c.relname, rw.rulename] END::text[], NULL, NULL,
         (SELECT pg_catalog.string_agg(DISTINCT cr.nspname::text, ',')
            FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class rc ON rc.oid = d.refobjid
            JOIN creatable cr ON cr.oid = rc.relnamespace
           WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid
             AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND rw.rulename <> '_RETURN'),
         ARRAY(SELECT dyn.proname FROM dyn WHERE pg_catalog.strpos(rw.ev_action::text, ':funcid ' || dyn.oid || ' ') > 0
               UNION
               SELECT p.proname::text FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid
                WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid
                  AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass ORDER BY 1)
    FROM rules rw
    JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  LEFT JOIN pg_catalog.pg_proc p ON d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = d.refobjid
                  LEFT JOIN pg_catalog.pg_class rc ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND rc.oid = d.refobjid
                 WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid
                   AND (p.proargtypes::oid[] && ARRAY['text', 'varchar', 'name', 'unknown', 'cstring']::pg_catalog.regtype[]::oid[]
                        OR (rw.rulename <> '_RETURN' AND rc.relnamespace IN (SELECT oid FROM creatable)))
                 UNION ALL
                 SELECT 1 FROM dyn WHERE pg_catalog.strpos(rw.ev_action::text, ':funcid ' || dyn.oid || ' ') > 0)
  UNION ALL
  SELECT 'trigger arguments', pg_catalog.quote_ident(t.tgname) || ' ON ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),
         'TRIGGER', pg_catalog.pg_get_userbyid(c.relowner)::text, NULL, ARRAY[pg_catalog.encode(t.tgargs, 'hex')], NULL, NULL,
         NULL, ARRAY[n.nspname, c.relname, t.tgname]::text[], NULL, NULL, NULL, NULL
    FROM pg_catalog.pg_trigger t
    JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE NOT t.tgisinternal AND t.tgnargs > 0 AND c.relnamespace <> $1::oid
`;

// $1 Umami role oid, $2 the oids of the role and the administrators. The schemas umami_user creates in (its own
// included), whether it may create schemas, and then (only then) every schema's name: a name no schema has yet is
// one umami_user can take; the login roles outside the administrators that may create temporary objects here; and
// the schemas where login roles outside the administrators were granted CREATE (not only as owners), with them.
export const CREATABLE_SQL = `
  SELECT ARRAY(SELECT n.nspname::text FROM pg_catalog.pg_namespace n
                WHERE n.nspowner = $1::oid OR pg_catalog.has_schema_privilege($1::oid, n.oid, 'CREATE') ORDER BY 1) AS creatable,
         pg_catalog.has_database_privilege($1::oid, pg_catalog.current_database(), 'CREATE') AS create_schemas,
         ARRAY(SELECT n.nspname::text FROM pg_catalog.pg_namespace n
                WHERE pg_catalog.has_database_privilege($1::oid, pg_catalog.current_database(), 'CREATE') ORDER BY 1) AS schemas,
         ARRAY(SELECT r.rolname::text FROM pg_catalog.pg_roles r
                WHERE r.rolcanlogin AND (r.oid = $1::oid OR r.oid <> ALL ($2::oid[]))
                  AND pg_catalog.has_database_privilege(r.oid, pg_catalog.current_database(), 'TEMPORARY') ORDER BY 1) AS temp_roles,
         (SELECT pg_catalog.jsonb_object_agg(x.nspname, x.roles) FROM (
            SELECT n.nspname, pg_catalog.array_agg(r.rolname::text ORDER BY r.rolname) AS roles
              FROM pg_catalog.pg_namespace n
              JOIN pg_catalog.pg_roles r ON r.rolcanlogin AND r.oid <> ALL ($2::oid[])
             WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
               AND pg_catalog.has_schema_privilege(r.oid, n.oid, 'CREATE')
               AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) a
                            WHERE a.privilege_type = 'CREATE' AND a.grantee <> n.nspowner
                              AND (a.grantee = 0 OR pg_catalog.pg_has_role(r.oid, a.grantee, 'MEMBER')))
             GROUP BY n.nspname) x) AS granted_create
`;
