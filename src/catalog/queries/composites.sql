SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'name', t.typname,
         'attributes', coalesce((SELECT json_agg(json_build_object('name', a.attname, 'definition', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
                                   FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '[]'),
         'owner', pg_get_userbyid(t.typowner),
         'acl', coalesce((SELECT array_agg(a::text ORDER BY a::text) FROM unnest(t.typacl) a WHERE NOT (t.typacl @> acldefault('T', t.typowner) AND t.typacl <@ acldefault('T', t.typowner))), '{}'),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = t.oid AND d.classoid = 'pg_type'::regclass AND d.objsubid = 0)
       ) ORDER BY ns.nspname, t.typname), '[]')::text
  FROM pg_type t JOIN ns ON ns.oid = t.typnamespace JOIN pg_class c ON c.oid = t.typrelid
 WHERE t.typtype = 'c' AND c.relkind = 'c'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
