//! Typed representation of a parsed policy document: statements, action/resource
//! specifications and condition operators (scp-semantics.md §2, §3.1, §3.5).

use std::fmt;

/// A parsed service control policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Policy id as given by the caller (e.g. `p-abc123`).
    pub id: String,
    /// The `Version` element, if present.
    pub version: Option<String>,
    /// Statements in document order.
    pub statements: Vec<Statement>,
    /// Non-fatal oddities found while parsing (missing `Resource`, duplicate JSON keys).
    pub warnings: Vec<ParseWarning>,
}

/// A non-fatal problem found while parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseWarning {
    /// JSON path of the element.
    pub place: String,
    /// What was odd and how it was treated.
    pub message: String,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Position in the policy's `Statement` array (0-based; 0 for a single object).
    pub index: usize,
    /// The `Sid`, if any.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// `Action` or `NotAction` patterns.
    pub action: ActionSpec,
    /// `Resource` or `NotResource` patterns (`Resource: ["*"]` when the element was missing).
    pub resource: ResourceSpec,
    /// Flattened condition block: every (operator, key) pair, ANDed together (§3.4).
    pub conditions: Vec<Condition>,
    /// Whether `${...}` policy variables are interpreted; only under Version `2012-10-17`
    /// (§3.1, §3.7). Otherwise `${...}` is literal text.
    pub variables_enabled: bool,
    /// `Principal` or `NotPrincipal`: only in resource-based policies
    /// ([`crate::parse_resource_policy`]); `None` in SCPs and identity policies.
    pub principal: Option<PrincipalSpec>,
}

impl Statement {
    /// How a person finds the statement: its Sid, or its position.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(sid) => format!("Sid {sid}"),
            None => format!("Statement[{}]", self.index),
        }
    }
}

/// `Principal` or `NotPrincipal` of a resource-based policy statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSpec {
    /// Applies to the listed principals.
    Principal(Vec<PrincipalId>),
    /// Applies to every principal except the listed ones.
    NotPrincipal(Vec<PrincipalId>),
}

/// One entry of a `Principal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalId {
    /// `"*"` or `{"AWS": "*"}`: everyone, signed or anonymous.
    Anyone,
    /// An AWS account (`123456789012` or `arn:…:iam::123456789012:root`): every principal in it.
    Account(String),
    /// An IAM role, user or session ARN, matched exactly.
    Arn(String),
    /// `Service`, `Federated` or `CanonicalUser` entries: never an IAM principal of an account.
    Other(String),
}

/// `Action` or `NotAction` with its patterns as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSpec {
    /// Matches when any pattern matches the request action.
    Action(Vec<String>),
    /// Matches when no pattern matches the request action.
    NotAction(Vec<String>),
}

/// `Resource` or `NotResource` with its patterns as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceSpec {
    /// Matches when any pattern matches the request resource.
    Resource(Vec<String>),
    /// Matches when no pattern matches the request resource.
    NotResource(Vec<String>),
}

/// One (operator, key, values) test from a `Condition` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator, e.g. `ForAnyValue:StringNotLikeIfExists`.
    pub operator: Operator,
    /// Context key name as written (matched case-insensitively, §3.8).
    pub key: String,
    /// Policy values, scalars stringified (§3.1). Any of them may match (OR, or NOR for
    /// negated operators, §3.4).
    pub values: Vec<String>,
}

/// A condition operator split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The operator exactly as written in the policy.
    pub raw: String,
    /// `ForAnyValue:` / `ForAllValues:` prefix, if any (§3.6).
    pub set: Option<SetOperator>,
    /// The base comparison.
    pub base: BaseOperator,
    /// Whether the `IfExists` suffix was present (§3.5).
    pub if_exists: bool,
}

/// Set-operator prefix for multivalued keys (§3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOperator {
    /// `ForAnyValue:` — at least one request value must satisfy the operator.
    ForAnyValue,
    /// `ForAllValues:` — every request value must satisfy the operator.
    ForAllValues,
}

macro_rules! base_operators {
    ($($name:ident),* $(,)?) => {
        /// Base condition operators (§3.5 table).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum BaseOperator { $($name),* }

        impl BaseOperator {
            /// All operators, for lookup by name.
            pub(crate) const ALL: &'static [BaseOperator] = &[$(BaseOperator::$name),*];

            /// Canonical operator name, e.g. `StringNotEquals`.
            pub fn name(self) -> &'static str {
                match self { $(BaseOperator::$name => stringify!($name)),* }
            }
        }
    };
}

base_operators!(
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnNotEquals,
    ArnLike,
    ArnNotLike,
    Null,
);

/// Which kind of comparison an operator performs; decides value validation and whether
/// policy variables are interpreted (§3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    String,
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

impl BaseOperator {
    /// For a negated operator, the positive operator it negates; `None` for positive ones.
    /// Negated operators are evaluated as NOT(any value matches the positive form), which
    /// gives the NOR semantics of §3.4.
    pub fn positive_form(self) -> Option<BaseOperator> {
        use BaseOperator as B;
        Some(match self {
            B::StringNotEquals => B::StringEquals,
            B::StringNotEqualsIgnoreCase => B::StringEqualsIgnoreCase,
            B::StringNotLike => B::StringLike,
            B::NumericNotEquals => B::NumericEquals,
            B::DateNotEquals => B::DateEquals,
            B::NotIpAddress => B::IpAddress,
            B::ArnNotEquals => B::ArnEquals,
            B::ArnNotLike => B::ArnLike,
            _ => return None,
        })
    }

    /// Whether the operator is a negated one (true on a missing key, §3.5).
    pub fn is_negated(self) -> bool {
        self.positive_form().is_some()
    }

    pub(crate) fn family(self) -> Family {
        use BaseOperator as B;
        match self {
            B::StringEquals
            | B::StringNotEquals
            | B::StringEqualsIgnoreCase
            | B::StringNotEqualsIgnoreCase
            | B::StringLike
            | B::StringNotLike => Family::String,
            B::NumericEquals
            | B::NumericNotEquals
            | B::NumericLessThan
            | B::NumericLessThanEquals
            | B::NumericGreaterThan
            | B::NumericGreaterThanEquals => Family::Numeric,
            B::DateEquals
            | B::DateNotEquals
            | B::DateLessThan
            | B::DateLessThanEquals
            | B::DateGreaterThan
            | B::DateGreaterThanEquals => Family::Date,
            B::Bool => Family::Bool,
            B::BinaryEquals => Family::Binary,
            B::IpAddress | B::NotIpAddress => Family::Ip,
            B::ArnEquals | B::ArnNotEquals | B::ArnLike | B::ArnNotLike => Family::Arn,
            B::Null => Family::Null,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}
