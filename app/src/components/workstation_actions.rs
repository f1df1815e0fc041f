//! The buttons that act on one workstation.

use leptos::prelude::*;

use super::error_notice::ErrorNotice;
use crate::api::WorkstationAction;
use crate::domain::{allowed_actions, Action, Permission, Phase, Role, WorkstationState};

/// A button for each action the workstation allows now (launch, stop,
/// cancel, retry, delete), each saying so while its action is on its way,
/// and the reason when the server refuses one.
#[component]
pub(super) fn WorkstationActions(
    state: RwSignal<WorkstationState>,
    /// The caller's role when the workstation is a project's: only the
    /// actions it allows get a button.
    role: Option<Role>,
) -> impl IntoView {
    let act = ServerAction::<WorkstationAction>::new();
    let form_id = state.with_untracked(|s| s.workstation.id.clone());
    let actions = move || {
        if state.with(|s| s.phase == Some(Phase::Deleted)) {
            return Vec::new();
        }
        state
            .with(|s| allowed_actions(s.workstation.status, s.phase.as_ref()))
            .into_iter()
            .filter(|a| *a != Action::Reconfigure)
            .filter(|a| role.is_none_or(|r| r.allows(Permission::of_action(*a))))
            .collect::<Vec<_>>()
    };
    let on_click = move |ev: leptos::ev::MouseEvent, action: Action| {
        #[cfg(feature = "hydrate")]
        if action == Action::Delete {
            let sure = window()
                .confirm_with_message("Delete this workstation? Its disk is released; its history stays.")
                .unwrap_or(false);
            if !sure {
                ev.prevent_default();
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, action);
    };
    view! {
        <ActionForm action=act attr:class="actions">
            <input type="hidden" name="id" value=form_id/>
            {move || {
                actions()
                    .into_iter()
                    .map(|a| {
                        let class = if a == Action::Delete { "button danger" } else { "button" };
                        view! {
                            <button
                                type="submit"
                                name="action"
                                value=a.as_str()
                                class=class
                                disabled=move || act.pending().get()
                                on:click=move |ev| on_click(ev, a)
                            >
                                {move || {
                                    let pending = act.input().with(|i| i.as_ref().is_some_and(|i| i.action == a.as_str()));
                                    if pending { pending_label(a) } else { action_label(a) }
                                }}
                            </button>
                        }
                    })
                    .collect_view()
            }}
        </ActionForm>
        {move || act.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
    }
}

/// What a button says.
fn action_label(action: Action) -> &'static str {
    match action {
        Action::Launch => "Launch",
        Action::Stop => "Stop",
        Action::Cancel => "Cancel provisioning",
        Action::Retry => "Retry provisioning",
        Action::Delete => "Delete",
        Action::Reconfigure => "Reconfigure",
    }
}

/// What a button says while its action is on its way.
fn pending_label(action: Action) -> &'static str {
    match action {
        Action::Launch => "Launching…",
        Action::Stop => "Stopping…",
        Action::Cancel => "Cancelling…",
        Action::Retry => "Retrying…",
        Action::Delete => "Deleting…",
        Action::Reconfigure => "Saving…",
    }
}
