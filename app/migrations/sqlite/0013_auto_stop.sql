-- Auto-stop: when a running workstation last saw activity (a terminal, its
-- keystrokes, or POST /v1/workstations/{id}/activity), the deadline it was
-- last warned about, and why a job was queued when something other than a
-- user asked for it (its end event says so).
ALTER TABLE workstations ADD COLUMN last_activity_at TEXT;
ALTER TABLE workstations ADD COLUMN auto_stop_warned_for TEXT;
ALTER TABLE jobs ADD COLUMN reason TEXT;
