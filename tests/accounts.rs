//! Members: sign-up, log-in, sessions, throttling, favourites and visitors, on every engine.

mod common;

use common::{Engine, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_all_engines!(
    members_sign_up_log_in_and_out,
    sessions_work_by_cookie_and_expire_when_idle,
    unknown_users_and_wrong_passwords_get_the_same_answer,
    repeated_failures_are_throttled_per_account_and_address,
    invalid_sign_ups_are_refused,
    favourites_are_idempotent,
    deleting_an_account_removes_what_it_owns,
    visitors_are_counted_once_a_day_without_raw_addresses,
);

async fn members_sign_up_log_in_and_out(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (status, body) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"username": "Jinsu", "password": "correct horse", "birth_date": "1999-07-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"]["username"], "Jinsu");
    assert_eq!(body["user"]["birth_date"], "1999-07-01");
    assert_eq!(body["user"]["is_admin"], false);
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);

    let stored: String =
        ipmat::db::fetch_optional::<HashRow>(&app.db, "SELECT password_hash FROM users", vec![])
            .await
            .unwrap()
            .unwrap()
            .password_hash;
    assert!(
        stored.starts_with("$argon2id$"),
        "passwords are stored as argon2id hashes"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 1);
    let token_stored = ipmat::db::fetch_i64(
        &app.db,
        "SELECT COUNT(*) FROM sessions WHERE token_hash = ?",
        ipmat::vals![token],
    )
    .await
    .unwrap();
    assert_eq!(token_stored, Some(0), "the raw token is never stored");

    let (status, me) = app.get_as(token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "Jinsu");
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));

    let (status, _) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"username": "jinsu", "password": "whatever123"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "usernames are unique case-insensitively"
    );

    let (status, login) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "JINSU", "password": "correct horse"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let second = login["token"].as_str().unwrap().to_owned();
    assert_ne!(second, token);

    let (status, _) = app
        .call(Method::POST, "/api/v1/auth/logout", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get_as(token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the token died at logout");
    let (status, _) = app.get_as(&second, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "other sessions live on");
}

#[derive(sea_orm::FromQueryResult)]
struct HashRow {
    password_hash: String,
}

async fn sessions_work_by_cookie_and_expire_when_idle(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.signup("cookie_user").await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let response = browser
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "cookie_user", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("ipmat_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "not Secure in development");
    let me = browser.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // Thirty-one idle days later the session is gone.
    let stale = ipmat::db::now_ms() - 31 * 24 * 3600 * 1000;
    ipmat::db::exec(
        &app.db,
        "UPDATE sessions SET last_seen_at = ?",
        ipmat::vals![stale],
    )
    .await
    .unwrap();
    let me = browser.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    // The expired login session was deleted on use; the unused sign-up session is left for the sweep.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 1);

    let logout = browser
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::UNAUTHORIZED);

    // Production mode alone does not make the cookie Secure (a plain-HTTP site would lose
    // it); an https public URL does.
    let app = app
        .restart(&[("IPMAT_SEED", "off"), ("IPMAT_MODE", "production")])
        .await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "cookie_user", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        !response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    let app = app
        .restart(&[
            ("IPMAT_SEED", "off"),
            ("IPMAT_MODE", "production"),
            ("IPMAT_PUBLIC_URL", "https://ipmat.example"),
        ])
        .await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "cookie_user", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
}

async fn unknown_users_and_wrong_passwords_get_the_same_answer(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.signup("realuser").await;
    let (s1, wrong) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "realuser", "password": "wrong-password"}),
        )
        .await;
    let (s2, unknown) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "nobody", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(wrong, unknown, "identical bodies");
    assert_eq!(wrong["code"], "unauthorized");
}

async fn repeated_failures_are_throttled_per_account_and_address(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.signup("victim").await;
    for _ in 0..5 {
        let (status, _) = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "victim", "password": "guess-guess"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "victim", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");

    // When the window has passed, the right password works again and clears the count.
    ipmat::db::exec(
        &app.db,
        "UPDATE login_throttle SET window_start = window_start - ?",
        ipmat::vals![16 * 60 * 1000i64],
    )
    .await
    .unwrap();
    let (status, _) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "victim", "password": "password123"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // One address trying many accounts is stopped too.
    let mut limited = false;
    for i in 0..25 {
        let (status, _) = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": format!("spray{i}"), "password": "password123"}),
            )
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            assert!(i >= 19, "the address limit is 20 failures, hit at {i}");
            break;
        }
    }
    assert!(limited, "the address was throttled");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM login_throttle WHERE throttle_key LIKE '%spray%'")
            .await,
        0,
        "throttle keys are hashed"
    );
}

