//! Workstation operations shared by the REST API and the pages.

use rand::Rng;

use super::admission::{self, Ask};
use super::store::{self, Tx, User};
use super::{AppState, Error, Shortage};
use crate::domain::{
    CapacityEntry, Catalog, Configuration, Dashboard, Workstation, WorkstationDetail, WorkstationEvent,
    WorkstationSpec, WorkstationState,
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
    store::get_workstation_state(&state.pool, owner.id, id).await
}

/// Whether the owner has (or had) the workstation: its history stays readable.
pub async fn has_history(state: &AppState, owner: &User, id: &str) -> Result<bool, Error> {
    store::owner_has_history(&state.pool, owner.id, id).await
}

/// A workstation's history, if the owner has (or had) it.
pub async fn history(
    state: &AppState,
    owner: &User,
    id: &str,
) -> Result<Option<Vec<WorkstationEvent>>, Error> {
    if !has_history(state, owner, id).await? {
        return Ok(None);
    }
    store::events_after_seq(&state.pool, id, 0).await.map(Some)
}

/// The home page's data, read in one consistent snapshot with its event
/// id, and the position the next page starts before, if there is one (the
/// page's URL names it with a page token).
pub async fn dashboard(
    state: &AppState,
    owner: &User,
    filter: &store::ListFilter,
    limit: u32,
) -> Result<(Dashboard, Option<i64>), Error> {
    // Read the event id first: anything newer is replayed by the stream, so
    // nothing between the two reads is lost (at worst applied twice, which is idempotent).
    let last_event_id = store::last_owner_event_id(&state.pool, owner.id).await?;
    let (workstations, next) = page_states(state, owner, filter, limit).await?;
    Ok((Dashboard { workstations, last_event_id, next_page_token: None, project: None }, next))
}

/// A workstation's page data, if it is the owner's.
pub async fn detail(state: &AppState, owner: &User, id: &str) -> Result<Option<WorkstationDetail>, Error> {
    let last_event_id = store::last_owner_event_id(&state.pool, owner.id).await?;
    let Some(ws) = store::get_workstation_state(&state.pool, owner.id, id).await? else {
        return Ok(None);
    };
    let events = store::events_after_seq(&state.pool, id, 0).await?;
    let c = &ws.workstation.configuration;
    let typical_job_seconds = store::mean_job_seconds(&state.pool, &c.gpu, &c.region).await?;
    let job_started_at = store::running_job_started_at(&state.pool, id).await?;
    let terminal = state.engine.provisioner().has_terminal();
    Ok(Some(WorkstationDetail {
        state: ws,
        events,
        last_event_id,
        typical_job_seconds,
        job_started_at,
        terminal,
        role: None,
    }))
}

/// One page of the owner's workstations, and the position the next page
/// starts before, if there is one.
pub async fn page(
    state: &AppState,
    owner: &User,
    filter: &store::ListFilter,
    limit: u32,
) -> Result<(Vec<Workstation>, Option<i64>), Error> {
    let (states, next) = page_states(state, owner, filter, limit).await?;
    Ok((states.into_iter().map(|s| s.workstation).collect(), next))
}

async fn page_states(
    state: &AppState,
    owner: &User,
    filter: &store::ListFilter,
    limit: u32,
) -> Result<(Vec<WorkstationState>, Option<i64>), Error> {
    // One row more than asked for tells whether another page follows.
    let mut rows = store::list_workstation_page(&state.pool, owner.id, filter, i64::from(limit)).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(|(seq, _)| *seq) } else { None };
    Ok((rows.into_iter().map(|(_, s)| s).collect(), next))
}

/// Runs every check a create of `spec` makes (the admission checks, in
/// their order), storing nothing: `validateOnly`.
pub async fn validate_create(state: &AppState, owner: &User, spec: &WorkstationSpec) -> Result<(), Error> {
    let configuration = Configuration::from(spec);
    let ask = Ask::create(spec.name.as_str(), &configuration);
    let mut tx = store::begin_read(&state.pool).await?;
    admission::admit(&mut tx, &state.catalog, state.settings.default_quota, owner.id, &ask).await?;
    tx.commit().await?;
    Ok(())
}

/// Free capacity for every region and GPU type of the catalog.
pub async fn capacity(state: &AppState) -> Result<Vec<CapacityEntry>, Error> {
    capacity_in(&state.pool, &state.catalog).await
}

/// Free capacity for every region and GPU type of `catalog`, read from `db`.
pub async fn capacity_in(db: &store::Db, catalog: &Catalog) -> Result<Vec<CapacityEntry>, Error> {
    let mut tx = store::begin_read(db).await?;
    let entries = capacity_of(&mut tx, catalog).await?;
    tx.commit().await?;
    Ok(entries)
}

/// Free capacity for every region and GPU type of `catalog`, read through `tx`.
pub async fn capacity_of(tx: &mut Tx, catalog: &Catalog) -> Result<Vec<CapacityEntry>, Error> {
    let usage = store::capacity_usage(tx).await?;
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
