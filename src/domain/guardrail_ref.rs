//! The guardrail an Organizations Bedrock policy names: `identifier` is the guardrail's ARN
//! followed by `:<version>` (Organizations user guide, "Amazon Bedrock policy syntax").

use super::{AccountId, Region};

/// A parsed `identifier` of a Bedrock policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardrailRef {
    /// The guardrail's ARN without the version.
    pub arn: String,
    /// The region in the ARN.
    pub region: Region,
    /// The owning account in the ARN.
    pub account: AccountId,
    /// The guardrail id.
    pub id: String,
    /// The version: digits, never `DRAFT`.
    pub version: String,
}

/// Every `(region, identifier)` a Bedrock policy document writes
/// (`bedrock.guardrail_inference.<region>.<config>.identifier`, bare or under any operator),
/// in order, once each.
pub fn named_guardrails(doc: &serde_json::Value) -> Vec<(String, String)> {
    use serde_json::Value;
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(regions) = doc.pointer("/bedrock/guardrail_inference").and_then(Value::as_object) else { return out };
    for (region, configs) in regions.iter().filter_map(|(r, c)| Some((r, c.as_object()?))) {
        for config in configs.values().filter_map(Value::as_object) {
            let values = match config.get("identifier") {
                Some(Value::Object(ops)) => ops.values().collect::<Vec<_>>(),
                Some(bare) => vec![bare],
                None => Vec::new(),
            };
            for id in values.into_iter().filter_map(Value::as_str) {
                let named = (region.clone(), id.to_owned());
                if !out.contains(&named) {
                    out.push(named);
                }
            }
        }
    }
    out
}

impl GuardrailRef {
    /// Parses `arn:<partition>:bedrock:<region>:<account>:guardrail/<id>:<version>`, saying
    /// what is wrong otherwise. A missing or `DRAFT` version is wrong: Organizations only
    /// enforces a numbered version.
    pub fn parse(identifier: &str) -> Result<Self, String> {
        let parts: Vec<&str> = identifier.split(':').collect();
        let [arn, partition, service, region, account, resource, rest @ ..] = parts.as_slice() else {
            return Err("is not a guardrail ARN followed by :<version>".into());
        };
        if *arn != "arn" || partition.is_empty() || *service != "bedrock" {
            return Err("is not an Amazon Bedrock ARN".into());
        }
        let Some(id) = resource.strip_prefix("guardrail/").filter(|id| !id.is_empty()) else {
            return Err("does not name a guardrail (guardrail/<id>)".into());
        };
        let version = match rest {
            [] => return Err("has no version (append :<version>; DRAFT cannot be enforced)".into()),
            [v] if v.eq_ignore_ascii_case("DRAFT") => {
                return Err("names the DRAFT version, which cannot be enforced".into());
            }
            [v] if !v.is_empty() && v.len() <= 8 && v.bytes().all(|b| b.is_ascii_digit()) && !v.starts_with('0') => *v,
            _ => return Err("has a version that is not a number".into()),
        };
        let region = Region::parse(region).map_err(|_| format!("names region `{region}`, which is not a region"))?;
        let account =
            AccountId::parse(account).map_err(|_| format!("names account `{account}`, which is not an account id"))?;
        Ok(Self {
            arn: format!("arn:{partition}:bedrock:{region}:{account}:guardrail/{id}"),
            region,
            account,
            id: (*id).to_owned(),
            version: version.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_versioned_guardrail_arn_parses_and_anything_else_says_why_not() {
        let g = GuardrailRef::parse("arn:aws:bedrock:eu-west-1:111111111111:guardrail/hu1dlsv9wy1d:3").unwrap();
        assert_eq!(g.arn, "arn:aws:bedrock:eu-west-1:111111111111:guardrail/hu1dlsv9wy1d");
        assert_eq!(
            (g.region.as_str(), g.account.as_str(), g.id.as_str(), g.version.as_str()),
            ("eu-west-1", "111111111111", "hu1dlsv9wy1d", "3")
        );
        for (bad, why) in [
            ("hu1dlsv9wy1d", "not a guardrail ARN"),
            ("arn:aws:bedrock:eu-west-1:111111111111:guardrail/abc", "no version"),
            ("arn:aws:bedrock:eu-west-1:111111111111:guardrail/abc:DRAFT", "DRAFT"),
            ("arn:aws:bedrock:eu-west-1:111111111111:guardrail/abc:v1", "not a number"),
            ("arn:aws:s3:eu-west-1:111111111111:guardrail/abc:1", "not an Amazon Bedrock ARN"),
            ("arn:aws:bedrock:eu-west-1:111111111111:agent/abc:1", "does not name a guardrail"),
            ("arn:aws:bedrock:Mars:111111111111:guardrail/abc:1", "not a region"),
            ("arn:aws:bedrock:eu-west-1:1111:guardrail/abc:1", "not an account id"),
        ] {
            let err = GuardrailRef::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
