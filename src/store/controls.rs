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
        sqlx::query!(
            "insert into controls (id, family, title, severity, scope, definition, synced_at)
             values ($1, $2, $3, $4, $5, $6, now())
             on conflict (id) do update set family = excluded.family, title = excluded.title,
               severity = excluded.severity, scope = excluded.scope, definition = excluded.definition,
               synced_at = excluded.synced_at",
            c.id.as_str(),
            &c.family,
            &c.title,
            c.severity.as_str(),
            scope.as_str().unwrap_or_default(),
            serde_json::to_value(c)?,
        )
        .execute(&mut *tx)
        .await?;
        ids.push(c.id.to_string());
    }
    let deleted = sqlx::query!("delete from controls where not (id = any($1))", &ids).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok((ids.len(), deleted.rows_affected()))
}

/// Current results of one control over the active findings.
#[derive(Debug, Clone, Default)]
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

/// Results per control (controls without active findings are absent), from the totals
/// `findings::record_account` keeps, not from a scan of the findings.
pub async fn results(pool: &PgPool) -> Result<Vec<ControlResultRow>, StoreError> {
    Ok(sqlx::query_as!(
        ControlResultRow,
        r#"select t.control_id,
                  coalesce(sum(t.findings) filter (where t.status = 'pass'), 0)::bigint as "pass!",
                  coalesce(sum(t.findings) filter (where t.status = 'fail'), 0)::bigint as "fail!",
                  coalesce(sum(t.findings) filter (where t.status = 'error'), 0)::bigint as "error!",
                  coalesce(sum(t.findings) filter (where t.status = 'not_applicable'), 0)::bigint as "not_applicable!",
                  coalesce(max(c.accounts_failing), 0)::bigint as "accounts_failing!"
           from finding_totals t left join control_account_totals c on c.control_id = t.control_id
           group by t.control_id having sum(t.findings) > 0 order by t.control_id"#
    )
    .fetch_all(pool)
    .await?)
}
