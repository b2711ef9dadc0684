-- Event triggers are database-wide; those whose function lies in a compared schema are read
-- (a trigger cannot outlive its function, so that is where it belongs).
SELECT coalesce(json_agg(json_build_object(
         'name', e.evtname,
         'event', e.evtevent,
         'tags', coalesce(e.evttags, '{}'),
         'function', quote_ident(ns.nspname) || '.' || quote_ident(p.proname),
         'enabled', e.evtenabled::text,
         'owner', pg_get_userbyid(e.evtowner),
         'comment', (SELECT d.description FROM pg_description d WHERE d.objoid = e.oid AND d.classoid = 'pg_event_trigger'::regclass AND d.objsubid = 0)
       ) ORDER BY e.evtname), '[]')::text
  FROM pg_event_trigger e
  JOIN pg_proc p ON p.oid = e.evtfoid
  JOIN ns ON ns.oid = p.pronamespace
 WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_event_trigger'::regclass AND d.objid = e.oid AND d.deptype = 'e')
