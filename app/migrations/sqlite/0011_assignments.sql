-- Where a workstation of the container provisioner lives: the engine (host)
-- holding its container and home volume, and the GPU device it was given.
-- A workstation keeps its host for life (its volume is there); its device is
-- taken back by another workstation only once it holds no capacity (error).
-- Two workstations never hold the same device of one host.
CREATE TABLE assignments (
    workstation_id TEXT PRIMARY KEY REFERENCES workstations(id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    gpu TEXT NOT NULL,
    device TEXT
);
CREATE UNIQUE INDEX assignments_device ON assignments (host, gpu, device) WHERE device IS NOT NULL;
CREATE INDEX assignments_host ON assignments (host);
