-- Accounts of the people who use a node (officers, supervisors, auditors, administrators) and
-- their browser sessions. A node is one authority: every account acts for it, and no account
-- of one node means anything on another.

-- `password_hash` is an argon2id PHC string (salt and parameters inside); the password itself
-- is never stored. `role` is one of the four roles the web layer's permission matrix knows.
CREATE TABLE users (
    username      TEXT    NOT NULL PRIMARY KEY,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('officer', 'supervisor', 'auditor', 'admin')),
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- A session is known by the SHA-256 of its cookie value, so that reading the database does not
-- give anyone a live session. `csrf` is the token every state-changing request of the session
-- must echo. Sessions end at `expires_at` (absolute: no write per request) or at logout.
CREATE TABLE sessions (
    id_hash    BLOB    NOT NULL PRIMARY KEY,
    username   TEXT    NOT NULL REFERENCES users (username),
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (username);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
