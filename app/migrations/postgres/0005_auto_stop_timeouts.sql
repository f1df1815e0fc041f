-- Each workstation's own auto-stop timeouts (seconds; 0 is never), given at
-- its create or by PATCH. A workstation made before this migration has none
-- until the server starts and gives it the defaults of its flags.
ALTER TABLE workstations ADD COLUMN auto_stop_idle_secs BIGINT;
ALTER TABLE workstations ADD COLUMN auto_stop_running_secs BIGINT;
