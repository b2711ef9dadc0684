-- Identity sequences belong to their column (deptype 'i') and are not listed here.
SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'name', c.relname,
         'data_type', format_type(s.seqtypid, NULL),
         'start', s.seqstart, 'increment', s.seqincrement, 'min', s.seqmin, 'max', s.seqmax,
         'cache', s.seqcache, 'cycle', s.seqcycle,
         'owned_by', (SELECT json_build_object('schema', tn.nspname, 'name', tc.relname, 'column', a.attname)
                        FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
                        JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a'
                         AND d.refclassid = 'pg_class'::regclass LIMIT 1),
         'owner', pg_get_userbyid(c.relowner),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0),
         'acl', coalesce((SELECT array_agg(a::text ORDER BY a::text) FROM unnest(c.relacl) a WHERE NOT (c.relacl @> acldefault('s', c.relowner) AND c.relacl <@ acldefault('s', c.relowner))), '{}')
       ) ORDER BY ns.nspname, c.relname), '[]')::text
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid
 WHERE c.relkind = 'S'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'i'))
