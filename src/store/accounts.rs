//! The `accounts` table: the account row an account's record writes ([`upsert`], called by
//! `findings::record_account`; the failing and error counts are set by `totals::apply` in
//! the same transaction), and the API's reads with their failing counts.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::StoreError;
use crate::domain::{AccountId, OuPath, SweepId};
use crate::snapshot::OrgAccount;

/// Writes the account as `sweep` saw it; `assessed` when its role could be assumed (the time
/// it was last assessed is kept otherwise).
pub async fn upsert(
    conn: &mut PgConnection,
    account: &OrgAccount,
    ou_path: &str,
    sweep: SweepId,
    assessed: bool,
) -> Result<(), StoreError> {
    sqlx::query!(
        "insert into accounts (id, name, email, status, parent_id, ou_path, last_sweep_id, last_assessed_at, assessed, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, case when $8 then now() end, $8, now())
         on conflict (id) do update set name = excluded.name, email = excluded.email, status = excluded.status,
           parent_id = excluded.parent_id, ou_path = excluded.ou_path, last_sweep_id = excluded.last_sweep_id,
           last_assessed_at = coalesce(excluded.last_assessed_at, accounts.last_assessed_at),
           assessed = excluded.assessed, updated_at = now()",
        account.id.as_str(),
        &account.name,
        &account.email,
        &account.status,
        &account.parent_id,
        ou_path,
        sweep.0,
        assessed,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An account as last swept, with counts of its active findings.
#[derive(Debug, Clone)]
pub struct AccountRow {
    /// The account.
    pub id: AccountId,
    /// Its name in AWS Organizations.
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, ...
    pub status: String,
    /// The OU or root it sits in.
    pub parent_id: String,
    /// Its OU path by name, e.g. `Root/Workloads/Prod`.
    pub ou_path: String,
    /// The last sweep that recorded it.
    pub last_sweep_id: Option<SweepId>,
    /// The last time its role could be assumed and it was assessed.
    pub last_assessed_at: Option<DateTime<Utc>>,
    /// Whether the last sweep could assess it.
    pub assessed: Option<bool>,
    /// Active failing findings.
    pub failing: i64,
    /// Active findings that could not be evaluated.
    pub errors: i64,
}

/// Which accounts to list; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    /// OU path prefix by name, matched on `/` boundaries (`Root/Workloads` matches `Root/Workloads/Prod`).
    pub ou: Option<OuPath>,
    /// Only accounts with (true) or without (false) failing findings.
    pub failing: Option<bool>,
}

/// `$sql!(head... <the select of an [`AccountRow`]> tail...)`, for [`page`] and [`get`] (a
/// shared piece of SQL: see the store's module documentation).
macro_rules! select_account_rows {
    ($($sql:ident)::+!($($head:tt)*) ($($tail:tt)*)) => {
        $($sql)::+!($($head)*
            r#"select a.id as "id: AccountId", a.name, a.status, a.parent_id, a.ou_path,
                      a.last_sweep_id as "last_sweep_id: SweepId", a.last_assessed_at, a.assessed,
                      a.failing_count::bigint as "failing!", a.error_count::bigint as "errors!"
               from accounts a"#
            $($tail)*)
    };
}

/// Up to `limit` accounts after `after` (by id), filtered.
pub async fn page(
    pool: &PgPool,
    filter: &AccountFilter,
    after: Option<&AccountId>,
    limit: i64,
) -> Result<Vec<AccountRow>, StoreError> {
    Ok(select_account_rows!(sqlx::query_as!(AccountRow,)(+ r#"
           where ($1::text is null or a.ou_path = $1 or a.ou_path like $2 escape '\')
             and ($3::boolean is null or (a.failing_count > 0) = $3)
             and ($4::text is null or a.id > $4)
           order by a.id
           limit $5"#,
        filter.ou.as_ref().map(OuPath::as_str),
        filter.ou.as_ref().map(OuPath::like_pattern),
        filter.failing,
        after.map(AccountId::as_str),
        limit,
    ))
    .fetch_all(pool)
    .await?)
}

/// One account, or `None` when it was never swept.
pub async fn get(pool: &PgPool, id: &AccountId) -> Result<Option<AccountRow>, StoreError> {
    Ok(select_account_rows!(sqlx::query_as!(AccountRow,)(+ " where a.id = $1", id.as_str()))
        .fetch_optional(pool)
        .await?)
}

/// What the dashboard's account list shows: a subtree, failing or not-assessed accounts only,
/// most failing first.
#[derive(Debug, Clone, Default)]
pub struct AccountListing {
    /// OU path prefix by name, as in [`AccountFilter`].
    pub ou: Option<OuPath>,
    /// Only accounts with failing findings.
    pub failing_only: bool,
    /// Only accounts the last sweep could not assess (or none has).
    pub not_assessed_only: bool,
    /// Most failing findings first (then by id); by id otherwise.
    pub by_failing: bool,
}

/// Up to `limit` accounts of `listing`, skipping the first `offset`.
pub async fn listing(
    pool: &PgPool,
    listing: &AccountListing,
    offset: i64,
    limit: i64,
) -> Result<Vec<AccountRow>, StoreError> {
    Ok(select_account_rows!(sqlx::query_as!(AccountRow,)(+ r#"
           where ($1::text is null or a.ou_path = $1 or a.ou_path like $2 escape '\')
             and (not $3 or a.failing_count > 0)
             and (not $4 or a.assessed is not true)
           order by case when $5 then a.failing_count end desc nulls last, a.id
           offset $6 limit $7"#,
        listing.ou.as_ref().map(OuPath::as_str),
        listing.ou.as_ref().map(OuPath::like_pattern),
        listing.failing_only,
        listing.not_assessed_only,
        listing.by_failing,
        offset,
        limit,
    ))
    .fetch_all(pool)
    .await?)
}
