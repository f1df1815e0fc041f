//! A workstation's page: status, live progress, configuration and history.

use leptos::prelude::*;

use super::auto_stop_notice::AutoStopNotice;
use super::auto_stop_panel::AutoStopPanel;
use super::configuration_rows::ConfigurationRows;
use super::reconfigure_panel::ReconfigurePanel;
use super::status::{ProgressBar, ReconnectingBanner, StatusBadge};
use super::terminal_panel::TerminalPanel;
use super::timeline::Timeline;
use super::workstation_actions::WorkstationActions;
use crate::domain::{
    time, Catalog, EventKind, OwnerKind, Permission, Phase, WorkstationDetail, WorkstationStatus,
};
use crate::feedback::{announce_auto_stop, announce_job_end, now_millis, NotifyButton};
use crate::live::follow_events;

/// A workstation's page: status, live progress with an estimate, the reason
/// of a failure, and the timeline of its events.
#[island]
pub fn WorkstationView(detail: WorkstationDetail, catalog: Catalog) -> impl IntoView {
    let id = detail.state.workstation.id.clone();
    let notice_id = id.clone();
    let owner = detail.state.workstation.owner.clone();
    let state = RwSignal::new(detail.state);
    let events = RwSignal::new(detail.events);
    let started = RwSignal::new(detail.job_started_at);
    let typical = detail.typical_job_seconds;
    let terminal = detail.terminal;
    let role = detail.role;
    // What the caller's role allows (everything in their own account).
    let may = move |what: Permission| role.is_none_or(|r| r.allows(what));
    let project = (owner.kind == OwnerKind::Project).then(|| owner.name.clone());
    let owner_line = project.clone().map(|name| {
        let href = format!("/?project={name}");
        let role = role.map_or("", |r| r.as_str());
        view! {
            <p class="owner-line" data-testid="owner">
                "In project " <a href=href>{name}</a> ", where you are " {if role == "admin" || role == "owner" { "an " } else { "a " }} {role} "."
            </p>
        }
    });
    let now = RwSignal::new(now_millis());

    let live = follow_events(project, detail.last_event_id, move |event| {
        if event.workstation_id != id {
            return;
        }
        if event.kind == EventKind::Phase && started.with_untracked(Option::is_none) {
            started.set(Some(event.at.clone()));
        }
        if event.kind == EventKind::Status && event.status != WorkstationStatus::Provisioning {
            started.set(None);
        }
        state.update(|s| s.apply(&event));
        state.with_untracked(|s| announce_job_end(&s.workstation.name, &event));
        state.with_untracked(|s| announce_auto_stop(&s.workstation.name, &event));
        // The stream starts from the event id read before the history was,
        // so it may replay events the history already holds: the state takes
        // them again (idempotent), the timeline once (its rows are keyed by seq).
        events.update(|list| {
            if !list.iter().any(|e| e.seq == event.seq) {
                list.push(event);
            }
        });
    });
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Ok(handle) =
            set_interval_with_handle(move || now.set(now_millis()), std::time::Duration::from_secs(1))
        {
            on_cleanup(move || handle.clear());
        }
    });

    let eta = move || {
        let typical = typical?;
        let started = started.get()?;
        let elapsed = (now.get() - time::parse_utc_millis(&started)? as f64) / 1000.0;
        Some(if elapsed < typical {
            format!("about {} left", time::short_duration(typical - elapsed))
        } else {
            "taking longer than usual".to_owned()
        })
    };
    let last_lines = move || {
        events.with(|list| {
            let logs: Vec<String> =
                list.iter().filter(|e| e.kind == EventKind::Log).filter_map(|e| e.message.clone()).collect();
            logs[logs.len().saturating_sub(5)..].to_vec()
        })
    };
    let name = move || state.with(|s| s.workstation.name.clone());

    view! {
        <ReconnectingBanner live/>
        <section class="panel" aria-labelledby="ws-title">
            <div class="ws-head">
                <h1 id="ws-title">{name}</h1>
                {move || view! { <StatusBadge status=state.with(|s| s.workstation.status)/> }}
            </div>
            {owner_line}
            <WorkstationActions state role/>
            {may(Permission::Operate).then(|| view! { <AutoStopNotice id=notice_id events/> })}
            <div aria-live="polite" data-testid="activity">
                {move || {
                    let s = state.get();
                    if s.phase == Some(Phase::Deleted) {
                        return view! {
                            <p class="notice">"This workstation has been deleted. Its history stays below."</p>
                        }
                        .into_any();
                    }
                    match s.workstation.status {
                        WorkstationStatus::Provisioning => view! {
                            <ProgressBar phase=s.phase progress=s.progress/>
                            <p class="eta" data-testid="eta">{eta}</p>
                            <NotifyButton/>
                        }
                        .into_any(),
                        WorkstationStatus::Error => view! {
                            <div class="alert" role="alert">
                                <p><strong>{events.with(|list| failure_heading(list))}</strong>{s.reason.clone()}</p>
                                <ul class="log-tail">
                                    {last_lines().into_iter().map(|l| view! { <li><code>{l}</code></li> }).collect_view()}
                                </ul>
                            </div>
                        }
                        .into_any(),
                        _ if s.phase.is_some() => view! { <ProgressBar phase=s.phase progress=s.progress/> }.into_any(),
                        WorkstationStatus::Stopped => view! {
                            <p class="notice">"Provisioned and stopped: ready to launch."</p>
                        }
                        .into_any(),
                        WorkstationStatus::Running => view! { <p class="notice">"Running."</p> }.into_any(),
                    }
                }}
            </div>
            {move || {
                let c = state.with(|s| s.workstation.configuration.clone());
                let id = state.with(|s| s.workstation.id.clone());
                view! {
                    <dl class="ws-spec wide">
                        <ConfigurationRows configuration=c/>
                        <div><dt>"ID"</dt><dd><code>{id}</code></dd></div>
                    </dl>
                }
            }}
        </section>
        {(terminal && may(Permission::Operate)).then(|| view! { <TerminalPanel state/> })}
        {may(Permission::Reconfigure).then(|| view! {
            <AutoStopPanel state catalog=catalog.clone()/>
            <ReconfigurePanel state catalog/>
        })}
        <Timeline events/>
    }
}

