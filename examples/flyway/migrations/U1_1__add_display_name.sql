DROP INDEX accounts_display_name_idx;
ALTER TABLE accounts DROP COLUMN display_name;
