-- Functions and procedures (aggregates and window functions have no pg_get_functiondef; they
-- are listed as unmodelled objects). Functions a type made for itself (range and multirange
-- constructors, deptype 'i') come and go with the type. Privileges are compared with the
-- built-in default as sets: a REVOKE then GRANT leaves the same items in another order.
SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'name', p.proname,
         'arguments', pg_get_function_identity_arguments(p.oid),
         'argument_types', oidvectortypes(p.proargtypes),
         'kind', p.prokind::text,
         'definition', pg_get_functiondef(p.oid),
         'result', coalesce(pg_get_function_result(p.oid), ''),
         'owner', pg_get_userbyid(p.proowner),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass AND d.objsubid = 0),
         'acl', coalesce((SELECT array_agg(a::text ORDER BY a::text) FROM unnest(p.proacl) a WHERE NOT (p.proacl @> acldefault('f', p.proowner) AND p.proacl <@ acldefault('f', p.proowner))), '{}')
       ) ORDER BY ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), '[]')::text
  FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
 WHERE p.prokind IN ('f', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype IN ('e', 'i'))
