//! The HTTP accept loop: hyper connections with time limits, a cap on how many are open, and a
//! shutdown that closes stuck connections at once and never races a client on an idle one.
//!
//! Each connection has a small shared record ([`Conn`]) that the connection's IO wrapper and
//! its service update: how many requests are in flight, when the connection went idle, and
//! when the head of the next request started to arrive. One reaper task reads the records
//! twice a second and closes connections past a limit:
//!
//! - **header read**: a request head must arrive completely within [`HEADER_TIMEOUT`] of its
//!   first byte;
//! - **keep-alive idle**: a connection with nothing in flight is closed after [`IDLE_TIMEOUT`]
//!   (longer than the bundled nginx's 8 s upstream keep-alive, so nginx closes first);
//! - **body read**: a request body must deliver a frame at least every [`BODY_IDLE_TIMEOUT`]
//!   and, after a grace of [`BODY_GRACE`], average at least [`BODY_MIN_RATE`] bytes per second
//!   (see [`DeadlineBody`]); a handler reading a body too slowly sees an error, the client a
//!   4xx, and the connection closes.
//!
//! At most `max_connections` are open at once (also kept below the descriptor limit). At the
//! cap the loop stops accepting (new clients wait in the kernel's backlog) and closes the
//! oldest connections that have nothing in flight, so a flood of slow or idle connections
//! cannot starve real requests. hyper answers unparsable request heads (400, 414, 431) on its
//! own, with an empty body; the IO wrapper replaces those answers by problem details.
//!
//! **Shutdown.** The listener closes (new clients are refused, so a proxy tries another
//! replica), requests in flight finish, and a connection stuck in a partial head is closed at
//! once. An idle HTTP/1 keep-alive connection is *not* closed at once: a proxy may be writing
//! a request on it at that very moment, and a request lost that way is not retried for POST.
//! Instead every answer after SIGTERM carries `Connection: close`, and an idle connection is
//! closed after [`SHUTDOWN_IDLE_LINGER`] unless its client closes it first. A proxy whose
//! upstream keep-alive timeout is shorter than that (the bundled nginx: 8 s) has closed every
//! such connection itself by then, so no request meets a closing connection. HTTP/2 has
//! GOAWAY for this and is told to go away at once.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use futures::FutureExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

/// A request head must be complete this long after its first byte.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with nothing in flight is closed after this long.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A request body must deliver data at least this often.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// After this long a request body must have averaged [`BODY_MIN_RATE`].
pub const BODY_GRACE: Duration = Duration::from_secs(10);
/// Slowest accepted average upload rate after the grace, in bytes per second.
pub const BODY_MIN_RATE: u64 = 1024;
/// After SIGTERM, an idle HTTP/1 connection stays open this long for its client to close it
/// (or to send one last request, answered with `Connection: close`).
pub const SHUTDOWN_IDLE_LINGER: Duration = Duration::from_secs(10);
/// After SIGTERM, a request head that began arriving this recently may still complete.
const SHUTDOWN_HEAD_GRACE_MS: u64 = 1000;
/// Connections younger (or idle for less) than this are not shed at the cap.
const SHED_MIN_AGE_MS: u64 = 1000;

/// What the accept loop enforces.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
}

impl Limits {
    /// The configured cap, kept below the process's descriptor limit (with room for the
    /// database pool, files and the listener).
    pub fn new(max_connections: usize) -> Limits {
        let cap = match open_files_limit() {
            Some(n) => max_connections.min(n.saturating_sub(256).max(16) as usize),
            None => max_connections,
        };
        Limits {
            max_connections: cap,
        }
    }
}

/// The soft limit on open descriptors, from `/proc/self/limits` (Linux); `None` elsewhere.
pub fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Live figures of the accept loop, for `/metrics`.
#[derive(Default)]
pub struct ConnStats {
    pub open: AtomicU64,
    pub accepted: AtomicU64,
    pub shed: AtomicU64,
    pub timed_out: AtomicU64,
}

/// The shared record of one connection.
struct Conn {
    /// Requests whose answer is not finished yet.
    in_flight: AtomicU32,
    /// Milliseconds (since the server's start) when the connection last had nothing in flight.
    idle_since: AtomicU64,
    /// When the first byte of the next request head arrived; 0 while none has.
    head_started: AtomicU64,
    /// Whether a request was handed to the app since bytes of a new head arrived: a response
    /// written while this is false is one hyper made up for an unparsable head.
    dispatched: AtomicBool,
    /// Closes the connection at once.
    close: Notify,
    /// Set once a request arrived over HTTP/2.
    http2: AtomicBool,
}

/// The server's clock: milliseconds since it started (never 0, so 0 can mean "unset").
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now(self) -> u64 {
        self.0.elapsed().as_millis() as u64 + 1
    }
}

