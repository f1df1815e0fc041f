//! Single sign-on's refusals that happen before the provider is asked (a
//! forged or replayed state, another browser's, too late, the provider's
//! own error, an unreachable provider), each sent back to the sign-in page
//! with its reason and recorded. The whole flow against a real provider is
//! the browser suite's (`end2end/tests/sign_on.spec.ts`).

use app::backend::sso;
use app::backend::state::SignOnSettings;
use app::domain::sso::SignOnError;

use crate::helpers::TestApp;

fn settings(issuer: &str) -> SignOnSettings {
    SignOnSettings {
        issuer: issuer.to_owned(),
        client_id: "atelier".to_owned(),
        client_secret: "secret".to_owned(),
        provider_name: "Test IdP".to_owned(),
        username_claim: "preferred_username".to_owned(),
        groups_claim: "groups".to_owned(),
        allowed_domains: Vec::new(),
        allowed_groups: Vec::new(),
        public_url: None,
    }
}

/// Where a callback with `query`, sent with the browser cookie `browser`, goes.
async fn callback(app: &TestApp, query: &str, browser: Option<&str>) -> String {
    let mut req = app.client.get(app.url(&format!("/auth/oidc/callback?{query}")));
    if let Some(browser) = browser {
        req = req.header("cookie", format!("atelier_oidc={browser}"));
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303, "{:?}", res.headers());
    res.headers()["location"].to_str().unwrap().to_owned()
}

fn to_sign_in(error: SignOnError) -> String {
    format!("/sign-in?error={}", error.code())
}

#[tokio::test]
async fn a_forged_replayed_foreign_or_late_state_is_refused_and_recorded() {
    // No provider answers here: every refusal below comes before it is asked.
    let app = TestApp::spawn_with(|o| o.settings.sign_on = Some(settings("http://127.0.0.1:9/"))).await;
    let admin = app.token_for("root").await;
    let root = app::backend::store::find_user(&app.state.pool, "root").await.unwrap().unwrap();
    app::backend::store::set_admin(&app.state.pool, root.id, true).await.unwrap();
    let pool = &app.state.pool;

    sso::begin(pool, "state-one", "nonce", "verifier", "browser-one").await.unwrap();
    // Forged: a state nobody began.
    assert_eq!(
        callback(&app, "code=x&state=forged", Some("browser-one")).await,
        to_sign_in(SignOnError::State)
    );
    // Another browser's: refused, and the sign-in is spent all the same.
    assert_eq!(callback(&app, "code=x&state=state-one", Some("other")).await, to_sign_in(SignOnError::State));
    assert_eq!(
        callback(&app, "code=x&state=state-one", Some("browser-one")).await,
        to_sign_in(SignOnError::State)
    );
    // No cookie at all.
    sso::begin(pool, "state-two", "nonce", "verifier", "browser-two").await.unwrap();
    assert_eq!(callback(&app, "code=x&state=state-two", None).await, to_sign_in(SignOnError::State));
    // The provider's own refusal.
    sso::begin(pool, "state-three", "nonce", "verifier", "browser-three").await.unwrap();
    let denied = "error=access_denied&error_description=no&state=state-three";
    assert_eq!(callback(&app, denied, Some("browser-three")).await, to_sign_in(SignOnError::ProviderRefused));
    // Too late: begun more than ten minutes ago.
    sso::begin(pool, "state-four", "nonce", "verifier", "browser-four").await.unwrap();
    let late = "UPDATE oidc_logins SET expires_at = '2020-01-01T00:00:00.000Z'";
    match pool {
        app::backend::store::Db::Sqlite(p, _) => sqlx::query(late).execute(p).await.map(|_| ()),
        app::backend::store::Db::Postgres(p) => sqlx::query(late).execute(p).await.map(|_| ()),
    }
    .unwrap();
    assert_eq!(
        callback(&app, "code=x&state=state-four", Some("browser-four")).await,
        to_sign_in(SignOnError::TooSlow)
    );
    // No state at all.
    assert_eq!(callback(&app, "code=x", Some("browser-four")).await, to_sign_in(SignOnError::State));

    app.state.audit.flush().await;
    let page = app.get_json("/v1/audit?action=session.sign_in", &admin).await;
    let records = page["records"].as_array().unwrap();
    assert_eq!(records.len(), 7, "{page}");
    assert!(
        records.iter().all(|r| r["outcome"] == "refused" && r["actor"]["credential"] == "oidc"),
        "{page}"
    );
    assert!(records[1]["detail"].as_str().unwrap().starts_with(SignOnError::TooSlow.message()), "{page}");
}

