-- Table constraints declared on the table itself (inherited copies on partitions come with
-- the parent). PostgreSQL 18's NOT NULL constraints (contype 'n') are represented by the
-- column's not_null flag instead.
SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'table', c.relname,
         'name', k.conname,
         'kind', k.contype::text,
         'definition', pg_get_constraintdef(k.oid),
         'validated', k.convalidated,
         'references', CASE WHEN k.contype = 'f' THEN
             (SELECT json_build_object('schema', rn.nspname, 'name', rc.relname)
                FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace WHERE rc.oid = k.confrelid) END,
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = k.oid AND d.classoid = 'pg_constraint'::regclass AND d.objsubid = 0)
       ) ORDER BY ns.nspname, c.relname, k.conname), '[]')::text
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid
  JOIN ns ON ns.oid = c.relnamespace
 WHERE k.contype IN ('p', 'u', 'c', 'f', 'x')
   AND k.conparentid = 0 AND k.conislocal
   AND c.relkind IN ('r', 'p')
