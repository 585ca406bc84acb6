-- Accounts and browser sessions on PostgreSQL: `crates/store/migrations/0003_accounts.sql`.

CREATE TABLE users (
    username      TEXT COLLATE "C"    NOT NULL PRIMARY KEY,
    display_name  TEXT COLLATE "C"    NOT NULL,
    role          TEXT COLLATE "C"    NOT NULL CHECK (role IN ('officer', 'supervisor', 'auditor', 'admin')),
    password_hash TEXT COLLATE "C"    NOT NULL,
    disabled      BOOLEAN NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

CREATE TABLE sessions (
    id_hash    BYTEA  NOT NULL PRIMARY KEY,
    username   TEXT COLLATE "C"   NOT NULL REFERENCES users (username),
    csrf       TEXT COLLATE "C"   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (username);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
