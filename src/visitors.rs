//! Daily distinct visitors, counted without storing raw addresses.
//!
//! A visitor is a signed-in user, or else a client address with its browser. What is stored is
//! a SHA-256 of that identity with a random salt drawn for the day (shared by all replicas
//! through the database), so stored rows cannot be matched back to an address by trying every
//! address without the salt, and rows of different days cannot be linked.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use axum::extract::Request;
use sea_orm::FromQueryResult;
use sha2::{Digest, Sha256};

use crate::accounts::DayVisitors;
use crate::db::{Db, exec, fetch_all, fetch_optional, insert_ignore_sql};
use crate::state::AppState;
use crate::vals;

/// Remembers which visitors this replica already recorded today, to write each one once.
pub struct VisitorTracker {
    /// (day number since the epoch, 64-bit hashes of today's identities)
    seen: Mutex<(i64, HashSet<u64>)>,
    /// The one writer task's queue of (day, identity) to store.
    writes: tokio::sync::mpsc::Sender<(String, String)>,
    /// Visits not written because the queue was full.
    dropped: std::sync::atomic::AtomicU64,
}

/// How many first visits may wait for the writer; beyond that they are dropped (and counted):
/// the count of visitors is a statistic, not worth unbounded memory or tasks.
pub const WRITE_QUEUE: usize = 4096;

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    date_string(time::OffsetDateTime::now_utc().date())
}

fn date_string(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

impl VisitorTracker {
    /// A tracker with its writer: one task that stores first visits one after another.
    pub fn spawn(db: Db) -> VisitorTracker {
        let (writes, mut queue) = tokio::sync::mpsc::channel::<(String, String)>(WRITE_QUEUE);
        tokio::spawn(async move {
            while let Some((day, identity)) = queue.recv().await {
                if let Err(e) = persist(&db, &day, &identity).await {
                    tracing::warn!(error = %e, "could not record a visitor");
                }
            }
        });
        VisitorTracker {
            seen: Mutex::new((0, HashSet::new())),
            writes,
            dropped: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Visits dropped because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records a visit by `identity` today; the first visit of the day is queued for the
    /// writer so that the request does not wait for it. Repeat visits cost a hash and a set
    /// look-up.
    pub fn record(
        &self,
        _state: &AppState,
        identity: &dyn Fn(&mut dyn Hasher),
        describe: impl FnOnce() -> String,
    ) {
        let day = time::OffsetDateTime::now_utc()
            .unix_timestamp()
            .div_euclid(86_400);
        let mut hasher = std::hash::DefaultHasher::new();
        identity(&mut hasher);
        let memo = hasher.finish();
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if seen.0 != day || seen.1.len() > 500_000 {
                *seen = (day, HashSet::new());
            }
            if !seen.1.insert(memo) {
                return;
            }
        }
        if self.writes.try_send((today(), describe())).is_err() {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Records a signed-in user's visit.
    pub fn record_user(&self, state: &AppState, user_id: i64) {
        self.record(state, &|h| ("user", user_id).hash(&mut HashRef(h)), || {
            format!("user:{user_id}")
        });
    }

    /// Records an anonymous visit of a request (client address and browser), unless it
    /// carries credentials (then the session check counts the user) or is not a page or API
    /// call.
    pub fn record_request(&self, state: &AppState, request: &Request) {
        let path = request.uri().path();
        let counts = path.starts_with("/api/") || !(path.contains('.') || is_operational(path));
        if !counts || crate::accounts::auth::header_token(request.headers()).is_some() {
            return;
        }
        let crate::extract::ClientIp(ip) = crate::extract::ClientIp::of(
            request.extensions(),
            request.headers(),
            &state.config.trusted_proxies,
        );
        let agent = request
            .headers()
            .get(axum::http::header::USER_AGENT)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        self.record(
            state,
            &|h| ("anon", ip, agent).hash(&mut HashRef(h)),
            || format!("anon:{ip}|{}", String::from_utf8_lossy(agent)),
        );
    }
}

/// Lets a `&mut dyn Hasher` be used where `Hash::hash` wants a sized hasher.
struct HashRef<'a>(&'a mut dyn Hasher);

impl Hasher for HashRef<'_> {
    fn finish(&self) -> u64 {
        self.0.finish()
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes)
    }
}

async fn persist(db: &Db, day: &str, identity: &str) -> Result<(), sea_orm::DbErr> {
    #[derive(FromQueryResult)]
    struct Salt {
        salt: String,
    }
    let fresh = crate::accounts::auth::new_token();
    let insert = insert_ignore_sql(
        db.get_database_backend(),
        "INTO visitor_salts (day, salt) VALUES (?, ?)",
    );
    exec(db, &insert, vals![day, fresh]).await?;
    let Some(Salt { salt }) = fetch_optional::<Salt>(
        db,
        "SELECT salt FROM visitor_salts WHERE day = ?",
        vals![day],
    )
    .await?
    else {
        return Ok(());
    };
    let hash = hex::encode(Sha256::digest(format!("{salt}:{identity}").as_bytes()));
    let insert = insert_ignore_sql(
        db.get_database_backend(),
        "INTO visitors (day, visitor_hash) VALUES (?, ?)",
    );
    exec(db, &insert, vals![day, hash]).await?;
    Ok(())
}

/// Removes the salts of days before yesterday: once a day is over its salt only lets stored
/// hashes be matched back to identities, so it goes (yesterday's stays for replicas whose
/// clock has not passed midnight yet).
pub async fn purge_old_salts(db: &Db) -> Result<u64, sea_orm::DbErr> {
    let before = time::OffsetDateTime::now_utc().date() - time::Duration::days(1);
    let removed = exec(
        db,
        "DELETE FROM visitor_salts WHERE day < ?",
        vals![date_string(before)],
    )
    .await?;
    Ok(removed.rows_affected())
}

fn is_operational(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
        || path.starts_with("/media/")
        || path.starts_with("/docs")
}

/// Distinct visitors per day from `from` to `to` inclusive; days without visitors count 0.
pub async fn count_days(
    db: &Db,
    from: time::Date,
    to: time::Date,
) -> Result<Vec<DayVisitors>, sea_orm::DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        day: String,
        visitors: i64,
    }
    let rows = fetch_all::<Row>(
        db,
        "SELECT day, COUNT(*) AS visitors FROM visitors WHERE day >= ? AND day <= ? GROUP BY day",
        vals![date_string(from), date_string(to)],
    )
    .await?;
    let counts: std::collections::HashMap<String, i64> =
        rows.into_iter().map(|r| (r.day, r.visitors)).collect();
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        let date = date_string(d);
        out.push(DayVisitors {
            visitors: counts.get(&date).copied().unwrap_or(0),
            date,
        });
        match d.next_day() {
            Some(next) => d = next,
            None => break,
        }
    }
    Ok(out)
}
