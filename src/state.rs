//! The state every handler sees. It sits low in the tree (below every feature) so that
//! features depend on it and `app.rs`, the composition root on top, depends on them.

use std::sync::Arc;

use crate::catalog::cache::ResponseCache;
use crate::config::Config;
use crate::db::Db;
use crate::media::Storage;
use crate::visitors::VisitorTracker;

/// Largest JSON body accepted, in bytes.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Shared>);

/// What [`AppState`] shares; one `Arc` so that cloning the state per request is one count.
pub struct Shared {
    pub config: Config,
    pub db: Db,
    pub storage: Storage,
    pub cache: ResponseCache,
    pub visitors: VisitorTracker,
    pub metrics: crate::metrics::Metrics,
    /// The group-commit writer of world-cup starts.
    pub starts: crate::worldcup::starts::StartWriter,
    /// The bound every password hash and check runs under.
    pub passwords: crate::bounded::Bound,
    /// The shared key of throttle keys and device cookies.
    pub server_key: crate::secrets::ServerKey,
    /// Hardening (issue 10b): whether the database is known to be down (fail fast).
    pub db_health: crate::db::health::DbHealth,
    /// Hardening (issue 10b): the bound on image decoding.
    pub image_work: crate::bounded::Bound,
    /// Link previews looked up and images drawn (see `crate::previews`).
    pub previews: crate::previews::PreviewCache,
    /// What changes of an exam (participant count, author), read once for all the requests
    /// for one exam that arrive together (see `crate::coalesce`).
    pub exam_reads: crate::coalesce::Coalesced<i64, Option<crate::quiz::queries::ExamLive>>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
