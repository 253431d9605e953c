//! The `iam` family.
//! - BR.IAM.1: no IAM principal may hold `bedrock:*` (or `*`) on all resources without
//!   conditions, and none may have AmazonBedrockFullAccess attached. Service-linked roles and
//!   `controls.exempt_principals` are not judged. Failures are reported per principal; when
//!   none fails, one account-wide `pass`. A principal that is fixed disappears from the
//!   failures and its finding is resolved.
//! - BR.IAM.2: every active long-term Bedrock API key is reported with its user and age; one
//!   that never expires, or is older than `controls.max_api_key_age_days`, fails.

use serde_json::Value;

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::{ResourceKind, Status, aws_managed_policy_name};
use crate::evaluate::ids;
use crate::snapshot::{AccountSnapshot, IamPrincipal};

/// AWS-managed policies are named the same in every partition, so they are matched by name.
const BEDROCK_FULL_ACCESS: &str = "AmazonBedrockFullAccess";
/// AWS-managed policies that grant everything; judged by name when their document was not returned.
const KNOWN_BROAD_MANAGED: [&str; 3] = [BEDROCK_FULL_ACCESS, "AdministratorAccess", "PowerUserAccess"];

fn as_list(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

/// True when an action pattern matches every Bedrock action: `*`, `bedrock:*`, `bedr*`, ...
fn covers_all_bedrock(pattern: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    let Some(prefix) = p.strip_suffix('*') else { return false };
    let prefix = prefix.trim_end_matches('*');
    !prefix.contains(['*', '?']) && "bedrock:".starts_with(prefix)
}

/// Whether a policy document grants all of Bedrock on all resources without conditions.
/// `Err` carries a parse error for the detail.
pub(crate) fn grants_all_bedrock(document: &str) -> Result<bool, String> {
    let doc: Value = serde_json::from_str(document).map_err(|e| e.to_string())?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(s)) => s.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => return Err("no Statement".into()),
    };
    Ok(statements.into_iter().any(|s| {
        let allow = s.get("Effect").and_then(Value::as_str) == Some("Allow");
        let all_resources = as_list(s.get("Resource")).contains(&"*");
        let unconditional = s.get("Condition").is_none_or(|c| c.as_object().is_some_and(serde_json::Map::is_empty));
        let actions = if s.get("NotAction").is_some() {
            // Allow + NotAction grants everything not listed: broad unless Bedrock is excluded.
            !as_list(s.get("NotAction")).iter().any(|a| covers_all_bedrock(a) || a.eq_ignore_ascii_case("bedrock:*"))
        } else {
            as_list(s.get("Action")).iter().any(|a| covers_all_bedrock(a))
        };
        allow && all_resources && unconditional && actions
    }))
}

/// What was found for one principal: grants that fail the control, and policies that could
/// not be judged (unreadable, or an attached managed policy whose document was not returned).
#[derive(Default)]
pub(crate) struct Findings {
    pub(crate) broad: Vec<String>,
    pub(crate) unreadable: Vec<String>,
}

pub(crate) fn judge_principal(
    principal: &IamPrincipal,
    snap_managed: &std::collections::BTreeMap<String, crate::snapshot::PolicyDocument>,
) -> Findings {
    let mut f = Findings::default();
    for p in &principal.inline_policies {
        match grants_all_bedrock(&p.document) {
            Ok(true) => f.broad.push(format!("inline policy {} grants bedrock:* on *", p.name)),
            Ok(false) => {}
            Err(e) => f.unreadable.push(format!("inline policy {} could not be read ({e})", p.name)),
        }
    }
    for a in &principal.attached {
        let aws_managed = aws_managed_policy_name(&a.arn);
        if aws_managed == Some(BEDROCK_FULL_ACCESS) {
            f.broad.push("AmazonBedrockFullAccess is attached".into());
            continue;
        }
        match snap_managed.get(&a.arn).map(|d| grants_all_bedrock(&d.document)) {
            Some(Ok(true)) => f.broad.push(format!("managed policy {} grants bedrock:* on *", a.name)),
            Some(Ok(false)) => {}
            Some(Err(e)) => f.unreadable.push(format!("managed policy {} could not be read ({e})", a.name)),
            None if aws_managed.is_some_and(|name| KNOWN_BROAD_MANAGED.contains(&name)) => {
                f.broad.push(format!("managed policy {} grants bedrock:* on *", a.name));
            }
            // Attached, but its document was not in the answer: we did not look at it.
            None => f.unreadable.push(format!("the document of managed policy {} was not returned", a.name)),
        }
    }
    f
}

