//! Daily distinct visitors, counted without storing raw addresses.
//!
//! A visitor is a signed-in user, or else a client address with its browser. What is stored is
//! a SHA-256 of that identity with a random salt drawn for the day (shared by all replicas
//! through the database), so stored rows cannot be matched back to an address by trying every
//! address without the salt, and rows of different days cannot be linked.

use std::collections::HashSet;
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use sea_orm::FromQueryResult;
use sha2::{Digest, Sha256};

use crate::accounts::DayVisitors;
use crate::app::AppState;
use crate::db::{Db, exec, fetch_all, fetch_optional, insert_ignore_sql};
use crate::extract::ClientIp;
use crate::vals;

/// Remembers which visitors this replica already recorded today, to write each one once.
#[derive(Default)]
pub struct VisitorTracker {
    seen: Mutex<(String, HashSet<[u8; 32]>)>,
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    date_string(time::OffsetDateTime::now_utc().date())
}

fn date_string(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

impl VisitorTracker {
    /// Records a visit by `identity` today; the first visit of the day is written in the
    /// background so that the request does not wait for it.
    pub fn record(&self, state: &AppState, identity: &str) {
        let day = today();
        let memo: [u8; 32] = Sha256::digest(identity.as_bytes()).into();
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if seen.0 != day || seen.1.len() > 500_000 {
                *seen = (day.clone(), HashSet::new());
            }
            if !seen.1.insert(memo) {
                return;
            }
        }
        let db = state.db.clone();
        let identity = identity.to_owned();
        tokio::spawn(async move {
            if let Err(e) = persist(&db, &day, &identity).await {
                tracing::warn!(error = %e, "could not record a visitor");
            }
        });
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

/// Counts anonymous visitors (requests without credentials) to the API and the app's pages.
/// Signed-in users are counted when their session is checked.
pub async fn count_visitor(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let counts = path.starts_with("/api/") || !(path.contains('.') || is_operational(path));
    if counts {
        let (parts, body) = request.into_parts();
        if crate::accounts::auth::request_token(&parts).is_none() {
            let ClientIp(ip) = ClientIp::from_parts(&parts, &state.config.trusted_proxies);
            let agent = parts
                .headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            state.visitors.record(&state, &format!("anon:{ip}|{agent}"));
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    next.run(request).await
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
