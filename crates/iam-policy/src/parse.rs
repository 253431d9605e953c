//! JSON → [`Policy`]: the IAM grammar as SCPs use it, both legacy and post-Sep-2025
//! full-language SCPs (scp-semantics.md §2, §3.1). Every rejection is a [`PolicyError`]
//! naming the policy id and the JSON path; nothing here panics.

use serde_json::{Map, Value};

use crate::date::parse_millis;
use crate::error::PolicyError;
use crate::ip::Cidr;
use crate::json::parse_with_duplicates;
use crate::model::{
    ActionSpec, BaseOperator, Condition, Effect, Family, Operator, ParseWarning, Policy, PrincipalId, PrincipalSpec,
    ResourceSpec, SetOperator, Statement,
};

const VERSION_2012: &str = "2012-10-17";
const VERSION_2008: &str = "2008-10-17";

/// Parses an SCP document.
///
/// `policy_id` is only used to label errors and the result. Missing `Resource` is accepted
/// as `"*"` with a warning (§3.1 UNSURE); `Principal`/`NotPrincipal` are rejected because
/// SCPs do not support them (§2.1).
pub fn parse_policy(policy_id: &str, json: &str) -> Result<Policy, PolicyError> {
    parse_document(policy_id, json, false)
}

/// Parses a resource-based policy (a VPC endpoint policy, a bucket or key policy): the same
/// grammar, where every statement names its `Principal` or `NotPrincipal`.
pub fn parse_resource_policy(policy_id: &str, json: &str) -> Result<Policy, PolicyError> {
    parse_document(policy_id, json, true)
}

fn parse_document(policy_id: &str, json: &str, resource_policy: bool) -> Result<Policy, PolicyError> {
    let err = |place: &str, msg: String| PolicyError::new(policy_id, place, msg);
    let (doc, dups) = parse_with_duplicates(json).map_err(|e| err("document", format!("invalid JSON: {e}")))?;
    let Value::Object(doc) = doc else {
        return Err(err("document", "expected a JSON object".into()));
    };
    let mut warnings: Vec<ParseWarning> = dups
        .into_iter()
        .map(|place| ParseWarning {
            place,
            message: "duplicate JSON key; only the last occurrence is used (AWS behaviour \
                      unverified, §3.4)"
                .into(),
        })
        .collect();

    for key in doc.keys() {
        if !matches!(key.as_str(), "Version" | "Statement" | "Id") {
            return Err(err(key, "unknown top-level element".into()));
        }
    }
    let version = match doc.get("Version") {
        None => None,
        Some(Value::String(v)) if v == VERSION_2012 || v == VERSION_2008 => Some(v.clone()),
        Some(Value::String(v)) => {
            return Err(err("Version", format!("unsupported version {v:?}")));
        }
        Some(_) => return Err(err("Version", "expected string".into())),
    };
    if doc.get("Id").is_some_and(|id| !id.is_string()) {
        return Err(err("Id", "expected string".into()));
    }
    // Without Version, IAM defaults to 2008-10-17, where `${...}` is literal (§3.1).
    let variables_enabled = version.as_deref() == Some(VERSION_2012);

    let raw_statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(a)) if a.is_empty() => {
            return Err(err("Statement", "must contain at least one statement".into()));
        }
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        Some(_) => return Err(err("Statement", "expected object or array".into())),
        None => return Err(err("document", "missing Statement".into())),
    };
    let mut statements = Vec::with_capacity(raw_statements.len());
    for (index, raw) in raw_statements.into_iter().enumerate() {
        let place = format!("Statement[{index}]");
        let Value::Object(obj) = raw else {
            return Err(err(&place, "expected object".into()));
        };
        let ctx = StmtCtx { policy_id, place, variables_enabled, resource_policy };
        statements.push(ctx.statement(index, obj, &mut warnings)?);
    }
    Ok(Policy { id: policy_id.to_owned(), version, statements, warnings })
}

struct StmtCtx<'a> {
    policy_id: &'a str,
    place: String,
    variables_enabled: bool,
    resource_policy: bool,
}