/// BR.IAM.1.
pub fn no_broad_bedrock_grants(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let iam = match &snap.iam {
        Ok(i) => i,
        Err(gap) => {
            return vec![input.account_verdict(
                ids::IAM_1,
                Status::Error,
                format!("Could not read IAM: {}.", gap.summary()),
            )];
        }
    };
    let judged = iam.principals.iter().filter(|p| {
        !p.path.starts_with("/aws-service-role/")
            && !input.params.exempt_principals.iter().any(|pat| iam_policy::wildcard_match(pat, &p.arn))
    });
    let mut out = Vec::new();
    let mut count = 0;
    for p in judged {
        count += 1;
        let found = judge_principal(p, &iam.managed_policies);
        // A broad grant is a failure whatever else is unknown; unknowns alone are an error.
        let (status, why) = if !found.broad.is_empty() {
            (Status::Fail, found.broad.iter().chain(&found.unreadable).cloned().collect::<Vec<_>>())
        } else if !found.unreadable.is_empty() {
            (Status::Error, found.unreadable)
        } else {
            continue;
        };
        let kind = match p.kind.as_str() {
            "user" => ResourceKind::IamUser,
            "group" => ResourceKind::IamGroup,
            _ => ResourceKind::IamRole,
        };
        out.push(input.verdict(
            ids::IAM_1,
            None,
            (&p.arn, kind),
            status,
            format!("IAM {} {}: {}.", p.kind, p.name, why.join("; ")),
        ));
    }
    if out.is_empty() {
        out.push(input.account_verdict(
            ids::IAM_1,
            Status::Pass,
            format!("None of the {count} IAM roles, users and groups judged holds bedrock:* on all resources."),
        ));
    }
    out
}

