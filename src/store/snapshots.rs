//! Evidence snapshots, stored once per distinct content.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use super::StoreError;

/// Stores `value` (if this exact content is new) and returns its hash.
pub async fn put(conn: &mut PgConnection, kind: &str, value: &impl Serialize) -> Result<String, StoreError> {
    let json = serde_json::to_value(value)?;
    let hash = hex::encode(Sha256::digest(serde_json::to_vec(&json)?));
    sqlx::query("insert into snapshots (hash, kind, content) values ($1, $2, $3) on conflict (hash) do nothing")
        .bind(&hash)
        .bind(kind)
        .bind(&json)
        .execute(conn)
        .await?;
    Ok(hash)
}

/// Loads a snapshot by hash.
pub async fn get<T: serde::de::DeserializeOwned>(pool: &sqlx::PgPool, hash: &str) -> Result<Option<T>, StoreError> {
    let row: Option<(serde_json::Value,)> =
        sqlx::query_as("select content from snapshots where hash = $1").bind(hash).fetch_optional(pool).await?;
    row.map(|(v,)| serde_json::from_value(v)).transpose().map_err(StoreError::from)
}
