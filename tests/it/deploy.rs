//! The IAM policies in `deploy/`, split by privilege: the member role's read-only policy
//! holds reads only; importing findings is a second policy limited to the account's own
//! product; suppressing findings (which IAM cannot limit to our own findings) a third, opt-in.
//! The calls a sweep makes are checked against these files in `sweep_e2e`.
//!
//! The deployment around them is checked in the submodules, with the pinned tools of
//! `scripts/deploy-tools-venv.sh`: the CloudFormation templates, the Kubernetes manifests and
//! the Dockerfile.

mod cloudformation;
mod image;
mod kubernetes;

use std::path::{Path, PathBuf};
use std::process::Command;

use bedrock_sweeper::config::AwsSettings;
use bedrock_sweeper::domain::Partition;
use serde_json::Value;

const READ_ONLY: &str = include_str!("../../deploy/member-role-policy.json");
const IMPORT: &str = include_str!("../../deploy/security-hub-import-policy.json");
const SUPPRESSION: &str = include_str!("../../deploy/security-hub-suppression-policy.json");
const SWEEPER: &str = include_str!("../../deploy/sweeper-policy.json");

/// The bin directory of the deploy-tools venv.
fn tools_bin() -> PathBuf {
    crate::helpers::tool_venv("DEPLOY_TOOLS", "deploy-tools-venv.sh")
}

/// A file of the repository.
fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs a tool of the venv on files of the repository; its output when it succeeds.
fn run_tool(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tools_bin().join(tool))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{tool} {args:?} failed:\n{stdout}\n{stderr}");
    stdout.into_owned()
}

/// Every document of a YAML file, as JSON (read by PyYAML, as a YAML 1.1 reader would: the
/// anchors and merges of the manifests resolved).
fn yaml_documents(path: &str) -> Vec<Value> {
    let read = "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)";
    let file = repo(path);
    serde_json::from_str(&run_tool("python", &["-c", read, file.to_str().unwrap()])).unwrap()
}

fn statements(doc: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(doc).unwrap();
    assert_eq!(doc["Version"], "2012-10-17");
    doc["Statement"].as_array().unwrap().clone()
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        other => other.as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect(),
    }
}

fn allowed(doc: &str) -> Vec<String> {
    statements(doc).iter().filter(|s| s["Effect"] == "Allow").flat_map(actions).collect()
}

#[test]
fn the_member_role_policy_only_reads() {
    let st = statements(READ_ONLY);
    assert!(st.iter().all(|s| s["Effect"] == "Allow"), "{st:?}");
    for action in allowed(READ_ONLY) {
        let (_, op) = action.split_once(':').unwrap();
        if action == "kms:Decrypt" {
            continue; // held below to CloudTrail's objects, through S3
        }
        assert!(["Get", "List", "Describe"].iter().any(|p| op.starts_with(p)), "{action} is not a read");
        assert!(!action.starts_with("securityhub:"), "{action} belongs in the Security Hub policies");
    }
    // Decrypting is allowed only to read the log files CloudTrail encrypted (BR.LOG.6), only
    // through S3, and alone in its statement.
    let decrypt: Vec<&Value> = st.iter().filter(|s| actions(s).iter().any(|a| a == "kms:Decrypt")).collect();
    assert_eq!(decrypt.len(), 1, "{decrypt:?}");
    assert_eq!(actions(decrypt[0]), ["kms:Decrypt"]);
    let like = &decrypt[0]["Condition"]["StringLike"];
    assert_eq!(like["kms:ViaService"], "s3.*.amazonaws.com", "{like}");
    assert_eq!(like["kms:EncryptionContext:aws:cloudtrail:arn"], "arn:*:cloudtrail:*:*:trail/*", "{like}");
}

#[test]
fn importing_is_limited_to_the_accounts_own_default_product() {
    let st = statements(IMPORT);
    assert_eq!(st.len(), 1);
    assert_eq!(actions(&st[0]), ["securityhub:BatchImportFindings"]);
    // The product ARN the sender builds, with the caller's own account as the policy variable.
    let own = Partition::aws().security_hub_default_product_arn("*", "${aws:PrincipalAccount}");
    assert_eq!(st[0]["Resource"], own);
}

#[test]
fn suppression_is_its_own_opt_in_policy() {
    for s in statements(SUPPRESSION) {
        assert_eq!(actions(&s), ["securityhub:BatchUpdateFindings"], "{s}");
        if s["Effect"] == "Allow" {
            assert_eq!(s["Resource"], "arn:aws:securityhub:*:${aws:PrincipalAccount}:hub/default");
        }
    }
    for (name, doc) in
        [("member-role-policy", READ_ONLY), ("security-hub-import-policy", IMPORT), ("sweeper-policy", SWEEPER)]
    {
        assert!(!doc.contains("BatchUpdateFindings"), "{name} must not carry the opt-in suppression");
    }
}

#[test]
fn the_sweeper_may_assume_only_the_configured_role_inside_its_organization() {
    let st = statements(SWEEPER);
    let assume: Vec<&Value> = st.iter().filter(|s| actions(s).contains(&"sts:AssumeRole".to_owned())).collect();
    assert_eq!(assume.len(), 1);
    let defaults = AwsSettings::default();
    let role = Partition::aws().iam_role_arn("*", &defaults.member_role_path, &defaults.member_role_name);
    assert_eq!(assume[0]["Resource"], role, "the default aws.member_role_path and aws.member_role_name");
    assert_eq!(assume[0]["Condition"]["StringEquals"]["aws:ResourceOrgID"], "${aws:PrincipalOrgID}");
    assert!(allowed(SWEEPER).iter().all(|a| !a.starts_with("securityhub:")), "Security Hub rights are separate files");
}
