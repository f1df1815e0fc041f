//! The table of API tokens the account page and the admin page share, each
//! live one with a button that revokes it.

use leptos::prelude::*;

use crate::api::RevokeToken;
use crate::domain::time::exact;
use crate::domain::{TokenState, TokenView};

/// Tokens, newest first; `owners` adds a column naming whose each one is.
#[component]
pub(super) fn TokenTable(
    tokens: Vec<TokenView>,
    owners: bool,
    revoke: ServerAction<RevokeToken>,
) -> impl IntoView {
    if tokens.is_empty() {
        return view! { <p class="empty" data-testid="tokens-empty">"No API tokens yet."</p> }.into_any();
    }
    let owner_heading = owners.then(|| view! { <th scope="col">"User"</th> });
    view! {
        <div class="table-scroll">
            <table class="data-table" data-testid="token-table">
                <thead>
                    <tr>
                        <th scope="col">"Token"</th>
                        {owner_heading}
                        <th scope="col">"Label"</th>
                        <th scope="col">"May"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col">"State"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {tokens.into_iter().map(|token| view! { <TokenRow token owners revoke/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn TokenRow(token: TokenView, owners: bool, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let may = match (&token.project, token.read_only) {
        (None, false) => "everything".to_owned(),
        (None, true) => "read".to_owned(),
        (Some(p), false) => format!("act in project {p}"),
        (Some(p), true) => format!("read project {p}"),
    };
    let when = |at: &Option<String>, none: &'static str| at.as_deref().map_or_else(|| none.to_owned(), exact);
    let owner = owners.then(|| view! { <td>{token.user.clone()}</td> });
    let state = token.state.as_str();
    let button = (token.state == TokenState::Active).then(|| {
        let label = format!("Revoke {}", token.prefix);
        let prefix = token.prefix.clone();
        view! {
            <ActionForm action=revoke>
                <input type="hidden" name="prefix" value=prefix/>
                <button type="submit" class="button ghost danger" aria-label=label>"Revoke"</button>
            </ActionForm>
        }
    });
    view! {
        <tr data-testid="token-row" data-prefix=token.prefix.clone() data-state=state>
            <td><code>{token.prefix.clone()} "…"</code></td>
            {owner}
            <td>{token.label.clone().unwrap_or_default()}</td>
            <td>{may}</td>
            <td>{exact(&token.created_at)}</td>
            <td>{when(&token.last_used_at, "never")}</td>
            <td>{when(&token.expires_at, "never")}</td>
            <td><span class=format!("token-state token-{state}")>{state}</span></td>
            <td>{button}</td>
        </tr>
    }
}
