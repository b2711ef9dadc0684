-- CONCURRENTLY cannot run inside a transaction: pgkeel sees that and runs this file without one.
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_created_at_idx ON users (created_at);
