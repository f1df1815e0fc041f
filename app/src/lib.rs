//! Atelier's shared crate: domain types and validation (browser and server),
//! the pages, their server functions, and (with `ssr`) the backend.

#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod domain;
pub mod feedback;
pub mod live;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod backend;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, SsrMode, StaticSegment};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
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
    feedback::Clock::provide();
    feedback::Toasts::provide();
    // Marks the page as live; browser tests wait for it before clicking.
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
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
