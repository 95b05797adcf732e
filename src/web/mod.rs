//! The web app: static files embedded in the binary, with every app path answered by
//! `index.html` so that share links such as `/quiz/ABC234` open the app. The page's head
//! carries its own title and link-preview tags (see `crate::previews`), an import map that
//! names every module by its content version, and `modulepreload` links for the page's first
//! view. Versioned files are cached for a year; pages and unversioned URLs are revalidated.
//! Text is sent brotli- or gzip-coded when the browser takes it. See `docs/web.md`.

pub mod assets;
pub mod encoding;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use self::assets::{AssetTable, Assets};
use self::encoding::{Coding, MIN_COMPRESS_BYTES};
use crate::error::AppError;
use crate::previews::{self, PageMeta, Subject};
use crate::state::AppState;

/// How long a versioned file may be reused without asking: a year, never revalidated.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Pages, the service worker and unversioned URLs: reused only after a check (ETag, 304).
pub const REVALIDATE: &str = "no-cache";

/// Extensions of files the app is made of: a missing one is a 404, not an app route (so an
/// app path may still end in a segment with a dot, such as a username `john.doe`).
const FILE_EXTENSIONS: &[&str] = &[
    "js",
    "mjs",
    "css",
    "html",
    "json",
    "webmanifest",
    "png",
    "jpg",
    "jpeg",
    "svg",
    "ico",
    "webp",
    "gif",
    "woff",
    "woff2",
    "txt",
    "map",
];

/// Serves a file of the app, or `index.html` for an app path with the page's own link-preview
/// tags in its head: 200 for the app's routes, 404 (still the app, which shows its not-found
/// screen) for unknown paths and for codes and ids that name nothing.
pub async fn serve_app(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
    if method != Method::GET && method != Method::HEAD {
        return AppError::MethodNotAllowed("the web app only answers GET".to_owned())
            .into_response();
    }
    let path = uri.path().trim_start_matches('/');
    if path == "api"
        || path.starts_with("api/")
        || path.starts_with("media/")
        || path.starts_with("og/")
    {
        return AppError::NotFound("route").into_response();
    }
    if let Some(file) = Assets::get(path).filter(|_| !path.is_empty()) {
        return file_response(path, uri, file, headers);
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    let is_file = last
        .rsplit_once('.')
        .is_some_and(|(_, ext)| FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()));
    if is_file {
        return AppError::NotFound("file").into_response();
    }
    let Some(file) = Assets::get("index.html") else {
        return (
            StatusCode::NOT_FOUND,
            "the web app is not built into this binary",
        )
            .into_response();
    };
    let (status, meta) = page_meta(&state, uri.path()).await;
    let base = previews::base_url(&state.config, &parts.extensions, headers);
    let table = assets::table();
    let html = String::from_utf8_lossy(&file.data);
    let html = with_head(&html, &meta.render(&base));
    let body = with_modules(&versioned_urls(&html, &table), &table, uri.path());
    let body = body.replacen(
        "<!-- session -->",
        if has_session_cookie(headers) {
            "<meta name=\"ipmat-session\" content=\"cookie\">"
        } else {
            "<meta name=\"ipmat-session\" content=\"none\">"
        },
        1,
    );
    let policy = format!(
        "{}; script-src 'self' {}",
        crate::headers::content_security_policy(&state.config),
        table.import_map_hash
    );
    page_response(status, body, headers, &policy)
}

/// Whether the request carries a session cookie (valid or not). Without one nobody can be
/// signed in, so the page says so and the app skips asking `/api/v1/me` (a 401 the browser
/// would log as an error).
fn has_session_cookie(request: &HeaderMap) -> bool {
    let name = crate::accounts::auth::SESSION_COOKIE;
    request
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| {
            pair.trim()
                .split_once('=')
                .is_some_and(|(k, v)| k == name && !v.is_empty())
        })
}

/// The module that draws the first view of an app path, as `web/app.js` routes it.
fn first_view(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    Some(match segments.as_slice() {
        [""] => "js/views/home.js",
        ["books", _] => "js/views/book.js",
        ["books", _, "ranking"] | ["worldcup", ..] => "js/views/worldcup.js",
        ["quiz", ..] => "js/views/quiz.js",
        ["login"] | ["signup"] => "js/views/auth.js",
        ["me"] => "js/views/me.js",
        ["me", "worldcups"] => "js/views/myplays.js",
        ["foods", _] => "js/views/food.js",
        ["admin", ..] => "js/views/admin.js",
        ["make", ..] => "js/views/community.js",
        _ => return None,
    })
}

/// The `<!-- modules -->` marker replaced by the import map and a `modulepreload` link for
/// every module the boot code and the page's first view import, so the browser fetches them
/// all at once instead of discovering them one level at a time.
fn with_modules(html: &str, table: &AssetTable, path: &str) -> String {
    const MARKER: &str = "<!-- modules -->";
    let mut roots = vec!["app.js"];
    roots.extend(first_view(path));
    let mut block = table.import_map.clone();
    for module in table.closure(&roots).iter().filter(|m| *m != "app.js") {
        block.push_str(&format!(
            "\n  <link rel=\"modulepreload\" href=\"{}\">",
            table.versioned(&format!("/{module}"))
        ));
    }
    html.replacen(MARKER, &block, 1)
}

