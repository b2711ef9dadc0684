ALTER TABLE accounts ADD COLUMN display_name text;
-- Built without blocking writes: this migration runs statement by statement.
CREATE INDEX CONCURRENTLY accounts_display_name ON accounts (display_name);
