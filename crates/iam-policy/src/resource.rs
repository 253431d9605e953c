//! Resource-based policies (VPC endpoint, bucket and key policies): does a policy let a given
//! caller make a given request? Explicit deny wins; otherwise some Allow statement must
//! name the caller and match the request. A policy of this kind never grants by itself —
//! the caller's own permissions still apply — so "allowed" means "this fence lets it pass".

use crate::context::RequestContext;
use crate::matching::{Match, statement_matches};
use crate::model::{Effect, Policy, PrincipalId, PrincipalSpec, Statement};

/// The IAM principal making a request.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// Its ARN, e.g. `arn:aws:iam::111122223333:role/app`.
    pub arn: &'a str,
    /// Its account id.
    pub account: &'a str,
}

/// What a resource-based policy does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// An Allow statement admits it and no Deny applies.
    Allowed {
        /// The admitting statement (`Sid x` or `Statement[i]`).
        by: String,
    },
    /// A Deny statement applies.
    Denied {
        /// The denying statement.
        by: String,
    },
    /// No Allow statement admits it (implicit deny).
    NotAllowed,
    /// Allowed or not depending on these context keys, which the caller declared unknowable.
    Depends(Vec<String>),
}

impl Access {
    /// Allowed for sure.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Access::Allowed { .. })
    }
}

/// Whether a statement's `Principal`/`NotPrincipal` names the caller. A statement without
/// one (not a resource-based policy) names nobody.
pub fn names_caller(stmt: &Statement, caller: &Caller<'_>) -> bool {
    let listed = |ids: &[PrincipalId]| {
        ids.iter().any(|id| match id {
            PrincipalId::Anyone => true,
            PrincipalId::Account(a) => a == caller.account,
            PrincipalId::Arn(arn) => arn == caller.arn,
            PrincipalId::Other(_) => false,
        })
    };
    match &stmt.principal {
        Some(PrincipalSpec::Principal(ids)) => listed(ids),
        Some(PrincipalSpec::NotPrincipal(ids)) => !listed(ids),
        None => false,
    }
}

