//! The HTTP API of `serve`: `router(AppState)` for `/api/v1`, health and metrics, the OpenAPI
//! document generated from the handlers, and [`serve`], which runs the server and the sweep
//! scheduler in one process until SIGTERM/SIGINT.
//!
//! Handlers extract, make one store (or runner) call and map rows to the DTOs defined next to
//! them. The API never calls AWS: sweeps go through `scheduler::Runner`.

pub mod accounts;
pub mod auth;
pub mod cache;
pub mod controls;
pub mod error;
pub mod exceptions;
pub mod findings;
pub mod health;
pub mod history;
pub mod limits;
pub mod metrics;
pub mod pagination;
pub mod posture;
pub mod sweeps;

use std::sync::{Arc, OnceLock};

use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;
use tracing::info;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::catalog::Catalog;
use crate::config::{ApiSettings, TokenHash};
use crate::scheduler::{self, Runner};
use crate::store::{self, StoreError};

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: PgPool,
    /// The control catalog.
    pub catalog: Arc<Catalog>,
    /// SHA-256 hashes of the accepted bearer tokens, with their roles.
    pub tokens: Arc<[TokenHash]>,
    /// Starts sweeps (`POST /sweeps`) and owns the scrape-time counters.
    pub runner: Arc<Runner>,
    /// The Prometheus recorder's handle; `None` disables `/metrics`.
    pub metrics: Option<PrometheusHandle>,
    /// Serve `/metrics` on the API address (false when it has its own address).
    pub metrics_on_api: bool,
    /// Responses shared by every client for a short while.
    pub caches: cache::Caches,
    /// How long `serve` keeps snapshots, gaps and sweep tasks (`database.retention_days`);
    /// `None`: never prune.
    pub retention: Option<chrono::Duration>,
}

impl AppState {
    /// State over the runner's database and catalog.
    pub fn new(runner: Arc<Runner>, tokens: &[TokenHash], metrics: Option<PrometheusHandle>) -> Self {
        Self {
            pool: runner.deps().pool.clone(),
            catalog: Arc::clone(&runner.deps().catalog),
            tokens: tokens.into(),
            runner,
            metrics,
            metrics_on_api: true,
            caches: cache::Caches::default(),
            retention: None,
        }
    }
}

/// Serialises a timestamp as RFC 3339 in UTC with milliseconds, like `sweep --output json`.
pub(crate) fn rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// [`rfc3339`] for optional timestamps.
pub(crate) fn rfc3339_opt<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "bedrock-sweeper",
        description = "Posture of an AWS Organization's Amazon Bedrock controls. Every `/api/v1` route except \
                       `/api/v1/openapi.json` needs `Authorization: Bearer <token>`: the viewer role may GET, the \
                       operator role may also POST and DELETE. Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&BearerAuth),
    components(schemas(error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The token-protected routes under `/api/v1`.
fn protected() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(posture::get))
        .routes(routes!(accounts::list))
        .routes(routes!(accounts::get))
        .routes(routes!(findings::list))
        .routes(routes!(findings::get))
        .routes(routes!(controls::list))
        .routes(routes!(controls::get))
        .routes(routes!(sweeps::list, sweeps::start))
        .routes(routes!(sweeps::get))
        .routes(routes!(history::posture))
        .routes(routes!(exceptions::list, exceptions::create))
        .routes(routes!(exceptions::get, exceptions::withdraw))
}

/// The routes without a token: health, metrics and the document itself.
fn public() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics_doc))
        .routes(routes!(openapi_json))
}

/// Prometheus metrics (text format). Not under a token; may be served on its own address.
#[utoipa::path(get, operation_id = "metrics", path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
async fn metrics_doc() {}

/// This document.
#[utoipa::path(get, operation_id = "openapi", path = "/api/v1/openapi.json", tag = "health",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
async fn openapi_json() -> Json<serde_json::Value> {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    Json(DOC.get_or_init(openapi).clone())
}

/// The OpenAPI 3.1 document of every route [`router`] serves, as JSON.
///
/// What the handlers' annotations cannot say is added here: the control ids an exception
/// may name (the embedded catalog's).
pub fn openapi() -> serde_json::Value {
    let mut doc = serde_json::to_value(openapi_typed()).unwrap_or_default();
    if let Ok(catalog) = Catalog::embedded() {
        let ids: Vec<String> = catalog.controls().iter().map(|c| c.id.to_string()).collect();
        if let Some(control) = doc.pointer_mut("/components/schemas/NewExceptionBody/properties/control_id") {
            control["enum"] = serde_json::json!(ids);
        }
    }
    doc
}

