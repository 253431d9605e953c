//! The `controls` table, synced from the catalog.

use sqlx::PgPool;

use super::StoreError;
use crate::catalog::Catalog;

/// Upserts every catalog control and deletes the ones no longer in the catalog, in one
/// transaction. Returns (upserted, deleted).
pub async fn sync(pool: &PgPool, catalog: &Catalog) -> Result<(usize, u64), StoreError> {
    let mut tx = pool.begin().await?;
    let mut ids = Vec::new();
    for c in catalog.controls() {
        let scope = serde_json::to_value(c.scope)?;
        sqlx::query(
            "insert into controls (id, family, title, severity, scope, definition, synced_at)
             values ($1, $2, $3, $4, $5, $6, now())
             on conflict (id) do update set family = excluded.family, title = excluded.title,
               severity = excluded.severity, scope = excluded.scope, definition = excluded.definition,
               synced_at = excluded.synced_at",
        )
        .bind(c.id.as_str())
        .bind(&c.family)
        .bind(&c.title)
        .bind(c.severity.as_str())
        .bind(scope.as_str().unwrap_or_default())
        .bind(serde_json::to_value(c)?)
        .execute(&mut *tx)
        .await?;
        ids.push(c.id.to_string());
    }
    let deleted = sqlx::query("delete from controls where not (id = any($1))").bind(&ids).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok((ids.len(), deleted.rows_affected()))
}

/// Current results of one control over the active findings.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct ControlResultRow {
    /// The control.
    pub control_id: String,
    /// Passing findings.
    pub pass: i64,
    /// Failing findings.
    pub fail: i64,
    /// Findings that could not be evaluated.
    pub error: i64,
    /// Findings where the control does not apply.
    pub not_applicable: i64,
    /// Accounts with at least one failing finding of the control.
    pub accounts_failing: i64,
}

/// Results per control (controls without findings are absent).
pub async fn results(pool: &PgPool) -> Result<Vec<ControlResultRow>, StoreError> {
    Ok(sqlx::query_as::<_, ControlResultRow>(
        "select control_id,
                count(*) filter (where status = 'pass') as pass,
                count(*) filter (where status = 'fail') as fail,
                count(*) filter (where status = 'error') as error,
                count(*) filter (where status = 'not_applicable') as not_applicable,
                count(distinct account_id) filter (where status = 'fail') as accounts_failing
         from findings where active group by control_id order by control_id",
    )
    .fetch_all(pool)
    .await?)
}
