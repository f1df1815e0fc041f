-- What workstations hold, kept as running totals so the quota and capacity
-- checks of every create read one row instead of summing every workstation.
-- Triggers keep them in the same transaction as the change; a workstation in
-- `error` holds nothing.

CREATE TABLE owner_usage (
    owner_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    cpu_cores   INTEGER NOT NULL DEFAULT 0,
    memory_gb   INTEGER NOT NULL DEFAULT 0,
    gpus        INTEGER NOT NULL DEFAULT 0,
    storage_gb  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE placement_usage (
    region  TEXT NOT NULL,
    gpu     TEXT NOT NULL,
    count   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (region, gpu)
) WITHOUT ROWID;

INSERT INTO owner_usage (owner_id, cpu_cores, memory_gb, gpus, storage_gb)
    SELECT owner_id, SUM(cpu_cores), SUM(memory_gb), COUNT(*), SUM(storage_gb)
    FROM workstations WHERE status != 'error' GROUP BY owner_id;

INSERT INTO placement_usage (region, gpu, count)
    SELECT region, gpu, COUNT(*) FROM workstations WHERE status != 'error' GROUP BY region, gpu;

CREATE TRIGGER workstations_usage_insert AFTER INSERT ON workstations
WHEN NEW.status != 'error'
BEGIN
    INSERT INTO owner_usage (owner_id, cpu_cores, memory_gb, gpus, storage_gb)
        VALUES (NEW.owner_id, NEW.cpu_cores, NEW.memory_gb, 1, NEW.storage_gb)
        ON CONFLICT (owner_id) DO UPDATE SET
            cpu_cores = cpu_cores + excluded.cpu_cores,
            memory_gb = memory_gb + excluded.memory_gb,
            gpus = gpus + 1,
            storage_gb = storage_gb + excluded.storage_gb;
    INSERT INTO placement_usage (region, gpu, count) VALUES (NEW.region, NEW.gpu, 1)
        ON CONFLICT (region, gpu) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER workstations_usage_delete AFTER DELETE ON workstations
WHEN OLD.status != 'error'
BEGIN
    UPDATE owner_usage SET
        cpu_cores = cpu_cores - OLD.cpu_cores,
        memory_gb = memory_gb - OLD.memory_gb,
        gpus = gpus - 1,
        storage_gb = storage_gb - OLD.storage_gb
    WHERE owner_id = OLD.owner_id;
    UPDATE placement_usage SET count = count - 1 WHERE region = OLD.region AND gpu = OLD.gpu;
END;

CREATE TRIGGER workstations_usage_update
AFTER UPDATE OF owner_id, status, cpu_cores, memory_gb, gpu, storage_gb, region ON workstations
BEGIN
    -- Take out what the old row held ...
    UPDATE owner_usage SET
        cpu_cores = cpu_cores - OLD.cpu_cores,
        memory_gb = memory_gb - OLD.memory_gb,
        gpus = gpus - 1,
        storage_gb = storage_gb - OLD.storage_gb
    WHERE owner_id = OLD.owner_id AND OLD.status != 'error';
    UPDATE placement_usage SET count = count - 1
    WHERE region = OLD.region AND gpu = OLD.gpu AND OLD.status != 'error';
    -- ... and put in what the new one holds.
    INSERT INTO owner_usage (owner_id, cpu_cores, memory_gb, gpus, storage_gb)
        SELECT NEW.owner_id, NEW.cpu_cores, NEW.memory_gb, 1, NEW.storage_gb WHERE NEW.status != 'error'
        ON CONFLICT (owner_id) DO UPDATE SET
            cpu_cores = cpu_cores + excluded.cpu_cores,
            memory_gb = memory_gb + excluded.memory_gb,
            gpus = gpus + 1,
            storage_gb = storage_gb + excluded.storage_gb;
    INSERT INTO placement_usage (region, gpu, count)
        SELECT NEW.region, NEW.gpu, 1 WHERE NEW.status != 'error'
        ON CONFLICT (region, gpu) DO UPDATE SET count = count + 1;
END;
