//! The `oidc_logins` and `oidc_identities` tables: single sign-on with an
//! OpenID provider.

use sqlx::FromRow;

use super::users::User;
use super::{is_unique_violation, Db};
use crate::backend::Error;
use crate::on_pool;

/// A sign-in begun with the provider, as stored (secrets only as hashes,
/// but for what the token request needs back).
#[derive(Debug, Clone, Copy)]
pub struct NewOidcLogin<'a> {
    pub state_hash: &'a str,
    pub browser_hash: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub ttl_secs: i64,
}

/// A sign-in taken back at the callback.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct OidcLogin {
    pub browser_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Past its time now.
    pub expired: bool,
}

/// Stores a sign-in begun now (and forgets those past their time).
pub async fn insert_oidc_login(db: &Db, login: NewOidcLogin<'_>) -> Result<(), Error> {
    on_pool!(db, |pool, d| sqlx::query(&format!(
        "DELETE FROM oidc_logins WHERE expires_at <= {now}",
        now = d.now
    ))
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    on_pool!(db, |pool, d| sqlx::query(&format!(
        "INSERT INTO oidc_logins (state_hash, browser_hash, nonce, pkce_verifier, expires_at)
         VALUES ($1, $2, $3, $4, {expiry})",
        expiry = d.now_plus("$5")
    ))
    .bind(login.state_hash)
    .bind(login.browser_hash)
    .bind(login.nonce)
    .bind(login.pkce_verifier)
    .bind(login.ttl_secs)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Takes the sign-in with this state: it is deleted as it is read, so a
/// second callback with the same state finds nothing.
pub async fn take_oidc_login(db: &Db, state_hash: &str) -> Result<Option<OidcLogin>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, OidcLogin>(&format!(
        "DELETE FROM oidc_logins WHERE state_hash = $1
         RETURNING browser_hash, nonce, pkce_verifier, expires_at <= {now} AS expired",
        now = d.now
    ))
    .bind(state_hash)
    .fetch_optional(pool)
    .await)?)
}

/// The user an identity of the provider signs in as, and whether they are disabled.
pub async fn identity_user(db: &Db, issuer: &str, subject: &str) -> Result<Option<(User, bool)>, Error> {
    let row = on_pool!(db, |pool, d| {
        sqlx::query_as::<_, (i64, String, bool)>(
        "SELECT u.id, u.name, u.disabled_at IS NOT NULL FROM oidc_identities i JOIN users u ON u.id = i.user_id
         WHERE i.issuer = $1 AND i.subject = $2"
    )
    .bind(issuer)
    .bind(subject)
    .fetch_optional(pool)
    .await
    })?;
    Ok(row.map(|(id, name, disabled)| (User { id, name }, disabled)))
}

/// The user of this name with whether they are disabled and whether an
/// identity of the provider is theirs already.
pub async fn user_for_sign_on(
    db: &Db,
    issuer: &str,
    name: &str,
) -> Result<Option<(User, bool, bool)>, Error> {
    let row = on_pool!(db, |pool, d| sqlx::query_as::<_, (i64, String, bool, bool)>(
        "SELECT u.id, u.name, u.disabled_at IS NOT NULL,
                EXISTS (SELECT 1 FROM oidc_identities i WHERE i.user_id = u.id AND i.issuer = $2)
         FROM users u WHERE u.name = $1 AND u.kind = 'user'"
    )
    .bind(name)
    .bind(issuer)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|(id, name, disabled, linked)| (User { id, name }, disabled, linked)))
}

/// Records that an identity of the provider is this user; `false` when
/// the identity is already linked, or the user already is another identity
/// of this provider (a sign-in at the same moment linked first).
pub async fn link_identity(db: &Db, issuer: &str, subject: &str, user_id: i64) -> Result<bool, Error> {
    let linked = on_pool!(db, |pool, d| sqlx::query(
        "INSERT INTO oidc_identities (issuer, subject, user_id) VALUES ($1, $2, $3)"
    )
    .bind(issuer)
    .bind(subject)
    .bind(user_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()));
    match linked {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
