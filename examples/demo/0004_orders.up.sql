-- The "pull request" of the demo: one safe change, one hazard, one breaking change.
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    total numeric(12, 2) NOT NULL
);
CREATE INDEX accounts_created_at ON accounts (created_at);
ALTER TABLE accounts DROP COLUMN display_name;
