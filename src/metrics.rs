//! Prometheus metrics, kept per application instance (no global recorder), and the request
//! middleware that records them and writes one log line per request.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Counters of application events.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    WorldcupStarted,
    WorldcupFinished,
    ExamCreated,
    AttemptSubmitted,
    Signup,
    LoginFailed,
    PasswordVerified,
    /// A handler panicked (answered 500).
    Panic,
}

impl Event {
    const ALL: [Event; 8] = [
        Event::WorldcupStarted,
        Event::WorldcupFinished,
        Event::ExamCreated,
        Event::AttemptSubmitted,
        Event::Signup,
        Event::LoginFailed,
        Event::PasswordVerified,
        Event::Panic,
    ];

    fn name(self) -> (&'static str, &'static str) {
        match self {
            Event::WorldcupStarted => ("ipmat_worldcups_started_total", "World cups started."),
            Event::WorldcupFinished => (
                "ipmat_worldcups_finished_total",
                "World cups played to a champion.",
            ),
            Event::ExamCreated => ("ipmat_exams_created_total", "Quiz exams created."),
            Event::AttemptSubmitted => {
                ("ipmat_attempts_submitted_total", "Quiz attempts submitted.")
            }
            Event::Signup => ("ipmat_signups_total", "Accounts created."),
            Event::LoginFailed => ("ipmat_login_failures_total", "Failed log-ins."),
            Event::PasswordVerified => (
                "ipmat_password_verifications_total",
                "Passwords checked with Argon2 at log-in.",
            ),
            Event::Panic => ("ipmat_panics_total", "Requests whose handler panicked."),
        }
    }
}

#[derive(Default)]
struct Series {
    method: String,
    route: String,
    status: u16,
    count: AtomicU64,
    /// Cumulative per bucket, plus the sum in microseconds.
    buckets: [AtomicU64; BUCKETS.len()],
    sum_micros: AtomicU64,
}

/// All metrics of one instance.
#[derive(Default)]
pub struct Metrics {
    /// hash of (method, route, status) → request count and latency histogram. Keyed by a
    /// hash so that the hot path allocates nothing.
    requests: RwLock<HashMap<u64, std::sync::Arc<Series>>>,
    events: [AtomicU64; Event::ALL.len()],
    /// Figures of the accept loop (open, accepted, shed, timed-out connections).
    pub connections: std::sync::Arc<crate::server::ConnStats>,
}

