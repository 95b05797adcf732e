//! Stored images that nothing uses any more.
//!
//! Two mechanisms, one rule (an image is kept while a food or a book names it):
//! - when a food or book changes or loses an image, or is deleted, its old keys are released
//!   at once: each one no other row names is deleted ([`release_unreferenced`]);
//! - a sweep ([`sweep_orphans`]) deletes whatever nothing names and is older than an hour:
//!   uploads never attached to a food, and anything a crash left behind. The hour leaves an
//!   admin time to upload an image and then save the food that uses it.
//!
//! An image goes with its WebP variant: the variant's row first (so no answer names a file
//! about to go), then the variant, then the image.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::Storage;
use super::variants::{self, webp_key};
use crate::db::{fetch_all, fetch_i64};
use crate::vals;

/// Unreferenced images younger than this are left alone by the sweep.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(60 * 60);

/// The folders of the storage that hold images ipmat manages; nothing else is ever swept.
const MANAGED_FOLDERS: [&str; 2] = ["img/", "seed/"];

/// What owns image keys.
#[derive(Clone, Copy, Debug)]
pub enum Owner {
    Food,
    Book,
}

#[derive(FromQueryResult)]
struct KeyRow {
    k: Option<String>,
}

/// The image keys a food or book names now (read them before changing or deleting it).
pub async fn image_keys_of(
    c: &impl ConnectionTrait,
    owner: Owner,
    id: i64,
) -> Result<Vec<String>, DbErr> {
    let (sql, values) = match owner {
        Owner::Food => (
            "SELECT image_key AS k FROM foods WHERE id = ? \
             UNION ALL SELECT alt_image_key AS k FROM foods WHERE id = ?",
            vals![id, id],
        ),
        Owner::Book => ("SELECT cover_key AS k FROM books WHERE id = ?", vals![id]),
    };
    Ok(fetch_all::<KeyRow>(c, sql, values)
        .await?
        .into_iter()
        .filter_map(|r| r.k)
        .collect())
}

/// Whether a food or a book names `key`.
pub async fn is_referenced(c: &impl ConnectionTrait, key: &str) -> Result<bool, DbErr> {
    let foods = fetch_i64(
        c,
        "SELECT COUNT(*) FROM foods WHERE image_key = ? OR alt_image_key = ?",
        vals![key, key],
    )
    .await?
    .unwrap_or(0);
    if foods > 0 {
        return Ok(true);
    }
    let books = fetch_i64(
        c,
        "SELECT COUNT(*) FROM books WHERE cover_key = ?",
        vals![key],
    )
    .await?
    .unwrap_or(0);
    Ok(books > 0)
}

/// Every key a food or a book names.
pub async fn referenced_keys(c: &impl ConnectionTrait) -> Result<HashSet<String>, DbErr> {
    Ok(fetch_all::<KeyRow>(
        c,
        "SELECT image_key AS k FROM foods WHERE image_key IS NOT NULL \
         UNION SELECT alt_image_key AS k FROM foods WHERE alt_image_key IS NOT NULL \
         UNION SELECT cover_key AS k FROM books WHERE cover_key IS NOT NULL",
        vec![],
    )
    .await?
    .into_iter()
    .filter_map(|r| r.k)
    .collect())
}

/// Deletes each of `keys` that no food or book names any more (call after the change is
/// committed). Failures are logged, not returned: the change itself succeeded, and the sweep
/// removes whatever is left.
pub async fn release_unreferenced(
    c: &impl ConnectionTrait,
    storage: &Storage,
    keys: impl IntoIterator<Item = String>,
) {
    let mut seen = HashSet::new();
    for key in keys {
        if !seen.insert(key.clone()) {
            continue;
        }
        match is_referenced(c, &key).await {
            Ok(true) => {}
            Ok(false) => match delete_with_variant(c, storage, &key).await {
                Ok(()) => tracing::info!(%key, "deleted an image nothing uses any more"),
                Err(e) => tracing::warn!(%key, error = %e, "could not delete an unused image"),
            },
            Err(e) => tracing::warn!(%key, error = %e, "could not check whether an image is used"),
        }
    }
}

/// Deletes an image and its WebP variant (the variant's row first, then its file unless a row
/// names the variant itself, then the image).
async fn delete_with_variant(
    c: &impl ConnectionTrait,
    storage: &Storage,
    key: &str,
) -> anyhow::Result<()> {
    variants::forget(c, key).await?;
    if let Some(webp) = webp_key(key)
        && !is_referenced(c, &webp).await?
    {
        storage.delete(&webp).await?;
    }
    storage.delete(key).await
}

/// Deletes the stored images that no food or book names and that are older than `min_age`
/// ([`ORPHAN_GRACE`] in the server), with their WebP variants; answers how many images (not
/// counting variants) were deleted.
pub async fn sweep_orphans(
    c: &impl ConnectionTrait,
    storage: &Storage,
    min_age: Duration,
) -> anyhow::Result<usize> {
    let cutoff = SystemTime::now()
        .checked_sub(min_age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut candidates = Vec::new();
    for folder in MANAGED_FOLDERS {
        candidates.extend(
            storage
                .list(folder)
                .await?
                .into_iter()
                .filter(|o| o.last_modified <= cutoff)
                .map(|o| o.key),
        );
    }
    // Read after listing: a row saved while the listing ran is seen here.
    let used = referenced_keys(c).await?;
    let recorded = variants::all(c).await?;
    // The variants of the images in use are in use too.
    let mut keep = used.clone();
    keep.extend(
        recorded
            .iter()
            .filter(|(image, _, _)| used.contains(image))
            .map(|(_, webp, _)| webp.clone()),
    );
    // Variants go with their image and are not counted as images.
    let variant_keys: HashSet<String> = recorded
        .iter()
        .map(|(_, webp, _)| webp.clone())
        .chain(candidates.iter().filter_map(|k| webp_key(k)))
        .collect();
    let mut deleted = 0;
    for key in candidates.iter().filter(|k| !keep.contains(*k)) {
        if variant_keys.contains(key) {
            storage.delete(key).await?;
        } else {
            delete_with_variant(c, storage, key).await?;
            deleted += 1;
        }
    }
    // Rows of variants whose image went without them (a crash between the two deletions).
    let cutoff_ms = crate::db::now_ms() - i64::try_from(min_age.as_millis()).unwrap_or(i64::MAX);
    for (image, webp, created_at) in &recorded {
        if !used.contains(image) && *created_at <= cutoff_ms {
            variants::forget(c, image).await?;
            if !keep.contains(webp) {
                storage.delete(webp).await?;
            }
        }
    }
    if deleted > 0 {
        tracing::info!(deleted, "swept images that nothing uses");
    }
    Ok(deleted)
}
