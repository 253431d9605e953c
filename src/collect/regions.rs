//! Which regions to sweep in an account: those it has enabled (EC2 DescribeRegions)
//! that offer Bedrock (`findings/regions.toml`).

use crate::aws::AccountClients;
use crate::domain::Region;
use crate::snapshot::Collected;

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
pub const ACTIONS: &[&str] = &["ec2:DescribeRegions"];

/// The enabled regions of the account that are in `bedrock_regions`, sorted.
pub async fn enabled_bedrock_regions(
    clients: &AccountClients,
    home_region: &Region,
    bedrock_regions: &[Region],
) -> Collected<Vec<Region>> {
    let out = clients
        .ec2(Some(home_region))
        .describe_regions()
        .all_regions(false)
        .send()
        .await
        .map_err(|e| super::gap("ec2", "DescribeRegions", Some(home_region), &e))?;
    let mut regions: Vec<Region> = out
        .regions()
        .iter()
        .filter(|r| r.opt_in_status().is_none_or(|s| s != "not-opted-in"))
        .filter_map(|r| r.region_name().and_then(|n| Region::parse(n).ok()))
        .filter(|r| bedrock_regions.contains(r))
        .collect();
    regions.sort();
    Ok(regions)
}
