//! Health, readiness and the public configuration of the app.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::AppError;
use crate::extract::Json;
use crate::state::AppState;

/// Liveness and readiness probes (outside `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz))
}

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_config))
}

async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the database and the storage answer within a second each, else 503.
async fn readyz(State(state): State<AppState>) -> Response {
    let db = tokio::time::timeout(Duration::from_secs(1), crate::db::ping(&state.db)).await;
    let db_ok = matches!(db, Ok(Ok(())));
    // What readiness saw is evidence for the fail-fast breaker too.
    if db_ok {
        state.db_health.saw_answer();
    } else {
        state.db_health.suspect();
    }
    let storage = tokio::time::timeout(Duration::from_secs(1), state.storage.check()).await;
    let storage_ok = matches!(storage, Ok(Ok(())));
    if db_ok && storage_ok {
        return (StatusCode::OK, "ready").into_response();
    }
    let mut parts = Vec::new();
    if !db_ok {
        parts.push("database");
    }
    if !storage_ok {
        parts.push("storage");
    }
    AppError::Unavailable(anyhow::anyhow!(
        "not ready: {} unavailable",
        parts.join(" and ")
    ))
    .into_response()
}

/// What the web app needs to know about this server.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicConfig {
    /// Public base URL of images.
    pub media_base_url: String,
    pub version: String,
    /// Map searches offered for a champion (`IPMAT_MAP_LINKS`), in order; empty hides them.
    pub map_links: Vec<MapSearch>,
}

/// A map service's web search: the app appends the URL-encoded food name to `search_url`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MapSearch {
    /// `kakao` or `naver`.
    pub service: String,
    pub search_url: String,
}

impl From<crate::config::MapLink> for MapSearch {
    fn from(link: crate::config::MapLink) -> MapSearch {
        let (service, search_url) = match link {
            crate::config::MapLink::Kakao => ("kakao", "https://map.kakao.com/?q="),
            crate::config::MapLink::Naver => ("naver", "https://map.naver.com/p/search/"),
        };
        MapSearch {
            service: service.to_owned(),
            search_url: search_url.to_owned(),
        }
    }
}

/// The server's public configuration (the original's `preference` call).
#[utoipa::path(get, path = "/config", tag = "operations", responses((status = 200, body = PublicConfig)))]
async fn get_config(State(state): State<AppState>) -> Json<PublicConfig> {
    Json(PublicConfig {
        media_base_url: state.config.media_base_url.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        map_links: state
            .config
            .map_links
            .iter()
            .map(|&l| MapSearch::from(l))
            .collect(),
    })
}

/// GETs a plain-HTTP URL and answers the status code (enough for the health check, which
/// talks to the server on the same host and must not need curl).
pub async fn http_get_status(url: &str, timeout: Duration) -> anyhow::Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let parsed = url::Url::parse(url)?;
    anyhow::ensure!(parsed.scheme() == "http", "only http:// URLs are supported");
    let host = parsed
        .host_str()
        .ok_or_else(|| anyhow::anyhow!("{url} has no host"))?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let path = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect((host, port)).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: ipmat-healthcheck\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut head = [0u8; 64];
        let mut read = 0;
        while read < 12 {
            let n = stream.read(&mut head[read..]).await?;
            anyhow::ensure!(n > 0, "connection closed before the status line");
            read += n;
        }
        let line = String::from_utf8_lossy(&head[..read]);
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| anyhow::anyhow!("not an HTTP answer"))?;
        Ok(status)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| anyhow::anyhow!("{url} did not answer within {timeout:?}"))?
}
