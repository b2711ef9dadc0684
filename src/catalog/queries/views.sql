SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'name', c.relname,
         'materialized', c.relkind = 'm',
         'definition', pg_get_viewdef(c.oid),
         'options', coalesce(c.reloptions, '{}'),
         'depends_on', coalesce((
             SELECT json_agg(DISTINCT jsonb_build_object('schema', dn.nspname, 'name', dc.relname))
               FROM pg_rewrite r
               JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                               AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid
               JOIN pg_class dc ON dc.oid = d.refobjid
               JOIN pg_namespace dn ON dn.oid = dc.relnamespace
              WHERE r.ev_class = c.oid), '[]'),
         'indexes', '[]'::json,
         'triggers', '[]'::json,
         'columns', coalesce((
             SELECT json_agg(json_build_object(
                      'name', a.attname, 'comment', cd.description,
                      'acl', coalesce((SELECT array_agg(x::text ORDER BY x::text) FROM unnest(a.attacl) x), '{}')
                    ) ORDER BY a.attnum)
               FROM pg_attribute a
               LEFT JOIN pg_description cd ON cd.objoid = c.oid AND cd.classoid = 'pg_class'::regclass AND cd.objsubid = a.attnum
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                AND (cd.description IS NOT NULL OR cardinality(a.attacl) > 0)), '[]'),
         'owner', pg_get_userbyid(c.relowner),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0),
         'acl', coalesce((SELECT array_agg(a::text ORDER BY a::text) FROM unnest(c.relacl) a WHERE NOT (c.relacl @> acldefault('r', c.relowner) AND c.relacl <@ acldefault('r', c.relowner))), '{}')
       ) ORDER BY ns.nspname, c.relname), '[]')::text
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm')
   AND c.oid NOT IN (SELECT objid FROM extension_relations)
