//! A provisioner that walks through the phases of a real one with timers,
//! within a capacity per region and GPU type taken from the catalog.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::db::Db;

use super::{BoxFuture, Failure, Progress, Provisioner};
use crate::backend::repo;
use crate::domain::{Catalog, Workstation};

/// The default driver: phases on timers, capacity from the catalog.
pub struct SimulatedProvisioner {
    pool: Db,
    catalog: Arc<Catalog>,
    phase_durations: [Duration; 4],
}

impl SimulatedProvisioner {
    /// The simulator's phases, in order.
    pub const PHASES: [&'static str; 4] = ["allocating", "attaching-storage", "booting", "configuring"];

    /// A simulator that spends `phase_durations[i]` in phase `PHASES[i]`.
    pub fn new(pool: Db, catalog: Arc<Catalog>, phase_durations: [Duration; 4]) -> Self {
        Self { pool, catalog, phase_durations }
    }
}

impl Provisioner for SimulatedProvisioner {
    fn provision<'a>(
        &'a self,
        ws: &'a Workstation,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let c = &ws.configuration;
            let capacity = self.catalog.capacity_for(&c.region, &c.gpu);
            let in_use = repo::capacity_in_use(&self.pool, &c.region, &c.gpu, &ws.id).await?;
            if in_use >= i64::from(capacity) {
                return Err(Failure(self.catalog.shortage_message(&c.region, &c.gpu, capacity)));
            }
            let [allocating, attaching, booting, configuring] = Self::PHASES;
            let steps = [
                (
                    allocating,
                    5,
                    format!(
                        "Allocating {} vCPUs, {} GB memory and an {} in {}",
                        c.cpu_cores, c.memory_gb, c.gpu, c.region
                    ),
                ),
                (attaching, 35, format!("Creating and attaching a {} GB volume", c.storage_gb)),
                (booting, 65, "Booting the workstation image".to_owned()),
                (configuring, 90, "Configuring the workstation and its agent".to_owned()),
            ];
            for ((phase, percent, message), duration) in steps.into_iter().zip(self.phase_durations) {
                // The phase says what; its log line gives the detail.
                let mut title = phase.replace('-', " ");
                title[..1].make_ascii_uppercase();
                progress.phase(phase, percent, Some(&title)).await?;
                progress.log(&message).await?;
                tokio::time::sleep(duration).await;
            }
            Ok(())
        })
    }

    fn launch<'a>(
        &'a self,
        ws: &'a Workstation,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            progress.phase("starting", 30, Some("Powering on")).await?;
            progress.log(&format!("Starting {} in {}", ws.name, ws.configuration.region)).await?;
            tokio::time::sleep(self.phase_durations[2]).await;
            progress.phase("starting", 80, Some("Waiting for the agent to report")).await?;
            tokio::time::sleep(self.phase_durations[3]).await;
            Ok(())
        })
    }

    fn stop<'a>(&'a self, ws: &'a Workstation, progress: &'a Progress) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            progress.phase("stopping", 50, Some("Shutting down")).await?;
            progress.log(&format!("Stopping {}", ws.name)).await?;
            tokio::time::sleep(self.phase_durations[2]).await;
            Ok(())
        })
    }

    fn destroy<'a>(
        &'a self,
        ws: &'a Workstation,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            progress.phase("deleting", 50, Some("Releasing the volume and the GPU")).await?;
            progress
                .log(&format!(
                    "Releasing a {} GB volume and an {} in {}",
                    ws.configuration.storage_gb, ws.configuration.gpu, ws.configuration.region
                ))
                .await?;
            tokio::time::sleep(self.phase_durations[1]).await;
            Ok(())
        })
    }
}
