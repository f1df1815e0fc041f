//! API tokens and browser sessions: random secrets handed out once and
//! stored only as SHA-256 hashes.

use crate::backend::store::Db;
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

use super::credentials::{self, Credentials};
use super::store::{self, User};
use super::Error;

/// Every API token starts with this, so leaked tokens are easy to spot.
pub const TOKEN_PREFIX: &str = "atl_";
/// How many leading characters of a token are kept to name it.
pub const SHOWN_PREFIX_LEN: usize = 12;
/// The browser session cookie.
pub const SESSION_COOKIE: &str = "atelier_session";

/// The hex SHA-256 of a secret. Tokens carry 190 bits of randomness, so a
/// fast hash is enough: there is nothing to brute-force.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The hex SHA-256 of any bytes.
pub fn hash_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A random secret of `len` letters and digits.
pub fn random_secret(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// A newly issued API token, shown to its owner once.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: String,
    pub prefix: String,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// Everything its user may do.
    #[default]
    Full,
    /// Only reads (`GET`, `HEAD`): lists, details, streams, history.
    Read,
}

impl Scope {
    /// The scope as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Read => "read",
        }
    }

    /// Reads a stored scope; anything unknown grants only reading.
    pub fn parse(s: &str) -> Self {
        if s == "full" {
            Self::Full
        } else {
            Self::Read
        }
    }
}

/// Who a request acts as: a user, and the one project its token is limited
/// to, if it is (then it acts there only). It reads as its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: User,
    /// The project (its account id) a token is limited to.
    pub project: Option<i64>,
}

impl From<User> for Principal {
    fn from(user: User) -> Self {
        Self { user, project: None }
    }
}

impl std::ops::Deref for Principal {
    type Target = User;

    fn deref(&self) -> &User {
        &self.user
    }
}

/// Issues a full, non-expiring token for `user`.
pub async fn issue_token(pool: &Db, user: &User, label: Option<&str>) -> Result<IssuedToken, Error> {
    issue_token_with(pool, user, label, Scope::Full, None).await
}

/// Issues a token for `user` with a scope, expiring after `expires_in` if given.
pub async fn issue_token_with(
    pool: &Db,
    user: &User,
    label: Option<&str>,
    scope: Scope,
    expires_in: Option<std::time::Duration>,
) -> Result<IssuedToken, Error> {
    issue_token_in(pool, user, label, scope, expires_in, None).await
}

/// Issues a token for `user`, limited to the project `project` (its
/// account id) if given: the caller has checked that the user is in it.
pub async fn issue_token_in(
    pool: &Db,
    user: &User,
    label: Option<&str>,
    scope: Scope,
    expires_in: Option<std::time::Duration>,
    project: Option<i64>,
) -> Result<IssuedToken, Error> {
    let token = format!("{TOKEN_PREFIX}{}", random_secret(32));
    let prefix = token[..SHOWN_PREFIX_LEN].to_owned();
    let expires_in_secs = expires_in.map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2));
    store::insert_token(
        pool,
        store::NewToken {
            user_id: user.id,
            token_hash: &hash_secret(&token),
            prefix: &prefix,
            label,
            scope: scope.as_str(),
            expires_in_secs,
            project_id: project,
        },
    )
    .await?;
    Ok(IssuedToken { token, prefix })
}

/// The user a presented token belongs to, if the token is well-formed, known,
/// not revoked and not expired.
pub async fn authenticate_token(pool: &Db, token: &str) -> Result<Option<User>, Error> {
    Ok(authenticate_token_scoped(pool, token).await?.map(|(principal, _)| principal.user))
}

/// The same, with what the token may do.
pub async fn authenticate_token_scoped(pool: &Db, token: &str) -> Result<Option<(Principal, Scope)>, Error> {
    accept_token(pool, None, token).await
}

/// The same, answered from what this server accepted within the last second
/// when it can (see [`super::credentials`]): what requests use.
pub async fn authenticate_token_remembered(
    pool: &Db,
    remembered: &Credentials,
    token: &str,
) -> Result<Option<(Principal, Scope)>, Error> {
    accept_token(pool, Some(remembered), token).await
}

async fn accept_token(
    pool: &Db,
    remembered: Option<&Credentials>,
    token: &str,
) -> Result<Option<(Principal, Scope)>, Error> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    let hash = hash_secret(token);
    if let Some(hit) = remembered.and_then(|r| r.token(&hash)) {
        return Ok(Some(hit));
    }
    let since = credentials::generation();
    let Some(owner) = store::user_for_token(pool, &hash).await? else {
        return Ok(None);
    };
    let accepted = (Principal { user: owner.user, project: owner.project_id }, Scope::parse(&owner.scope));
    if let (Some(remembered), true) = (remembered, owner.lasting) {
        remembered.remember_token(hash, accepted.clone(), since);
    }
    Ok(Some(accepted))
}

