//! The workstation page's Terminal panel: a shell in the running
//! workstation, drawn by xterm.js. The panel is markup only; `/terminal.js`
//! (a module served from here, allowed by the page's CSP) opens the
//! terminal when its button is pressed, reconnects by itself, and opens
//! again after a reload with what was missed.

use leptos::prelude::*;

use crate::domain::{WorkstationState, WorkstationStatus};

/// Shown while the workstation runs with nothing in progress.
#[component]
pub fn TerminalPanel(state: RwSignal<WorkstationState>) -> impl IntoView {
    let running = Memo::new(move |_| {
        state.with(|s| s.workstation.status == WorkstationStatus::Running && s.phase.is_none())
    });
    let id = state.with_untracked(|s| s.workstation.id.clone());
    view! {
        <Show when=move || running.get()>
            <section class="panel terminal-panel" aria-labelledby="terminal-title" data-terminal=id.clone()>
                <div class="terminal-head">
                    <h2 id="terminal-title">"Terminal"</h2>
                    <button type="button" class="button" data-terminal-open>"Open terminal"</button>
                </div>
                <p class="terminal-banner" data-terminal-banner role="status" aria-live="polite"></p>
                <noscript><p class="notice">"The terminal needs JavaScript; `atelier shell` opens the same shell from a terminal."</p></noscript>
                <div class="terminal-screen" data-terminal-screen></div>
            </section>
        </Show>
    }
}
