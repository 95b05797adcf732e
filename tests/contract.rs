//! The API contract: problem details for every kind of bad request, the OpenAPI document,
//! probes, and the web app's fallback.

mod common;

use common::{Engine, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_all_engines!(
    malformed_requests_never_get_a_server_error,
    probes_and_config_answer
);

/// Sends raw requests and answers (status, content type, body).
async fn raw(
    app: &TestApp,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    token: Option<&str>,
) -> (StatusCode, String, String) {
    let mut request = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let ct = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, response.text().await.unwrap())
}

/// method, path, content type, body, expected status, expected code
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    u16,
    &'static str,
);

/// Sends `GET target` exactly as written and answers the status code.
async fn raw_socket_status(app: &TestApp, target: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn malformed_requests_never_get_a_server_error(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let json_ct = Some("application/json");
    let big = format!("{{\"name\": \"{}\"}}", "가".repeat(400_000)).into_bytes();
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/v1/auth/signup",
            json_ct,
            b"{not json".to_vec(),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/v1/auth/signup",
            json_ct,
            b"".to_vec(),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/v1/auth/signup",
            json_ct,
            b"null".to_vec(),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/v1/auth/signup",
            json_ct,
            vec![0xff, 0xfe, 0x00],
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/v1/auth/signup",
            Some("text/plain"),
            b"{}".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/api/v1/auth/signup",
            None,
            b"{}".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/api/v1/auth/login",
            json_ct,
            br#"{"username": ["a"], "password": 1}"#.to_vec(),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/v1/foods",
            json_ct,
            big,
            413,
            "payload_too_large",
        ),
        ("GET", "/api/v1/foods/abc", None, vec![], 404, "not_found"),
        (
            "GET",
            "/api/v1/foods/99999999999999999999999",
            None,
            vec![],
            404,
            "not_found",
        ),
        ("GET", "/api/v1/foods/-1", None, vec![], 404, "not_found"),
        ("GET", "/api/v1/books/1.5", None, vec![], 404, "not_found"),
        (
            "GET",
            "/api/v1/foods?limit=-1",
            None,
            vec![],
            422,
            "validation_failed",
        ),
        (
            "GET",
            "/api/v1/foods?limit=99999999999999999999999",
            None,
            vec![],
            422,
            "validation_failed",
        ),
        (
            "GET",
            "/api/v1/no-such-route",
            None,
            vec![],
            404,
            "not_found",
        ),
        ("GET", "/api/v2/books", None, vec![], 404, "not_found"),
        (
            "DELETE",
            "/api/v1/books",
            None,
            vec![],
            405,
            "method_not_allowed",
        ),
        (
            "PATCH",
            "/api/v1/categories",
            None,
            vec![],
            405,
            "method_not_allowed",
        ),
        ("POST", "/", None, vec![], 405, "method_not_allowed"),
        (
            "GET",
            "/media/..%2F..%2Fetc%2Fpasswd",
            None,
            vec![],
            404,
            "not_found",
        ),
        ("GET", "/missing-file.js", None, vec![], 404, "not_found"),
    ];
    for (method, path, ct, body, status, code) in cases {
        let (got, content_type, text) = raw(&app, method, path, ct, body, Some(&admin)).await;
        assert_eq!(got.as_u16(), status, "{method} {path}: {text}");
        assert_eq!(content_type, "application/problem+json", "{method} {path}");
        let problem: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(problem["code"], code, "{method} {path}: {text}");
        assert_eq!(problem["status"], status);
        for field in ["type", "title", "detail"] {
            assert!(problem[field].is_string(), "{field} in {text}");
        }
    }
    // Clients normalise dot segments away; a raw socket sends them as written.
    for target in [
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media/../../etc/passwd",
        "/media/seed/%2e%2e%2f%2e%2e%2fCargo.toml",
    ] {
        let status = raw_socket_status(&app, target).await;
        assert_eq!(status, 404, "{target}");
    }
    let (status, problem) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"username": "ab", "password": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["username", "password"],
        "every failing field is listed"
    );
}

async fn probes_and_config_answer(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    for path in ["/healthz", "/readyz"] {
        let (status, _) = app.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let response = app
        .client
        .get(app.url("/api/v1/config"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let config: Value = response.json().await.unwrap();
    assert_eq!(
        config,
        json!({"media_base_url": "/media", "version": env!("CARGO_PKG_VERSION")})
    );
    let app = app
        .restart(&[
            ("IPMAT_SEED", "off"),
            ("IPMAT_MEDIA_BASE_URL", "https://cdn.example.com/ipmat/"),
        ])
        .await;
    let (_, config) = app.get("/api/v1/config").await;
    assert_eq!(config["media_base_url"], "https://cdn.example.com/ipmat");

    // Storage that disappears makes the instance unready.
    std::fs::remove_dir_all(&app.media_dir).unwrap();
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "unavailable");
    std::fs::create_dir_all(&app.media_dir).unwrap();
    let (status, _) = app.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let (status, doc) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/api/v1/categories", "get"),
        ("/api/v1/categories", "post"),
        ("/api/v1/categories/{id}", "delete"),
        ("/api/v1/foods", "get"),
        ("/api/v1/foods", "post"),
        ("/api/v1/foods/random", "get"),
        ("/api/v1/foods/{id}", "get"),
        ("/api/v1/foods/{id}", "patch"),
        ("/api/v1/foods/{id}", "delete"),
        ("/api/v1/books", "get"),
        ("/api/v1/books", "post"),
        ("/api/v1/books/{id}", "get"),
        ("/api/v1/books/{id}", "patch"),
        ("/api/v1/books/{id}", "delete"),
        ("/api/v1/books/{id}/foods", "put"),
        ("/api/v1/auth/signup", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/me", "delete"),
        ("/api/v1/me/favorites", "get"),
        ("/api/v1/me/favorites/{book_id}", "put"),
        ("/api/v1/me/favorites/{book_id}", "delete"),
        ("/api/v1/stats/visitors", "get"),
        ("/api/v1/config", "get"),
        ("/api/v1/images", "post"),
        ("/api/v1/books/{id}/worldcups", "post"),
        ("/api/v1/worldcups/{id}", "get"),
        ("/api/v1/worldcups/{id}/picks", "post"),
        ("/api/v1/worldcups/{id}/picks/last", "delete"),
        ("/api/v1/books/{id}/ranking", "get"),
    ];
    for (path, method) in expected {
        let op = &paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is documented"))[method];
        assert!(op.is_object(), "{method} {path} is documented");
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path} has responses"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "Food",
        "Book",
        "BookDetail",
        "Category",
        "Problem",
        "User",
        "SessionResponse",
        "CreateFoodRequest",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema}");
    }
    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(
        docs.text().await.unwrap().contains("swagger"),
        "/docs renders the document"
    );
}

#[tokio::test]
async fn every_app_path_serves_the_web_app() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    // Share links whose code or id names nothing still get the app, with status 404.
    for (path, status) in [
        ("/", StatusCode::OK),
        ("/login", StatusCode::OK),
        ("/admin", StatusCode::OK),
        ("/quiz/ABC234", StatusCode::NOT_FOUND),
        ("/worldcup/some-id", StatusCode::NOT_FOUND),
        ("/quiz/ABC234/attempts/john.doe", StatusCode::NOT_FOUND),
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(response.text().await.unwrap().contains("<html"), "{path}");
    }
    let manifest = app
        .client
        .get(app.url("/manifest.webmanifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), StatusCode::OK);
    assert!(
        manifest.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/manifest+json")
    );
}