fn openapi_typed() -> utoipa::openapi::OpenApi {
    let mut doc =
        OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", protected()).merge(public()).into_openapi();
    // The auth middleware answers for every protected operation; say so once, here.
    for item in doc.paths.paths.values_mut() {
        let ops = [(&mut item.get, false), (&mut item.post, true), (&mut item.delete, true)];
        for (op, writes) in ops {
            let Some(op) = op.as_mut().filter(|op| op.security.is_some()) else { continue };
            op.responses.responses.entry("401".into()).or_insert_with(|| error_response("No or unknown bearer token"));
            if writes {
                op.responses.responses.entry("403".into()).or_insert_with(|| error_response("The token is a viewer's"));
            }
        }
    }
    doc
}

fn error_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    ResponseBuilder::new().description(description).content("application/json", content).build().into()
}

/// The whole HTTP surface over `state`.
pub fn router(state: AppState) -> Router {
    let (v1, _) = protected().split_for_parts();
    let v1 = v1.layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token));
    let mut router = Router::new()
        .nest("/api/v1", v1)
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    if state.metrics_on_api {
        router = router.route("/metrics", get(metrics::render));
    }
    router.fallback(error::not_found).method_not_allowed_fallback(error::method_not_allowed).with_state(state)
}

/// Only `/metrics`, for `api.metrics_listen`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics::render)).fallback(error::not_found).with_state(state)
}

/// Why `serve` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// An address could not be bound, or the server failed.
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
    /// The database failed at start-up.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The schedule could not be started.
    #[error("scheduler: {0}")]
    Scheduler(#[from] tokio_cron_scheduler::JobSchedulerError),
}

/// Serves the API and runs the schedule until SIGTERM or SIGINT, then shuts down gracefully:
/// no new requests or sweeps, the accounts in flight finish, the sweep stays resumable.
pub async fn serve(settings: &ApiSettings, mut state: AppState) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let metrics_listener = match settings.metrics_listen {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    state.metrics_on_api = metrics_listener.is_none();
    if state.tokens.is_empty() {
        tracing::warn!("api.tokens is empty: every /api/v1 request will be refused");
    }
    let runner = Arc::clone(&state.runner);
    scheduler::resume_interrupted(&runner).await?;
    let mut schedule = scheduler::start(Arc::clone(&runner), &settings.schedule).await?;
    info!(listen = %listener.local_addr()?, schedule = %settings.schedule, "serving");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move { drop(rx.wait_for(|s| *s).await) };
    let signal_runner = Arc::clone(&runner);
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutting down: finishing the requests and accounts in flight");
        signal_runner.stop();
        stop_tx.send_replace(true);
    });
    let pruning = state.retention.map(|keep| tokio::spawn(prune_daily(state.pool.clone(), keep, stop_rx.clone())));
    let limits = limits::HttpLimits::from_settings(settings);
    let api = limits::serve_http(listener, router(state.clone()), &limits, stopped(stop_rx.clone()));
    let metrics = async {
        match metrics_listener {
            Some(l) => limits::serve_http(l, metrics_router(state), &limits, stopped(stop_rx.clone())).await,
            None => Ok(()),
        }
    };
    let served = tokio::try_join!(api, metrics);
    runner.stop();
    schedule.shutdown().await?;
    runner.wait_idle().await;
    if let Some(task) = pruning {
        task.abort();
    }
    info!("stopped");
    served.map(|_| ()).map_err(ServeError::from)
}

/// Prunes what is older than `keep` a minute after start-up and then daily (hourly after a
/// failure), until `stop`.
///
/// Each run is independent and safe beside a running sweep (see `store::retention`); a
/// failed run (the database away) is logged and retried at the next one.
async fn prune_daily(pool: PgPool, keep: chrono::Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut wait = std::time::Duration::from_secs(60);
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match store::retention::prune(&pool, keep).await {
            Ok(p) => {
                info!(
                    snapshots = p.snapshots,
                    gaps = p.gaps,
                    sweep_tasks = p.sweep_tasks,
                    evidence_detached = p.evidence_detached,
                    "retention: pruned what is older than the retention"
                );
                wait = std::time::Duration::from_secs(24 * 3600);
            }
            Err(e) => {
                tracing::warn!(error = %e, "retention: pruning failed; retried in an hour");
                wait = std::time::Duration::from_secs(3600);
            }
        }
    }
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the service");
                drop(interrupt.await);
                return;
            }
        };
        tokio::select! {
            r = interrupt => drop(r),
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    drop(interrupt.await);
}
