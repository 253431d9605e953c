//! AWS Config configuration recorders and whether they are recording.

use crate::aws::AccountClients;
use crate::domain::Region;
use crate::snapshot::{Collected, ConfigRecorder};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
pub const ACTIONS: &[&str] = &["config:DescribeConfigurationRecorderStatus", "config:DescribeConfigurationRecorders"];

/// Every configuration recorder of the region with its recording status.
pub async fn recorders(clients: &AccountClients, region: &Region) -> Collected<Vec<ConfigRecorder>> {
    let client = clients.config_service(Some(region));
    let recorders = client
        .describe_configuration_recorders()
        .send()
        .await
        .map_err(|e| super::gap("config", "DescribeConfigurationRecorders", Some(region), &e))?
        .configuration_recorders
        .unwrap_or_default();
    if recorders.is_empty() {
        return Ok(Vec::new());
    }
    let statuses = client
        .describe_configuration_recorder_status()
        .send()
        .await
        .map_err(|e| super::gap("config", "DescribeConfigurationRecorderStatus", Some(region), &e))?
        .configuration_recorders_status
        .unwrap_or_default();
    Ok(recorders
        .into_iter()
        .map(|r| {
            let name = r.name.unwrap_or_default();
            let status = statuses.iter().find(|s| s.name() == Some(name.as_str()));
            ConfigRecorder {
                recording: status.is_some_and(|s| s.recording()),
                last_status: status.and_then(|s| s.last_status()).map(|s| s.as_str().to_owned()),
                name,
            }
        })
        .collect())
}
