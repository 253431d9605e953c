//! Pure mapping of a finding to the AWS Security Finding Format, and validation of what
//! we produce against the required-field and size rules (the SDK builder checks nothing).
//!
//! The finding `Id` is a contract: `bedrock-sweeper/v1/<finding id>`, where the finding id
//! is derived from control × account × region × resource. Changing it would orphan every
//! finding already in Security Hub, so a new scheme gets a new version segment.

use std::collections::BTreeMap;

use aws_sdk_securityhub::types as sh;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::catalog::Control;
use crate::domain::{ComplianceStatus, ExportFinding, Partition, RecordState, truncate};

/// Schema version of ASFF.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// Company and product names shown in the console, and the ProductFields key prefix.
pub const PRODUCT: &str = "bedrock-sweeper";
/// Limits from the BatchImportFindings API reference.
pub const MAX_FINDING_BYTES: usize = 240 * 1024;
const MAX_TITLE: usize = 256;
const MAX_DESCRIPTION: usize = 1024;
const MAX_RECOMMENDATION: usize = 512;
const MAX_PRODUCT_FIELD: usize = 2048;
const MAX_REQUIREMENTS: usize = 32;

/// How and where it is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The account whose hub receives it (the finding's own, or the central one).
    pub target_account: String,
    /// The hub's region.
    pub target_region: String,
    /// The partition of the service's credentials (an organization never spans partitions).
    pub partition: Partition,
    /// Record state to send.
    pub record_state: RecordState,
    /// Compliance to send.
    pub compliance: ComplianceStatus,
    /// UpdatedAt, strictly later than anything sent before for this finding.
    pub updated_at: DateTime<Utc>,
}

/// ASFF, as JSON (field names as the API spells them).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[expect(missing_docs, reason = "field names are the ASFF attribute names")]
pub struct Asff {
    pub schema_version: String,
    pub id: String,
    pub product_arn: String,
    pub generator_id: String,
    pub aws_account_id: String,
    pub company_name: String,
    pub product_name: String,
    pub created_at: String,
    pub updated_at: String,
    pub first_observed_at: String,
    pub last_observed_at: String,
    pub title: String,
    pub description: String,
    pub finding_provider_fields: ProviderFields,
    pub compliance: AsffCompliance,
    pub remediation: AsffRemediation,
    pub resources: Vec<AsffResource>,
    pub product_fields: BTreeMap<String, String>,
    pub record_state: String,
}

/// FindingProviderFields: severity and types are provider-owned here (customers may override the top level).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[expect(missing_docs, reason = "field names are the ASFF attribute names")]
pub struct ProviderFields {
    pub severity: AsffSeverity,
    pub types: Vec<String>,
}

/// Severity.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[expect(missing_docs, reason = "field names are the ASFF attribute names")]
pub struct AsffSeverity {
    pub label: String,
    pub original: String,
}

/// Compliance.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[expect(missing_docs, reason = "field names are the ASFF attribute names")]
pub struct AsffCompliance {
    pub status: String,
    pub related_requirements: Vec<String>,
}

/// Remediation.Recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[expect(missing_docs, reason = "field names are the ASFF attribute names")]
pub struct AsffRemediation {
    pub recommendation: AsffRecommendation,
}

/// Recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[expect(missing_docs, reason = "field names are the ASFF attribute names")]
pub struct AsffRecommendation {
    pub text: String,
    pub url: String,
}

/// A resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[expect(missing_docs, reason = "field names are the ASFF attribute names")]
pub struct AsffResource {
    #[serde(rename = "Type")]
    pub kind: String,
    pub id: String,
    pub partition: String,
    pub region: String,
}

/// Why a produced finding is not valid ASFF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("finding {id}: {problem}")]
pub struct AsffError {
    /// The ASFF Id.
    pub id: String,
    /// What is wrong.
    pub problem: String,
}

