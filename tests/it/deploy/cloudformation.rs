//! `deploy/cloudformation/`: cfn-lint accepts both templates, and what they deploy is what the
//! policy files say. The templates are resolved here as CloudFormation would resolve them
//! (parameters, pseudo parameters, `Fn::Sub`, `Fn::If` and the conditions) and each policy is
//! compared with its file, so a collector's new action (which its unit test forces into
//! `deploy/member-role-policy.json`) fails here until `scripts/sync-cloudformation.sh` copies
//! it into the template.

use std::collections::BTreeMap;

use bedrock_sweeper::config::AwsSettings;
use bedrock_sweeper::domain::Partition;
use serde_json::{Value, json};

use super::{repo, run_tool, yaml_documents};

const ACCOUNT: &str = "123456789012";

/// A template with its parameters chosen: what CloudFormation would create.
struct Stack {
    template: Value,
    parameters: BTreeMap<String, String>,
}

impl Stack {
    fn new(path: &str, given: &[(&str, &str)]) -> Self {
        let template = yaml_documents(path).remove(0);
        let mut parameters = BTreeMap::new();
        for (name, declared) in template["Parameters"].as_object().unwrap() {
            if let Some(default) = declared["Default"].as_str() {
                parameters.insert(name.clone(), default.to_owned());
            }
        }
        for (name, value) in given {
            assert!(template["Parameters"].get(*name).is_some(), "{path} has no parameter {name}");
            parameters.insert((*name).to_owned(), (*value).to_owned());
        }
        Self { template, parameters }
    }

    fn reference(&self, name: &str) -> String {
        match name {
            "AWS::Partition" => "aws".into(),
            "AWS::AccountId" => ACCOUNT.into(),
            "AWS::Region" => "eu-central-1".into(),
            _ => self.parameters.get(name).unwrap_or_else(|| panic!("no value for {name}")).clone(),
        }
    }

    fn sub(&self, text: &str, vars: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let end = rest[at..].find('}').expect("unclosed ${ in Fn::Sub") + at;
            let name = &rest[at + 2..end];
            match name.strip_prefix('!') {
                // `${!x}` is the literal `${x}` (an IAM policy variable).
                Some(literal) => out.push_str(&format!("${{{literal}}}")),
                None => out.push_str(&vars.get(name).cloned().unwrap_or_else(|| self.reference(name))),
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn condition(&self, value: &Value) -> bool {
        let args = |key: &str| value[key].as_array().unwrap().clone();
        if let Some(name) = value.get("Condition").and_then(Value::as_str) {
            return self.condition(&self.template["Conditions"][name]);
        }
        if value.get("Fn::Equals").is_some() {
            let [a, b] = <[Value; 2]>::try_from(args("Fn::Equals")).unwrap();
            return self.resolve(&a) == self.resolve(&b);
        }
        if value.get("Fn::Not").is_some() {
            return !self.condition(&args("Fn::Not")[0]);
        }
        if value.get("Fn::Or").is_some() {
            return args("Fn::Or").iter().any(|c| self.condition(c));
        }
        if value.get("Fn::And").is_some() {
            return args("Fn::And").iter().all(|c| self.condition(c));
        }
        panic!("not a condition: {value}")
    }

    fn named_condition(&self, name: &str) -> bool {
        self.condition(&self.template["Conditions"][name])
    }

    /// A value with every intrinsic function resolved (`Fn::GetAtt` is left as it is).
    fn resolve(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().unwrap();
                match key.as_str() {
                    // A resource's reference stays as it is: what it names is created by the stack.
                    "Ref" if self.template["Resources"].get(arg.as_str().unwrap()).is_some() => value.clone(),
                    "Ref" => json!(self.reference(arg.as_str().unwrap())),
                    "Fn::Sub" => match arg {
                        Value::String(text) => json!(self.sub(text, &BTreeMap::new())),
                        Value::Array(parts) => {
                            let vars = parts[1]
                                .as_object()
                                .unwrap()
                                .iter()
                                .map(|(k, v)| (k.clone(), self.resolve(v).as_str().unwrap().to_owned()))
                                .collect();
                            json!(self.sub(parts[0].as_str().unwrap(), &vars))
                        }
                        _ => panic!("Fn::Sub of {arg}"),
                    },
                    "Fn::If" => {
                        let branch = if self.named_condition(arg[0].as_str().unwrap()) { &arg[1] } else { &arg[2] };
                        self.resolve(branch)
                    }
                    _ => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.resolve(v))).collect()),
                }
            }
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.resolve(v))).collect()),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect()),
            other => other.clone(),
        }
    }

    /// The resources the stack creates (their `Condition`s held), resolved.
    fn resources(&self) -> BTreeMap<String, Value> {
        let mut created = BTreeMap::new();
        for (name, resource) in self.template["Resources"].as_object().unwrap() {
            if let Some(condition) = resource.get("Condition").and_then(Value::as_str)
                && !self.named_condition(condition)
            {
                continue;
            }
            created.insert(name.clone(), self.resolve(resource));
        }
        created
    }

    /// The policy documents of the stack's managed policies, by the role they are attached to.
    fn managed_policies(&self) -> Vec<Value> {
        self.resources()
            .values()
            .filter(|r| r["Type"] == "AWS::IAM::ManagedPolicy")
            .map(|r| {
                assert!(!r["Properties"]["Roles"].as_array().unwrap().is_empty(), "{r} is attached to no role");
                policy_document(&r["Properties"]["PolicyDocument"])
            })
            .collect()
    }
}

