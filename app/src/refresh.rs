//! Data an island was rendered with, read again in the browser when
//! something it shows may have changed (an action of the island's own, or an
//! event on the live stream).

use std::future::Future;

use leptos::prelude::*;

use crate::domain::AppError;

/// `initial`, and then what `fetch` answers each time `trigger`'s value
/// changes (never during server rendering). An answer is taken only if no
/// later change asked again, so a slow answer never overwrites a newer one;
/// a failed read keeps what is shown.
pub fn refreshed<T, K, Fut>(
    initial: T,
    trigger: impl Fn() -> K + 'static,
    fetch: impl Fn() -> Fut + 'static,
) -> ReadSignal<T>
where
    T: Send + Sync + 'static,
    K: 'static,
    Fut: Future<Output = Result<T, AppError>> + 'static,
{
    let value = RwSignal::new(initial);
    let asked = StoredValue::new(0u64);
    Effect::watch(
        trigger,
        move |_, _, _| {
            let this = asked.get_value() + 1;
            asked.set_value(this);
            let answer = fetch();
            leptos::task::spawn_local(async move {
                if let Ok(fresh) = answer.await {
                    if asked.try_get_value() == Some(this) {
                        let _ = value.try_set(fresh);
                    }
                }
            });
        },
        false,
    );
    value.read_only()
}
