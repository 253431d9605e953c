//! CloudTrail trails: the account's own, the shadow copies of multi-region and
//! organization trails, each trail's status and its event selectors.
//!
//! Trail-level calls (GetTrailStatus, GetEventSelectors) go to the trail's home region:
//! AWS answers them there for shadow trails too, and the emulator only answers there.

use std::collections::BTreeMap;

use aws_sdk_cloudtrail::types::{AdvancedEventSelector, EventSelector};

use crate::aws::AccountClients;
use crate::domain::{AccountId, Region};
use crate::snapshot::{
    AdvancedSelector, ClassicSelector, Collected, EventSelectors, FieldSelector, Trail, TrailStatus,
};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
pub const ACTIONS: &[&str] =
    &["cloudtrail:DescribeTrails", "cloudtrail:GetEventSelectors", "cloudtrail:GetTrailStatus"];

/// Every trail visible from `regions`, de-duplicated by ARN, with status and selectors. A
/// failed DescribeTrails in any region is a gap for the whole list: a trail could hide there.
///
/// With `account` given (a member's collection), organization trails owned by another account (the management account's, seen from a
/// member as shadows) are left out: their status, selectors and key are judged from the
/// management account's own answers (`OrgSnapshot::management_trails`). Read from a member,
/// AWS usually refuses the key (`kms:DescribeKey` on another account's key) and the answers
/// would say nothing the management account does not say better.
pub async fn collect(
    clients: &AccountClients,
    account: Option<&AccountId>,
    regions: &[Region],
) -> Collected<Vec<Trail>> {
    let mut seen = BTreeMap::new();
    for region in regions {
        let out = clients
            .cloudtrail(Some(region))
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
            .map_err(|e| super::gap("cloudtrail", "DescribeTrails", Some(region), &e))?;
        for t in out.trail_list.unwrap_or_default() {
            let Some(arn) = t.trail_arn.clone() else { continue };
            let foreign = account.is_some_and(|a| arn_account(&arn) != Some(a.as_str()));
            if t.is_organization_trail == Some(true) && foreign {
                continue;
            }
            seen.entry(arn).or_insert(t);
        }
    }
    let mut trails = Vec::with_capacity(seen.len());
    for (arn, t) in seen {
        let home = t.home_region.clone().and_then(|r| Region::parse(&r).ok());
        let client = clients.cloudtrail(home.as_ref());
        let status = client
            .get_trail_status()
            .name(&arn)
            .send()
            .await
            .map(|s| TrailStatus {
                is_logging: s.is_logging.unwrap_or(false),
                latest_delivery_error: s.latest_delivery_error.filter(|e| !e.is_empty()),
                latest_delivery_time: s.latest_delivery_time.as_ref().and_then(super::to_utc),
                latest_digest_delivery_error: s.latest_digest_delivery_error.filter(|e| !e.is_empty()),
                latest_digest_delivery_time: s.latest_digest_delivery_time.as_ref().and_then(super::to_utc),
            })
            .map_err(|e| super::gap("cloudtrail", "GetTrailStatus", home.as_ref(), &e));
        let event_selectors = client
            .get_event_selectors()
            .trail_name(&arn)
            .send()
            .await
            .map(|s| EventSelectors {
                classic: s.event_selectors.unwrap_or_default().iter().map(classic).collect(),
                advanced: s.advanced_event_selectors.unwrap_or_default().iter().map(advanced).collect(),
            })
            .map_err(|e| super::gap("cloudtrail", "GetEventSelectors", home.as_ref(), &e));
        trails.push(Trail {
            arn,
            name: t.name.unwrap_or_default(),
            home_region: t.home_region.unwrap_or_default(),
            is_multi_region: t.is_multi_region_trail.unwrap_or(false),
            is_organization_trail: t.is_organization_trail.unwrap_or(false),
            log_file_validation: t.log_file_validation_enabled.unwrap_or(false),
            kms_key_id: t.kms_key_id.filter(|k| !k.is_empty()),
            s3_bucket: t.s3_bucket_name,
            s3_key_prefix: t.s3_key_prefix.filter(|p| !p.is_empty()),
            status,
            event_selectors,
        });
    }
    Ok(trails)
}

/// The account field of an ARN.
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

fn classic(s: &EventSelector) -> ClassicSelector {
    ClassicSelector {
        read_write_type: s.read_write_type().map(|r| r.as_str().to_owned()).unwrap_or_else(|| "All".into()),
        include_management_events: s.include_management_events().unwrap_or(true),
        data_resource_types: s.data_resources().iter().filter_map(|d| d.r#type().map(str::to_owned)).collect(),
    }
}

fn advanced(s: &AdvancedEventSelector) -> AdvancedSelector {
    AdvancedSelector {
        name: s.name().map(str::to_owned),
        fields: s
            .field_selectors()
            .iter()
            .map(|f| FieldSelector {
                field: f.field().to_owned(),
                equals: f.equals().to_vec(),
                not_equals: f.not_equals().to_vec(),
                starts_with: f.starts_with().to_vec(),
                not_starts_with: f.not_starts_with().to_vec(),
                ends_with: f.ends_with().to_vec(),
                not_ends_with: f.not_ends_with().to_vec(),
            })
            .collect(),
    }
}
