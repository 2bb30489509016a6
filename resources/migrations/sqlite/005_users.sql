-- Users of the API: each has a role (admin | user) and a token of which only the SHA-256 (hex)
-- is kept. Jobs name the user who submitted them; '' for jobs from before this version (only
-- admins act on those).
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_owner ON jobs(owner);
