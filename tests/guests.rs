//! Guests and display names over HTTP on every engine: creating a guest from a name, the
//! throttle per client address, a guest taking and making exams, becoming a member, changing
//! names and passwords, and idle guests expiring while their attempts stay on scoreboards.

mod common;

use common::{Engine, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_all_engines!(
    guests_are_created_from_a_display_name_and_signed_in,
    invalid_display_names_are_refused_everywhere,
    guest_creation_is_throttled_per_client_address,
    guests_take_and_make_exams_like_members,
    a_guest_becomes_a_member_and_keeps_their_attempts,
    members_change_their_password_with_the_current_one,
    profile_changes_need_a_session,
    idle_guests_expire_but_their_attempts_stay_on_scoreboards,
);

async fn guest(app: &TestApp, name: &str) -> (String, Value) {
    let (status, body) = app
        .post("/api/v1/auth/guest", None, json!({"display_name": name}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["token"].as_str().unwrap().to_owned(),
        body["user"].clone(),
    )
}

async fn patch_me(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PATCH, "/api/v1/me", Some(token), Some(body))
        .await
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A one-question exam by `author` and its pair: (code, pair id, left food, right food).
async fn small_exam(app: &TestApp, author: &str) -> (String, i64, i64, i64) {
    let admin = app.admin().await;
    let (_, foods) = app.book_with_foods(&admin, "음식", 2).await;
    let (status, pair) = app
        .post(
            "/api/v1/quiz/pairs",
            Some(&admin),
            json!({"left_id": foods[0], "right_id": foods[1]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pair}");
    let pair_id = pair["id"].as_i64().unwrap();
    let (status, created) = app
        .post(
            "/api/v1/exams",
            Some(author),
            json!({"title": "한 문제", "answers": [{"pair_id": pair_id, "food_id": foods[0]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["code"].as_str().unwrap().to_owned(),
        pair_id,
        foods[0],
        foods[1],
    )
}

async fn guests_are_created_from_a_display_name_and_signed_in(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/guest"))
        .json(&json!({"display_name": "  한글 이름  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("ipmat_session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let body: Value = response.json().await.unwrap();
    let user = &body["user"];
    assert_eq!(user["display_name"], "한글 이름", "trimmed, Hangul kept");
    assert_eq!(user["is_guest"], true);
    assert_eq!(user["is_admin"], false);
    let username = user["username"].as_str().unwrap();
    assert!(
        username.starts_with("g_") && (3..=15).contains(&username.len()),
        "{username}"
    );
    let token = body["token"].as_str().unwrap();
    let (status, me) = app.get_as(token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&me, user);

    // Display names are not unique; usernames are.
    let (_, other) = guest(&app, "한글 이름").await;
    assert_ne!(other["username"], user["username"]);
    // No password opens a guest account.
    for password in ["", "password123", "guest"] {
        let (status, _) = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{password:?}");
    }
    // Members get their username as display name unless they choose one.
    let (_, member) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"username": "minji_22", "password": "password123"}),
        )
        .await;
    assert_eq!(
        (
            member["user"]["display_name"].as_str(),
            member["user"]["is_guest"].as_bool()
        ),
        (Some("minji_22"), Some(false))
    );
    let (status, member) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"username": "suah", "password": "password123", "display_name": "수아"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(member["user"]["display_name"], "수아");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE is_guest = TRUE")
            .await,
        2
    );
}

async fn invalid_display_names_are_refused_everywhere(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (token, _) = guest(&app, "ok").await;
    let cases: [(&str, Value); 6] = [
        ("empty", json!("")),
        ("only spaces", json!("    ")),
        ("21 characters", json!("가".repeat(21))),
        ("a control character", json!("a\u{0007}b")),
        ("a line break", json!("two\nlines")),
        ("a bidi override", json!("abc\u{202E}def")),
    ];
    for (what, name) in cases {
        let (status, problem) = app
            .post("/api/v1/auth/guest", None, json!({"display_name": name}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "guest: {what}");
        assert_eq!(fields(&problem), ["display_name"], "{what}");
        let (status, problem) = app
            .post(
                "/api/v1/auth/signup",
                None,
                json!({"username": "someone", "password": "password123", "display_name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "signup: {what}");
        assert_eq!(fields(&problem), ["display_name"], "{what}");
        let (status, problem) = patch_me(&app, &token, json!({"display_name": name})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "patch: {what}");
        assert_eq!(fields(&problem), ["display_name"], "{what}");
    }
    for (what, body) in [
        ("no name", json!({})),
        ("a number", json!({"display_name": 7})),
        (
            "an unknown field",
            json!({"display_name": "a", "admin": true}),
        ),
    ] {
        let (status, problem) = app.post("/api/v1/auth/guest", None, body).await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{what}: {status} {problem}"
        );
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);
    // 20 characters of anything printable is fine.
    let (_, user) = guest(&app, "😀민지 Minji-ミンジ_2026!").await;
    assert_eq!(user["display_name"], "😀민지 Minji-ミンジ_2026!");
}

async fn guest_creation_is_throttled_per_client_address(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // Guests are accounts: they share sign-up's per-address budget.
    let limit = ipmat::accounts::throttle::ACCOUNT_CREATION.limit;
    for i in 0..limit {
        guest(&app, &format!("guest {i}")).await;
    }
    let response = app
        .client
        .post(app.url("/api/v1/auth/guest"))
        .json(&json!({"display_name": "one too many"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, limit);
    // The same budget: a sign-up from this address waits too.
    let (status, _) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"username": "member", "password": "password123"}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

async fn guests_take_and_make_exams_like_members(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let author = app.signup("author").await;
    let (code, pair, left, right) = small_exam(&app, &author).await;
    let (friend, user) = guest(&app, "친구").await;
    let (status, outcome) = app
        .call(
            Method::PUT,
            &format!("/api/v1/exams/{code}/attempt"),
            Some(&friend),
            Some(json!({"answers": [{"pair_id": pair, "food_id": left}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(
        (outcome["score"].as_i64(), outcome["rank"].as_i64()),
        (Some(1), Some(1))
    );
    let (_, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    assert_eq!(
        board["participants"][0],
        json!({"username": user["username"], "display_name": "친구", "score": 1, "match_rate": 1.0, "rank": 1})
    );
    let (status, result) = app
        .get_as(&friend, &format!("/api/v1/exams/{code}/attempt"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result["participant"]["display_name"], "친구");
    // A guest makes an exam of their own, and the author of the first takes it.
    let (status, created) = app
        .post(
            "/api/v1/exams",
            Some(&friend),
            json!({"title": "내 퀴즈", "answers": [{"pair_id": pair, "food_id": right}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["author"]["display_name"], "친구");
    let (_, mine) = app.get_as(&friend, "/api/v1/me/exams").await;
    assert_eq!(
        (
            mine["authored"].as_array().unwrap().len(),
            mine["participated"].as_array().unwrap().len()
        ),
        (1, 1)
    );
}

async fn a_guest_becomes_a_member_and_keeps_their_attempts(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let author = app.signup("author").await;
    let (code, pair, left, _) = small_exam(&app, &author).await;
    let (token, _) = guest(&app, "민지").await;
    app.call(
        Method::PUT,
        &format!("/api/v1/exams/{code}/attempt"),
        Some(&token),
        Some(json!({"answers": [{"pair_id": pair, "food_id": left}]})),
    )
    .await;
    let cases: [(&str, Value, &[&str]); 5] = [
        (
            "a username alone",
            json!({"username": "minji"}),
            &["password"],
        ),
        (
            "a password alone",
            json!({"password": "password123"}),
            &["username"],
        ),
        (
            "a Korean username",
            json!({"username": "한글아이디", "password": "password123"}),
            &["username"],
        ),
        (
            "a short password",
            json!({"username": "minji", "password": "short"}),
            &["password"],
        ),
        (
            "a current password",
            json!({"username": "minji", "password": "password123", "current_password": "x"}),
            &["current_password"],
        ),
    ];
    for (what, body, want) in cases {
        let (status, problem) = patch_me(&app, &token, body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {problem}"
        );
        assert_eq!(fields(&problem), want, "{what}");
    }
    let (status, problem) = patch_me(
        &app,
        &token,
        json!({"username": "AUTHOR", "password": "password123"}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "usernames stay unique in any case"
    );
    let (status, me) = patch_me(
        &app,
        &token,
        json!({"username": " Minji ", "password": "password123", "display_name": "민지짱"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(
        (
            me["username"].as_str(),
            me["display_name"].as_str(),
            me["is_guest"].as_bool()
        ),
        (Some("Minji"), Some("민지짱"), Some(false))
    );
    // The session goes on, the password now works, and the attempt is still theirs.
    let (status, _) = app.get_as(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    let (status, login) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "minji", "password": "password123"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let fresh = login["token"].as_str().unwrap();
    let (status, result) = app
        .get_as(fresh, &format!("/api/v1/exams/{code}/attempt"))
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    let (_, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    assert_eq!(
        (
            board["participants"][0]["username"].as_str(),
            board["participants"][0]["display_name"].as_str()
        ),
        (Some("Minji"), Some("민지짱"))
    );
    // Being a member now, changing the username again is refused.
    let (status, problem) = patch_me(&app, fresh, json!({"username": "other"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&problem), ["username"]);
}

async fn members_change_their_password_with_the_current_one(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let token = app.signup("member").await;
    let (status, problem) = patch_me(&app, &token, json!({"password": "a new password"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&problem), ["current_password"]);
    let (status, problem) = patch_me(
        &app,
        &token,
        json!({"password": "a new password", "current_password": "wrong password"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&problem), ["current_password"]);
    let (status, me) = patch_me(
        &app,
        &token,
        json!({"password": "a new password", "current_password": "password123"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "member");
    for (password, want) in [
        ("password123", StatusCode::UNAUTHORIZED),
        ("a new password", StatusCode::OK),
    ] {
        let (status, _) = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "member", "password": password}),
            )
            .await;
        assert_eq!(status, want, "{password}");
    }
    // Wrong current passwords count like failed log-ins.
    let mut last = StatusCode::OK;
    for _ in 0..8 {
        let (status, _) = patch_me(
            &app,
            &token,
            json!({"password": "another one", "current_password": "still wrong"}),
        )
        .await;
        last = status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // An empty change changes nothing.
    let (status, me) = patch_me(&app, &token, json!({})).await;
    assert_eq!(
        (status, me["username"].as_str()),
        (StatusCode::OK, Some("member"))
    );
}

async fn profile_changes_need_a_session(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    for token in [None, Some("0".repeat(64))] {
        let (status, problem) = app
            .call(
                Method::PATCH,
                "/api/v1/me",
                token.as_deref(),
                Some(json!({"display_name": "누구"})),
            )
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized"))
        );
    }
    let (token, _) = guest(&app, "guest").await;
    let (status, _) = patch_me(&app, &token, json!({"is_admin": true})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE is_admin = TRUE")
            .await,
        0
    );
}

async fn idle_guests_expire_but_their_attempts_stay_on_scoreboards(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let author = app.signup("author").await;
    let (code, pair, left, _) = small_exam(&app, &author).await;
    let (player, _) = guest(&app, "다녀간 친구").await;
    app.call(
        Method::PUT,
        &format!("/api/v1/exams/{code}/attempt"),
        Some(&player),
        Some(json!({"answers": [{"pair_id": pair, "food_id": left}]})),
    )
    .await;
    let (idle, _) = guest(&app, "구경만").await;
    let (fresh, _) = guest(&app, "방금 옴").await;
    // 31 idle days pass for the first two guests.
    let long_ago = ipmat::db::now_ms() - 31 * 24 * 3600 * 1000;
    for token in [&player, &idle] {
        let (_, me) = app.get_as(token, "/api/v1/me").await;
        ipmat::db::exec(
            &app.db,
            "UPDATE users SET created_at = ? WHERE username = ?",
            ipmat::vals![long_ago, me["username"].as_str().unwrap()],
        )
        .await
        .unwrap();
    }
    ipmat::db::exec(
        &app.db,
        "UPDATE sessions SET last_seen_at = ? WHERE user_id IN (SELECT id FROM users WHERE created_at = ?)",
        ipmat::vals![long_ago, long_ago],
    )
    .await
    .unwrap();
    // The sweep runs (in the background) when a server starts.
    let app = app.restart(&[("IPMAT_SEED", "off")]).await;
    let mut guests = 3;
    for _ in 0..200 {
        guests = app
            .scalar("SELECT COUNT(*) FROM users WHERE is_guest = TRUE")
            .await;
        if guests == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        guests, 2,
        "the idle guest who owned nothing is gone; the player stays"
    );
    for (token, want) in [
        (&player, StatusCode::UNAUTHORIZED),
        (&idle, StatusCode::UNAUTHORIZED),
        (&fresh, StatusCode::OK),
    ] {
        let (status, _) = app.get_as(token, "/api/v1/me").await;
        assert_eq!(status, want);
    }
    let (_, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    assert_eq!(board["participants"][0]["display_name"], "다녀간 친구");
    let (_, detail) = app.get(&format!("/api/v1/exams/{code}")).await;
    assert_eq!(detail["participant_count"], 1);
}
