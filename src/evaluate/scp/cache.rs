//! Sharing work between accounts: the cache key of a policy path, and the test that decides
//! whether a path's verdicts can depend on the account id at all.
//!
//! Probes carry the account id in the principal ARN, `aws:PrincipalAccount` and some
//! resource ARNs. Verdicts computed with [`PLACEHOLDER_ACCOUNT`](super::probes::PLACEHOLDER_ACCOUNT)
//! hold for every account on the same path unless a policy on the path could tell two
//! account ids apart. Account ids are 12 digits; a glob, ARN pattern or string that has no
//! digit literal where the account is compared (and no policy variable) matches a 12-digit
//! string the same way whatever its digits, so such policies are account-independent. A
//! policy with digits in those places (e.g. `arn:aws:iam::111122223333:role/x`) makes its
//! paths account-specific: they are cached per account instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use iam_policy::{Policy, ResourceSpec};

use super::controls::PathVerdicts;

/// Policies per level (indices into the engine's policy list), plus the account id when
/// the path is account-specific.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PathKey {
    pub levels: Vec<Vec<usize>>,
    pub account: Option<String>,
}

/// Verdicts per path, shared by every account with the same key.
#[derive(Debug, Default)]
pub(crate) struct PathCache {
    map: Mutex<HashMap<PathKey, Arc<PathVerdicts>>>,
}

impl PathCache {
    /// The cached verdicts for `key`, computing them (outside the lock) when absent. Two
    /// workers may compute the same key at once; the first insert wins, both are equal.
    pub(crate) fn get_or_compute(&self, key: PathKey, compute: impl FnOnce() -> PathVerdicts) -> Arc<PathVerdicts> {
        if let Some(v) = self.map.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return Arc::clone(v);
        }
        let value = Arc::new(compute());
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(key).or_insert(value))
    }

    /// How many distinct paths were evaluated.
    pub(crate) fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// Whether `policy` could decide differently for two accounts. `account_keys` are the
/// (lowercased) context keys whose probe values contain the account id; `raw` is the
/// document text.
pub(crate) fn account_sensitive(policy: &Policy, raw: &str, account_keys: &[String]) -> bool {
    // Policy variables can pull the account into any comparison; be conservative.
    if raw.contains("${") {
        return true;
    }
    policy.statements.iter().any(|stmt| {
        let resources = match &stmt.resource {
            ResourceSpec::Resource(l) | ResourceSpec::NotResource(l) => l,
        };
        resources.iter().any(|r| account_segment_has_digit(r))
            || stmt.conditions.iter().any(|c| {
                account_keys.iter().any(|k| k.eq_ignore_ascii_case(&c.key))
                    && c.values.iter().any(|v| v.bytes().any(|b| b.is_ascii_digit()))
            })
    })
}

/// Whether the account segment of an ARN pattern (the 5th colon-separated field) holds a
/// digit; a pattern with fewer segments is matched as a whole, so any digit counts.
fn account_segment_has_digit(pattern: &str) -> bool {
    let segs: Vec<&str> = pattern.splitn(6, ':').collect();
    if segs.len() < 6 {
        return pattern.bytes().any(|b| b.is_ascii_digit());
    }
    segs[4].bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sensitive(json: &str) -> bool {
        let p = iam_policy::parse_policy("p-x", json).expect("parses");
        account_sensitive(&p, json, &["aws:principalarn".into(), "aws:principalaccount".into()])
    }

    #[test]
    fn digits_where_the_account_is_compared_make_a_policy_account_specific() {
        let cases = [
            (r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin"}}}}"#, false),
            (r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalARN":"arn:aws:iam::111122223333:role/Admin"}}}}"#, true),
            (r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}}}"#, false),
            (r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"arn:aws:cloudtrail:eu-west-1:*:trail/x1"}}"#, false),
            (r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"arn:aws:cloudtrail:*:1111*:trail/x"}}"#, true),
            (r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"arn:aws:s3:::${aws:PrincipalAccount}-x"}}"#, true),
        ];
        for (json, want) in cases {
            assert_eq!(sensitive(json), want, "{json}");
        }
    }
}
