SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'name', t.typname,
         'labels', (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
         'owner', pg_get_userbyid(t.typowner),
         'acl', coalesce((SELECT array_agg(a::text ORDER BY a::text) FROM unnest(t.typacl) a WHERE NOT (t.typacl @> acldefault('T', t.typowner) AND t.typacl <@ acldefault('T', t.typowner))), '{}'),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = t.oid AND d.classoid = 'pg_type'::regclass AND d.objsubid = 0)
       ) ORDER BY ns.nspname, t.typname), '[]')::text
  FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
 WHERE t.typtype = 'e'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
