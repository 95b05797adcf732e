//! Where images are kept: a local folder or an S3 bucket, both through `object_store`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, ClientOptions, ObjectStore, ObjectStoreExt, PutOptions, RetryConfig,
};

use crate::config::{Config, S3Config, StorageConfig};

/// Where images are kept, and how their public URLs are formed. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// The bucket prefix every key lives under (empty for a folder).
    root: Path,
    kind: Arc<Kind>,
    base_url: String,
}

enum Kind {
    Local(PathBuf),
    S3 { bucket: String },
}

/// One stored object, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    pub last_modified: SystemTime,
    pub size: u64,
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

/// What every stored object is served with (keys never change their bytes).
pub const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

impl Storage {
    /// Opens the storage the configuration names.
    pub async fn from_config(config: &Config) -> anyhow::Result<Storage> {
        let (store, root, kind): (Arc<dyn ObjectStore>, Path, Kind) = match &config.storage {
            StorageConfig::File(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| {
                    anyhow::anyhow!("IPMAT_STORAGE: cannot create {}: {e}", dir.display())
                })?;
                let store = LocalFileSystem::new_with_prefix(dir)
                    .with_context(|| format!("IPMAT_STORAGE: cannot open {}", dir.display()))?;
                (Arc::new(store), Path::default(), Kind::Local(dir.clone()))
            }
            StorageConfig::S3 { bucket, prefix } => {
                let store = s3_store(bucket, &config.s3)?;
                (
                    Arc::new(store),
                    Path::from(prefix.as_str()),
                    Kind::S3 {
                        bucket: bucket.clone(),
                    },
                )
            }
        };
        Ok(Storage {
            store,
            root,
            kind: Arc::new(kind),
            base_url: config.media_base_url.clone(),
        })
    }

    /// The public URL of a key.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.base_url)
    }

    fn location(&self, key: &str) -> Option<Path> {
        if !is_valid_key(key) {
            return None;
        }
        Some(if self.root.as_ref().is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.root))
        })
    }

    /// Stores bytes under a key (atomically: readers never see half an object).
    pub async fn put(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        let location = self
            .location(key)
            .ok_or_else(|| anyhow::anyhow!("invalid storage key {key:?}"))?;
        let mut options = PutOptions::default();
        // A bucket served straight to browsers (or through a CDN) needs the headers stored
        // with the object; local files are served by `/media`, which sets them itself.
        if let Kind::S3 { .. } = &*self.kind {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, content_type(key).into());
            attributes.insert(Attribute::CacheControl, CACHE_CONTROL.into());
            options.attributes = attributes;
        }
        self.store
            .put_opts(&location, bytes.into(), options)
            .await
            .with_context(|| format!("storing {key}"))?;
        Ok(())
    }

    /// The bytes under a key, if any.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<Bytes>> {
        let Some(location) = self.location(key) else {
            return Ok(None);
        };
        let result = match self.store.get(&location).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {key}"))),
        };
        match result.bytes().await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context(format!("reading {key}"))),
        }
    }

    /// Whether something is stored under a key.
    pub async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        let Some(location) = self.location(key) else {
            return Ok(false);
        };
        match self.store.head(&location).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(anyhow::Error::new(e).context(format!("looking up {key}"))),
        }
    }

    /// Removes a key (no error when it is absent).
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let Some(location) = self.location(key) else {
            return Ok(());
        };
        match self.store.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(anyhow::Error::new(e).context(format!("deleting {key}"))),
        }
    }

    /// Every object whose key starts with `prefix` (a folder such as `img/`), in no order.
    pub async fn list(&self, prefix: &str) -> anyhow::Result<Vec<StoredObject>> {
        let folder = prefix.trim_end_matches('/');
        let location = if self.root.as_ref().is_empty() {
            Path::from(folder)
        } else {
            Path::from(format!("{}/{folder}", self.root))
        };
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&location))
            .try_collect()
            .await
            .with_context(|| format!("listing {prefix}"))?;
        Ok(metas
            .into_iter()
            .filter_map(|meta| {
                let key = match meta.location.prefix_match(&self.root) {
                    Some(parts) => parts.map(|p| p.as_ref().to_owned()).collect::<Vec<_>>(),
                    None => return None,
                }
                .join("/");
                is_valid_key(&key).then(|| StoredObject {
                    key,
                    last_modified: meta.last_modified.into(),
                    size: meta.size,
                })
            })
            .collect())
    }

    /// Answers whether the storage is usable (for `/readyz`).
    pub async fn check(&self) -> anyhow::Result<()> {
        match &*self.kind {
            Kind::Local(dir) => {
                let meta = tokio::fs::metadata(dir).await?;
                anyhow::ensure!(meta.is_dir(), "{} is not a directory", dir.display());
            }
            Kind::S3 { bucket } => {
                // Listing one level answers for the endpoint, the credentials and the bucket
                // (a HEAD of a missing key would look the same as a missing bucket).
                let root = (!self.root.as_ref().is_empty()).then_some(&self.root);
                self.store
                    .list_with_delimiter(root)
                    .await
                    .with_context(|| format!("listing bucket {bucket}"))?;
            }
        }
        Ok(())
    }
}

/// An S3 client for `bucket`: `IPMAT_S3_*` first, then the usual `AWS_*` sources.
fn s3_store(bucket: &str, s3: &S3Config) -> anyhow::Result<object_store::aws::AmazonS3> {
    // reqwest is built without a bundled crypto provider (see Cargo.toml): use ring, which
    // is already in the build. Installing twice is harmless, the first one stays.
    crate::install_crypto_provider();
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        // S3-compatible servers (MinIO, Garage, Ceph) want path-style addressing.
        .with_virtual_hosted_style_request(false)
        .with_retry(RetryConfig {
            max_retries: 2,
            retry_timeout: Duration::from_secs(10),
            ..RetryConfig::default()
        })
        .with_client_options(
            ClientOptions::new()
                .with_connect_timeout(Duration::from_secs(5))
                .with_timeout(Duration::from_secs(30)),
        );
    if let Some(endpoint) = &s3.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(region) = &s3.region {
        builder = builder.with_region(region);
    }
    if let Some(key) = &s3.access_key_id {
        builder = builder.with_access_key_id(key.expose());
    }
    if let Some(secret) = &s3.secret_access_key {
        builder = builder.with_secret_access_key(secret.expose());
    }
    builder
        .build()
        .map_err(|e| anyhow::anyhow!("IPMAT_STORAGE: cannot use bucket {bucket}: {e}"))
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
            "a/",
        ] {
            assert!(!is_valid_key(bad), "{bad:?}");
        }
        for good in ["seed/kimchi-jjigae-0a1b.jpg", "img/2f/abc.webp", "x.png"] {
            assert!(is_valid_key(good), "{good:?}");
        }
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("img/a.jpg"), "image/jpeg");
        assert_eq!(content_type("seed/a.png"), "image/png");
        assert_eq!(content_type("x.gif"), "image/gif");
        assert_eq!(content_type("x.txt"), "application/octet-stream");
    }
}
