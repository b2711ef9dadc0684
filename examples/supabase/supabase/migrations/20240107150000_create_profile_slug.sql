CREATE FUNCTION public.profile_slug(p public.profiles) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    -- Dollar quoting keeps the quotes and semicolons below inside the body.
    RETURN lower(regexp_replace(p.username, '[^a-zA-Z0-9]+', '-', 'g'));
END;
$$;
