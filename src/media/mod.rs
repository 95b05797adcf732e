//! Images: storage (a folder or an S3 bucket), admin uploads, `/media/{key}`, and the clean-up
//! of images nothing uses any more. See `docs/media.md`.
//!
//! Keys are fresh random names (`img/<32 hex>.jpg`) or content-addressed names for imported
//! catalogs (`seed/<hash>-<name>.jpg`), so the bytes under a key never change: answers are
//! cached for a year and the ETag is derived from the key alone.

mod orphans;
pub mod process;
mod routes;
mod storage;

pub use orphans::{
    ORPHAN_GRACE, Owner, image_keys_of, is_referenced, referenced_keys, release_unreferenced,
    sweep_orphans,
};
pub use routes::{MAX_UPLOAD_BODY, MediaApi, UploadedImage, router};
pub use storage::{CACHE_CONTROL, Storage, StoredObject, content_type, is_valid_key};
