//! Admission: the one ordered set of checks a request passes before it may
//! hold a place and quota. Every way in uses it — a create (the group-commit
//! writer), `validateOnly`, a launch applying a recorded configuration, a
//! retry and a reconfiguration — so the same request gets the same answer
//! everywhere. The order, also stated in the API document:
//!
//! 1. **name** — the owner has no other workstation of that name (409 on `#/name`);
//! 2. **quota** — what the owner's workstations would hold stays within
//!    their limits (403, naming the limit);
//! 3. **capacity** — the region has a free place for the GPU type (409, with
//!    where else there is room).
//!
//! The caller's own mistakes come before what depends on everyone else: a
//! name or a quota the caller can fix is named even when the region is full.

use super::store::{self, Tx};
use super::{quota, workstations, Error, QuotaExcess};
use crate::domain::{pointer, CapacityEntry, Catalog, Configuration, FieldError, Quota};

/// What a request asks to hold.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// A new workstation's name (creates only).
    pub name: Option<&'a str>,
    /// What it would hold after the request…
    pub adds: Quota,
    /// …instead of what it holds now.
    pub removes: Quota,
    /// A place it would newly take: `(region, gpu)`.
    pub place: Option<(&'a str, &'a str)>,
}

impl<'a> Ask<'a> {
    /// A new workstation named `name` with `configuration`.
    pub fn create(name: &'a str, configuration: &'a Configuration) -> Self {
        Self {
            name: Some(name),
            adds: Quota::of(configuration),
            removes: Quota::default(),
            place: Some((&configuration.region, &configuration.gpu)),
        }
    }

    /// A workstation holding `now` (nothing when `now` is `None`: it holds
    /// nothing, as in `error`) that would hold `next`.
    pub fn change(now: Option<&Configuration>, next: &'a Configuration) -> Self {
        let moves = now.is_none_or(|c| c.region != next.region || c.gpu != next.gpu);
        Self {
            name: None,
            adds: Quota::of(next),
            removes: now.map(Quota::of).unwrap_or_default(),
            place: moves.then_some((next.region.as_str(), next.gpu.as_str())),
        }
    }
}

/// What the checks read: the owner's limits and holdings, whether the name
/// is taken, and how full the place is.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub name_taken: bool,
    pub limits: Quota,
    pub held: Quota,
    /// Workstations holding the place asked for, and its capacity.
    pub placed: i64,
    pub capacity: u32,
}

/// The first check a request fails, in the module's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NameTaken,
    OverQuota(Box<QuotaExcess>),
    Full,
}

impl Refusal {
    /// The answer: a full place names where `entries` (the capacity grid)
    /// show room.
    pub fn into_error(self, ask: &Ask<'_>, catalog: &Catalog, entries: &[CapacityEntry]) -> Error {
        match self {
            Self::NameTaken => name_taken_error(ask.name.unwrap_or_default()),
            Self::OverQuota(excess) => Error::QuotaExceeded(excess),
            Self::Full => {
                let (region, gpu) = ask.place.unwrap_or_default();
                workstations::shortage_in(entries, catalog, region, gpu)
            }
        }
    }
}

/// The checks, in order, on what was read.
pub fn first_refusal(ask: &Ask<'_>, seen: &Seen) -> Option<Refusal> {
    if ask.name.is_some() && seen.name_taken {
        return Some(Refusal::NameTaken);
    }
    if let Some(excess) = quota::excess(&seen.limits, seen.held, ask.adds, ask.removes) {
        return Some(Refusal::OverQuota(Box::new(excess)));
    }
    if ask.place.is_some() && seen.placed >= i64::from(seen.capacity) {
        return Some(Refusal::Full);
    }
    None
}

/// The conflict of a name the owner already uses.
pub fn name_taken_error(name: &str) -> Error {
    Error::Conflict(FieldError::new(pointer::NAME, format!("you already have a workstation named {name:?}")))
}

/// Reads what `ask` needs through `tx` (which may be the write transaction
/// that then stores the request) and runs the checks in order.
pub async fn admit(
    tx: &mut Tx,
    catalog: &Catalog,
    default_quota: Quota,
    owner_id: i64,
    ask: &Ask<'_>,
) -> Result<(), Error> {
    let status = quota::read(tx, default_quota, owner_id).await?;
    let name_taken = match ask.name {
        Some(name) => !store::taken_names(tx, owner_id, &[name]).await?.is_empty(),
        None => false,
    };
    let (placed, capacity) = match ask.place {
        Some((region, gpu)) => {
            (store::placement_in_use(tx, region, gpu).await?, catalog.capacity_for(region, gpu))
        }
        None => (0, 0),
    };
    let seen = Seen { name_taken, limits: status.limits, held: status.used, placed, capacity };
    match first_refusal(ask, &seen) {
        None => Ok(()),
        Some(refusal) => {
            let entries = if refusal == Refusal::Full {
                workstations::capacity_of(tx, catalog).await?
            } else {
                Vec::new()
            };
            Err(refusal.into_error(ask, catalog, &entries))
        }
    }
}
