-- Per-user quota overrides; NULL means the server's default.
CREATE TABLE user_quotas (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    cpu_cores   INTEGER CHECK (cpu_cores >= 0),
    memory_gb   INTEGER CHECK (memory_gb >= 0),
    gpus        INTEGER CHECK (gpus >= 0),
    storage_gb  INTEGER CHECK (storage_gb >= 0)
);
