//! The HTTP server `serve` runs, with the limits that keep it answering under abuse or load:
//! a header-read timeout (slow-header clients), a request timeout, a cap on requests in
//! flight (load shedding: 503 at once rather than a queue) and a cap on open connections.
//!
//! `axum::serve` exposes none of these (hyper needs a timer for its header timeout), so the
//! accept loop is ours, over hyper-util's connection builder.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::Layer;
use tracing::{debug, warn};

use super::error::{ApiError, overloaded_connection_response};
use crate::config::ApiSettings;

/// The limits `serve` applies to clients (the `[api]` keys of the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// A request head must arrive within this (and the next one on a kept-alive connection).
    pub header_read_timeout: Duration,
    /// A request is answered 503 (`timeout`) when its handler takes longer.
    pub request_timeout: Duration,
    /// Requests in flight at most; more are answered 503 (`overloaded`) at once.
    pub max_concurrent_requests: usize,
    /// Open connections at most; one more is answered 503 (`overloaded`) and closed.
    pub max_connections: usize,
}

impl HttpLimits {
    /// The limits configured in `[api]`.
    pub fn from_settings(settings: &ApiSettings) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(settings.header_read_timeout_seconds),
            request_timeout: Duration::from_secs(settings.request_timeout_seconds),
            max_concurrent_requests: settings.max_concurrent_requests,
            max_connections: settings.max_connections,
        }
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self::from_settings(&ApiSettings::default())
    }
}

struct RequestLimit {
    in_flight: Arc<Semaphore>,
    timeout: Duration,
}

/// `router` with the request timeout and the cap on requests in flight.
///
/// `/healthz` is neither counted nor timed: it does no work, and a liveness probe that failed
/// under load would get a busy (but healthy) process restarted.
pub fn limited(router: Router, limits: &HttpLimits) -> Router {
    let limit = Arc::new(RequestLimit {
        in_flight: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
        timeout: limits.request_timeout,
    });
    // The security headers go on the refusals made here too (503 when overloaded or slow).
    router
        .layer(axum::middleware::from_fn_with_state(limit, limit_request))
        .layer(axum::middleware::map_response(crate::web::security_headers))
}

async fn limit_request(State(limit): State<Arc<RequestLimit>>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let Ok(_slot) = Arc::clone(&limit.in_flight).try_acquire_owned() else {
        metrics::counter!("sweeper_http_refused_total", "reason" => "requests").increment(1);
        return ApiError::Overloaded("concurrent requests").into_response();
    };
    match tokio::time::timeout(limit.timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("sweeper_http_refused_total", "reason" => "timeout").increment(1);
            warn!(timeout_seconds = limit.timeout.as_secs(), "request timed out");
            ApiError::Timeout(limit.timeout.as_secs()).into_response()
        }
    }
}

/// Serves `router` (with [`limited`] applied) on `listener` until `shutdown` completes, then
/// stops accepting and waits for the requests in flight.
pub async fn serve_http(
    listener: TcpListener,
    router: Router,
    limits: &HttpLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let app = limited(router, limits);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(u32::try_from(limits.max_concurrent_requests).ok());
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    // Refusals are cheap but not free: past this many at once, excess connections are just closed.
    let refusals = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning on it.
                    warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = Arc::clone(&connections).try_acquire_owned() else {
            metrics::counter!("sweeper_http_refused_total", "reason" => "connections").increment(1);
            if let Ok(refusal) = Arc::clone(&refusals).try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream).await;
                    drop(refusal);
                });
            }
            continue;
        };
        stream.set_nodelay(true).ok();
        // The peer's address, as `ConnectInfo` (the auth middleware counts 401s per address).
        let service = TowerToHyperService::new(axum::Extension(ConnectInfo(peer)).layer(app.clone()));
        let (builder, watcher, header_read_timeout) = (builder.clone(), graceful.watcher(), limits.header_read_timeout);
        tokio::spawn(async move {
            // Telling HTTP/1 from HTTP/2 waits for the first bytes, and hyper's header timeout
            // only starts after that: a client that connects and sends nothing is timed here.
            // (`peek`, not `readable`, which may report readiness before any byte arrived.)
            let mut first = [0u8; 1];
            match tokio::time::timeout(header_read_timeout, stream.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                Ok(_) => return,
                Err(_) => {
                    debug!("connection closed: nothing received within the header read timeout");
                    return;
                }
            }
            let connection = watcher.watch(builder.serve_connection(TokioIo::new(stream), service).into_owned());
            if let Err(e) = connection.await {
                // Clients that hang up, or are dropped by the header timeout.
                debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Answers a connection over the cap with 503 in the error shape and closes it.
async fn refuse(mut stream: TcpStream) {
    // Read what the client sent first (briefly): closing a socket with unread data resets
    // it, and the client might then never see the answer.
    let mut discard = [0u8; 4096];
    tokio::time::timeout(Duration::from_millis(100), stream.read(&mut discard)).await.ok();
    let answer = overloaded_connection_response();
    tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(&answer).await.ok();
        stream.shutdown().await.ok();
    })
    .await
    .ok();
}
