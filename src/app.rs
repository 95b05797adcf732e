//! Application state, the route table and the server's life cycle.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware;
use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::catalog::cache::ResponseCache;
use crate::config::Config;
use crate::error::AppError;
use crate::media::Storage;
pub use crate::state::{AppState, JSON_BODY_LIMIT, Shared};
use crate::visitors::VisitorTracker;

/// The API routes and their OpenAPI document.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .nest(
            "/api/v1",
            OpenApiRouter::new()
                .merge(crate::catalog::router())
                .merge(crate::community::router())
                .merge(crate::accounts::router())
                .merge(crate::worldcup::router())
                .merge(crate::quiz::router())
                .merge(crate::ops::api_router()),
        )
        .split_for_parts();
    // The upload route is served by media::router (it has its own body limit); only its
    // description joins the document here.
    openapi.merge(crate::media::MediaApi::openapi());
    (router, openapi)
}

/// Builds the whole HTTP surface over a state.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api();
    let api = api
        .route("/api/v1", axum::routing::any(api_not_found))
        .route("/api/v1/{*rest}", axum::routing::any(api_not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(crate::lang::scope))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT));

    let routes = Router::new()
        .merge(api)
        .merge(crate::ops::router())
        .merge(crate::media::router())
        .merge(crate::previews::router())
        // The docs page also serves the document it renders, at its API path.
        // The document, finished once, and the page that renders it (its own CSP).
        .merge(crate::headers::docs_policy(crate::apidocs::router(
            crate::openapi::finish(openapi),
        )))
        .route("/metrics", axum::routing::get(crate::metrics::get_metrics))
        .fallback(crate::web::serve_app)
        .layer(compression());
    with_layers(routes, state)
}

/// Brotli or gzip for API answers (JSON, problems, the API document, metrics) when the client
/// takes it. Level 4 costs little CPU per answer and gets most of the gain; small bodies and
/// pictures go as they are. The web app's own files come coded already (`crate::web`), which
/// this layer leaves alone.
fn compression() -> CompressionLayer<impl Predicate> {
    let worth_it = |_: axum::http::StatusCode,
                    _: axum::http::Version,
                    headers: &axum::http::HeaderMap,
                    _: &axum::http::Extensions| {
        headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(crate::web::encoding::is_compressible)
    };
    CompressionLayer::new()
        .quality(tower_http::CompressionLevel::Precise(4))
        .compress_when(
            SizeAbove::new(crate::web::encoding::MIN_COMPRESS_BYTES as u16).and(worth_it),
        )
}

/// Wraps routes in the layers every request goes through (outermost first): security
/// headers, request ids, observation (metrics, the request's log span, visitors), panic
/// catching.
pub fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let panics = state.clone();
    let config = state.config.clone();
    let router = routes
        // Inside the observing layer, so that a panic is answered, counted and logged with
        // the request's id like any other 500.
        .layer(CatchPanicLayer::custom(
            move |payload: Box<dyn std::any::Any + Send>| {
                panics.metrics.count(crate::metrics::Event::Panic);
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string payload".to_owned());
                tracing::error!(panic = %message, "a handler panicked");
                AppError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
            },
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::availability::fail_fast,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::observe_requests,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::https::hsts,
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, RequestIds::new()))
        .with_state(state);
    crate::headers::apply(router, &config)
}

async fn api_not_found() -> AppError {
    AppError::NotFound("route")
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed("this method is not allowed on this path".to_owned())
}

/// Request ids for requests that come without one: a random prefix per process and a
/// counter, unique across replicas and cheaper than a UUID per request.
#[derive(Clone)]
struct RequestIds {
    prefix: Arc<str>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        let prefix: String = crate::accounts::auth::new_token()[..12].to_owned();
        RequestIds {
            prefix: prefix.into(),
            next: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }
}

impl tower_http::request_id::MakeRequestId for RequestIds {
    fn make_request_id<B>(
        &mut self,
        _: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n:x}", self.prefix))
            .ok()
            .map(Into::into)
    }
}

/// A built server: bound to its port, migrated, ready to run.
pub struct App {
    listener: TcpListener,
    router: Router,
    probe: crate::db::Db,
    pub state: AppState,
}

impl App {
    /// Connects the database and storage, migrates, seeds an empty catalog, and binds.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        crate::install_crypto_provider();
        let db = crate::db::connect(config.database_url.expose(), config.db_max_connections)
            .await
            .map_err(|e| {
                anyhow::anyhow!("cannot connect to {}: {e}", config.database_url.redacted())
            })?;
        let applied = crate::db::migrate(&db).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied migrations");
        }
        let storage = Storage::from_config(&config).await?;
        if config.seed == crate::config::SeedMode::Auto {
            crate::seed::seed_if_empty(&db, &storage).await?;
        }
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
        let starts = crate::worldcup::starts::StartWriter::spawn(db.clone());
        let server_key = crate::secrets::ServerKey::load(&db, config.secret_key.as_ref()).await?;
        let passwords = crate::bounded::Bound::new(
            "password_hashing",
            config.password_hash_concurrency,
            config.password_hash_queue,
            config.password_hash_max_wait,
        );
        let visitors = VisitorTracker::spawn(db.clone());
        // The breaker's probe has a connection of its own, so that a busy pool never looks
        // like an outage.
        let probe = crate::db::connect(config.database_url.expose(), 1).await?;
        let state = AppState(Arc::new(Shared {
            config,
            db,
            storage,
            cache: ResponseCache::new(Duration::from_secs(2)),
            visitors,
            metrics: crate::metrics::Metrics::default(),
            starts,
            passwords,
            server_key,
            db_health: crate::db::health::DbHealth::default(),
            image_work: crate::media::image_bound(),
            previews: Default::default(),
            exam_reads: Default::default(),
        }));
        let router = router(state.clone());
        Ok(App {
            listener,
            router,
            probe,
            state,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish for up to 20 s.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let limits = crate::server::Limits::new(self.state.config.max_connections);
        let serve = crate::server::serve(
            self.listener,
            self.router,
            limits,
            self.state.metrics.connections.clone(),
            async move {
                shutdown.await;
                let _ = tx.send(true);
            },
        );
        let mut rx_timeout = rx.clone();
        let sweeper = tokio::spawn(crate::maintenance::run(self.state.clone()));
        let prober = tokio::spawn(self.state.db_health.clone().run(self.probe.clone()));
        let serving = tokio::spawn(serve);
        tokio::select! {
            result = serving => { result??; }
            _ = async move {
                let _ = rx_timeout.wait_for(|stop| *stop).await;
                tokio::time::sleep(Duration::from_secs(20)).await;
            } => {
                tracing::warn!("in-flight requests did not finish within 20 s; exiting anyway");
            }
        }
        drop(rx);
        sweeper.abort();
        prober.abort();
        let _ = tokio::time::timeout(Duration::from_secs(1), self.probe.close()).await;
        // A connection that is never handed back must not keep the process from exiting.
        let _ = tokio::time::timeout(Duration::from_secs(3), self.state.db.clone().close()).await;
        Ok(())
    }

    /// Serves until SIGTERM or Ctrl-C.
    pub async fn run(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
