//! Single sign-on's rules: the sign-ins begun with the OpenID provider and
//! not yet finished (taken once, by the browser that began them, within ten
//! minutes), and which user an identity of the provider signs in as. The
//! protocol itself (discovery, the code exchange, the ID token's checks) is
//! the edge's, `server/src/oidc.rs`.

use super::auth::hash_secret;
use super::store::{self, Db, User};
use super::Error;
use crate::domain::sso::SignOnError;

/// How long a sign-in begun may take to come back.
pub const LOGIN_TTL_SECS: i64 = 600;

/// What the callback needs back from the sign-in it finishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Records a sign-in begun with `state`, `nonce` and the PKCE verifier, for
/// the browser holding `browser_secret` (a cookie of its own).
pub async fn begin(
    db: &Db,
    state: &str,
    nonce: &str,
    pkce_verifier: &str,
    browser_secret: &str,
) -> Result<(), Error> {
    store::insert_oidc_login(
        db,
        store::NewOidcLogin {
            state_hash: &hash_secret(state),
            browser_hash: &hash_secret(browser_secret),
            nonce,
            pkce_verifier,
            ttl_secs: LOGIN_TTL_SECS,
        },
    )
    .await
}

/// Takes back the sign-in the callback's `state` names, if this browser
/// began it and in time; it cannot be taken twice.
pub async fn take(
    db: &Db,
    state: &str,
    browser_secret: Option<&str>,
) -> Result<Result<Pending, SignOnError>, Error> {
    let Some(login) = store::take_oidc_login(db, &hash_secret(state)).await? else {
        return Ok(Err(SignOnError::State));
    };
    if browser_secret.map(hash_secret).as_deref() != Some(login.browser_hash.as_str()) {
        return Ok(Err(SignOnError::State));
    }
    if login.expired {
        return Ok(Err(SignOnError::TooSlow));
    }
    Ok(Ok(Pending { nonce: login.nonce, pkce_verifier: login.pkce_verifier }))
}

/// Who the provider says signed in: its identity, and the user name it gives.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub name: &'a str,
}

/// The user an identity signs in as: the one it signed in as before; else
/// a new user of its name. An existing user of that name (made by an
/// operator, say) that no other identity of this provider has taken is
/// linked to it only when `vouched`: the name is the local part of an
/// email the provider verified, in a domain the server allows. Otherwise a
/// name someone can choose at the provider would take over that account.
/// Whether the user was made now.
pub async fn user_for(
    db: &Db,
    identity: Identity<'_>,
    vouched: bool,
) -> Result<Result<(User, bool), SignOnError>, Error> {
    let Identity { issuer, subject, name } = identity;
    if let Some((user, disabled)) = store::identity_user(db, issuer, subject).await? {
        return Ok(if disabled { Err(SignOnError::Disabled) } else { Ok((user, false)) });
    }
    if super::auth::check_user_name(name).is_err() {
        return Ok(Err(SignOnError::BadName));
    }
    let (user, created) = match store::user_for_sign_on(db, issuer, name).await? {
        Some((_, _, true)) => return Ok(Err(SignOnError::BadName)),
        Some((_, true, _)) => return Ok(Err(SignOnError::Disabled)),
        Some((_, false, false)) if !vouched => return Ok(Err(SignOnError::NameTaken)),
        Some((user, false, false)) => (user, false),
        None => match store::create_user(db, name).await {
            Ok(user) => (user, true),
            // A project has the name.
            Err(Error::Conflict(_)) => return Ok(Err(SignOnError::BadName)),
            Err(e) => return Err(e),
        },
    };
    if !store::link_identity(db, issuer, subject, user.id).await? {
        // Another sign-in linked first: this identity's own (it is that
        // user now), or another identity's to the same user.
        return Ok(match store::identity_user(db, issuer, subject).await? {
            Some((user, false)) => Ok((user, false)),
            Some((_, true)) => Err(SignOnError::Disabled),
            None => Err(SignOnError::NameTaken),
        });
    }
    Ok(Ok((user, created)))
}

/// The user name an ID token's claim gives: an email's part before `@`.
pub fn name_from_claim(claim: &str, value: &str) -> String {
    if claim == "email" {
        value.split('@').next().unwrap_or_default().to_owned()
    } else {
        value.to_owned()
    }
}

/// Whether the email's domain is one of `allowed` (any, when it is empty).
/// The provider must say it verified the email: without that claim an
/// address may be one the user typed in.
pub fn domain_allowed(email: Option<&str>, verified: Option<bool>, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(domain) = email.and_then(|e| e.rsplit_once('@')).map(|(_, d)| d) else { return false };
    verified == Some(true) && allowed.iter().any(|a| a.eq_ignore_ascii_case(domain))
}

/// Whether one of `groups` is `allowed` (any, when it is empty).
pub fn group_allowed(groups: &[String], allowed: &[String]) -> bool {
    allowed.is_empty() || groups.iter().any(|g| allowed.contains(g))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_domains_and_groups() {
        assert_eq!(name_from_claim("email", "ada@example.com"), "ada");
        assert_eq!(name_from_claim("preferred_username", "ada@x"), "ada@x");
        let allowed = vec!["example.com".to_owned()];
        assert!(domain_allowed(Some("a@Example.COM"), Some(true), &allowed));
        assert!(!domain_allowed(Some("a@example.com"), None, &allowed), "not said to be verified");
        assert!(!domain_allowed(Some("a@example.com"), Some(false), &allowed), "unverified");
        assert!(!domain_allowed(Some("a@evil.com"), Some(true), &allowed));
        assert!(!domain_allowed(None, None, &allowed));
        assert!(domain_allowed(None, None, &[]));
        let staff = vec!["staff".to_owned()];
        assert!(group_allowed(&["x".into(), "staff".into()], &staff));
        assert!(!group_allowed(&["contractors".into()], &staff));
        assert!(group_allowed(&[], &[]));
    }
}
