//! IAM: every role, user and group with its inline and attached policies, from
//! GetAccountAuthorizationDetails (one paginated call instead of several per principal).

use aws_sdk_iam::types::{AttachedPolicy as SdkAttached, EntityType, PolicyDetail};
use percent_encoding::percent_decode_str;

use crate::aws::AccountClients;
use crate::snapshot::{AttachedPolicy, BedrockApiKey, Collected, IamPrincipal, IamSnapshot, PolicyDocument};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
pub const ACTIONS: &[&str] = &["iam:GetAccountAuthorizationDetails", "iam:ListServiceSpecificCredentials"];

/// The service name IAM files long-term Amazon Bedrock API keys under.
const BEDROCK_SERVICE: &str = "bedrock.amazonaws.com";

/// Policy documents arrive URL-encoded (RFC 3986); decode them to JSON text.
fn decode(doc: &str) -> String {
    percent_decode_str(doc).decode_utf8_lossy().into_owned()
}

fn inline(list: &[PolicyDetail]) -> Vec<PolicyDocument> {
    list.iter()
        .map(|p| PolicyDocument {
            name: p.policy_name().unwrap_or_default().to_owned(),
            document: p.policy_document().map(decode).unwrap_or_default(),
        })
        .collect()
}

fn attached(list: &[SdkAttached]) -> Vec<AttachedPolicy> {
    list.iter()
        .map(|p| AttachedPolicy {
            name: p.policy_name().unwrap_or_default().to_owned(),
            arn: p.policy_arn().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// Every principal and the documents of the managed policies they use.
pub async fn collect(clients: &AccountClients) -> Collected<IamSnapshot> {
    let pages: Vec<_> = clients
        .iam(None)
        .get_account_authorization_details()
        .filter(EntityType::Role)
        .filter(EntityType::User)
        .filter(EntityType::Group)
        .filter(EntityType::LocalManagedPolicy)
        .filter(EntityType::AwsManagedPolicy)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("iam", "GetAccountAuthorizationDetails", None, &e))?;
    let mut snap = IamSnapshot::default();
    for page in pages {
        for r in page.role_detail_list() {
            snap.principals.push(IamPrincipal {
                kind: "role".into(),
                name: r.role_name().unwrap_or_default().to_owned(),
                arn: r.arn().unwrap_or_default().to_owned(),
                path: r.path().unwrap_or("/").to_owned(),
                inline_policies: inline(r.role_policy_list()),
                attached: attached(r.attached_managed_policies()),
            });
        }
        for u in page.user_detail_list() {
            snap.principals.push(IamPrincipal {
                kind: "user".into(),
                name: u.user_name().unwrap_or_default().to_owned(),
                arn: u.arn().unwrap_or_default().to_owned(),
                path: u.path().unwrap_or("/").to_owned(),
                inline_policies: inline(u.user_policy_list()),
                attached: attached(u.attached_managed_policies()),
            });
        }
        for g in page.group_detail_list() {
            snap.principals.push(IamPrincipal {
                kind: "group".into(),
                name: g.group_name().unwrap_or_default().to_owned(),
                arn: g.arn().unwrap_or_default().to_owned(),
                path: g.path().unwrap_or("/").to_owned(),
                inline_policies: inline(g.group_policy_list()),
                attached: attached(g.attached_managed_policies()),
            });
        }
        for p in page.policies() {
            let Some(arn) = p.arn() else { continue };
            let default = p.policy_version_list().iter().find(|v| v.is_default_version());
            if let Some(doc) = default.and_then(|v| v.document()) {
                snap.managed_policies.insert(
                    arn.to_owned(),
                    PolicyDocument { name: p.policy_name().unwrap_or_default().to_owned(), document: decode(doc) },
                );
            }
        }
    }
    snap.principals.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok(snap)
}

/// Every long-term Amazon Bedrock API key of the account's IAM users (one listing for all
/// users, `AllUsers`, followed through its markers).
pub async fn bedrock_api_keys(clients: &AccountClients) -> Collected<Vec<BedrockApiKey>> {
    const OP: (&str, &str) = ("iam", "ListServiceSpecificCredentials");
    let iam = clients.iam(None);
    let mut keys = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = iam
            .list_service_specific_credentials()
            .service_name(BEDROCK_SERVICE)
            .all_users(true)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| super::gap("iam", "ListServiceSpecificCredentials", None, &e))?;
        for c in page.service_specific_credentials() {
            keys.push(BedrockApiKey {
                id: c.service_specific_credential_id().to_owned(),
                user: c.user_name().to_owned(),
                status: c.status().as_str().to_owned(),
                created: super::required_time(c.create_date(), OP, None)?,
                // An expiry that cannot be read is no proof the key expired: a gap.
                expires: match c.expiration_date() {
                    Some(t) => Some(super::required_time(t, OP, None)?),
                    None => None,
                },
            });
        }
        match page.marker() {
            Some(next) if page.is_truncated() && !next.is_empty() => marker = Some(next.to_owned()),
            _ => break,
        }
    }
    keys.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(keys)
}
