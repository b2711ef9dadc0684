DROP INDEX CONCURRENTLY IF EXISTS accounts_display_name;
ALTER TABLE accounts DROP COLUMN display_name;
