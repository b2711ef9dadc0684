-- Collations created by users. to_jsonb keeps this working across versions whose catalogs name
-- the ICU locale differently (colliculocale in 15-16, colllocale from 17).
SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'name', co.collname,
         'provider', CASE co.collprovider WHEN 'i' THEN 'icu' WHEN 'b' THEN 'builtin' ELSE 'libc' END,
         'deterministic', co.collisdeterministic,
         'lc_collate', to_jsonb(co)->>'collcollate',
         'lc_ctype', to_jsonb(co)->>'collctype',
         'locale', coalesce(to_jsonb(co)->>'colllocale', to_jsonb(co)->>'colliculocale'),
         'rules', to_jsonb(co)->>'collicurules',
         'owner', pg_get_userbyid(co.collowner),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = co.oid AND d.classoid = 'pg_collation'::regclass AND d.objsubid = 0)
       ) ORDER BY ns.nspname, co.collname), '[]')::text
  FROM pg_collation co JOIN ns ON ns.oid = co.collnamespace
 WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_collation'::regclass AND d.objid = co.oid AND d.deptype = 'e')
