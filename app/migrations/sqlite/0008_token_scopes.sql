-- API tokens: a scope (`full`, or `read` for tokens that may only read) and
-- an optional expiry.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'full' CHECK (scope IN ('full', 'read'));
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