impl StmtCtx<'_> {
    fn err(&self, sub: &str, msg: impl Into<String>) -> PolicyError {
        let place = if sub.is_empty() { self.place.clone() } else { format!("{}.{sub}", self.place) };
        PolicyError::new(self.policy_id, &place, msg)
    }

    fn statement(
        &self,
        index: usize,
        obj: &Map<String, Value>,
        warnings: &mut Vec<ParseWarning>,
    ) -> Result<Statement, PolicyError> {
        for key in obj.keys() {
            match key.as_str() {
                "Sid" | "Effect" | "Action" | "NotAction" | "Resource" | "NotResource" | "Condition" => {}
                "Principal" | "NotPrincipal" if self.resource_policy => {}
                "Principal" | "NotPrincipal" => {
                    return Err(self.err(key, "not supported in service control policies"));
                }
                _ => return Err(self.err(key, "unknown statement element")),
            }
        }
        let sid = match obj.get("Sid") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(self.err("Sid", "expected string")),
        };
        let effect = match obj.get("Effect") {
            Some(Value::String(s)) if s == "Allow" => Effect::Allow,
            Some(Value::String(s)) if s == "Deny" => Effect::Deny,
            Some(Value::String(s)) => {
                return Err(self.err("Effect", format!("expected \"Allow\" or \"Deny\", got {s:?}")));
            }
            Some(_) => return Err(self.err("Effect", "expected string")),
            None => return Err(self.err("", "missing Effect")),
        };
        let action = match (obj.get("Action"), obj.get("NotAction")) {
            (Some(_), Some(_)) => {
                return Err(self.err("", "has both Action and NotAction"));
            }
            (Some(v), None) => ActionSpec::Action(self.actions("Action", v)?),
            (None, Some(v)) => ActionSpec::NotAction(self.actions("NotAction", v)?),
            (None, None) => return Err(self.err("", "missing Action or NotAction")),
        };
        let resource = match (obj.get("Resource"), obj.get("NotResource")) {
            (Some(_), Some(_)) => {
                return Err(self.err("", "has both Resource and NotResource"));
            }
            (Some(v), None) => ResourceSpec::Resource(self.resources("Resource", v)?),
            (None, Some(v)) => ResourceSpec::NotResource(self.resources("NotResource", v)?),
            (None, None) => {
                // §3.1 UNSURE: treat a missing Resource as "*" and say so.
                warnings.push(ParseWarning {
                    place: self.place.clone(),
                    message: "no Resource or NotResource; treated as \"Resource\": \"*\"".into(),
                });
                ResourceSpec::Resource(vec!["*".into()])
            }
        };
        let conditions = match obj.get("Condition") {
            None => Vec::new(),
            Some(Value::Object(block)) => self.conditions(block)?,
            Some(_) => return Err(self.err("Condition", "expected object")),
        };
        let principal = if self.resource_policy {
            Some(match (obj.get("Principal"), obj.get("NotPrincipal")) {
                (Some(_), Some(_)) => return Err(self.err("", "has both Principal and NotPrincipal")),
                (Some(v), None) => PrincipalSpec::Principal(self.principals("Principal", v)?),
                (None, Some(v)) => PrincipalSpec::NotPrincipal(self.principals("NotPrincipal", v)?),
                (None, None) => return Err(self.err("", "missing Principal or NotPrincipal")),
            })
        } else {
            None
        };
        Ok(Statement {
            index,
            sid,
            effect,
            action,
            resource,
            conditions,
            variables_enabled: self.variables_enabled,
            principal,
        })
    }

    /// `"*"`, or an object of `AWS` / `Service` / `Federated` / `CanonicalUser` lists.
    fn principals(&self, name: &str, v: &Value) -> Result<Vec<PrincipalId>, PolicyError> {
        let block = match v {
            Value::String(s) if s == "*" => return Ok(vec![PrincipalId::Anyone]),
            Value::Object(block) if !block.is_empty() => block,
            _ => return Err(self.err(name, "expected \"*\" or an object such as {\"AWS\": [...]}")),
        };
        let mut out = Vec::new();
        for (kind, values) in block {
            let place = format!("{name}.{kind}");
            let values = self.string_list(&place, values)?;
            for value in values {
                out.push(match kind.as_str() {
                    "AWS" => aws_principal(&value).ok_or_else(|| {
                        self.err(&place, format!("{value:?} is not \"*\", an account id or an IAM ARN"))
                    })?,
                    "Service" | "Federated" | "CanonicalUser" => PrincipalId::Other(format!("{kind}:{value}")),
                    _ => return Err(self.err(&place, "unknown principal type")),
                });
            }
        }
        Ok(out)
    }

    /// A string or a non-empty array of strings (§3.1).
    fn string_list(&self, name: &str, v: &Value) -> Result<Vec<String>, PolicyError> {
        let list = match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) if items.is_empty() => {
                return Err(self.err(name, "must not be empty"));
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        _ => return Err(self.err(&format!("{name}[{i}]"), "expected string")),
                    }
                }
                out
            }
            _ => return Err(self.err(name, "expected string or array of strings")),
        };
        Ok(list)
    }

    fn actions(&self, name: &str, v: &Value) -> Result<Vec<String>, PolicyError> {
        let list = self.string_list(name, v)?;
        for (i, a) in list.iter().enumerate() {
            // IAM requires `service:action` or `*` (§3.2).
            if a != "*" && !a.contains(':') {
                return Err(
                    self.err(&format!("{name}[{i}]"), format!("{a:?} is not \"*\" or of the form service:action"))
                );
            }
        }
        Ok(list)
    }

    fn resources(&self, name: &str, v: &Value) -> Result<Vec<String>, PolicyError> {
        let list = self.string_list(name, v)?;
        for (i, r) in list.iter().enumerate() {
            if r != "*" && !r.starts_with("arn:") {
                return Err(self.err(&format!("{name}[{i}]"), format!("{r:?} is not \"*\" or an ARN")));
            }
        }
        Ok(list)
    }

    fn conditions(&self, block: &Map<String, Value>) -> Result<Vec<Condition>, PolicyError> {
        let mut out = Vec::new();
        for (op_name, keys) in block {
            let place = format!("Condition.{op_name}");
            let operator = parse_operator(op_name).map_err(|m| self.err(&place, m))?;
            let Value::Object(keys) = keys else {
                return Err(self.err(&place, "expected object of condition keys"));
            };
            for (key, values) in keys {
                let kplace = format!("{place}.{key}");
                let values = self.condition_values(&place, &kplace, values)?;
                validate_values(operator.base, &values).map_err(|m| self.err(&kplace, m))?;
                out.push(Condition { operator: operator.clone(), key: key.clone(), values });
            }
        }
        Ok(out)
    }

    /// String, number, bool, or array of those; scalars are stringified (§3.1).
    fn condition_values(&self, op_place: &str, place: &str, v: &Value) -> Result<Vec<String>, PolicyError> {
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    scalar(item).ok_or_else(|| self.err(&format!("{place}[{i}]"), "expected string, number or bool"))
                })
                .collect(),
            other => scalar(other).map(|s| vec![s]).ok_or_else(|| self.err(op_place, "expected string or array")),
        }
    }
}

