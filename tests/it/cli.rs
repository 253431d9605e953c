//! The binary on bad input: a clear message and a non-zero exit, nothing half-done.

use std::process::Command;

pub(super) fn sweeper() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bedrock-sweeper"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SWEEPER_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", "testing").env("AWS_SECRET_ACCESS_KEY", "testing").env("AWS_REGION", "us-east-1");
    cmd
}

#[test]
fn malformed_config_names_the_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[sweep]\naccount_concurrency = \"lots\"\n").unwrap();
    let out = sweeper().args(["sweep", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sweep.account_concurrency"), "{err}");

    let out =
        sweeper().args(["sweep"]).env("SWEEPER_CONTROLS__APPROVED_REGIONS", "eu-west-1,Atlantis").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Atlantis"));
}

#[test]
fn a_toml_syntax_error_gives_line_and_column_but_not_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    // The closing quote is missing: the parser's own report would quote the whole line.
    std::fs::write(&path, "[database]\nmax_connections = 4\nurl = \"postgres://sweeper:hunter2@db.internal/x\n")
        .unwrap();
    let out = sweeper().args(["sweep", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not valid TOML") && err.contains("line 3, column "), "{err}");
    assert!(!err.contains("hunter2") && !err.contains("postgres://"), "{err}");
}

#[test]
fn unreachable_database_is_a_clear_error_without_the_password() {
    let out = sweeper()
        .args(["sweep"])
        .env("SWEEPER_DATABASE__URL", "postgres://sweeper:hunter2@127.0.0.1:1/nowhere")
        .env("SWEEPER_DATABASE__CONNECT_TIMEOUT_SECONDS", "2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to the database at 127.0.0.1:1/nowhere"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn controls_lists_the_whole_catalog() {
    let out = sweeper().args(["controls"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for id in [
        "BR.ORG.1", "BR.ORG.7", "BR.NET.1", "BR.LOG.5", "BR.INV.3", "BR.ENC.2", "BR.GRD.1", "BR.IAM.1", "BR.CFG.1",
        "BR.COV.1",
    ] {
        assert!(text.contains(id), "{id} missing from:\n{text}");
    }
    let catalog = bedrock_sweeper::catalog::Catalog::embedded().unwrap();
    assert_eq!(text.lines().count(), catalog.controls().len(), "one line per control:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_json_output_through_the_standard_aws_chain() {
    let moto = super::helpers::Moto::start().await;
    let org = super::seed::Org::create(&moto.endpoint()).await;
    let member = org.account("member", &org.root).await;
    let (_pool, url) = super::helpers::test_db().await;
    let out = sweeper()
        .args(["sweep", "--output", "json", "--quiet"])
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("SWEEPER_DATABASE__URL", &url)
        .env("SWEEPER_AWS__MANAGEMENT_ACCOUNT_ACCESS", "own-credentials")
        .env("SWEEPER_AWS__S3_FORCE_PATH_STYLE", "true")
        .env("SWEEPER_AWS__MAX_ATTEMPTS", "1")
        .env("SWEEPER_SWEEP__REGIONS", "us-east-1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["status"], "completed");
    for key in ["sweep_id", "started_at", "finished_at"] {
        assert!(doc[key].is_string(), "{key} missing: {doc}");
    }
    let findings = doc["findings"].as_array().unwrap();
    let net1 = findings.iter().find(|f| f["control_id"] == "BR.NET.1" && f["account_id"] == member.as_str()).unwrap();
    assert_eq!(net1["region"], "us-east-1");
    assert_eq!(net1["status"], "fail");
    let catalog = bedrock_sweeper::catalog::Catalog::embedded().unwrap();
    let control = catalog.control(&bedrock_sweeper::domain::ControlId::parse("BR.NET.1").unwrap()).unwrap();
    assert_eq!(net1["severity"], control.severity.as_str());
    assert_eq!(net1["title"], control.title.as_str());
    assert!(net1["detail"].as_str().unwrap().contains("No interface VPC endpoint"), "{net1}");
    let cov = findings.iter().find(|f| f["control_id"] == "BR.COV.1" && f["account_id"] == member.as_str()).unwrap();
    assert!(cov["region"].is_null());
    assert!(
        findings.iter().all(|f| ["pass", "fail", "error", "not_applicable"].contains(&f["status"].as_str().unwrap()))
    );
}

#[test]
fn controls_markdown_updates_the_generated_tables_and_refuses_a_file_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let printed = sweeper().args(["controls", "--markdown"]).output().unwrap();
    assert!(printed.status.success());
    let blocks = String::from_utf8_lossy(&printed.stdout).into_owned();
    assert!(blocks.contains("| BR.ORG.7 | high | organization |"), "{blocks}");
    assert!(blocks.contains("`ec2:DescribeVpcEndpoints`"), "{blocks}");

    // A document whose blocks are stale is rewritten between the markers only.
    let doc = dir.path().join("doc.md");
    let stale = blocks.replace("| BR.ORG.7 | high |", "| BR.ORG.7 | low |");
    std::fs::write(&doc, format!("before\n\n{stale}after\n")).unwrap();
    let out = sweeper().args(["controls", "--markdown", "--update"]).arg(&doc).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&doc).unwrap(), format!("before\n\n{blocks}after\n"));

    // Without the markers nothing is written, and the error names the file and the block.
    let plain = dir.path().join("plain.md");
    std::fs::write(&plain, "no generated tables here\n").unwrap();
    let out = sweeper().args(["controls", "--markdown", "--update"]).arg(&plain).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plain.md") && err.contains("controls -->"), "{err}");
    assert_eq!(std::fs::read_to_string(&plain).unwrap(), "no generated tables here\n");
}
