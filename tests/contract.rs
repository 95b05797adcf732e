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
        // Bytes that are not JSON are 400; JSON of the wrong shape (arrays and scalars
        // included: serde alone would read a struct from an array) is 422.
        (
            "POST",
            "/api/v1/auth/signup",
            json_ct,
            b"{not json".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "POST",
            "/api/v1/auth/signup",
            json_ct,
            b"".to_vec(),
            400,
            "malformed_json",
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
            400,
            "malformed_json",
        ),
        (
            "POST",
            "/api/v1/auth/login",
            json_ct,
            br#"["admin", "x"]"#.to_vec(),
            422,
            "validation_failed",
        ),
        (
            "PATCH",
            "/api/v1/books/1",
            json_ct,
            b"[null, null]".to_vec(),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/v1/books/1/worldcups",
            json_ct,
            b"[4]".to_vec(),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/v1/books/1/worldcups",
            json_ct,
            b"{\"size\": ".to_vec(),
            400,
            "malformed_json",
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
        json!({"media_base_url": "/media", "version": env!("CARGO_PKG_VERSION"), "map_links": [
            {"service": "kakao", "search_url": "https://map.kakao.com/?q="},
            {"service": "naver", "search_url": "https://map.naver.com/p/search/"},
        ]})
    );
    let app = app
        .restart(&[
            ("IPMAT_SEED", "off"),
            ("IPMAT_MEDIA_BASE_URL", "https://cdn.example.com/ipmat/"),
            ("IPMAT_MAP_LINKS", ""),
        ])
        .await;
    let (_, config) = app.get("/api/v1/config").await;
    assert_eq!(config["media_base_url"], "https://cdn.example.com/ipmat");
    assert_eq!(
        config["map_links"],
        json!([]),
        "an empty IPMAT_MAP_LINKS hides them"
    );

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
        ("/api/v1/foods/today", "get"),
        ("/api/v1/me/worldcups", "get"),
        ("/api/v1/me/taste", "get"),
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

/// The methods an operation can have in the document.
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Resolves a `$ref` into the document's components, or answers the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{r} resolves")),
        None => schema,
    }
}

/// Every documented operation is routed (no route-level 404 or 405), every answer it gives to
/// a signed-in admin and to an anonymous caller has a documented status, the documented
/// content type, and the declared required fields; methods the document does not list on a
/// path are refused with 405, so the router holds nothing the document leaves out.
#[tokio::test]
async fn every_documented_operation_is_routed_and_answers_as_documented() {
    let app = TestApp::spawn_seeded(Engine::Sqlite).await;
    let admin = app.admin().await;
    let (_, doc) = app.get("/api/v1/openapi.json").await;
    // Signing out and deleting oneself end the admin's token: those go last.
    let mut paths: Vec<(&String, &Value)> = doc["paths"].as_object().unwrap().iter().collect();
    paths.sort_by_key(|(path, _)| path.as_str() == "/api/v1/me" || path.ends_with("/logout"));
    let mut checked = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", "1")
            .replace("{book_id}", "1")
            .replace("{code}", "ZZZZZZ")
            .replace("{username}", "nobody")
            .replace("{key}", "nothing.jpg")
            .replace("{food_id}", "1");
        assert!(
            !concrete.contains('{'),
            "a value for every parameter of {path}"
        );
        for method in METHODS {
            let Some(op) = item.get(method) else {
                let upper = method.to_uppercase();
                let (status, ct, _) =
                    raw(&app, &upper, &concrete, None, vec![], Some(&admin)).await;
                assert_eq!(
                    status, 405,
                    "{method} {path} is not documented, so not routed ({ct})"
                );
                continue;
            };
            let json_body = op["requestBody"]["content"]["application/json"].is_object();
            for token in [Some(admin.as_str()), None] {
                let (ct, body) = if json_body {
                    (Some("application/json"), b"{}".to_vec())
                } else {
                    (None, vec![])
                };
                let (status, content_type, text) =
                    raw(&app, &method.to_uppercase(), &concrete, ct, body, token).await;
                let who = if token.is_some() {
                    "admin"
                } else {
                    "anonymous"
                };
                assert_ne!(status, 405, "{method} {path} is routed");
                if status == 404 {
                    assert!(
                        !text.contains("route not found"),
                        "{method} {path} is routed"
                    );
                }
                let declared = &op["responses"][status.as_str()];
                assert!(
                    declared.is_object(),
                    "{method} {path} as {who} answered an undocumented {status}: {text}"
                );
                let content = declared["content"].as_object();
                match content {
                    None => assert!(
                        text.is_empty() || method == "get",
                        "{method} {path} {status}: a body where none is documented"
                    ),
                    Some(content) => {
                        let (media, spec) = content
                            .iter()
                            .find(|(media, _)| content_type.starts_with(media.as_str()))
                            .unwrap_or_else(|| {
                                panic!("{method} {path} {status}: content type {content_type} is not among {:?}", content.keys())
                            });
                        if media.ends_with("json") {
                            let body: Value = serde_json::from_str(&text).unwrap();
                            let schema = resolve(&doc, &spec["schema"]);
                            if let Some(required) = schema["required"].as_array() {
                                for field in required {
                                    let field = field.as_str().unwrap();
                                    assert!(
                                        body.get(field).is_some(),
                                        "{method} {path} {status}: `{field}` is required: {text}"
                                    );
                                }
                            }
                        }
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 80, "{checked} answers checked");
    println!("{checked} answers checked against the document");
}