async fn invalid_sign_ups_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let cases = [
        (
            json!({"username": "ab", "password": "password123"}),
            "username",
        ),
        (
            json!({"username": "a".repeat(16), "password": "password123"}),
            "username",
        ),
        (
            json!({"username": "han글", "password": "password123"}),
            "username",
        ),
        (
            json!({"username": "with space", "password": "password123"}),
            "username",
        ),
        (
            json!({"username": "okname", "password": "short"}),
            "password",
        ),
        (
            json!({"username": "okname", "password": "p".repeat(129)}),
            "password",
        ),
        (
            json!({"username": "okname", "password": "password123", "birth_date": "1999-02-30"}),
            "birth_date",
        ),
        (
            json!({"username": "okname", "password": "password123", "birth_date": "3000-01-01"}),
            "birth_date",
        ),
        (
            json!({"username": "okname", "password": "password123", "birth_date": "01/02/1999"}),
            "birth_date",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = app.post("/api/v1/auth/signup", None, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    for body in [
        json!({"username": "okname"}),
        json!({"username": 12345, "password": "password123"}),
        json!("x"),
    ] {
        let (status, _) = app.post("/api/v1/auth/signup", None, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
    let (status, _) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"username": "a.b-c_9", "password": "password123"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn favourites_are_idempotent(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (first, _) = app.book_with_foods(&admin, "가", 2).await;
    let (second, _) = app.book_with_foods(&admin, "나", 2).await;
    let user = app.signup("eater").await;
    let (status, _) = app.get("/api/v1/me/favorites").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for book in [second, first, second] {
        let (status, _) = app
            .call(
                Method::PUT,
                &format!("/api/v1/me/favorites/{book}"),
                Some(&user),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, favorites) = app.get_as(&user, "/api/v1/me/favorites").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<i64> = favorites
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [first, second]);
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/me/favorites/999999",
            Some(&user),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for _ in 0..2 {
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/me/favorites/{first}"),
                Some(&user),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (_, favorites) = app.get_as(&user, "/api/v1/me/favorites").await;
    assert_eq!(favorites.as_array().unwrap().len(), 1);
}

async fn deleting_an_account_removes_what_it_owns(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "다", 2).await;
    let user = app.signup("leaver").await;
    app.call(
        Method::PUT,
        &format!("/api/v1/me/favorites/{book}"),
        Some(&user),
        None,
    )
    .await;
    let (status, _) = app
        .call(Method::DELETE, "/api/v1/me", Some(&user), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE username_key = 'leaver'")
            .await,
        0
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM favorites").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions").await,
        1,
        "only the admin's session is left"
    );
    let (status, _) = app.get_as(&user, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The name is free again.
    app.signup("leaver").await;
}

async fn visitors_are_counted_once_a_day_without_raw_addresses(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let user = app.signup("visitor").await;
    app.get_as(&admin, "/api/v1/me").await;
    for _ in 0..3 {
        app.get("/api/v1/books").await;
        app.get_as(&user, "/api/v1/me").await;
    }
    let with_agent = app
        .client
        .get(app.url("/api/v1/books"))
        .header("user-agent", "another browser")
        .send()
        .await
        .unwrap();
    assert_eq!(with_agent.status(), StatusCode::OK);
    let today = ipmat::visitors::today();
    // Visits are written in the background: wait until they land (bounded, no fixed sleep).
    let mut count = 0;
    for _ in 0..100 {
        count = app.scalar("SELECT COUNT(*) FROM visitors").await;
        if count >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // anonymous (reqwest's agent), anonymous (another browser), the member, the admin
    assert_eq!(count, 4);
    let (status, days) = app
        .get_as(
            &admin,
            &format!("/api/v1/stats/visitors?from={today}&to={today}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{days}");
    assert_eq!(days, json!([{"date": today, "visitors": 4}]));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM visitors WHERE visitor_hash LIKE '%127.0.0.1%'")
            .await,
        0
    );

    let (status, _) = app.get_as(&user, "/api/v1/stats/visitors").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, days) = app.get_as(&admin, "/api/v1/stats/visitors").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        days.as_array().unwrap().len(),
        31,
        "the last 30 days and today, zeros included"
    );
    for bad in [
        "?from=2026-13-01",
        "?from=2026-02-01&to=2026-01-01",
        "?from=2020-01-01&to=2026-01-01",
    ] {
        let (status, _) = app
            .get_as(&admin, &format!("/api/v1/stats/visitors{bad}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}
