//! The one error type of the HTTP API, written as RFC 9457 problem details.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;
use serde::Serialize;

/// A problem with one field of a request body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    /// The body is not JSON at all (400 `malformed_json`).
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("authentication required")]
    Unauthorized,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("a dependency is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Bounded work (see `crate::bounded`) is saturated: 503 with this `Retry-After`.
    #[error("the server is busy")]
    Overloaded { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The JSON body of an error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable error code.
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl AppError {
    /// Shorthand for a single-field validation error.
    pub fn field(field: &str, message: impl Into<String>) -> AppError {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use AppError::*;
        match self {
            Validation(_) | BadRequest(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Invalid request",
            ),
            MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json", "Malformed JSON"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            Unauthorized | BadCredentials => {
                (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
            }
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests",
            ),
            PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
            ),
            UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            ),
            MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            Unavailable(_) | Overloaded { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    /// The problem body this error is answered with.
    pub fn problem(&self) -> Problem {
        let (status, code, title) = self.parts();
        let detail = match self {
            AppError::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            AppError::Internal(_) => {
                "something went wrong on our side; it has been logged".to_owned()
            }
            AppError::Unavailable(_) => {
                "a service ipmat depends on is unavailable; try again shortly".to_owned()
            }
            AppError::RateLimited { retry_after_secs } => {
                format!("too many attempts; try again in {retry_after_secs} seconds")
            }
            AppError::Overloaded { retry_after_secs } => {
                format!("the server is busy; try again in {retry_after_secs} seconds")
            }
            other => other.to_string(),
        };
        let errors = match self {
            AppError::Validation(errors) => Some(errors.clone()),
            _ => None,
        };
        Problem {
            kind: format!("https://ipmat.dev/problems/{}", code.replace('_', "-")),
            title,
            status: status.as_u16(),
            detail,
            code,
            errors,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Internal(e) => tracing::error!(error = ?e, "internal error"),
            AppError::Unavailable(e) => tracing::warn!(error = ?e, "dependency unavailable"),
            _ => {}
        }
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            AppError::RateLimited { retry_after_secs }
            | AppError::Overloaded { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            AppError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            AppError::Unauthorized | AppError::BadCredentials => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        AppError::of_db(crate::db::is_connection_error(&e), e.into())
    }
}

/// A database error shared by several requests (`crate::coalesce`).
impl From<std::sync::Arc<DbErr>> for AppError {
    fn from(e: std::sync::Arc<DbErr>) -> Self {
        AppError::of_db(crate::db::is_connection_error(&e), e.into())
    }
}

impl AppError {
    /// 503 when the database could not be reached, else 500.
    fn of_db(connection: bool, e: anyhow::Error) -> Self {
        if connection {
            AppError::Unavailable(e)
        } else {
            AppError::Internal(e)
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

impl From<PathRejection> for AppError {
    fn from(_: PathRejection) -> Self {
        // A path whose id does not parse names nothing that could exist.
        AppError::NotFound("resource")
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::BadRequest(format!("invalid query: {}", rejection.body_text()))
    }
}

/// Result type of handlers and queries.
pub type AppResult<T> = Result<T, AppError>;
