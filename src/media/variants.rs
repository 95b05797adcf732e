//! The lossy WebP variant of every stored image, made once when the image is stored.
//!
//! A variant lives next to its image (`img/<hex>.jpg` → `img/<hex>.webp`) and is listed in
//! `image_variants` once both are stored, so the API names a variant only when it exists (a
//! `<picture>` whose WebP source is missing shows a broken image, it does not fall back).
//! Images stored before variants existed, or by a replica of an older release during a rolling
//! deploy, get theirs from [`backfill`], which the periodic maintenance runs at start and
//! every 15 minutes, one image at a time under the image bound. Deleting an image deletes its
//! row first, then the variant, then the image (see `orphans.rs`).

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::Storage;
use super::process::{self, ProcessError};
use crate::bounded::Bound;
use crate::db::{exec, fetch_all, insert_ignore_sql, now_ms, placeholders};
use crate::vals;

/// The key of the WebP variant of `key`: the same name with the extension `.webp`; `None`
/// for an image that already is WebP (a bundled `.webp` file needs no variant).
pub fn webp_key(key: &str) -> Option<String> {
    let (folder, file) = match key.rsplit_once('/') {
        Some((folder, file)) => (Some(folder), file),
        None => (None, key),
    };
    let stem = match file.rsplit_once('.') {
        Some((_, "webp")) => return None,
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => file,
    };
    Some(match folder {
        Some(folder) => format!("{folder}/{stem}.webp"),
        None => format!("{stem}.webp"),
    })
}

#[derive(FromQueryResult)]
struct VariantRow {
    image_key: String,
    webp_key: String,
}

/// Records that `image_key` has its WebP variant stored under `webp_key` (call after both
/// are stored; recording twice is harmless).
pub async fn record(
    c: &impl ConnectionTrait,
    image_key: &str,
    webp_key: &str,
) -> Result<(), DbErr> {
    let sql = insert_ignore_sql(
        c.get_database_backend(),
        "INTO image_variants (image_key, webp_key, created_at) VALUES (?, ?, ?)",
    );
    exec(c, &sql, vals![image_key, webp_key, now_ms()]).await?;
    Ok(())
}

/// Forgets the variant of `image_key` (before its files are deleted).
pub async fn forget(c: &impl ConnectionTrait, image_key: &str) -> Result<(), DbErr> {
    exec(
        c,
        "DELETE FROM image_variants WHERE image_key = ?",
        vals![image_key],
    )
    .await?;
    Ok(())
}

/// The WebP keys of those of `keys` that have a stored variant (one query).
pub async fn webp_keys(
    c: &impl ConnectionTrait,
    keys: &[&str],
) -> Result<HashMap<String, String>, DbErr> {
    let unique: HashSet<&str> = keys.iter().copied().collect();
    if unique.is_empty() {
        return Ok(HashMap::new());
    }
    let values: Vec<Value> = unique.into_iter().map(Value::from).collect();
    let sql = format!(
        "SELECT image_key, webp_key FROM image_variants WHERE image_key IN ({})",
        placeholders(values.len())
    );
    Ok(fetch_all::<VariantRow>(c, &sql, values)
        .await?
        .into_iter()
        .map(|r| (r.image_key, r.webp_key))
        .collect())
}

/// Every recorded variant: image key → WebP key, with when it was recorded (ms).
pub(crate) async fn all(c: &impl ConnectionTrait) -> Result<Vec<(String, String, i64)>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        image_key: String,
        webp_key: String,
        created_at: i64,
    }
    Ok(fetch_all::<Row>(
        c,
        "SELECT image_key, webp_key, created_at FROM image_variants",
        vec![],
    )
    .await?
    .into_iter()
    .map(|r| (r.image_key, r.webp_key, r.created_at))
    .collect())
}

/// Stores the WebP variant of an image already in the storage, given its bytes: encodes it
/// under `bound`, stores it and records it. Answers the variant's key, or `None` for an image
/// that is already WebP.
pub async fn make_variant(
    c: &impl ConnectionTrait,
    storage: &Storage,
    bound: &Bound,
    key: &str,
    bytes: Bytes,
) -> anyhow::Result<Option<String>> {
    let Some(webp) = webp_key(key) else {
        return Ok(None);
    };
    let encoded = bound
        .run(move || process::webp_of_stored(&bytes))
        .await
        .map_err(|e| anyhow::anyhow!("no turn to encode the WebP of {key}: {e:?}"))?
        .map_err(|e: ProcessError| anyhow::anyhow!("encoding the WebP of {key}: {e}"))?;
    storage.put(&webp, Bytes::from(encoded)).await?;
    record(c, key, &webp).await?;
    Ok(Some(webp))
}

/// Makes the variant of a stored image unless it is recorded already, under the process's image
/// bound (for catalog imports). A failure is logged, not returned: the image works without
/// its variant, and the backfill tries again.
pub async fn ensure_variant(c: &impl ConnectionTrait, storage: &Storage, key: &str, bytes: Bytes) {
    let made = match webp_keys(c, &[key]).await {
        Ok(found) if found.contains_key(key) => return,
        Ok(_) => make_variant(c, storage, &super::image_bound(), key, bytes).await,
        Err(e) => Err(e.into()),
    };
    if let Err(e) = made {
        tracing::warn!(%key, error = %e, "could not make the WebP of an image");
    }
}

/// Makes the missing variants of the images foods and books name, one at a time; answers how
/// many it made. An image that cannot be read or encoded is logged and skipped (the page keeps
/// showing its JPEG); when the bound has no turn to give (uploads are busy), the round stops
/// and the next one goes on.
pub async fn backfill(
    c: &impl ConnectionTrait,
    storage: &Storage,
    bound: &Bound,
) -> anyhow::Result<usize> {
    let used = super::referenced_keys(c).await?;
    let done: HashSet<String> = all(c).await?.into_iter().map(|(k, _, _)| k).collect();
    let mut missing: Vec<String> = used
        .into_iter()
        .filter(|k| !done.contains(k) && webp_key(k).is_some())
        .collect();
    missing.sort();
    let mut made = 0;
    for key in missing {
        let Some(bytes) = storage.get(&key).await? else {
            tracing::warn!(%key, "an image a row names is missing from the storage");
            continue;
        };
        let busy = bound.stats();
        if busy.waiting > 0 {
            tracing::info!(
                made,
                "uploads are waiting for the image bound; the WebP backfill goes on later"
            );
            break;
        }
        match make_variant(c, storage, bound, &key, bytes).await {
            Ok(_) => made += 1,
            Err(e) => tracing::warn!(%key, error = %e, "could not make the WebP of an image"),
        }
    }
    if made > 0 {
        tracing::info!(made, "made the WebP variants of stored images");
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_sit_next_to_their_image() {
        assert_eq!(webp_key("img/ab12.jpg").as_deref(), Some("img/ab12.webp"));
        assert_eq!(webp_key("img/ab12.png").as_deref(), Some("img/ab12.webp"));
        assert_eq!(
            webp_key("seed/0a1b-kimchi.jpeg").as_deref(),
            Some("seed/0a1b-kimchi.webp")
        );
        assert_eq!(webp_key("x.gif").as_deref(), Some("x.webp"));
        assert_eq!(webp_key("seed/0a1b-photo.webp"), None);
        for key in ["img/ab12.jpg", "seed/0a1b-kimchi.jpeg", "x.gif"] {
            assert!(super::super::is_valid_key(&webp_key(key).unwrap()), "{key}");
        }
    }
}
