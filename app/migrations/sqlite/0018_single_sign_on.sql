-- Sign-ins begun with the OpenID provider and not yet finished. Each is
-- found by a hash of its `state`, taken once (deleted as it is read), and
-- only by the browser that began it (a hash of that browser's cookie).
CREATE TABLE oidc_logins (
    state_hash     TEXT PRIMARY KEY,
    browser_hash   TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    expires_at     TEXT NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins(expires_at);

-- Which user an identity of the provider (its issuer and subject) is.
CREATE TABLE oidc_identities (
    issuer      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_identities_user ON oidc_identities(user_id);
