-- User triggers on tables and views (constraint triggers included); clones on partitions come
-- with the parent.
SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'table', c.relname,
         'name', t.tgname,
         'definition', pg_get_triggerdef(t.oid),
         'enabled', t.tgenabled::text,
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = t.oid AND d.classoid = 'pg_trigger'::regclass AND d.objsubid = 0)
       ) ORDER BY ns.nspname, c.relname, t.tgname), '[]')::text
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN ns ON ns.oid = c.relnamespace
 WHERE NOT t.tgisinternal AND t.tgparentid = 0
   AND c.relkind IN ('r', 'p', 'v')
