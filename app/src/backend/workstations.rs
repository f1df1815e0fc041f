//! Workstation operations shared by the REST API and the pages.

use rand::Rng;
use sqlx::SqlitePool;

use super::repo::{self, User};
use super::Error;
use crate::domain::{Workstation, WorkstationSpec, WorkstationStatus};

/// A new workstation id: `ws-` and 12 random base-32 characters (60 bits).
pub fn new_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut rng = rand::rng();
    let suffix: String = (0..12)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("ws-{suffix}")
}

/// Records a new workstation for `owner`; provisioning starts from here.
#[tracing::instrument(skip_all, fields(user = %owner.name, workstation = spec.name.as_str()))]
pub async fn create(pool: &SqlitePool, owner: &User, spec: &WorkstationSpec) -> Result<Workstation, Error> {
    let id = new_id();
    let ws = repo::insert_workstation(pool, owner.id, &id, spec, WorkstationStatus::Provisioning).await?;
    tracing::info!(id = %ws.id, "workstation created");
    Ok(ws)
}

/// One of the owner's workstations.
pub async fn get(pool: &SqlitePool, owner: &User, id: &str) -> Result<Option<Workstation>, Error> {
    repo::get_workstation(pool, owner.id, id).await
}

/// The owner's workstations, newest first.
pub async fn list(pool: &SqlitePool, owner: &User) -> Result<Vec<Workstation>, Error> {
    repo::list_workstations(pool, owner.id).await
}
