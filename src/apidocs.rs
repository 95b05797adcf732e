//! `/api/v1/openapi.json` (the document, finished once at start) and `/docs`, the Swagger UI
//! page that renders it, from the two vendored files it loads.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

use crate::error::AppError;

#[derive(RustEmbed)]
#[folder = "vendor/swagger-ui/"]
#[include = "*.html"]
#[include = "*.js"]
#[include = "*.css"]
struct DocsUi;

/// The routes of the document and its page, over the finished document.
pub fn router<S: Clone + Send + Sync + 'static>(document: serde_json::Value) -> Router<S> {
    let body: Arc<[u8]> = serde_json::to_vec(&document)
        .expect("a JSON value serializes")
        .into();
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let body = body.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body.to_vec()) }
            }),
        )
        .route("/docs", get(|| async { Redirect::permanent("/docs/") }))
        .route("/docs/", get(|| async { docs_file("index.html") }))
        .route(
            "/docs/{file}",
            get(|Path(file): Path<String>| async move { docs_file(&file) }),
        )
}

fn docs_file(name: &str) -> Response {
    let Some(file) = DocsUi::get(name) else {
        return AppError::NotFound("file").into_response();
    };
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    let mut response = (StatusCode::OK, file.data.into_owned()).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime.essence_str()) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
