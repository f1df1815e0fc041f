//! Telling people what happened: relative times that keep current, toasts
//! for finished jobs (announced to screen readers), and an opt-in browser
//! notification when a workstation is ready while its tab is in the background.

use leptos::prelude::*;

use crate::domain::{time, EventKind, Phase, WorkstationEvent, WorkstationStatus};

/// Milliseconds since the epoch, now.
pub fn now_millis() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    }
}

/// The page's clock, shared by every relative time on it; in the browser it
/// ticks every 15 s, and each island's times read the same one.
struct Clock;

impl Clock {
    fn now() -> f64 {
        #[cfg(feature = "hydrate")]
        {
            CLOCK.with(|clock| clock.get())
        }
        #[cfg(not(feature = "hydrate"))]
        {
            now_millis()
        }
    }
}

#[cfg(feature = "hydrate")]
thread_local! {
    static CLOCK: ArcRwSignal<f64> = {
        let clock = ArcRwSignal::new(now_millis());
        let ticking = clock.clone();
        let _ = set_interval_with_handle(move || ticking.set(now_millis()), std::time::Duration::from_secs(15));
        clock
    };
}

/// "3 min ago", with the exact time on hover.
#[component]
pub fn RelativeTime(#[prop(into)] at: String, #[prop(optional)] prefix: &'static str) -> impl IntoView {
    let millis = time::parse_utc_millis(&at);
    let title = time::exact(&at);
    let shown = at.clone();
    let text = move || match millis {
        Some(ms) => format!("{prefix}{}", time::relative(Clock::now(), ms)),
        None => shown.clone(),
    };
    view! { <time datetime=at title=title>{text}</time> }
}

/// How a toast reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Success,
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Toast {
    id: u64,
    tone: Tone,
    text: String,
}

/// The page's toasts: one list for the whole page, which every island
/// pushes to and the toast region shows.
#[derive(Debug, Clone)]
pub struct Toasts {
    list: ArcRwSignal<Vec<Toast>>,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

#[cfg(feature = "hydrate")]
thread_local! {
    static TOASTS: Toasts = Toasts::new();
}

impl Toasts {
    /// How long a toast stays unless dismissed.
    const SHOWN_FOR: std::time::Duration = std::time::Duration::from_secs(8);

    fn new() -> Self {
        Toasts { list: ArcRwSignal::new(Vec::new()), next: Default::default() }
    }

    /// The page's toasts (on the server, an empty list for the one page).
    pub fn get() -> Self {
        #[cfg(feature = "hydrate")]
        {
            TOASTS.with(Clone::clone)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            Self::new()
        }
    }

    /// Shows `text` for a while.
    pub fn push(&self, tone: Tone, text: String) {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.list.update(|list| {
            list.push(Toast { id, tone, text });
            // Never a wall of them.
            if list.len() > 4 {
                list.remove(0);
            }
        });
        let list = self.list.clone();
        set_timeout(move || list.update(|l| l.retain(|t| t.id != id)), Self::SHOWN_FOR);
    }

    fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|t| t.id != id));
    }
}

/// Where toasts appear; a polite live region, so screen readers read them.
#[island]
pub fn ToastRegion() -> impl IntoView {
    let toasts = Toasts::get();
    let list = toasts.list.clone();
    view! {
        <div class="toasts" role="status" aria-live="polite" data-testid="toasts">
            <For
                each=move || list.get()
                key=|t| t.id
                children=move |t| {
                    let class = match t.tone {
                        Tone::Success => "toast toast-success",
                        Tone::Failure => "toast toast-failure",
                    };
                    let id = t.id;
                    let toasts = toasts.clone();
                    view! {
                        <div class=class data-testid="toast">
                            <p>{t.text}</p>
                            <button type="button" class="toast-close" aria-label="Dismiss"
                                on:click=move |_| toasts.dismiss(id)>"×"</button>
                        </div>
                    }
                }
            />
        </div>
    }
}

/// What to tell the user when `event` ends a job of the workstation `name`;
/// nothing for events that end nothing.
pub fn job_end_message(name: &str, event: &WorkstationEvent) -> Option<(Tone, String)> {
    if event.kind != EventKind::Status {
        return None;
    }
    match event.phase {
        Some(Phase::Deleted) => return Some((Tone::Success, format!("{name} deleted"))),
        Some(_) => return None,
        None => {}
    }
    let message = event.message.clone().unwrap_or_default();
    Some(match event.status {
        WorkstationStatus::Provisioning => return None,
        WorkstationStatus::Error => (Tone::Failure, format!("{name} failed: {message}")),
        WorkstationStatus::Stopped if message.starts_with("Ready") => {
            (Tone::Success, format!("{name} is ready to launch"))
        }
        WorkstationStatus::Stopped if message == "Stopped" => (Tone::Success, format!("{name} stopped")),
        WorkstationStatus::Running if message == "Running" => (Tone::Success, format!("{name} is running")),
        // A launch or stop that failed leaves the status as it was.
        WorkstationStatus::Stopped | WorkstationStatus::Running
            if message.starts_with("Launch failed") || message.starts_with("Stop failed") =>
        {
            (Tone::Failure, format!("{name}: {message}"))
        }
        // Anything else (a reconfiguration, say) ends no job.
        WorkstationStatus::Stopped | WorkstationStatus::Running => return None,
    })
}

