//! The web app: static files embedded in the binary, with every app path answered by
//! `index.html` so that share links such as `/quiz/ABC234` open the app. The page's head
//! carries its own title and link-preview tags (see `crate::previews`).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::previews::{self, PageMeta, Subject};
use crate::state::AppState;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Assets;

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
        return file_response(path, file, headers);
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
    let html = String::from_utf8_lossy(&file.data);
    let body = with_head(&html, &meta.render(&base));
    page_response(status, body, headers)
}

/// The app's pages, as `web/app.js` routes them.
#[derive(Debug, PartialEq, Eq)]
enum Page {
    /// A page about something that has a preview of its own.
    About(Subject),
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
        | ["foods", _]
        | ["admin"]
        | ["admin", _] => Page::Other,
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

/// An app page: revalidated every time (`no-cache`), 304 when unchanged.
fn page_response(status: StatusCode, body: String, request: &HeaderMap) -> Response {
    let etag = format!(
        "\"{}\"",
        hex::encode(&Sha256::digest(body.as_bytes())[..16])
    );
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh && status == StatusCode::OK {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A file with its ETag; browsers revalidate every time (`no-cache`) and get a 304 when
/// nothing changed, so a deploy never mixes old and new modules.
fn file_response(path: &str, file: rust_embed::EmbeddedFile, request: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
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
        let mut response = file.data.into_owned().into_response();
        if let Ok(v) = HeaderValue::from_str(&content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        response
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
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
    fn the_head_block_is_replaced() {
        let html = "<head>\n<!-- page-meta --><title>x</title><!-- /page-meta -->\n</head>";
        assert_eq!(
            with_head(html, "<title>y</title>"),
            "<head>\n<title>y</title>\n</head>"
        );
    }
}
