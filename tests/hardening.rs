//! Hardening (issue 10): connection limits, database faults, NUL input, image limits, retired
//! foods, security headers, `/metrics` exposure and panics.
//!
//! Database outages are simulated with a TCP proxy in front of the shared servers (cut or
//! frozen); the servers themselves are never stopped.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Engine, TestApp, TestDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

on_all_engines!(
    nul_characters_are_refused_alike_on_every_engine,
    statement_timeouts_are_set_on_every_connection,
    a_used_food_is_retired_and_history_keeps_it,
    the_sweep_runs_on_one_replica_at_a_time_and_purges_old_salts,
);

// ---------------------------------------------------------------------------------------
// Input

async fn nul_characters_are_refused_alike_on_every_engine(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    app.book_with_foods(&admin, "널", 2).await;
    for path in [
        "/api/v1/foods?q=%00",
        "/api/v1/foods?q=a%00b",
        "/api/v1/foods?category=%00",
        "/api/v1/foods/random?category=%00",
        "/api/v1/quiz/pairs?count=%00",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(body["code"], "validation_failed", "{path}");
    }
    for path in [
        "/api/v1/foods/%00",
        "/api/v1/exams/%00",
        "/api/v1/worldcups/%00",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    for (path, body) in [
        (
            "/api/v1/auth/login",
            json!({"username": "\u{0}", "password": "password123"}),
        ),
        (
            "/api/v1/auth/signup",
            json!({"username": "a\u{0}b", "password": "password123"}),
        ),
        (
            "/api/v1/auth/login",
            json!({"username": "admin", "password": "admin-password\u{0}"}),
        ),
    ] {
        let (status, problem) = app.post(path, None, body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {problem}"
        );
    }
    let (status, problem) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "\u{0}", "description": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    // A backslash followed by `u0000` is ordinary text, not a NUL.
    let (status, body) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "\\u0000", "description": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = app.get("/media/%FF%FE").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users").await,
        1,
        "nothing was stored"
    );
}

// ---------------------------------------------------------------------------------------
// Database faults

async fn statement_timeouts_are_set_on_every_connection(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let sql = match engine {
        Engine::Sqlite => "PRAGMA busy_timeout",
        Engine::MySql => "SELECT CAST(@@max_statement_time AS SIGNED)",
        Engine::Postgres => {
            "SELECT CAST(setting AS BIGINT) FROM pg_settings WHERE name = 'statement_timeout'"
        }
    };
    // Several times: the pool hands out different connections.
    for _ in 0..3 {
        let value = app.scalar(sql).await;
        let expected = match engine {
            Engine::MySql => 8,
            _ => 8000,
        };
        assert_eq!(value, expected, "{engine:?}");
    }
}

/// A TCP proxy in front of a database that the test can cut, restore, freeze and thaw.
struct Proxy {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
    target: String,
    frozen: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    async fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (frozen, _) = tokio::sync::watch::channel(false);
        let mut proxy = Proxy {
            port,
            task: None,
            target: target.to_owned(),
            frozen,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        let frozen = self.frozen.subscribe();
        self.task = Some(tokio::spawn(async move {
            let mut pipes = tokio::task::JoinSet::new();
            while let Ok((inbound, _)) = listener.accept().await {
                let target = target.clone();
                let frozen = frozen.clone();
                pipes.spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (a_read, a_write) = inbound.into_split();
                    let (b_read, b_write) = outbound.into_split();
                    tokio::join!(
                        pipe(a_read, b_write, frozen.clone()),
                        pipe(b_read, a_write, frozen)
                    );
                });
            }
        }));
    }

    /// Closes the listener and every connection through it.
    fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    async fn restore(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }

    /// Keeps every connection open but passes no more bytes, like a stopped server process.
    fn freeze(&self, frozen: bool) {
        self.frozen.send_replace(frozen);
    }
}

/// Copies bytes one way, holding them while the proxy is frozen.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: tokio::sync::watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A server whose database connection goes through a proxy.
async fn app_behind_proxy(engine: Engine) -> (TestApp, Proxy) {
    let db = TestDatabase::create(engine).await;
    let (server, rest) = db.url.split_once("@").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let proxy = Proxy::start(host).await;
    let url = format!("{server}@127.0.0.1:{}/{path}", proxy.port);
    let app = TestApp::spawn_on(db, &[("IPMAT_SEED", "off"), ("IPMAT_DATABASE_URL", &url)]).await;
    (app, proxy)
}

