//! What `/readyz` and `/metrics` read of the database.

use super::store::{self, Db};
use super::Error;
use crate::domain::JobState;

/// Whether the database answers.
pub async fn ping(db: &Db) -> Result<(), Error> {
    store::ping(db).await
}

/// The versions of the migrations applied to the database.
pub async fn applied_migrations(db: &Db) -> Result<Vec<i64>, Error> {
    store::applied_migrations(db).await
}

/// How many jobs are in each state.
pub async fn job_counts(db: &Db) -> Result<Vec<(JobState, i64)>, Error> {
    store::job_counts(db).await
}
