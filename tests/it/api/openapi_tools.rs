//! The API document as real clients read it (PyPI tools, pinned in
//! `scripts/openapi-tools-venv.sh`): `openapi-spec-validator` accepts the served document as
//! OpenAPI 3.1, and a client generated from it by `openapi-python-client` signs in with a
//! token and reads `/posture` and a page of `/findings` over a real sweep's data, which the
//! test compares with the database.

use std::process::Command;

use super::super::helpers::{Moto, test_db};
use super::super::seed::Org;
use super::super::sweep_e2e::deps;
use super::{VIEWER, app};
use bedrock_sweeper::domain::SweepOutcome;

fn tools_bin() -> std::path::PathBuf {
    crate::helpers::tool_venv("OPENAPI_TOOLS", "openapi-tools-venv.sh")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.env("NO_COLOR", "1").output().expect("run an OpenAPI tool");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{stdout}\n{stderr}");
    stdout.into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_validates_and_a_generated_client_reads_the_api() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    org.account("prod-app", &org.root).await;
    let (pool, _) = test_db().await;
    let report = crate::helpers::run_sweep(&deps(&moto.endpoint(), pool.clone()).await, "test").await.unwrap();
    assert_eq!(report.status, SweepOutcome::Completed);
    let (router, _runner) = app(&moto.endpoint(), pool.clone()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let bin = tools_bin();
    let work = tempfile::tempdir().unwrap();
    let doc = work.path().join("openapi.json");
    let base = format!("http://{addr}");
    let (client_doc, client_bin, client_base, client_work) =
        (doc.clone(), bin.clone(), base.clone(), work.path().to_owned());
    let read: serde_json::Value = tokio::task::spawn_blocking(move || {
        let fetch = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())";
        let text = run(Command::new(client_bin.join("python")).args([
            "-c",
            fetch,
            &format!("{client_base}/api/v1/openapi.json"),
        ]));
        std::fs::write(&client_doc, text).unwrap();
        let verdict = run(Command::new(client_bin.join("openapi-spec-validator")).arg(&client_doc));
        assert!(verdict.contains(": OK"), "{verdict}");
        // No formatter hooks: the client is only imported, never edited.
        let config = client_work.join("client.yaml");
        std::fs::write(&config, "post_hooks: []\n").unwrap();
        let generated = run(Command::new(client_bin.join("openapi-python-client"))
            .args(["generate", "--meta", "none", "--path"])
            .arg(&client_doc)
            .arg("--config")
            .arg(&config)
            .current_dir(&client_work));
        assert!(!generated.to_lowercase().contains("warning"), "the generator warned:\n{generated}");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/api/read_with_client.py");
        let out =
            run(Command::new(client_bin.join("python")).arg(script).arg(&client_work).arg(&client_base).arg(VIEWER));
        serde_json::from_str(&out).unwrap()
    })
    .await
    .unwrap();
    server.abort();

    // What the client read is what the database holds.
    let accounts: i64 = sqlx::query_scalar("select count(*) from accounts").fetch_one(&pool).await.unwrap();
    assert_eq!(read["posture"]["accounts"]["total"].as_i64(), Some(accounts), "{read}");
    let failing: i64 = sqlx::query_scalar("select count(*) from findings where active and status = 'fail'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(read["posture"]["findings_by_status"]["fail"].as_i64(), Some(failing), "{read}");
    let first: Vec<String> =
        sqlx::query_scalar("select id from findings where active order by id limit 5").fetch_all(&pool).await.unwrap();
    let listed: Vec<String> =
        read["findings"]["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(listed, first, "{read}");
}
