//! Images: storage (a folder or an S3 bucket), admin uploads, `/media/{key}`, the WebP variant
//! of every image, and the clean-up of images nothing uses any more. See `docs/media.md`.
//!
//! Keys are fresh random names (`img/<32 hex>.jpg`) or content-addressed names for imported
//! catalogs (`seed/<hash>-<name>.jpg`), so the bytes under a key never change: answers are
//! cached for a year and the ETag is derived from the key alone.

mod orphans;
pub mod process;
mod routes;
mod storage;
mod variants;

pub use orphans::{
    ORPHAN_GRACE, Owner, image_keys_of, is_referenced, referenced_keys, release_unreferenced,
    sweep_orphans,
};
pub use routes::{MAX_UPLOAD_BODY, MediaApi, UploadedImage, router};
pub use storage::{CACHE_CONTROL, Storage, StoredObject, content_type, is_valid_key};
pub use variants::{backfill as backfill_webp, ensure_variant, make_variant, webp_key, webp_keys};

/// The bound on image decoding and encoding, one per process (uploads, the WebP backfill and
/// catalog imports share it): one job per CPU, at most 2 (a 40 MP decode peaks near 270 MiB,
/// so the cap keeps a replica's memory predictable on big hosts), up to 16 more waiting at most
/// 10 s each. With each decode holding at most [`process::MAX_DECODE_BYTES`], this is what
/// keeps concurrent uploads within the replica's memory limit (see docs/deploy.md).
pub fn image_bound() -> crate::bounded::Bound {
    static BOUND: std::sync::OnceLock<crate::bounded::Bound> = std::sync::OnceLock::new();
    BOUND
        .get_or_init(|| {
            crate::bounded::Bound::new(
                "image decoding",
                crate::bounded::cpu_count().min(2),
                16,
                std::time::Duration::from_secs(10),
            )
        })
        .clone()
}
