SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'name', c.relname,
         'kind', CASE c.relkind WHEN 'p' THEN 'partitioned' ELSE 'ordinary' END,
         'unlogged', c.relpersistence = 'u',
         'partition_key', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
         'partition_of', CASE WHEN c.relispartition THEN
             (SELECT json_build_object('parent', json_build_object('schema', pn.nspname, 'name', pc.relname),
                                       'bound', pg_get_expr(c.relpartbound, c.oid))
                FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
               WHERE i.inhrelid = c.oid) END,
         'inherits', CASE WHEN c.relispartition THEN '[]'::json ELSE coalesce(
             (SELECT json_agg(json_build_object('schema', pn.nspname, 'name', pc.relname) ORDER BY i.inhseqno)
                FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
               WHERE i.inhrelid = c.oid), '[]') END,
         'columns', '[]'::json,
         'rls_enabled', c.relrowsecurity, 'rls_forced', c.relforcerowsecurity,
         'replica_identity', c.relreplident::text,
         'replica_identity_index', (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                                     WHERE i.indrelid = c.oid AND i.indisreplident),
         'options', coalesce(c.reloptions, '{}'),
         'owner', pg_get_userbyid(c.relowner),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0),
         'acl', coalesce((SELECT array_agg(a::text ORDER BY a::text) FROM unnest(c.relacl) a WHERE NOT (c.relacl @> acldefault('r', c.relowner) AND c.relacl <@ acldefault('r', c.relowner))), '{}')
       ) ORDER BY ns.nspname, c.relname), '[]')::text
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
