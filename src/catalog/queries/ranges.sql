-- Range types. The operator class and collation only when they are not the subtype's own, so
-- the text names what CREATE TYPE … AS RANGE had to spell out. The multirange (PostgreSQL 14+)
-- is read through to_jsonb so older catalogs without rngmultitypid still answer.
SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'name', t.typname,
         'subtype', format_type(r.rngsubtype, NULL),
         'subtype_opclass', CASE WHEN NOT opc.opcdefault THEN quote_ident(opn.nspname) || '.' || quote_ident(opc.opcname) END,
         'collation', CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation
                           THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                   FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                  WHERE co.oid = r.rngcollation) END,
         'canonical', (SELECT quote_ident(pn.nspname) || '.' || quote_ident(p.proname)
                         FROM pg_proc p JOIN pg_namespace pn ON pn.oid = p.pronamespace WHERE p.oid = r.rngcanonical::oid),
         'subtype_diff', (SELECT quote_ident(pn.nspname) || '.' || quote_ident(p.proname)
                            FROM pg_proc p JOIN pg_namespace pn ON pn.oid = p.pronamespace WHERE p.oid = r.rngsubdiff::oid),
         'multirange', (SELECT quote_ident(mn.nspname) || '.' || quote_ident(mt.typname)
                          FROM pg_type mt JOIN pg_namespace mn ON mn.oid = mt.typnamespace
                         WHERE mt.oid = (to_jsonb(r)->>'rngmultitypid')::oid),
         'owner', pg_get_userbyid(t.typowner),
         'acl', coalesce((SELECT array_agg(a::text ORDER BY a::text) FROM unnest(t.typacl) a WHERE NOT (t.typacl @> acldefault('T', t.typowner) AND t.typacl <@ acldefault('T', t.typowner))), '{}'),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = t.oid AND d.classoid = 'pg_type'::regclass AND d.objsubid = 0)
       ) ORDER BY ns.nspname, t.typname), '[]')::text
  FROM pg_type t
  JOIN ns ON ns.oid = t.typnamespace
  JOIN pg_range r ON r.rngtypid = t.oid
  JOIN pg_type st ON st.oid = r.rngsubtype
  JOIN pg_opclass opc ON opc.oid = r.rngsubopc
  JOIN pg_namespace opn ON opn.oid = opc.opcnamespace
 WHERE t.typtype = 'r'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
