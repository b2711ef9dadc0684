ALTER TABLE accounts ADD COLUMN display_name text;
CREATE INDEX accounts_display_name_idx ON accounts (display_name);
