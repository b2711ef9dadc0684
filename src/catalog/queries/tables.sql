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
         'inherits', CASE WHEN c.relispartition THEN '[]'::json ELSE coalesce(inh.parents, '[]') END,
         'columns', '[]'::json,
         'rls_enabled', c.relrowsecurity, 'rls_forced', c.relforcerowsecurity,
         'replica_identity', c.relreplident::text,
         'replica_identity_index', ri.relname,
         'options', coalesce(c.reloptions, '{}'),
         'owner', pg_get_userbyid(c.relowner),
         'comment', cd.description,
         'acl', coalesce((SELECT array_agg(a::text ORDER BY a::text) FROM unnest(c.relacl) a WHERE NOT (c.relacl @> acldefault('r', c.relowner) AND c.relacl <@ acldefault('r', c.relowner))), '{}')
       ) ORDER BY ns.nspname, c.relname), '[]')::text
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
  LEFT JOIN (SELECT i.inhrelid, json_agg(json_build_object('schema', pn.nspname, 'name', pc.relname) ORDER BY i.inhseqno) AS parents
               FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
              GROUP BY i.inhrelid) inh ON inh.inhrelid = c.oid
  LEFT JOIN (SELECT i.indrelid, ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indisreplident) ri
         ON ri.indrelid = c.oid
  LEFT JOIN pg_description cd ON cd.objoid = c.oid AND cd.classoid = 'pg_class'::regclass AND cd.objsubid = 0
 WHERE c.relkind IN ('r', 'p')
   AND c.oid NOT IN (SELECT objid FROM extension_relations)
