//! Who may do what: projects' roles and what each one allows. The one place
//! the REST API, the pages and the CLI ask.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::Action;

/// A member's role in a project, each allowing what the one before does and more.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the project's workstations, follows their events and history.
    Viewer,
    /// Also creates, launches, stops and opens terminals on any of them.
    Member,
    /// Also reconfigures and deletes them, renames the project, manages members.
    Admin,
    /// Also deletes the project and makes or unmakes owners.
    Owner,
}

impl Role {
    /// Every role, weakest first.
    pub const ALL: [Role; 4] = [Self::Viewer, Self::Member, Self::Admin, Self::Owner];

    /// The role as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    /// Whether this role may do `what`.
    pub fn allows(self, what: Permission) -> bool {
        self >= what.role_needed()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| "must be one of viewer, member, admin, owner".to_owned())
    }
}

/// Something a request does to a workstation or a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See a workstation or the project: details, lists, events, history, usage, quota, members.
    Read,
    /// Create a workstation in the project.
    Create,
    /// Launch, stop, cancel or retry; open a terminal; record activity.
    Operate,
    /// Change a workstation's configuration or auto-stop.
    Reconfigure,
    /// Delete a workstation.
    Delete,
    /// Rename the project; add, change and remove members below owner.
    Manage,
    /// Delete the project; make, change or remove owners.
    Own,
}

impl Permission {
    /// The weakest role allowed to do it.
    pub fn role_needed(self) -> Role {
        match self {
            Self::Read => Role::Viewer,
            Self::Create | Self::Operate => Role::Member,
            Self::Reconfigure | Self::Delete | Self::Manage => Role::Admin,
            Self::Own => Role::Owner,
        }
    }

    /// What a workstation action asks for.
    pub fn of_action(action: Action) -> Self {
        match action {
            Action::Launch | Action::Stop | Action::Cancel | Action::Retry => Self::Operate,
            Action::Reconfigure => Self::Reconfigure,
            Action::Delete => Self::Delete,
        }
    }

    /// The words for it in a refusal: "… needs the admin role to {verb}".
    pub fn verb(self) -> &'static str {
        match self {
            Self::Read => "see it",
            Self::Create => "create workstations in it",
            Self::Operate => "launch, stop or use its workstations",
            Self::Reconfigure => "reconfigure its workstations",
            Self::Delete => "delete its workstations",
            Self::Manage => "rename it or manage its members",
            Self::Own => "delete it or change its owners",
        }
    }
}

/// Whether an account is a person's or a project's.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerKind {
    User,
    Project,
}

impl OwnerKind {
    /// The kind as stored and as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Project => "project",
        }
    }

    /// Reads a stored kind.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "project" => Some(Self::Project),
            _ => None,
        }
    }
}

/// Whom a workstation belongs to: a user account or a project.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    pub kind: OwnerKind,
    pub id: i64,
    pub name: String,
}

/// A validated project name: 1–63 letters, digits, `-` or `_`, starting
/// with a letter (so that a reference of digits only is always an id).
/// Projects and users share one namespace, as organizations and users do on
/// most forges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ProjectName(String);

impl ProjectName {
    /// Checks a name.
    pub fn parse(s: &str) -> Result<Self, String> {
        super::WorkstationName::parse(s)?;
        if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err("must start with a letter".into());
        }
        Ok(Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How a request names a project: its id, or its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRef {
    Id(i64),
    Name(String),
}

impl ProjectRef {
    /// Digits are an id (no project name starts with one); anything else a name.
    pub fn parse(s: &str) -> Self {
        let s = s.trim();
        match s.parse::<i64>() {
            Ok(id) if s.bytes().all(|b| b.is_ascii_digit()) => Self::Id(id),
            _ => Self::Name(s.to_owned()),
        }
    }
}

impl fmt::Display for ProjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

/// A project as the API shows it, with the caller's role in it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: i64,
    pub name: String,
    /// The caller's role.
    pub role: Role,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// A member of a project.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The user's name.
    pub user: String,
    pub role: Role,
    /// RFC 3339, UTC.
    pub added_at: String,
}

/// Why a change to a project's members is refused, whatever the caller's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipRule {
    /// It would leave the project without an owner.
    LastOwner,
}

