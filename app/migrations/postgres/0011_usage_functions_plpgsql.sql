-- The usage intervals' helpers as PL/pgSQL: an SQL function's statement is
-- planned again at every call (a third of a millisecond for each workstation
-- created), a PL/pgSQL function's plans are kept for the session.
CREATE OR REPLACE FUNCTION atelier_usage_open(w workstations, k text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_intervals (workstation_id, owner_id, name, kind, cpu_cores, memory_gb, gpu, storage_gb, region, started_at)
        VALUES (w.id, w.owner_id, w.name, k, w.cpu_cores, w.memory_gb, w.gpu, w.storage_gb, w.region, atelier_ts(clock_timestamp()));
END
$$;

CREATE OR REPLACE FUNCTION atelier_usage_close(workstation text, k text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE usage_intervals SET ended_at = atelier_ts(clock_timestamp())
    WHERE workstation_id = workstation AND (k IS NULL OR kind = k) AND ended_at IS NULL;
END
$$;