impl Metrics {
    /// Counts an application event.
    pub fn count(&self, event: Event) {
        self.events[event as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        (method, route, status).hash(&mut hasher);
        let key = hasher.finish();
        let series = {
            let read = self.requests.read().unwrap_or_else(|e| e.into_inner());
            read.get(&key).cloned()
        };
        let series = match series {
            Some(s) => s,
            None => {
                let mut write = self.requests.write().unwrap_or_else(|e| e.into_inner());
                write
                    .entry(key)
                    .or_insert_with(|| {
                        std::sync::Arc::new(Series {
                            method: method.to_owned(),
                            route: route.to_owned(),
                            status,
                            ..Series::default()
                        })
                    })
                    .clone()
            }
        };
        series.count.fetch_add(1, Ordering::Relaxed);
        series
            .sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                series.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The Prometheus text exposition of every metric, with the pool figures given.
    pub fn render(&self, pool: Option<PoolStats>) -> String {
        let mut out = String::new();
        let requests = self.requests.read().unwrap_or_else(|e| e.into_inner());
        let mut series: Vec<&Series> = requests.values().map(|s| s.as_ref()).collect();
        series
            .sort_by(|a, b| (&a.method, &a.route, a.status).cmp(&(&b.method, &b.route, b.status)));
        out.push_str(
            "# HELP ipmat_http_requests_total HTTP requests by route template and status.\n",
        );
        out.push_str("# TYPE ipmat_http_requests_total counter\n");
        for s in &series {
            let _ = writeln!(
                out,
                "ipmat_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}",
                s.method,
                escape(&s.route),
                s.status,
                s.count.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP ipmat_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE ipmat_http_request_duration_seconds histogram\n");
        for s in &series {
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{}\"",
                s.method,
                escape(&s.route),
                s.status
            );
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "ipmat_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    s.buckets[i].load(Ordering::Relaxed)
                );
            }
            let count = s.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "ipmat_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let sum = s.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "ipmat_http_request_duration_seconds_sum{{{labels}}} {sum}"
            );
            let _ = writeln!(
                out,
                "ipmat_http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
        for event in Event::ALL {
            let (name, help) = event.name();
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(
                out,
                "{name} {}",
                self.events[event as usize].load(Ordering::Relaxed)
            );
        }
        if let Some(pool) = pool {
            out.push_str("# HELP ipmat_db_pool_connections Database connections by state.\n");
            out.push_str("# TYPE ipmat_db_pool_connections gauge\n");
            let _ = writeln!(
                out,
                "ipmat_db_pool_connections{{state=\"idle\"}} {}",
                pool.idle
            );
            let _ = writeln!(
                out,
                "ipmat_db_pool_connections{{state=\"in_use\"}} {}",
                pool.size.saturating_sub(pool.idle)
            );
            let _ = writeln!(
                out,
                "# HELP ipmat_db_pool_max_connections Pool size limit.\n# TYPE ipmat_db_pool_max_connections gauge"
            );
            let _ = writeln!(out, "ipmat_db_pool_max_connections {}", pool.max);
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Connection pool figures.
#[derive(Clone, Copy, Debug)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// The pool figures of the app's database.
pub fn pool_stats(state: &AppState) -> Option<PoolStats> {
    use sea_orm::DatabaseConnectionType as C;
    let max = state.config.db_max_connections;
    let (size, idle) = match &state.db.inner {
        C::SqlxSqlitePoolConnection(_) => {
            let p = state.db.get_sqlite_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
        C::SqlxMySqlPoolConnection(_) => {
            let p = state.db.get_mysql_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
        C::SqlxPostgresPoolConnection(_) => {
            let p = state.db.get_postgres_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
        #[allow(unreachable_patterns)]
        _ => return None,
    };
    Some(PoolStats { size, idle, max })
}

/// `GET /metrics`: only for clients in `IPMAT_METRICS_ALLOW`; others get a 404, as if the
/// path did not exist.
pub async fn get_metrics(
    State(state): State<AppState>,
    crate::extract::ClientIp(client): crate::extract::ClientIp,
) -> Response {
    if !state
        .config
        .metrics_allow
        .iter()
        .any(|net| net.contains(client))
    {
        return crate::error::AppError::NotFound("route").into_response();
    }
    let mut body = state.metrics.render(pool_stats(&state));
    crate::bounded::render_metrics(&mut body, &[&state.passwords, &state.image_work]);
    crate::process_metrics::render(&mut body, &state.metrics.connections);
    let _ = writeln!(
        body,
        "# HELP ipmat_db_down Whether the database is known to be down (requests fail fast).\n\
         # TYPE ipmat_db_down gauge\nipmat_db_down {}\n\
         # HELP ipmat_db_down_total Times the database was found down.\n\
         # TYPE ipmat_db_down_total counter\nipmat_db_down_total {}",
        u8::from(state.db_health.is_down()),
        state.db_health.times_opened()
    );
    let _ = writeln!(
        body,
        "# HELP ipmat_visitor_writes_dropped_total First visits not recorded because the \
         writer was behind.\n# TYPE ipmat_visitor_writes_dropped_total counter\n\
         ipmat_visitor_writes_dropped_total {}",
        state.visitors.dropped()
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// The one middleware around every request: counts the visitor, records the route, status
/// and latency, marks JSON answers as UTF-8 (SPEC §2) and logs one line when request logs are
/// enabled. One layer instead of several keeps the per-request cost low.
pub async fn observe_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let unmatched = matched
        .is_none()
        .then(|| unmatched_route(request.uri().path()));
    let logging = tracing::enabled!(target: "ipmat::request", tracing::Level::INFO);
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // Every log line written while this request is served carries its id.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = matched.as_ref().map(MatchedPath::as_str).or(unmatched).unwrap_or("/app"),
    );
    state.visitors.record_request(&state, &request);

    let mut response = {
        use tracing::Instrument;
        next.run(request).instrument(span).await
    };

    if response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/json")
    {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let route = matched
        .as_ref()
        .map(MatchedPath::as_str)
        .or(unmatched)
        .unwrap_or("/app");
    state
        .metrics
        .observe(method.as_str(), route, status, elapsed.as_secs_f64());
    if logging {
        tracing::info!(
            target: "ipmat::request",
            request_id = %request_id,
            method = %method,
            route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    }
    response
}

/// A bounded label for requests no route matched (the web app, missing files).
fn unmatched_route(path: &str) -> &'static str {
    if path.starts_with("/api/") {
        "/api/unmatched"
    } else {
        "/app"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_requests_and_events() {
        let m = Metrics::default();
        m.observe("GET", "/api/v1/books", 200, 0.002);
        m.observe("GET", "/api/v1/books", 200, 0.2);
        m.count(Event::WorldcupStarted);
        let text = m.render(Some(PoolStats {
            size: 3,
            idle: 1,
            max: 8,
        }));
        assert!(
            text.contains(
                "ipmat_http_requests_total{method=\"GET\",route=\"/api/v1/books\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("le=\"0.0025\"} 1"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("ipmat_worldcups_started_total 1"));
        assert!(text.contains("ipmat_db_pool_connections{state=\"in_use\"} 2"));
    }
}
