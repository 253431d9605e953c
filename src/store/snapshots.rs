//! Evidence snapshots, stored once per distinct content.
//!
//! The hash is taken over the snapshot without its volatile parts (`snapshot::normal`), so
//! sweeps of an unchanged account write no new row: the one row is refreshed with the
//! newest volatile values (delivery times, messages) and its `last_seen_at`, which is what
//! retention goes by.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use super::StoreError;
use crate::snapshot::normal::hashed_form;

/// The content hash of a snapshot's JSON (lowercase hex SHA-256 of its hashed form).
pub fn content_hash(json: &serde_json::Value) -> Result<String, StoreError> {
    Ok(hex::encode(Sha256::digest(serde_json::to_vec(&hashed_form(json))?)))
}

/// Stores `value` (if this content is new) and returns its hash.
pub async fn put(conn: &mut PgConnection, kind: &str, value: &impl Serialize) -> Result<String, StoreError> {
    let json = serde_json::to_value(value)?;
    let hash = content_hash(&json)?;
    // Rewritten only when a volatile part changed or the row is a day behind: unchanged
    // sweeps of an unchanged account leave it alone, and retention still sees it in use.
    sqlx::query!(
        "insert into snapshots (hash, kind, content) values ($1, $2, $3)
         on conflict (hash) do update set content = excluded.content, last_seen_at = now()
         where snapshots.content <> excluded.content or snapshots.last_seen_at < now() - interval '1 day'",
        &hash,
        kind,
        &json,
    )
    .execute(conn)
    .await?;
    Ok(hash)
}

/// Loads a snapshot by hash.
pub async fn get<T: serde::de::DeserializeOwned>(pool: &sqlx::PgPool, hash: &str) -> Result<Option<T>, StoreError> {
    let content =
        sqlx::query_scalar!("select content from snapshots where hash = $1", hash).fetch_optional(pool).await?;
    content.map(serde_json::from_value).transpose().map_err(StoreError::from)
}
