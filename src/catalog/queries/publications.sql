-- Publications. They are database-wide: every one is read, with its members limited to the
-- compared schemas. Column lists, row filters and TABLES IN SCHEMA exist from PostgreSQL 15;
-- older servers read stand-ins (NEWER_CATALOG in `catalog`).
-- publish_generated_columns (PostgreSQL 18) is read through to_jsonb.
SELECT coalesce(json_agg(json_build_object(
         'name', p.pubname,
         'all_tables', p.puballtables,
         'tables', coalesce((
             SELECT json_agg(json_build_object(
                      'table', json_build_object('schema', ns.nspname, 'name', c.relname),
                      'columns', coalesce((SELECT array_agg(a.attname::text ORDER BY a.attnum)
                                             FROM pg_attribute a
                                            WHERE a.attrelid = c.oid AND a.attnum = ANY(pr.prattrs::int2[])), '{}'),
                      'row_filter', pg_get_expr(pr.prqual, pr.prrelid)
                    ) ORDER BY ns.nspname, c.relname)
               FROM pg_publication_rel pr
               JOIN pg_class c ON c.oid = pr.prrelid
               JOIN ns ON ns.oid = c.relnamespace
              WHERE pr.prpubid = p.oid), '[]'),
         'schemas', coalesce((SELECT array_agg(ns.nspname::text ORDER BY ns.nspname)
                                FROM pg_publication_namespace pn JOIN ns ON ns.oid = pn.pnnspid
                               WHERE pn.pnpubid = p.oid), '{}'),
         'insert', p.pubinsert, 'update', p.pubupdate, 'delete', p.pubdelete, 'truncate', p.pubtruncate,
         'via_root', p.pubviaroot,
         'generated_columns', CASE WHEN to_jsonb(p)->>'pubgencols' IN ('s', 'true') THEN 'stored' END,
         'owner', pg_get_userbyid(p.pubowner),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = p.oid AND d.classoid = 'pg_publication'::regclass AND d.objsubid = 0)
       ) ORDER BY p.pubname), '[]')::text
  FROM pg_publication p
 WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_publication'::regclass AND d.objid = p.oid AND d.deptype = 'e')
