//! Log-in and sign-up throttling under bursts, known devices, the password-hashing bound and
//! the cookies' `Secure` flag, on every engine. Distinct loopback source addresses (127.0.0.x)
//! stand for distinct people.

mod common;

use std::net::IpAddr;

use common::{Engine, TestApp};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_all_engines!(
    a_burst_of_guesses_on_one_account_verifies_exactly_the_limit,
    a_burst_from_one_address_verifies_exactly_the_address_limit,
    two_instances_sharing_a_database_verify_at_most_the_limit_together,
    a_known_device_is_not_locked_out_by_strangers,
    sign_ups_are_throttled_per_client_address,
    a_saturated_hashing_bound_answers_503_with_retry_after,
    cookies_are_secure_only_when_the_site_is_reached_over_https,
);

/// A server whose password hashes wait as long as needed: tests run side by side on few
/// cores, and a slow hash must not turn into a 503 here.
async fn spawn(engine: Engine) -> TestApp {
    TestApp::spawn_with(engine, PATIENT).await
}

const PATIENT: &[(&str, &str)] = &[
    ("IPMAT_SEED", "off"),
    ("IPMAT_PASSWORD_HASH_MAX_WAIT_MS", "120000"),
    // Bursts of 60 requests: a larger pool keeps a loaded machine from timing out acquires.
    ("IPMAT_DB_MAX_CONNECTIONS", "16"),
];

/// A client whose connections come from `127.0.0.{last}`.
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, last]))
        .build()
        .unwrap()
}

/// `ipmat_password_verifications_total` of a server.
async fn verifications(base: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("ipmat_password_verifications_total "))
        .unwrap_or_else(|| panic!("no verification counter in /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

async fn login(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Statuses of a burst of logins sent all at once, one per client.
async fn burst(base: &str, tries: Vec<(reqwest::Client, String, String)>) -> Vec<StatusCode> {
    join_all(tries.iter().map(|(client, user, password)| async move {
        login(client, base, user, password).await.status()
    }))
    .await
}

fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// Moves every throttle window back past its end, as if the time had passed.
async fn end_windows(app: &TestApp) {
    ipmat::db::exec(
        &app.db,
        "UPDATE login_throttle SET window_start = window_start - ?",
        ipmat::vals![61 * 60 * 1000i64],
    )
    .await
    .unwrap();
}

async fn a_burst_of_guesses_on_one_account_verifies_exactly_the_limit(engine: Engine) {
    let app = spawn(engine).await;
    app.signup("victim").await;
    let before = verifications(&app.base).await;
    // Sixty strangers guess at once.
    let tries = (0..60u8)
        .map(|i| {
            (
                client_from(10 + i),
                "victim".to_owned(),
                "wrong-guess".to_owned(),
            )
        })
        .collect();
    let statuses = burst(&app.base, tries).await;
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        5,
        "{statuses:?}"
    );
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 55);
    assert_eq!(verifications(&app.base).await - before, 5);

    // The owner, from a fresh address and with the right password, waits out the window.
    let response = login(&client_from(200), &app.base, "victim", "password123").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&retry), "{retry}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(
        verifications(&app.base).await - before,
        5,
        "refused unverified"
    );

    end_windows(&app).await;
    let response = login(&client_from(200), &app.base, "victim", "password123").await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_burst_from_one_address_verifies_exactly_the_address_limit(engine: Engine) {
    let app = spawn(engine).await;
    app.signup("sprayed").await;
    let before = verifications(&app.base).await;
    let sprayer = client_from(2);
    let tries = (0..60)
        .map(|i| {
            (
                sprayer.clone(),
                format!("spray{i}"),
                "password123".to_owned(),
            )
        })
        .collect();
    let statuses = burst(&app.base, tries).await;
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        20,
        "{statuses:?}"
    );
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 40);
    assert_eq!(verifications(&app.base).await - before, 20);

    // That address is refused even with a right password; other addresses are not.
    let response = login(&sprayer, &app.base, "sprayed", "password123").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let response = login(&client_from(3), &app.base, "sprayed", "password123").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM login_throttle WHERE throttle_key LIKE '%spray%'")
            .await,
        0,
        "keys are hashed"
    );
}

