//! The audit log's words: which changes are recorded, how each ended, and a
//! record as the API and the pages show it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::Action;

/// A change recorded in the audit log.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditAction {
    #[serde(rename = "workstation.create")]
    WorkstationCreate,
    #[serde(rename = "workstation.launch")]
    WorkstationLaunch,
    #[serde(rename = "workstation.stop")]
    WorkstationStop,
    #[serde(rename = "workstation.cancel")]
    WorkstationCancel,
    #[serde(rename = "workstation.retry")]
    WorkstationRetry,
    #[serde(rename = "workstation.reconfigure")]
    WorkstationReconfigure,
    #[serde(rename = "workstation.delete")]
    WorkstationDelete,
    #[serde(rename = "project.create")]
    ProjectCreate,
    #[serde(rename = "project.rename")]
    ProjectRename,
    #[serde(rename = "project.delete")]
    ProjectDelete,
    #[serde(rename = "member.set")]
    MemberSet,
    #[serde(rename = "member.remove")]
    MemberRemove,
    #[serde(rename = "user.create")]
    UserCreate,
    #[serde(rename = "user.disable")]
    UserDisable,
    #[serde(rename = "user.enable")]
    UserEnable,
    #[serde(rename = "token.create")]
    TokenCreate,
    #[serde(rename = "token.revoke")]
    TokenRevoke,
    #[serde(rename = "quota.set")]
    QuotaSet,
    #[serde(rename = "session.sign_in")]
    SignIn,
    #[serde(rename = "session.sign_out")]
    SignOut,
}

impl AuditAction {
    /// Every action, in the order the API documents them.
    pub const ALL: [AuditAction; 20] = [
        Self::WorkstationCreate,
        Self::WorkstationLaunch,
        Self::WorkstationStop,
        Self::WorkstationCancel,
        Self::WorkstationRetry,
        Self::WorkstationReconfigure,
        Self::WorkstationDelete,
        Self::ProjectCreate,
        Self::ProjectRename,
        Self::ProjectDelete,
        Self::MemberSet,
        Self::MemberRemove,
        Self::UserCreate,
        Self::UserDisable,
        Self::UserEnable,
        Self::TokenCreate,
        Self::TokenRevoke,
        Self::QuotaSet,
        Self::SignIn,
        Self::SignOut,
    ];

    /// The action as stored and as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorkstationCreate => "workstation.create",
            Self::WorkstationLaunch => "workstation.launch",
            Self::WorkstationStop => "workstation.stop",
            Self::WorkstationCancel => "workstation.cancel",
            Self::WorkstationRetry => "workstation.retry",
            Self::WorkstationReconfigure => "workstation.reconfigure",
            Self::WorkstationDelete => "workstation.delete",
            Self::ProjectCreate => "project.create",
            Self::ProjectRename => "project.rename",
            Self::ProjectDelete => "project.delete",
            Self::MemberSet => "member.set",
            Self::MemberRemove => "member.remove",
            Self::UserCreate => "user.create",
            Self::UserDisable => "user.disable",
            Self::UserEnable => "user.enable",
            Self::TokenCreate => "token.create",
            Self::TokenRevoke => "token.revoke",
            Self::QuotaSet => "quota.set",
            Self::SignIn => "session.sign_in",
            Self::SignOut => "session.sign_out",
        }
    }

    /// The record of a workstation action (`delete` included).
    pub fn of_action(action: Action) -> Self {
        match action {
            Action::Launch => Self::WorkstationLaunch,
            Action::Stop => Self::WorkstationStop,
            Action::Cancel => Self::WorkstationCancel,
            Action::Retry => Self::WorkstationRetry,
            Action::Delete => Self::WorkstationDelete,
            Action::Reconfigure => Self::WorkstationReconfigure,
        }
    }

    /// The kind of object the action is done to.
    pub fn object_kind(self) -> &'static str {
        match self {
            Self::WorkstationCreate
            | Self::WorkstationLaunch
            | Self::WorkstationStop
            | Self::WorkstationCancel
            | Self::WorkstationRetry
            | Self::WorkstationReconfigure
            | Self::WorkstationDelete => "workstation",
            Self::ProjectCreate | Self::ProjectRename | Self::ProjectDelete => "project",
            Self::MemberSet
            | Self::MemberRemove
            | Self::UserCreate
            | Self::UserDisable
            | Self::UserEnable => "user",
            Self::TokenCreate | Self::TokenRevoke => "token",
            Self::QuotaSet => "account",
            Self::SignIn | Self::SignOut => "session",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| {
            let all: Vec<&str> = Self::ALL.iter().map(|a| a.as_str()).collect();
            format!("must be one of {}", all.join(", "))
        })
    }
}

/// How a recorded change ended.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done, or (for jobs) started.
    Succeeded,
    /// Not done, because of the request: invalid, not allowed, not found,
    /// in conflict, over quota.
    Refused,
    /// Not done, because of the service.
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Self::Succeeded, Self::Refused, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }

    /// The outcome an HTTP status tells.
    pub fn of_status(status: u16) -> Self {
        match status {
            s if s < 400 => Self::Succeeded,
            s if s < 500 => Self::Refused,
            _ => Self::Failed,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| "must be one of succeeded, refused, failed".to_owned())
    }
}

/// Who asked for a change.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditActor {
    /// The user's id, when one was identified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The user's name, when one was identified (a failed sign-in names none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What they used: `token atl_…` (its first characters), `session`,
    /// `cli` (an operator's command on the server) or `none`.
    pub credential: String,
}

/// What a change was done to.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditObject {
    /// `workstation`, `project`, `user`, `token`, `account` or `session`.
    pub kind: String,
    /// Its id (a workstation's `ws-…`, a project's number, a user's name, a token's prefix).
    pub id: String,
}

/// One record of the audit log.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub id: i64,
    /// When it was recorded (RFC 3339, UTC).
    pub at: String,
    pub actor: AuditActor,
    pub action: AuditAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<AuditObject>,
    /// The project whose object it is, when it is a project's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<i64>,
    /// The client's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The request's `X-Request-Id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub outcome: Outcome,
    /// The HTTP status it was answered with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it was refused or failed, or what changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The audit page's filters, as they appear in its URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub outcome: String,
    /// A user's name.
    #[serde(default)]
    pub actor: String,
    /// A project's name or id.
    #[serde(default)]
    pub project: String,
    /// Page token.
    #[serde(default)]
    pub page: String,
}

/// What the audit page shows: a page of records, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogPage {
    pub records: Vec<AuditRecord>,
    pub next_page_token: Option<String>,
    /// Whether the reader sees everyone's records (an admin of the instance).
    pub everyone: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_back_as_they_are_spelled() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(action));
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
        }
        assert!("workstation.explode".parse::<AuditAction>().unwrap_err().contains("workstation.create"));
    }

    #[test]
    fn statuses_tell_outcomes() {
        assert_eq!(Outcome::of_status(201), Outcome::Succeeded);
        assert_eq!(Outcome::of_status(202), Outcome::Succeeded);
        assert_eq!(Outcome::of_status(403), Outcome::Refused);
        assert_eq!(Outcome::of_status(409), Outcome::Refused);
        assert_eq!(Outcome::of_status(503), Outcome::Failed);
    }
}