/// What a change of `target`'s role from `current` to `next` (`None`: not a
/// member, or removed) asks of the one changing it: managing members, and
/// owning the project where an owner is made, changed or removed. Leaving
/// oneself needs nothing.
pub fn membership_change_needs(
    current: Option<Role>,
    next: Option<Role>,
    oneself: bool,
) -> Option<Permission> {
    if oneself && next.is_none() {
        return None;
    }
    if current == Some(Role::Owner) || next == Some(Role::Owner) {
        return Some(Permission::Own);
    }
    Some(Permission::Manage)
}

/// Whether a change keeps an owner: `owners` is how many there are now.
pub fn check_owners_left(
    current: Option<Role>,
    next: Option<Role>,
    owners: i64,
) -> Result<(), MembershipRule> {
    if current == Some(Role::Owner) && next != Some(Role::Owner) && owners <= 1 {
        return Err(MembershipRule::LastOwner);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table the README gives, row by row.
    #[test]
    fn each_role_allows_what_the_table_says() {
        use Permission::*;
        let table = [
            (Role::Viewer, [true, false, false, false, false, false, false]),
            (Role::Member, [true, true, true, false, false, false, false]),
            (Role::Admin, [true, true, true, true, true, true, false]),
            (Role::Owner, [true, true, true, true, true, true, true]),
        ];
        for (role, allowed) in table {
            for (what, expect) in
                [Read, Create, Operate, Reconfigure, Delete, Manage, Own].into_iter().zip(allowed)
            {
                assert_eq!(role.allows(what), expect, "{role} {what:?}");
            }
        }
    }

    #[test]
    fn actions_map_to_permissions() {
        assert_eq!(Permission::of_action(Action::Launch), Permission::Operate);
        assert_eq!(Permission::of_action(Action::Cancel), Permission::Operate);
        assert_eq!(Permission::of_action(Action::Reconfigure), Permission::Reconfigure);
        assert_eq!(Permission::of_action(Action::Delete), Permission::Delete);
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(r.as_str()));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn project_names_and_references() {
        assert!(ProjectName::parse("ml-team").is_ok());
        assert!(ProjectName::parse("7up").is_err());
        assert!(ProjectName::parse("").is_err());
        assert!(ProjectName::parse("a b").is_err());
        assert_eq!(ProjectRef::parse("42"), ProjectRef::Id(42));
        assert_eq!(ProjectRef::parse("ml-team"), ProjectRef::Name("ml-team".into()));
        assert_eq!(ProjectRef::parse("+4"), ProjectRef::Name("+4".into()));
        assert_eq!(
            ProjectRef::parse("99999999999999999999"),
            ProjectRef::Name("99999999999999999999".into())
        );
    }

    #[test]
    fn owners_are_made_by_owners_and_one_always_stays() {
        use Role::*;
        assert_eq!(membership_change_needs(None, Some(Member), false), Some(Permission::Manage));
        assert_eq!(membership_change_needs(Some(Member), Some(Owner), false), Some(Permission::Own));
        assert_eq!(membership_change_needs(Some(Owner), Some(Admin), false), Some(Permission::Own));
        assert_eq!(membership_change_needs(Some(Owner), None, false), Some(Permission::Own));
        assert_eq!(membership_change_needs(Some(Viewer), None, true), None);
        assert_eq!(membership_change_needs(Some(Member), None, false), Some(Permission::Manage));
        assert_eq!(check_owners_left(Some(Owner), None, 1), Err(MembershipRule::LastOwner));
        assert_eq!(check_owners_left(Some(Owner), Some(Admin), 1), Err(MembershipRule::LastOwner));
        assert_eq!(check_owners_left(Some(Owner), None, 2), Ok(()));
        assert_eq!(check_owners_left(Some(Admin), None, 1), Ok(()));
    }
}
