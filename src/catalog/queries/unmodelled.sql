-- Objects of kinds pgkeel does not model, as (kind, name, definition), so that a difference in
-- them is reported and refused instead of being silently equal. Definitions use names, never
-- OIDs; of a user mapping's options (which may hold passwords) only the names are kept. Extension
-- members (deptype 'e') and objects a type or relation made for itself (deptype 'i') are left
-- out, like everywhere else; objects outside schemas (casts, languages, servers, …) count when
-- a user created them (OID at or above FirstNormalObjectId, 16384).
SELECT coalesce(json_agg(json_build_object('kind', u.kind, 'name', u.name, 'definition', coalesce(u.definition, ''))
                ORDER BY u.kind, u.name), '[]')::text
  FROM (
  SELECT 'foreign-data wrapper', w.fdwname,
         concat_ws(' ', w.fdwhandler::regproc::text, w.fdwvalidator::regproc::text, array_to_string(w.fdwoptions, ','))
    FROM pg_foreign_data_wrapper w
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_foreign_data_wrapper'::regclass AND d.objid = w.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'foreign server', s.srvname,
         concat_ws(' ', w.fdwname, s.srvtype, s.srvversion, array_to_string(s.srvoptions, ','))
    FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_foreign_server'::regclass AND d.objid = s.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'user mapping', CASE WHEN um.umuser = 0 THEN 'public' ELSE pg_get_userbyid(um.umuser)::text END || ' for server ' || s.srvname,
         (SELECT string_agg(split_part(o, '=', 1), ',' ORDER BY o) FROM unnest(um.umoptions) o)
    FROM pg_user_mapping um JOIN pg_foreign_server s ON s.oid = um.umserver
  UNION ALL
  SELECT 'text search configuration', ns.nspname || '.' || c.cfgname,
         concat_ws(' ', (SELECT pp.prsname FROM pg_ts_parser pp WHERE pp.oid = c.cfgparser),
                   (SELECT string_agg(m.maptokentype || ':' || m.mapseqno || ':' || dn.nspname || '.' || dd.dictname, ',' ORDER BY m.maptokentype, m.mapseqno)
                      FROM pg_ts_config_map m JOIN pg_ts_dict dd ON dd.oid = m.mapdict JOIN pg_namespace dn ON dn.oid = dd.dictnamespace
                     WHERE m.mapcfg = c.oid))
    FROM pg_ts_config c JOIN ns ON ns.oid = c.cfgnamespace
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_ts_config'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'text search dictionary', ns.nspname || '.' || t.dictname,
         concat_ws(' ', (SELECT tn.nspname || '.' || tt.tmplname FROM pg_ts_template tt JOIN pg_namespace tn ON tn.oid = tt.tmplnamespace WHERE tt.oid = t.dicttemplate),
                   t.dictinitoption)
    FROM pg_ts_dict t JOIN ns ON ns.oid = t.dictnamespace
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_ts_dict'::regclass AND d.objid = t.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'text search parser', ns.nspname || '.' || p.prsname,
         concat_ws(' ', p.prsstart::text, p.prstoken::text, p.prsend::text, p.prsheadline::text, p.prslextype::text)
    FROM pg_ts_parser p JOIN ns ON ns.oid = p.prsnamespace
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_ts_parser'::regclass AND d.objid = p.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'text search template', ns.nspname || '.' || t.tmplname,
         concat_ws(' ', t.tmplinit::text, t.tmpllexize::text)
    FROM pg_ts_template t JOIN ns ON ns.oid = t.tmplnamespace
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_ts_template'::regclass AND d.objid = t.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'operator', ns.nspname || '.' || o.oprname || '(' || coalesce(format_type(nullif(o.oprleft, 0), NULL), 'NONE') || ', '
                     || coalesce(format_type(nullif(o.oprright, 0), NULL), 'NONE') || ')',
         concat_ws(' ', o.oprcode::text, format_type(o.oprresult, NULL), o.oprcom::regoperator::text, o.oprnegate::regoperator::text,
                   o.oprrest::text, o.oprjoin::text, o.oprcanmerge::text, o.oprcanhash::text)
    FROM pg_operator o JOIN ns ON ns.oid = o.oprnamespace
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_operator'::regclass AND d.objid = o.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'operator class', ns.nspname || '.' || oc.opcname || ' using ' || am.amname,
         concat_ws(' ', format_type(oc.opcintype, NULL), oc.opcdefault::text, nullif(oc.opckeytype, 0)::regtype::text,
                   (SELECT fn.nspname || '.' || f.opfname FROM pg_opfamily f JOIN pg_namespace fn ON fn.oid = f.opfnamespace WHERE f.oid = oc.opcfamily))
    FROM pg_opclass oc JOIN ns ON ns.oid = oc.opcnamespace JOIN pg_am am ON am.oid = oc.opcmethod
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_opclass'::regclass AND d.objid = oc.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'operator family', ns.nspname || '.' || f.opfname || ' using ' || am.amname,
         concat_ws(' ',
           (SELECT string_agg(ao.amopstrategy || ':' || ao.amopopr::regoperator::text, ',' ORDER BY ao.amopstrategy, ao.amopopr::regoperator::text)
              FROM pg_amop ao WHERE ao.amopfamily = f.oid),
           (SELECT string_agg(ap.amprocnum || ':' || ap.amproc::regprocedure::text, ',' ORDER BY ap.amprocnum, ap.amproc::regprocedure::text)
              FROM pg_amproc ap WHERE ap.amprocfamily = f.oid))
    FROM pg_opfamily f JOIN ns ON ns.oid = f.opfnamespace JOIN pg_am am ON am.oid = f.opfmethod
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_opfamily'::regclass AND d.objid = f.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'cast', '(' || format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL) || ')',
         concat_ws(' ', nullif(c.castfunc, 0)::regprocedure::text, c.castcontext::text, c.castmethod::text)
    FROM pg_cast c
   WHERE c.oid >= 16384
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_cast'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'statistics object', ns.nspname || '.' || s.stxname,
         concat_ws(' ', pg_get_statisticsobjdef(s.oid), (to_jsonb(s)->>'stxstattarget'))
    FROM pg_statistic_ext s JOIN ns ON ns.oid = s.stxnamespace
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_statistic_ext'::regclass AND d.objid = s.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'rule', r.rulename || ' on ' || ns.nspname || '.' || c.relname,
         concat_ws(' ', pg_get_ruledef(r.oid), r.ev_enabled::text)
    FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN ns ON ns.oid = c.relnamespace
   WHERE r.rulename <> '_RETURN'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'transform', 'for ' || format_type(t.trftype, NULL) || ' language ' || l.lanname,
         concat_ws(' ', nullif(t.trffromsql, 0)::regprocedure::text, nullif(t.trftosql, 0)::regprocedure::text)
    FROM pg_transform t JOIN pg_language l ON l.oid = t.trflang
   WHERE t.oid >= 16384
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_transform'::regclass AND d.objid = t.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'conversion', ns.nspname || '.' || c.conname,
         concat_ws(' ', pg_encoding_to_char(c.conforencoding), pg_encoding_to_char(c.contoencoding), c.conproc::text, c.condefault::text)
    FROM pg_conversion c JOIN ns ON ns.oid = c.connamespace
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_conversion'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' ELSE 'window function' END,
         ns.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
         concat_ws(' ', pg_get_function_result(p.oid),
                   (SELECT concat_ws(' ', a.aggkind::text, a.aggtransfn::text, a.aggfinalfn::text, a.aggcombinefn::text, a.aggmtransfn::text,
                                     format_type(a.aggtranstype, NULL), a.agginitval, a.aggsortop::regoperator::text)
                      FROM pg_aggregate a WHERE a.aggfnoid = p.oid),
                   pg_get_userbyid(p.proowner), array_to_string(p.proacl, ','),
                   (SELECT d.description FROM pg_description d WHERE d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass AND d.objsubid = 0))
    FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
   WHERE p.prokind IN ('a', 'w')
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT CASE WHEN t.typtype = 'p' THEN 'shell type' ELSE 'base type' END, ns.nspname || '.' || t.typname,
         concat_ws(' ', t.typinput::text, t.typoutput::text, t.typreceive::text, t.typsend::text, t.typlen::text, t.typbyval::text,
                   t.typalign::text, t.typstorage::text, t.typcategory::text, t.typdefault)
    FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
   WHERE (t.typtype = 'b' OR (t.typtype = 'p' AND NOT t.typisdefined))
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'procedural language', l.lanname,
         concat_ws(' ', l.lanpltrusted::text, nullif(l.lanplcallfoid, 0)::regproc::text, nullif(l.laninline, 0)::regproc::text, nullif(l.lanvalidator, 0)::regproc::text)
    FROM pg_language l
   WHERE l.oid >= 16384
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_language'::regclass AND d.objid = l.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'access method', a.amname, concat_ws(' ', a.amtype::text, a.amhandler::text)
    FROM pg_am a
   WHERE a.oid >= 16384
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_am'::regclass AND d.objid = a.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'subscription', s.subname, array_to_string(s.subpublications, ',')
    FROM pg_subscription s
   WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  UNION ALL
  SELECT 'security label', l.provider || ' on ' || l.objtype || ' ' || l.objname, l.label
    FROM pg_seclabels l JOIN ns ON ns.oid = l.objnamespace
  UNION ALL
  -- Relations pgkeel does not model, and properties of modelled ones it does not migrate yet,
  -- in one pass over pg_class: at thousands of tables a pass costs as much as most of the rest
  -- of this query. OFFSET 0 keeps it one filtered scan. The columns of tables come with the
  -- columns query (`catalog::columns`), which reads their attributes anyway.
  SELECT x.kind, ns.nspname || '.' || c.relname || x.suffix, x.definition
    FROM (SELECT * FROM pg_class
           WHERE relkind IN ('f', 'm') OR reltablespace <> 0
              OR (relkind = 'r' AND relam <> (SELECT oid FROM pg_am WHERE amname = 'heap'))
          OFFSET 0) c
    JOIN ns ON ns.oid = c.relnamespace
   CROSS JOIN LATERAL (
       SELECT 'foreign table', '',
              concat_ws(' ', (SELECT s.srvname FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE ft.ftrelid = c.oid),
                        (SELECT array_to_string(ft.ftoptions, ',') FROM pg_foreign_table ft WHERE ft.ftrelid = c.oid),
                        (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                           FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
        WHERE c.relkind = 'f'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'i'))
       UNION ALL
       SELECT 'table access method', '', am.amname
         FROM pg_am am
        WHERE am.oid = c.relam AND c.relkind IN ('r', 'm') AND am.amname <> 'heap'
       UNION ALL
       SELECT 'tablespace', '', t.spcname
         FROM pg_tablespace t
        WHERE t.oid = c.reltablespace AND c.relkind IN ('r', 'p', 'm', 'i', 'I')
       UNION ALL
       SELECT 'column options', '.' || a.attname, array_to_string(a.attoptions, ',')
         FROM pg_attribute a
        WHERE c.relkind = 'm' AND a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attoptions IS NOT NULL
     ) x(kind, suffix, definition)
  UNION ALL
  SELECT 'cluster index', ns.nspname || '.' || c.relname, ic.relname
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid JOIN ns ON ns.oid = c.relnamespace
   WHERE i.indisclustered
) u(kind, name, definition)
