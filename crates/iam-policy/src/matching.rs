//! Whether one statement applies to one request: action, resource and condition block
//! (scp-semantics.md §3.2–§3.4), with a human-readable reason when it does not.

use std::fmt;

use crate::arn::{VarScope, arn_matches};
use crate::condition;
use crate::context::RequestContext;
use crate::glob::Glob;
use crate::model::{ActionSpec, ResourceSpec, Statement};
use crate::tri::{Tri, merge};

/// Whether a statement applies to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The statement applies.
    Yes,
    /// The statement does not apply, and why.
    No(Miss),
    /// Whether it applies depends on these context keys, which the caller declared
    /// unknowable (§8.3).
    Depends(Vec<String>),
}

/// Why a statement did not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miss {
    /// Which element ruled the statement out.
    pub part: MissPart,
    /// A sentence for a person, e.g. `NotAction exempts bedrock:InvokeModel (listed as
    /// bedrock:*)` or `condition StringNotEquals aws:RequestedRegion is false: eu-west-1 is
    /// listed`.
    pub reason: String,
}

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The statement element that ruled a statement out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissPart {
    /// `Action` does not cover the request action (the statement is about something else).
    Action,
    /// `NotAction` lists the request action: an explicit exemption.
    NotAction,
    /// `Resource` does not cover the request resource.
    Resource,
    /// `NotResource` lists the request resource: an explicit exemption.
    NotResource,
    /// A condition evaluated false.
    Condition,
}

impl MissPart {
    /// Whether the statement did concern the request action, i.e. the miss is an exemption
    /// or a condition rather than the statement being about other actions.
    pub fn action_was_targeted(self) -> bool {
        !matches!(self, MissPart::Action)
    }
}

fn no(part: MissPart, reason: String) -> Match {
    Match::No(Miss { part, reason })
}

/// Finds the first pattern that matches the action, case-insensitively (§3.2).
fn action_hit<'a>(patterns: &'a [String], action: &str) -> Option<&'a str> {
    patterns.iter().find(|p| Glob::new(p, true).matches(action)).map(String::as_str)
}

/// Decides whether `stmt` applies to `ctx`, ignoring its Effect.
///
/// Action is decided first (it is never unknown), then Resource/NotResource, then every
/// condition (AND, §3.4). A definite miss anywhere wins over `Depends`.
pub fn statement_matches(stmt: &Statement, ctx: &RequestContext) -> Match {
    let action = ctx.action.as_str();
    match &stmt.action {
        ActionSpec::Action(list) => {
            if action_hit(list, action).is_none() {
                return no(MissPart::Action, format!("Action [{}] does not cover {action}", list.join(", ")));
            }
        }
        ActionSpec::NotAction(list) => {
            if let Some(p) = action_hit(list, action) {
                let how = if p.eq_ignore_ascii_case(action) { String::new() } else { format!(" (listed as {p})") };
                return no(MissPart::NotAction, format!("NotAction exempts {action}{how}"));
            }
        }
    }

    let scope = if stmt.variables_enabled { VarScope::ResourceSegment } else { VarScope::None };
    let resource = ctx.resource.as_str();
    let mut result = match &stmt.resource {
        ResourceSpec::Resource(list) => match any_resource(list, resource, ctx, scope) {
            (Tri::True, _) => Tri::True,
            (Tri::Depends(k), _) => Tri::Depends(k),
            (Tri::False(_), _) => {
                return no(MissPart::Resource, format!("Resource [{}] does not cover {resource}", list.join(", ")));
            }
        },
        ResourceSpec::NotResource(list) => match any_resource(list, resource, ctx, scope) {
            (Tri::True, p) => {
                return no(
                    MissPart::NotResource,
                    format!("NotResource exempts {resource} (listed as {})", p.unwrap_or("?")),
                );
            }
            (Tri::Depends(k), _) => Tri::Depends(k),
            (Tri::False(_), _) => Tri::True,
        },
    };

    for cond in &stmt.conditions {
        result = result.and(condition::evaluate(cond, ctx, stmt.variables_enabled));
        if let Tri::False(reason) = result {
            return no(MissPart::Condition, reason);
        }
    }
    match result {
        Tri::True => Match::Yes,
        Tri::Depends(keys) => Match::Depends(keys),
        Tri::False(reason) => no(MissPart::Condition, reason),
    }
}

/// OR over resource patterns; returns the matching pattern when there is one.
fn any_resource<'a>(
    list: &'a [String],
    resource: &str,
    ctx: &RequestContext,
    scope: VarScope,
) -> (Tri, Option<&'a str>) {
    let mut depends = Vec::new();
    for p in list {
        match arn_matches(p, resource, ctx, scope) {
            Tri::True => return (Tri::True, Some(p)),
            Tri::Depends(k) => depends = merge(depends, k),
            Tri::False(_) => {}
        }
    }
    if depends.is_empty() { (Tri::False(String::new()), None) } else { (Tri::Depends(depends), None) }
}

/// Whether an Action/NotAction specification covers `action` (no resource or conditions).
pub(crate) fn action_covered(spec: &ActionSpec, action: &str) -> bool {
    match spec {
        ActionSpec::Action(list) => action_hit(list, action).is_some(),
        ActionSpec::NotAction(list) => action_hit(list, action).is_none(),
    }
}