#[tokio::test]
async fn an_unreachable_provider_is_said_and_the_sign_in_page_offers_the_provider() {
    let app = TestApp::spawn_with(|o| o.settings.sign_on = Some(settings("http://127.0.0.1:9/"))).await;
    let res = app.client.get(app.url("/auth/oidc/start")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], to_sign_in(SignOnError::Unavailable).as_str());

    let page =
        app.client.get(app.url("/sign-in?error=unavailable")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(">Sign in with Test IdP</a>"), "{page}");
    assert!(page.contains(SignOnError::Unavailable.message()), "{page}");
    // An unknown code says nothing.
    let page = app.client.get(app.url("/sign-in?error=made-up")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("sign-on-error"), "{page}");

    // Without a provider there is neither the button nor the routes.
    let plain = TestApp::spawn().await;
    let page = plain.client.get(plain.url("/sign-in")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("Sign in with"), "{page}");
    let res = plain.client.get(plain.url("/auth/oidc/start")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
}

/// Which user an identity from the provider signs in as: a new one of its
/// name; the same one ever after, whatever its name becomes; an existing
/// user of that name only when the name is vouched for (never one another
/// identity holds); never a disabled one.
#[tokio::test]
async fn an_identity_takes_an_existing_user_only_when_its_name_is_vouched_for() {
    use app::backend::store;
    let app = TestApp::spawn().await;
    let db = &app.state.pool;
    let issuer = "https://idp.example";
    let who = |subject: &'static str, name: &'static str| sso::Identity { issuer, subject, name };

    let (ada, created) = sso::user_for(db, who("s-ada", "ada"), false).await.unwrap().unwrap();
    assert!(created && ada.name == "ada");
    let (again, created) = sso::user_for(db, who("s-ada", "ada-renamed"), false).await.unwrap().unwrap();
    assert_eq!((again.id, created), (ada.id, false), "the subject keeps its user whatever its name becomes");

    // An operator made `root`: a name anyone may choose at the provider does not take it.
    let root = store::create_user(db, "root").await.unwrap();
    assert_eq!(
        sso::user_for(db, who("s-mallory", "root"), false).await.unwrap(),
        Err(SignOnError::NameTaken)
    );
    let (taken, created) = sso::user_for(db, who("s-root", "root"), true).await.unwrap().unwrap();
    assert_eq!((taken.id, created), (root.id, false), "a vouched-for name takes the operator's user");
    // Now linked: no other identity takes it, vouched for or not.
    assert_eq!(sso::user_for(db, who("s-other", "root"), true).await.unwrap(), Err(SignOnError::BadName));

    // Two identities of one vouched-for name signing in at the same moment:
    // one of them takes the user, the other is refused.
    let eve = store::create_user(db, "eve").await.unwrap();
    let (first, second) = tokio::join!(
        sso::user_for(db, who("s-eve-1", "eve"), true),
        sso::user_for(db, who("s-eve-2", "eve"), true)
    );
    let outcomes = [first.unwrap(), second.unwrap()];
    let taken: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(taken.len(), 1, "one identity takes eve: {outcomes:?}");
    assert_eq!(taken[0].0.id, eve.id);
    // The store links no second identity of a provider to a user.
    assert!(!store::link_identity(db, issuer, "s-eve-3", eve.id).await.unwrap());

    store::set_user_disabled(db, ada.id, true).await.unwrap();
    assert_eq!(sso::user_for(db, who("s-ada", "ada"), false).await.unwrap(), Err(SignOnError::Disabled));
}