/// A policy document, parsed when the template gives it as (substituted) JSON text.
fn policy_document(value: &Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON: {e}: {text}")),
        other => other.clone(),
    }
}

/// A file of `deploy/`, as it reads inside the stack's account: `${aws:PrincipalAccount}` is
/// the account the role lives in, which a template names as `AWS::AccountId`.
fn policy_file(name: &str) -> Value {
    let text = std::fs::read_to_string(repo(&format!("deploy/{name}"))).unwrap();
    serde_json::from_str(&text.replace("${aws:PrincipalAccount}", ACCOUNT)).unwrap()
}

fn assert_same_policies(stack: &str, mut found: Vec<Value>, files: &[&str]) {
    let mut expected: Vec<Value> = files.iter().map(|f| policy_file(f)).collect();
    let key = |v: &Value| v.to_string();
    found.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(
        found, expected,
        "{stack} does not deploy exactly {files:?}: run scripts/sync-cloudformation.sh (it copies deploy/*.json into the templates)"
    );
}

#[test]
fn cfn_lint_accepts_the_templates() {
    run_tool("cfn-lint", &["deploy/cloudformation/member-role.yaml", "deploy/cloudformation/sweeper.yaml"]);
}

#[test]
fn the_member_role_stack_deploys_the_policy_files() {
    let sweeper = "arn:aws:iam::<SWEEPER_ACCOUNT_ID>:role/bedrock-sweeper";
    let given = [("SweeperPrincipalArn", sweeper), ("ExternalId", "<EXTERNAL_ID>")];
    let stack = Stack::new("deploy/cloudformation/member-role.yaml", &given);
    // The defaults: read-only and import (member-mode delivery), no suppression.
    assert_same_policies(
        "member-role.yaml (defaults)",
        stack.managed_policies(),
        &["member-role-policy.json", "security-hub-import-policy.json"],
    );
    let roles: Vec<Value> = stack.resources().into_values().filter(|r| r["Type"] == "AWS::IAM::Role").collect();
    assert_eq!(roles.len(), 1);
    let role = &roles[0]["Properties"];
    assert_eq!(policy_document(&role["AssumeRolePolicyDocument"]), policy_file("member-role-trust-policy.json"));
    let defaults = AwsSettings::default();
    assert_eq!(role["RoleName"], defaults.member_role_name.as_str(), "the default aws.member_role_name");
    assert_eq!(role["Path"], defaults.member_role_path.as_str(), "the default aws.member_role_path");
    // A session of the configured length must be allowed by the role.
    assert!(role["MaxSessionDuration"].as_i64().unwrap() >= i64::from(defaults.session_duration_seconds));

    let all = Stack::new(
        "deploy/cloudformation/member-role.yaml",
        &[given[0], given[1], ("IncludeSecurityHubImport", "true"), ("IncludeSuppression", "true")],
    );
    assert_same_policies(
        "member-role.yaml (everything)",
        all.managed_policies(),
        &["member-role-policy.json", "security-hub-import-policy.json", "security-hub-suppression-policy.json"],
    );
    let reads_only = Stack::new(
        "deploy/cloudformation/member-role.yaml",
        &[given[0], given[1], ("IncludeSecurityHubImport", "false")],
    );
    assert_same_policies("member-role.yaml (reads only)", reads_only.managed_policies(), &["member-role-policy.json"]);
    assert!(stack.template["Outputs"]["RoleArn"].is_object(), "the member role stack outputs the role's ARN");
}

