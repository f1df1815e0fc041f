//! Links between the pages of the list.

use leptos::prelude::*;

use crate::domain::ListQuery;

/// Links to older workstations and back to the newest.
#[component]
pub(super) fn Pager(query: ListQuery, next: Option<String>, first_page: bool) -> impl IntoView {
    let href = |page: &str| {
        let mut parts = Vec::new();
        for (key, value) in [
            ("project", &query.project),
            ("status", &query.status),
            ("region", &query.region),
            ("gpu", &query.gpu),
            ("q", &query.q),
        ] {
            if !value.is_empty() {
                parts.push(format!("{key}={}", encode(value)));
            }
        }
        if !page.is_empty() {
            parts.push(format!("page={}", encode(page)));
        }
        if parts.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{}", parts.join("&"))
        }
    };
    let newest = (!first_page).then(|| view! { <a class="button" href=href("")>"← Newest"</a> });
    let older = next.map(|token| view! { <a class="button" href=href(&token)>"Older →"</a> });
    view! { <nav class="pager" aria-label="Pages">{newest}{older}</nav> }
}

/// Percent-encodes a query value.
pub(super) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
