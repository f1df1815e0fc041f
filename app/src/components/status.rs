//! How a workstation is doing, and whether its news is live: the status
//! badge, the progress bar of a job, the banner while updates are paused.

use leptos::prelude::*;

use crate::domain::{Phase, WorkstationStatus};
use crate::live::LiveStatus;

/// A status badge.
#[component]
pub fn StatusBadge(status: WorkstationStatus) -> impl IntoView {
    let status = status.as_str();
    view! { <span class=format!("badge badge-{status}") data-testid="status">{status}</span> }
}

/// A labelled progress bar for a job in `phase`, `progress` percent done.
#[component]
pub(super) fn ProgressBar(phase: Option<Phase>, progress: Option<u8>) -> impl IntoView {
    let percent = progress.unwrap_or(0);
    let label = phase_label(phase.as_ref(), progress);
    view! {
        // A native <progress>: no inline style, which the page's CSP forbids.
        <div class="progress-row">
            <progress class="progress" max="100" value=percent aria-label=label.clone()>{format!("{percent}%")}</progress>
            <span class="progress-text">{label}</span>
        </div>
    }
}

/// "booting · 65%".
fn phase_label(phase: Option<&Phase>, progress: Option<u8>) -> String {
    let phase = phase.map_or_else(|| "working".to_owned(), Phase::words);
    match progress {
        Some(p) => format!("{phase} · {p}%"),
        None => phase,
    }
}

/// Says so while the live stream is down.
#[component]
pub(super) fn ReconnectingBanner(live: LiveStatus) -> impl IntoView {
    view! {
        <Show when=move || !live.connected.get()>
            <p class="banner" role="status">"Live updates are paused: reconnecting…"</p>
        </Show>
    }
}