/// BR.IAM.2.
pub fn api_keys_bounded(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let keys = match &snap.bedrock_api_keys {
        Ok(k) => k,
        Err(gap) => {
            return vec![input.account_verdict(
                ids::IAM_2,
                Status::Error,
                format!("Could not list the long-term Bedrock API keys: {}.", gap.summary()),
            )];
        }
    };
    let max_days = input.params.max_api_key_age_days;
    // SCPs never govern the management account: there, nothing but the key's own life bounds it.
    let where_note = if input.is_management() {
        " It is in the management account, which no SCP governs (BR.ORG.6 cannot stop its use)."
    } else {
        ""
    };
    let mut out = Vec::new();
    let mut dormant = 0;
    for k in keys {
        let expired = k.expires.is_some_and(|t| t <= input.now);
        if k.status != "Active" || expired {
            dormant += 1;
            continue;
        }
        let age = (input.now - k.created).num_days();
        let (status, life) = match k.expires {
            None => (Status::Fail, "never expires".to_owned()),
            Some(_) if age > max_days => (Status::Fail, format!("is older than the {max_days} days allowed")),
            Some(t) => (Status::Pass, format!("expires on {}", t.format("%Y-%m-%d"))),
        };
        out.push(input.verdict(
            ids::IAM_2,
            None,
            (&k.id, ResourceKind::BedrockApiKey),
            status,
            format!(
                "Long-term Bedrock API key {} of IAM user {} is active, {age} days old (created {}), and {life}.{where_note}",
                k.id,
                k.user,
                k.created.format("%Y-%m-%d")
            ),
        ));
    }
    if out.is_empty() {
        let others = if dormant > 0 { format!(" ({dormant} inactive or expired)") } else { String::new() };
        out.push(input.account_verdict(
            ids::IAM_2,
            Status::Pass,
            format!("No IAM user of the account has an active long-term Bedrock API key{others}."),
        ));
    }
    out
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = {
    use Input::{BedrockApiKeys, Iam};
    use Judge::Account;
    use Proof::Exhaustive;
    use Regions::Swept;
    &[
        Control { id: ids::IAM_1, reads: reads(&[Iam], Exhaustive, Swept), judge: Account(no_broad_bedrock_grants) },
        Control {
            id: ids::IAM_2,
            reads: reads(&[BedrockApiKeys], Exhaustive, Swept),
            judge: Account(api_keys_bounded),
        },
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::{AttachedPolicy, BedrockApiKey, IamSnapshot, PolicyDocument};

    fn key(id: &str, status: &str, age_days: i64, expires_in_days: Option<i64>) -> BedrockApiKey {
        BedrockApiKey {
            id: id.into(),
            user: "alice".into(),
            status: status.into(),
            created: now() - chrono::Duration::days(age_days),
            expires: expires_in_days.map(|d| now() + chrono::Duration::days(d)),
        }
    }

    #[test]
    fn api_keys_that_never_expire_or_are_too_old_fail_and_every_active_one_is_reported() {
        let mut snap = account_snapshot();
        snap.bedrock_api_keys = Ok(vec![
            key("ACCAFOREVER", "Active", 3, None),
            key("ACCAOLD", "Active", 120, Some(30)),
            key("ACCAFRESH", "Active", 10, Some(20)),
            key("ACCAOFF", "Inactive", 400, None),
            key("ACCAPAST", "Active", 40, Some(-1)),
        ]);
        let out = with_input(&snap, |i| api_keys_bounded(i, &snap));
        let by_id = |id: &str| out.iter().find(|e| e.resource_id == id).map(|e| (e.status, e.detail.clone()));
        let (s, d) = by_id("ACCAFOREVER").unwrap();
        assert_eq!(s, Status::Fail);
        assert!(d.contains("alice") && d.contains("never expires") && d.contains("3 days old"), "{d}");
        assert_eq!(by_id("ACCAOLD").unwrap().0, Status::Fail);
        assert_eq!(by_id("ACCAFRESH").unwrap().0, Status::Pass);
        assert!(by_id("ACCAOFF").is_none() && by_id("ACCAPAST").is_none(), "{out:?}");
        assert!(out.iter().all(|e| e.resource_kind == ResourceKind::BedrockApiKey));

        snap.bedrock_api_keys = Ok(vec![key("ACCAOFF", "Inactive", 400, None)]);
        let out = with_input(&snap, |i| api_keys_bounded(i, &snap));
        assert_eq!(statuses(&out), vec![Status::Pass]);
        assert!(out[0].detail.contains("1 inactive or expired"), "{}", out[0].detail);

        snap.bedrock_api_keys = Err(gap("iam", "ListServiceSpecificCredentials"));
        let out = with_input(&snap, |i| api_keys_bounded(i, &snap));
        assert_eq!(statuses(&out), vec![Status::Error]);
    }

    #[test]
    fn a_key_in_the_management_account_says_no_scp_governs_it() {
        let mut snap = account_snapshot();
        snap.account_id = crate::domain::AccountId::parse(MANAGEMENT).unwrap();
        snap.bedrock_api_keys = Ok(vec![key("ACCAROOT", "Active", 1, Some(5))]);
        let out = with_org(&org_snapshot(), MANAGEMENT, &snap, Default::default(), |i| api_keys_bounded(i, &snap));
        assert!(out[0].detail.contains("no SCP governs"), "{}", out[0].detail);
    }

    #[test]
    fn broad_grants_are_recognised() {
        let cases = [
            (r#"{"Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]}"#, true),
            (r#"{"Statement":{"Effect":"Allow","Action":["s3:GetObject","*"],"Resource":["*"]}}"#, true),
            (r#"{"Statement":[{"Effect":"Allow","Action":"Bedrock:*","Resource":"*"}]}"#, true),
            (r#"{"Statement":[{"Effect":"Allow","Action":"bedrock:Invoke*","Resource":"*"}]}"#, false),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"arn:aws:bedrock:*::foundation-model/x"}]}"#,
                false,
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}"#,
                false,
            ),
            (r#"{"Statement":[{"Effect":"Allow","NotAction":["iam:*"],"Resource":"*"}]}"#, true),
            (r#"{"Statement":[{"Effect":"Allow","NotAction":["bedrock:*"],"Resource":"*"}]}"#, false),
            (r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#, false),
        ];
        for (doc, broad) in cases {
            assert_eq!(grants_all_bedrock(doc), Ok(broad), "{doc}");
        }
        assert!(grants_all_bedrock("{oops").is_err());
    }

    fn principal(name: &str, path: &str, inline: Option<&str>, attached: &[&str]) -> IamPrincipal {
        IamPrincipal {
            kind: "role".into(),
            name: name.into(),
            arn: format!("arn:aws:iam::{MEMBER}:role{path}{name}"),
            path: path.into(),
            inline_policies: inline
                .map(|d| PolicyDocument { name: "p".into(), document: d.into() })
                .into_iter()
                .collect(),
            attached: attached
                .iter()
                .map(|a| AttachedPolicy { name: a.rsplit('/').next().unwrap().into(), arn: (*a).into() })
                .collect(),
        }
    }

    #[test]
    fn per_principal_failures_exemptions_and_gaps() {
        let broad = r#"{"Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]}"#;
        let mut snap = account_snapshot();
        snap.iam = Ok(IamSnapshot {
            principals: vec![
                principal("wide", "/", Some(broad), &[]),
                // AWS-managed policies are recognised by name in any partition.
                principal("full", "/", None, &["arn:aws-us-gov:iam::aws:policy/AmazonBedrockFullAccess"]),
                principal("admin", "/", None, &["arn:aws-cn:iam::aws:policy/AdministratorAccess"]),
                principal("AWSServiceRoleForX", "/aws-service-role/", Some(broad), &[]),
                principal("breakglass", "/", Some(broad), &[]),
                principal("narrow", "/", None, &["arn:aws:iam::111122223333:policy/narrow"]),
            ],
            managed_policies: [(
                "arn:aws:iam::111122223333:policy/narrow".to_owned(),
                PolicyDocument {
                    name: "narrow".into(),
                    document: r#"{"Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"}]}"#
                        .into(),
                },
            )]
            .into(),
        });
        let params = crate::config::ControlParameters {
            exempt_principals: vec!["arn:aws:iam::*:role/breakglass".into()],
            ..Default::default()
        };
        let out = with_params(&snap, params, |i| no_broad_bedrock_grants(i, &snap));
        let failed: Vec<&str> =
            out.iter().filter(|e| e.status == Status::Fail).map(|e| e.resource_id.as_str()).collect();
        let role = |name: &str| format!("arn:aws:iam::{MEMBER}:role/{name}");
        assert_eq!(failed, [role("wide"), role("full"), role("admin")]);
        assert!(out[1].detail.contains("AmazonBedrockFullAccess"));

        // Could not look: an unreadable inline policy, or an attached policy whose document
        // was not returned, is an error for that principal and no account-wide pass.
        snap.iam = Ok(IamSnapshot {
            principals: vec![
                principal("garbled", "/", Some("{not json"), &[]),
                principal("unknown", "/", None, &["arn:aws:iam::aws:policy/SomeManagedPolicy"]),
            ],
            ..Default::default()
        });
        let out = with_input(&snap, |i| no_broad_bedrock_grants(i, &snap));
        assert_eq!(statuses(&out), [Status::Error, Status::Error], "{out:#?}");
        assert!(out[1].detail.contains("SomeManagedPolicy was not returned"), "{}", out[1].detail);

        snap.iam = Ok(IamSnapshot { principals: vec![principal("narrow", "/", None, &[])], ..Default::default() });
        assert_eq!(statuses(&with_input(&snap, |i| no_broad_bedrock_grants(i, &snap))), [Status::Pass]);
        snap.iam = Err(gap("iam", "GetAccountAuthorizationDetails"));
        assert_eq!(statuses(&with_input(&snap, |i| no_broad_bedrock_grants(i, &snap))), [Status::Error]);
    }
}
