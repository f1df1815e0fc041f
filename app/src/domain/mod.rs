//! Types shared by the browser and the server: no I/O here.

pub mod access;
pub mod account;
pub mod audit;
pub mod auto_stop;
pub mod catalog;
pub mod error;
pub mod event;
pub mod job;
pub mod lifecycle;
pub mod phase;
pub mod quota;
pub mod reconfigure;
pub mod request;
pub mod sso;
pub mod time;
pub mod usage;
pub mod workstation;

pub use access::{Member, Owner, OwnerKind, Permission, Project, ProjectName, ProjectRef, Role};
pub use account::{AccountPage, AdminPage, CreatedToken, ProjectDetail, TokenState, TokenView, UserView};
pub use audit::{AuditAction, AuditActor, AuditLogPage, AuditObject, AuditQuery, AuditRecord, Outcome};
pub use auto_stop::{AutoStop, AutoStopLimits};
pub use catalog::{Capacity, CapacityEntry, CapacityLimit, Catalog, GpuOption, Range, RegionOption};
pub use error::AppError;
pub use event::{Dashboard, EventKind, ListQuery, WorkstationDetail, WorkstationEvent, WorkstationState};
pub use job::{Ending, JobKind, JobState};
pub use lifecycle::{allowed_actions, held, holds_resources, Action};
pub use phase::Phase;
pub use quota::{Quota, QuotaOverrides, QuotaStatus};
pub use reconfigure::{Apply, AutoStopForm, Reconfiguration, ReconfigureForm, ReconfigureRequest};
pub use request::{
    pointer, ConfigurationSpec, CreateWorkstationRequest, FieldError, WorkstationForm, WorkstationName,
    WorkstationSpec,
};
pub use usage::{UsageInterval, UsageReport, UsageTotals, WorkstationUsage};
pub use workstation::{Configuration, Workstation, WorkstationStatus};
