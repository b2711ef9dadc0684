CREATE FUNCTION normalize_email(raw text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN lower(btrim(raw));
END;
$$;
