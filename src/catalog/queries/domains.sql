SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'name', t.typname,
         'base_type', format_type(t.typbasetype, t.typtypmod),
         'not_null', t.typnotnull,
         'default', t.typdefault,
         'collation', CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation
                           THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                   FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                  WHERE co.oid = t.typcollation) END,
         'checks', coalesce((SELECT json_agg(json_build_object('name', c.conname, 'definition', pg_get_constraintdef(c.oid)) ORDER BY c.conname)
                               FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c'), '[]'),
         'owner', pg_get_userbyid(t.typowner),
         'acl', coalesce((SELECT array_agg(a::text ORDER BY a::text) FROM unnest(t.typacl) a WHERE NOT (t.typacl @> acldefault('T', t.typowner) AND t.typacl <@ acldefault('T', t.typowner))), '{}'),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = t.oid AND d.classoid = 'pg_type'::regclass AND d.objsubid = 0)
       ) ORDER BY ns.nspname, t.typname), '[]')::text
  FROM pg_type t JOIN ns ON ns.oid = t.typnamespace JOIN pg_type bt ON bt.oid = t.typbasetype
 WHERE t.typtype = 'd'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
