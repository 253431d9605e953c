//! Policy variables (`${aws:PrincipalTag/team}`, `${key, 'default'}`) and the escapes
//! `${*}`, `${?}`, `${$}` (scp-semantics.md §3.7). Only interpreted under Version
//! `2012-10-17`; otherwise the text is literal (§3.1).

use crate::context::{ContextValue, KeyState, RequestContext};
use crate::glob::Part;

/// Result of substituting variables into a policy string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// Substituted text; variable values and escapes are literal parts.
    Parts(Vec<Part>),
    /// A variable's key is absent and has no default: the comparison is a non-match (§3.7).
    Missing(String),
    /// A variable's key is one the caller declared unknowable.
    Unknown(String),
}

/// Substitutes policy variables in `raw` from `ctx`.
pub(crate) fn resolve(raw: &str, ctx: &RequestContext, enabled: bool) -> Resolved {
    if !enabled || !raw.contains("${") {
        return Resolved::Parts(vec![Part::Wild(raw.to_owned())]);
    }
    let mut parts = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break; // unterminated: the remainder is ordinary text
        };
        if start > 0 {
            parts.push(Part::Wild(rest[..start].to_owned()));
        }
        let inner = &after[..end];
        match inner {
            "*" | "?" | "$" => parts.push(Part::Lit(inner.to_owned())),
            _ => {
                let (key, default) = split_default(inner);
                match ctx.lookup(key) {
                    KeyState::Present(ContextValue::Single(v)) => parts.push(Part::Lit(v.clone())),
                    KeyState::Unknown => return Resolved::Unknown(key.to_owned()),
                    // A multivalued key has no single substitution; treat it like a missing
                    // key (non-match) unless a default is given. UNSURE: AWS behaviour.
                    KeyState::Present(ContextValue::Multi(_)) | KeyState::Missing => match default {
                        Some(d) => parts.push(Part::Lit(d.to_owned())),
                        None => return Resolved::Missing(key.to_owned()),
                    },
                }
            }
        }
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Wild(rest.to_owned()));
    }
    Resolved::Parts(parts)
}

/// Splits `key, 'default'` (§3.7 "Specifying default values").
fn split_default(inner: &str) -> (&str, Option<&str>) {
    match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d.strip_prefix('\'').and_then(|d| d.strip_suffix('\'')).unwrap_or(d);
            (k.trim(), Some(d))
        }
        None => (inner.trim(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution() {
        let ctx = RequestContext::new("s3:GetObject", "*")
            .with_value("aws:PrincipalTag/team", "ml")
            .with_unknown("aws:ResourceTag/*");
        let r = |s: &str| resolve(s, &ctx, true);
        assert_eq!(
            r("a/${aws:principaltag/team}/b"),
            Resolved::Parts(vec![Part::Wild("a/".into()), Part::Lit("ml".into()), Part::Wild("/b".into())])
        );
        assert_eq!(r("${aws:username}"), Resolved::Missing("aws:username".into()));
        assert_eq!(r("${aws:username, 'nobody'}"), Resolved::Parts(vec![Part::Lit("nobody".into())]));
        assert_eq!(r("${aws:ResourceTag/x}"), Resolved::Unknown("aws:ResourceTag/x".into()));
        assert_eq!(r("${*}"), Resolved::Parts(vec![Part::Lit("*".into())]));
        assert_eq!(
            resolve("${aws:username}", &ctx, false),
            Resolved::Parts(vec![Part::Wild("${aws:username}".into())])
        );
    }
}
