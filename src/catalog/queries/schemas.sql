SELECT coalesce(json_agg(json_build_object(
         'name', n.nspname,
         'owner', pg_get_userbyid(n.nspowner),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = n.oid AND d.classoid = 'pg_namespace'::regclass AND d.objsubid = 0),
         'acl', coalesce((SELECT array_agg(a::text ORDER BY a::text) FROM unnest(n.nspacl) a WHERE NOT (n.nspacl @> acldefault('n', n.nspowner) AND n.nspacl <@ acldefault('n', n.nspowner))), '{}')
       ) ORDER BY n.nspname), '[]')::text
  FROM pg_namespace n JOIN ns ON ns.oid = n.oid
