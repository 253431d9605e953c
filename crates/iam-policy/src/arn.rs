//! ARN pattern matching, six segments compared separately and case-sensitively
//! (scp-semantics.md §3.3; used for `Resource`/`NotResource` and `Arn*` operators, §3.5).

use crate::context::RequestContext;
use crate::glob::Glob;
use crate::template::{Resolved, resolve};
use crate::tri::Tri;

/// Where policy variables may be substituted in a pattern (§3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarScope {
    /// Nowhere (Version 2008-10-17 or a family without variables).
    None,
    /// Only the resource segment, after the 5th colon (`Resource`/`NotResource`).
    ResourceSegment,
    /// Anywhere (`Arn*` condition values).
    Anywhere,
}

/// Splits a request ARN into its six segments; `None` if it is not an ARN.
pub(crate) fn split_arn(s: &str) -> Option<Vec<&str>> {
    let segs: Vec<&str> = s.splitn(6, ':').collect();
    (segs.len() == 6 && segs[0] == "arn").then_some(segs)
}

/// Splits a pattern into six segments, ignoring colons inside `${...}` so that a variable
/// such as `${aws:username}` stays in one segment. `None` if fewer than six segments.
fn split_pattern(s: &str) -> Option<Vec<&str>> {
    let mut segs = Vec::with_capacity(6);
    let mut start = 0;
    let mut depth = false;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() && segs.len() < 5 {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth = true;
                i += 1;
            }
            b'}' => depth = false,
            b':' if !depth => {
                segs.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if segs.len() < 5 {
        return None;
    }
    segs.push(&s[start..]);
    Some(segs)
}

fn segment_glob(seg: &str, ctx: &RequestContext, vars: bool) -> Result<Glob, Tri> {
    match resolve(seg, ctx, vars) {
        Resolved::Parts(parts) => Ok(Glob::from_parts(&parts, false)),
        Resolved::Missing(k) => Err(Tri::False(format!("policy variable {k} is missing"))),
        Resolved::Unknown(k) => Err(Tri::Depends(vec![k])),
    }
}

/// Whether `pattern` matches the request value `value` as an ARN.
///
/// `*` alone matches anything, including the "no resource" request `*`. A six-segment
/// pattern is matched segment by segment, so `*` in region/account matches an empty
/// segment and `*` in the resource segment spans `/` and `:` (§3.3). A pattern with fewer
/// than six segments (e.g. `arn:aws:*`) is matched against the whole string. UNSURE: AWS's
/// exact treatment of such short patterns was not verified.
pub(crate) fn arn_matches(pattern: &str, value: &str, ctx: &RequestContext, scope: VarScope) -> Tri {
    if pattern == "*" {
        return Tri::True;
    }
    let Some(psegs) = split_pattern(pattern) else {
        let glob = match segment_glob(pattern, ctx, scope == VarScope::Anywhere) {
            Ok(g) => g,
            Err(t) => return t,
        };
        return if glob.matches(value) { Tri::True } else { Tri::False(format!("{value} does not match {pattern}")) };
    };
    let Some(vsegs) = split_arn(value) else {
        // Not a well-formed ARN: no match (§3.5 ARN row, unverified against AWS).
        return Tri::False(format!("{value} is not an ARN matching {pattern}"));
    };
    let mut result = Tri::True;
    for (i, (p, v)) in psegs.iter().zip(vsegs.iter()).enumerate() {
        let vars = match scope {
            VarScope::None => false,
            VarScope::ResourceSegment => i == 5,
            VarScope::Anywhere => true,
        };
        let seg = match segment_glob(p, ctx, vars) {
            Ok(g) if g.matches(v) => Tri::True,
            Ok(_) => Tri::False(format!("{value} does not match {pattern}")),
            Err(t) => t,
        };
        result = result.and(seg);
        if matches!(result, Tri::False(_)) {
            break;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, v: &str) -> bool {
        let ctx = RequestContext::new("x:y", "*").with_value("aws:username", "alice");
        arn_matches(p, v, &ctx, VarScope::ResourceSegment) == Tri::True
    }

    #[test]
    fn segments() {
        let fm = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3";
        assert!(m("arn:aws:bedrock:*:*:foundation-model/*", fm));
        assert!(m("arn:aws:bedrock:*:*:foundation-model/*", "arn:aws:bedrock:::foundation-model/x"));
        assert!(m("arn:aws:bedrock:*::foundation-model/anthropic.*", fm));
        assert!(!m("arn:aws:bedrock:*:*:inference-profile/*", fm));
        assert!(!m("arn:aws:Bedrock:*:*:foundation-model/*", fm));
        // `*` in the resource segment spans `/` and `:`.
        assert!(m("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y:z"));
        // `*` in the account segment does not span into the resource segment.
        assert!(!m("arn:aws:iam::*:x", "arn:aws:iam::1:role/x"));
        // A short (5-segment) pattern falls back to whole-string matching.
        assert!(m("arn:aws:iam::*", "arn:aws:iam::1:role/x"));
        assert!(m("*", "*"));
        assert!(!m("arn:aws:s3:::b", "*"));
        assert!(m("arn:aws:iam::1:user/${aws:username}", "arn:aws:iam::1:user/alice"));
        assert!(!m("arn:aws:iam::1:user/${aws:username}", "arn:aws:iam::1:user/bob"));
        assert!(m("arn:aws:*", "arn:aws:iam::1:role/x"));
    }
}
