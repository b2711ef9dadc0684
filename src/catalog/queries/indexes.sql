-- Indexes that are not the implementation of a constraint and not created automatically on a
-- partition by an index of its parent, one row each (see `catalog::rows`).
--
-- A plain index on a table (columns only, no predicate, no options) comes as its parts, and
-- `catalog::definitions` prints it as pg_get_indexdef does when its operator classes and
-- collations are the defaults: that function costs a relcache build and an operator class
-- scan per index. The server prints the rest.
SELECT i.indexrelid AS oid, ns.nspname::text AS schema, c.relname::text AS "table",
       ic.relname::text AS name,
       CASE WHEN i.indexprs IS NULL AND i.indpred IS NULL AND ic.reloptions IS NULL
                 AND c.relkind IN ('r', 'p') AND NOT (i.indisunique AND i.indnullsnotdistinct)
                 -- Operator class options live on the index's attributes: a probe of the
                 -- index's own few rows, where a pass over pg_attribute (its largest catalog,
                 -- tens of megabytes at thousands of tables) would cost more than the rest.
                 AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                                  WHERE a.attrelid = i.indexrelid AND a.attoptions IS NOT NULL)
            THEN NULL ELSE pg_get_indexdef(i.indexrelid) END AS definition,
       i.indisvalid AS valid, i.indisunique AS "unique", ic.relkind = 'I' AS partitioned,
       am.amname::text AS method, i.indkey::int2[] AS keys, i.indnkeyatts::int2 AS key_count,
       i.indclass::oid[] AS classes, i.indcollation::oid[] AS collations,
       i.indoption::int2[] AS options,
       d.description AS comment
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_am am ON am.oid = ic.relam
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN ns ON ns.oid = c.relnamespace
  LEFT JOIN pg_description d ON d.objoid = i.indexrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
 WHERE c.relkind IN ('r', 'p', 'm')
   -- One hashed list of constraint indexes, not a probe per index (conindid is never null).
   AND i.indexrelid NOT IN (SELECT k.conindid FROM pg_constraint k WHERE k.contype IN ('p', 'u', 'x'))
   AND i.indexrelid NOT IN (SELECT h.inhrelid FROM pg_inherits h)
   AND c.oid NOT IN (SELECT objid FROM extension_relations)
