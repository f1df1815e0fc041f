//! Workstation operations shared by the REST API and the pages.

use rand::Rng;

use super::repo::{self, Tx, User};
use super::{AppState, Error, Shortage};
use crate::domain::{
    CapacityEntry, Catalog, Dashboard, Workstation, WorkstationDetail, WorkstationEvent, WorkstationSpec,
    WorkstationState,
};

/// A new workstation id: `ws-` and 12 random base-32 characters (60 bits).
pub fn new_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut rng = rand::rng();
    let suffix: String = (0..12).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("ws-{suffix}")
}

/// Records a new workstation for `owner` with its provisioning job (capacity,
/// quota and name checked in the same transaction), tells the streams, and
/// wakes a worker. Concurrent creates share one transaction and one fsync.
#[tracing::instrument(skip_all, fields(user = %owner.name, workstation = spec.name.as_str()))]
pub async fn create(state: &AppState, owner: &User, spec: &WorkstationSpec) -> Result<Workstation, Error> {
    let ws = state.creates.create(owner.id, new_id(), spec.clone()).await?;
    tracing::info!(id = %ws.id, "workstation created");
    Ok(ws)
}

/// One of the owner's workstations with phase, progress, reason and version.
pub async fn get_state(state: &AppState, owner: &User, id: &str) -> Result<Option<WorkstationState>, Error> {
    repo::get_workstation_state(&state.pool, owner.id, id).await
}

/// A workstation's history, if the owner has (or had) it.
pub async fn history(
    state: &AppState,
    owner: &User,
    id: &str,
) -> Result<Option<Vec<WorkstationEvent>>, Error> {
    if !repo::owner_has_history(&state.pool, owner.id, id).await? {
        return Ok(None);
    }
    repo::events_after_seq(&state.pool, id, 0).await.map(Some)
}

/// The home page's data, read in one consistent snapshot with its event id.
pub async fn dashboard(
    state: &AppState,
    owner: &User,
    filter: &repo::ListFilter,
    limit: u32,
) -> Result<Dashboard, Error> {
    // Read the event id first: anything newer is replayed by the stream, so
    // nothing between the two reads is lost (at worst applied twice, which is idempotent).
    let last_event_id = repo::last_owner_event_id(&state.pool, owner.id).await?;
    let (workstations, next_page_token) = page_states(state, owner, filter, limit).await?;
    Ok(Dashboard { workstations, last_event_id, next_page_token })
}

/// A workstation's page data, if it is the owner's.
pub async fn detail(state: &AppState, owner: &User, id: &str) -> Result<Option<WorkstationDetail>, Error> {
    let last_event_id = repo::last_owner_event_id(&state.pool, owner.id).await?;
    let Some(ws) = repo::get_workstation_state(&state.pool, owner.id, id).await? else {
        return Ok(None);
    };
    let events = repo::events_after_seq(&state.pool, id, 0).await?;
    let c = &ws.workstation.configuration;
    let typical_job_seconds = repo::mean_job_seconds(&state.pool, &c.gpu, &c.region).await?;
    let job_started_at = repo::running_job_started_at(&state.pool, id).await?;
    Ok(Some(WorkstationDetail { state: ws, events, last_event_id, typical_job_seconds, job_started_at }))
}

/// Page tokens: opaque to clients, a position in the owner's list to us.
pub mod page_token {
    /// The token for "after position `seq`".
    pub fn encode(seq: i64) -> String {
        hex::encode(format!("ws-page:{seq}"))
    }

    /// The position a token names, if it is one we gave out.
    pub fn decode(token: &str) -> Option<i64> {
        let bytes = hex::decode(token).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        text.strip_prefix("ws-page:")?.parse().ok().filter(|n: &i64| *n > 0)
    }
}

/// One page of the owner's workstations and the token of the next, if any.
pub async fn page(
    state: &AppState,
    owner: &User,
    filter: &repo::ListFilter,
    limit: u32,
) -> Result<(Vec<Workstation>, Option<String>), Error> {
    let (states, next) = page_states(state, owner, filter, limit).await?;
    Ok((states.into_iter().map(|s| s.workstation).collect(), next))
}

