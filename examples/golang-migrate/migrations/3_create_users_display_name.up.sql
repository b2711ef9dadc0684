CREATE FUNCTION users_display_name(u users) RETURNS text
LANGUAGE plpgsql STABLE
AS $body$
BEGIN
    -- A semicolon inside the body does not end the statement.
    RETURN coalesce(u.name, '') || coalesce(' <' || u.email || '>', '');
END;
$body$;