/// An `AWS` principal entry: `*`, an account id, an account root ARN or another IAM ARN.
fn aws_principal(value: &str) -> Option<PrincipalId> {
    if value == "*" {
        return Some(PrincipalId::Anyone);
    }
    let is_account = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    if is_account(value) {
        return Some(PrincipalId::Account(value.to_owned()));
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam" | "sts", "", account, rest] if is_account(account) => Some(if *rest == "root" {
            PrincipalId::Account((*account).to_owned())
        } else {
            PrincipalId::Arn(value.to_owned())
        }),
        _ => None,
    }
}

/// Splits `ForAnyValue:StringNotLikeIfExists` into its parts. Names are matched
/// case-insensitively to be lenient with hand-written documents.
fn parse_operator(raw: &str) -> Result<Operator, String> {
    let lower = raw.to_ascii_lowercase();
    let (set, rest) = if let Some(r) = lower.strip_prefix("foranyvalue:") {
        (Some(SetOperator::ForAnyValue), r)
    } else if let Some(r) = lower.strip_prefix("forallvalues:") {
        (Some(SetOperator::ForAllValues), r)
    } else {
        (None, lower.as_str())
    };
    let (if_exists, base_name) = match rest.strip_suffix("ifexists") {
        Some(b) => (true, b),
        None => (false, rest),
    };
    let base = BaseOperator::ALL
        .iter()
        .copied()
        .find(|b| b.name().eq_ignore_ascii_case(base_name))
        .ok_or_else(|| format!("unknown condition operator {raw:?}"))?;
    if base == BaseOperator::Null && if_exists {
        return Err(format!("condition operator {raw:?}: Null has no IfExists form"));
    }
    if base == BaseOperator::Null && set.is_some() {
        return Err(format!("condition operator {raw:?}: Null takes no set prefix"));
    }
    Ok(Operator { raw: raw.to_owned(), set, base, if_exists })
}

/// Rejects values an operator can never compare, so a typo is reported rather than
/// silently never matching. String, ARN, Bool and Binary accept any text.
fn validate_values(base: BaseOperator, values: &[String]) -> Result<(), String> {
    for v in values {
        let ok = match base.family() {
            Family::Numeric => v.trim().parse::<f64>().is_ok_and(f64::is_finite),
            Family::Date => parse_millis(v).is_some(),
            Family::Ip => Cidr::parse(v).is_some(),
            Family::Null => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
            Family::String | Family::Bool | Family::Binary | Family::Arn => true,
        };
        if !ok {
            return Err(format!("{v:?} is not a valid value for {}", base.name()));
        }
    }
    Ok(())
}