/// Sends a request and answers (status, content type, body, time taken).
async fn timed(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String, Value, Duration) {
    let started = Instant::now();
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    let elapsed = started.elapsed();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, kind, body, elapsed)
}

fn assert_unavailable(what: &str, (status, kind, body, _): &(StatusCode, String, Value, Duration)) {
    assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
    assert_eq!(kind, "application/problem+json", "{what}");
    assert_eq!(body["code"], "unavailable", "{what}: {body}");
    assert_eq!(body["status"], 503, "{what}: {body}");
    assert!(body["title"].is_string() && body["detail"].is_string());
}

async fn metric(app: &TestApp, name: &str) -> Option<f64> {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

/// Polls until `check` holds (at most `limit`), answering whether it did.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn an_outage_fails_writes_and_authenticated_reads_fast_with_503(engine: Engine) {
    let (app, mut proxy) = app_behind_proxy(engine).await;
    let admin = app.admin().await;
    let member = app.signup("outage").await;
    let (status, _) = app.get_as(&member, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);

    proxy.cut();
    let write = timed(
        &app,
        Method::POST,
        "/api/v1/foods",
        Some(&admin),
        Some(json!({"name": "정전", "description": "x"})),
    )
    .await;
    assert_unavailable("a write", &write);
    let read = timed(&app, Method::GET, "/api/v1/me", Some(&member), None).await;
    assert_unavailable("an authenticated read", &read);
    let signup = timed(
        &app,
        Method::POST,
        "/api/v1/auth/signup",
        None,
        Some(json!({"username": "newcomer", "password": "password123"})),
    )
    .await;
    assert_unavailable("a signup", &signup);

    // Once the probe has seen the outage, requests fail without waiting for the pool.
    assert!(
        eventually(Duration::from_secs(10), || async {
            metric(&app, "ipmat_db_down").await == Some(1.0)
        })
        .await,
        "the breaker opens"
    );
    for _ in 0..5 {
        let fast = timed(&app, Method::GET, "/api/v1/me", Some(&member), None).await;
        assert_unavailable("while down", &fast);
        assert!(
            fast.3 < Duration::from_secs(1),
            "answered in {:?}, not after the pool's 5 s acquire timeout",
            fast.3
        );
    }

    proxy.restore().await;
    assert!(
        eventually(Duration::from_secs(15), || async {
            app.client
                .get(app.url("/api/v1/me"))
                .bearer_auth(&member)
                .send()
                .await
                .unwrap()
                .status()
                == StatusCode::OK
        })
        .await,
        "recovers without a restart"
    );
    let (status, _) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "복구", "description": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(metric(&app, "ipmat_db_down").await, Some(0.0));
}

async fn a_frozen_database_fails_requests_within_a_bounded_time(engine: Engine) {
    let (app, proxy) = app_behind_proxy(engine).await;
    let member = app.signup("frozen").await;
    proxy.freeze(true);
    let started = Instant::now();
    let first = timed(&app, Method::GET, "/api/v1/me", Some(&member), None).await;
    assert_unavailable("a read on a frozen database", &first);
    assert!(
        started.elapsed() <= Duration::from_secs(12),
        "bounded by the client-side statement limit, took {:?}",
        started.elapsed()
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            metric(&app, "ipmat_db_down").await == Some(1.0)
        })
        .await,
        "the probe finds the frozen database down"
    );
    let fast = timed(&app, Method::GET, "/api/v1/books", None, None).await;
    assert_unavailable("while frozen", &fast);
    assert!(fast.3 < Duration::from_secs(1), "took {:?}", fast.3);

    proxy.freeze(false);
    assert!(
        eventually(Duration::from_secs(20), || async {
            app.client
                .get(app.url("/api/v1/me"))
                .bearer_auth(&member)
                .send()
                .await
                .unwrap()
                .status()
                == StatusCode::OK
        })
        .await,
        "recovers once the database answers again"
    );
}

