SELECT coalesce(json_agg(json_build_object(
         'name', e.extname, 'schema', n.nspname, 'version', e.extversion
       ) ORDER BY e.extname), '[]')::text
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE ($1::text[] IS NULL OR n.nspname = ANY($1::text[])) AND NOT (n.nspname = ANY($2::text[]))
