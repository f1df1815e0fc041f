-- Provisioning: durable jobs, and every step as an event (the history).

ALTER TABLE workstations ADD COLUMN phase TEXT;
ALTER TABLE workstations ADD COLUMN progress INTEGER;
ALTER TABLE workstations ADD COLUMN status_reason TEXT;

CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    workstation_id  TEXT NOT NULL REFERENCES workstations(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL DEFAULT 'provision' CHECK (kind IN ('provision')),
    state           TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at      TEXT,
    finished_at     TEXT
);
CREATE INDEX jobs_state ON jobs(state, id);
CREATE INDEX jobs_workstation ON jobs(workstation_id);

-- No foreign key to workstations: the history outlives the workstation.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    workstation_id  TEXT NOT NULL,
    owner_id        INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('status', 'phase', 'log')),
    status          TEXT NOT NULL,
    phase           TEXT,
    progress        INTEGER,
    message         TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT events_workstation_seq UNIQUE (workstation_id, seq)
);
CREATE INDEX events_owner ON events(owner_id, id);

-- Workstations created before jobs existed get one, so none waits forever.
INSERT INTO jobs (workstation_id, state)
    SELECT id, 'queued' FROM workstations WHERE status = 'provisioning';
INSERT INTO events (workstation_id, owner_id, seq, kind, status, message)
    SELECT id, owner_id, 1, 'status', 'provisioning', 'Queued for provisioning'
    FROM workstations WHERE status = 'provisioning';
