//! Read side of the `accounts` table for the API: accounts with their failing counts.
//!
//! The table is written only by `findings::record_account` (the failing and error counts by
//! `totals::apply` in the same transaction); nothing here writes.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::StoreError;
use super::findings::FindingListRow;
use crate::domain::{AccountId, SweepId};

/// An account as last swept, with counts of its active findings.
#[derive(Debug, Clone, sqlx::FromRow)]
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
    pub ou: Option<String>,
    /// Only accounts with (true) or without (false) failing findings.
    pub failing: Option<bool>,
}

/// `ou = $n or ou like $n || '/%'`: the LIKE pattern of everything under an OU path.
pub(crate) fn under_ou_pattern(ou: &str) -> String {
    let escaped: String = ou
        .chars()
        .flat_map(|c| match c {
            '\\' | '%' | '_' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("{escaped}/%")
}

const SELECT: &str =
    "select a.id, a.name, a.status, a.parent_id, a.ou_path, a.last_sweep_id, a.last_assessed_at, a.assessed,
            a.failing_count::bigint as failing, a.error_count::bigint as errors
     from accounts a";

/// Up to `limit` accounts after `after` (by id), filtered.
pub async fn page(
    pool: &PgPool,
    filter: &AccountFilter,
    after: Option<&AccountId>,
    limit: i64,
) -> Result<Vec<AccountRow>, StoreError> {
    let sql = format!(
        "{SELECT}
         where ($1::text is null or a.ou_path = $1 or a.ou_path like $2 escape '\\')
           and ($3::boolean is null or (a.failing_count > 0) = $3)
           and ($4::text is null or a.id > $4)
         order by a.id
         limit $5"
    );
    Ok(sqlx::query_as::<_, AccountRow>(sqlx::AssertSqlSafe(sql))
        .bind(filter.ou.as_deref())
        .bind(filter.ou.as_deref().map(under_ou_pattern))
        .bind(filter.failing)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// One account and its active findings, or `None` when it was never swept.
pub async fn get(pool: &PgPool, id: &AccountId) -> Result<Option<(AccountRow, Vec<FindingListRow>)>, StoreError> {
    let Some(account) = sqlx::query_as::<_, AccountRow>(sqlx::AssertSqlSafe(format!("{SELECT} where a.id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let findings = sqlx::query_as::<_, FindingListRow>(sqlx::AssertSqlSafe(format!(
        "select f.id, f.control_id, f.account_id, f.region, f.resource_id, f.status, f.severity, f.title, f.detail,
                f.first_seen_at, f.last_seen_at, {} as suppressed_by
         from findings f where f.account_id = $1 and f.active
         order by f.control_id, f.region nulls first, f.resource_id",
        super::exceptions::SUPPRESSED_BY.as_str()
    )))
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(Some((account, findings)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ou_patterns_escape_like_wildcards() {
        assert_eq!(under_ou_pattern("Root/Work_loads"), "Root/Work\\_loads/%");
        assert_eq!(under_ou_pattern("100%"), "100\\%/%");
    }
}
