//! EC2 VPC endpoints of a region (all of them; the controls pick the Bedrock ones).

use crate::aws::AccountClients;
use crate::domain::Region;
use crate::snapshot::{Collected, VpcEndpoint};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
pub const ACTIONS: &[&str] = &["ec2:DescribeVpcEndpoints"];

/// Every VPC endpoint in `region`.
pub async fn collect(clients: &AccountClients, region: &Region) -> Collected<Vec<VpcEndpoint>> {
    let endpoints: Vec<_> = clients
        .ec2(Some(region))
        .describe_vpc_endpoints()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("ec2", "DescribeVpcEndpoints", Some(region), &e))?;
    Ok(endpoints
        .into_iter()
        .map(|e| VpcEndpoint {
            id: e.vpc_endpoint_id.unwrap_or_default(),
            vpc_id: e.vpc_id.unwrap_or_default(),
            service_name: e.service_name.unwrap_or_default(),
            endpoint_type: e.vpc_endpoint_type.map(|t| t.as_str().to_owned()).unwrap_or_default(),
            state: e.state.map(|s| s.as_str().to_ascii_lowercase()).unwrap_or_default(),
            private_dns_enabled: e.private_dns_enabled.unwrap_or(false),
            policy_document: e.policy_document,
        })
        .collect())
}
