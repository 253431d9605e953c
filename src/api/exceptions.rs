//! `POST /exceptions`, `GET /exceptions`, `GET /exceptions/{id}`, `DELETE /exceptions/{id}`:
//! accepted risks for one control within a scope, with a required expiry and an audit trail.
//!
//! Matching findings keep their status and carry `suppressed_by` while the exception lives;
//! when it expires or is withdrawn they show as before, with no job to run. Security Hub
//! learns of a change through the runner (a delivery is requested at once, and expiries are
//! picked up by the delivery interval): the API itself never calls AWS.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::{ApiError, ErrorBody, Json, Query};
use super::pagination::{self, PageMeta};
use super::{AppState, rfc3339, rfc3339_opt};
use crate::catalog::Catalog;
use crate::domain::{AccountId, ControlId, Region};
use crate::store::exceptions::{self, AuditRow, ExceptionRow, NewException};

/// The longest an exception may last: risks are accepted for a time, then reviewed.
pub const MAX_DAYS: i64 = 400;

/// Where an exception applies: every given part must match (give at least one).
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct Scope {
    /// This account only.
    #[schema(value_type = Option<String>, pattern = "^[0-9]{12}$")]
    pub account_id: Option<AccountId>,
    /// Accounts under this OU path by name, e.g. `Root/Sandbox`.
    #[schema(pattern = "^[^/\\x00-\\x1f]+(/[^/\\x00-\\x1f]+)*$", max_length = 1024)]
    pub ou: Option<String>,
    /// This region only.
    #[schema(value_type = Option<String>, pattern = "^[a-z]{2}(-[a-z]+)+-[0-9]+$", max_length = 25)]
    pub region: Option<Region>,
    /// Resource ids matching this pattern; `*` matches any characters.
    #[schema(pattern = "^[^\\x00]*[^\\s\\x00][^\\x00]*$", max_length = 2048)]
    pub resource_pattern: Option<String>,
}

/// A new exception.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExceptionBody {
    /// The control, e.g. `BR.NET.1`.
    #[schema(value_type = String, pattern = "^BR\\.[A-Z]+\\.[0-9]+$")]
    pub control_id: ControlId,
    /// Where it applies.
    pub scope: Scope,
    /// Why the risk is accepted.
    #[schema(min_length = 1, max_length = 2000, pattern = "^[^\\x00]*[^\\s\\x00][^\\x00]*$")]
    pub reason: String,
    /// When it stops applying (RFC 3339, in the future, at most 400 days ahead).
    pub expires_at: DateTime<Utc>,
}

impl NewExceptionBody {
    pub(crate) fn validate(self, catalog: &Catalog, now: DateTime<Utc>) -> Result<NewException, ApiError> {
        if catalog.control(&self.control_id).is_none() {
            return Err(ApiError::bad("control_id", format!("no control {} in the catalog", self.control_id)));
        }
        let s = self.scope;
        if s.account_id.is_none() && s.ou.is_none() && s.region.is_none() && s.resource_pattern.is_none() {
            return Err(ApiError::bad("scope", "give at least one of account_id, ou, region, resource_pattern"));
        }
        let bad_text = |t: &str, max: usize| t.trim().is_empty() || t.len() > max || t.contains('\0');
        if s.resource_pattern.as_deref().is_some_and(|p| bad_text(p, 2048)) {
            return Err(ApiError::bad("scope.resource_pattern", "must be 1 to 2048 characters, without NUL"));
        }
        // As sent, like the schema's maxLength (in characters); stored trimmed.
        let reason = self.reason.trim().to_owned();
        if bad_text(&reason, 2000) || self.reason.chars().count() > 2000 {
            return Err(ApiError::bad("reason", "must be 1 to 2000 characters, without NUL"));
        }
        if self.expires_at <= now || self.expires_at > now + Duration::days(MAX_DAYS) {
            return Err(ApiError::bad("expires_at", format!("must be in the future and within {MAX_DAYS} days")));
        }
        Ok(NewException {
            control_id: self.control_id,
            account_id: s.account_id,
            ou_path: super::ou_filter(s.ou).map_err(|_| ApiError::bad("scope.ou", "not an OU path"))?.map(String::from),
            region: s.region,
            resource_pattern: s.resource_pattern,
            reason,
            expires_at: self.expires_at,
        })
    }
}

/// An exception.
#[derive(Debug, Serialize, ToSchema)]
pub struct Exception {
    /// Its id.
    pub id: uuid::Uuid,
    /// The control.
    pub control_id: String,
    /// Where it applies.
    pub scope: Scope,
    /// Why.
    pub reason: String,
    /// `active`, `expired` or `withdrawn`.
    pub state: String,
    /// When it stops applying.
    #[serde(serialize_with = "rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// When it was created.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Who created it (role and token fingerprint).
    pub created_by: String,
    /// When it was withdrawn.
    #[serde(serialize_with = "rfc3339_opt")]
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Who withdrew it.
    pub withdrawn_by: Option<String>,
}

