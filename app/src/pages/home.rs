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
use crate::refresh::refreshed;

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
    catalog: Resource<Result<Catalog, AppError>>,
    shown_project: Resource<Result<Option<Project>, AppError>>,
    dashboard: Resource<Result<DashboardPage, AppError>>,
    quota: Resource<Result<QuotaStatus, AppError>>,
    capacity: Resource<Result<Vec<CapacityEntry>, AppError>>,
    usage: Resource<Result<UsageTotals, AppError>>,
}

impl DashboardData {
    fn load() -> Self {
        let query_map = use_query_map();
        let project = move || query_map.with(|q| q.get("project").unwrap_or_default());
        Self {
            catalog: Resource::new(|| (), |_| get_catalog()),
            shown_project: Resource::new(project, get_project),
            dashboard: Resource::new(move || list_query(query_map), get_dashboard),
            quota: Resource::new(project, get_quota),
            capacity: Resource::new(|| (), |_| get_capacity()),
            usage: Resource::new(project, |p| get_usage(None, p)),
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
    let DashboardData { catalog, shown_project, dashboard, quota, capacity, usage } = data;
    let query_map = use_query_map();
    let query = move || list_query(query_map);
    view! {
        <main class="page dashboard">
            <section class="panel create" aria-labelledby="create-heading">
                <h2 id="create-heading">"New workstation"</h2>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        // Where it would be made, and whether the role there allows it.
                        let shown = shown_project.await.ok().flatten();
                        let scope = query().project;
                        let quota = quota.await.ok();
                        let usage = usage.await.ok();
                        if let Some(p) = shown.clone().filter(|p| !p.role.allows(Permission::Create)) {
                            return view! {
                                <p class="notice" data-testid="create-not-allowed">
                                    "You are a " {p.role.as_str()} " of " <strong>{p.name}</strong>
                                    ": members create its workstations."
                                </p>
                                <CreatePanel form=None scope quota usage/>
                            }
                            .into_any();
                        }
                        let project = shown.map(|p| p.name);
                        match catalog.await {
                            Ok(catalog) => {
                                let capacity = capacity.await.ok();
                                let form = Some(CreateForm { catalog, project, capacity });
                                view! { <CreatePanel form scope quota usage/> }.into_any()
                            }
                            Err(error) => view! {
                                <ErrorNotice error/>
                                <CreatePanel form=None scope quota usage/>
                            }
                            .into_any(),
                        }
                    })}
                </Suspense>
            </section>
            <section class="panel list" aria-labelledby="list-heading">
                <Suspense fallback=|| view! { <h2 id="list-heading">"Workstations"</h2> }>
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
                </Suspense>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        catalog.await.ok().map(|catalog| view! { <ListFilters catalog query=query()/> })
                    })}
                </Suspense>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match dashboard.await {
                            Ok(data) => view! { <LiveList data query=query()/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
        </main>
    }
}

/// What the create form needs: the catalog it offers, the project it
/// creates in (none: the user's own account), and the free capacity.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct CreateForm {
    catalog: Catalog,
    project: Option<String>,
    capacity: Option<Vec<CapacityEntry>>,
}

/// The create form (when the user may create here) and the quota and usage
/// under it, which are read again after each create. `scope`: the project
/// the page shows, as the address names it (empty: the user's own account).
#[island]
fn CreatePanel(
    form: Option<CreateForm>,
    scope: String,
    quota: Option<QuotaStatus>,
    usage: Option<UsageTotals>,
) -> impl IntoView {
    let create = ServerAction::<CreateWorkstation>::new();
    let created = move || create.version().get();
    let quota = {
        let scope = scope.clone();
        refreshed(quota, created, move || {
            let scope = scope.clone();
            async move { get_quota(scope).await.map(Some) }
        })
    };
    let usage = refreshed(usage, created, move || {
        let scope = scope.clone();
        async move { get_usage(None, scope).await.map(Some) }
    });
    let form = form.map(|CreateForm { catalog, project, capacity }| {
        let capacity = refreshed(capacity, created, || async { get_capacity().await.map(Some) });
        view! { <CreateWorkstationForm catalog action=create capacity=capacity.into() project/> }
    });
    view! {
        {form}
        {move || quota.get().map(|status| view! { <QuotaPanel status/> })}
        {move || usage.get().map(|report| view! { <UsagePanel total=report title="Used this month"/> })}
    }
}

/// The list, its pages, and the live stream that keeps it current. Read
/// again when a workstation it does not show has an event (made elsewhere,
/// or matching the filters now), at most twice a second however many of
/// their events arrive.
#[island]
fn LiveList(data: DashboardPage, query: ListQuery) -> impl IntoView {
    let stale = RwSignal::new(0u64);
    let data = {
        let query = query.clone();
        refreshed(data, move || stale.get(), move || get_dashboard(query.clone()))
    };
    let refetch_due = StoredValue::new(false);
    let refetch_soon = move || {
        if !refetch_due.get_value() {
            refetch_due.set_value(true);
            set_timeout(
                move || {
                    refetch_due.set_value(false);
                    stale.update(|n| *n += 1);
                },
                std::time::Duration::from_millis(500),
            );
        }
    };
    let first_page = query.page.is_empty();
    let filtered = !(first_page
        && query.status.is_empty()
        && query.region.is_empty()
        && query.gpu.is_empty()
        && query.q.is_empty());
    move || {
        let data = data.get();
        let next = data.next_page_token.clone();
        view! {
            <LiveWorkstationList data on_unknown=refetch_soon filtered/>
            <Pager query=query.clone() next first_page/>
        }
    }
}
