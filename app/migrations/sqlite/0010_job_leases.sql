-- A running job is leased by the process running it, which renews the lease
-- while it works; a job whose lease ran out is taken over. SQLite has one
-- process, so at start it ends the leases of jobs a stopped process left.
-- `cancel_requested` asks the running job's holder to stop it.
ALTER TABLE jobs ADD COLUMN lease_holder TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_at TEXT;
ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
