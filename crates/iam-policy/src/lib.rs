//! Parser and evaluator for the IAM policy language as service control policies use it.
//!
//! This crate owns the *pure* part of bedrock-sweeper: turning SCP JSON into a typed
//! [`Policy`], deciding whether one [`Statement`] matches a [`RequestContext`], walking the
//! root → OU → account chain of SCPs ([`evaluate_scps`]) and linting policies
//! ([`lint_policy`]). It performs no I/O. Management-account and service-linked-role
//! exemptions (scp-semantics.md §1.2) are deliberately left to the caller.
//!
//! Semantics follow `/work/shared/reference/scp-semantics.md`; section numbers in comments
//! (e.g. "§3.5") refer to that document.

#![warn(missing_docs)]

mod arn;
mod bedrock;
mod condition;
mod context;
mod date;
mod error;
mod glob;
mod hierarchy;
mod ip;
mod json;
mod lint;
mod matching;
mod model;
mod parse;
mod resource;
mod template;
mod tri;

pub use bedrock::bedrock_runtime_iam_action;
pub use context::{ContextValue, KeyState, RequestContext, TAG_KEY_PATTERNS};
pub use error::PolicyError;
pub use glob::wildcard_match;
pub use hierarchy::{Level, NearMiss, ScpOutcome, evaluate_scps};
pub use lint::{Lint, LintKind, Severity, lint_policy};
pub use matching::{Match, Miss, MissPart, statement_matches};
pub use model::{
    ActionSpec, BaseOperator, Condition, Effect, Operator, ParseWarning, Policy, PrincipalId, PrincipalSpec,
    ResourceSpec, SetOperator, Statement,
};
pub use parse::{parse_policy, parse_resource_policy};
pub use resource::{Access, Caller, evaluate_resource_policy, names_caller};