async fn two_instances_sharing_a_database_verify_at_most_the_limit_together(engine: Engine) {
    let app = spawn(engine).await;
    app.signup("shared").await;
    // A second replica over the same database.
    let second = ipmat::App::build(app.config.clone()).await.unwrap();
    let second_base = format!("http://{}", second.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(second.run_until(async move {
        let _ = stopped.await;
    }));
    let before = verifications(&app.base).await + verifications(&second_base).await;

    let bases = [app.base.clone(), second_base.clone()];
    let statuses = join_all((0..60u8).map(|i| {
        let base = bases[usize::from(i % 2)].clone();
        async move {
            login(&client_from(10 + i), &base, "shared", "wrong-guess")
                .await
                .status()
        }
    }))
    .await;
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        5,
        "{statuses:?}"
    );
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 55);
    let after = verifications(&app.base).await + verifications(&second_base).await;
    assert_eq!(after - before, 5);
    // Either replica refuses the right password now.
    for base in &bases {
        let response = login(&client_from(201), base, "shared", "password123").await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// The `ipmat_device` cookie value a log-in answer sets.
fn device_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("ipmat_device="))
        .and_then(|v| v.split(';').next())
        .expect("a device cookie is set")
        .to_owned()
}

async fn login_with_device(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
    device: &str,
) -> StatusCode {
    client
        .post(format!("{base}/api/v1/auth/login"))
        .header("cookie", format!("ipmat_device={device}"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn a_known_device_is_not_locked_out_by_strangers(engine: Engine) {
    let app = spawn(engine).await;
    app.signup("owner").await;
    app.signup("other").await;
    let home = client_from(50);
    let response = login(&home, &app.base, "owner", "password123").await;
    assert_eq!(response.status(), StatusCode::OK);
    let device = device_cookie(&response);
    let other_device = device_cookie(&login(&home, &app.base, "other", "password123").await);

    // Strangers lock the account.
    let tries = (0..10u8)
        .map(|i| {
            (
                client_from(60 + i),
                "owner".to_owned(),
                "guess-guess".to_owned(),
            )
        })
        .collect();
    let statuses = burst(&app.base, tries).await;
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        login(&home, &app.base, "owner", "password123")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS,
        "without the device cookie the owner waits too"
    );
    assert_eq!(
        login_with_device(&home, &app.base, "owner", "password123", &other_device).await,
        StatusCode::TOO_MANY_REQUESTS,
        "another account's device cookie does not help"
    );
    let last = if device.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &device[..device.len() - 1]);
    assert_eq!(
        login_with_device(&home, &app.base, "owner", "password123", &forged).await,
        StatusCode::TOO_MANY_REQUESTS,
        "a forged cookie does not help"
    );
    assert_eq!(
        login_with_device(&home, &app.base, "owner", "password123", &device).await,
        StatusCode::OK,
        "the owner's device gets in"
    );

    // A stolen device cookie still allows only five guesses per window.
    let thief = client_from(70);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(login_with_device(&thief, &app.base, "owner", "guess-guess", &device).await);
    }
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        5,
        "{statuses:?}"
    );
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 2);

    // The device cookie exempts from the account's lock, not from the address's.
    end_windows(&app).await;
    let device = device_cookie(&login(&home, &app.base, "owner", "password123").await);
    let tries = (0..25)
        .map(|i| (home.clone(), format!("nobody{i}"), "password123".to_owned()))
        .collect();
    let statuses = burst(&app.base, tries).await;
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        20,
        "{statuses:?}"
    );
    assert_eq!(
        login_with_device(&home, &app.base, "owner", "password123", &device).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn signup(client: &reqwest::Client, base: &str, username: &str) -> reqwest::Response {
    client
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({"username": username, "password": "password123"}))
        .send()
        .await
        .unwrap()
}

async fn sign_ups_are_throttled_per_client_address(engine: Engine) {
    let app = spawn(engine).await;
    let crowd = client_from(5);
    let statuses = join_all((0..30).map(|i| {
        let crowd = crowd.clone();
        let base = app.base.clone();
        async move { signup(&crowd, &base, &format!("member{i}")).await.status() }
    }))
    .await;
    assert_eq!(count(&statuses, StatusCode::CREATED), 20, "{statuses:?}");
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 10);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 20);

    let response = signup(&crowd, &app.base, "latecomer").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3000..=3600).contains(&retry), "{retry}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    // A taken name is answered 409, not 429, and someone else signs up freely. Which 20 of
    // the 30 got in is up to the scheduler: take the name of one that did.
    let taken = statuses
        .iter()
        .position(|s| *s == StatusCode::CREATED)
        .expect("20 sign-ups went through");
    let neighbour = client_from(6);
    assert_eq!(
        signup(&neighbour, &app.base, &format!("member{taken}"))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        signup(&neighbour, &app.base, "latecomer").await.status(),
        StatusCode::CREATED
    );
    end_windows(&app).await;
    assert_eq!(
        signup(&crowd, &app.base, "nextday").await.status(),
        StatusCode::CREATED
    );
}

