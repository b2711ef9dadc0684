DROP TRIGGER accounts_normalize_email ON accounts;
DROP FUNCTION normalize_email();