/// Every `src="/…"` and `href="/…"` that names a file of the app gets its version.
fn versioned_urls(html: &str, table: &AssetTable) -> String {
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    while let Some(at) = ["src=\"/", "href=\"/"]
        .iter()
        .filter_map(|p| rest.find(p).map(|i| i + p.len() - 1))
        .min()
    {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find('"').unwrap_or(rest.len());
        out.push_str(&table.versioned(&rest[..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The app's pages, as `web/app.js` routes them.
#[derive(Debug, PartialEq, Eq)]
enum Page {
    /// A page about something that has a preview of its own.
    About(Subject),
    /// A food's page: the generic preview, 404 when a visitor cannot see the food.
    Food(i64),
    /// A page of the app with the generic preview (sign-up, my page…).
    Other,
    Unknown,
}

fn route(path: &str) -> Page {
    let path = path.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    match segments.as_slice() {
        [] | [""] => Page::About(Subject::Home),
        ["books", id] | ["books", id, "ranking"] => match id.parse::<i64>() {
            Ok(id) if id > 0 => Page::About(Subject::Book(id)),
            _ => Page::Unknown,
        },
        ["worldcup"]
        | ["quiz"]
        | ["quiz", "new"]
        | ["login"]
        | ["signup"]
        | ["me"]
        | ["me", "worldcups"]
        | ["make"]
        | ["make", _]
        | ["admin"]
        | ["admin", _] => Page::Other,
        ["foods", id] => match id.parse::<i64>() {
            Ok(id) if id > 0 => Page::Food(id),
            _ => Page::Unknown,
        },
        ["worldcup", id] => Page::About(Subject::Worldcup((*id).to_owned())),
        ["quiz", code] | ["quiz", code, "scoreboard"] | ["quiz", code, "attempts", _] => {
            Page::About(Subject::Quiz((*code).to_owned()))
        }
        _ => Page::Unknown,
    }
}

/// The status and the tags of an app path.
async fn page_meta(state: &AppState, path: &str) -> (StatusCode, PageMeta) {
    match route(path) {
        Page::About(subject) => match previews::preview(state, &subject).await {
            Ok(Some(preview)) => (StatusCode::OK, preview.meta.clone()),
            Ok(None) => (
                StatusCode::NOT_FOUND,
                previews::generic_meta(state, path, false).await,
            ),
            Err(e) => {
                // The page still works without its preview: answer the generic head.
                tracing::warn!(error = %e, path, "a link preview could not be looked up");
                (
                    StatusCode::OK,
                    previews::generic_meta(state, path, true).await,
                )
            }
        },
        Page::Food(id) => {
            let found = crate::catalog::food_is_public(state, id)
                .await
                .unwrap_or_else(|e| {
                    // The page still works: answer it as found.
                    tracing::warn!(error = %e, path, "a food page could not be looked up");
                    true
                });
            let status = if found {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            (status, previews::generic_meta(state, path, found).await)
        }
        Page::Other => (
            StatusCode::OK,
            previews::generic_meta(state, path, true).await,
        ),
        Page::Unknown => (
            StatusCode::NOT_FOUND,
            previews::generic_meta(state, path, false).await,
        ),
    }
}

/// `index.html` with the block between its `page-meta` markers replaced by `tags`.
fn with_head(html: &str, tags: &str) -> String {
    const START: &str = "<!-- page-meta -->";
    const END: &str = "<!-- /page-meta -->";
    match (html.find(START), html.find(END)) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{tags}{}", &html[..start], &html[end + END.len()..])
        }
        _ => html.to_owned(),
    }
}

/// Whether the request's `If-None-Match` names `etag` (or `*`).
fn is_fresh(request: &HeaderMap, etag: &str) -> bool {
    request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// An answer of the app: 304 when the request holds this ETag, else `body` coded as the
/// request allows (`coded` gives the coded body), with its type, ETag and cache policy.
fn answer(
    status: StatusCode,
    body: Vec<u8>,
    content_type: &str,
    hash: &str,
    cache_control: &'static str,
    request: &HeaderMap,
    coded: impl FnOnce(Coding, &[u8]) -> Option<Vec<u8>>,
) -> Response {
    let compressible = encoding::is_compressible(content_type) && body.len() >= MIN_COMPRESS_BYTES;
    let coding = if compressible {
        encoding::negotiate(request)
    } else {
        Coding::Identity
    };
    let (coding, body) = match coded(coding, &body) {
        Some(coded) => (coding, coded),
        None => (Coding::Identity, body),
    };
    let etag = format!("\"{hash}{}\"", coding.etag_suffix());
    let mut response = if status == StatusCode::OK && is_fresh(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(content_type) {
            headers.insert(header::CONTENT_TYPE, v);
        }
        if let Some(name) = coding.header() {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
        }
        response
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    if compressible {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// An app page: revalidated every time (`no-cache`), 304 when unchanged; coded per request at
/// a middling level (a page is a few kilobytes, rendered for each visit).
fn page_response(status: StatusCode, body: String, request: &HeaderMap, policy: &str) -> Response {
    let hash = hex::encode(&Sha256::digest(body.as_bytes())[..8]);
    let mut response = answer(
        status,
        body.into_bytes(),
        "text/html; charset=utf-8",
        &hash,
        REVALIDATE,
        request,
        |coding, body| {
            encoding::compress(body, coding, if coding == Coding::Brotli { 5 } else { 6 })
        },
    );
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    // The page says whether a session cookie came along.
    headers.insert(
        header::VARY,
        HeaderValue::from_static("accept-encoding, cookie"),
    );
    response
}

/// A file of the app. Asked for by its current version (`?v=` equal to its content hash), it
/// may be cached for a year (`immutable`); by its plain path or an old version, it is
/// revalidated (`no-cache`), so a deploy never mixes old and new modules.
fn file_response(
    path: &str,
    uri: &Uri,
    file: rust_embed::EmbeddedFile,
    request: &HeaderMap,
) -> Response {
    let hash = assets::short_hash(&file.metadata.sha256_hash());
    let current = uri
        .query()
        .is_some_and(|q| q.split('&').any(|pair| pair == format!("v={hash}")));
    // The service worker is never versioned: browsers look for a new one at its plain URL.
    let cache_control = if current && path != "sw.js" {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let mut content_type = mime.essence_str().to_owned();
    if path.ends_with(".webmanifest") {
        content_type = "application/manifest+json".to_owned();
    }
    if content_type.starts_with("text/")
        || content_type == "application/javascript"
        || content_type.ends_with("json")
    {
        content_type.push_str("; charset=utf-8");
    }
    let mut response = answer(
        StatusCode::OK,
        file.data.into_owned(),
        &content_type,
        &hash,
        cache_control,
        request,
        |coding, body| encoding::coded_file(&hash, coding, body).map(|b| b.as_ref().clone()),
    );
    if path == "sw.js" {
        // The worker controls the whole app although it is served from the root anyway.
        response.headers_mut().insert(
            header::HeaderName::from_static("service-worker-allowed"),
            HeaderValue::from_static("/"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_paths_are_routed_like_the_app_routes_them() {
        assert_eq!(route("/"), Page::About(Subject::Home));
        assert_eq!(route("/books/3"), Page::About(Subject::Book(3)));
        assert_eq!(route("/books/3/ranking/"), Page::About(Subject::Book(3)));
        assert_eq!(route("/books/x"), Page::Unknown);
        assert_eq!(route("/quiz/new"), Page::Other);
        assert_eq!(
            route("/quiz/abc234/attempts/bob"),
            Page::About(Subject::Quiz("abc234".into()))
        );
        assert_eq!(route("/admin/foods"), Page::Other);
        assert_eq!(route("/nowhere"), Page::Unknown);
        assert_eq!(route("/me/extra"), Page::Unknown);
    }

    #[test]
    fn the_first_view_of_each_app_path_is_known() {
        assert_eq!(first_view("/"), Some("js/views/home.js"));
        assert_eq!(first_view("/books/3"), Some("js/views/book.js"));
        assert_eq!(first_view("/books/3/ranking"), Some("js/views/worldcup.js"));
        assert_eq!(first_view("/worldcup/abc"), Some("js/views/worldcup.js"));
        assert_eq!(
            first_view("/quiz/ABC234/scoreboard"),
            Some("js/views/quiz.js")
        );
        assert_eq!(first_view("/admin/foods"), Some("js/views/admin.js"));
        assert_eq!(first_view("/nowhere"), None);
    }

    #[test]
    fn urls_of_the_app_s_files_get_their_versions() {
        let table = assets::table();
        let v = table.version("style.css").unwrap();
        let html = r#"<link rel="stylesheet" href="/style.css"><a href="/quiz">q</a><img src="/nope.png">"#;
        assert_eq!(
            versioned_urls(html, &table),
            format!(
                r#"<link rel="stylesheet" href="/style.css?v={v}"><a href="/quiz">q</a><img src="/nope.png">"#
            )
        );
        let page = with_modules("<head><!-- modules --></head>", &table, "/");
        assert!(page.contains("<script type=\"importmap\">"), "{page}");
        assert!(
            page.contains("rel=\"modulepreload\" href=\"/js/views/home.js?v="),
            "{page}"
        );
        assert!(!page.contains("admin.js?v=\">"), "{page}");
    }

    #[test]
    fn the_head_block_is_replaced() {
        let html = "<head>\n<!-- page-meta --><title>x</title><!-- /page-meta -->\n</head>";
        assert_eq!(
            with_head(html, "<title>y</title>"),
            "<head>\n<title>y</title>\n</head>"
        );
    }
}
