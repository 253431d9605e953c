//! The request being authorized: action, resource and context keys, plus the key patterns
//! the caller cannot know (scp-semantics.md §4, §8.2, §8.3).

use std::collections::BTreeMap;

use crate::glob::Glob;

/// Key patterns that a synthetic scenario usually cannot know: tags on the principal, on
/// the request and on the resource (§8.3). Pass them to [`RequestContext::with_unknown`] or
/// use [`RequestContext::with_tag_keys_unknown`].
pub const TAG_KEY_PATTERNS: [&str; 3] = ["aws:PrincipalTag/*", "aws:RequestTag/*", "aws:ResourceTag/*"];

/// Value of a context key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    /// A single-valued key such as `aws:RequestedRegion`.
    Single(String),
    /// A multivalued key such as `aws:TagKeys` (§3.6).
    Multi(Vec<String>),
}

impl ContextValue {
    /// The values as a slice (one element for a single-valued key).
    pub fn values(&self) -> &[String] {
        match self {
            ContextValue::Single(v) => std::slice::from_ref(v),
            ContextValue::Multi(v) => v,
        }
    }
}

/// What the context says about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState<'a> {
    /// The key is present with this value.
    Present(&'a ContextValue),
    /// The key is definitely absent from the request.
    Missing,
    /// The caller cannot know whether or how the key is present.
    Unknown,
}

/// One (action, resource) authorization and its condition keys.
///
/// Key names are case-insensitive (§3.8). A key that is set explicitly wins over an
/// unknown pattern that covers it.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The IAM action, e.g. `bedrock:InvokeModel` (not the API name, §3.2, §5.1).
    pub action: String,
    /// The resource ARN, or `*` for actions without resource-level permissions (§3.3).
    pub resource: String,
    /// Lowercased key name → (key as given, value).
    keys: BTreeMap<String, (String, ContextValue)>,
    /// Case-insensitive glob patterns of unknowable keys.
    unknown: Vec<(String, Glob)>,
    /// Lowercased names of keys known to be absent, even where an unknown pattern covers them.
    missing: Vec<String>,
}

impl RequestContext {
    /// A context with no keys and no unknown patterns.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource: resource.into(),
            keys: BTreeMap::new(),
            unknown: Vec::new(),
            missing: Vec::new(),
        }
    }

    /// Sets a single-valued key (replacing any previous value).
    pub fn with_value(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(key.into(), ContextValue::Single(value.into()));
        self
    }

    /// Sets a multivalued key (replacing any previous value).
    pub fn with_values<I, S>(mut self, key: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values = values.into_iter().map(Into::into).collect();
        self.set(key.into(), ContextValue::Multi(values));
        self
    }

    /// Declares keys matching `pattern` (`*`/`?` wildcards, case-insensitive) unknowable.
    pub fn with_unknown(mut self, pattern: impl Into<String>) -> Self {
        let pattern = pattern.into();
        let glob = Glob::new(&pattern, true);
        self.unknown.push((pattern, glob));
        self
    }

    /// Declares a key absent from the request, winning over an unknown pattern that covers it
    /// (e.g. `aws:SourceAccount`, which only requests made by an AWS service carry).
    pub fn with_missing(mut self, key: impl Into<String>) -> Self {
        self.missing.push(key.into().to_lowercase());
        self
    }

    /// Declares [`TAG_KEY_PATTERNS`] unknowable.
    pub fn with_tag_keys_unknown(self) -> Self {
        TAG_KEY_PATTERNS.iter().fold(self, |ctx, p| ctx.with_unknown(*p))
    }

    /// Sets a key in place.
    pub fn set(&mut self, key: String, value: ContextValue) {
        self.keys.insert(key.to_lowercase(), (key, value));
    }

    /// Removes a key in place, making it missing (unless an unknown pattern covers it).
    pub fn remove(&mut self, key: &str) {
        self.keys.remove(&key.to_lowercase());
    }

    /// Looks a key up case-insensitively.
    pub fn lookup(&self, key: &str) -> KeyState<'_> {
        if let Some((_, v)) = self.keys.get(&key.to_lowercase()) {
            return KeyState::Present(v);
        }
        let lower = key.to_lowercase();
        if self.missing.contains(&lower) {
            return KeyState::Missing;
        }
        if self.unknown.iter().any(|(_, g)| g.matches(key)) { KeyState::Unknown } else { KeyState::Missing }
    }

    /// The keys that are set, as given, with their values.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.keys.values().map(|(k, v)| (k.as_str(), v))
    }

    /// The unknown-key patterns, as given.
    pub fn unknown_patterns(&self) -> impl Iterator<Item = &str> {
        self.unknown.iter().map(|(p, _)| p.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_keys_win_then_missing_keys_then_unknown_patterns() {
        let ctx = RequestContext::new("s3:GetObject", "*")
            .with_unknown("*")
            .with_missing("aws:SourceAccount")
            .with_value("aws:PrincipalAccount", "999999999999");
        assert!(matches!(ctx.lookup("AWS:PrincipalAccount"), KeyState::Present(_)));
        assert_eq!(ctx.lookup("aws:sourceaccount"), KeyState::Missing);
        assert_eq!(ctx.lookup("aws:SourceIp"), KeyState::Unknown);
        assert_eq!(RequestContext::new("s3:GetObject", "*").lookup("aws:SourceIp"), KeyState::Missing);
    }
}