async fn page_states(
    state: &AppState,
    owner: &User,
    filter: &repo::ListFilter,
    limit: u32,
) -> Result<(Vec<WorkstationState>, Option<String>), Error> {
    // One row more than asked for tells whether another page follows.
    let mut rows = repo::list_workstation_page(&state.pool, owner.id, filter, i64::from(limit)).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(|(seq, _)| page_token::encode(*seq)) } else { None };
    Ok((rows.into_iter().map(|(_, s)| s).collect(), next))
}

/// Whether the owner already has a workstation with this name.
pub async fn name_taken(state: &AppState, owner: &User, name: &str) -> Result<bool, Error> {
    repo::name_taken(&state.pool, owner.id, name).await
}

/// Free capacity for every region and GPU type of the catalog.
pub async fn capacity(state: &AppState) -> Result<Vec<CapacityEntry>, Error> {
    capacity_in(&state.pool, &state.catalog).await
}

/// Free capacity for every region and GPU type of `catalog`, read from `db`.
pub async fn capacity_in(db: &repo::Db, catalog: &Catalog) -> Result<Vec<CapacityEntry>, Error> {
    let mut tx = repo::begin_read(db).await?;
    let entries = capacity_of(&mut tx, catalog).await?;
    tx.commit().await?;
    Ok(entries)
}

/// Free capacity for every region and GPU type of `catalog`, read through `tx`.
pub async fn capacity_of(tx: &mut Tx, catalog: &Catalog) -> Result<Vec<CapacityEntry>, Error> {
    let usage = repo::capacity_usage(tx).await?;
    let mut entries = Vec::with_capacity(catalog.regions.len() * catalog.gpus.len());
    for region in &catalog.regions {
        for gpu in &catalog.gpus {
            let total = catalog.capacity_for(&region.id, &gpu.id);
            let used = usage
                .iter()
                .find(|(r, g, _)| *r == region.id && *g == gpu.id)
                .map_or(0, |(_, _, n)| u32::try_from(*n).unwrap_or(u32::MAX));
            entries.push(CapacityEntry {
                region: region.id.clone(),
                gpu: gpu.id.clone(),
                total,
                used,
                free: total.saturating_sub(used),
            });
        }
    }
    Ok(entries)
}

/// Fails with the alternatives when the spec's region has no free capacity
/// for its GPU type.
pub async fn check_capacity(state: &AppState, spec: &WorkstationSpec) -> Result<(), Error> {
    let mut tx = repo::begin_read(&state.pool).await?;
    let c = &spec.configuration;
    check_placement(&mut tx, &state.catalog, c.region.as_str(), c.gpu.as_str()).await?;
    tx.commit().await?;
    Ok(())
}

/// Fails with the alternatives when `region` has no free `gpu` left (read
/// through `tx`, which may be a write transaction).
pub async fn check_placement(tx: &mut Tx, catalog: &Catalog, region: &str, gpu: &str) -> Result<(), Error> {
    let total = catalog.capacity_for(region, gpu);
    if repo::placement_in_use(tx, region, gpu).await? < i64::from(total) {
        return Ok(());
    }
    let entries = capacity_of(tx, catalog).await?;
    Err(shortage_in(&entries, catalog, region, gpu))
}

/// The refusal of a full placement, naming where `entries` show room.
pub fn shortage_in(entries: &[CapacityEntry], catalog: &Catalog, region: &str, gpu: &str) -> Error {
    Error::InsufficientCapacity(Box::new(Shortage {
        message: catalog.shortage_message(region, gpu, catalog.capacity_for(region, gpu)),
        regions_with_gpu: entries
            .iter()
            .filter(|e| e.gpu == gpu && e.free > 0)
            .map(|e| e.region.clone())
            .collect(),
        gpus_in_region: entries
            .iter()
            .filter(|e| e.region == region && e.free > 0)
            .map(|e| e.gpu.clone())
            .collect(),
    }))
}
