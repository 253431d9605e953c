//! The position of each CloudTrail digest chain's verification (BR.LOG.6), so a sweep reads
//! only the digests that arrived since the last one.

use sqlx::PgPool;

use super::StoreError;
use crate::domain::AccountId;
use crate::snapshot::{ChainCursor, DigestChain};

/// A stored cursor: the chain (trail and region) and where its verification stands.
#[derive(Debug, Clone)]
pub struct StoredCursor {
    /// The trail's ARN.
    pub trail_arn: String,
    /// The digests' region.
    pub region: String,
    /// The last digest verified and the breaks found so far.
    pub cursor: ChainCursor,
}

/// The cursors of every chain of `account`.
pub async fn of_account(pool: &PgPool, account: &AccountId) -> Result<Vec<StoredCursor>, StoreError> {
    let rows =
        sqlx::query!("select trail_arn, region, cursor from digest_cursors where account_id = $1", account.as_str(),)
            .fetch_all(pool)
            .await?;
    rows.into_iter()
        .map(|r| {
            Ok(StoredCursor { trail_arn: r.trail_arn, region: r.region, cursor: serde_json::from_value(r.cursor)? })
        })
        .collect()
}

/// Records where each verified chain of `account` now stands. Called once the account's
/// findings are recorded: a process that dies before re-verifies the same digests next
/// time, which finds the same breaks.
pub async fn save(pool: &PgPool, account: &AccountId, chains: &[DigestChain]) -> Result<(), StoreError> {
    for chain in chains {
        let Ok(verification) = &chain.verification else { continue };
        let Some(cursor) = &verification.next_cursor else { continue };
        sqlx::query!(
            "insert into digest_cursors (account_id, trail_arn, region, cursor) values ($1, $2, $3, $4)
             on conflict (account_id, trail_arn, region)
             do update set cursor = excluded.cursor, updated_at = now()",
            account.as_str(),
            &chain.trail_arn,
            chain.region.as_str(),
            serde_json::to_value(cursor)?,
        )
        .execute(pool)
        .await?;
    }
    Ok(())
}
