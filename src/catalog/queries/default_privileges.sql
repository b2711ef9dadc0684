-- ALTER DEFAULT PRIVILEGES entries: global ones (defaclnamespace 0) and those of compared
-- schemas. A global entry replaces the built-in default (a schema's entry adds to it), which
-- is recorded beside each entry: removing a global entry returns to it.
SELECT coalesce(json_agg(json_build_object(
         'role', pg_get_userbyid(da.defaclrole),
         'schema', n.nspname,
         'object_type', da.defaclobjtype::text,
         'acl', (SELECT coalesce(array_agg(a::text ORDER BY a::text), '{}') FROM unnest(da.defaclacl) a),
         'builtin', (SELECT coalesce(array_agg(a::text ORDER BY a::text), '{}') FROM unnest(acldefault(
                 (CASE da.defaclobjtype WHEN 'S' THEN 's' WHEN 'T' THEN 'T' WHEN 'f' THEN 'f' WHEN 'n' THEN 'n' ELSE 'r' END)::"char",
                 da.defaclrole)) a)
       ) ORDER BY pg_get_userbyid(da.defaclrole), n.nspname NULLS FIRST, da.defaclobjtype), '[]')::text
  FROM pg_default_acl da
  LEFT JOIN pg_namespace n ON n.oid = da.defaclnamespace
 WHERE da.defaclnamespace = 0 OR da.defaclnamespace IN (SELECT oid FROM ns)
