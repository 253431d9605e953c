//! The deployment's server secret (migration 0008): created once, read by every process.

use sqlx::PgPool;

use super::StoreError;

/// The stored secret; when there is none yet, `generate`'s value is stored first. Replicas
/// starting together all end up with the one row that won the insert.
pub async fn get_or_create(pool: &PgPool, generate: impl FnOnce() -> Vec<u8>) -> Result<Vec<u8>, StoreError> {
    if let Some(secret) = sqlx::query_scalar!("select secret from server_secret").fetch_optional(pool).await? {
        return Ok(secret);
    }
    sqlx::query!("insert into server_secret (secret) values ($1) on conflict (id) do nothing", generate())
        .execute(pool)
        .await?;
    Ok(sqlx::query_scalar!("select secret from server_secret").fetch_one(pool).await?)
}
