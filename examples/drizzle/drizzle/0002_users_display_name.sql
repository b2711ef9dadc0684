-- Custom SQL migration file (`drizzle-kit generate --custom`)
CREATE FUNCTION "users_display_name"(u "users") RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	RETURN u."name" || coalesce(' <' || u."email" || '>', '');
END;
$$;
--> statement-breakpoint
COMMENT ON FUNCTION "users_display_name"("users") IS 'name <email>';
