//! The web app's delivery over HTTP: brotli and gzip by `Accept-Encoding` (files, pages, API
//! answers; not pictures or tiny bodies), versioned URLs cached for a year and the rest
//! revalidated, ETags and 304s per coding, the import map that the page's CSP allows, and the
//! first view's modules preloaded.

mod common;

use std::io::Read;

use common::{Engine, TestApp};
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, ETAG, IF_NONE_MATCH,
    VARY,
};
use sha2::{Digest, Sha256};

on_all_engines!(
    api_answers_are_compressed_when_asked_and_worth_it,
    pages_are_coded_revalidated_and_carry_their_import_map,
);

struct Got {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: impl reqwest::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body with its content coding undone.
    fn decoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.header(CONTENT_ENCODING) {
            Some("br") => {
                brotli::BrotliDecompress(&mut &self.body[..], &mut out).unwrap();
            }
            Some("gzip") => {
                flate2::read::GzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            None => out.clone_from(&self.body),
            Some(other) => panic!("unexpected coding {other}"),
        }
        out
    }
}

async fn fetch(app: &TestApp, path: &str, headers: &[(reqwest::header::HeaderName, &str)]) -> Got {
    let mut request = app.client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = request.send().await.unwrap();
    Got {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

/// The first `attr="…"` value in `html` that starts with `prefix`.
fn attr_starting(html: &str, prefix: &str) -> String {
    let at = html
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {html}"));
    let rest = &html[at..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_files_are_coded_as_the_browser_accepts() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let plain = fetch(&app, "/app.js", &[]).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.header(CONTENT_ENCODING), None);
    assert!(plain.body.len() > 1024);
    for (accept, coding) in [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
    ] {
        let got = fetch(&app, "/app.js", &[(ACCEPT_ENCODING, accept)]).await;
        assert_eq!(got.header(CONTENT_ENCODING), Some(coding), "{accept}");
        assert_eq!(got.header(VARY), Some("accept-encoding"));
        assert!(got.body.len() < plain.body.len() / 2, "{coding} saves");
        assert_eq!(got.decoded(), plain.body, "{coding} decodes to the file");
    }
    let none = fetch(&app, "/style.css", &[(ACCEPT_ENCODING, "identity")]).await;
    assert_eq!(none.header(CONTENT_ENCODING), None);
    // Pictures are compressed already, and tiny files are not worth it.
    let icon = fetch(
        &app,
        "/icons/icon-192.png",
        &[(ACCEPT_ENCODING, "br, gzip")],
    )
    .await;
    assert_eq!(icon.status, StatusCode::OK);
    assert_eq!(icon.header(CONTENT_ENCODING), None);
    assert_eq!(icon.header(VARY), None);
    let manifest = fetch(&app, "/manifest.webmanifest", &[(ACCEPT_ENCODING, "br")]).await;
    assert!(manifest.body.len() < 1024, "the manifest is a tiny file");
    assert_eq!(manifest.header(CONTENT_ENCODING), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioned_files_are_immutable_and_everything_else_is_revalidated() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let page = String::from_utf8(fetch(&app, "/", &[]).await.body).unwrap();
    let script = attr_starting(&page, "/app.js?v=");
    let style = attr_starting(&page, "/style.css?v=");
    let icon = attr_starting(&page, "/icons/icon-48.png?v=");
    let module = attr_starting(&page, "/js/dom.js?v=");
    for url in [&script, &style, &icon, &module] {
        let got = fetch(&app, url, &[(ACCEPT_ENCODING, "br")]).await;
        assert_eq!(got.status, StatusCode::OK, "{url}");
        assert_eq!(
            got.header(CACHE_CONTROL),
            Some("public, max-age=31536000, immutable"),
            "{url}"
        );
    }
    for url in [
        "/app.js",
        "/app.js?v=0000000000000000",
        "/sw.js",
        "/manifest.webmanifest",
    ] {
        let got = fetch(&app, url, &[]).await;
        assert_eq!(got.status, StatusCode::OK, "{url}");
        assert_eq!(got.header(CACHE_CONTROL), Some("no-cache"), "{url}");
        assert!(got.header(ETAG).is_some(), "{url}");
    }
    // The worker may control the whole app.
    let sw = fetch(&app, "/sw.js?v=anything", &[]).await;
    assert_eq!(sw.header(CACHE_CONTROL), Some("no-cache"));
    assert_eq!(sw.header("service-worker-allowed"), Some("/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_coding_has_its_own_etag_and_a_match_answers_304() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let br = fetch(&app, "/style.css", &[(ACCEPT_ENCODING, "br")]).await;
    let gz = fetch(&app, "/style.css", &[(ACCEPT_ENCODING, "gzip")]).await;
    let plain = fetch(&app, "/style.css", &[]).await;
    let tags: Vec<&str> = [&br, &gz, &plain]
        .iter()
        .map(|g| g.header(ETAG).unwrap())
        .collect();
    assert!(
        tags[0].ends_with("-br\"") && tags[1].ends_with("-gz\""),
        "{tags:?}"
    );
    assert_ne!(tags[0], tags[2]);
    let again = fetch(
        &app,
        "/style.css",
        &[(ACCEPT_ENCODING, "br"), (IF_NONE_MATCH, tags[0])],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header(ETAG), Some(tags[0]));
    assert_eq!(again.header(CACHE_CONTROL), Some("no-cache"));
    let other = fetch(
        &app,
        "/style.css",
        &[(IF_NONE_MATCH, "\"0000000000000000\"")],
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
}

async fn api_answers_are_compressed_when_asked_and_worth_it(engine: Engine) {
    let app = TestApp::spawn_seeded(engine).await;
    let plain = fetch(&app, "/api/v1/books", &[]).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(
        plain.body.len() > 1024,
        "the seeded book list is big enough"
    );
    assert_eq!(plain.header(CONTENT_ENCODING), None);
    for (accept, coding) in [("br, gzip", "br"), ("gzip", "gzip")] {
        let got = fetch(&app, "/api/v1/books", &[(ACCEPT_ENCODING, accept)]).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.header(CONTENT_ENCODING), Some(coding), "{accept}");
        assert!(got.body.len() < plain.body.len());
        let decoded: serde_json::Value = serde_json::from_slice(&got.decoded()).unwrap();
        let expected: serde_json::Value = serde_json::from_slice(&plain.body).unwrap();
        assert_eq!(decoded, expected);
    }
    // A tiny answer and a problem go as they are.
    let config = fetch(&app, "/api/v1/config", &[(ACCEPT_ENCODING, "br")]).await;
    assert!(config.body.len() < 1024);
    assert_eq!(config.header(CONTENT_ENCODING), None);
    let missing = fetch(&app, "/api/v1/books/999999", &[(ACCEPT_ENCODING, "br")]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.header(CONTENT_ENCODING), None);
    // A stored picture is never coded.
    let books: serde_json::Value = serde_json::from_slice(&plain.body).unwrap();
    let cover = books
        .as_array()
        .or_else(|| books["items"].as_array())
        .unwrap()
        .iter()
        .find_map(|b| b["cover_url"].as_str())
        .expect("a seeded book has a cover")
        .to_owned();
    let image = fetch(&app, &cover, &[(ACCEPT_ENCODING, "br, gzip")]).await;
    assert_eq!(image.status, StatusCode::OK, "{cover}");
    assert_eq!(image.header(CONTENT_ENCODING), None);
}

async fn pages_are_coded_revalidated_and_carry_their_import_map(engine: Engine) {
    let app = TestApp::spawn_seeded(engine).await;
    let plain = fetch(&app, "/", &[]).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.header(CACHE_CONTROL), Some("no-cache"));
    let html = String::from_utf8(plain.body.clone()).unwrap();

    // The inline import map runs because the page's policy names its hash, and only it.
    let start = html.find("<script type=\"importmap\">").unwrap() + 25;
    let map = &html[start..start + html[start..].find("</script>").unwrap()];
    let parsed: serde_json::Value = serde_json::from_str(map).unwrap();
    let home = parsed["imports"]["/js/views/home.js"].as_str().unwrap();
    assert!(home.starts_with("/js/views/home.js?v="), "{home}");
    let hash = base64_sha256(map);
    let csp = plain.header(CONTENT_SECURITY_POLICY).unwrap();
    assert!(
        csp.contains(&format!("script-src 'self' 'sha256-{hash}'")),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");

    // The first view's modules are preloaded; the admin's are not.
    assert!(html.contains(&format!("<link rel=\"modulepreload\" href=\"{home}\">")));
    assert!(!html.contains("rel=\"modulepreload\" href=\"/js/views/admin.js"));
    let quiz = String::from_utf8(fetch(&app, "/quiz", &[]).await.body).unwrap();
    assert!(quiz.contains("rel=\"modulepreload\" href=\"/js/views/quiz.js?v="));
    assert!(!quiz.contains("rel=\"modulepreload\" href=\"/js/views/home.js?v="));

    let br = fetch(&app, "/", &[(ACCEPT_ENCODING, "gzip, br")]).await;
    assert_eq!(br.header(CONTENT_ENCODING), Some("br"));
    assert_eq!(br.header(VARY), Some("accept-encoding, cookie"));
    assert_eq!(br.decoded(), plain.body);
    let etag = br.header(ETAG).unwrap().to_owned();
    let again = fetch(
        &app,
        "/",
        &[(ACCEPT_ENCODING, "gzip, br"), (IF_NONE_MATCH, &etag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.header(CACHE_CONTROL), Some("no-cache"));
    // The page tells the app whether a session cookie came along (so it need not ask /me).
    assert!(html.contains(r#"<meta name="ipmat-session" content="none">"#));
    let with_cookie = fetch(
        &app,
        "/",
        &[(reqwest::header::COOKIE, "a=1; ipmat_session=xyz")],
    )
    .await;
    let with_cookie = String::from_utf8(with_cookie.body).unwrap();
    assert!(with_cookie.contains(r#"<meta name="ipmat-session" content="cookie">"#));
    // A page that names nothing is still the app, coded, with its 404.
    let missing = fetch(&app, "/books/999999", &[(ACCEPT_ENCODING, "br")]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.header(CONTENT_ENCODING), Some("br"));
}

fn base64_sha256(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}
