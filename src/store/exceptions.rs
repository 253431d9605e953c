//! Exceptions (accepted risks) and their audit trail.
//!
//! Creating and withdrawing an exception each write the change and its audit row in one
//! transaction. Nothing is ever deleted: withdrawal sets `deleted_at`. Which findings an
//! exception suppresses is decided at read time (`SUPPRESSED_BY`), so expiry needs no job.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::StoreError;
use crate::domain::{AccountId, ControlId, Region};

/// SQL predicate: the live exception aliased `x` covers the finding aliased `f`, whose
/// account's OU path is the SQL expression `ou`. The one definition of what an exception
/// covers: the per-finding lookup and the count below are both made from it.
pub(crate) fn covers(ou: &str) -> String {
    format!(
        "x.control_id = f.control_id and x.deleted_at is null and x.expires_at > now()
         and (x.account_id is null or x.account_id = f.account_id)
         and (x.region is null or x.region = f.region)
         and (x.resource_like is null or f.resource_id like x.resource_like escape '\\')
         and (x.ou_path is null or {ou} = x.ou_path or left({ou}, length(x.ou_path) + 1) = x.ou_path || '/')"
    )
}

/// SQL expression: the id of the oldest live exception covering the finding aliased `f`, or null.
pub(crate) static SUPPRESSED_BY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "(select x.id from exceptions x where {} order by x.created_at, x.id limit 1)",
        covers("(select xa.ou_path from accounts xa where xa.id = f.account_id)")
    )
});

/// SQL query: how many active failing findings a live exception covers. A semi-join, so
/// the exceptions are matched against each finding once, not looked up per finding.
pub(crate) static FAILING_SUPPRESSED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "select count(*) from findings f left join accounts a on a.id = f.account_id
         where f.active and f.status = 'fail'
           and f.control_id in (select control_id from exceptions where deleted_at is null and expires_at > now())
           and exists (select 1 from exceptions x where {})",
        covers("a.ou_path")
    )
});

/// An exception as stored.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ExceptionRow {
    /// Its id.
    pub id: uuid::Uuid,
    /// The control it excepts.
    pub control_id: String,
    /// Scope: this account only.
    pub account_id: Option<String>,
    /// Scope: accounts under this OU path (by name).
    pub ou_path: Option<String>,
    /// Scope: this region only.
    pub region: Option<String>,
    /// Scope: resource ids matching this pattern (`*` = any characters).
    pub resource_pattern: Option<String>,
    /// Why the risk is accepted.
    pub reason: String,
    /// When it stops applying.
    pub expires_at: DateTime<Utc>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// When it was withdrawn.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Who withdrew it.
    pub deleted_by: Option<String>,
}

/// What a new exception says; validated by the caller.
#[derive(Debug, Clone)]
pub struct NewException {
    /// The control.
    pub control_id: ControlId,
    /// Scope: account.
    pub account_id: Option<AccountId>,
    /// Scope: OU path by name.
    pub ou_path: Option<String>,
    /// Scope: region.
    pub region: Option<Region>,
    /// Scope: resource id pattern with `*`.
    pub resource_pattern: Option<String>,
    /// Why.
    pub reason: String,
    /// Until when.
    pub expires_at: DateTime<Utc>,
}

/// `*` → `%`, with LIKE's own wildcards escaped.
fn like_of(pattern: &str) -> String {
    pattern
        .chars()
        .flat_map(|c| match c {
            '\\' | '%' | '_' => vec!['\\', c],
            '*' => vec!['%'],
            c => vec![c],
        })
        .collect()
}

const COLUMNS: &str = "id, control_id, account_id, ou_path, region, resource_pattern, reason, expires_at, created_at,
                       created_by, deleted_at, deleted_by";

async fn audit(conn: &mut sqlx::PgConnection, row: &ExceptionRow, action: &str, actor: &str) -> Result<(), StoreError> {
    sqlx::query("insert into exception_audit (exception_id, action, actor, snapshot) values ($1, $2, $3, $4)")
        .bind(row.id)
        .bind(action)
        .bind(actor)
        .bind(serde_json::to_value(row)?)
        .execute(conn)
        .await?;
    Ok(())
}

/// Creates an exception and its audit row.
pub async fn create(pool: &PgPool, new: &NewException, actor: &str) -> Result<ExceptionRow, StoreError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query_as::<_, ExceptionRow>(sqlx::AssertSqlSafe(format!(
        "insert into exceptions (id, control_id, account_id, ou_path, region, resource_pattern, resource_like, reason,
                                 expires_at, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         returning {COLUMNS}"
    )))
    .bind(uuid::Uuid::new_v4())
    .bind(new.control_id.as_str())
    .bind(new.account_id.as_ref().map(AccountId::as_str))
    .bind(new.ou_path.as_deref())
    .bind(new.region.as_ref().map(Region::as_str))
    .bind(new.resource_pattern.as_deref())
    .bind(new.resource_pattern.as_deref().map(like_of))
    .bind(&new.reason)
    .bind(new.expires_at)
    .bind(actor)
    .fetch_one(&mut *tx)
    .await?;
    audit(&mut tx, &row, "created", actor).await?;
    tx.commit().await?;
    Ok(row)
}

/// Withdraws a live exception. `None` when there is no such exception or it was already withdrawn.
pub async fn withdraw(pool: &PgPool, id: uuid::Uuid, actor: &str) -> Result<Option<ExceptionRow>, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(row) = sqlx::query_as::<_, ExceptionRow>(sqlx::AssertSqlSafe(format!(
        "update exceptions set deleted_at = now(), deleted_by = $2 where id = $1 and deleted_at is null
         returning {COLUMNS}"
    )))
    .bind(id)
    .bind(actor)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    audit(&mut tx, &row, "deleted", actor).await?;
    tx.commit().await?;
    Ok(Some(row))
}

/// Up to `limit` exceptions after id `after`, by id; withdrawn ones only when asked.
pub async fn page(
    pool: &PgPool,
    include_withdrawn: bool,
    after: Option<uuid::Uuid>,
    limit: i64,
) -> Result<Vec<ExceptionRow>, StoreError> {
    Ok(sqlx::query_as::<_, ExceptionRow>(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from exceptions
         where ($1 or deleted_at is null) and ($2::uuid is null or id > $2)
         order by id limit $3"
    )))
    .bind(include_withdrawn)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// One audit entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    /// `created` or `deleted`.
    pub action: String,
    /// Who (role and token fingerprint).
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One exception with its audit trail, oldest first.
pub async fn get(pool: &PgPool, id: uuid::Uuid) -> Result<Option<(ExceptionRow, Vec<AuditRow>)>, StoreError> {
    let Some(row) = sqlx::query_as::<_, ExceptionRow>(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from exceptions where id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let trail = sqlx::query_as::<_, AuditRow>(
        "select action, actor, at from exception_audit where exception_id = $1 order by id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(Some((row, trail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_patterns_become_escaped_like_patterns() {
        assert_eq!(like_of("arn:aws:iam::*:role/ci_*"), "arn:aws:iam::%:role/ci\\_%");
        assert_eq!(like_of("100%"), "100\\%");
    }
}
