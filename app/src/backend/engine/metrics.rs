//! How long finished jobs took, by kind and outcome, for `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::backend::metrics::{Histogram, JOB_BUCKETS};
use crate::domain::{JobKind, JobState};

/// Durations of finished jobs.
#[derive(Default)]
pub(super) struct JobDurations(Mutex<BTreeMap<(JobKind, JobState), Histogram>>);

impl JobDurations {
    /// Counts a job of `kind` that ended in `state` after `took`.
    pub(super) fn observe(&self, kind: JobKind, state: JobState, took: Duration) {
        let mut durations = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        durations
            .entry((kind, state))
            .or_insert_with(|| Histogram::new(JOB_BUCKETS))
            .observe(took.as_secs_f64());
    }

    /// Writes them as a Prometheus histogram.
    pub(super) fn write(&self, out: &mut String) {
        let durations = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((kind, state), histogram) in durations.iter() {
            histogram.write(
                out,
                "atelier_job_duration_seconds",
                &format!("kind=\"{kind}\",outcome=\"{state}\""),
            );
        }
    }
}