struct Registry {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    /// Signalled whenever a connection ends.
    ended: Notify,
    clock: Clock,
    stats: Arc<ConnStats>,
}

impl Registry {
    fn len(&self) -> usize {
        self.conns.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Closes up to `n` of the connections that have had nothing in flight the longest.
    fn shed(&self, n: usize) -> usize {
        let now = self.clock.now();
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let mut idle: Vec<(u64, &Arc<Conn>)> = conns
            .values()
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0)
            .map(|c| {
                let head = c.head_started.load(Ordering::Relaxed);
                let since = if head != 0 {
                    head
                } else {
                    c.idle_since.load(Ordering::Relaxed)
                };
                (since, c)
            })
            .filter(|(since, _)| now.saturating_sub(*since) >= SHED_MIN_AGE_MS)
            .collect();
        idle.sort_by_key(|(since, _)| *since);
        let count = idle.len().min(n);
        for (_, c) in idle.into_iter().take(count) {
            c.close.notify_one();
        }
        self.stats.shed.fetch_add(count as u64, Ordering::Relaxed);
        count
    }

    /// Closes the connections past their header or idle limit.
    fn reap(&self) {
        let now = self.clock.now();
        let header = HEADER_TIMEOUT.as_millis() as u64;
        let idle = IDLE_TIMEOUT.as_millis() as u64;
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        for c in conns.values() {
            if c.in_flight.load(Ordering::Acquire) != 0 {
                continue;
            }
            let head = c.head_started.load(Ordering::Relaxed);
            let late = if head != 0 {
                now.saturating_sub(head) > header
            } else {
                now.saturating_sub(c.idle_since.load(Ordering::Relaxed)) > idle
            };
            if late {
                self.stats.timed_out.fetch_add(1, Ordering::Relaxed);
                c.close.notify_one();
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, lets every
/// connection finish as the module's notes on shutdown say, and answers once all have ended
/// (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stats: Arc<ConnStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let registry = Arc::new(Registry {
        conns: Mutex::new(HashMap::new()),
        ended: Notify::new(),
        clock: Clock(Instant::now()),
        stats,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let reaper = {
        let registry = registry.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                registry.reap();
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // A backstop only: the reaper enforces the shorter header and idle limits.
        .header_read_timeout(IDLE_TIMEOUT + HEADER_TIMEOUT)
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64)
        .keep_alive_interval(Some(IDLE_TIMEOUT))
        .keep_alive_timeout(HEADER_TIMEOUT);
    let builder = Arc::new(builder);

    tokio::pin!(shutdown);
    let mut next_id: u64 = 0;
    let mut last_accept_error = None::<Instant>;
    'accept: loop {
        // Back-pressure: at the cap, shed idle connections and wait for room.
        while registry.len() >= limits.max_connections {
            registry.shed((limits.max_connections / 8).max(1));
            tokio::select! {
                _ = registry.ended.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = &mut shutdown => break 'accept,
            }
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors or memory: wait instead of spinning, log once a second.
                    if last_accept_error.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
                        tracing::warn!(error = %e, "accept failed");
                        last_accept_error = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break 'accept,
        };
        let _ = stream.set_nodelay(true);
        next_id += 1;
        spawn_connection(
            &registry, next_id, stream, peer, &router, &builder, &stop_rx,
        );
    }
    // Connections the kernel already completed are taken in (their clients may have written
    // a request already) and served like the others; new ones are refused from here on.
    while let Some(Ok((stream, peer))) = listener.accept().now_or_never() {
        let _ = stream.set_nodelay(true);
        next_id += 1;
        spawn_connection(
            &registry, next_id, stream, peer, &router, &builder, &stop_rx,
        );
    }
    drop(listener);
    drain(registry, stop_tx, reaper).await
}

/// Registers a new connection and serves it on its own task.
fn spawn_connection(
    registry: &Arc<Registry>,
    id: u64,
    stream: TcpStream,
    peer: SocketAddr,
    router: &Router,
    builder: &Arc<auto::Builder<TokioExecutor>>,
    stop: &watch::Receiver<bool>,
) {
    let conn = Arc::new(Conn {
        in_flight: AtomicU32::new(0),
        idle_since: AtomicU64::new(registry.clock.now()),
        head_started: AtomicU64::new(0),
        dispatched: AtomicBool::new(false),
        close: Notify::new(),
        http2: AtomicBool::new(false),
    });
    registry
        .conns
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, conn.clone());
    registry.stats.accepted.fetch_add(1, Ordering::Relaxed);
    registry.stats.open.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(serve_connection(
        stream,
        peer,
        router.clone(),
        builder.clone(),
        conn,
        ConnGuard {
            id,
            registry: registry.clone(),
        },
        stop.clone(),
    ));
}

/// Tells every connection to stop and waits until all have ended.
async fn drain(
    registry: Arc<Registry>,
    stop: watch::Sender<bool>,
    reaper: tokio::task::JoinHandle<()>,
) -> io::Result<()> {
    let _ = stop.send(true);
    loop {
        let ended = registry.ended.notified();
        if registry.len() == 0 {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), ended).await;
    }
    reaper.abort();
    Ok(())
}

