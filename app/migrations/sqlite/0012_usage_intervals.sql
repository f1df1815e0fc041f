-- Usage: every stretch a workstation ran, with the configuration it held
-- then (`running`), and every stretch it kept its storage, from its creation
-- to its deletion, with its size then (`storage`). Triggers record them in
-- the transaction of the change; the rows stay after the workstation goes.
CREATE TABLE usage_intervals (
    id              INTEGER PRIMARY KEY,
    workstation_id  TEXT NOT NULL,
    owner_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('running', 'storage')),
    cpu_cores       INTEGER NOT NULL,
    memory_gb       INTEGER NOT NULL,
    gpu             TEXT NOT NULL,
    storage_gb      INTEGER NOT NULL,
    region          TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    ended_at        TEXT
);
CREATE INDEX usage_intervals_owner ON usage_intervals (owner_id, started_at);
CREATE INDEX usage_intervals_open ON usage_intervals (workstation_id) WHERE ended_at IS NULL;

-- What exists now: storage since creation, running since the last change.
INSERT INTO usage_intervals (workstation_id, owner_id, name, kind, cpu_cores, memory_gb, gpu, storage_gb, region, started_at)
    SELECT id, owner_id, name, 'storage', cpu_cores, memory_gb, gpu, storage_gb, region, created_at FROM workstations;
INSERT INTO usage_intervals (workstation_id, owner_id, name, kind, cpu_cores, memory_gb, gpu, storage_gb, region, started_at)
    SELECT id, owner_id, name, 'running', cpu_cores, memory_gb, gpu, storage_gb, region, updated_at
    FROM workstations WHERE status = 'running';

CREATE TRIGGER usage_storage_insert AFTER INSERT ON workstations
BEGIN
    INSERT INTO usage_intervals (workstation_id, owner_id, name, kind, cpu_cores, memory_gb, gpu, storage_gb, region, started_at)
        VALUES (NEW.id, NEW.owner_id, NEW.name, 'storage', NEW.cpu_cores, NEW.memory_gb, NEW.gpu, NEW.storage_gb,
                NEW.region, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;

CREATE TRIGGER usage_running_start AFTER UPDATE OF status ON workstations
WHEN NEW.status = 'running' AND OLD.status != 'running'
BEGIN
    INSERT INTO usage_intervals (workstation_id, owner_id, name, kind, cpu_cores, memory_gb, gpu, storage_gb, region, started_at)
        VALUES (NEW.id, NEW.owner_id, NEW.name, 'running', NEW.cpu_cores, NEW.memory_gb, NEW.gpu, NEW.storage_gb,
                NEW.region, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;

CREATE TRIGGER usage_running_end AFTER UPDATE OF status ON workstations
WHEN OLD.status = 'running' AND NEW.status != 'running'
BEGIN
    UPDATE usage_intervals SET ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE workstation_id = OLD.id AND kind = 'running' AND ended_at IS NULL;
END;

CREATE TRIGGER usage_storage_change AFTER UPDATE OF storage_gb ON workstations
WHEN NEW.storage_gb != OLD.storage_gb
BEGIN
    UPDATE usage_intervals SET ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE workstation_id = OLD.id AND kind = 'storage' AND ended_at IS NULL;
    INSERT INTO usage_intervals (workstation_id, owner_id, name, kind, cpu_cores, memory_gb, gpu, storage_gb, region, started_at)
        VALUES (NEW.id, NEW.owner_id, NEW.name, 'storage', NEW.cpu_cores, NEW.memory_gb, NEW.gpu, NEW.storage_gb,
                NEW.region, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;

CREATE TRIGGER usage_delete AFTER DELETE ON workstations
BEGIN
    UPDATE usage_intervals SET ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE workstation_id = OLD.id AND ended_at IS NULL;
END;
