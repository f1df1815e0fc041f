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

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

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

    /// What `owner_id` asking this needs read ([`store::held_before`]).
    pub fn asked(&self, owner_id: i64) -> store::Asked<'a> {
        (owner_id, self.name, self.place)
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

/// What the checks read for one request: the owner's limits and holdings,
/// whether the name is taken, and how full the place is.
#[derive(Debug, Clone, Copy)]
struct Seen {
    name_taken: bool,
    limits: Quota,
    held: Quota,
    /// Workstations holding the place asked for, and its capacity.
    placed: i64,
    capacity: u32,
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
fn first_refusal(ask: &Ask<'_>, seen: &Seen) -> Option<Refusal> {
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

/// Requests admitted one after another against what was held before the
/// first of them ([`store::held_before`], read for all of their asks) and
/// what each one admitted takes.
pub struct Ledger<'a> {
    held: &'a store::HeldBefore,
    catalog: &'a Catalog,
    default_quota: Quota,
    /// Per owner: limits and what is held so far.
    owners: HashMap<i64, (Quota, Quota)>,
    /// Per place: workstations holding it so far.
    placed: HashMap<(&'a str, &'a str), i64>,
    /// Names the requests admitted so far took.
    named: HashSet<(i64, &'a str)>,
}

impl<'a> Ledger<'a> {
    pub fn new(held: &'a store::HeldBefore, catalog: &'a Catalog, default_quota: Quota) -> Self {
        Self {
            held,
            catalog,
            default_quota,
            owners: HashMap::new(),
            placed: HashMap::new(),
            named: HashSet::new(),
        }
    }

    /// The first check `owner_id`'s `ask` fails; when it fails none, it
    /// takes what it asks for the requests after it.
    pub fn admit(&mut self, owner_id: i64, ask: &Ask<'a>) -> Result<Option<Refusal>, Error> {
        let (limits, used) = match self.owners.entry(owner_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                // Every owner asked for has its row in what was read.
                let Some((own, used)) = self.held.owners.get(&owner_id) else {
                    return Err(Error::Database(sqlx::Error::RowNotFound));
                };
                e.insert((own.over(self.default_quota), *used))
            }
        };
        let in_place = ask.place.map(|(region, gpu)| {
            self.placed.entry((region, gpu)).or_insert_with(|| self.held.placed(region, gpu))
        });
        let seen = Seen {
            name_taken: ask.name.is_some_and(|name| {
                self.named.contains(&(owner_id, name)) || self.held.is_taken(owner_id, name)
            }),
            limits: *limits,
            held: *used,
            placed: in_place.as_deref().copied().unwrap_or(0),
            capacity: ask.place.map_or(0, |(region, gpu)| self.catalog.capacity_for(region, gpu)),
        };
        let refusal = first_refusal(ask, &seen);
        if refusal.is_none() {
            *used = used.minus(ask.removes).plus(ask.adds);
            if let Some(in_place) = in_place {
                *in_place += 1;
            }
            if let Some(name) = ask.name {
                self.named.insert((owner_id, name));
            }
        }
        Ok(refusal)
    }
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
    let held = store::held_before(tx, &[ask.asked(owner_id)]).await?;
    match Ledger::new(&held, catalog, default_quota).admit(owner_id, ask)? {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::QuotaOverrides;

    fn configuration(cpu_cores: u32, region: &str, gpu: &str) -> Configuration {
        Configuration {
            cpu_cores,
            memory_gb: 16,
            gpu: gpu.to_owned(),
            storage_gb: 100,
            region: region.to_owned(),
        }
    }

    /// Owner 1 may hold 8 cores and already holds 4 in one workstation named
    /// "taken"; the place asked for holds all but one of its capacity.
    fn held(catalog: &Catalog, region: &str, gpu: &str) -> store::HeldBefore {
        let mut held = store::HeldBefore::default();
        let used = Quota { cpu_cores: 4, memory_gb: 16, gpus: 1, storage_gb: 100 };
        let own = QuotaOverrides { cpu_cores: Some(8), ..QuotaOverrides::default() };
        held.owners.insert(1, (own, used));
        held.owners.insert(2, (QuotaOverrides::default(), Quota::default()));
        held.take(1, "taken".to_owned());
        let capacity = i64::from(catalog.capacity_for(region, gpu));
        held.place(region.to_owned(), gpu.to_owned(), capacity - 1);
        held
    }

    const ROOMY: Quota = Quota { cpu_cores: 1000, memory_gb: 1000, gpus: 1000, storage_gb: 100_000 };

    #[test]
    fn each_ask_is_checked_against_what_the_ones_admitted_before_it_took() {
        let catalog = Catalog::embedded();
        let (region, gpu) = ("us-west-2", "NVIDIA L4");
        let held = held(&catalog, region, gpu);
        let mut ledger = Ledger::new(&held, &catalog, ROOMY);
        let two = configuration(2, region, gpu);
        // A name the owner uses already, then one a create before took.
        assert_eq!(ledger.admit(1, &Ask::create("taken", &two)).unwrap(), Some(Refusal::NameTaken));
        assert_eq!(ledger.admit(1, &Ask::create("a", &two)).unwrap(), None);
        assert_eq!(ledger.admit(1, &Ask::create("a", &two)).unwrap(), Some(Refusal::NameTaken));
        // The place's last free slot went to "a"; the name and quota come first.
        assert_eq!(ledger.admit(2, &Ask::create("b", &two)).unwrap(), Some(Refusal::Full));
        // 4 held + 2 taken by "a" + 4 asked passes owner 1's own 8 cores.
        let four = configuration(4, "eu-west-1", gpu);
        match ledger.admit(1, &Ask::create("c", &four)).unwrap() {
            Some(Refusal::OverQuota(excess)) => assert_eq!((excess.requested, excess.limit), (10, 8)),
            other => panic!("expected over quota, got {other:?}"),
        }
        // A refused ask took nothing: 2 more cores elsewhere still fit.
        assert_eq!(ledger.admit(1, &Ask::create("d", &configuration(2, "eu-west-1", gpu))).unwrap(), None);
    }

    #[test]
    fn a_change_counts_what_it_gives_back_and_takes_a_place_only_when_it_moves() {
        let catalog = Catalog::embedded();
        let (region, gpu) = ("us-west-2", "NVIDIA L4");
        let held = held(&catalog, region, gpu);
        let mut ledger = Ledger::new(&held, &catalog, ROOMY);
        let now = configuration(4, region, gpu);
        // 4 held, 4 given back, 8 asked: exactly the limit, in the same (full) place.
        let eight = configuration(8, region, gpu);
        assert_eq!(ledger.admit(1, &Ask::change(Some(&now), &eight)).unwrap(), None);
        // Nothing held before (in `error`): the place must have room, and has one.
        assert_eq!(ledger.admit(2, &Ask::change(None, &now)).unwrap(), None);
        assert_eq!(ledger.admit(2, &Ask::change(None, &now)).unwrap(), Some(Refusal::Full));
    }

    #[test]
    fn an_owner_missing_from_what_was_read_is_an_error_not_a_pass() {
        let catalog = Catalog::embedded();
        let held = store::HeldBefore::default();
        let c = configuration(1, "us-west-2", "NVIDIA L4");
        assert!(Ledger::new(&held, &catalog, ROOMY).admit(7, &Ask::create("x", &c)).is_err());
    }
}
