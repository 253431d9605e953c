//! The binary on bad input: a clear message and a non-zero exit, nothing half-done.

use std::process::Command;

fn sweeper() -> Command {
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
    assert_eq!(text.lines().count(), 23);
}
