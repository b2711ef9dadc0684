SELECT coalesce(json_agg(json_build_object(
         'schema', ns.nspname, 'table', c.relname,
         'name', p.polname,
         'permissive', p.polpermissive,
         'command', CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                  WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
         'roles', (SELECT coalesce(array_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END ORDER BY 1), '{}')
                     FROM unnest(p.polroles) r),
         'using', pg_get_expr(p.polqual, p.polrelid),
         'with_check', pg_get_expr(p.polwithcheck, p.polrelid)
       ) ORDER BY ns.nspname, c.relname, p.polname), '[]')::text
  FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid
  JOIN ns ON ns.oid = c.relnamespace
