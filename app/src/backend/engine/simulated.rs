//! A provisioner that walks through the phases of a real one with timers,
//! within a capacity per region and GPU type taken from the catalog.

use std::sync::Arc;
use std::time::Duration;

use super::{BoxFuture, Failure, Progress, Provisioner};
use crate::backend::store::{self, Db};
use crate::domain::{Catalog, JobKind, Phase, Workstation};

/// The default driver: phases on timers, capacity from the catalog.
pub struct SimulatedProvisioner {
    pool: Db,
    catalog: Arc<Catalog>,
    phase_durations: [Duration; 4],
}

impl SimulatedProvisioner {
    /// A simulator that spends `phase_durations[i]` in phase `Phase::SIMULATED[i]`.
    pub fn new(pool: Db, catalog: Arc<Catalog>, phase_durations: [Duration; 4]) -> Self {
        Self { pool, catalog, phase_durations }
    }

    async fn provision(&self, ws: &Workstation, progress: &Progress) -> Result<(), Failure> {
        let c = &ws.configuration;
        let capacity = self.catalog.capacity_for(&c.region, &c.gpu);
        let in_use = store::capacity_in_use(&self.pool, &c.region, &c.gpu, &ws.id).await?;
        if in_use >= i64::from(capacity) {
            return Err(Failure(self.catalog.shortage_message(&c.region, &c.gpu, capacity)));
        }
        let details = [
            (
                5,
                format!(
                    "Allocating {} vCPUs, {} GB memory and an {} in {}",
                    c.cpu_cores, c.memory_gb, c.gpu, c.region
                ),
            ),
            (35, format!("Creating and attaching a {} GB volume", c.storage_gb)),
            (65, "Booting the workstation image".to_owned()),
            (90, "Configuring the workstation and its agent".to_owned()),
        ];
        for ((phase, (percent, message)), duration) in
            Phase::SIMULATED.into_iter().zip(details).zip(self.phase_durations)
        {
            // The phase says what; its log line gives the detail.
            let mut title = phase.words();
            title[..1].make_ascii_uppercase();
            progress.phase(phase, percent, Some(&title)).await?;
            progress.log(&message).await?;
            tokio::time::sleep(duration).await;
        }
        Ok(())
    }

    async fn launch(&self, ws: &Workstation, progress: &Progress) -> Result<(), Failure> {
        progress.phase(Phase::Starting, 30, Some("Powering on")).await?;
        progress.log(&format!("Starting {} in {}", ws.name, ws.configuration.region)).await?;
        tokio::time::sleep(self.phase_durations[2]).await;
        progress.phase(Phase::Starting, 80, Some("Waiting for the agent to report")).await?;
        tokio::time::sleep(self.phase_durations[3]).await;
        Ok(())
    }

    async fn stop(&self, ws: &Workstation, progress: &Progress) -> Result<(), Failure> {
        progress.phase(Phase::Stopping, 50, Some("Shutting down")).await?;
        progress.log(&format!("Stopping {}", ws.name)).await?;
        tokio::time::sleep(self.phase_durations[2]).await;
        Ok(())
    }

    async fn destroy(&self, ws: &Workstation, progress: &Progress) -> Result<(), Failure> {
        let c = &ws.configuration;
        progress.phase(Phase::Deleting, 50, Some("Releasing the volume and the GPU")).await?;
        progress
            .log(&format!("Releasing a {} GB volume and an {} in {}", c.storage_gb, c.gpu, c.region))
            .await?;
        tokio::time::sleep(self.phase_durations[1]).await;
        Ok(())
    }
}

impl Provisioner for SimulatedProvisioner {
    fn kind(&self) -> &'static str {
        "simulated"
    }

    fn run<'a>(
        &'a self,
        kind: JobKind,
        ws: &'a Workstation,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            match kind {
                JobKind::Provision => self.provision(ws, progress).await,
                JobKind::Launch => self.launch(ws, progress).await,
                JobKind::Stop => self.stop(ws, progress).await,
                JobKind::Delete => self.destroy(ws, progress).await,
            }
        })
    }
}
