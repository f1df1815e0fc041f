//! The instance's admin page: users (created, disabled, enabled) and
//! everyone's API tokens (revoked), for the instance's admins only.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

use super::authenticated::Authenticated;
use super::tokens::TokenTable;
use crate::api::{get_admin, CreateUser, RevokeToken, SetUserDisabled};
use crate::components::ErrorNotice;
use crate::domain::time::exact;
use crate::domain::{AdminPage, AppError, UserView};

/// The admin page.
#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Title text="Administration · Atelier"/>
        <Authenticated>
            <Admin/>
        </Authenticated>
    }
}

#[component]
fn Admin() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let disable = ServerAction::<SetUserDisabled>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let page = Resource::new(
        move || (create.version().get(), disable.version().get(), revoke.version().get()),
        |_| get_admin(),
    );
    view! {
        <main class="page admin">
            <p class="back"><a href="/">"← All workstations"</a></p>
            <h1>"Administration"</h1>
            <Transition fallback=|| view! { <div class="skeleton list-skeleton"></div> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => Either::Left(view! { <AdminView page create disable revoke/> }),
                        Err(error) => Either::Right(view! { <ErrorNotice error/> }),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn AdminView(
    page: AdminPage,
    create: ServerAction<CreateUser>,
    disable: ServerAction<SetUserDisabled>,
    revoke: ServerAction<RevokeToken>,
) -> impl IntoView {
    let action_error = move || {
        let disable = disable.value().get().and_then(Result::err);
        let revoke = revoke.value().get().and_then(Result::err);
        disable.or(revoke).map(|error| view! { <ErrorNotice error/> })
    };
    view! {
        <section class="panel" aria-labelledby="users-heading">
            <h2 id="users-heading">"Users"</h2>
            <p class="muted">
                "A disabled user's tokens stop working and their sessions end at once; "
                "their workstations keep running. Enabling them brings their tokens back."
            </p>
            <NewUserForm create/>
            {action_error}
            <div class="table-scroll">
                <table class="data-table" data-testid="user-table">
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"Live tokens"</th>
                            <th scope="col">"State"</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.users.into_iter().map(|user| view! { <UserRow user disable/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <section class="panel" aria-labelledby="all-tokens-heading">
            <h2 id="all-tokens-heading">"Everyone's API tokens"</h2>
            <TokenTable tokens=page.tokens owners=true revoke/>
        </section>
    }
}

#[component]
fn UserRow(user: UserView, disable: ServerAction<SetUserDisabled>) -> impl IntoView {
    let (state, disabled, button) = match &user.disabled_at {
        Some(at) => (format!("disabled since {}", exact(at)), "no", "Enable"),
        None => ("active".to_owned(), "yes", "Disable"),
    };
    let admin = user.admin.then(|| view! { " " <span class="badge">"admin"</span> });
    let label = format!("{button} {}", user.name);
    let name = user.name.clone();
    view! {
        <tr data-testid="user-row" data-name=user.name.clone() data-disabled=user.disabled_at.is_some().to_string()>
            <td>{user.name.clone()} {admin}</td>
            <td>{exact(&user.created_at)}</td>
            <td>{user.live_tokens}</td>
            <td>{state}</td>
            <td>
                <ActionForm action=disable>
                    <input type="hidden" name="name" value=name/>
                    <input type="hidden" name="disabled" value=disabled/>
                    <button type="submit" class="button ghost" aria-label=label>{button}</button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// Creates a user; they sign in with a token an admin makes for them
/// (`atelier token create --user NAME`).
#[component]
fn NewUserForm(create: ServerAction<CreateUser>) -> impl IntoView {
    let name_error = move || match create.value().get() {
        Some(Err(AppError::Invalid { errors, .. })) => errors.into_iter().next().map(|e| e.detail),
        _ => None,
    };
    let other_error = move || match create.value().get() {
        Some(Err(AppError::Invalid { .. })) | None => None,
        Some(Ok(())) => Some(view! { <p class="notice" role="status">"User created."</p> }.into_any()),
        Some(Err(error)) => Some(view! { <ErrorNotice error/> }.into_any()),
    };
    view! {
        <ActionForm action=create attr:class="ws-form user-form" attr:aria-label="New user">
            {other_error}
            <div class="field" class:invalid=move || name_error().is_some()>
                <label for="user-name">"Name"</label>
                <input id="user-name" name="name" type="text" autocomplete="off" spellcheck="false"
                    aria-invalid=move || name_error().is_some().to_string()
                    aria-describedby="user-name-error"/>
                <p class="field-error" id="user-name-error">{name_error}</p>
            </div>
            <div class="field checkbox">
                <label><input type="checkbox" name="admin" value="on"/> " Admin of this instance"</label>
            </div>
            <button type="submit" class="button primary" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create user" }}
            </button>
        </ActionForm>
    }
}
