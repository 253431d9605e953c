//! The `network` family: BR.NET.1 (a private bedrock-runtime endpoint in every approved
//! region) and BR.NET.2 (no Bedrock endpoint with a full-access policy).

use serde_json::Value;

use super::{AccountInput, Evaluation};
use crate::domain::Status;
use crate::snapshot::{AccountSnapshot, VpcEndpoint};

/// BR.NET.1.
pub fn private_endpoint(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    input.per_approved_region(snap, "BR.NET.1", |rs| {
        let endpoints = match &rs.vpc_endpoints {
            Ok(e) => e,
            Err(gap) => return (Status::Error, format!("Could not list VPC endpoints: {}.", gap.summary())),
        };
        let service = format!("com.amazonaws.{}.bedrock-runtime", rs.region);
        let runtime: Vec<&VpcEndpoint> =
            endpoints.iter().filter(|e| e.service_name == service && e.endpoint_type == "Interface").collect();
        if let Some(ok) = runtime.iter().find(|e| e.state == "available" && e.private_dns_enabled) {
            return (
                Status::Pass,
                format!("Interface endpoint {} for {service} is available with private DNS.", ok.id),
            );
        }
        match runtime.first() {
            None => (Status::Fail, format!("No interface VPC endpoint for {service} exists.")),
            Some(e) if e.state != "available" => {
                (Status::Fail, format!("Endpoint {} for {service} is {}, not available.", e.id, e.state))
            }
            Some(e) => (Status::Fail, format!("Endpoint {} for {service} has private DNS disabled.", e.id)),
        }
    })
}

/// BR.NET.2.
pub fn endpoint_policies(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let mut out = Vec::new();
    let mut seen_any = false;
    for rs in &snap.per_region {
        let endpoints = match &rs.vpc_endpoints {
            Ok(e) => e,
            Err(gap) => {
                out.push(input.verdict(
                    "BR.NET.2",
                    Some(&rs.region),
                    input.account.id.as_str(),
                    Status::Error,
                    format!("Could not list VPC endpoints: {}.", gap.summary()),
                ));
                continue;
            }
        };
        for e in endpoints.iter().filter(|e| e.is_bedrock() && e.is_live()) {
            seen_any = true;
            let (status, detail) = match e.policy_document.as_deref() {
                None => (
                    Status::Fail,
                    format!("Endpoint {} ({}) has the default full-access policy.", e.id, e.service_name),
                ),
                Some(doc) => match serde_json::from_str::<Value>(doc) {
                    Err(err) => (Status::Error, format!("Endpoint {} policy is not valid JSON: {err}.", e.id)),
                    Ok(policy) if is_full_access(&policy) => (
                        Status::Fail,
                        format!(
                            "Endpoint {} ({}) allows every principal every action on every resource.",
                            e.id, e.service_name
                        ),
                    ),
                    Ok(_) => {
                        (Status::Pass, format!("Endpoint {} ({}) has a restrictive policy.", e.id, e.service_name))
                    }
                },
            };
            out.push(input.verdict("BR.NET.2", Some(&rs.region), &e.id, status, detail));
        }
    }
    if !seen_any && out.is_empty() {
        out.push(input.account_verdict(
            "BR.NET.2",
            Status::NotApplicable,
            "The account has no Bedrock VPC endpoints in the swept regions.".into(),
        ));
    }
    out
}

fn as_list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

fn is_star(v: Option<&Value>) -> bool {
    as_list(v).iter().any(|x| x.as_str() == Some("*"))
}

/// Full access: some Allow statement with principal `*`, action `*`, resource `*` and no
/// condition, and no Deny statement narrowing it.
pub(crate) fn is_full_access(policy: &Value) -> bool {
    let statements = as_list(policy.get("Statement"));
    let has_deny = statements.iter().any(|s| s.get("Effect").and_then(Value::as_str) == Some("Deny"));
    let open_allow = statements.iter().any(|s| {
        let principal_star = match s.get("Principal") {
            Some(Value::String(p)) => p == "*",
            Some(Value::Object(m)) => is_star(m.get("AWS")),
            _ => false,
        };
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && principal_star
            && is_star(s.get("Action"))
            && is_star(s.get("Resource"))
            && s.get("Condition").is_none()
    });
    open_allow && !has_deny
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;

    fn endpoint(service: &str, state: &str, dns: bool, policy: Option<&str>) -> VpcEndpoint {
        VpcEndpoint {
            id: "vpce-0123".into(),
            vpc_id: "vpc-1".into(),
            service_name: service.into(),
            endpoint_type: "Interface".into(),
            state: state.into(),
            private_dns_enabled: dns,
            policy_document: policy.map(str::to_owned),
        }
    }

    #[test]
    fn runtime_endpoint_must_be_available_with_private_dns() {
        let svc = "com.amazonaws.eu-west-1.bedrock-runtime";
        let cases = [
            (vec![endpoint(svc, "available", true, None)], Status::Pass, "available"),
            (vec![], Status::Fail, "No interface"),
            (vec![endpoint(svc, "pending", true, None)], Status::Fail, "pending"),
            (vec![endpoint(svc, "available", false, None)], Status::Fail, "private DNS disabled"),
            (vec![endpoint("com.amazonaws.eu-west-1.bedrock", "available", true, None)], Status::Fail, "No interface"),
        ];
        for (endpoints, status, words) in cases {
            let mut snap = account_snapshot();
            snap.per_region[0].vpc_endpoints = Ok(endpoints);
            let out = with_input(&snap, |input| private_endpoint(input, &snap));
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].status, status, "{}", out[0].detail);
            assert!(out[0].detail.contains(words), "{}", out[0].detail);
        }
    }

    #[test]
    fn could_not_look_is_an_error_and_unswept_approved_region_not_applicable() {
        let mut snap = account_snapshot();
        snap.per_region[0].vpc_endpoints = Err(gap("ec2", "DescribeVpcEndpoints"));
        let out = with_input(&snap, |input| private_endpoint(input, &snap));
        assert_eq!(out[0].status, Status::Error);
        assert!(out[0].detail.contains("AccessDenied"));

        let out = with_params(&snap, approved(&["eu-west-1", "ap-south-1"]), |input| private_endpoint(input, &snap));
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].status, Status::NotApplicable);

        snap.regions = Err(gap("ec2", "DescribeRegions"));
        let out = with_input(&snap, |input| private_endpoint(input, &snap));
        assert_eq!(out[0].status, Status::Error);
    }

    #[test]
    fn endpoint_policies_full_access_fails_restricted_passes() {
        let svc = "com.amazonaws.eu-west-1.bedrock-runtime";
        let full = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
        let full_aws = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["*"],"Resource":"*"}}"#;
        let restricted =
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"bedrock:InvokeModel","Resource":"*"}]}"#;
        let conditioned = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}]}"#;
        let cases = [
            (None, Status::Fail),
            (Some(full), Status::Fail),
            (Some(full_aws), Status::Fail),
            (Some(restricted), Status::Pass),
            (Some(conditioned), Status::Pass),
            (Some("{not json"), Status::Error),
        ];
        for (policy, status) in cases {
            let mut snap = account_snapshot();
            snap.per_region[0].vpc_endpoints = Ok(vec![endpoint(svc, "available", true, policy)]);
            let out = with_input(&snap, |input| endpoint_policies(input, &snap));
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].status, status, "{policy:?}: {}", out[0].detail);
            assert_eq!(out[0].resource_id, "vpce-0123");
        }
        let snap = account_snapshot();
        let out = with_input(&snap, |input| endpoint_policies(input, &snap));
        assert_eq!(out[0].status, Status::NotApplicable);
    }
}
