//! The error type for policy documents that cannot be parsed or are not valid SCPs.

/// A malformed or unsupported policy document.
///
/// `Display` names the policy id and the place in the document, e.g.
/// `policy p-abc: Statement[2].Condition.StringEquals: expected string or array`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy {policy_id}: {place}: {message}")]
pub struct PolicyError {
    /// Id of the policy as given to [`crate::parse_policy`].
    pub policy_id: String,
    /// JSON path of the offending element (`document` for whole-document problems).
    pub place: String,
    /// What is wrong, in words.
    pub message: String,
}

impl PolicyError {
    pub(crate) fn new(policy_id: &str, place: &str, message: impl Into<String>) -> Self {
        Self { policy_id: policy_id.to_owned(), place: place.to_owned(), message: message.into() }
    }
}