async fn a_saturated_hashing_bound_answers_503_with_retry_after(engine: Engine) {
    let app = TestApp::spawn_with(
        engine,
        &[
            ("IPMAT_SEED", "off"),
            ("IPMAT_PASSWORD_HASH_CONCURRENCY", "1"),
            ("IPMAT_PASSWORD_HASH_QUEUE", "0"),
        ],
    )
    .await;
    let responses = join_all((0..12u8).map(|i| {
        let base = app.base.clone();
        async move {
            let response = login(
                &client_from(20 + i),
                &base,
                &format!("user{i}"),
                "password123",
            )
            .await;
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (
                body["status"].as_u64().unwrap_or(0),
                retry,
                content_type,
                body,
            )
        }
    }))
    .await;
    let busy: Vec<_> = responses.iter().filter(|r| r.0 == 503).collect();
    let checked = responses.iter().filter(|r| r.0 == 401).count();
    assert_eq!(busy.len() + checked, responses.len(), "{responses:?}");
    assert!(!busy.is_empty() && checked >= 1, "{responses:?}");
    for (_, retry, content_type, body) in &busy {
        assert_eq!(retry.as_deref(), Some("3"));
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["code"], "unavailable");
    }
    // Refused work gave its throttle slots back: only checked attempts count, one on their
    // address and one on their account (all distinct here).
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM login_throttle WHERE failures > 0")
            .await,
        2 * checked as i64
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM login_throttle WHERE failures > 1")
            .await,
        0
    );
    let text = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(&format!(
            "ipmat_bound_rejected_total{{bound=\"password_hashing\"}} {}",
            busy.len()
        )),
        "{text}"
    );
}

/// The `Set-Cookie` values and the HSTS header of a log-in.
async fn login_headers(
    app: &TestApp,
    forwarded_proto: Option<&str>,
) -> (Vec<String>, Option<String>) {
    let mut request = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "cookie_user", "password": "password123"}));
    if let Some(proto) = forwarded_proto {
        request = request.header("x-forwarded-proto", proto);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookies = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(cookies.len(), 2, "session and device: {cookies:?}");
    let hsts = response
        .headers()
        .get("strict-transport-security")
        .map(|v| v.to_str().unwrap().to_owned());
    (cookies, hsts)
}

fn all_secure(cookies: &[String]) -> bool {
    cookies.iter().all(|c| c.ends_with("; Secure"))
}

fn none_secure(cookies: &[String]) -> bool {
    cookies.iter().all(|c| !c.contains("Secure"))
}

async fn cookies_are_secure_only_when_the_site_is_reached_over_https(engine: Engine) {
    // Plain HTTP, even in production mode and with a forged header from an untrusted peer.
    let app = TestApp::spawn_with(
        engine,
        &[
            ("IPMAT_SEED", "off"),
            ("IPMAT_MODE", "production"),
            ("IPMAT_TRUSTED_PROXIES", "10.0.0.0/8"),
        ],
    )
    .await;
    app.signup("cookie_user").await;
    for proto in [None, Some("https")] {
        let (cookies, hsts) = login_headers(&app, proto).await;
        assert!(none_secure(&cookies), "{proto:?}: {cookies:?}");
        assert_eq!(hsts, None);
    }

    // Behind a trusted proxy, its X-Forwarded-Proto decides.
    let app = app
        .restart(&[
            ("IPMAT_SEED", "off"),
            ("IPMAT_TRUSTED_PROXIES", "127.0.0.1"),
        ])
        .await;
    let (cookies, hsts) = login_headers(&app, Some("https")).await;
    assert!(all_secure(&cookies), "{cookies:?}");
    assert_eq!(hsts.as_deref(), Some("max-age=31536000"));
    let (cookies, hsts) = login_headers(&app, Some("http")).await;
    assert!(none_secure(&cookies), "{cookies:?}");
    assert_eq!(hsts, None);

    // With no proxy header, an https public URL decides.
    let app = app
        .restart(&[
            ("IPMAT_SEED", "off"),
            ("IPMAT_PUBLIC_URL", "https://ipmat.example"),
        ])
        .await;
    let (cookies, hsts) = login_headers(&app, None).await;
    assert!(all_secure(&cookies), "{cookies:?}");
    assert!(hsts.is_some());
    let app = app
        .restart(&[
            ("IPMAT_SEED", "off"),
            ("IPMAT_PUBLIC_URL", "http://ipmat.example"),
        ])
        .await;
    let (cookies, hsts) = login_headers(&app, None).await;
    assert!(none_secure(&cookies), "{cookies:?}");
    assert_eq!(hsts, None);
}