/// Whether `s` has the shape of one of our tokens (cheap check before any query).
pub fn looks_like_token(s: &str) -> bool {
    s.len() == TOKEN_PREFIX.len() + 32
        && s.starts_with(TOKEN_PREFIX)
        && s[TOKEN_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Revokes a token given in full, or by the prefix shown for it; returns how
/// many live tokens were revoked. `None` when the argument is neither.
pub async fn revoke_token(pool: &Db, token_or_prefix: &str) -> Result<Option<u64>, Error> {
    revoke_token_of(pool, None, token_or_prefix).await
}

/// The same, among one user's tokens only when `owner` is given.
pub async fn revoke_token_of(
    pool: &Db,
    owner: Option<&User>,
    token_or_prefix: &str,
) -> Result<Option<u64>, Error> {
    let arg = token_or_prefix.trim();
    let owner = owner.map(|u| u.id);
    if looks_like_token(arg) {
        return store::revoke_tokens(pool, Some(&hash_secret(arg)), None, owner).await.map(Some);
    }
    if arg.len() == SHOWN_PREFIX_LEN && arg.starts_with(TOKEN_PREFIX) {
        return store::revoke_tokens(pool, None, Some(arg), owner).await.map(Some);
    }
    Ok(None)
}

/// Starts a browser session for `user`; returns the cookie value.
pub async fn start_session(pool: &Db, user: &User, ttl: std::time::Duration) -> Result<String, Error> {
    let secret = random_secret(43);
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    store::insert_session(pool, &hash_secret(&secret), user.id, ttl).await?;
    Ok(secret)
}

/// The user of the session named by a cookie value.
pub async fn session_user(pool: &Db, cookie_value: &str) -> Result<Option<User>, Error> {
    accept_session(pool, None, cookie_value).await
}

/// The same, answered from what this server accepted within the last second
/// when it can (see [`super::credentials`]): what requests use.
pub async fn session_user_remembered(
    pool: &Db,
    remembered: &Credentials,
    cookie_value: &str,
) -> Result<Option<User>, Error> {
    accept_session(pool, Some(remembered), cookie_value).await
}

async fn accept_session(
    pool: &Db,
    remembered: Option<&Credentials>,
    cookie_value: &str,
) -> Result<Option<User>, Error> {
    if cookie_value.is_empty() || cookie_value.len() > 128 {
        return Ok(None);
    }
    let hash = hash_secret(cookie_value);
    if let Some(hit) = remembered.and_then(|r| r.session(&hash)) {
        return Ok(Some(hit));
    }
    let since = credentials::generation();
    let Some((user, lasting)) = store::user_for_session(pool, &hash).await? else {
        return Ok(None);
    };
    if let (Some(remembered), true) = (remembered, lasting) {
        remembered.remember_session(hash, user.clone(), since);
    }
    Ok(Some(user))
}

/// Ends the session named by a cookie value.
pub async fn end_session(pool: &Db, cookie_value: &str) -> Result<(), Error> {
    store::delete_session(pool, &hash_secret(cookie_value)).await
}

/// The value of cookie `name` in a `Cookie` request header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// A `Set-Cookie` value that stores the session.
pub fn session_cookie(value: &str, max_age_secs: u64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}

/// Checks a user name: the same rule as workstation names.
pub fn check_user_name(name: &str) -> Result<(), String> {
    crate::domain::WorkstationName::parse(name).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape() {
        let t = format!("{TOKEN_PREFIX}{}", random_secret(32));
        assert!(looks_like_token(&t));
        assert!(!looks_like_token("atl_short"));
        assert!(!looks_like_token(&t.replace("atl_", "xyz_")));
        assert!(!looks_like_token(&format!("{t}x")));
        assert!(!looks_like_token(&format!("{}!", &t[..t.len() - 1])));
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn cookies_are_found_among_others() {
        let h = "a=1; atelier_session=xyz; b=2";
        assert_eq!(cookie_value(h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie_value("atelier_session_x=1", SESSION_COOKIE), None);
        assert_eq!(cookie_value("", SESSION_COOKIE), None);
        let set = session_cookie("v", 60, true);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.ends_with("Secure"));
    }
}
