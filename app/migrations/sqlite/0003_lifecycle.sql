-- Lifecycle: jobs of every kind, and a version per workstation for ETags.

ALTER TABLE workstations ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE jobs_next (
    id              INTEGER PRIMARY KEY,
    workstation_id  TEXT NOT NULL REFERENCES workstations(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL DEFAULT 'provision'
                    CHECK (kind IN ('provision', 'launch', 'stop', 'delete')),
    state           TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at      TEXT,
    finished_at     TEXT
);
INSERT INTO jobs_next (id, workstation_id, kind, state, attempts, error, created_at, started_at, finished_at)
    SELECT id, workstation_id, kind, state, attempts, error, created_at, started_at, finished_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_next RENAME TO jobs;
CREATE INDEX jobs_state ON jobs(state, id);
CREATE INDEX jobs_workstation ON jobs(workstation_id);
