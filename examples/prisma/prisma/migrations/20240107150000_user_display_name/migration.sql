-- A hand-written migration (`prisma migrate dev --create-only`): a function Prisma's schema cannot express.
CREATE FUNCTION "user_display_name"(u "User") RETURNS TEXT
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN u."name" || coalesce(' <' || u."email" || '>', '');
END;
$$;