/// What the failure alert calls the failure: what the workstation was doing
/// when it failed (the status before its newest `error`).
fn failure_heading(events: &[crate::domain::WorkstationEvent]) -> &'static str {
    let mut statuses = events.iter().rev().filter(|e| e.kind == EventKind::Status).map(|e| e.status);
    let _failed = statuses.next();
    match statuses.next() {
        Some(WorkstationStatus::Running) => "It stopped working. ",
        Some(WorkstationStatus::Stopped) => "Failed. ",
        _ => "Provisioning failed. ",
    }
}

#[cfg(test)]
mod tests {
    use super::failure_heading;
    use crate::domain::{EventKind, WorkstationEvent, WorkstationStatus};

    fn status(status: WorkstationStatus) -> WorkstationEvent {
        WorkstationEvent {
            id: 0,
            workstation_id: "ws".into(),
            seq: 0,
            kind: EventKind::Status,
            status,
            phase: None,
            progress: None,
            message: None,
            at: String::new(),
        }
    }

    #[test]
    fn the_heading_says_what_failed() {
        use WorkstationStatus::*;
        assert_eq!(failure_heading(&[status(Provisioning), status(Error)]), "Provisioning failed. ");
        assert_eq!(
            failure_heading(&[status(Provisioning), status(Stopped), status(Running), status(Error)]),
            "It stopped working. "
        );
        assert_eq!(failure_heading(&[status(Provisioning), status(Stopped), status(Error)]), "Failed. ");
        // A retry that fails again is provisioning again.
        assert_eq!(
            failure_heading(&[status(Running), status(Error), status(Provisioning), status(Error)]),
            "Provisioning failed. "
        );
    }
}
