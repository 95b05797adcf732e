//! Extractors whose rejections are problem details, and the client address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::config::IpNet;
use crate::error::AppError;
use crate::state::AppState;

/// A JSON request body whose rejections are problem details.
///
/// Stricter than `axum::Json` in two ways that generated clients rely on: the body must be a
/// JSON object (serde would otherwise read a struct from an array), and JSON that does not
/// parse is 400 `malformed_json`, while well-formed JSON of the wrong shape is 422.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        if !is_json_content_type(req.headers()) {
            return Err(AppError::UnsupportedMediaType(
                "send the body as application/json".to_owned(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge("the request body is too large".to_owned())
                } else {
                    AppError::BadRequest(format!("could not read the body: {}", e.body_text()))
                }
            })?;
        parse_json_object(&bytes).map(Json)
    }
}

/// `application/json`, or any `application/…+json`, parameters ignored.
fn is_json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads a JSON object into `T`: 400 when the bytes are not JSON, 422 when they are JSON but
/// not an object or not of the expected shape.
pub fn parse_json_object<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    // PostgreSQL cannot store NUL in text: every engine refuses it alike.
    if has_escaped_nul(bytes) {
        return Err(nul_refused("body"));
    }
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    if first != Some(b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Err(e) => AppError::MalformedJson(format!("malformed JSON: {e}")),
                Ok(_) => AppError::field("body", "must be a JSON object"),
            },
        );
    }
    serde_json::from_slice::<T>(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                AppError::MalformedJson(format!("malformed JSON: {e}"))
            }
            Category::Data => AppError::BadRequest(format!("invalid body: {e}")),
        }
    })
}

/// Whether JSON text holds the escape `\u0000` (a backslash that is not itself escaped,
/// then `u0000`). A raw NUL byte is not valid JSON and fails parsing anyway.
pub fn has_escaped_nul(json: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &b) in json.iter().enumerate() {
        if b == b'\\' {
            backslashes += 1;
            continue;
        }
        if b == b'u' && backslashes % 2 == 1 && json.get(i + 1..i + 5) == Some(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// Whether a raw (still percent-encoded) query or path holds an encoded NUL (`%00`).
pub fn has_encoded_nul(raw: &str) -> bool {
    raw.as_bytes().windows(3).any(|w| w == b"%00")
}

/// The 422 for a NUL character.
fn nul_refused(field: &str) -> AppError {
    AppError::field(field, "must not contain NUL characters")
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` whose rejections are problem details; a segment holding NUL (`%00`)
/// names nothing (404), on every engine alike.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        if has_encoded_nul(parts.uri.path()) {
            return Err(AppError::NotFound("resource"));
        }
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

/// `axum::extract::Query` whose rejections are problem details; a value holding NUL (`%00`)
/// is refused (422) on every engine alike.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        if parts.uri.query().is_some_and(has_encoded_nul) {
            return Err(nul_refused("query"));
        }
        // `lang` and `translations` belong to every operation (crate::lang), not to `T`.
        let own: Vec<&str> = parts
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or("");
                !pair.is_empty() && !crate::lang::is_lang_param(key)
            })
            .collect();
        let uri: axum::http::Uri = format!("/?{}", own.join("&"))
            .parse()
            .map_err(|_| AppError::field("query", "is not a valid query string"))?;
        let axum::extract::Query(value) = axum::extract::Query::<T>::try_from_uri(&uri)?;
        Ok(Query(value))
    }
}

/// The address of the client: the socket peer, or the last untrusted hop of
/// `X-Forwarded-For` when the peer is a trusted proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// Finds the client address of a request.
    pub fn from_parts(parts: &Parts, trusted: &[IpNet]) -> ClientIp {
        ClientIp::of(&parts.extensions, &parts.headers, trusted)
    }

    /// Finds the client address from a request's extensions (the socket peer) and headers.
    pub fn of(
        extensions: &axum::http::Extensions,
        headers: &axum::http::HeaderMap,
        trusted: &[IpNet],
    ) -> ClientIp {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        ClientIp(client_ip(peer, forwarded, trusted))
    }
}

/// Walks `X-Forwarded-For` from the right while the hops are trusted proxies.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    if let Some(header) = forwarded_for {
        for hop in header.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !is_trusted(ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }
    client
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::from_parts(parts, &state.config.trusted_proxies))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_nul_is_found_only_as_an_escape() {
        assert!(has_escaped_nul(br#"{"username": "\u0000"}"#));
        assert!(has_escaped_nul(br#"{"a": "x\\\u0000"}"#));
        assert!(
            !has_escaped_nul(br#"{"a": "x\\u0000"}"#),
            "an escaped backslash"
        );
        assert!(!has_escaped_nul(br#"{"a": "\u0041"}"#));
        assert!(has_encoded_nul("q=%00"));
        assert!(!has_encoded_nul("q=%2500"));
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            client_ip(ip("203.0.113.9"), Some("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("1.2.3.4"), &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("6.6.6.6, 1.2.3.4, 10.0.0.7"), &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("garbage"), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(client_ip(ip("10.0.0.2"), None, &trusted), ip("10.0.0.2"));
    }
}