/// Removes a connection from the registry when its task ends, however it ends.
struct ConnGuard {
    id: u64,
    registry: Arc<Registry>,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.registry
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
        self.registry.stats.open.fetch_sub(1, Ordering::Relaxed);
        self.registry.ended.notify_waiters();
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    conn: Arc<Conn>,
    _guard: ConnGuard,
    mut stop: watch::Receiver<bool>,
) {
    let clock = _guard.registry.clock;
    let io = TokioIo::new(WatchedIo {
        inner: stream,
        conn: conn.clone(),
        clock,
        replacement: None,
    });
    let service_conn = conn.clone();
    let service_stop = stop.clone();
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let conn = service_conn.clone();
            let router = router.clone();
            let stop = service_stop.clone();
            let http1 = request.version() < hyper::Version::HTTP_2;
            if !http1 {
                conn.http2.store(true, Ordering::Relaxed);
            }
            conn.in_flight.fetch_add(1, Ordering::AcqRel);
            conn.head_started.store(0, Ordering::Relaxed);
            conn.dispatched.store(true, Ordering::Release);
            let in_flight = InFlight { conn, clock };
            let body_done = Arc::new(AtomicBool::new(request.body().is_end_stream()));
            let done = body_done.clone();
            let mut request = request.map(|b| Body::new(DeadlineBody::new(b, done)));
            request.extensions_mut().insert(ConnectInfo(peer));
            async move {
                use tower::ServiceExt;
                let mut response = router.oneshot(request).await?;
                // Answered before the body was read to its end (refused early, or too slow): the
                // rest of the body is not waited for, so the client must not reuse the connection.
                // After SIGTERM, so is every answer: the client closes, not the server.
                if !body_done.load(Ordering::Acquire) || (http1 && *stop.borrow()) {
                    response.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                }
                Ok::<_, std::convert::Infallible>(response.map(|body| {
                    Body::new(Guarded {
                        inner: body,
                        _in_flight: in_flight,
                    })
                }))
            }
        });
    let connection = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    // When SIGTERM came (server clock), once it has; whether an HTTP/2 client was told.
    let mut stopped_at = stop.borrow().then(|| clock.now());
    let mut went_away = false;
    let linger = SHUTDOWN_IDLE_LINGER.as_millis() as u64;
    loop {
        tokio::select! {
            _ = connection.as_mut() => break,
            _ = conn.close.notified() => break,
            _ = stop.changed(), if stopped_at.is_none() => {
                stopped_at = Some(clock.now());
            }
            // After SIGTERM: a connection stuck in a partial head is closed now (a head that
            // began arriving less than a second ago gets that second to become a request);
            // an idle one once its linger is over (see the module's notes on shutdown).
            _ = tokio::time::sleep(Duration::from_millis(100)), if stopped_at.is_some() => {
                if !went_away && conn.http2.load(Ordering::Relaxed) {
                    went_away = true;
                    connection.as_mut().graceful_shutdown();
                }
                if conn.in_flight.load(Ordering::Acquire) > 0 {
                    continue;
                }
                let now = clock.now();
                let head = conn.head_started.load(Ordering::Relaxed);
                let stuck = head != 0 && now.saturating_sub(head) > SHUTDOWN_HEAD_GRACE_MS;
                let lingered = stopped_at.is_some_and(|t| now.saturating_sub(t) > linger);
                if stuck || (head == 0 && lingered) {
                    break;
                }
            }
        }
    }
}

