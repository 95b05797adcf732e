//! The web app: static files embedded in the binary, with every app path answered by
//! `index.html` so that share links such as `/quiz/ABC234` open the app.

use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::AppError;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Assets;

/// Serves a file of the app, or `index.html` for an app path.
pub async fn serve_app(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return AppError::MethodNotAllowed("the web app only answers GET".to_owned())
            .into_response();
    }
    let path = uri.path().trim_start_matches('/');
    if path == "api" || path.starts_with("api/") || path.starts_with("media/") {
        return AppError::NotFound("route").into_response();
    }
    if let Some(file) = Assets::get(path).filter(|_| !path.is_empty()) {
        return file_response(path, file, "public, max-age=300");
    }
    // A missing file (anything with an extension) is a 404; every other path is an app route.
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return AppError::NotFound("file").into_response();
    }
    match Assets::get("index.html") {
        Some(file) => file_response("index.html", file, "no-cache"),
        None => (
            StatusCode::NOT_FOUND,
            "the web app is not built into this binary",
        )
            .into_response(),
    }
}

fn file_response(path: &str, file: rust_embed::EmbeddedFile, cache: &'static str) -> Response {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let mut content_type = mime.essence_str().to_owned();
    if content_type.starts_with("text/")
        || content_type == "application/javascript"
        || content_type.ends_with("json")
    {
        content_type.push_str("; charset=utf-8");
    }
    if path.ends_with(".webmanifest") {
        content_type = "application/manifest+json; charset=utf-8".to_owned();
    }
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
