//! Management-policy inheritance: the effective policy of an account from the management
//! policies (Bedrock, tag, backup, AI opt-out, declarative ...) attached to the root, the OUs
//! on its path and the account itself (Organizations user guide, "Policy syntax and
//! inheritance for management policy types").
//!
//! The rules, as the guide states them:
//! - `@@assign` replaces the inherited value (a scalar or a list); `@@append` adds to an
//!   inherited list and `@@remove` takes values out of it — both only for lists.
//! - `@@operators_allowed_for_child_policies` (`["@@all"]` by default, a subset of the three
//!   value-setting operators, or `["@@none"]`) limits what policies *below* may do; a limit
//!   cannot be lifted further down. Two policies on the same node: the intersection holds.
//! - Two policies on the same node assigning different values: the one attached first wins.
//!   Organizations does not say which was attached first (no API returns the order), so such
//!   a conflict is reported, never settled by a guess: the caller reads the account's
//!   effective policy from `DescribeEffectivePolicy` instead.
//! - The effective policy has no operators, only values; a list emptied by `@@remove` is
//!   left out.
//!
//! Where the guide is silent we say what we do: a limit set on a node holds for everything
//! beneath it (the guide's examples lock leaves; an opt-out example repeats the lock on each
//! level, which this reading makes redundant, never wrong); a bare value where an operator
//! object was expected counts as `@@assign` and is noted; an operator that does not fit the
//! value (`@@append` on a scalar) is noted and not applied.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// One policy attached to a node of the path, with its content parsed.
#[derive(Debug, Clone, Copy)]
pub struct Attached<'a> {
    /// `p-...`.
    pub policy_id: &'a str,
    /// The policy document.
    pub content: &'a Value,
}

/// What the computation could not apply as written, for the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The policy the note is about.
    pub policy_id: String,
    /// The setting, as dotted keys (`bedrock.guardrail_inference.eu-west-1.config_1.identifier`).
    pub path: String,
    /// What happened.
    pub kind: NoteKind,
}

/// The kinds of [`Note`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoteKind {
    /// A policy used an operator a policy above it does not allow here; it was ignored, as
    /// Organizations ignores it.
    OperatorNotAllowed {
        /// The operator, e.g. `@@assign`.
        operator: String,
    },
    /// Two policies on the same node assign different values; which one holds depends on
    /// the order they were attached in, which no API tells. The value is unknown.
    SameNodeConflict {
        /// The other policy.
        other_policy_id: String,
    },
    /// A value stood where an operator object was expected; it counted as `@@assign`.
    BareValue,
    /// The policy's shape is not one Organizations accepts here; that part was skipped.
    Malformed {
        /// What is wrong.
        problem: String,
    },
}

/// An account's effective management policy as computed from its path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effective {
    /// The effective policy: values only, no operators. An empty object when nothing applies.
    pub policy: Value,
    /// What could not be applied as written.
    pub notes: Vec<Note>,
    /// The settings a same-node conflict left unknown (no lower level settled them): their
    /// value is `null` in `policy`.
    pub unresolved: Vec<String>,
}

impl Effective {
    /// True when the tree alone cannot tell the effective policy (a same-node conflict that
    /// no lower level settled).
    pub fn is_ambiguous(&self) -> bool {
        !self.unresolved.is_empty()
    }
}

/// The value-setting operators, as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operators(u8);

impl Operators {
    const ALL: Self = Self(0b111);
    const NONE: Self = Self(0);