#[test]
fn the_sweeper_stack_deploys_the_policy_files_for_the_configured_member_role() {
    let principal = ("TrustedPrincipalArn", "arn:aws:iam::123456789012:role/ecs-task");
    let stack = Stack::new("deploy/cloudformation/sweeper.yaml", &[principal]);
    assert_same_policies("sweeper.yaml (defaults)", stack.managed_policies(), &["sweeper-policy.json"]);
    let central = Stack::new(
        "deploy/cloudformation/sweeper.yaml",
        &[principal, ("IncludeSecurityHubImport", "true"), ("IncludeSuppression", "true")],
    );
    assert_same_policies(
        "sweeper.yaml (central delivery)",
        central.managed_policies(),
        &["sweeper-policy.json", "security-hub-import-policy.json", "security-hub-suppression-policy.json"],
    );

    // Another member role: the sweeper may assume exactly the ARN the service builds.
    let (path, name) = ("/security/", "Sweeper");
    let custom = Stack::new(
        "deploy/cloudformation/sweeper.yaml",
        &[principal, ("MemberRolePath", path), ("MemberRoleName", name)],
    );
    let assumable: Vec<Value> = custom
        .managed_policies()
        .iter()
        .flat_map(|d| d["Statement"].as_array().unwrap().clone())
        .filter(|s| s["Action"] == "sts:AssumeRole")
        .map(|s| s["Resource"].clone())
        .collect();
    assert_eq!(assumable, [json!(Partition::aws().iam_role_arn("*", path, name))]);
}

#[test]
fn the_sweeper_role_trusts_only_the_kubernetes_service_account_or_the_given_principal() {
    let issuer = "oidc.eks.eu-central-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    let stack = Stack::new("deploy/cloudformation/sweeper.yaml", &[("EksOidcIssuer", issuer)]);
    let role = stack.resources()["SweeperRole"]["Properties"].clone();
    let trust = policy_document(&role["AssumeRolePolicyDocument"]);
    let statements = trust["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{trust}");
    let only = &statements[0];
    assert_eq!(only["Action"], "sts:AssumeRoleWithWebIdentity");
    assert_eq!(only["Principal"]["Federated"], format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"));
    // The subject is the service account the manifests run the pods as.
    let account = yaml_documents("deploy/kubernetes/serviceaccount.yaml").remove(0);
    let subject = format!(
        "system:serviceaccount:{}:{}",
        account["metadata"]["namespace"].as_str().unwrap(),
        account["metadata"]["name"].as_str().unwrap()
    );
    assert_eq!(only["Condition"]["StringEquals"][format!("{issuer}:sub")], subject.as_str());
    assert_eq!(only["Condition"]["StringEquals"][format!("{issuer}:aud")], "sts.amazonaws.com");
    // The annotation names the role this stack creates (its default name).
    let annotated = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].as_str().unwrap();
    assert!(annotated.ends_with(&format!(":role/{}", stack.reference("SweeperRoleName"))), "{annotated}");

    let other = "arn:aws:iam::123456789012:role/ecs-task";
    let stack = Stack::new("deploy/cloudformation/sweeper.yaml", &[("TrustedPrincipalArn", other)]);
    let trust = policy_document(&stack.resources()["SweeperRole"]["Properties"]["AssumeRolePolicyDocument"]);
    let statements = trust["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{trust}");
    assert_eq!(statements[0]["Principal"]["AWS"], other);
    assert_eq!(statements[0]["Action"], "sts:AssumeRole");
}