/// Counts a request in flight from its dispatch until its response body is dropped.
struct InFlight {
    conn: Arc<Conn>,
    clock: Clock,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn
            .idle_since
            .store(self.clock.now(), Ordering::Relaxed);
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted in flight.
struct Guarded {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The error a request body gives when the client sends it too slowly.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived too slowly")]
pub struct BodyTooSlow;

/// A request body with a read deadline: a frame at least every [`BODY_IDLE_TIMEOUT`], and
/// after [`BODY_GRACE`] an average of at least [`BODY_MIN_RATE`] bytes per second. The
/// clocks only matter while the body is waited for: a handler that reads late does not make
/// a fast client fail.
pub struct DeadlineBody {
    inner: hyper::body::Incoming,
    /// Set once the body has been read to its end.
    done: Arc<AtomicBool>,
    started: Instant,
    received: u64,
    idle: Pin<Box<tokio::time::Sleep>>,
    rate: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl DeadlineBody {
    fn new(inner: hyper::body::Incoming, done: Arc<AtomicBool>) -> DeadlineBody {
        DeadlineBody {
            inner,
            done,
            started: Instant::now(),
            received: 0,
            idle: Box::pin(tokio::time::sleep(BODY_IDLE_TIMEOUT)),
            rate: None,
        }
    }

    /// When the average rate would drop below the minimum if nothing more arrived.
    fn rate_deadline(&self) -> tokio::time::Instant {
        let allowed = BODY_GRACE + Duration::from_millis(self.received * 1000 / BODY_MIN_RATE);
        tokio::time::Instant::from_std(self.started + allowed)
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                }
                this.idle
                    .as_mut()
                    .reset(tokio::time::Instant::now() + BODY_IDLE_TIMEOUT);
                this.rate = None;
                if this.inner.is_end_stream() {
                    this.done.store(true, Ordering::Release);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(axum::Error::new(e)))),
            Poll::Ready(None) => {
                this.done.store(true, Ordering::Release);
                Poll::Ready(None)
            }
            Poll::Pending => {
                if this.idle.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(axum::Error::new(BodyTooSlow))));
                }
                let deadline = this.rate_deadline();
                let rate = this
                    .rate
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if rate.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(axum::Error::new(BodyTooSlow))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket, watched: notes when a new request head starts to arrive, and replaces the
/// answers hyper writes on its own for unparsable heads with problem details.
struct WatchedIo {
    inner: TcpStream,
    conn: Arc<Conn>,
    clock: Clock,
    /// A replacement answer still being written (bytes, written so far).
    replacement: Option<(Vec<u8>, usize)>,
}

impl WatchedIo {
    /// Writes what is left of the replacement answer; ready once it is all written.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                return Poll::Ready(Ok(()));
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = ready!(Pin::new(&mut self.inner).poll_read(cx, buf));
        if result.is_ok()
            && buf.filled().len() > before
            && self.conn.in_flight.load(Ordering::Acquire) == 0
            && self.conn.head_started.load(Ordering::Relaxed) == 0
        {
            self.conn
                .head_started
                .store(self.clock.now(), Ordering::Relaxed);
            self.conn.dispatched.store(false, Ordering::Release);
        }
        Poll::Ready(result)
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.replacement.is_some() {
            // The rest of hyper's own answer is dropped; ours is written instead.
            ready!(self.poll_replacement(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        if !self.conn.dispatched.load(Ordering::Acquire)
            && let Some(answer) = problem_for_hyper_answer(buf)
        {
            self.replacement = Some((answer, 0));
            ready!(self.poll_replacement(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.replacement.is_some() || !self.conn.dispatched.load(Ordering::Acquire) {
            // Rare: the first write of a head nothing was dispatched for. Judge it as a whole.
            let total: usize = bufs.iter().map(|b| b.len()).sum();
            let joined: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            let written = ready!(self.as_mut().poll_write(cx, &joined))?;
            return Poll::Ready(Ok(written.min(total)));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The problem-details answer replacing an answer hyper wrote for an unparsable head.
fn problem_for_hyper_answer(head: &[u8]) -> Option<Vec<u8>> {
    let rest = head
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| head.strip_prefix(b"HTTP/1.0 "))?;
    let status: u16 = std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()?;
    let (title, code, detail) = match status {
        400 => (
            "Bad request",
            "bad_request",
            "the request could not be parsed as HTTP",
        ),
        414 => (
            "URI too long",
            "uri_too_long",
            "the request URI is too long",
        ),
        431 => (
            "Request header fields too large",
            "headers_too_large",
            "the request headers are too large",
        ),
        _ => return None,
    };
    let problem = crate::error::Problem {
        kind: format!("https://ipmat.dev/problems/{}", code.replace('_', "-")),
        title,
        status,
        detail: detail.to_owned(),
        code,
        errors: None,
    };
    let body = serde_json::to_vec(&problem).ok()?;
    let mut out = format!(
        "HTTP/1.1 {status} {title}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_answers_to_bad_heads_become_problem_details() {
        let out = problem_for_hyper_answer(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
            .expect("431 is replaced");
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
        assert!(text.contains("application/problem+json"));
        assert!(text.ends_with("}"), "{text}");
        assert!(text.contains("\"code\":\"headers_too_large\""));
        assert!(problem_for_hyper_answer(b"HTTP/1.1 200 OK\r\n").is_none());
        assert!(problem_for_hyper_answer(b"\0\0\x12\x04").is_none());
    }

    #[test]
    fn the_descriptor_limit_is_read() {
        if cfg!(target_os = "linux") {
            assert!(open_files_limit().is_some_and(|n| n > 0));
        }
    }
}
