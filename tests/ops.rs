//! Operations: metrics, structured logs, the start/stop webhook, graceful shutdown, and
//! readiness while the database goes away and comes back.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Engine, TestApp, TestDatabase};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The binary running as a child process, with its log lines collected.
struct Server {
    child: Child,
    addr: String,
    logs: Arc<Mutex<Vec<String>>>,
    _db: TestDatabase,
}

impl Server {
    async fn start(vars: &[(&str, &str)]) -> Server {
        let db = TestDatabase::create(Engine::Sqlite).await;
        let mut command = Command::new(env!("CARGO_BIN_EXE_ipmat"));
        command
            .arg("serve")
            .current_dir(&db.dir)
            .env("IPMAT_BIND", "127.0.0.1:0")
            .env("IPMAT_DATABASE_URL", &db.url)
            .env("IPMAT_SEED", "off")
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let rest = &line[at + "listening on http://".len()..];
                    let addr: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                        .collect();
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(20)))
            .await
            .unwrap()
            .expect("the server reports its address");
        // The test's own reqwest clients need the process's TLS provider too.
        ipmat::install_crypto_provider();
        Server {
            child,
            addr,
            logs,
            _db: db,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit and answers its exit code.
    async fn wait(mut self) -> (Option<i32>, Vec<String>) {
        let logs = self.logs.clone();
        let code = tokio::task::spawn_blocking(move || self.child.wait().unwrap().code())
            .await
            .unwrap();
        let lines = logs.lock().unwrap().clone();
        (code, lines)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_and_events() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "지표", 4).await;
    for _ in 0..3 {
        app.get("/api/v1/books").await;
    }
    app.get("/api/v1/foods/999").await;
    app.post(
        &format!("/api/v1/books/{book}/worldcups"),
        None,
        serde_json::json!({"size": 2}),
    )
    .await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for expected in [
        "ipmat_http_requests_total{method=\"GET\",route=\"/api/v1/books\",status=\"200\"} 3",
        "ipmat_http_requests_total{method=\"GET\",route=\"/api/v1/foods/{id}\",status=\"404\"} 1",
        "ipmat_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/books\",status=\"200\",le=\"+Inf\"} 3",
        "ipmat_worldcups_started_total 1",
        "ipmat_worldcups_finished_total 0",
        "ipmat_db_pool_max_connections 8",
        "ipmat_db_pool_connections{state=\"idle\"}",
    ] {
        assert!(text.contains(expected), "missing {expected}\n{text}");
    }
    assert!(
        !text.contains("/api/v1/foods/999"),
        "routes are templates, not raw paths"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_have_one_object_per_line_with_request_details() {
    let server = Server::start(&[("IPMAT_LOG_FORMAT", "json"), ("IPMAT_LOG", "info")]).await;
    let response = reqwest::Client::new()
        .get(server.url("/api/v1/books"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["x-request-id"],
        "trace-me-42",
        "the request id is propagated"
    );
    server.signal("TERM");
    let (code, lines) = server.wait().await;
    assert_eq!(code, Some(0));
    let objects: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let request = objects
        .iter()
        .find(|o| o["request_id"] == "trace-me-42")
        .unwrap_or_else(|| panic!("no request line in {lines:?}"));
    assert_eq!(request["route"], "/api/v1/books");
    assert_eq!(request["status"], 200);
    assert!(request["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(request["timestamp"].is_string() && request["level"] == "INFO");
}

/// A webhook receiver answering 200 and keeping every body it gets.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_hears_of_start_and_stop() {
    let (url, got) = receiver().await;
    let server = Server::start(&[("IPMAT_NOTIFY_URL", &url)]).await;
    wait_until("the start message", || !got.lock().unwrap().is_empty()).await;
    let start = got.lock().unwrap()[0]["text"].as_str().unwrap().to_owned();
    assert!(start.contains("started"), "{start}");
    server.signal("TERM");
    let (code, lines) = server.wait().await;
    assert_eq!(code, Some(0));
    let messages = got.lock().unwrap().clone();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[1]["text"].as_str().unwrap().contains("stopped"));
    assert!(
        lines.iter().all(|l| !l.contains("/hook")),
        "the webhook URL is a secret: {lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_webhook_never_delays_or_fails_the_start() {
    // Accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let server = Server::start(&[("IPMAT_NOTIFY_URL", &url)]).await;
    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "ready in {:?}",
        started.elapsed()
    );
    server.signal("TERM");
    let (code, _) = server.wait().await;
    assert_eq!(
        code,
        Some(0),
        "a failing webhook does not fail the stop either"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_then_exits_zero() {
    let server = Server::start(&[]).await;
    // A request whose body is still arriving when SIGTERM comes.
    let body = br#"{"username": "latecomer", "password": "password123"}"#;
    let mut stream = TcpStream::connect(&server.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // New connections are refused while the old request is still being served.
    assert!(
        TcpStream::connect(&server.addr).await.is_err(),
        "the listener is closed after SIGTERM"
    );
    stream.write_all(&body[10..]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let (code, _) = server.wait().await;
    assert_eq!(code, Some(0));
}

/// A TCP proxy in front of a database that the test can cut and restore.
struct Proxy {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
    target: String,
}

impl Proxy {
    async fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Proxy {
            port,
            task: None,
            target: target.to_owned(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            let mut pipes = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                pipes.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
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
}

async fn readiness(app: &TestApp) -> StatusCode {
    app.client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status()
}

async fn readiness_follows_the_database_without_a_restart(engine: Engine) {
    let db = TestDatabase::create(engine).await;
    let (server, rest) = db.url.split_once("@").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut proxy = Proxy::start(host).await;
    let url = format!("{server}@127.0.0.1:{}/{path}", proxy.port);
    let app = TestApp::spawn_on(db, &[("IPMAT_SEED", "off"), ("IPMAT_DATABASE_URL", &url)]).await;
    assert_eq!(readiness(&app).await, StatusCode::OK);

    proxy.cut();
    let mut status = StatusCode::OK;
    for _ in 0..50 {
        status = readiness(&app).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "unready while the database is gone"
    );
    let response = app
        .client
        .get(app.url("/api/v1/categories"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "API calls answer 503, not 500"
    );
    assert!(response.headers().contains_key("retry-after"));

    proxy.restore().await;
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..100 {
        status = readiness(&app).await;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK, "ready again without a restart");
    let (status, _) = app.get("/api/v1/categories").await;
    assert_eq!(status, StatusCode::OK);
}

mod readiness_follows_the_database {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(ipmat_skip_mariadb, ignore = "IPMAT_TEST_ENGINES leaves MariaDB out")]
    async fn mariadb() {
        readiness_follows_the_database_without_a_restart(Engine::MySql).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        ipmat_skip_postgres,
        ignore = "IPMAT_TEST_ENGINES leaves PostgreSQL out"
    )]
    async fn postgres() {
        readiness_follows_the_database_without_a_restart(Engine::Postgres).await
    }
}
