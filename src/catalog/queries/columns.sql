-- Columns of tables, one row each (see `catalog::rows`). `catalog::columns` attaches them to
-- their tables in `position` order; the type and collation OIDs tell `catalog::definitions`
-- whether an index column uses the defaults.
SELECT ns.nspname::text AS schema, c.relname::text AS "table", a.attnum AS position,
       a.atttypid AS type_oid, a.attcollation AS collation_oid,
       a.attname::text AS name,
       format_type(a.atttypid, a.atttypmod) AS data_type,
       a.attnotnull AS not_null,
       -- A default cannot refer to a column, so it is deparsed without the table: with the
       -- table, pg_get_expr opens it (a relcache build per table).
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, 0) END AS "default",
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generated,
       CASE WHEN a.attidentity <> '' THEN
           (SELECT json_build_object('generation', CASE a.attidentity WHEN 'a' THEN 'always' ELSE 'by_default' END,
                                     'start', s.seqstart, 'increment', s.seqincrement, 'min', s.seqmin,
                                     'max', s.seqmax, 'cache', s.seqcache, 'cycle', s.seqcycle,
                                     'sequence', sc.relname,
                                     'acl', coalesce((SELECT array_agg(x::text ORDER BY x::text) FROM unnest(sc.relacl) x
                                                       WHERE NOT (sc.relacl @> acldefault('s', sc.relowner) AND sc.relacl <@ acldefault('s', sc.relowner))), '{}'))
              FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid JOIN pg_class sc ON sc.oid = d.objid
             -- refclassid lets this use pg_depend's (refclassid, refobjid, refobjsubid) index.
             WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid AND d.refobjsubid = a.attnum
               AND d.deptype = 'i' AND d.classid = 'pg_class'::regclass LIMIT 1)::text END AS identity,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
            THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                    FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                   WHERE co.oid = a.attcollation) END AS collation,
       a.attislocal AS is_local,
       CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END AS storage,
       CASE WHEN a.attstorage <> t.typstorage THEN t.typstorage::text END AS type_storage,
       nullif(a.attstattarget::int4, -1) AS statistics,
       cd.description AS comment,
       CASE WHEN a.attacl IS NULL THEN '{}'::text[]
            ELSE (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(a.attacl) x) END AS acl,
       -- Properties pgkeel does not migrate yet, listed with the unmodelled objects: read here,
       -- where the attributes are read anyway, not in a pass over all of pg_attribute.
       nullif(a.attcompression::text, '') AS compression,
       array_to_string(a.attoptions, ',') AS options,
       a.attgenerated = 'v' AS virtual
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN ns ON ns.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  -- A join, not col_description() per row: one pass over pg_description.
  LEFT JOIN pg_description cd ON cd.objoid = c.oid AND cd.classoid = 'pg_class'::regclass AND cd.objsubid = a.attnum
 WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
   AND c.oid NOT IN (SELECT objid FROM extension_relations)
