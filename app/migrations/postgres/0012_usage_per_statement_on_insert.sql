-- New workstations update the running totals and open their storage
-- intervals once per statement instead of once per row: a batch of creates
-- is one INSERT, and per-row triggers updated the same two totals rows once
-- for every workstation in it. What is kept is unchanged: a workstation in
-- `error` holds nothing, every workstation counts one towards `gpus`, and
-- every new workstation opens a storage interval.
CREATE FUNCTION atelier_usage_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO owner_usage AS u (owner_id, cpu_cores, memory_gb, gpus, storage_gb)
        SELECT owner_id, CAST(SUM(cpu_cores) AS BIGINT), CAST(SUM(memory_gb) AS BIGINT),
               COUNT(*), CAST(SUM(storage_gb) AS BIGINT)
        FROM inserted WHERE status <> 'error' GROUP BY owner_id
        ON CONFLICT (owner_id) DO UPDATE SET
            cpu_cores = u.cpu_cores + excluded.cpu_cores,
            memory_gb = u.memory_gb + excluded.memory_gb,
            gpus = u.gpus + excluded.gpus,
            storage_gb = u.storage_gb + excluded.storage_gb;
    INSERT INTO placement_usage AS p (region, gpu, count)
        SELECT region, gpu, COUNT(*) FROM inserted WHERE status <> 'error' GROUP BY region, gpu
        ON CONFLICT (region, gpu) DO UPDATE SET count = p.count + excluded.count;
    INSERT INTO usage_intervals (workstation_id, owner_id, name, kind, cpu_cores, memory_gb, gpu, storage_gb, region, started_at)
        SELECT id, owner_id, name, 'storage', cpu_cores, memory_gb, gpu, storage_gb, region, atelier_ts(clock_timestamp())
        FROM inserted;
    RETURN NULL;
END
$$;

DROP TRIGGER workstations_usage_insert ON workstations;
DROP TRIGGER usage_storage_insert ON workstations;
CREATE TRIGGER workstations_inserted AFTER INSERT ON workstations
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION atelier_usage_inserted();
