//! The browser entry: hydrates the islands of the server-rendered page (the
//! parts that change in the browser; the rest is plain HTML).

use leptos::prelude::*;

/// Called by the generated JS once the wasm module is loaded.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // A server function that answers with a redirect (signing in and out)
    // goes there, as a form posted without JavaScript does.
    let _ = leptos::server_fn::redirect::set_redirect_hook(|to: &str| {
        let _ = window().location().set_href(to);
    });
    app::hydrate_islands();
    // Marks the page as live; browser tests wait for it before clicking.
    // The User Timing mark says when, from the navigation's start (the
    // benchmark reads it; so can the browser's tools).
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
    if let Some(performance) = window().performance() {
        let _ = performance.mark("atelier:hydrated");
    }
}
