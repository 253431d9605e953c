//! The API's one error type and the extractors that turn bad input into it.
//!
//! `ApiError` owns the mapping to HTTP statuses and to the one error body,
//! `{"error": {"code", "message"}}`. Client mistakes name the problem; internal failures are
//! logged here, once, and the client gets a generic message (no SQL, no AWS detail).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::domain::SweepId;
use crate::scheduler::TriggerError;
use crate::store::StoreError;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// No token, or a token that is not configured.
    #[error("a valid bearer token is required (Authorization: Bearer <token>)")]
    Unauthenticated,
    /// Too many 401s from this address: locked out for a while.
    #[error("too many failed authentications from this address; retry in {retry_after_seconds} s")]
    TooManyAuthFailures {
        /// When the lockout ends (also sent as `Retry-After`).
        retry_after_seconds: u64,
    },
    /// The token's role may not do this.
    #[error("this token's role ({0}) may only read; this request needs the operator role")]
    Forbidden(&'static str),
    /// Nothing at this path, or no such resource.
    #[error("{0}")]
    NotFound(String),
    /// The path exists but not with this method.
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// A sweep is running already.
    #[error("sweep {0} is already running")]
    SweepRunning(SweepId),
    /// The service cannot do it now (shutting down, sweep failed to start).
    #[error("{0}")]
    Unavailable(String),
    /// Too many requests or connections at once (`api.max_concurrent_requests`,
    /// `api.max_connections`): refused at once rather than queued.
    #[error("the service is at its limit of {0}; retry shortly")]
    Overloaded(&'static str),
    /// The request was not answered within `api.request_timeout_seconds`.
    #[error("the request was not answered within {0} s; retry later")]
    Timeout(u64),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::TooManyAuthFailures { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::SweepRunning(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) | ApiError::Overloaded(_) | ApiError::Timeout(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Store(e) if database_away(e) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthenticated => "unauthorized",
            ApiError::TooManyAuthFailures { .. } => "too_many_auth_failures",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::SweepRunning(_) => "sweep_running",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Overloaded(_) => "overloaded",
            ApiError::Timeout(_) => "timeout",
            ApiError::Store(e) if database_away(e) => "unavailable",
            ApiError::Store(_) => "internal",
        }
    }

    /// A 400 for a malformed value of `what`.
    pub fn bad(what: &str, problem: impl std::fmt::Display) -> Self {
        ApiError::BadRequest(format!("{what}: {problem}"))
    }
}

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `bad_request`, `unauthorized`, `too_many_auth_failures` (429),
    /// `forbidden`, `not_found`, `method_not_allowed`, `sweep_running`, `unavailable` (503:
    /// shutting down, or the database is away), `overloaded` (503: too many requests or
    /// connections at once), `timeout` (503: not answered in time), `internal`.
    pub code: String,
    /// For people.
    pub message: String,
    /// With `sweep_running`: the running sweep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep_id: Option<uuid::Uuid>,
}

impl ApiError {
    /// What the client is told: the error itself for client mistakes; for database failures
    /// a generic sentence (the failure is logged here, with its detail, once).
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Store(e) if database_away(e) => {
                tracing::warn!(error = %e, "request refused: the database is unreachable");
                "the database is unreachable; retry shortly".to_owned()
            }
            ApiError::Store(e) => {
                tracing::error!(error = %e, "request failed on the database");
                "internal error; the service log has the details".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.public_message();
        let sweep_id = match &self {
            ApiError::SweepRunning(id) => Some(id.0),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code: self.code().to_owned(), message, sweep_id } };
        let mut response = (self.status_code(), axum::Json(body)).into_response();
        if matches!(self, ApiError::Unauthenticated) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        if let ApiError::TooManyAuthFailures { retry_after_seconds } = self {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after_seconds));
        } else if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    }
}

/// True when the database could not be reached or went away mid-request (restart,
/// failover, network), as opposed to a query that failed: the client may retry, so it
/// gets 503 rather than 500.
fn database_away(e: &StoreError) -> bool {
    match e {
        StoreError::Connect { .. } => true,
        StoreError::Query(e) => match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
            // Class 08: connection exception; 57P01–57P03: the server is shutting down,
            // crashed or is starting up.
            sqlx::Error::Database(d) => {
                d.code().is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03"))
            }
            _ => false,
        },
        _ => false,
    }
}

/// The whole 503 answer for a connection over `api.max_connections`, written straight to the
/// socket (the request, if any, is not parsed).
pub(crate) fn overloaded_connection_response() -> Vec<u8> {
    let body = ErrorBody {
        error: ErrorDetail {
            code: ApiError::Overloaded("").code().to_owned(),
            message: ApiError::Overloaded("open connections").to_string(),
            sweep_id: None,
        },
    };
    let body = serde_json::to_string(&body).unwrap_or_default();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl From<TriggerError> for ApiError {
    fn from(e: TriggerError) -> Self {
        match e {
            TriggerError::AlreadyRunning(id) => ApiError::SweepRunning(id),
            TriggerError::ShuttingDown | TriggerError::NotRunHere => ApiError::Unavailable(e.to_string()),
            TriggerError::Failed(reason) => {
                tracing::error!(error = %reason, "a sweep requested through the API did not start");
                ApiError::Unavailable("the sweep could not start; the service log has the details".into())
            }
            TriggerError::Store(e) => ApiError::Store(e),
        }
    }
}

/// `Query<T>` whose rejection is an [`ApiError`] naming the bad parameter.
///
/// Query structs use `#[serde(deny_unknown_fields)]`, so a misspelt filter is a 400, not ignored.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::try_from_uri(&parts.uri) {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                // axum's text is "Failed to deserialize query string: <path>: <problem>".
                let text = e.body_text();
                let problem = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
                Err(ApiError::BadRequest(format!("invalid query parameter: {problem}")))
            }
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// `Json<T>` whose rejection is an [`ApiError`]: a 400 naming the bad field.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::BadRequest("expected a JSON body (Content-Type: application/json)".into()))
            }
            Err(e) => Err(ApiError::BadRequest(format!("invalid JSON body: {}", e.body_text()))),
        }
    }
}

/// Not found: the API's fallback for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such path; see /api/v1/openapi.json".into())
}

/// Method not allowed, in the API's error shape.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