/// Decides one request against a resource-based policy.
pub fn evaluate_resource_policy(policy: &Policy, caller: &Caller<'_>, ctx: &RequestContext) -> Access {
    let mut allowed_by = None;
    let mut allow_depends: Vec<String> = Vec::new();
    let mut deny_depends: Vec<String> = Vec::new();
    for stmt in policy.statements.iter().filter(|s| names_caller(s, caller)) {
        match (stmt.effect, statement_matches(stmt, ctx)) {
            (Effect::Deny, Match::Yes) => return Access::Denied { by: stmt.label() },
            (Effect::Deny, Match::Depends(keys)) => deny_depends.extend(keys),
            (Effect::Allow, Match::Yes) => {
                allowed_by.get_or_insert_with(|| stmt.label());
            }
            (Effect::Allow, Match::Depends(keys)) => allow_depends.extend(keys),
            (_, Match::No(_)) => {}
        }
    }
    // An uncertain Deny matters only where some Allow might admit the request: without one,
    // the request is refused whatever the Deny's keys hold.
    let mut depends = match (&allowed_by, allow_depends.is_empty()) {
        (Some(_), _) => deny_depends,
        (None, false) => [allow_depends, deny_depends].concat(),
        (None, true) => Vec::new(),
    };
    depends.sort();
    depends.dedup();
    match allowed_by {
        Some(by) if depends.is_empty() => Access::Allowed { by },
        _ if !depends.is_empty() => Access::Depends(depends),
        _ => Access::NotAllowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_policy, parse_resource_policy};

    const ME: Caller<'static> = Caller { arn: "arn:aws:iam::111122223333:role/app", account: "111122223333" };
    const STRANGER: Caller<'static> = Caller { arn: "arn:aws:iam::444455556666:role/x", account: "444455556666" };

    fn decide(doc: &str, caller: &Caller<'_>) -> Access {
        let policy = parse_resource_policy("vpce-1", doc).unwrap();
        let ctx = RequestContext::new("bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/m")
            .with_value("aws:PrincipalAccount", caller.account)
            .with_tag_keys_unknown();
        evaluate_resource_policy(&policy, caller, &ctx)
    }

    #[test]
    fn principals_name_callers_by_account_arn_or_everyone() {
        let doc = |p: &str| {
            format!(r#"{{"Statement":[{{"Sid":"S","Effect":"Allow","Principal":{p},"Action":"*","Resource":"*"}}]}}"#)
        };
        let cases = [
            (r#""*""#, true, true),
            (r#"{"AWS":"*"}"#, true, true),
            (r#"{"AWS":"111122223333"}"#, true, false),
            (r#"{"AWS":"arn:aws:iam::111122223333:root"}"#, true, false),
            (r#"{"AWS":["arn:aws:iam::111122223333:role/app"]}"#, true, false),
            (r#"{"AWS":"arn:aws:iam::111122223333:role/other"}"#, false, false),
            (r#"{"Service":"bedrock.amazonaws.com"}"#, false, false),
        ];
        for (principal, me, stranger) in cases {
            let d = doc(principal);
            assert_eq!(decide(&d, &ME).is_allowed(), me, "{principal} for me");
            assert_eq!(decide(&d, &STRANGER).is_allowed(), stranger, "{principal} for a stranger");
        }
    }

    #[test]
    fn deny_wins_not_principal_inverts_and_unknown_keys_are_named() {
        let allow_all = r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#;
        let doc = |more: &str| format!(r#"{{"Statement":[{allow_all},{more}]}}"#);
        let deny_others = doc(
            r#"{"Sid":"OnlyMe","Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}"#,
        );
        assert!(decide(&deny_others, &ME).is_allowed());
        assert_eq!(decide(&deny_others, &STRANGER), Access::Denied { by: "Sid OnlyMe".into() });
        let unrelated = doc(r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}"#);
        assert!(decide(&unrelated, &STRANGER).is_allowed());
        let tagged = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"ml"}}}]}"#;
        assert_eq!(decide(tagged, &STRANGER), Access::Depends(vec!["aws:PrincipalTag/team".into()]));
        let tls_only = doc(
            r#"{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
        );
        let unknown_tls = |caller: &Caller<'_>| {
            let policy = parse_resource_policy("b", &tls_only).unwrap();
            let ctx = RequestContext::new("s3:GetObject", "arn:aws:s3:::b/k").with_unknown("aws:SecureTransport");
            evaluate_resource_policy(&policy, caller, &ctx)
        };
        assert_eq!(unknown_tls(&STRANGER), Access::Depends(vec!["aws:SecureTransport".into()]));
        // Without any Allow that could admit the request, an uncertain Deny changes nothing.
        let only_deny = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
        let policy = parse_resource_policy("b", only_deny).unwrap();
        let ctx = RequestContext::new("s3:GetObject", "arn:aws:s3:::b/k").with_unknown("aws:SecureTransport");
        assert_eq!(evaluate_resource_policy(&policy, &STRANGER, &ctx), Access::NotAllowed);
        let nothing = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#;
        assert_eq!(decide(nothing, &ME), Access::NotAllowed);
    }

    #[test]
    fn principal_elements_are_checked_where_they_belong() {
        let with_principal = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
        assert!(parse_policy("p-1", with_principal).unwrap_err().to_string().contains("not supported"));
        let without = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        assert!(parse_resource_policy("vpce-1", without).unwrap_err().to_string().contains("missing Principal"));
        for bad in [r#""someone""#, r#"{}"#, r#"{"AWS":"bob"}"#, r#"{"Martian":"x"}"#] {
            let doc =
                format!(r#"{{"Statement":[{{"Effect":"Allow","Principal":{bad},"Action":"*","Resource":"*"}}]}}"#);
            let err = parse_resource_policy("vpce-1", &doc).unwrap_err();
            assert!(err.to_string().contains("Principal"), "{bad}: {err}");
        }
    }
}
