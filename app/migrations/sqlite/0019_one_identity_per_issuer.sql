-- A user is at most one identity of each provider. Two first sign-ins at
-- once could each link a different identity to the same user; of any such
-- links, the first made stays (the others' next sign-in is refused as
-- name-taken).
DELETE FROM oidc_identities WHERE EXISTS (
    SELECT 1 FROM oidc_identities e
    WHERE e.user_id = oidc_identities.user_id AND e.issuer = oidc_identities.issuer
      AND (e.created_at < oidc_identities.created_at
           OR (e.created_at = oidc_identities.created_at AND e.subject < oidc_identities.subject))
);
-- Its first column is the user: it also serves the old index's lookups.
CREATE UNIQUE INDEX oidc_identities_user_issuer ON oidc_identities(user_id, issuer);
DROP INDEX oidc_identities_user;
