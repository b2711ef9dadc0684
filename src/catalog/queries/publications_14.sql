-- Publications on PostgreSQL 14, which has no column lists, row filters or TABLES IN SCHEMA
-- (see publications.sql).
SELECT coalesce(json_agg(json_build_object(
         'name', p.pubname,
         'all_tables', p.puballtables,
         'tables', coalesce((
             SELECT json_agg(json_build_object(
                      'table', json_build_object('schema', ns.nspname, 'name', c.relname)
                    ) ORDER BY ns.nspname, c.relname)
               FROM pg_publication_rel pr
               JOIN pg_class c ON c.oid = pr.prrelid
               JOIN ns ON ns.oid = c.relnamespace
              WHERE pr.prpubid = p.oid), '[]'),
         'insert', p.pubinsert, 'update', p.pubupdate, 'delete', p.pubdelete, 'truncate', p.pubtruncate,
         'via_root', p.pubviaroot,
         'owner', pg_get_userbyid(p.pubowner),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = p.oid AND d.classoid = 'pg_publication'::regclass AND d.objsubid = 0)
       ) ORDER BY p.pubname), '[]')::text
  FROM pg_publication p
 WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_publication'::regclass AND d.objid = p.oid AND d.deptype = 'e')
