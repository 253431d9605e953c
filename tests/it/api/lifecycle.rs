//! Sweeps through the API and the process: 202 then 409 while one runs, a failed sweep and
//! the next trigger, resumption of an interrupted sweep, and `serve` stopping on SIGTERM.

use std::time::Duration;

use axum::http::StatusCode;
use bedrock_sweeper::sweep;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::super::helpers::{Moto, test_db};
use super::super::seed::Org;
use super::super::sweep_e2e::deps;
use super::{OPERATOR, VIEWER, app, call, get, silent_endpoint};
use bedrock_sweeper::domain::SweepOutcome;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_sweeps_accepts_then_conflicts_while_running() {
    let (pool, _) = test_db().await;
    let (endpoint, _silent) = silent_endpoint().await;
    let (app, runner) = app(&endpoint, pool).await;

    let r = call(&app, "POST", "/api/v1/sweeps", Some(OPERATOR)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.json()["sweep_id"].as_str().unwrap().to_owned();

    // While it waits on AWS: it is running, and a second trigger names it.
    let running = get(&app, &format!("/api/v1/sweeps/{id}")).await;
    assert_eq!(running["status"], "running");
    assert_eq!(running["trigger"], "api");
    assert_eq!(running["progress"]["done"], 0);
    let r = call(&app, "POST", "/api/v1/sweeps", Some(OPERATOR)).await;
    let message = r.error(StatusCode::CONFLICT, "sweep_running");
    assert_eq!(r.json()["error"]["sweep_id"], id.as_str());
    assert!(message.contains(&id), "{message}");
    assert_eq!(get(&app, "/api/v1/sweeps").await["sweeps"].as_array().unwrap().len(), 1);

    // AWS never answers: the sweep fails with a reason, and the next trigger starts a new one.
    let mut finished = Value::Null;
    for _ in 0..100 {
        finished = get(&app, &format!("/api/v1/sweeps/{id}")).await;
        if finished["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(finished["status"], "failed", "{finished}");
    assert!(finished["error"].as_str().is_some_and(|e| !e.is_empty()), "{finished}");
    assert!(finished["finished_at"].as_str().is_some());
    let r = call(&app, "POST", "/api/v1/sweeps", Some(OPERATOR)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_ne!(r.json()["sweep_id"], id.as_str());

    // After stop, no new sweep is taken on.
    runner.stop();
    runner.wait_idle().await;
    let r = call(&app, "POST", "/api/v1/sweeps", Some(OPERATOR)).await;
    r.error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_sweep_is_resumed_on_start() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    org.account("member", &org.root).await;
    let (pool, _) = test_db().await;
    // A process stopped before any account was swept: the sweep stays `running`, planned.
    let stopped = deps(&moto.endpoint(), pool.clone()).await;
    stopped.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let interrupted = sweep::run(&stopped, "test").await.unwrap();
    assert_eq!(interrupted.status, SweepOutcome::Interrupted);

    let (app, runner) = app(&moto.endpoint(), pool).await;
    let before = get(&app, &format!("/api/v1/sweeps/{}", interrupted.sweep_id)).await;
    assert_eq!(before["status"], "running");
    assert_eq!(before["progress"]["done"], 0);
    assert_eq!(before["progress"]["total"], 2);
    // The stopped process handed the sweep's lease back: start-up takes it over at once.
    let resumed = bedrock_sweeper::scheduler::resume_interrupted(&runner).await.unwrap();
    assert_eq!(resumed, Some(interrupted.sweep_id));
    let mut after = Value::Null;
    for _ in 0..300 {
        after = get(&app, &format!("/api/v1/sweeps/{}", interrupted.sweep_id)).await;
        if after["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(after["status"], "completed", "{after}");
    assert_eq!(after["progress"]["done"], 2);
    assert_eq!(get(&app, "/api/v1/sweeps").await["sweeps"].as_array().unwrap().len(), 1, "no second sweep");
    runner.wait_idle().await;
}

/// `serve` as a process: answers, and exits cleanly on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_and_stops_on_sigterm() {
    let (_, db_url) = test_db().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let viewer = hex::encode(Sha256::digest(VIEWER.as_bytes()));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bedrock-sweeper"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SWEEPER_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .arg("serve")
        .env("SWEEPER_DATABASE__URL", &db_url)
        .env("SWEEPER_API__LISTEN", format!("127.0.0.1:{port}"))
        .env("SWEEPER_API__TOKENS", format!("viewer:{viewer}"))
        .env("SWEEPER_SECURITY_HUB__ENABLED", "false")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut answered = None;
    for _ in 0..100 {
        if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let req = format!(
                "GET /api/v1/posture HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {VIEWER}\r\nConnection: close\r\n\r\n"
            );
            s.write_all(req.as_bytes()).await.unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).await.unwrap();
            answered = Some(text);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answered = answered.expect("serve did not listen");
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(status) = status else {
        child.kill().ok();
        panic!("serve did not stop within 10 s of SIGTERM");
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("shutting down") && stderr.contains("stopped"), "{stderr}");
    assert!(!stderr.contains(VIEWER), "the token is never logged");
}
