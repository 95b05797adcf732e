//! The original's images: read from a local copy of its bucket or over HTTP from the bucket's
//! public URL, then validated, oriented, shrunk and re-encoded exactly like an upload
//! ([`crate::media::process`]) and stored under a key derived from the original bytes, so a
//! second run finds them stored already.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::media::Storage;
use crate::media::process::{self, MAX_FILE_BYTES};

/// Where the original's images are read from.
#[derive(Debug, Clone)]
pub enum MediaSource {
    /// A folder with the bucket's key layout (`imgs/…`), e.g. made by `aws s3 sync`.
    Dir(PathBuf),
    /// The bucket's public base URL (`https://BUCKET.s3.REGION.amazonaws.com/`).
    Url(url::Url),
    /// No images: every food and book comes without one.
    None,
}

/// The original's placeholder images, which ipmat replaces with its own placeholder.
pub const DEFAULT_KEYS: [&str; 2] = ["imgs/default_food.png", "imgs/food_book_default.jpg"];

/// What happened to one image.
#[derive(Debug)]
pub enum Outcome {
    /// Stored (or already stored) under this ipmat key.
    Stored { key: String, fresh: bool },
    /// The original names no image, or its placeholder.
    Absent,
    /// Not found in the source, or unreadable.
    Missing(String),
    /// Found but refused by the upload rules.
    Broken(String),
}

/// Reads and stores the original's images.
pub struct Images {
    source: MediaSource,
    client: reqwest::Client,
    storage: Storage,
    dry_run: bool,
}

impl Images {
    pub fn new(source: MediaSource, storage: Storage, dry_run: bool) -> anyhow::Result<Images> {
        crate::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("ipmat-import-django/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(Images {
            source,
            client,
            storage,
            dry_run,
        })
    }

    /// Brings one original image across (see the module comment).
    pub async fn import(&self, original_key: &str) -> anyhow::Result<Outcome> {
        let original_key = original_key.trim();
        if original_key.is_empty() || DEFAULT_KEYS.contains(&original_key) {
            return Ok(Outcome::Absent);
        }
        if matches!(self.source, MediaSource::None) {
            return Ok(Outcome::Missing("no --media or --media-url given".into()));
        }
        let bytes = match self.fetch(original_key).await {
            Ok(b) => b,
            Err(reason) => return Ok(Outcome::Missing(reason)),
        };
        if bytes.len() > MAX_FILE_BYTES {
            return Ok(Outcome::Broken(format!(
                "{} bytes, more than uploads may have",
                bytes.len()
            )));
        }
        let digest = hex::encode(&Sha256::digest(&bytes)[..16]);
        let processed = match tokio::task::spawn_blocking(move || process::process(&bytes))
            .await
            .context("image processing stopped")?
        {
            Ok(p) => p,
            Err(e) => return Ok(Outcome::Broken(e.to_string())),
        };
        let key = format!("img/{digest}.{}", processed.encoding.extension());
        if self.dry_run || self.storage.exists(&key).await? {
            return Ok(Outcome::Stored { key, fresh: false });
        }
        self.storage
            .put(&key, Bytes::from(processed.bytes))
            .await
            .with_context(|| format!("storing {key}"))?;
        Ok(Outcome::Stored { key, fresh: true })
    }

    /// The original bytes, or why they could not be had.
    async fn fetch(&self, key: &str) -> Result<Vec<u8>, String> {
        if key.starts_with('/') || key.split('/').any(|s| s == ".." || s.is_empty()) {
            return Err("the key leaves the bucket".into());
        }
        match &self.source {
            MediaSource::Dir(dir) => {
                let path = dir.join(key);
                match tokio::fs::metadata(&path).await {
                    Ok(m) if m.len() > MAX_FILE_BYTES as u64 + 1 => {
                        // Refused below without reading the whole file.
                        return Ok(vec![0; MAX_FILE_BYTES + 1]);
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err("not in the media folder".into());
                    }
                    Err(e) => return Err(format!("cannot read it: {e}")),
                }
                tokio::fs::read(&path)
                    .await
                    .map_err(|e| format!("cannot read it: {e}"))
            }
            MediaSource::Url(base) => {
                let url = base
                    .join(key)
                    .map_err(|e| format!("cannot form its URL: {e}"))?;
                let response = self
                    .client
                    .get(url)
                    .send()
                    .await
                    .map_err(|e| format!("the request failed: {e}"))?;
                let status = response.status();
                if !status.is_success() {
                    return Err(format!("the bucket answered {status}"));
                }
                if response
                    .content_length()
                    .is_some_and(|n| n > MAX_FILE_BYTES as u64)
                {
                    return Ok(vec![0; MAX_FILE_BYTES + 1]);
                }
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|e| format!("the download broke off: {e}"))?;
                Ok(bytes.to_vec())
            }
            MediaSource::None => Err("no media source".into()),
        }
    }
}

/// A bucket URL as a base that keys are joined to (with the trailing slash `join` needs).
pub fn base_url(raw: &str) -> anyhow::Result<url::Url> {
    let mut raw = raw.trim().to_owned();
    if !raw.ends_with('/') {
        raw.push('/');
    }
    let url = url::Url::parse(&raw).with_context(|| format!("--media-url {raw} is not a URL"))?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https"),
        "--media-url must be an http:// or https:// URL"
    );
    Ok(url)
}
