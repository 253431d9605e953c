//! Exceptions (accepted risks) and their audit trail.
//!
//! Creating and withdrawing an exception each write the change and its audit row in one
//! transaction. Nothing is ever deleted: withdrawal sets `deleted_at`. Which findings an
//! exception suppresses is decided at read time (`suppressed_by!`), so expiry needs no job.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::StoreError;
use crate::domain::{AccountId, ControlId, Region};

/// SQL predicate: the live exception aliased `x` covers the finding aliased `f`, whose
/// account's OU path is the SQL expression `$ou` (a literal). The one definition of what an
/// exception covers: the per-finding lookup, the count below and the Security Hub workflow's
/// candidates are all made from it. A shared piece of SQL (see the store's module
/// documentation): `covers!(ou, sqlx::query!(head... +)(+ tail...))`.
macro_rules! covers {
    ($ou:literal, $($sql:ident)::+!($($head:tt)*) ($($tail:tt)*)) => {
        $($sql)::+!($($head)*
            "x.control_id = f.control_id and x.deleted_at is null and x.expires_at > now()
             and (x.account_id is null or x.account_id = f.account_id)
             and (x.region is null or x.region = f.region)
             and (x.resource_like is null or f.resource_id like x.resource_like escape '\\')
             and (x.ou_path is null or " + $ou + " = x.ou_path or left(" + $ou + ", length(x.ou_path) + 1) = x.ou_path || '/')"
            $($tail)*)
    };
}
pub(crate) use covers;

/// SQL expression: the id of the oldest live exception covering the finding aliased `f`, or
/// null; handed to a query macro as [`covers!`] is.
macro_rules! suppressed_by {
    ($($sql:ident)::+!($($head:tt)*) ($($tail:tt)*)) => {
        $crate::store::exceptions::covers!(
            "(select xa.ou_path from accounts xa where xa.id = f.account_id)",
            $($sql)::+!($($head)* "(select x.id from exceptions x where " +)
            (+ " order by x.created_at, x.id limit 1)" $($tail)*)
        )
    };
}
pub(crate) use suppressed_by;

/// Literal SQL pieces joined by `+`, as one `&'static str` (for the runtime listing).
macro_rules! sql_text {
    ($first:literal $(+ $rest:literal)*) => {
        concat!($first $(, $rest)*)
    };
}

/// [`suppressed_by!`] as text, for the findings listing (a runtime query).
pub(crate) const SUPPRESSED_BY: &str = suppressed_by!(sql_text!()());

/// How many active failing findings a live exception covers. A semi-join, so the exceptions
/// are matched against each finding once, not looked up per finding.
pub(crate) async fn failing_suppressed(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(covers!(
        "a.ou_path",
        sqlx::query_scalar!(
            r#"select count(*) as "n!" from findings f left join accounts a on a.id = f.account_id
               where f.active and f.status = 'fail'
                 and f.control_id in (select control_id from exceptions where deleted_at is null and expires_at > now())
                 and exists (select 1 from exceptions x where "# +
        )(+ ")")
    )
    .fetch_one(pool)
    .await?)
}

/// An exception as stored.
#[derive(Debug, Clone, serde::Serialize)]
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

async fn audit(conn: &mut sqlx::PgConnection, row: &ExceptionRow, action: &str, actor: &str) -> Result<(), StoreError> {
    sqlx::query!(
        "insert into exception_audit (exception_id, action, actor, snapshot) values ($1, $2, $3, $4)",
        row.id,
        action,
        actor,
        serde_json::to_value(row)?,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Creates an exception and its audit row.
pub async fn create(pool: &PgPool, new: &NewException, actor: &str) -> Result<ExceptionRow, StoreError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query_as!(
        ExceptionRow,
        "insert into exceptions (id, control_id, account_id, ou_path, region, resource_pattern, resource_like, reason,
                                 expires_at, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         returning id, control_id, account_id, ou_path, region, resource_pattern, reason, expires_at, created_at,
                   created_by, deleted_at, deleted_by",
        uuid::Uuid::new_v4(),
        new.control_id.as_str(),
        new.account_id.as_ref().map(AccountId::as_str),
        new.ou_path.as_deref(),
        new.region.as_ref().map(Region::as_str),
        new.resource_pattern.as_deref(),
        new.resource_pattern.as_deref().map(like_of),
        &new.reason,
        new.expires_at,
        actor,
    )
    .fetch_one(&mut *tx)
    .await?;
    audit(&mut tx, &row, "created", actor).await?;
    tx.commit().await?;
    Ok(row)
}

/// Withdraws a live exception. `None` when there is no such exception or it was already withdrawn.
pub async fn withdraw(pool: &PgPool, id: uuid::Uuid, actor: &str) -> Result<Option<ExceptionRow>, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(row) = sqlx::query_as!(
        ExceptionRow,
        "update exceptions set deleted_at = now(), deleted_by = $2 where id = $1 and deleted_at is null
         returning id, control_id, account_id, ou_path, region, resource_pattern, reason, expires_at, created_at,
                   created_by, deleted_at, deleted_by",
        id,
        actor,
    )
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
    Ok(sqlx::query_as!(
        ExceptionRow,
        "select id, control_id, account_id, ou_path, region, resource_pattern, reason, expires_at, created_at,
                created_by, deleted_at, deleted_by
         from exceptions
         where ($1 or deleted_at is null) and ($2::uuid is null or id > $2)
         order by id limit $3",
        include_withdrawn,
        after,
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// One audit entry.
#[derive(Debug, Clone)]
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
    let Some(row) = sqlx::query_as!(
        ExceptionRow,
        "select id, control_id, account_id, ou_path, region, resource_pattern, reason, expires_at, created_at,
                created_by, deleted_at, deleted_by
         from exceptions where id = $1",
        id,
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let trail = sqlx::query_as!(
        AuditRow,
        "select action, actor, at from exception_audit where exception_id = $1 order by id",
        id,
    )
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
