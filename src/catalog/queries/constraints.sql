-- Table constraints declared on the table itself (inherited copies on partitions come with
-- the parent), one row each (see `catalog::rows`). PostgreSQL 18's NOT NULL constraints
-- (contype 'n') are represented by the column's not_null flag instead.
--
-- Primary keys, unique constraints and foreign keys come as their parts (column numbers,
-- referenced table, actions), and `catalog::definitions` prints them as pg_get_constraintdef
-- does: that function costs the server a catalog scan per constraint. A plain check comes as
-- its stored expression tree: printing one opens its table (a relcache build), so
-- `catalog::definitions` has the server print each distinct expression once. The server prints
-- the rest here: exclusion constraints, and constraints with clauses pgkeel does not print
-- itself (NULLS NOT DISTINCT, ON DELETE SET NULL (columns), WITHOUT OVERLAPS / PERIOD,
-- NOT ENFORCED, NO INHERIT, NOT VALID checks).
SELECT k.oid, ns.nspname::text AS schema, c.relname::text AS "table", k.conname::text AS name,
       k.contype::text AS kind,
       CASE WHEN k.contype IN ('p', 'u', 'f')
                 AND NOT coalesce(i.indnullsnotdistinct, false) AND k.confdelsetcols IS NULL
                 AND NOT k.conperiod AND k.conenforced THEN NULL
            WHEN k.contype = 'c' AND k.conenforced AND k.convalidated AND NOT k.connoinherit THEN NULL
            ELSE pg_get_constraintdef(k.oid) END AS definition,
       CASE WHEN k.contype = 'c' THEN k.conbin::text END AS expression,
       k.convalidated AS validated, k.condeferrable AS deferrable, k.condeferred AS deferred,
       k.conkey AS keys, i.indkey::int2[] AS index_keys,
       rn.nspname::text AS ref_schema, rc.relname::text AS ref_table,
       CASE WHEN k.contype = 'f' THEN pg_table_is_visible(k.confrelid) END AS ref_visible,
       k.confkey AS ref_keys, k.confmatchtype::text AS match,
       k.confupdtype::text AS on_update, k.confdeltype::text AS on_delete,
       d.description AS comment
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid
  JOIN ns ON ns.oid = c.relnamespace
  LEFT JOIN pg_index i ON i.indexrelid = k.conindid AND k.contype IN ('p', 'u')
  LEFT JOIN pg_class rc ON rc.oid = k.confrelid
  LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
  LEFT JOIN pg_description d ON d.objoid = k.oid AND d.classoid = 'pg_constraint'::regclass AND d.objsubid = 0
 WHERE k.contype IN ('p', 'u', 'c', 'f', 'x')
   AND k.conparentid = 0 AND k.conislocal
   AND c.relkind IN ('r', 'p')
