//! Evaluation of one (operator, key, values) condition against a request context:
//! missing-key rules, IfExists, NOR for negated operators, set operators, policy variables
//! and unknowable keys (scp-semantics.md §3.4–§3.7, §8.3).

use crate::arn::{VarScope, arn_matches};
use crate::context::{ContextValue, KeyState, RequestContext};
use crate::date::parse_millis;
use crate::glob::{Glob, parts_to_text};
use crate::ip::Cidr;
use crate::model::{BaseOperator, Condition, Family, SetOperator};
use crate::template::{Resolved, resolve};
use crate::tri::{Tri, merge};

/// Result of comparing one request value with all policy values under a positive operator.
enum Positive {
    /// Matched this policy value.
    Hit(String),
    Miss,
    Depends(Vec<String>),
}

/// Evaluates one condition. `vars` says whether policy variables are interpreted.
pub(crate) fn evaluate(cond: &Condition, ctx: &RequestContext, vars: bool) -> Tri {
    let label = format!("condition {} {}", cond.operator, cond.key);
    let op = &cond.operator;
    let lookup = ctx.lookup(&cond.key);
    if lookup == KeyState::Unknown {
        return Tri::Depends(vec![cond.key.clone()]);
    }
    if op.base == BaseOperator::Null {
        return null(cond, &label, lookup);
    }
    let KeyState::Present(value) = lookup else {
        // §3.5 missing-key column and §3.6 for set operators.
        return if op.if_exists {
            Tri::True
        } else {
            match op.set {
                Some(SetOperator::ForAnyValue) => {
                    Tri::False(format!("{label} is false: the key is missing, so no value can match"))
                }
                Some(SetOperator::ForAllValues) => Tri::True,
                None if op.base.is_negated() => Tri::True,
                None => Tri::False(format!("{label} is false: the key is missing")),
            }
        };
    };
    match (op.set, value) {
        (None, ContextValue::Multi(_)) => {
            // §3.6: a single-value operator on a multivalued key never matches, even when
            // negated (IAMSIM `singleValueMatch`).
            Tri::False(format!(
                "{label} is false: the key is multivalued and the operator has no \
                 ForAnyValue/ForAllValues prefix"
            ))
        }
        (None, ContextValue::Single(v)) => single(cond, &label, v, ctx, vars),
        (Some(SetOperator::ForAnyValue), value) => {
            let mut depends = Vec::new();
            for v in value.values() {
                match single(cond, &label, v, ctx, vars) {
                    Tri::True => return Tri::True,
                    Tri::Depends(k) => depends = merge(depends, k),
                    Tri::False(_) => {}
                }
            }
            if depends.is_empty() {
                Tri::False(format!("{label} is false: no request value satisfies it"))
            } else {
                Tri::Depends(depends)
            }
        }
        (Some(SetOperator::ForAllValues), value) => {
            let mut result = Tri::True;
            for v in value.values() {
                result = result.and(single(cond, &label, v, ctx, vars));
                if let Tri::False(r) = result {
                    return Tri::False(format!("{label} is false: request value {v} fails ({r})"));
                }
            }
            result
        }
    }
}

/// `Null`: "true" holds iff the key is absent, "false" iff present (§3.5). Several values
/// are ORed like any other operator.
fn null(cond: &Condition, label: &str, lookup: KeyState<'_>) -> Tri {
    let present = matches!(lookup, KeyState::Present(_));
    let want_absent = |v: &String| v.eq_ignore_ascii_case("true");
    if cond.values.iter().any(|v| want_absent(v) != present) {
        Tri::True
    } else if present {
        Tri::False(format!("{label} is false: the key is present"))
    } else {
        Tri::False(format!("{label} is false: the key is missing"))
    }
}