/// The versioned, deterministic ASFF Id of a finding.
pub fn asff_id(finding_id: &str) -> String {
    format!("{PRODUCT}/v1/{finding_id}")
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Maps a finding to ASFF.
pub fn build(export: &ExportFinding, control: &Control, d: &Delivery) -> Asff {
    let f = &export.record;
    let id = asff_id(f.id.as_str());
    let region = f.region.as_ref().map_or_else(|| d.target_region.clone(), ToString::to_string);
    let mut resources = vec![AsffResource {
        kind: "AwsAccount".into(),
        id: format!("AWS::::Account:{}", f.account_id),
        partition: d.partition.to_string(),
        region: region.clone(),
    }];
    if f.resource_id != f.account_id.as_str() {
        resources.push(AsffResource {
            kind: f.resource_kind.asff_type().into(),
            id: f.resource_id.clone(),
            partition: d.partition.to_string(),
            region,
        });
    }
    let severity = match d.compliance {
        ComplianceStatus::Failed => control.severity.as_str().to_ascii_uppercase(),
        ComplianceStatus::Passed | ComplianceStatus::NotAvailable => "INFORMATIONAL".into(),
    };
    let mut product_fields = BTreeMap::new();
    let mut field = |k: &str, v: &str| {
        product_fields.insert(format!("{PRODUCT}/{k}"), truncate(v, MAX_PRODUCT_FIELD));
    };
    field("ControlId", f.control_id.as_str());
    field("FindingId", f.id.as_str());
    field("Status", f.status.as_str());
    field("SweepId", &export.last_sweep_id.to_string());
    if let Some(path) = &export.ou_path {
        field("OuPath", path);
    }
    if let Some(hash) = &export.snapshot_hash {
        field("EvidenceSnapshot", hash);
    }
    let mut requirements = control.compliance.requirements();
    requirements.truncate(MAX_REQUIREMENTS);
    Asff {
        schema_version: SCHEMA_VERSION.into(),
        id,
        product_arn: d.partition.security_hub_default_product_arn(&d.target_region, &d.target_account),
        generator_id: control.id.to_string(),
        aws_account_id: d.target_account.clone(),
        company_name: PRODUCT.into(),
        product_name: PRODUCT.into(),
        created_at: timestamp(f.first_seen_at),
        updated_at: timestamp(d.updated_at),
        first_observed_at: timestamp(f.first_seen_at),
        last_observed_at: timestamp(f.last_seen_at),
        title: truncate(&control.title, MAX_TITLE),
        description: truncate(&f.detail, MAX_DESCRIPTION),
        finding_provider_fields: ProviderFields {
            severity: AsffSeverity { label: severity, original: control.severity.as_str().into() },
            types: vec![format!(
                "Software and Configuration Checks/AWS Security Best Practices/Bedrock {}",
                control.family
            )],
        },
        compliance: AsffCompliance { status: d.compliance.as_str().into(), related_requirements: requirements },
        remediation: AsffRemediation {
            recommendation: AsffRecommendation {
                text: truncate(control.remediation.text.trim(), MAX_RECOMMENDATION),
                url: control.remediation.url.clone(),
            },
        },
        resources,
        product_fields,
        record_state: d.record_state.as_str().into(),
    }
}

/// Checks the rules Security Hub would reject a finding for; returns its JSON size.
pub fn validate(a: &Asff) -> Result<usize, AsffError> {
    let err = |problem: String| Err(AsffError { id: a.id.clone(), problem });
    let required = [
        ("SchemaVersion", &a.schema_version),
        ("Id", &a.id),
        ("ProductArn", &a.product_arn),
        ("GeneratorId", &a.generator_id),
        ("AwsAccountId", &a.aws_account_id),
        ("CreatedAt", &a.created_at),
        ("UpdatedAt", &a.updated_at),
        ("Title", &a.title),
        ("Description", &a.description),
    ];
    if let Some((name, _)) = required.iter().find(|(_, v)| v.trim().is_empty()) {
        return err(format!("{name} is required"));
    }
    if a.id.len() > 512 || a.generator_id.len() > 512 {
        return err("Id and GeneratorId must be at most 512 characters".into());
    }
    if a.aws_account_id.len() != 12 || !a.aws_account_id.bytes().all(|b| b.is_ascii_digit()) {
        return err(format!("AwsAccountId `{}` is not 12 digits", a.aws_account_id));
    }
    if a.title.chars().count() > MAX_TITLE || a.description.chars().count() > MAX_DESCRIPTION {
        return err("Title or Description too long".into());
    }
    if a.resources.is_empty() || a.resources.len() > 32 {
        return err("Resources must hold 1 to 32 entries".into());
    }
    if a.resources.iter().any(|r| r.id.is_empty() || r.kind.is_empty() || r.region.len() > 16) {
        return err("every resource needs a Type, an Id and a region of at most 16 characters".into());
    }
    let type_ok = |t: &String| {
        let parts: Vec<&str> = t.split('/').collect();
        (1..=3).contains(&parts.len())
            && parts.iter().all(|p| !p.is_empty())
            && [
                "Software and Configuration Checks",
                "TTPs",
                "Effects",
                "Unusual Behaviors",
                "Sensitive Data Identifications",
            ]
            .contains(&parts[0])
    };
    if a.finding_provider_fields.types.is_empty() || !a.finding_provider_fields.types.iter().all(type_ok) {
        return err("Types must be namespace/category/classifier in an ASFF namespace".into());
    }
    if !["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
        .contains(&a.finding_provider_fields.severity.label.as_str())
    {
        return err(format!("severity label `{}` is not an ASFF label", a.finding_provider_fields.severity.label));
    }
    if a.product_fields.len() > 50 || a.product_fields.keys().any(|k| k.starts_with("aws/") || k.len() > 128) {
        return err("ProductFields: at most 50 keys of at most 128 characters, none under aws/".into());
    }
    if a.compliance.related_requirements.len() > MAX_REQUIREMENTS {
        return err("at most 32 related requirements".into());
    }
    if a.remediation.recommendation.text.chars().count() > MAX_RECOMMENDATION {
        return err("Recommendation.Text too long".into());
    }
    if a.updated_at < a.created_at {
        return err("UpdatedAt is before CreatedAt".into());
    }
    let size = serde_json::to_vec(a).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_FINDING_BYTES {
        return err(format!("{size} bytes, more than the 240 KB a finding may have"));
    }
    Ok(size)
}

impl Asff {
    /// The SDK's representation, for BatchImportFindings.
    pub fn to_sdk(&self) -> sh::AwsSecurityFinding {
        let resources = self
            .resources
            .iter()
            .map(|r| {
                sh::Resource::builder()
                    .r#type(&r.kind)
                    .id(&r.id)
                    .partition(sh::Partition::from(r.partition.as_str()))
                    .region(&r.region)
                    .build()
            })
            .collect();
        sh::AwsSecurityFinding::builder()
            .schema_version(&self.schema_version)
            .id(&self.id)
            .product_arn(&self.product_arn)
            .generator_id(&self.generator_id)
            .aws_account_id(&self.aws_account_id)
            .company_name(&self.company_name)
            .product_name(&self.product_name)
            .created_at(&self.created_at)
            .updated_at(&self.updated_at)
            .first_observed_at(&self.first_observed_at)
            .last_observed_at(&self.last_observed_at)
            .title(&self.title)
            .description(&self.description)
            .finding_provider_fields(
                sh::FindingProviderFields::builder()
                    .severity(
                        sh::FindingProviderSeverity::builder()
                            .label(sh::SeverityLabel::from(self.finding_provider_fields.severity.label.as_str()))
                            .original(&self.finding_provider_fields.severity.original)
                            .build(),
                    )
                    .set_types(Some(self.finding_provider_fields.types.clone()))
                    .build(),
            )
            .compliance(
                sh::Compliance::builder()
                    .status(sh::ComplianceStatus::from(self.compliance.status.as_str()))
                    .set_related_requirements(Some(self.compliance.related_requirements.clone()))
                    .build(),
            )
            .remediation(
                sh::Remediation::builder()
                    .recommendation(
                        sh::Recommendation::builder()
                            .text(&self.remediation.recommendation.text)
                            .url(&self.remediation.recommendation.url)
                            .build(),
                    )
                    .build(),
            )
            .set_resources(Some(resources))
            .set_product_fields(Some(self.product_fields.clone().into_iter().collect()))
            .record_state(sh::RecordState::from(self.record_state.as_str()))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::domain::{
        AccountId, ControlId, FindingId, FindingRecord, Region, ResourceKind, Severity, Status, SweepId,
    };

    fn finding(detail: &str) -> ExportFinding {
        ExportFinding {
            record: FindingRecord {
                id: FindingId::parse("0123456789abcdef0123456789abcdef").unwrap(),
                control_id: ControlId::parse("BR.NET.2").unwrap(),
                account_id: AccountId::parse("111122223333").unwrap(),
                region: Some(Region::parse("eu-west-1").unwrap()),
                resource_id: "vpce-0abc".into(),
                resource_kind: ResourceKind::VpcEndpoint,
                status: Status::Fail,
                severity: Severity::High,
                title: "t".into(),
                detail: detail.into(),
                first_seen_at: "2026-08-01T09:00:00Z".parse().unwrap(),
                last_seen_at: "2026-08-25T09:00:00Z".parse().unwrap(),
            },
            last_sweep_id: SweepId(uuid::Uuid::nil()),
            snapshot_hash: Some("abc".into()),
            ou_path: Some("Root/Workloads".into()),
        }
    }

    fn delivery(c: ComplianceStatus, r: RecordState) -> Delivery {
        Delivery {
            target_account: "111122223333".into(),
            target_region: "eu-central-1".into(),
            partition: Partition::aws(),
            record_state: r,
            compliance: c,
            updated_at: "2026-08-25T09:00:00.123Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_failing_finding_maps_to_valid_asff() {
        let catalog = Catalog::embedded().unwrap();
        let control = catalog.control(&ControlId::parse("BR.NET.2").unwrap()).unwrap();
        let a = build(
            &finding("Endpoint vpce-0abc allows everything."),
            control,
            &delivery(ComplianceStatus::Failed, RecordState::Active),
        );
        validate(&a).unwrap();
        assert_eq!(a.id, "bedrock-sweeper/v1/0123456789abcdef0123456789abcdef");
        assert_eq!(a.product_arn, "arn:aws:securityhub:eu-central-1:111122223333:product/111122223333/default");
        assert_eq!(a.generator_id, "BR.NET.2");
        assert_eq!(a.created_at, "2026-08-01T09:00:00.000Z", "CreatedAt is the first-seen time");
        assert_eq!(a.updated_at, "2026-08-25T09:00:00.123Z");
        assert_eq!(a.finding_provider_fields.severity.label, control.severity.as_str().to_ascii_uppercase());
        assert_eq!(a.resources[1].kind, "AwsEc2VpcEndpoint");
        assert_eq!(a.resources[0].id, "AWS::::Account:111122223333");
        assert!(a.compliance.related_requirements.iter().any(|r| r.starts_with("NIST.800-53.r5 ")));
        assert_eq!(a.product_fields["bedrock-sweeper/OuPath"], "Root/Workloads");

        let resolved = build(&finding("fixed"), control, &delivery(ComplianceStatus::Passed, RecordState::Archived));
        assert_eq!(resolved.finding_provider_fields.severity.label, "INFORMATIONAL");
        assert_eq!(resolved.record_state, "ARCHIVED");
        assert_eq!(resolved.compliance.status, "PASSED");
        assert_eq!(resolved.id, a.id, "the same Id resolves the same finding");
    }

    #[test]
    fn findings_name_the_partition_of_the_credentials() {
        let catalog = Catalog::embedded().unwrap();
        let control = catalog.control(&ControlId::parse("BR.NET.2").unwrap()).unwrap();
        for (partition, region) in [("aws-us-gov", "us-gov-west-1"), ("aws-cn", "cn-northwest-1")] {
            let d = Delivery {
                target_region: region.into(),
                partition: Partition::parse(partition).unwrap(),
                ..delivery(ComplianceStatus::Failed, RecordState::Active)
            };
            let mut f = finding("open");
            f.record.region = Some(Region::parse(region).unwrap());
            let a = build(&f, control, &d);
            validate(&a).unwrap();
            assert_eq!(
                a.product_arn,
                format!("arn:{partition}:securityhub:{region}:111122223333:product/111122223333/default")
            );
            assert!(a.resources.iter().all(|r| r.partition == partition), "{:?}", a.resources);
        }
    }

    #[test]
    fn long_text_is_truncated_visibly_and_violations_are_caught() {
        let catalog = Catalog::embedded().unwrap();
        let control = catalog.control(&ControlId::parse("BR.NET.2").unwrap()).unwrap();
        let long = "é".repeat(5000);
        let a = build(&finding(&long), control, &delivery(ComplianceStatus::Failed, RecordState::Active));
        assert_eq!(a.description.chars().count(), 1024);
        assert!(a.description.ends_with("…[truncated]"));
        validate(&a).unwrap();

        let mut bad = a.clone();
        bad.aws_account_id = "12".into();
        assert!(validate(&bad).unwrap_err().problem.contains("12 digits"));
        let mut bad = a.clone();
        bad.finding_provider_fields.types = vec!["Bedrock/a/b/c".into()];
        assert!(validate(&bad).is_err());
        let mut bad = a.clone();
        bad.title = String::new();
        assert!(validate(&bad).unwrap_err().problem.contains("Title is required"));
        let mut bad = a;
        bad.product_fields.insert("aws/securityhub/x".into(), "y".into());
        assert!(validate(&bad).is_err());
    }
}
