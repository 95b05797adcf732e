//! Fail fast while the database is down (see [`crate::db::health`]): API requests get 503
//! `unavailable` at once, without touching the pool, until the probe sees the database again.
//! A 503 from a handler makes the probe look at once.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

/// Paths that need the database (the API, except what is answered from memory).
fn needs_database(path: &str) -> bool {
    path.starts_with("/api/") && !matches!(path, "/api/v1/config" | "/api/v1/openapi.json")
}

/// The middleware.
pub async fn fail_fast(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let gated = needs_database(request.uri().path());
    if gated && state.db_health.is_down() {
        return unavailable();
    }
    let response = next.run(request).await;
    if gated && response.status() == StatusCode::SERVICE_UNAVAILABLE {
        state.db_health.suspect();
    }
    response
}

/// The answer while the breaker is open; not logged per request (the breaker logs once).
fn unavailable() -> Response {
    let problem = AppError::Unavailable(anyhow::anyhow!("the database is down")).problem();
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    response
}
