-- Columns of tables, views and composite types alike; the caller attaches them by table.
SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'table', c.relname,
         'name', a.attname,
         'data_type', format_type(a.atttypid, a.atttypmod),
         'not_null', a.attnotnull,
         'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
         'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
         'identity', CASE WHEN a.attidentity <> '' THEN
             (SELECT json_build_object('generation', CASE a.attidentity WHEN 'a' THEN 'always' ELSE 'by_default' END,
                                       'start', s.seqstart, 'increment', s.seqincrement, 'min', s.seqmin,
                                       'max', s.seqmax, 'cache', s.seqcache, 'cycle', s.seqcycle,
                                       'sequence', sc.relname,
                                       'acl', coalesce((SELECT array_agg(x::text ORDER BY x::text) FROM unnest(sc.relacl) x
                                                         WHERE NOT (sc.relacl @> acldefault('s', sc.relowner) AND sc.relacl <@ acldefault('s', sc.relowner))), '{}'))
                FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid JOIN pg_class sc ON sc.oid = d.objid
               -- refclassid lets this use pg_depend's (refclassid, refobjid, refobjsubid) index.
               WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid AND d.refobjsubid = a.attnum
                 AND d.deptype = 'i' AND d.classid = 'pg_class'::regclass LIMIT 1) END,
         'collation', CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                           THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                   FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                  WHERE co.oid = a.attcollation) END,
         'is_local', a.attislocal,
         'storage', CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END,
         'type_storage', CASE WHEN a.attstorage <> t.typstorage THEN t.typstorage::text END,
         'statistics', nullif(a.attstattarget::int, -1),
         'comment', cd.description,
         'acl', CASE WHEN a.attacl IS NULL THEN '{}'::text[]
                     ELSE (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(a.attacl) x) END
       ) ORDER BY ns.nspname, c.relname, a.attnum), '[]')::text
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN ns ON ns.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  -- A join, not col_description() per row: one pass over pg_description.
  LEFT JOIN pg_description cd ON cd.objoid = c.oid AND cd.classoid = 'pg_class'::regclass AND cd.objsubid = a.attnum
 WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
