-- Indexes that are not the implementation of a constraint and not created automatically on a
-- partition by an index of its parent.
SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'table', c.relname,
         'name', ic.relname,
         'definition', CASE WHEN b.plain THEN
             'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || quote_ident(ic.relname)
             || ' ON ' || CASE WHEN ic.relkind = 'I' THEN 'ONLY ' ELSE '' END
             || quote_ident(ns.nspname) || '.' || quote_ident(c.relname)
             || ' USING ' || quote_ident(am.amname) || ' (' || b.keys || ')'
             || coalesce(' INCLUDE (' || b.included || ')', '')
           ELSE pg_get_indexdef(i.indexrelid) END,
         'valid', i.indisvalid,
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = i.indexrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0)
       )), '[]')::text
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_am am ON am.oid = ic.relam
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN ns ON ns.oid = c.relnamespace
  -- The definition of a plain index (columns only, default operator classes and collations, no
  -- options) is built here: pg_get_indexdef costs a relcache build and an operator class scan
  -- per index, most of the time of this query at thousands of indexes.
  LEFT JOIN LATERAL (
    SELECT bool_and(k.n > i.indnkeyatts
                    OR (i.indcollation[k.n - 1] = a.attcollation
                        AND EXISTS (SELECT 1 FROM pg_opclass oc WHERE oc.oid = i.indclass[k.n - 1]
                                       AND oc.opcdefault AND oc.opcintype = a.atttypid))) AS plain,
           string_agg(quote_ident(a.attname)
             || CASE WHEN pg_indexam_has_property(am.oid, 'can_order') THEN
                  CASE WHEN i.indoption[k.n - 1] & 1 = 1
                       THEN ' DESC' || CASE WHEN i.indoption[k.n - 1] & 2 = 0 THEN ' NULLS LAST' ELSE '' END
                       ELSE CASE WHEN i.indoption[k.n - 1] & 2 = 2 THEN ' NULLS FIRST' ELSE '' END END
                ELSE '' END, ', ' ORDER BY k.n) FILTER (WHERE k.n <= i.indnkeyatts) AS keys,
           string_agg(quote_ident(a.attname), ', ' ORDER BY k.n) FILTER (WHERE k.n > i.indnkeyatts) AS included
      FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indexprs IS NULL AND i.indpred IS NULL AND ic.reloptions IS NULL -- NULLS NOT DISTINCT (PostgreSQL 15+) is left to pg_get_indexdef; to_jsonb reads the flag
       -- where it exists, and only for the few unique indexes that are not constraints.
       AND NOT (i.indisunique AND coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::bool, false))
       AND NOT EXISTS (SELECT 1 FROM pg_attribute ia WHERE ia.attrelid = i.indexrelid AND ia.attoptions IS NOT NULL)
  ) b ON true
 WHERE c.relkind IN ('r', 'p', 'm')
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x') AND k.conrelid = c.oid)
   AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
