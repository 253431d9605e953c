//! CloudWatch Logs: the log group model-invocation logging writes to.

use crate::aws::AccountClients;
use crate::domain::Region;
use crate::snapshot::{Collected, LogGroup};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
pub const ACTIONS: &[&str] = &["logs:DescribeLogGroups"];

/// The log group `name` in `region` (encryption key, retention), or `exists: false`.
pub async fn log_group(clients: &AccountClients, region: &Region, name: &str) -> Collected<LogGroup> {
    let groups: Vec<_> = clients
        .logs(Some(region))
        .describe_log_groups()
        .log_group_name_prefix(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("logs", "DescribeLogGroups", Some(region), &e))?;
    let found = groups.into_iter().find(|g| g.log_group_name() == Some(name));
    Ok(match found {
        Some(g) => LogGroup {
            name: name.to_owned(),
            exists: true,
            kms_key_id: g.kms_key_id.filter(|k| !k.is_empty()),
            retention_days: g.retention_in_days,
        },
        None => LogGroup { name: name.to_owned(), exists: false, kms_key_id: None, retention_days: None },
    })
}
