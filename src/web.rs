//! The web app: static files embedded in the binary, with every app path answered by
//! `index.html` so that share links such as `/quiz/ABC234` open the app.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::AppError;

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

/// Serves a file of the app, or `index.html` for an app path.
pub async fn serve_app(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return AppError::MethodNotAllowed("the web app only answers GET".to_owned())
            .into_response();
    }
    let path = uri.path().trim_start_matches('/');
    if path == "api" || path.starts_with("api/") || path.starts_with("media/") {
        return AppError::NotFound("route").into_response();
    }
    if let Some(file) = Assets::get(path).filter(|_| !path.is_empty()) {
        return file_response(path, file, &headers);
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    let is_file = last
        .rsplit_once('.')
        .is_some_and(|(_, ext)| FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()));
    if is_file {
        return AppError::NotFound("file").into_response();
    }
    match Assets::get("index.html") {
        Some(file) => file_response("index.html", file, &headers),
        None => (
            StatusCode::NOT_FOUND,
            "the web app is not built into this binary",
        )
            .into_response(),
    }
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
