//! The page of one workstation.

use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::authenticated::Authenticated;
use crate::api::{get_catalog, get_usage, get_workstation};
use crate::components::{ErrorNotice, UsagePanel, WorkstationView};
use crate::domain::{AppError, Catalog, UsageTotals, WorkstationDetail};

/// One workstation: live status, progress, and its history.
#[component]
pub fn WorkstationPage() -> impl IntoView {
    // The workstation named in the address, the catalog its reconfigure form
    // offers, and its usage; made before `Authenticated` (see there why).
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, get_workstation);
    let catalog = Resource::new(|| (), |_| get_catalog());
    let usage = Resource::new(id, |id| get_usage(Some(id), String::new()));
    view! {
        <Title text="Workstation · Atelier"/>
        <Authenticated>
            <WorkstationDetailPanel detail catalog usage/>
        </Authenticated>
    }
}

/// The workstation, or why it cannot be shown, and its usage.
#[component]
fn WorkstationDetailPanel(
    detail: Resource<Result<Option<WorkstationDetail>, AppError>>,
    catalog: Resource<Result<Catalog, AppError>>,
    usage: Resource<Result<UsageTotals, AppError>>,
) -> impl IntoView {
    view! {
        <main class="page detail">
            <p class="back"><a href="/">"← All workstations"</a></p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match (detail.await, catalog.await) {
                        (Ok(Some(detail)), Ok(catalog)) => {
                            EitherOf3::A(view! { <WorkstationView detail catalog/> })
                        }
                        (Ok(None), Ok(_)) => EitherOf3::B(view! { <MissingWorkstation/> }),
                        (Err(error), _) | (_, Err(error)) => EitherOf3::C(view! { <ErrorNotice error/> }),
                    }
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    usage.await.ok().map(|report| view! {
                        <section class="panel" aria-label="Usage"><UsagePanel total=report title="Used this month"/></section>
                    })
                })}
            </Transition>
        </main>
    }
}

/// Said, with a 404, when the user has no workstation with this id.
#[component]
fn MissingWorkstation() -> impl IntoView {
    #[cfg(feature = "ssr")]
    super::errors::set_status(http::StatusCode::NOT_FOUND);
    view! {
        <section class="panel">
            <h1>"No such workstation"</h1>
            <p>"You have no workstation with this id. It may have been deleted, or belong to someone else."</p>
        </section>
    }
}