/// One request value against all policy values: OR for positive operators, NOR for
/// negated ones (§3.4).
fn single(cond: &Condition, label: &str, v: &str, ctx: &RequestContext, vars: bool) -> Tri {
    let base = cond.operator.base;
    let positive_op = base.positive_form().unwrap_or(base);
    let outcome = positive(positive_op, &cond.values, v, ctx, vars);
    match (base.is_negated(), outcome) {
        (_, Positive::Depends(keys)) => Tri::Depends(keys),
        (false, Positive::Hit(_)) | (true, Positive::Miss) => Tri::True,
        (false, Positive::Miss) => {
            Tri::False(format!("{label} is false: {v} matches none of [{}]", cond.values.join(", ")))
        }
        (true, Positive::Hit(pv)) if pv == v => Tri::False(format!("{label} is false: {v} is listed")),
        (true, Positive::Hit(pv)) => Tri::False(format!("{label} is false: {v} matches listed value {pv}")),
    }
}

fn positive(op: BaseOperator, policy_values: &[String], v: &str, ctx: &RequestContext, vars: bool) -> Positive {
    let mut depends = Vec::new();
    for pv in policy_values {
        match compare(op, pv, v, ctx, vars) {
            Tri::True => return Positive::Hit(pv.clone()),
            Tri::Depends(k) => depends = merge(depends, k),
            Tri::False(_) => {}
        }
    }
    if depends.is_empty() { Positive::Miss } else { Positive::Depends(depends) }
}

fn yes(b: bool) -> Tri {
    if b { Tri::True } else { Tri::False(String::new()) }
}

/// Compares request value `v` with policy value `pv` under a positive operator.
fn compare(op: BaseOperator, pv: &str, v: &str, ctx: &RequestContext, vars: bool) -> Tri {
    use BaseOperator as B;
    // Variables only in String, ARN and Bool values (§3.7).
    let family = op.family();
    let vars = vars && matches!(family, Family::String | Family::Arn | Family::Bool);
    if family == Family::Arn {
        let scope = if vars { VarScope::Anywhere } else { VarScope::None };
        return arn_matches(pv, v, ctx, scope);
    }
    let parts = match resolve(pv, ctx, vars) {
        Resolved::Parts(p) => p,
        // A missing variable makes the comparison a non-match (§3.7).
        Resolved::Missing(_) => return yes(false),
        Resolved::Unknown(k) => return Tri::Depends(vec![k]),
    };
    let text = || parts_to_text(&parts);
    match op {
        B::StringEquals => yes(text() == v),
        B::StringEqualsIgnoreCase => yes(text().to_lowercase() == v.to_lowercase()),
        B::StringLike => yes(Glob::from_parts(&parts, false).matches(v)),
        B::Bool => yes(text().eq_ignore_ascii_case(v.trim())),
        B::BinaryEquals => yes(text() == v),
        B::IpAddress => yes(Cidr::parse(&text()).is_some_and(|c| c.contains(v))),
        B::NumericEquals
        | B::NumericLessThan
        | B::NumericLessThanEquals
        | B::NumericGreaterThan
        | B::NumericGreaterThanEquals => {
            let (Ok(a), Ok(b)) = (v.trim().parse::<f64>(), text().trim().parse::<f64>()) else {
                return yes(false);
            };
            yes(ordered(op, a.partial_cmp(&b)))
        }
        B::DateEquals | B::DateLessThan | B::DateLessThanEquals | B::DateGreaterThan | B::DateGreaterThanEquals => {
            let (Some(a), Some(b)) = (parse_millis(v), parse_millis(&text())) else {
                return yes(false);
            };
            yes(ordered(op, Some(a.cmp(&b))))
        }
        // Negated operators never reach here (callers pass `positive_form`); Null and Arn
        // are handled above.
        _ => yes(false),
    }
}

/// Applies an ordering operator to `request.cmp(policy)`.
fn ordered(op: BaseOperator, ord: Option<std::cmp::Ordering>) -> bool {
    use BaseOperator as B;
    use std::cmp::Ordering::{Equal, Greater, Less};
    match (op, ord) {
        (_, None) => false,
        (B::NumericEquals | B::DateEquals, Some(o)) => o == Equal,
        (B::NumericLessThan | B::DateLessThan, Some(o)) => o == Less,
        (B::NumericLessThanEquals | B::DateLessThanEquals, Some(o)) => o != Greater,
        (B::NumericGreaterThan | B::DateGreaterThan, Some(o)) => o == Greater,
        (B::NumericGreaterThanEquals | B::DateGreaterThanEquals, Some(o)) => o != Less,
        _ => false,
    }
}