    fn bit(op: ValueOp) -> u8 {
        match op {
            ValueOp::Assign => 0b001,
            ValueOp::Append => 0b010,
            ValueOp::Remove => 0b100,
        }
    }
    fn allows(self, op: ValueOp) -> bool {
        self.0 & Self::bit(op) != 0
    }
    fn and(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueOp {
    Assign,
    Append,
    Remove,
}

impl ValueOp {
    fn parse(key: &str) -> Option<Self> {
        match key {
            "@@assign" => Some(Self::Assign),
            "@@append" => Some(Self::Append),
            "@@remove" => Some(Self::Remove),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Self::Assign => "@@assign",
            Self::Append => "@@append",
            Self::Remove => "@@remove",
        }
    }
}

const CHILD_CONTROL: &str = "@@operators_allowed_for_child_policies";

/// A setting of the policy being built.
#[derive(Debug, Default)]
struct Node {
    value: Option<Value>,
    /// Who assigned `value` on the level being applied, to tell same-node conflicts.
    assigned_here: Option<String>,
    /// The value of `value` is unknown (a same-node conflict on this or an earlier level).
    unknown: bool,
    children: BTreeMap<String, Node>,
    /// What policies on lower levels may do here and beneath.
    allowed: Option<Operators>,
    /// The limit set on the level being applied; becomes part of `allowed` after it.
    pending: Option<Operators>,
}

/// The effective policy of an account whose path has `levels` (root first, the account's
/// own node last), each with its policies in the order they are listed.
pub fn effective(levels: &[Vec<Attached<'_>>]) -> Effective {
    let mut root = Node::default();
    let mut notes = Vec::new();
    for level in levels {
        for attached in level {
            match attached.content {
                Value::Object(map) if map.keys().any(|k| ValueOp::parse(k).is_some()) => notes.push(Note {
                    policy_id: attached.policy_id.to_owned(),
                    path: String::new(),
                    kind: NoteKind::Malformed { problem: "a value operator at the top of the policy".into() },
                }),
                Value::Object(map) => {
                    apply_object(&mut root, map, Operators::ALL, attached.policy_id, &mut Vec::new(), &mut notes)
                }
                _ => notes.push(Note {
                    policy_id: attached.policy_id.to_owned(),
                    path: String::new(),
                    kind: NoteKind::Malformed { problem: "the policy is not a JSON object".into() },
                }),
            }
        }
        close_level(&mut root);
    }
    let mut unresolved = Vec::new();
    unknown_paths(&root, &mut Vec::new(), &mut unresolved);
    Effective { policy: render(&root).unwrap_or_else(|| Value::Object(Map::new())), notes, unresolved }
}

fn unknown_paths(node: &Node, path: &mut Vec<String>, out: &mut Vec<String>) {
    if node.unknown {
        out.push(path.join("."));
        return;
    }
    for (key, child) in &node.children {
        path.push(key.clone());
        unknown_paths(child, path, out);
        path.pop();
    }
}

/// Applies one policy object (a node holding settings, or an operator object) at `node`.
fn apply_object(
    node: &mut Node,
    map: &Map<String, Value>,
    inherited: Operators,
    policy: &str,
    path: &mut Vec<String>,
    notes: &mut Vec<Note>,
) {
    let allowed_here = node.allowed.map_or(inherited, |a| inherited.and(a));
    let note = |path: &[String], kind: NoteKind| Note { policy_id: policy.to_owned(), path: path.join("."), kind };
    let mut ops = Vec::new();
    let mut settings = Vec::new();
    for (key, value) in map {
        if key == CHILD_CONTROL {
            match parse_child_control(value) {
                Ok(limit) => node.pending = Some(node.pending.map_or(limit, |p| p.and(limit))),
                Err(problem) => notes.push(note(path, NoteKind::Malformed { problem })),
            }
        } else if let Some(op) = ValueOp::parse(key) {
            ops.push((op, value));
        } else if key.starts_with("@@") {
            notes.push(note(path, NoteKind::Malformed { problem: format!("unknown operator `{key}`") }));
        } else {
            settings.push((key, value));
        }
    }
    if !ops.is_empty() && !settings.is_empty() {
        notes.push(note(
            path,
            NoteKind::Malformed { problem: "a setting holds both a value operator and nested settings".into() },
        ));
        return;
    }
    if ops.len() > 1 {
        let problem = "a setting holds more than one value operator".to_owned();
        notes.push(note(path, NoteKind::Malformed { problem }));
        return;
    }
    if let Some((op, value)) = ops.first() {
        if !allowed_here.allows(*op) {
            notes.push(note(path, NoteKind::OperatorNotAllowed { operator: op.name().into() }));
            return;
        }
        if let Err(kind) = set_value(node, *op, value, policy) {
            notes.push(note(path, kind));
        }
        return;
    }
    if node.value.is_some() && !settings.is_empty() {
        let problem = "nested settings where a value was inherited".to_owned();
        notes.push(note(path, NoteKind::Malformed { problem }));
        return;
    }
    for (key, value) in settings {
        path.push(key.clone());
        let child = node.children.entry(key.clone()).or_default();
        match value {
            Value::Object(inner) => apply_object(child, inner, allowed_here, policy, path, notes),
            bare => {
                notes.push(note(path, NoteKind::BareValue));
                let mut wrapped = Map::new();
                wrapped.insert("@@assign".to_owned(), bare.clone());
                apply_object(child, &wrapped, allowed_here, policy, path, notes);
            }
        }
        path.pop();
    }
}

fn parse_child_control(value: &Value) -> Result<Operators, String> {
    let Value::Array(items) = value else {
        return Err(format!("{CHILD_CONTROL} must be a list"));
    };
    let mut set = Operators::NONE;
    let mut none = false;
    for item in items {
        match item.as_str() {
            Some("@@all") => set = Operators::ALL,
            Some("@@none") => none = true,
            Some(op) => match ValueOp::parse(op) {
                Some(op) => set.0 |= Operators::bit(op),
                None => return Err(format!("{CHILD_CONTROL} names an unknown operator")),
            },
            None => return Err(format!("{CHILD_CONTROL} must list operator names")),
        }
    }
    if none && set != Operators::NONE {
        return Err(format!("{CHILD_CONTROL} lists @@none with other operators"));
    }
    if items.is_empty() {
        return Err(format!("{CHILD_CONTROL} is empty"));
    }
    Ok(set)
}

fn set_value(node: &mut Node, op: ValueOp, value: &Value, policy: &str) -> Result<(), NoteKind> {
    let malformed = |problem: &str| Err(NoteKind::Malformed { problem: problem.to_owned() });
    match op {
        ValueOp::Assign => {
            if value.is_object() || (value.is_array() && plain_list(value).is_none()) {
                return malformed("@@assign needs a value or a list of values, not an object");
            }
            if let Some(first) = &node.assigned_here {
                if first != policy && node.value.as_ref() != Some(value) {
                    node.unknown = true;
                    return Err(NoteKind::SameNodeConflict { other_policy_id: first.clone() });
                }
                return Ok(());
            }
            node.value = Some(value.clone());
            node.unknown = false;
            node.assigned_here = Some(policy.to_owned());
            node.children.clear();
            Ok(())
        }
        ValueOp::Append => {
            let Some(added) = plain_list(value) else { return malformed("@@append needs a list of values") };
            match &mut node.value {
                None => node.value = Some(Value::Array(dedup(added.clone()))),
                Some(Value::Array(have)) => {
                    for v in added {
                        if !have.contains(v) {
                            have.push(v.clone());
                        }
                    }
                }
                Some(_) => return malformed("@@append onto a value that is not a list"),
            }
            Ok(())
        }
        ValueOp::Remove => {
            let Some(removed) = plain_list(value) else { return malformed("@@remove needs a list of values") };
            match &mut node.value {
                None => {}
                Some(Value::Array(have)) => {
                    have.retain(|v| !removed.contains(v));
                    if have.is_empty() {
                        node.value = None;
                    }
                }
                Some(_) => return malformed("@@remove from a value that is not a list"),
            }
            Ok(())
        }
    }
}

/// A list of scalars: what `@@append` and `@@remove` work on.
fn plain_list(value: &Value) -> Option<&Vec<Value>> {
    value.as_array().filter(|items| !items.iter().any(|v| v.is_object() || v.is_array()))
}

fn dedup(values: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Ends a level: the limits its policies set start to hold, and assignments become inherited.
fn close_level(node: &mut Node) {
    if let Some(limit) = node.pending.take() {
        node.allowed = Some(node.allowed.map_or(limit, |a| a.and(limit)));
    }
    node.assigned_here = None;
    for child in node.children.values_mut() {
        close_level(child);
    }
}

/// The node as an effective-policy value; `None` when nothing is set in it. A value a
/// same-node conflict left unknown is rendered as JSON `null`: never as one of the two.
fn render(node: &Node) -> Option<Value> {
    if node.unknown {
        return Some(Value::Null);
    }
    if let Some(v) = &node.value {
        return Some(v.clone());
    }
    let map: Map<String, Value> =
        node.children.iter().filter_map(|(k, child)| render(child).map(|v| (k.clone(), v))).collect();
    (!map.is_empty()).then_some(Value::Object(map))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn run(levels: &[&[(&str, Value)]]) -> Effective {
        let levels: Vec<Vec<Attached<'_>>> = levels
            .iter()
            .map(|l| l.iter().map(|(id, content)| Attached { policy_id: id, content }).collect())
            .collect();
        effective(&levels)
    }

    /// The guide's root policy A of its worked examples.
    fn policy_a() -> Value {
        json!({"tags": {"costcenter": {
            "tag_key": {"@@assign": "CostCenter"},
            "tag_value": {"@@assign": ["Development", "Support"]}}}})
    }

    #[test]
    fn assign_in_a_child_replaces_the_inherited_list() {
        let b = json!({"tags": {"costcenter": {
            "tag_key": {"@@assign": "CostCenter"},
            "tag_value": {"@@assign": ["Sandbox"]},
            "enforced_for": {"@@assign": ["redshift:*", "dynamodb:table"]}}}});
        let e = run(&[&[("p-a", policy_a())], &[("p-b", b)]]);
        assert_eq!(
            e.policy,
            json!({"tags": {"costcenter": {"tag_key": "CostCenter", "tag_value": ["Sandbox"],
                "enforced_for": ["redshift:*", "dynamodb:table"]}}})
        );
        assert!(e.notes.is_empty());
    }

    #[test]
    fn append_adds_to_the_inherited_list_and_remove_empties_it_away() {
        let c = json!({"tags": {"costcenter": {
            "tag_key": {"@@assign": "CostCenter"},
            "tag_value": {"@@append": ["Marketing"]},
            "enforced_for": {"@@append": ["redshift:*", "dynamodb:table"]}}}});
        let e = run(&[&[("p-a", policy_a())], &[("p-c", c.clone())]]);
        assert_eq!(
            e.policy,
            json!({"tags": {"costcenter": {"tag_key": "CostCenter",
                "tag_value": ["Development", "Support", "Marketing"],
                "enforced_for": ["redshift:*", "dynamodb:table"]}}})
        );
        // Policy D on the account (the guide nests enforced_for by mistake; here it is a sibling).
        let d = json!({"tags": {"costcenter": {
            "tag_key": {"@@assign": "CostCenter"},
            "tag_value": {"@@remove": ["Development", "Marketing"]},
            "enforced_for": {"@@remove": ["redshift:*", "dynamodb:table"]}}}});
        let e = run(&[&[("p-a", policy_a())], &[("p-c", c)], &[("p-d", d)]]);
        assert_eq!(e.policy, json!({"tags": {"costcenter": {"tag_key": "CostCenter", "tag_value": ["Support"]}}}));
    }

    #[test]
    fn a_child_cannot_use_an_operator_its_parent_forbade() {
        let e_root = json!({"tags": {"project": {
            "tag_key": {"@@operators_allowed_for_child_policies": ["@@none"], "@@assign": "Project"},
            "tag_value": {"@@operators_allowed_for_child_policies": ["@@append"],
                "@@assign": ["Maintenance", "Escalations"]}}}});
        let f = json!({"tags": {"project": {
            "tag_key": {"@@assign": "PROJECT"},
            "tag_value": {"@@append": ["Escalations - research"]}}}});
        let e = run(&[&[("p-e", e_root.clone())], &[("p-f", f)]]);
        assert_eq!(
            e.policy,
            json!({"tags": {"project": {"tag_key": "Project",
                "tag_value": ["Maintenance", "Escalations", "Escalations - research"]}}})
        );
        assert_eq!(
            e.notes,
            vec![Note {
                policy_id: "p-f".into(),
                path: "tags.project.tag_key".into(),
                kind: NoteKind::OperatorNotAllowed { operator: "@@assign".into() }
            }]
        );
        // The limit holds on every level below, and cannot be lifted by an OU in between.
        let lift = json!({"tags": {"project": {"tag_value": {
            "@@operators_allowed_for_child_policies": ["@@all"], "@@append": ["x"]}}}});
        let remove = json!({"tags": {"project": {"tag_value": {"@@remove": ["Maintenance"]}}}});
        let e = run(&[&[("p-e", e_root)], &[("p-lift", lift)], &[("p-rm", remove)]]);
        assert_eq!(e.policy["tags"]["project"]["tag_value"], json!(["Maintenance", "Escalations", "x"]));
        assert_eq!(e.notes[0].kind, NoteKind::OperatorNotAllowed { operator: "@@remove".into() });
    }

    #[test]
    fn a_limit_holds_below_the_node_it_is_set_on() {
        let root = json!({"bedrock": {"@@operators_allowed_for_child_policies": ["@@none"],
            "guardrail_inference": {"eu-west-1": {"c": {"identifier": {"@@assign": "arn:1"}}}}}});
        let ou =
            json!({"bedrock": {"guardrail_inference": {"eu-west-1": {"c": {"identifier": {"@@assign": "arn:2"}}}}}});
        let e = run(&[&[("p-root", root)], &[("p-ou", ou)]]);
        assert_eq!(e.policy["bedrock"]["guardrail_inference"]["eu-west-1"]["c"]["identifier"], json!("arn:1"));
        assert_eq!(e.notes.len(), 1);
    }

    #[test]
    fn limits_of_policies_on_the_same_node_intersect_and_bind_only_lower_levels() {
        let g = json!({"tags": {"project": {"tag_value": {
            "@@operators_allowed_for_child_policies": ["@@append"], "@@assign": ["Maintenance"]}}}});
        let h = json!({"tags": {"project": {"tag_value": {
            "@@operators_allowed_for_child_policies": ["@@append", "@@remove"]}}}});
        let child = json!({"tags": {"project": {"tag_value": {"@@remove": ["Maintenance"]}}}});
        let e = run(&[&[("p-g", g.clone()), ("p-h", h.clone())], &[("p-x", child)]]);
        assert_eq!(e.policy["tags"]["project"]["tag_value"], json!(["Maintenance"]));
        assert_eq!(e.notes[0].kind, NoteKind::OperatorNotAllowed { operator: "@@remove".into() });
        let append = json!({"tags": {"project": {"tag_value": {"@@append": ["Escalations"]}}}});
        let e = run(&[&[("p-g", g), ("p-h", h)], &[("p-y", append)]]);
        assert_eq!(e.policy["tags"]["project"]["tag_value"], json!(["Maintenance", "Escalations"]));
        assert!(e.notes.is_empty());
    }

    #[test]
    fn conflicting_assignments_on_one_node_are_reported_not_guessed() {
        let j = json!({"tags": {"project": {"tag_key": {"@@assign": "PROJECT"}, "tag_value": {"@@append": ["Maintenance"]}}}});
        let k = json!({"tags": {"project": {"tag_key": {"@@assign": "project"}}}});
        let e = run(&[&[("p-j", j.clone()), ("p-k", k)]]);
        assert_eq!(e.unresolved, vec!["tags.project.tag_key"]);
        assert_eq!(e.policy["tags"]["project"]["tag_key"], Value::Null);
        assert_eq!(e.policy["tags"]["project"]["tag_value"], json!(["Maintenance"]));
        assert_eq!(e.notes[0].kind, NoteKind::SameNodeConflict { other_policy_id: "p-j".into() });
        // The same value twice is no conflict; a lower level's assignment settles it.
        let same = json!({"tags": {"project": {"tag_key": {"@@assign": "PROJECT"}}}});
        assert!(!run(&[&[("p-j", j.clone()), ("p-s", same)]]).is_ambiguous());
        let below = json!({"tags": {"project": {"tag_key": {"@@assign": "Project"}}}});
        let k = json!({"tags": {"project": {"tag_key": {"@@assign": "project"}}}});
        let e = run(&[&[("p-j", j), ("p-k", k)], &[("p-below", below)]]);
        assert_eq!(e.policy["tags"]["project"]["tag_key"], json!("Project"));
        assert!(!e.is_ambiguous());
    }

    #[test]
    fn shapes_organizations_rejects_are_noted_and_skipped() {
        let scalar_append = json!({"tags": {"k": {"tag_key": {"@@append": "x"}}}});
        let e = run(&[&[("p-1", json!({"tags": {"k": {"tag_key": {"@@assign": "K"}}}}))], &[("p-2", scalar_append)]]);
        assert_eq!(e.policy, json!({"tags": {"k": {"tag_key": "K"}}}));
        assert!(matches!(e.notes[0].kind, NoteKind::Malformed { .. }));
        let e = run(&[&[("p-3", json!({"a": {"@@assign": 1, "@@append": [2]}})), ("p-4", json!([1]))]]);
        assert_eq!(e.policy, json!({}));
        assert_eq!(e.notes.len(), 2);
        let e =
            run(&[&[("p-5", json!({"a": {"@@bogus": 1}, "b": {"@@operators_allowed_for_child_policies": "@@none"}}))]]);
        assert_eq!(e.notes.len(), 2);
        let bare = run(&[&[("p-6", json!({"bedrock": {"x": "y"}}))]]);
        assert_eq!(bare.policy, json!({"bedrock": {"x": "y"}}));
        assert_eq!(bare.notes[0].kind, NoteKind::BareValue);
    }

    #[test]
    fn a_bedrock_policy_resolves_to_plain_values() {
        let root = json!({"bedrock": {"guardrail_inference": {"eu-west-1": {"config_1": {
            "identifier": {"@@assign": "arn:aws:bedrock:eu-west-1:111111111111:guardrail/abc:1"},
            "model_enforcement": {"included_models": {"@@assign": ["ALL"]}, "excluded_models": {"@@assign": []}}}}}}});
        let ou = json!({"bedrock": {"guardrail_inference": {"eu-west-1": {"config_1": {
            "model_enforcement": {"excluded_models": {"@@append": ["amazon.titan-embed-text-v2:0"]}}}}}}});
        let e = run(&[&[("p-root", root)], &[("p-ou", ou)], &[]]);
        assert_eq!(
            e.policy,
            json!({"bedrock": {"guardrail_inference": {"eu-west-1": {"config_1": {
                "identifier": "arn:aws:bedrock:eu-west-1:111111111111:guardrail/abc:1",
                "model_enforcement": {"included_models": ["ALL"], "excluded_models": ["amazon.titan-embed-text-v2:0"]}}}}}})
        );
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let keys = prop_oneof![
            Just("@@assign".to_owned()),
            Just("@@append".to_owned()),
            Just("@@remove".to_owned()),
            Just(CHILD_CONTROL.to_owned()),
            Just("@@all".to_owned()),
            Just("bedrock".to_owned()),
            "[a-z@]{0,6}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            prop_oneof![Just("@@none".to_owned()), Just("@@assign".to_owned()), "[a-z@:]{0,8}"].prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((keys.clone(), inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn has_operator_key(v: &Value) -> bool {
        match v {
            Value::Object(m) => m.iter().any(|(k, v)| k.starts_with("@@") || has_operator_key(v)),
            Value::Array(a) => a.iter().any(has_operator_key),
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_json(levels in prop::collection::vec(prop::collection::vec(arbitrary_json(), 0..3), 0..4)) {
            let levels: Vec<Vec<(String, Value)>> = levels
                .into_iter()
                .enumerate()
                .map(|(i, l)| l.into_iter().enumerate().map(|(j, v)| (format!("p-{i}-{j}"), v)).collect())
                .collect();
            let attached: Vec<Vec<Attached<'_>>> = levels
                .iter()
                .map(|l| l.iter().map(|(id, content)| Attached { policy_id: id, content }).collect())
                .collect();
            let e = effective(&attached);
            prop_assert!(e.policy.is_object());
            // No operator survives into an effective policy.
            prop_assert!(!has_operator_key(&e.policy));
        }
    }
}
