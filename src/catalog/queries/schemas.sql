SELECT coalesce(json_agg(json_build_object(
         'name', n.nspname,
         'owner', pg_get_userbyid(n.nspowner),
         'comment', obj_description(n.oid, 'pg_namespace'),
         'acl', coalesce((SELECT array_agg(a::text ORDER BY a::text) FROM unnest(n.nspacl) a WHERE n.nspacl IS DISTINCT FROM acldefault('n', n.nspowner)), '{}')
       ) ORDER BY n.nspname), '[]')::text
  FROM pg_namespace n JOIN ns ON ns.oid = n.oid