/// Tells the user that a job of `name` ended: a toast, and a browser
/// notification when they allowed them and the tab is in the background.
pub fn announce_job_end(name: &str, event: &WorkstationEvent) {
    let Some((tone, text)) = job_end_message(name, event) else {
        return;
    };
    Toasts::get().push(tone, text.clone());
    #[cfg(feature = "hydrate")]
    notify::show(&text);
}

/// Says an auto-stop warning ("Stops in 5 minutes if idle") as a toast and,
/// when allowed and the tab is hidden, a browser notification.
pub fn announce_auto_stop(name: &str, event: &WorkstationEvent) {
    let Some(message) = event.message.as_deref().filter(|m| crate::domain::auto_stop::is_warning(m)) else {
        return;
    };
    let text = format!("{name}: {message}");
    Toasts::get().push(Tone::Failure, text.clone());
    #[cfg(feature = "hydrate")]
    notify::show(&text);
}

/// Offers browser notifications for when a job ends with the tab hidden.
#[component]
pub fn NotifyButton() -> impl IntoView {
    // "default", "granted", "denied" or "unsupported"; what the server renders
    // is replaced by the browser's answer once hydrated.
    let permission = RwSignal::new("default".to_owned());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| permission.set(notify::permission()));
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        notify::request(permission);
    };
    view! {
        {move || match permission.get().as_str() {
            "granted" => view! {
                <p class="hint" data-testid="notify">"You will get a notification when it is done."</p>
            }.into_any(),
            "denied" => view! {
                <p class="hint" data-testid="notify">"Notifications are blocked for this site in your browser."</p>
            }.into_any(),
            "unsupported" => ().into_any(),
            _ => view! {
                <button type="button" class="button ghost" data-testid="notify" on:click=on_click>
                    "Notify me when it is done"
                </button>
            }.into_any(),
        }}
    }
}

#[cfg(feature = "hydrate")]
mod notify {
    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsValue;
    use web_sys::{Notification, NotificationOptions, NotificationPermission};

    fn supported() -> bool {
        js_sys::Reflect::has(&window(), &JsValue::from_str("Notification")).unwrap_or(false)
    }

    fn name(p: NotificationPermission) -> String {
        match p {
            NotificationPermission::Granted => "granted",
            NotificationPermission::Denied => "denied",
            _ => "default",
        }
        .to_owned()
    }

    pub fn permission() -> String {
        if supported() {
            name(Notification::permission())
        } else {
            "unsupported".to_owned()
        }
    }

    pub fn request(into: RwSignal<String>) {
        if !supported() {
            into.set("unsupported".to_owned());
            return;
        }
        let Ok(promise) = Notification::request_permission() else {
            return;
        };
        let done = Closure::<dyn FnMut(JsValue)>::new(move |_| into.set(permission()));
        let _ = promise.then(&done);
        done.forget();
    }

    pub fn show(text: &str) {
        if !supported() || Notification::permission() != NotificationPermission::Granted {
            return;
        }
        if !document().hidden() {
            return;
        }
        let options = NotificationOptions::new();
        options.set_body(text);
        let _ = Notification::new_with_options("Atelier", &options);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: WorkstationStatus, message: &str) -> WorkstationEvent {
        WorkstationEvent {
            id: 1,
            seq: 1,
            workstation_id: "ws-1".into(),
            kind: EventKind::Status,
            status,
            phase: None,
            progress: None,
            message: Some(message.into()),
            at: "2026-11-27T18:00:00Z".into(),
        }
    }

    #[test]
    fn job_ends_are_told_plainly() {
        use WorkstationStatus::*;
        let msg = |e| job_end_message("web-1", &e);
        assert_eq!(
            msg(status(Stopped, "Ready: the workstation is provisioned and stopped")),
            Some((Tone::Success, "web-1 is ready to launch".into()))
        );
        assert_eq!(msg(status(Running, "Running")), Some((Tone::Success, "web-1 is running".into())));
        assert_eq!(msg(status(Stopped, "Stopped")), Some((Tone::Success, "web-1 stopped".into())));
        assert_eq!(
            msg(status(Error, "No capacity")),
            Some((Tone::Failure, "web-1 failed: No capacity".into()))
        );
        assert_eq!(
            msg(status(Stopped, "Launch failed: boom")),
            Some((Tone::Failure, "web-1: Launch failed: boom".into()))
        );
        assert_eq!(
            msg(status(Running, "Stop failed: timeout")),
            Some((Tone::Failure, "web-1: Stop failed: timeout".into()))
        );
        assert_eq!(msg(status(Stopped, "Reconfigured: 16 vCPUs, 64 GB memory")), None);
        assert_eq!(msg(status(Provisioning, "Queued for provisioning")), None);
        let mut phase = status(Stopped, "Delete requested");
        phase.phase = Some(Phase::Deleting);
        assert_eq!(msg(phase.clone()), None);
        phase.phase = Some(Phase::Deleted);
        assert_eq!(msg(phase), Some((Tone::Success, "web-1 deleted".into())));
    }
}
