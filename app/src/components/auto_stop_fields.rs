//! The two auto-stop pickers (idle and running timeouts), written once for
//! the create form and the workstation's auto-stop panel.

use leptos::prelude::*;

use super::field::{aria_describedby, aria_invalid, Field};
use super::form_errors::FormErrors;
use crate::domain::auto_stop::{span, IDLE_POINTER, MAX_SECS, RUNNING_POINTER};
use crate::domain::AutoStopLimits;

/// Idle timeouts offered (seconds).
const IDLE_CHOICES: [u64; 7] = [900, 1800, 3600, 7200, 14_400, 28_800, 86_400];
/// Running timeouts offered (seconds).
const RUNNING_CHOICES: [u64; 7] = [3600, 7200, 14_400, 28_800, 43_200, 86_400, 604_800];

/// The idle and running pickers, each with `selected` chosen (seconds as
/// text; empty is the server's default, offered only when `with_default`).
#[component]
pub(super) fn AutoStopFields(
    limits: AutoStopLimits,
    idle: String,
    running: String,
    errors: FormErrors,
    #[prop(optional)] with_default: bool,
) -> impl IntoView {
    let idle_options =
        options(&IDLE_CHOICES, &limits, limits.defaults.idle_timeout_seconds, &idle, with_default);
    let running_options =
        options(&RUNNING_CHOICES, &limits, limits.defaults.running_timeout_seconds, &running, with_default);
    view! {
        <div class="row">
            <Picker label="Stop when idle for" id=errors.id("idle") name="idle_timeout" options=idle_options
                selected=idle hint="No terminal open, no activity." error=errors.of(IDLE_POINTER)/>
            <Picker label="Stop after running for" id=errors.id("running") name="running_timeout"
                options=running_options selected=running hint="Active or not." error=errors.of(RUNNING_POINTER)/>
        </div>
    }
}

/// (value, text) of each choice: the server's default (when asked for),
/// never, the offered timeouts the server allows, and the one chosen now if
/// it is none of those.
fn options(
    choices: &[u64],
    limits: &AutoStopLimits,
    default: u64,
    selected: &str,
    with_default: bool,
) -> Vec<(String, String)> {
    let words = |secs: u64| if secs == 0 { "Never".to_owned() } else { span(secs) };
    let mut list = Vec::new();
    if with_default {
        list.push((String::new(), format!("Default ({})", words(default).to_lowercase())));
    }
    list.push(("0".to_owned(), "Never".to_owned()));
    let allowed = |s: &u64| *s >= limits.min_seconds && *s <= MAX_SECS;
    let mut offered: Vec<u64> = choices.iter().copied().filter(allowed).collect();
    if let Ok(now) = selected.parse::<u64>() {
        if now > 0 && !offered.contains(&now) {
            offered.push(now);
            offered.sort_unstable();
        }
    }
    list.extend(offered.into_iter().map(|s| (s.to_string(), words(s))));
    list
}

/// One picker with its label, hint and error message.
#[component]
fn Picker(
    label: &'static str,
    id: String,
    name: &'static str,
    options: Vec<(String, String)>,
    selected: String,
    hint: &'static str,
    error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <Field label id=id.clone() hint error>
            <select id=id.clone() name=name aria-invalid=aria_invalid(error)
                aria-describedby=aria_describedby(id, error)>
                {options.into_iter().map(|(value, text)| {
                    let chosen = value == selected;
                    view! { <option value=value selected=chosen>{text}</option> }
                }).collect_view()}
            </select>
        </Field>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AutoStop;

    #[test]
    fn choices_follow_the_servers_rules() {
        let limits = AutoStopLimits {
            min_seconds: 1800,
            defaults: AutoStop { idle_timeout_seconds: 3600, running_timeout_seconds: 0 },
        };
        let values = |list: Vec<(String, String)>| list.into_iter().map(|(v, _)| v).collect::<Vec<_>>();
        let idle = options(&IDLE_CHOICES, &limits, 3600, "", true);
        assert_eq!(idle[0], (String::new(), "Default (1 hour)".to_owned()));
        assert_eq!(values(idle)[1..], ["0", "1800", "3600", "7200", "14400", "28800", "86400"]);
        // A timeout set through the API stays choosable.
        assert_eq!(values(options(&IDLE_CHOICES, &limits, 0, "2000", false))[..3], ["0", "1800", "2000"]);
        assert_eq!(options(&RUNNING_CHOICES, &limits, 0, "", true)[0].1, "Default (never)");
    }
}
