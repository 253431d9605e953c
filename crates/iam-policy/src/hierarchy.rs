//! The SCP hierarchy walk: explicit Deny anywhere wins, otherwise every level on the
//! root → OU → account path needs a matching Allow (scp-semantics.md §1.1). Management
//! account and service-linked-role exemptions (§1.2) are the caller's business.

use std::fmt;

use crate::context::RequestContext;
use crate::matching::{Match, MissPart, statement_matches};
use crate::model::{Effect, Policy, Statement};
use crate::tri::merge;

/// One node on an account's path with the SCPs attached directly to it.
#[derive(Debug, Clone)]
pub struct Level {
    /// How to name the node in reports, e.g. `root r-ab12`, `OU Sandbox (ou-ab12-xyz)`,
    /// `account 111122223333`.
    pub label: String,
    /// SCPs attached directly to this node.
    pub policies: Vec<Policy>,
}

/// A Deny statement that concerned the request action but did not apply, e.g. because its
/// NotAction exempts the action or a condition was false. Tells a user which exemption
/// let the request through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss {
    /// Label of the level the policy is attached to.
    pub level: String,
    /// Policy id.
    pub policy_id: String,
    /// Statement Sid, if any.
    pub sid: Option<String>,
    /// Statement index in the policy.
    pub statement_index: usize,
    /// Which element ruled the statement out.
    pub part: MissPart,
    /// Why it did not apply.
    pub reason: String,
}

impl fmt::Display for NearMiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SCP {} on {} ({}): {}",
            self.policy_id,
            self.level,
            statement_name(self.sid.as_deref(), self.statement_index),
            self.reason
        )
    }
}

/// Result of evaluating the SCPs on an account's path for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScpOutcome {
    /// SCPs do not block the request (they never grant anything, §1.2).
    Allowed {
        /// Deny statements that concerned the action but did not apply.
        near_misses: Vec<NearMiss>,
    },
    /// A Deny statement matched.
    ExplicitDeny {
        /// Level label.
        level: String,
        /// Policy id.
        policy_id: String,
        /// Statement Sid, if any.
        sid: Option<String>,
        /// Statement index in the policy.
        statement_index: usize,
    },
    /// No Allow statement at this level matches (the first such level top-down).
    ImplicitDeny {
        /// Level label.
        level: String,
        /// Why no Allow matched there.
        reason: String,
    },
    /// The decision depends on context keys the caller declared unknowable.
    Depends {
        /// All unknown keys that could change the decision.
        keys: Vec<String>,
        /// Level of the first undecided statement (a Deny if any, else an Allow).
        level: String,
        /// Its policy id.
        policy_id: String,
        /// Its Sid, if any.
        sid: Option<String>,
        /// Its index in the policy.
        statement_index: usize,
        /// Its effect.
        effect: Effect,
        /// Deny statements that concerned the action but did not apply.
        near_misses: Vec<NearMiss>,
    },
}

impl ScpOutcome {
    /// `Some(true)` if denied, `Some(false)` if allowed, `None` if it depends.
    pub fn is_denied(&self) -> Option<bool> {
        match self {
            ScpOutcome::Allowed { .. } => Some(false),
            ScpOutcome::ExplicitDeny { .. } | ScpOutcome::ImplicitDeny { .. } => Some(true),
            ScpOutcome::Depends { .. } => None,
        }
    }
}

fn statement_name(sid: Option<&str>, index: usize) -> String {
    match sid {
        Some(sid) => format!("Statement[{index}] Sid {sid}"),
        None => format!("Statement[{index}]"),
    }
}

struct Pending<'a> {
    keys: Vec<String>,
    level: &'a str,
    policy: &'a Policy,
    stmt: &'a Statement,
}

fn statements(level: &Level, effect: Effect) -> impl Iterator<Item = (&Policy, &Statement)> {
    level
        .policies
        .iter()
        .flat_map(move |p| p.statements.iter().filter(move |s| s.effect == effect).map(move |s| (p, s)))
}

/// Evaluates the SCPs on an account's path (`levels` ordered root, OUs top-down, account).
///
/// Order of precedence: a definite explicit Deny; then a definite implicit deny at some
/// level; then `Depends` if any deciding statement depended on unknown keys; else
/// `Allowed`. An empty `levels` slice is vacuously `Allowed`. A level with no policies is
/// an implicit deny (AWS forbids that state, but partial data should not read as allowed).
pub fn evaluate_scps(levels: &[Level], ctx: &RequestContext) -> ScpOutcome {
    let mut near_misses = Vec::new();
    let mut pending: Option<Pending<'_>> = None;
    let mut all_keys = Vec::new();

    // Pass 1: explicit Deny at any level wins (§1.1).
    for level in levels {
        for (policy, stmt) in statements(level, Effect::Deny) {
            match statement_matches(stmt, ctx) {
                Match::Yes => {
                    return ScpOutcome::ExplicitDeny {
                        level: level.label.clone(),
                        policy_id: policy.id.clone(),
                        sid: stmt.sid.clone(),
                        statement_index: stmt.index,
                    };
                }
                Match::Depends(keys) => {
                    all_keys = merge(all_keys, keys.clone());
                    pending.get_or_insert(Pending { keys, level: &level.label, policy, stmt });
                }
                Match::No(miss) if miss.part.action_was_targeted() => near_misses.push(NearMiss {
                    level: level.label.clone(),
                    policy_id: policy.id.clone(),
                    sid: stmt.sid.clone(),
                    statement_index: stmt.index,
                    part: miss.part,
                    reason: miss.reason,
                }),
                Match::No(_) => {}
            }
        }
    }

    // Pass 2: every level needs a matching Allow; Allow at the root does not carry down.
    for level in levels {
        let mut allowed = false;
        let mut level_pending: Option<Pending<'_>> = None;
        let mut misses = Vec::new();
        for (policy, stmt) in statements(level, Effect::Allow) {
            match statement_matches(stmt, ctx) {
                Match::Yes => {
                    allowed = true;
                    break;
                }
                Match::Depends(keys) => {
                    level_pending.get_or_insert(Pending { keys, level: &level.label, policy, stmt });
                }
                Match::No(miss) => misses.push(format!(
                    "{} {}: {}",
                    policy.id,
                    statement_name(stmt.sid.as_deref(), stmt.index),
                    miss.reason
                )),
            }
        }
        if allowed {
            continue;
        }
        if let Some(p) = level_pending {
            all_keys = merge(all_keys, p.keys.clone());
            pending.get_or_insert(p);
            continue;
        }
        let reason = if level.policies.is_empty() {
            "no SCP is attached at this level".to_owned()
        } else if misses.is_empty() {
            "no SCP attached here has an Allow statement (is FullAWSAccess detached?)".to_owned()
        } else {
            format!("no Allow statement matches: {}", misses.join("; "))
        };
        return ScpOutcome::ImplicitDeny { level: level.label.clone(), reason };
    }

    match pending {
        Some(p) => ScpOutcome::Depends {
            keys: all_keys,
            level: p.level.to_owned(),
            policy_id: p.policy.id.clone(),
            sid: p.stmt.sid.clone(),
            statement_index: p.stmt.index,
            effect: p.stmt.effect,
            near_misses,
        },
        None => ScpOutcome::Allowed { near_misses },
    }
}
