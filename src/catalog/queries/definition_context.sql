-- What `catalog::definitions` needs to print constraint and index definitions as this server
-- does: the keywords quote_ident quotes (all but the unreserved ones), whether it quotes every
-- identifier, the default operator classes with their input types, and the index access
-- methods that order (and so print DESC / NULLS FIRST / NULLS LAST).
SELECT ARRAY(SELECT word FROM pg_get_keywords() WHERE catcode <> 'U')::text[] AS keywords,
       current_setting('quote_all_identifiers')::bool AS quote_all,
       ARRAY(SELECT oid FROM pg_opclass WHERE opcdefault ORDER BY oid) AS default_classes,
       ARRAY(SELECT opcintype FROM pg_opclass WHERE opcdefault ORDER BY oid) AS default_class_types,
       ARRAY(SELECT amname::text FROM pg_am
              WHERE amtype = 'i' AND pg_indexam_has_property(oid, 'can_order'))::text[] AS ordered_methods
