-- The instance's administrators: they read every audit record.
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1));

-- The audit log: one record for every change asked of the service, with who
-- asked, from where, and how it ended. Records outlive what they name (no
-- foreign keys): a deleted user's or workstation's history stays readable.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- Who: the user (none when nobody was identified, as in a failed sign-in
    -- or an operator's command) and the credential they used.
    actor_id     INTEGER,
    actor_name   TEXT,
    credential   TEXT NOT NULL,
    action       TEXT NOT NULL,
    object_kind  TEXT,
    object_id    TEXT,
    -- The account (a user's or a project's) whose object it is, for its
    -- user, or the project's admins, to read; the project's id again when
    -- it is a project's (an account's kind is gone with a deleted project).
    account_id   INTEGER,
    project_id   INTEGER,
    address      TEXT,
    request_id   TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('succeeded', 'refused', 'failed')),
    status       INTEGER,
    detail       TEXT
);
CREATE INDEX audit_log_actor ON audit_log(actor_id, id);
CREATE INDEX audit_log_account ON audit_log(account_id, id);
CREATE INDEX audit_log_at ON audit_log(at);
