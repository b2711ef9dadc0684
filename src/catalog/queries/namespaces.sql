-- The schemas pgkeel looks at ($1: include list or NULL for all, $2: exclude list), minus
-- system schemas and schemas owned by extensions. Prepended to every other query as `ns`,
-- with `extension_relations`: relations that belong to extensions, one set to test against
-- (`c.oid NOT IN (…)` is one hashed list, where NOT EXISTS probes pg_depend per relation).
WITH ns AS (
  SELECT n.oid, n.nspname
    FROM pg_namespace n
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
     AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
     AND ($1::text[] IS NULL OR n.nspname = ANY($1::text[]))
     AND NOT (n.nspname = ANY($2::text[]))
     AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
),
extension_relations AS (
  SELECT d.objid FROM pg_depend d
   WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_class'::regclass AND d.deptype = 'e'
)
