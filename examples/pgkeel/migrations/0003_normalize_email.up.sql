CREATE FUNCTION normalize_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.email := lower(NEW.email);
    RETURN NEW;
END;
$$;
CREATE TRIGGER accounts_normalize_email BEFORE INSERT OR UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION normalize_email();
