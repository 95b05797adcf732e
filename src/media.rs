//! Image storage and the `/media/{key}` route.
//!
//! Keys are fresh random names (or content-addressed names for the bundled catalog), so the
//! bytes under a key never change: answers are cached for a year and the ETag is derived from
//! the key alone.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::config::{Config, StorageConfig};
use crate::error::AppError;

/// Where images are kept, and how their public URLs are formed.
#[derive(Clone)]
pub struct Storage {
    backend: Arc<Backend>,
    base_url: String,
}

enum Backend {
    Local(PathBuf),
}

/// Whether `key` is a well-formed storage key: lowercase ASCII segments joined by `/`, none
/// empty or starting with a dot (so no `..`), at most 200 characters.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
        })
}

/// The content type of a stored image, from its key's extension.
pub fn content_type(key: &str) -> &'static str {
    match key.rsplit('.').next() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        _ => "application/octet-stream",
    }
}

impl Storage {
    /// Opens the storage the configuration names.
    pub async fn from_config(config: &Config) -> anyhow::Result<Storage> {
        let backend = match &config.storage {
            StorageConfig::File(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| {
                    anyhow::anyhow!("IPMAT_STORAGE: cannot create {}: {e}", dir.display())
                })?;
                Backend::Local(dir.clone())
            }
            StorageConfig::S3 { .. } => {
                anyhow::bail!(
                    "IPMAT_STORAGE: S3 storage is not available in this build yet; use file://DIR"
                )
            }
        };
        Ok(Storage {
            backend: Arc::new(backend),
            base_url: config.media_base_url.clone(),
        })
    }

    /// The public URL of a key.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.base_url)
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        let Backend::Local(dir) = &*self.backend;
        is_valid_key(key).then(|| dir.join(key))
    }

    /// Stores bytes under a key (atomically: readers never see half a file).
    pub async fn put(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        let path = self
            .path(key)
            .ok_or_else(|| anyhow::anyhow!("invalid storage key {key:?}"))?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let tmp = path.with_extension(format!("tmp-{}", crate::accounts::auth::new_token()));
        tokio::fs::write(&tmp, &bytes).await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(())
    }

    /// The bytes under a key, if any.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<Bytes>> {
        let Some(path) = self.path(key) else {
            return Ok(None);
        };
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether something is stored under a key.
    pub async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        let Some(path) = self.path(key) else {
            return Ok(false);
        };
        Ok(tokio::fs::try_exists(&path).await?)
    }

    /// Removes a key (no error when it is absent).
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let Some(path) = self.path(key) else {
            return Ok(());
        };
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Answers whether the storage is usable (for `/readyz`).
    pub async fn check(&self) -> anyhow::Result<()> {
        let Backend::Local(dir) = &*self.backend;
        let meta = tokio::fs::metadata(dir).await?;
        anyhow::ensure!(meta.is_dir(), "{} is not a directory", dir.display());
        Ok(())
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/media/{*key}", axum::routing::get(get_media))
}

fn etag(key: &str) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(key.as_bytes()))[..32])
}

/// Serves a stored image with long-lived cache headers.
async fn get_media(
    State(state): State<AppState>,
    axum::extract::Path(key): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !is_valid_key(&key) {
        return Err(AppError::NotFound("image"));
    }
    let tag = etag(&key);
    let cache = (
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    if matches
        && state
            .storage
            .exists(&key)
            .await
            .map_err(AppError::Unavailable)?
    {
        let etag_value = HeaderValue::from_str(&tag).map_err(anyhow::Error::from)?;
        return Ok((
            StatusCode::NOT_MODIFIED,
            [cache, (header::ETAG, etag_value)],
        )
            .into_response());
    }
    let bytes = state
        .storage
        .get(&key)
        .await
        .map_err(AppError::Unavailable)?
        .ok_or(AppError::NotFound("image"))?;
    let etag_value = HeaderValue::from_str(&tag).map_err(anyhow::Error::from)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&key)),
            ),
            cache,
            (header::ETAG, etag_value),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_storage() {
        for bad in [
            "",
            "../etc/passwd",
            "a/../b",
            ".hidden",
            "a//b",
            "/abs",
            "A.jpg",
            "a\\b",
            "a b",
            "é.jpg",
        ] {
            assert!(!is_valid_key(bad), "{bad:?}");
        }
        for good in ["seed/kimchi-jjigae-0a1b.jpg", "img/2f/abc.webp", "x.png"] {
            assert!(is_valid_key(good), "{good:?}");
        }
    }
}