impl From<ExceptionRow> for Exception {
    fn from(r: ExceptionRow) -> Self {
        let state = match (r.deleted_at, r.expires_at <= Utc::now()) {
            (Some(_), _) => "withdrawn",
            (None, true) => "expired",
            (None, false) => "active",
        };
        Self {
            id: r.id,
            control_id: r.control_id,
            scope: Scope {
                account_id: r.account_id.and_then(|a| AccountId::parse(&a).ok()),
                ou: r.ou_path,
                region: r.region.and_then(|a| Region::parse(&a).ok()),
                resource_pattern: r.resource_pattern,
            },
            reason: r.reason,
            state: state.to_owned(),
            expires_at: r.expires_at,
            created_at: r.created_at,
            created_by: r.created_by,
            withdrawn_at: r.deleted_at,
            withdrawn_by: r.deleted_by,
        }
    }
}

/// Creates an exception (operator role).
#[utoipa::path(post, operation_id = "createException", path = "/exceptions", tag = "exceptions", request_body = NewExceptionBody,
    responses(
        (status = 201, description = "Created", body = Exception, links(
            ("GetException" = (operation_id = "getException", parameters(("id" = "$response.body#/id")))),
            ("WithdrawException" = (operation_id = "withdrawException", parameters(("id" = "$response.body#/id"))))
        )),
        (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody), (status = 403, description = "Forbidden: the token's role may not do this (operators may; viewers read)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(body): Json<NewExceptionBody>,
) -> Result<(StatusCode, axum::Json<Exception>), ApiError> {
    let new = body.validate(&state.catalog, Utc::now())?;
    let row = exceptions::create(&state.pool, &new, &caller.actor()).await?;
    state.caches.invalidate();
    state.sweeps.request_security_hub_sync();
    Ok((StatusCode::CREATED, axum::Json(row.into())))
}

/// Parameters of `GET /exceptions`. Unknown parameters are rejected.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExceptionQuery {
    /// Include withdrawn exceptions (default false). Expired ones are always listed.
    pub include_withdrawn: Option<bool>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// A page of exceptions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionPage {
    /// The exceptions, by id.
    pub exceptions: Vec<Exception>,
    /// Paging.
    pub meta: PageMeta,
}

/// Lists exceptions.
#[utoipa::path(get, operation_id = "listExceptions", path = "/exceptions", tag = "exceptions", params(ExceptionQuery),
    responses((status = 200, description = "A page of exceptions, with the cursor of the next page", body = ExceptionPage), (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ExceptionQuery>,
) -> Result<axum::Json<ExceptionPage>, ApiError> {
    let limit = pagination::limit(q.limit)?;
    let after = pagination::decode(q.cursor.as_deref(), |k| k.parse::<uuid::Uuid>().ok())?;
    let rows = exceptions::page(&state.pool, q.include_withdrawn.unwrap_or(false), after, limit + 1).await?;
    let (rows, meta) = pagination::finish(rows, limit, |e| e.id.to_string());
    Ok(axum::Json(ExceptionPage { exceptions: rows.into_iter().map(Exception::from).collect(), meta }))
}

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    /// `created` or `deleted`.
    pub action: String,
    /// Who (role and token fingerprint).
    pub actor: String,
    /// When.
    #[serde(serialize_with = "rfc3339")]
    pub at: DateTime<Utc>,
}

impl From<AuditRow> for AuditEntry {
    fn from(a: AuditRow) -> Self {
        Self { action: a.action, actor: a.actor, at: a.at }
    }
}

/// An exception with its audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionDetail {
    /// The exception.
    #[serde(flatten)]
    pub exception: Exception,
    /// Every change, oldest first.
    pub audit: Vec<AuditEntry>,
}

fn parse_id(id: &str) -> Result<uuid::Uuid, ApiError> {
    id.parse().map_err(|_| ApiError::bad("exception id", format!("`{id}` is not a UUID")))
}

/// One exception, with its audit trail.
#[utoipa::path(get, operation_id = "getException", path = "/exceptions/{id}", tag = "exceptions",
    params(("id" = String, Path, description = "Exception id (UUID)", format = Uuid)),
    responses((status = 200, description = "The exception, with its detail", body = ExceptionDetail), (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<ExceptionDetail>, ApiError> {
    let id = parse_id(&id)?;
    let (row, audit) =
        exceptions::get(&state.pool, id).await?.ok_or_else(|| ApiError::NotFound(format!("no exception {id}")))?;
    Ok(axum::Json(ExceptionDetail { exception: row.into(), audit: audit.into_iter().map(AuditEntry::from).collect() }))
}

/// Withdraws an exception (operator role); matching findings show unsuppressed at once.
#[utoipa::path(delete, operation_id = "withdrawException", path = "/exceptions/{id}", tag = "exceptions",
    params(("id" = String, Path, description = "Exception id (UUID)", format = Uuid)),
    responses((status = 200, description = "The exception", body = Exception), (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody), (status = 403, description = "Forbidden: the token's role may not do this (operators may; viewers read)", body = ErrorBody),
        (status = 404, description = "No such exception, or already withdrawn", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn withdraw(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<Exception>, ApiError> {
    let id = parse_id(&id)?;
    let row = exceptions::withdraw(&state.pool, id, &caller.actor())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no live exception {id}")))?;
    state.caches.invalidate();
    state.sweeps.request_security_hub_sync();
    Ok(axum::Json(row.into()))
}
