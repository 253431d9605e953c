//! Words for probe outcomes (deciding statement, near misses, unknown keys) and the typed,
//! serialisable per-probe evidence of one account ([`ScpEvidence`]), for people and tools
//! that want more than the one-sentence `detail`.

use iam_policy::{NearMiss, ScpOutcome};
use serde::Serialize;

use super::probes::{Expect, Network, Principal, Probe, UNSPECIFIED};
use crate::domain::Status;

/// Everything the SCP controls found for one account, probe by probe.
#[derive(Debug, Clone, Serialize)]
pub struct ScpEvidence {
    /// The account.
    pub account_id: String,
    /// Its path, root first, as the details name the levels.
    pub path: Vec<String>,
    /// BR.ORG.1–6 in order.
    pub controls: Vec<ControlEvidence>,
    /// Lints of every policy on the path: `SCP <id> (<statement>): <message>`.
    pub lints: Vec<String>,
}

/// One control's verdict and the probes behind it.
#[derive(Debug, Clone, Serialize)]
pub struct ControlEvidence {
    /// `BR.ORG.n`.
    pub control_id: String,
    /// The verdict.
    pub status: Status,
    /// The sentence stored as the finding's detail.
    pub detail: String,
    /// Every probe of the control.
    pub probes: Vec<ProbeEvidence>,
}

/// One synthetic request and what the SCPs made of it.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeEvidence {
    /// IAM action.
    pub action: String,
    /// Resource ARN (or `*`).
    pub resource: String,
    /// `aws:RequestedRegion`.
    pub region: String,
    /// Who called.
    pub principal: Principal,
    /// How the call arrived.
    pub network: Network,
    /// The varied dimension (model, endpoint, guardrail), if any.
    pub note: String,
    /// What the control needs.
    pub expected: Expect,
    /// `explicit_deny`, `implicit_deny`, `allowed` or `depends`.
    pub outcome: &'static str,
    /// Whether the outcome is what the control needs (`None` for report-only probes or
    /// when it depends on unknown keys).
    pub as_required: Option<bool>,
    /// For a denial, the deciding statement and level; for `depends`, the keys.
    pub deciding: Option<String>,
    /// Deny statements that concerned the action but did not apply, and why.
    pub near_misses: Vec<String>,
}

impl ProbeEvidence {
    pub(crate) fn new(probe: &Probe, out: &ScpOutcome) -> Self {
        let denied = out.is_denied();
        let as_required = match (probe.expect, denied) {
            (Expect::Info, _) | (_, None) => None,
            (Expect::Deny, Some(d)) => Some(d),
            (Expect::Allow, Some(d)) => Some(!d),
        };
        let (deciding, near_misses) = match out {
            ScpOutcome::Allowed { near_misses } => (None, near_misses.iter().map(near_miss).collect()),
            ScpOutcome::Depends { near_misses, .. } => {
                (Some(depends(out).unwrap_or_default()), near_misses.iter().map(near_miss).collect())
            }
            _ => (deny_source(out), Vec::new()),
        };
        Self {
            action: probe.ctx.action.clone(),
            resource: probe.ctx.resource.clone(),
            region: probe.region.clone(),
            principal: probe.principal,
            network: probe.network,
            note: probe.note.clone(),
            expected: probe.expect,
            outcome: outcome_word(out),
            as_required,
            deciding,
            near_misses,
        }
    }
}

/// `explicit_deny`, `implicit_deny`, `allowed` or `depends`.
pub(crate) fn outcome_word(out: &ScpOutcome) -> &'static str {
    match out {
        ScpOutcome::ExplicitDeny { .. } => "explicit_deny",
        ScpOutcome::ImplicitDeny { .. } => "implicit_deny",
        ScpOutcome::Allowed { .. } => "allowed",
        ScpOutcome::Depends { .. } => "depends",
    }
}

/// `Sid X` or `Statement[i]`.
pub(crate) fn statement_name(sid: Option<&str>, index: usize) -> String {
    match sid {
        Some(s) => format!("Sid {s}"),
        None => format!("Statement[{index}]"),
    }
}

/// What denied the request: `SCP p-abc (Sid X) on OU Sandbox`, or the level without an
/// Allow. `None` when not denied.
pub(crate) fn deny_source(out: &ScpOutcome) -> Option<String> {
    deny_source_of("SCP", out)
}

/// [`deny_source`] for policies of `kind` (`SCP`, `RCP`), which the hierarchy engine judges alike.
pub(crate) fn deny_source_of(kind: &str, out: &ScpOutcome) -> Option<String> {
    match out {
        ScpOutcome::ExplicitDeny { level, policy_id, sid, statement_index } => {
            Some(format!("{kind} {policy_id} ({}) on {level}", statement_name(sid.as_deref(), *statement_index)))
        }
        ScpOutcome::ImplicitDeny { level, reason } if reason.contains("no SCP is attached") => {
            Some(format!("the absence of any {kind} at {level}"))
        }
        ScpOutcome::ImplicitDeny { level, .. } => {
            Some(format!("the missing Allow at {level} (no {kind} there allows it)"))
        }
        _ => None,
    }
}

/// A deny statement that did not apply, and why.
pub(crate) fn near_miss(nm: &NearMiss) -> String {
    near_miss_of("SCP", nm)
}

/// [`near_miss`] for policies of `kind`.
pub(crate) fn near_miss_of(kind: &str, nm: &NearMiss) -> String {
    format!(
        "{kind} {} ({}) on {} does not apply: {}",
        nm.policy_id,
        statement_name(nm.sid.as_deref(), nm.statement_index),
        nm.level,
        nm.reason
    )
}

/// For `Depends`: `aws:PrincipalTag/x (SCP p (Sid) on L)`.
pub(crate) fn depends(out: &ScpOutcome) -> Option<String> {
    depends_of("SCP", out)
}

/// [`depends`] for policies of `kind`.
pub(crate) fn depends_of(kind: &str, out: &ScpOutcome) -> Option<String> {
    match out {
        ScpOutcome::Depends { keys, level, policy_id, sid, statement_index, effect, .. } => Some(format!(
            "{} ({effect} in {kind} {policy_id} ({}) on {level})",
            keys.join(", "),
            statement_name(sid.as_deref(), *statement_index)
        )),
        _ => None,
    }
}

/// A region as people say it.
pub(crate) fn region_words(region: &str) -> String {
    if region == UNSPECIFIED {
        "global cross-region inference (aws:RequestedRegion = unspecified)".to_owned()
    } else {
        region.to_owned()
    }
}

/// `a, b, c, …` with at most `max` items, then `(+n more)`.
pub(crate) fn list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!("{}, … (+{} more)", items[..max].join(", "), items.len() - max)
}

/// The principal in words.
pub(crate) fn principal_words(p: Principal) -> &'static str {
    match p {
        Principal::GenericRole => "a generic role",
        Principal::RootUser => "the root user",
    }
}

/// The network path in words.
pub(crate) fn network_words(n: Network) -> &'static str {
    match n {
        Network::Public => "the public internet",
        Network::ApprovedEndpoint => "the approved VPC endpoint",
        Network::OtherEndpoint => "another VPC endpoint",
        Network::AwsService => "AWS services acting for the caller",
    }
}
