//! The home page: the user's workstations and the form for a new one.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use super::authenticated::Authenticated;
use super::list_filters::ListFilters;
use super::pager::Pager;
use crate::api::{
    get_capacity, get_catalog, get_dashboard, get_project, get_quota, get_usage, CreateWorkstation,
};
use crate::components::{CreateWorkstationForm, ErrorNotice, LiveWorkstationList, QuotaPanel, UsagePanel};
use crate::domain::{
    AppError, CapacityEntry, Catalog, Dashboard as DashboardPage, ListQuery, Permission, Project,
    QuotaStatus, UsageTotals,
};

/// The home page: the user's workstations and the form for a new one.
#[component]
pub fn HomePage() -> impl IntoView {
    let data = DashboardData::load();
    view! {
        <Title text="Workstations · Atelier"/>
        <Authenticated>
            <Dashboard data/>
        </Authenticated>
    }
}

/// What the home page reads, made by the page before `Authenticated` (see
/// there why).
#[derive(Clone, Copy)]
struct DashboardData {
    create: ServerAction<CreateWorkstation>,
    catalog: Resource<Result<Catalog, AppError>>,
    shown_project: Resource<Result<Option<Project>, AppError>>,
    dashboard: Resource<Result<DashboardPage, AppError>>,
    quota: Resource<Result<QuotaStatus, AppError>>,
    capacity: Resource<Result<Vec<CapacityEntry>, AppError>>,
    usage: Resource<Result<UsageTotals, AppError>>,
}

impl DashboardData {
    fn load() -> Self {
        let create = ServerAction::<CreateWorkstation>::new();
        let query_map = use_query_map();
        let project = move || query_map.with(|q| q.get("project").unwrap_or_default());
        Self {
            create,
            catalog: Resource::new(|| (), |_| get_catalog()),
            // Read apart from the list, which is read again as events arrive:
            // the form under it must not be rebuilt (and lose what is typed)
            // each time.
            shown_project: Resource::new(project, get_project),
            dashboard: Resource::new(
                move || (create.version().get(), list_query(query_map)),
                |(_, q)| get_dashboard(q),
            ),
            quota: Resource::new(move || (create.version().get(), project()), |(_, p)| get_quota(p)),
            capacity: Resource::new(move || create.version().get(), |_| get_capacity()),
            usage: Resource::new(move || (create.version().get(), project()), |(_, p)| get_usage(None, p)),
        }
    }
}

/// The list's filters and page, from the address.
fn list_query(query_map: Memo<ParamsMap>) -> ListQuery {
    query_map.with(|q| ListQuery {
        status: q.get("status").unwrap_or_default(),
        region: q.get("region").unwrap_or_default(),
        gpu: q.get("gpu").unwrap_or_default(),
        q: q.get("q").unwrap_or_default(),
        page: q.get("page").unwrap_or_default(),
        project: q.get("project").unwrap_or_default(),
    })
}

/// The create form with the quota beside it, and the list with its filters
/// and pages.
#[component]
fn Dashboard(data: DashboardData) -> impl IntoView {
    let DashboardData { create, catalog, shown_project, dashboard, quota, capacity, usage } = data;
    let query_map = use_query_map();
    let query = move || list_query(query_map);
    // Workstations the list does not show yet (made elsewhere, or matching
    // the filters now): read the list again, at most twice a second however
    // many of their events arrive.
    let refetch_due = StoredValue::new(false);
    let refetch_soon = move || {
        if !refetch_due.get_value() {
            refetch_due.set_value(true);
            set_timeout(
                move || {
                    refetch_due.set_value(false);
                    dashboard.refetch();
                },
                std::time::Duration::from_millis(500),
            );
        }
    };
    view! {
        <main class="page dashboard">
            <section class="panel create" aria-labelledby="create-heading">
                <h2 id="create-heading">"New workstation"</h2>
                <Suspense fallback=|| view! { <div class="skeleton form-skeleton"></div> }>
                    {move || Suspend::new(async move {
                        // Where it would be made, and whether the role there allows it.
                        let shown = shown_project.await.ok().flatten();
                        if let Some(p) = shown.clone().filter(|p| !p.role.allows(Permission::Create)) {
                            return view! {
                                <p class="notice" data-testid="create-not-allowed">
                                    "You are a " {p.role.as_str()} " of " <strong>{p.name}</strong>
                                    ": members create its workstations."
                                </p>
                            }
                            .into_any();
                        }
                        let project = shown.map(|p| p.name);
                        match catalog.await {
                            Ok(catalog) => view! { <CreateWorkstationForm catalog action=create capacity project/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Suspense>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        quota.await.ok().map(|status| view! { <QuotaPanel status/> })
                    })}
                </Transition>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        usage.await.ok().map(|report| view! { <UsagePanel total=report title="Used this month"/> })
                    })}
                </Transition>
            </section>
            <section class="panel list" aria-labelledby="list-heading">
                <Transition fallback=|| view! { <h2 id="list-heading">"Workstations"</h2> }>
                    {move || Suspend::new(async move {
                        let shown = shown_project.await.ok().flatten();
                        let heading = match &shown {
                            Some(p) => format!("Workstations of {}", p.name),
                            None => "Your workstations".to_owned(),
                        };
                        let members = shown.map(|p| {
                            let href = format!("/projects/{}", p.id);
                            view! { <p class="muted"><a href=href data-testid="project-members">"Members and roles"</a></p> }
                        });
                        view! { <h2 id="list-heading" data-testid="list-heading">{heading}</h2> {members} }
                    })}
                </Transition>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        catalog.await.ok().map(|catalog| view! { <ListFilters catalog query=query()/> })
                    })}
                </Suspense>
                <Transition fallback=|| view! { <div class="skeleton list-skeleton"></div> }>
                    {move || Suspend::new(async move {
                        match dashboard.await {
                            Ok(data) => {
                                let next = data.next_page_token.clone();
                                let q = query();
                                let first_page = q.page.is_empty();
                                let filtered = !(first_page
                                    && q.status.is_empty()
                                    && q.region.is_empty()
                                    && q.gpu.is_empty()
                                    && q.q.is_empty());
                                view! {
                                    <LiveWorkstationList data on_unknown=refetch_soon filtered/>
                                    <Pager query=query() next first_page/>
                                }
                                .into_any()
                            }
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </main>
    }
}
