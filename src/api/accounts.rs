//! `GET /accounts` and `GET /accounts/{id}`: accounts as last swept, with their OU path,
//! when they were last assessed, and their findings.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::cache::shared_json;
use super::error::{ApiError, ErrorBody, Query};
use super::findings::Finding;
use super::pagination::{self, PageMeta};
use super::{AppState, rfc3339_opt};
use crate::domain::AccountId;
use crate::store::accounts::{self, AccountFilter, AccountRow};
use crate::store::findings;

/// An account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Account {
    /// 12-digit id.
    pub id: String,
    /// Name in AWS Organizations.
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, ...
    pub status: String,
    /// The OU or root directly above it.
    pub parent_id: String,
    /// OU path by name, e.g. `Root/Workloads/Prod`.
    pub ou_path: String,
    /// Whether the last sweep could assume its role and assess it.
    pub assessed: Option<bool>,
    /// The last time it was assessed.
    #[serde(serialize_with = "rfc3339_opt")]
    pub last_assessed_at: Option<DateTime<Utc>>,
    /// The last sweep that recorded it.
    pub last_sweep_id: Option<uuid::Uuid>,
    /// Active failing findings.
    pub failing: i64,
    /// Active findings that could not be evaluated.
    pub errors: i64,
}

impl From<AccountRow> for Account {
    fn from(a: AccountRow) -> Self {
        Self {
            id: a.id.to_string(),
            name: a.name,
            status: a.status,
            parent_id: a.parent_id,
            ou_path: a.ou_path,
            assessed: a.assessed,
            last_assessed_at: a.last_assessed_at,
            last_sweep_id: a.last_sweep_id.map(|s| s.0),
            failing: a.failing,
            errors: a.errors,
        }
    }
}

/// Filters of `GET /accounts`. Unknown parameters are rejected.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    /// OU path prefix by name, e.g. `Root/Workloads` (matches `Root/Workloads/Prod`).
    #[param(pattern = "^[^/\\x00-\\x1f]+(/[^/\\x00-\\x1f]+)*$", max_length = 1024)]
    pub ou: Option<String>,
    /// `true`: only accounts with failing findings; `false`: only accounts without.
    pub failing: Option<bool>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// A page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountPage {
    /// The accounts, by id.
    pub accounts: Vec<Account>,
    /// Paging.
    pub meta: PageMeta,
}

/// Lists accounts.
#[utoipa::path(get, operation_id = "listAccounts", path = "/accounts", tag = "accounts", params(AccountQuery),
    responses((status = 200, description = "A page of accounts, with the cursor of the next page", body = AccountPage), (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    uri: Uri,
    Query(q): Query<AccountQuery>,
) -> Result<Response, ApiError> {
    let limit = pagination::limit(q.limit)?;
    let after = pagination::decode(q.cursor.as_deref(), |k| AccountId::parse(k).ok())?;
    let filter = AccountFilter { ou: super::ou_filter(q.ou)?, failing: q.failing };
    let pool = state.pool.clone();
    shared_json(&state.caches.listings, &format!("accounts?{}", uri.query().unwrap_or("")), move || async move {
        let rows = accounts::page(&pool, &filter, after.as_ref(), limit + 1).await?;
        let (rows, meta) = pagination::finish(rows, limit, |a| a.id.to_string());
        Ok(AccountPage { accounts: rows.into_iter().map(Account::from).collect(), meta })
    })
    .await
}

/// An account with its active findings.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDetail {
    /// The account.
    #[serde(flatten)]
    pub account: Account,
    /// Its active findings.
    pub findings: Vec<Finding>,
}

/// One account.
#[utoipa::path(get, operation_id = "getAccount", path = "/accounts/{id}", tag = "accounts",
    params(("id" = String, Path, description = "12-digit account id", pattern = "^[0-9]{12}$")),
    responses((status = 200, description = "The account, with its detail", body = AccountDetail), (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<AccountDetail>, ApiError> {
    let id = AccountId::parse(&id).map_err(|e| ApiError::bad("account id", e))?;
    let account =
        accounts::get(&state.pool, &id).await?.ok_or_else(|| ApiError::NotFound(format!("no account {id}")))?;
    let findings = findings::of_account(&state.pool, &id).await?;
    Ok(Json(AccountDetail { account: account.into(), findings: findings.into_iter().map(Finding::from).collect() }))
}
