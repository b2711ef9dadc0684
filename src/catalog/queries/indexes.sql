-- Indexes that are not the implementation of a constraint and not created automatically on a
-- partition by an index of its parent.
SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'table', c.relname,
         'name', ic.relname,
         'definition', pg_get_indexdef(i.indexrelid),
         'valid', i.indisvalid,
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = i.indexrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0)
       ) ORDER BY ns.nspname, c.relname, ic.relname), '[]')::text
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN ns ON ns.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm')
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x') AND k.conrelid = c.oid)
   AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
