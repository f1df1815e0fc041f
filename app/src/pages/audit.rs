//! The audit log: the changes asked of the service that the reader may see,
//! newest first, filtered by a GET form (the URL holds the filters, and it
//! works without JavaScript).

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::authenticated::Authenticated;
use super::pager::encode;
use crate::api::get_audit;
use crate::components::ErrorNotice;
use crate::domain::time::exact;
use crate::domain::{AppError, AuditAction, AuditLogPage, AuditQuery, AuditRecord, Outcome};

/// The audit log page.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query_map = use_query_map();
    let query = move || {
        query_map.with(|q| AuditQuery {
            action: q.get("action").unwrap_or_default(),
            outcome: q.get("outcome").unwrap_or_default(),
            actor: q.get("actor").unwrap_or_default(),
            project: q.get("project").unwrap_or_default(),
            page: q.get("page").unwrap_or_default(),
        })
    };
    // Made before `Authenticated` (see there why).
    let page = Resource::new(query, get_audit);
    view! {
        <Title text="Audit log · Atelier"/>
        <Authenticated>
            <AuditLog page query/>
        </Authenticated>
    }
}

#[component]
fn AuditLog(
    page: Resource<Result<AuditLogPage, AppError>>,
    query: impl Fn() -> AuditQuery + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <main class="page audit">
            <p class="back"><a href="/">"← All workstations"</a></p>
            <section class="panel" aria-labelledby="audit-heading">
                <h1 id="audit-heading">"Audit log"</h1>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let query = query();
                        match page.await {
                            Ok(page) => Either::Left(view! {
                                <p class="muted" data-testid="audit-scope">
                                    {if page.everyone {
                                        "Every change asked of this service, by anyone."
                                    } else {
                                        "What you did, what was done to your workstations, and everything in the projects you administer."
                                    }}
                                </p>
                                <AuditFilters query=query.clone()/>
                                <AuditTable records=page.records filtered=query != AuditQuery::default()/>
                                <AuditPager query next=page.next_page_token/>
                            }),
                            Err(error) => Either::Right(view! { <ErrorNotice error/> }),
                        }
                    })}
                </Transition>
            </section>
        </main>
    }
}

/// The filters: action, outcome, who, and project.
#[component]
fn AuditFilters(query: AuditQuery) -> impl IntoView {
    let action = query.action.clone();
    let outcome = query.outcome.clone();
    view! {
        <Form method="GET" action="/audit" attr:class="filters" attr:aria-label="Filter the audit log">
            <label>
                "Action"
                <select name="action">
                    <option value="">"Any"</option>
                    {AuditAction::ALL
                        .into_iter()
                        .map(|a| view! { <option value=a.as_str() selected=a.as_str() == action>{a.as_str()}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Outcome"
                <select name="outcome">
                    <option value="">"Any"</option>
                    {Outcome::ALL
                        .into_iter()
                        .map(|o| view! { <option value=o.as_str() selected=o.as_str() == outcome>{o.as_str()}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>"Who" <input type="search" name="actor" value=query.actor.clone() autocomplete="off"/></label>
            <label>"Project" <input type="search" name="project" value=query.project.clone() autocomplete="off"/></label>
            <button type="submit" class="button">"Filter"</button>
        </Form>
    }
}

/// The records as a table, one row each.
#[component]
fn AuditTable(records: Vec<AuditRecord>, filtered: bool) -> impl IntoView {
    if records.is_empty() {
        let says = if filtered { "No record matches these filters." } else { "Nothing is recorded yet." };
        return Either::Left(view! { <p class="empty" data-testid="audit-empty">{says}</p> });
    }
    Either::Right(view! {
        <div class="table-scroll">
            <table class="audit-table" data-testid="audit-table">
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Object"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Details"</th>
                    </tr>
                </thead>
                <tbody>{records.into_iter().map(|record| view! { <AuditRow record/> }).collect_view()}</tbody>
            </table>
        </div>
    })
}

#[component]
fn AuditRow(record: AuditRecord) -> impl IntoView {
    let who = record.actor.name.clone().unwrap_or_else(|| "nobody identified".to_owned());
    let object = record.object.clone().map(|object| {
        if object.kind == "workstation" {
            let href = format!("/workstations/{}", object.id);
            Either::Left(view! { <a href=href><code>{object.id}</code></a> })
        } else {
            Either::Right(view! { {object.kind} " " <code>{object.id}</code> })
        }
    });
    let outcome = record.outcome.as_str();
    let status = record.status.map(|s| format!(" ({s})"));
    let project = record.project.map(|p| view! { <span class="muted">" · project " {p}</span> });
    let request = record
        .request_id
        .clone()
        .map(|id| view! { <span class="muted">" · request " <code>{id}</code></span> });
    let address = record.address.clone().map(|a| view! { <span class="muted">" · from " {a}</span> });
    view! {
        <tr data-testid="audit-record" data-action=record.action.as_str() data-outcome=outcome>
            <td><time datetime=record.at.clone()>{exact(&record.at)}</time></td>
            <td>{who} <br/><small class="muted">{record.actor.credential.clone()}</small></td>
            <td><code>{record.action.as_str()}</code></td>
            <td>{object}{project}</td>
            <td><span class=format!("outcome outcome-{outcome}")>{outcome}{status}</span></td>
            <td>{record.detail.clone()}{address}{request}</td>
        </tr>
    }
}

/// Links to older records and back to the newest.
#[component]
fn AuditPager(query: AuditQuery, next: Option<String>) -> impl IntoView {
    let first_page = query.page.is_empty();
    let href = move |page: &str| {
        let mut parts = Vec::new();
        for (key, value) in [
            ("action", &query.action),
            ("outcome", &query.outcome),
            ("actor", &query.actor),
            ("project", &query.project),
            ("page", &page.to_owned()),
        ] {
            if !value.is_empty() {
                parts.push(format!("{key}={}", encode(value)));
            }
        }
        if parts.is_empty() {
            "/audit".to_owned()
        } else {
            format!("/audit?{}", parts.join("&"))
        }
    };
    let newest = (!first_page).then(|| view! { <a class="button" href=href("")>"← Newest"</a> });
    let older = next.map(|token| view! { <a class="button" href=href(&token)>"Older →"</a> });
    view! { <nav class="pager" aria-label="Pages">{newest}{older}</nav> }
}
