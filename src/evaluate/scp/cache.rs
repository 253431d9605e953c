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

use iam_policy::{BaseOperator, Condition, Policy, ResourceSpec};

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

/// A probe value that contains the account id: its key (lowercased), the value, and the
/// character range the account occupies in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountValue {
    pub key: String,
    pub value: String,
    pub start: usize,
    pub end: usize,
}

/// Whether `policy` could decide differently for two accounts. `values` are the probe
/// values that contain the account id; `raw` is the document text.
pub(crate) fn account_sensitive(policy: &Policy, raw: &str, values: &[AccountValue]) -> bool {
    // Policy variables can pull the account into any comparison; be conservative.
    if raw.contains("${") {
        return true;
    }
    policy.statements.iter().any(|stmt| {
        let resources = match &stmt.resource {
            ResourceSpec::Resource(l) | ResourceSpec::NotResource(l) => l,
        };
        resources.iter().any(|r| account_segment_has_digit(r))
            || stmt.conditions.iter().any(|c| condition_sees_account(c, values))
    })
}

/// Whether a condition can compare a digit of the policy with a digit of the account.
fn condition_sees_account(c: &Condition, values: &[AccountValue]) -> bool {
    use BaseOperator as B;
    let mine: Vec<&AccountValue> = values.iter().filter(|v| v.key.eq_ignore_ascii_case(&c.key)).collect();
    if mine.is_empty() {
        return false;
    }
    c.values.iter().filter(|pv| pv.bytes().any(|b| b.is_ascii_digit())).any(|pv| match c.operator.base {
        // Six segments compared one by one: only the account segment sees the account.
        B::ArnEquals | B::ArnNotEquals | B::ArnLike | B::ArnNotLike => account_segment_has_digit(pv),
        B::StringEquals
        | B::StringNotEquals
        | B::StringEqualsIgnoreCase
        | B::StringNotEqualsIgnoreCase
        | B::StringLike
        | B::StringNotLike => mine.iter().any(|v| glob_sees_account(pv, v)),
        _ => true,
    })
}

/// Whether a glob (or literal) can align one of its digit literals with the account part of
/// `v`. Literals before the first `*` align from the start and literals after the last
/// from the end; digits between stars float, so they count. Non-digit literals never match
/// a digit, whatever the account.
fn glob_sees_account(pattern: &str, v: &AccountValue) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n = v.value.chars().count();
    let in_account = |i: usize| i >= v.start && i < v.end;
    let parts: Vec<&[char]> = p.split(|c| *c == '*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return p.len() == n && p.iter().enumerate().any(|(i, c)| c.is_ascii_digit() && in_account(i));
    }
    parts[1..parts.len() - 1].iter().any(|m| m.iter().any(char::is_ascii_digit))
        || first.iter().enumerate().any(|(i, c)| c.is_ascii_digit() && in_account(i))
        || (last.len() <= n
            && last.iter().enumerate().any(|(j, c)| c.is_ascii_digit() && in_account(n - last.len() + j)))
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
        let acct = "000000000000";
        let v = |key: &str, value: String| AccountValue {
            key: key.into(),
            start: value.find(acct).unwrap(),
            end: value.find(acct).unwrap() + 12,
            value,
        };
        let values = [
            v("aws:principalarn", format!("arn:aws:iam::{acct}:role/probe")),
            v("aws:principalarn", format!("arn:aws:iam::{acct}:root")),
            v("aws:principalaccount", acct.to_owned()),
        ];
        account_sensitive(&p, json, &values)
    }

    #[test]
    fn digits_where_the_account_is_compared_make_a_policy_account_specific() {
        let cases = [
            (
                r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin"}}}}"#,
                false,
            ),
            (
                r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalARN":"arn:aws:iam::111122223333:role/Admin"}}}}"#,
                true,
            ),
            (
                r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}}}"#,
                false,
            ),
            (
                r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"arn:aws:cloudtrail:eu-west-1:*:trail/x1"}}"#,
                false,
            ),
            (r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"arn:aws:cloudtrail:*:1111*:trail/x"}}"#, true),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"arn:aws:s3:::${aws:PrincipalAccount}-x"}}"#,
                true,
            ),
        ];
        for (json, want) in cases {
            assert_eq!(sensitive(json), want, "{json}");
        }
    }
}
