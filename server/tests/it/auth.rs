use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::Value;
use server::db::entities::organization;
use server::services::demo;

use crate::support::TestApp;

const OWNER: &str = "owner@demo.hitch.test";
const OWNER_PASSWORD: &str = "hitch-demo-2026";

/// A sign-in from `address`, as a proxy Hitch trusts would report it, on a fresh client.
async fn sign_in_from(
    app: &TestApp,
    address: &str,
    email: &str,
    password: &str,
) -> (StatusCode, Value) {
    sign_in_at(&app.base, address, email, password).await
}

/// Like [`sign_in_from`], at the server answering on `base`.
async fn sign_in_at(base: &str, address: &str, email: &str, password: &str) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}/rpc/auth/login"))
        .header("X-Forwarded-For", address)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("login");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Five wrong passwords for one account from one address pause that account there for
/// 15 minutes, even for the right password; the manager at another address, and
/// another account from the same one, still get in. Typos followed by the right
/// password are forgiven.
#[tokio::test]
async fn repeated_wrong_passwords_pause_sign_in_for_that_account_and_address() {
    let Some(app) = TestApp::spawn_with(|c| c.trusted_proxies = "127.0.0.1, ::1".into()).await
    else {
        return;
    };
    let org = organization::Entity::find_by_id(&app.org_id)
        .one(&app.db)
        .await
        .expect("org")
        .expect("demo org");
    let role = app::model::auth::Role::Admin;
    demo::upsert_user(
        &app.db,
        &org,
        "host@demo.hitch.test",
        "Host",
        "host-password-1",
        role,
    )
    .await
    .expect("second user");

    let attacker = "203.0.113.9";
    for _ in 0..4 {
        let (status, _) = sign_in_from(&app, attacker, OWNER, "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = sign_in_from(&app, attacker, OWNER, OWNER_PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "four typos, then the right password"
    );
    for _ in 0..5 {
        let (status, _) = sign_in_from(&app, attacker, &OWNER.to_uppercase(), "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = sign_in_from(&app, attacker, OWNER, OWNER_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "rate_limited");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("try again in 15 minutes"), "{detail}");

    let (status, body) = sign_in_from(&app, "198.51.100.4", OWNER, OWNER_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "the owner elsewhere: {body}");
    let (status, body) =
        sign_in_from(&app, attacker, "host@demo.hitch.test", "host-password-1").await;
    assert_eq!(status, StatusCode::OK, "another account from there: {body}");
}

/// Guesses sent all at once get no more tries than guesses sent one by one.
#[tokio::test]
async fn simultaneous_guesses_share_the_same_five_tries() {
    let Some(app) = TestApp::spawn_with(|c| c.trusted_proxies = "127.0.0.1, ::1".into()).await
    else {
        return;
    };
    let guesses = (0..20).map(|n| {
        let app = &app;
        async move { sign_in_from(app, "203.0.113.20", OWNER, &format!("guess-{n}")).await }
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    let paused = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, paused), (5, 15), "{answers:?}");
}

/// Behind one load balancer, two servers on one PostgreSQL share the five tries: the
/// sixth wrong password is paused whichever server it reaches, and a restart would
/// not forget the count either. The owner at another address still gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_allow_the_five_tries_once() {
    let Some(app) = TestApp::spawn_with(|c| c.trusted_proxies = "127.0.0.1, ::1".into()).await
    else {
        return;
    };
    if !app.is_postgres() {
        eprintln!("several servers share one PostgreSQL only");
        return;
    }
    let (_second, second) = app
        .second_server(&[("HITCH_TRUSTED_PROXIES", "127.0.0.1, ::1")])
        .await;
    let attacker = "203.0.113.30";
    for n in 0..5 {
        let base = if n % 2 == 0 { &app.base } else { &second };
        let (status, body) = sign_in_at(base, attacker, OWNER, &format!("guess-{n}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "try {n}: {body}");
    }
    for base in [&app.base, &second] {
        let (status, body) = sign_in_at(base, attacker, OWNER, "guess-again").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{base}: {body}");
    }
    let (status, body) = sign_in_at(&second, "203.0.113.31", OWNER, OWNER_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// One address trying a list of emails is paused after 30 wrong sign-ins in all.
#[tokio::test]
async fn an_address_trying_many_accounts_is_paused() {
    let Some(app) = TestApp::spawn_with(|c| c.trusted_proxies = "127.0.0.1, ::1".into()).await
    else {
        return;
    };
    let sprayer = "203.0.113.50";
    for n in 0..30 {
        let email = format!("user{n}@example.com");
        let (status, _) = sign_in_from(&app, sprayer, &email, "Summer2026!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let (status, body) = sign_in_from(&app, sprayer, OWNER, OWNER_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (status, _) = sign_in_from(&app, "203.0.113.51", OWNER, OWNER_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_is_refused_and_data_stays_private() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (status, body) = app
        .post(
            "/rpc/auth/login",
            &[("email", "owner@demo.hitch.test"), ("password", "guess")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "bad_credentials");

    let (status, body) = app
        .post("/rpc/bookings/list", &[("filter[page]", "1")])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthenticated");
}

#[tokio::test]
async fn session_cookie_is_http_only_and_logout_ends_it() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let res = app
        .client
        .post(format!("{}/rpc/auth/login", app.base))
        .form(&[
            ("email", "owner@demo.hitch.test"),
            ("password", "hitch-demo-2026"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(cookie.starts_with("hitch_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let (status, me) = app.post("/rpc/auth/me", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "owner");

    let (status, _) = app.post("/rpc/auth/logout", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = app.post("/rpc/auth/me", &[]).await;
    assert!(me.is_null(), "still signed in: {me}");
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["database"], "ok");
    let health = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn dashboard_pages_redirect_to_login_when_signed_out() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for (path, to) in [
        ("/bookings", "/login?next=%2Fbookings"),
        (
            "/invoices/new?client=c1",
            "/login?next=%2Finvoices%2Fnew%3Fclient%3Dc1",
        ),
        ("/", "/login"),
    ] {
        let res = client
            .get(format!("{}{path}", app.base))
            .header("accept", "text/html")
            .send()
            .await
            .expect("page");
        // Answered before any page markup is rendered.
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            res.headers().get("location").and_then(|v| v.to_str().ok()),
            Some(to)
        );
    }
    // The sign-in page itself and the payers' pages are open to everyone.
    for path in ["/login", "/payment/thanks", "/payment/cancelled"] {
        let res = client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("page");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
}

/// An active user stays signed in: a visit an hour or more after the last renewal
/// pushes the session's expiry (and the cookie's) `HITCH_SESSION_DAYS` ahead again,
/// and visits in between write nothing. Past its expiry a session signs nobody in.
#[tokio::test]
async fn an_active_session_is_renewed_at_most_once_an_hour() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
    use server::db::entities::session;

    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let row = || async {
        let rows = session::Entity::find()
            .all(&app.db)
            .await
            .expect("sessions");
        assert_eq!(rows.len(), 1, "one signed-in session");
        rows.into_iter().next().expect("session")
    };
    let signed_in = row().await;
    let days = |m: &session::Model| (m.expires_at - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!(
        days(&signed_in) > 13.9,
        "fresh sign-in lasts 14 days: {signed_in:?}"
    );

    // Makes a session a day from expiry whose last renewal was `secs_ago` seconds back.
    let db = &app.db;
    let age = |m: &session::Model, secs_ago: i64| {
        let mut data: serde_json::Value = serde_json::from_str(&m.data).expect("json");
        data["renewed"] = (chrono::Utc::now().timestamp() - secs_ago).into();
        let mut aged: session::ActiveModel = m.clone().into();
        aged.data = Set(data.to_string());
        aged.expires_at = Set(chrono::Utc::now() + chrono::Duration::days(1));
        async move { aged.update(db).await.expect("age session") }
    };
    let me = || async {
        let res = app
            .client
            .post(format!("{}/rpc/auth/me", app.base))
            .send()
            .await
            .expect("me");
        assert_eq!(res.status(), StatusCode::OK);
        res
    };
    // Thirteen days later, and the last renewal two hours ago.
    age(&signed_in, 2 * 3600).await;
    let res = me().await;
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        cookie.contains("Max-Age=1209600"),
        "cookie renewed: {cookie}"
    );
    let user: serde_json::Value = res.json().await.expect("json");
    assert_eq!(user["role"], "owner");
    let renewed = row().await;
    assert!(days(&renewed) > 13.9, "expiry pushed ahead: {renewed:?}");

    // Renewed a minute ago: the next visit leaves the stored session alone.
    age(&renewed, 60).await;
    let res = me().await;
    assert!(
        res.headers().get("set-cookie").is_none(),
        "no write within the hour"
    );
    let untouched = row().await;
    assert!(days(&untouched) < 1.1, "not written again: {untouched:?}");

    // Past its expiry the cookie signs nobody in, though the row is still there.
    let mut expired: session::ActiveModel = untouched.into();
    expired.expires_at = Set(chrono::Utc::now() - chrono::Duration::minutes(1));
    expired.update(db).await.expect("expire session");
    let (_, me) = app.post("/rpc/auth/me", &[]).await;
    assert!(me.is_null(), "an expired session still signs in: {me}");
    let res = app
        .client
        .get(format!("{}/bookings", app.base))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert!(res.url().path().starts_with("/login"), "{}", res.url());
}

/// After signing in, `next` leads only to a page of this site: every known way of
/// writing another site (or a header-breaking newline) lands on the dashboard.
#[tokio::test]
async fn sign_in_never_redirects_off_the_site() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let cases = [
        ("/invoices?page=2", "/invoices?page=2"),
        ("//evil.example", "/bookings"),
        ("/\t/evil.example", "/bookings"),
        ("/\n/evil.example", "/bookings"),
        ("/\\evil.example", "/bookings"),
        ("https://evil.example/", "/bookings"),
        ("/\u{3000}/evil.example", "/bookings"),
    ];
    for (next, expected) in cases {
        let res = client
            .post(format!("{}/rpc/auth/login", app.base))
            .header("Accept", "text/html")
            .form(&[
                ("email", OWNER),
                ("password", OWNER_PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .expect("login");
        assert!(
            !res.status().is_server_error(),
            "{next:?}: {}",
            res.status()
        );
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert_eq!(location, expected, "next = {next:?}");
    }
}

/// The sessions table holds digests, not the ids in users' cookies; a new password
/// ends the user's sessions, and setting the same one again does not.
#[tokio::test]
async fn session_ids_are_stored_hashed_and_a_new_password_ends_sessions() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let cookie_id = {
        let res = app.get("/bookings").await;
        assert_eq!(res.status(), StatusCode::OK);
        let (status, me) = app.post("/rpc/auth/me", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["role"], "owner");
        // The cookie's value is the session id.
        let jar_cookie = reqwest::Client::new()
            .post(format!("{}/rpc/auth/login", app.base))
            .form(&[("email", OWNER), ("password", OWNER_PASSWORD)])
            .send()
            .await
            .expect("login");
        let set = jar_cookie
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        set.trim_start_matches("hitch_session=")
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert!(!cookie_id.is_empty());
    let stored = |id: String| {
        let app = &app;
        async move {
            app.scalar(&format!(
                "SELECT COUNT(*) AS n FROM sessions WHERE id = '{id}'"
            ))
            .await
        }
    };
    assert_eq!(
        stored(cookie_id.clone()).await,
        0,
        "the raw id is in the table"
    );
    assert_eq!(
        stored(server::platform::hash::sha256_hex(&cookie_id)).await,
        1
    );

    let org = organization::Entity::find_by_id(&app.org_id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("org");
    let reset = |password: &'static str| {
        let (db, org) = (app.db.clone(), org.clone());
        async move {
            demo::upsert_user(
                &db,
                &org,
                OWNER,
                "Owner",
                password,
                app::model::auth::Role::Owner,
            )
            .await
            .expect("reset")
        }
    };
    reset(OWNER_PASSWORD).await;
    let (_, me) = app.post("/rpc/auth/me", &[]).await;
    assert_eq!(me["role"], "owner", "the same password ended the session");
    reset("a-brand-new-password-2026").await;
    let (_, me) = app.post("/rpc/auth/me", &[]).await;
    assert!(me.is_null(), "still signed in after a new password: {me}");
    assert_eq!(
        stored(server::platform::hash::sha256_hex(&cookie_id)).await,
        0
    );
}

/// A form posted from another site is refused and changes nothing, sign-in included
/// (login CSRF); the same request from this site works.
#[tokio::test]
async fn cross_site_posts_are_refused_and_change_nothing() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let sessions = app.count("sessions").await;
    let res = reqwest::Client::new()
        .post(format!("{}/rpc/auth/login", app.base))
        .header("Origin", "https://evil.example")
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("email", OWNER), ("password", OWNER_PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(app.count("sessions").await, sessions);

    // A signed-in manager's browser, lured to a page elsewhere that posts a form here.
    let clients = app.count("clients").await;
    let form = [
        ("id", ""),
        ("input[name]", "Mallory"),
        ("input[email]", ""),
        ("input[phone]", ""),
    ];
    let res = app
        .client
        .post(format!("{}/rpc/clients/save", app.base))
        .header("Origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .expect("save");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("clients").await, clients);

    // The same form from this site.
    let res = app
        .client
        .post(format!("{}/rpc/clients/save", app.base))
        .header("Origin", app.base.as_str())
        .header("Sec-Fetch-Site", "same-origin")
        .form(&form)
        .send()
        .await
        .expect("save");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.count("clients").await, clients + 1);
}

/// Every answer forbids sniffing and framing and keeps the address (a guest link's
/// token) from other sites.
#[tokio::test]
async fn pages_carry_security_headers() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for path in [
        "/login",
        "/manage/not-a-real-token",
        "/healthz",
        "/api/v1/bookings",
    ] {
        let res = app.get(path).await;
        let h = res.headers();
        let get = |n: &str| {
            h.get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(get("referrer-policy"), "same-origin", "{path}");
        assert_eq!(get("x-frame-options"), "DENY", "{path}");
        assert!(
            get("content-security-policy").contains("frame-ancestors 'none'"),
            "{path}"
        );
    }
}

/// Strangers guessing one account from many addresses do not lock its owner out: past
/// the account's limit, an address that has not failed still gets one try, so the
/// owner signs in from a fresh address, while each guessing address gets nothing more.
#[tokio::test]
async fn an_attack_on_one_account_does_not_lock_out_its_owner() {
    let Some(app) = TestApp::spawn_with(|c| c.trusted_proxies = "127.0.0.1, ::1".into()).await
    else {
        return;
    };
    // 50 wrong passwords from ten addresses: the account's limit.
    for n in 0..50 {
        let address = format!("203.0.113.{}", 100 + n % 10);
        let (status, _) = sign_in_from(&app, &address, OWNER, &format!("guess-{n}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {n}");
    }
    // The attackers' addresses are paused, with the right password too.
    let (status, _) = sign_in_from(&app, "203.0.113.100", OWNER, OWNER_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // A new attacking address gets one guess, then waits.
    let (status, _) = sign_in_from(&app, "203.0.113.200", OWNER, "guess-x").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = sign_in_from(&app, "203.0.113.200", OWNER, "guess-y").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // The owner, from an address that has not failed, gets in while the attack goes on.
    let (status, body) = sign_in_from(&app, "198.51.100.7", OWNER, OWNER_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = sign_in_from(&app, "198.51.100.7", OWNER, OWNER_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "and again: {body}");
}

/// `/metrics`: this machine only, and not through a proxy, unless a token is set;
/// with a token, only with it.
#[tokio::test]
async fn metrics_are_not_published_to_the_world() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let get = |headers: Vec<(&'static str, String)>| {
        let url = format!("{}/metrics", app.base);
        async move {
            let mut req = reqwest::Client::new().get(url);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            req.send().await.expect("metrics").status()
        }
    };
    assert_eq!(get(vec![]).await, StatusCode::OK, "a local scraper");
    assert_eq!(
        get(vec![("X-Forwarded-For", "203.0.113.9".into())]).await,
        StatusCode::UNAUTHORIZED,
        "through a reverse proxy"
    );
    drop(app);

    let Some(app) = TestApp::spawn_with(|c| {
        c.metrics_token = Some(server::config::Sensitive("scrape-secret-123".into()))
    })
    .await
    else {
        return;
    };
    let get = |auth: Option<&'static str>| {
        let url = format!("{}/metrics", app.base);
        async move {
            let mut req = reqwest::Client::new().get(url);
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            req.send().await.expect("metrics").status()
        }
    };
    assert_eq!(get(None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(get(Some("Bearer wrong")).await, StatusCode::UNAUTHORIZED);
    assert_eq!(get(Some("Bearer scrape-secret-123")).await, StatusCode::OK);
}

/// A password changed in the dashboard: a wrong current password or a short new one is
/// the field's error and changes nothing; the right one signs out the account's other
/// sessions (another browser), keeps this one, and only the new password signs in.
#[tokio::test]
async fn changing_the_password_in_the_dashboard_signs_out_everywhere_else() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    // The same owner signed in elsewhere.
    let elsewhere = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let res = elsewhere
        .post(format!("{}/rpc/auth/login", app.base))
        .form(&[("email", OWNER), ("password", OWNER_PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let me_elsewhere = || async {
        elsewhere
            .post(format!("{}/rpc/auth/me", app.base))
            .send()
            .await
            .expect("me")
            .json::<Value>()
            .await
            .unwrap_or(Value::Null)
    };
    assert_eq!(me_elsewhere().await["role"], "owner");

    let new = "a-new-password-for-2027";
    let (status, body) = app
        .post(
            "/rpc/auth/password",
            &[("current_password", "not-it-at-all"), ("new_password", new)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "current_password", "{body}");
    let (status, body) = app
        .post(
            "/rpc/auth/password",
            &[
                ("current_password", OWNER_PASSWORD),
                ("new_password", "short"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "new_password", "{body}");
    assert_eq!(me_elsewhere().await["role"], "owner", "nothing changed yet");

    let (status, body) = app
        .post(
            "/rpc/auth/password",
            &[("current_password", OWNER_PASSWORD), ("new_password", new)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        me_elsewhere().await.is_null(),
        "the other browser is signed out"
    );
    let (_, me) = app.post("/rpc/auth/me", &[]).await;
    assert_eq!(me["role"], "owner", "this browser stays signed in");
    assert_eq!(app.get("/settings").await.status(), StatusCode::OK);
    let (status, _) = sign_in_from(&app, "198.51.100.7", OWNER, OWNER_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password is gone");
    let (status, _) = sign_in_from(&app, "198.51.100.7", OWNER, new).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'user.password_changed'")
            .await,
        1
    );
}
