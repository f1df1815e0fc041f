//! Atelier's shared crate: domain types and validation (browser and server),
//! the pages, their server functions, and (with `ssr`) the backend.

#![recursion_limit = "256"]

pub mod api;
pub mod codec;
pub mod components;
pub mod domain;
pub mod feedback;
pub mod live;
pub mod pages;
pub mod refresh;

#[cfg(feature = "ssr")]
pub mod backend;
#[cfg(feature = "ssr")]
pub mod page_token;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, SsrMode, StaticSegment};

/// The pages' Content-Security-Policy: scripts only from here, the inline
/// hydration scripts by this response's nonce, and the wasm; styles from
/// here and the `<style>` elements the terminal (xterm.js) adds, which
/// `/terminal.js` gives the same nonce. No inline style attributes.
pub fn page_csp(nonce: Option<&str>) -> String {
    let inline = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{inline} 'wasm-unsafe-eval'; style-src 'self'{inline}; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Hydrates the page's islands (the components marked `#[island]`: the
/// parts of a page that change in the browser). Called from here, the crate
/// that holds the islands, so that the browser's module links them.
#[cfg(feature = "hydrate")]
pub fn hydrate_islands() {
    leptos::mount::hydrate_islands();
}

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let nonce = leptos::nonce::use_nonce().map(|n| n.to_string());
        if let Ok(value) = http::HeaderValue::from_str(&page_csp(nonce.as_deref())) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                // The Terminal panel's behaviour (see components/terminal_panel.rs).
                <script type="module" src="/terminal.js" nonce=leptos::nonce::use_nonce()></script>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: routes and document-wide head tags.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/atelier.css"/>
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Meta name="color-scheme" content="light dark"/>
        <Router>
            <Routes fallback=pages::NotFoundPage>
                // Async: the whole page, data included, is rendered before the
                // first byte, so redirects work and pages need no JavaScript.
                <Route path=StaticSegment("") view=pages::HomePage ssr=SsrMode::Async/>
                <Route path=StaticSegment("sign-in") view=pages::SignInPage ssr=SsrMode::Async/>
                <Route path=StaticSegment("audit") view=pages::AuditPage ssr=SsrMode::Async/>
                <Route path=StaticSegment("account") view=pages::AccountPage ssr=SsrMode::Async/>
                <Route path=StaticSegment("admin") view=pages::AdminPage ssr=SsrMode::Async/>
                <Route
                    path=(StaticSegment("projects"), ParamSegment("project"))
                    view=pages::ProjectPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("workstations"), ParamSegment("id"))
                    view=pages::WorkstationPage
                    ssr=SsrMode::Async
                />
            </Routes>
        </Router>
        <feedback::ToastRegion/>
    }
}
