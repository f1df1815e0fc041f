//! A user's own page (their API tokens) and the instance's admin page
//! (users and everyone's tokens), as the pages show them.

use serde::{Deserialize, Serialize};

use super::{Member, Project, Quota, QuotaOverrides};

/// Whether a token is still accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenState {
    Active,
    Revoked,
    Expired,
}

impl TokenState {
    /// The state in words.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

/// What is known of an API token: never the token, only its prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub prefix: String,
    /// Whose it is.
    pub user: String,
    pub label: Option<String>,
    /// It may only read.
    pub read_only: bool,
    /// The one project it is limited to.
    pub project: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    pub state: TokenState,
}

/// The signed-in user's account page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPage {
    pub name: String,
    /// An admin of the instance.
    pub admin: bool,
    /// Their tokens, newest first.
    pub tokens: Vec<TokenView>,
    /// The projects a token may be limited to.
    pub projects: Vec<Project>,
    /// A token just made by a form posted without JavaScript, shown once.
    pub created: Option<CreatedToken>,
}

/// A token just created: the only time it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: String,
    pub prefix: String,
}

/// A user as the admin page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub name: String,
    pub created_at: String,
    pub admin: bool,
    /// Since when, if disabled.
    pub disabled_at: Option<String>,
    /// Tokens neither revoked nor expired.
    pub live_tokens: i64,
    /// Their own limits (`None`: the server's default).
    pub quota: QuotaOverrides,
}

/// The instance's admin page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminPage {
    pub users: Vec<UserView>,
    /// Everyone's tokens, newest first.
    pub tokens: Vec<TokenView>,
    /// The limits of those without their own.
    pub default_quota: Quota,
    /// Every project, with its own limits.
    pub projects: Vec<(String, QuotaOverrides)>,
}

/// Reads one of the quota form's limits: empty is the server's default,
/// else a whole number from 0 to 1,000,000,000.
pub fn parse_limit(value: &str) -> Result<Option<u64>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<u64>() {
        Ok(n) if n <= 1_000_000_000 => Ok(Some(n)),
        _ => Err("give a whole number from 0 to 1000000000, or leave it empty for the default".to_owned()),
    }
}

/// A project's page: the project, with the reader's role, and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectDetail {
    pub project: Project,
    pub members: Vec<Member>,
}

/// How long a token made on the account page lives: the choices offered.
pub const TOKEN_LIFETIMES_DAYS: [u32; 4] = [7, 30, 90, 365];

/// Reads the account page's lifetime field: empty is "never expires", else
/// a number of days from 1 to 3650 (as `atelier token create
/// --expires-in-days`).
pub fn parse_lifetime_days(value: &str) -> Result<Option<u32>, String> {
    let value = value.trim();
    if value.is_empty() || value == "never" {
        return Ok(None);
    }
    match value.parse::<u32>() {
        Ok(days) if (1..=3650).contains(&days) => Ok(Some(days)),
        _ => Err("choose how long the token lives: 1 to 3650 days, or never".to_owned()),
    }
}

/// Reads the account page's label field: optional, at most 100 characters,
/// no control characters.
pub fn parse_label(value: &str) -> Result<Option<String>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > 100 {
        return Err("a label is at most 100 characters".to_owned());
    }
    if value.chars().any(char::is_control) {
        return Err("a label cannot hold control characters".to_owned());
    }
    Ok(Some(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime_days(""), Ok(None));
        assert_eq!(parse_lifetime_days("never"), Ok(None));
        assert_eq!(parse_lifetime_days(" 30 "), Ok(Some(30)));
        assert!(parse_lifetime_days("0").is_err());
        assert!(parse_lifetime_days("3651").is_err());
        assert!(parse_lifetime_days("-1").is_err());
        assert!(parse_lifetime_days("soon").is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit(" "), Ok(None));
        assert_eq!(parse_limit("0"), Ok(Some(0)));
        assert_eq!(parse_limit(" 64 "), Ok(Some(64)));
        assert!(parse_limit("-1").is_err());
        assert!(parse_limit("1.5").is_err());
        assert!(parse_limit("1000000001").is_err());
    }

    #[test]
    fn labels() {
        assert_eq!(parse_label("  "), Ok(None));
        assert_eq!(parse_label(" laptop "), Ok(Some("laptop".to_owned())));
        assert!(parse_label(&"x".repeat(101)).is_err());
        assert!(parse_label("a\u{7}b").is_err());
    }
}
