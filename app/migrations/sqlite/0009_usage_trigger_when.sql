-- The usage totals change only when what a workstation holds changes: its
-- owner, its resources, or whether it is in `error` (which holds nothing).
-- Every status event rewrites `status`, mostly to a value that holds the same;
-- those updates no longer touch the totals.

DROP TRIGGER workstations_usage_update;

CREATE TRIGGER workstations_usage_update
AFTER UPDATE OF owner_id, status, cpu_cores, memory_gb, gpu, storage_gb, region ON workstations
WHEN OLD.owner_id != NEW.owner_id
  OR (OLD.status = 'error') != (NEW.status = 'error')
  OR OLD.cpu_cores != NEW.cpu_cores
  OR OLD.memory_gb != NEW.memory_gb
  OR OLD.gpu != NEW.gpu
  OR OLD.storage_gb != NEW.storage_gb
  OR OLD.region != NEW.region
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