mod database_outages {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mariadb() {
        an_outage_fails_writes_and_authenticated_reads_fast_with_503(Engine::MySql).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        an_outage_fails_writes_and_authenticated_reads_fast_with_503(Engine::Postgres).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn frozen_mariadb() {
        a_frozen_database_fails_requests_within_a_bounded_time(Engine::MySql).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn frozen_postgres() {
        a_frozen_database_fails_requests_within_a_bounded_time(Engine::Postgres).await
    }
}

// ---------------------------------------------------------------------------------------
// The pool of a database server is opened whole at start (docs/deploy.md)

async fn a_server_pool_is_open_whole_once_connected(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let db = ipmat::db::connect(app.config.database_url.expose(), 5)
        .await
        .unwrap();
    let counts = || match engine {
        Engine::MySql => {
            let pool = db.get_mysql_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
    };
    assert_eq!(
        counts(),
        (5, 5),
        "every connection is open and idle before the first request"
    );
    db.close().await.unwrap();
}

mod warm_pool {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mariadb() {
        a_server_pool_is_open_whole_once_connected(Engine::MySql).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        a_server_pool_is_open_whole_once_connected(Engine::Postgres).await
    }
}

// ---------------------------------------------------------------------------------------
// Maintenance

async fn the_sweep_runs_on_one_replica_at_a_time_and_purges_old_salts(engine: Engine) {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn(engine).await;
    let state = ipmat::App::build(app.config.clone()).await.unwrap().state;
    for (day, salt) in [("2020-01-01", "old"), ("2999-01-01", "future")] {
        ipmat::db::exec(
            &app.db,
            "INSERT INTO visitor_salts (day, salt) VALUES (?, ?)",
            vec![day.into(), salt.into()],
        )
        .await
        .unwrap();
    }
    // Another replica holds the lock: this one skips the round.
    let other = ipmat::db::connect(app.config.database_url.expose(), 1)
        .await
        .unwrap();
    let held = match engine {
        // The sweep's lock name includes the database's (two sites may share one server).
        Engine::MySql => Some((
            "SELECT GET_LOCK(CONCAT('ipmat_sweep:', DATABASE()), 0)",
            "DO RELEASE_LOCK(CONCAT('ipmat_sweep:', DATABASE()))",
        )),
        Engine::Postgres => Some((
            "SELECT pg_advisory_lock(4627002)",
            "SELECT pg_advisory_unlock(4627002)",
        )),
        Engine::Sqlite => None,
    };
    if let Some((lock, _)) = held {
        other.execute_unprepared(lock).await.unwrap();
        assert!(
            !ipmat::maintenance::sweep_if_alone(&state).await.unwrap(),
            "skipped while another replica sweeps"
        );
        assert_eq!(app.scalar("SELECT COUNT(*) FROM visitor_salts").await, 2);
    }
    if let Some((_, unlock)) = held {
        other.execute_unprepared(unlock).await.unwrap();
    }
    assert!(ipmat::maintenance::sweep_if_alone(&state).await.unwrap());
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM visitor_salts WHERE day = '2020-01-01'")
            .await,
        0,
        "old salts are purged"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM visitor_salts").await,
        1,
        "newer ones stay"
    );
}

// ---------------------------------------------------------------------------------------
// Retired foods

async fn a_used_food_is_retired_and_history_keeps_it(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (status, _) = app
        .post("/api/v1/categories", Some(&admin), json!({"name": "은퇴"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (book, foods) = app.book_with_foods(&admin, "역사", 4).await;
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/foods/{}", foods[0]),
            Some(&admin),
            Some(json!({"categories": ["은퇴"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // All four are drawn into a world cup, foods[1] is also in an exam; a fifth food, in no
    // book, is used by nothing.
    let (status, lonely) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "외톨이", "description": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{lonely}");
    let lonely = lonely["id"].as_i64().unwrap();
    let (status, cup) = app
        .post(
            &format!("/api/v1/books/{book}/worldcups"),
            None,
            json!({"size": 4}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{cup}");
    let cup_id = cup["id"].as_str().unwrap().to_owned();
    let (status, pair) = app
        .post(
            "/api/v1/quiz/pairs",
            Some(&admin),
            json!({"left_id": foods[1], "right_id": foods[2]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pair}");
    let pair_id = pair["id"].as_i64().unwrap();
    let author = app.signup("author").await;
    let (status, exam) = app
        .post(
            "/api/v1/exams",
            Some(&author),
            json!({"title": "역사", "answers": [{"pair_id": pair_id, "food_id": foods[1]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{exam}");
    let code = exam["code"].as_str().unwrap().to_owned();

    for id in [foods[0], foods[1], foods[3], lonely] {
        let (status, body) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/foods/{id}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    // Retiring again is a no-op; the unused food is gone for good.
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/foods/{}", foods[0]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&format!("/api/v1/foods/{lonely}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unused food is deleted");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM foods WHERE retired_at IS NOT NULL")
            .await,
        3
    );

    // Gone from lists, search, the book, categories, the reroll and the question bank.
    let (_, list) = app.get("/api/v1/foods").await;
    let listed: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, vec![foods[2]]);
    let (_, search) = app.get("/api/v1/foods?q=%EC%97%AD%EC%82%AC1").await;
    assert_eq!(search["items"].as_array().unwrap().len(), 0, "{search}");
    let (_, book_body) = app.get(&format!("/api/v1/books/{book}")).await;
    assert_eq!(book_body["food_count"], 1, "{book_body}");
    assert_eq!(book_body["foods"].as_array().unwrap().len(), 1);
    let (_, categories) = app.get("/api/v1/categories").await;
    assert_eq!(categories[0]["food_count"], 0, "{categories}");
    let (status, _) = app
        .get(&format!(
            "/api/v1/foods/random?category={}",
            categories[0]["id"]
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for _ in 0..10 {
        let (status, food) = app.get("/api/v1/foods/random").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(food["id"].as_i64(), Some(foods[2]));
    }
    let (_, pairs) = app.get("/api/v1/quiz/pairs?count=10").await;
    assert_eq!(pairs.as_array().unwrap().len(), 0, "{pairs}");
    let (status, body) = app
        .post(
            &format!("/api/v1/books/{book}/worldcups"),
            None,
            json!({"size": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Still shown where used.
    let (status, food) = app.get(&format!("/api/v1/foods/{}", foods[0])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(food["name"], "역사1");
    let (_, cup) = app.get(&format!("/api/v1/worldcups/{cup_id}")).await;
    let shown = [&cup["current"]["left"], &cup["current"]["right"]];
    assert!(shown.iter().all(|f| f["name"] != "(삭제된 음식)"), "{cup}");
    let (status, exam) = app.get(&format!("/api/v1/exams/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(exam["question_count"], 1, "{exam}");
    let player = app.signup("player").await;
    let (status, outcome) = app
        .call(
            Method::PUT,
            &format!("/api/v1/exams/{code}/attempt"),
            Some(&player),
            Some(json!({"answers": [{"pair_id": pair_id, "food_id": foods[1]}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["total"], 1);
    assert_eq!(outcome["score"], 1);
}

// ---------------------------------------------------------------------------------------
// Headers and exposure

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    for path in [
        "/",
        "/quiz/ABC234",
        "/app.js",
        "/api/v1/books",
        "/api/v1/nothing-here",
        "/media/img/missing.jpg",
        "/healthz",
        "/docs/",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers.contains_key("referrer-policy"), "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        if path.starts_with("/docs") {
            assert!(csp.contains("style-src 'self' 'unsafe-inline'"), "{csp}");
        } else {
            assert!(!csp.contains("unsafe"), "{path}: {csp}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absolute_media_base_joins_the_image_sources_of_the_policy() {
    let app = TestApp::spawn_with(
        Engine::Sqlite,
        &[
            ("IPMAT_SEED", "off"),
            ("IPMAT_MEDIA_BASE_URL", "https://cdn.example/ipmat"),
        ],
    )
    .await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("img-src 'self' data: blob: https://cdn.example;"),
        "{csp}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_only_for_allowed_networks() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "loopback is allowed");
    let text = response.text().await.unwrap();
    for expected in [
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "process_open_fds ",
        "process_max_fds ",
        "ipmat_build_info{version=\"",
        "ipmat_http_connections_open ",
        "ipmat_panics_total 0",
        "ipmat_db_down 0",
    ] {
        assert!(text.contains(expected), "missing {expected}\n{text}");
    }

    let closed = TestApp::spawn_with(
        Engine::Sqlite,
        &[("IPMAT_SEED", "off"), ("IPMAT_METRICS_ALLOW", "10.0.0.0/8")],
    )
    .await;
    let (status, body) = closed.get("/metrics").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Through a trusted proxy the forwarded client address decides.
    let proxied = TestApp::spawn_with(
        Engine::Sqlite,
        &[
            ("IPMAT_SEED", "off"),
            ("IPMAT_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let outside = proxied
        .client
        .get(proxied.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), StatusCode::NOT_FOUND);
    let inside = proxied
        .client
        .get(proxied.url("/metrics"))
        .header("x-forwarded-for", "10.1.2.3")
        .send()
        .await
        .unwrap();
    assert_eq!(inside.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------
// Panics and request ids

/// Log output shared by the in-process server of the panic test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_answered_counted_and_logged_with_its_request_id() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_writer(logs.clone())
        .with_env_filter("info")
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);

    let app = TestApp::spawn(Engine::Sqlite).await;
    let routes = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            tracing::info!("about to fail");
            panic!("kaboom");
            #[allow(unreachable_code)]
            ""
        }),
    );
    let state = ipmat::App::build(app.config.clone()).await.unwrap().state;
    let router = ipmat::app::with_layers(routes, state.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let response = reqwest::Client::new()
        .get(format!("http://{addr}/boom"))
        .header("x-request-id", "panic-trace-7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()["x-request-id"], "panic-trace-7");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "internal");
    assert!(
        state.metrics.render(None).contains("ipmat_panics_total 1"),
        "the panic is counted"
    );
    assert!(
        state
            .metrics
            .render(None)
            .contains("route=\"/boom\",status=\"500\"} 1"),
        "and observed as a 500"
    );
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &Value| l["span"]["request_id"] == "panic-trace-7")
        .collect();
    assert!(
        lines.iter().any(|l| l["message"] == "about to fail"),
        "a handler's own log line carries the request id: {text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "ERROR" && l["panic"] == "kaboom"),
        "the panic is logged with the request id: {text}"
    );
}

// ---------------------------------------------------------------------------------------
// Connections

/// Reads until the server closes the connection; answers what it sent and how long it took.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "the server kept the connection past {limit:?}"
    );
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_heads_time_out_and_idle_connections_are_closed() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut partial = TcpStream::connect(&addr).await.unwrap();
    partial
        .write_all(b"GET /api/v1/books HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let sent = Instant::now();
    let (answer, waited) = read_until_closed(&mut partial, Duration::from_secs(14)).await;
    assert!(answer.is_empty(), "{answer}");
    assert!(waited >= Duration::from_secs(9), "closed after {waited:?}");
    let (answer, _) = read_until_closed(&mut idle, Duration::from_secs(35)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        sent.elapsed() >= Duration::from_secs(25),
        "keep-alive outlives nginx's 20 s: closed {:?} after the request",
        sent.elapsed()
    );
    // Others are served all along.
    let (status, _) = app.get("/api/v1/books").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_fails_the_request() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 60\r\n\r\n{\"username\": \"slow",
        )
        .await
        .unwrap();
    let (answer, waited) = read_until_closed(&mut stream, Duration::from_secs(15)).await;
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(waited >= Duration::from_secs(9), "after {waited:?}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsable_heads_are_answered_with_problem_details() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let huge = format!(
        "GET /api/v1/books HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    for (request, status, code) in [
        (b"NOT HTTP AT ALL\r\n\r\n".to_vec(), "400", "bad_request"),
        (
            b"GET /api/v1/books HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n".to_vec(),
            "400",
            "bad_request",
        ),
        (huge.into_bytes(), "431", "headers_too_large"),
    ] {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let _ = stream.write_all(&request).await;
        let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{answer}"
        );
        assert!(answer.contains("application/problem+json"), "{answer}");
        let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["code"], code);
        assert_eq!(body["status"].as_u64().unwrap().to_string(), status);
    }
    // A well-formed request on the same server is unaffected.
    let (status, _) = app.get("/api/v1/books").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_idle_connections_make_room_for_new_clients() {
    let app = TestApp::spawn_with(
        Engine::Sqlite,
        &[("IPMAT_SEED", "off"), ("IPMAT_MAX_CONNECTIONS", "16")],
    )
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut hogs = Vec::new();
    for _ in 0..40 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        // Half send a partial head, half nothing at all.
        if hogs.len() % 2 == 0 {
            stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        }
        hogs.push(stream);
    }
    let started = Instant::now();
    let (status, _) = app.get("/api/v1/books").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "served in {:?}, before any header timeout",
        started.elapsed()
    );
    let shed = metric(&app, "ipmat_http_connections_shed_total").await;
    assert!(shed.is_some_and(|n| n >= 1.0), "{shed:?}");
    let open = metric(&app, "ipmat_http_connections_open").await.unwrap();
    assert!(open <= 16.0, "{open} open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_stuck_connections_at_once_and_never_races_an_idle_one() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stuck = TcpStream::connect(&addr).await.unwrap();
    stuck.write_all(b"GET / HTTP/1.1\r\nHost").await.unwrap();
    // Two keep-alive connections that answered one request each and are now idle, as a
    // proxy's pooled upstream connections are.
    let mut pooled = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = c.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        pooled.push(c);
    }
    let (mut used, mut unused) = (pooled.remove(0), pooled.remove(0));
    let started = Instant::now();
    let mut app = app;
    let stopping = tokio::spawn(async move {
        app.stop().await;
        Instant::now()
    });
    // The stuck head is closed at once.
    read_until_closed(&mut stuck, Duration::from_secs(2)).await;
    // A request written on an idle connection after SIGTERM is answered, not cut off, and
    // the answer tells the client to close.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    used.write_all(b"POST /api/v1/auth/guest HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut used, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 422"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    // A connection nobody uses is kept for the linger, then closed; the server ends with it.
    let (_, waited) = read_until_closed(
        &mut unused,
        ipmat::server::SHUTDOWN_IDLE_LINGER + Duration::from_secs(3),
    )
    .await;
    let closed_after = started.elapsed();
    assert!(
        closed_after >= ipmat::server::SHUTDOWN_IDLE_LINGER,
        "closed after {closed_after:?} ({waited:?} of waiting)"
    );
    let ended = stopping.await.unwrap();
    assert!(
        ended.duration_since(started)
            < ipmat::server::SHUTDOWN_IDLE_LINGER + Duration::from_secs(2)
    );
}

// ---------------------------------------------------------------------------------------
// Images

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header claims `width`×`height` at `bits` per channel (`color`: 2 RGB, 6 RGBA)
/// over a few bytes of pixel data.
fn png_claiming(width: u32, height: u32, bits: u8, color: u8) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = width.to_be_bytes().to_vec();
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[bits, color, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

async fn upload(app: &TestApp, token: &str, data: &[u8]) -> (StatusCode, Value) {
    let boundary = "ipmat-hardening-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let response = app
        .client
        .post(app.url("/api/v1/images"))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_images_are_refused_before_decoding() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let admin = app.admin().await;
    for (width, height, bits, color, what) in [
        (40_000_000, 1, 8, 2, "a 40,000,000×1 line"),
        (16_385, 2, 8, 2, "one side over 16,384"),
        (2, 16_385, 8, 2, "the other side over 16,384"),
        (6000, 6000, 16, 6, "36 MP at 16 bits with alpha"),
        (7000, 7000, 8, 2, "49 MP"),
    ] {
        let started = Instant::now();
        let (status, body) = upload(&app, &admin, &png_claiming(width, height, bits, color)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{what}: {body}");
        assert_eq!(body["code"], "payload_too_large", "{what}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{what} was judged by its header, took {:?}",
            started.elapsed()
        );
    }
    // At the limits, the header passes and the (fake) pixel data is what fails.
    let (status, body) = upload(&app, &admin, &png_claiming(16_384, 2, 8, 2)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = upload(&app, &admin, &png_claiming(4000, 4000, 16, 6)).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "16 MP at 16 bits: {body}"
    );
}
