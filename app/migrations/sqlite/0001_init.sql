-- Accounts, credentials and workstations.
-- Times are UTC text in RFC 3339 with milliseconds, so they sort as text.

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- API tokens are stored only as SHA-256 hashes; `prefix` is the first
-- characters of the token, kept to tell tokens apart in listings.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    label         TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
CREATE INDEX api_tokens_prefix ON api_tokens(prefix);

-- Browser sessions, also stored only as hashes of the cookie value.
CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    session_hash  TEXT NOT NULL UNIQUE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    expires_at    TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE workstations (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    owner_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    cpu_cores    INTEGER NOT NULL CHECK (cpu_cores > 0),
    memory_gb    INTEGER NOT NULL CHECK (memory_gb > 0),
    gpu          TEXT NOT NULL,
    storage_gb   INTEGER NOT NULL CHECK (storage_gb > 0),
    region       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('stopped', 'running', 'provisioning', 'error')),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT workstations_owner_name UNIQUE (owner_id, name)
);
CREATE INDEX workstations_owner_seq ON workstations(owner_id, seq DESC);
