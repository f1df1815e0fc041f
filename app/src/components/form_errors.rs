//! What a form tells its fields is wrong: the browser's own check of the
//! last submit, or else the server's answer to it.

use leptos::form::FromFormData;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::domain::{auto_stop, pointer, reconfigure::APPLY_POINTER, AppError, FieldError};

/// The errors of one form's fields, and the ids of the inputs they belong
/// to: the form's input ids start with its prefix (`ws-cpu`, `rc-cpu`).
#[derive(Clone, Copy)]
pub(super) struct FormErrors {
    form: &'static str,
    /// The browser's check of the last submit, when it failed; `None` lets
    /// the server's answer show.
    checked: RwSignal<Option<Vec<FieldError>>>,
    shown: Memo<Vec<FieldError>>,
}

impl FormErrors {
    /// The errors of the form submitted by `action`, whose input ids start
    /// with `form`.
    pub fn new<S>(form: &'static str, action: ServerAction<S>) -> Self
    where
        S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
        S::Output: Send + Sync + 'static,
    {
        let checked = RwSignal::new(None::<Vec<FieldError>>);
        let shown = Memo::new(move |_| {
            checked.get().unwrap_or_else(|| {
                action.value().with(|value| match value {
                    Some(Err(e)) => e.field_errors().to_vec(),
                    _ => Vec::new(),
                })
            })
        });
        Self { form, checked, shown }
    }

    /// The id of the form's input for `field`: `cpu` gives `ws-cpu`.
    pub fn id(self, field: &str) -> String {
        format!("{}-{field}", self.form)
    }

    /// The message for the field at `pointer`, while it has one.
    pub fn of(self, pointer: &'static str) -> Signal<Option<String>> {
        let shown = self.shown;
        Signal::derive(move || {
            shown.with(|errors| errors.iter().find(|e| e.pointer == pointer).map(|e| e.detail.clone()))
        })
    }

    /// Whether the errors shown are the browser's check, not the server's answer.
    pub fn checked_here(self) -> bool {
        self.checked.with(Option::is_some)
    }

    /// Handles the form's submit in the browser: reads the fields as the
    /// server function's input, runs `check` on it (the same `parse` as the
    /// server's), and sends it when it passes; otherwise shows the errors
    /// and moves focus to the first.
    pub fn submit<S, T>(
        self,
        ev: &leptos::ev::SubmitEvent,
        action: ServerAction<S>,
        check: impl FnOnce(&S) -> Result<T, Vec<FieldError>>,
    ) where
        S: FromFormData + ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
        S::Output: Send + Sync + 'static,
    {
        ev.prevent_default();
        let input = match S::from_event(ev) {
            Ok(input) => input,
            Err(e) => {
                self.checked.set(Some(vec![FieldError::new(pointer::ROOT, e.to_string())]));
                return;
            }
        };
        match check(&input) {
            Ok(_) => {
                self.checked.set(None);
                action.dispatch(input);
            }
            Err(errors) => {
                self.focus_first(&errors);
                self.checked.set(Some(errors));
            }
        }
    }

    /// Moves keyboard focus to the first of the form's inputs with an error
    /// in `errors`, once the messages are on the page (so a screen reader
    /// reads them too).
    pub fn focus_first(self, errors: &[FieldError]) {
        #[cfg(feature = "hydrate")]
        if let Some(id) = errors.iter().find_map(|e| input_field(&e.pointer)).map(|field| self.id(field)) {
            request_animation_frame(move || {
                use leptos::wasm_bindgen::JsCast;
                if let Some(el) = document()
                    .get_element_by_id(&id)
                    .and_then(|el| el.dyn_into::<leptos::web_sys::HtmlElement>().ok())
                {
                    let _ = el.focus();
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (self, errors);
    }
}

/// Whether an error at `pointer` belongs to one of the inputs (else to the
/// whole form).
pub(super) fn has_input(pointer_: &str) -> bool {
    input_field(pointer_).is_some()
}

/// The field (the end of an input's id) an error at `pointer` belongs to.
fn input_field(pointer_: &str) -> Option<&'static str> {
    Some(match pointer_ {
        pointer::NAME => "name",
        pointer::CPU_CORES => "cpu",
        pointer::MEMORY_GB => "memory",
        pointer::GPU => "gpu",
        pointer::STORAGE_GB => "storage",
        pointer::REGION => "region",
        APPLY_POINTER => "apply",
        auto_stop::IDLE_POINTER | auto_stop::POINTER => "idle",
        auto_stop::RUNNING_POINTER => "running",
        _ => return None,
    })
}
