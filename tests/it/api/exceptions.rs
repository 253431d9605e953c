//! Exceptions: who may create and withdraw them, what is refused, and that matching findings
//! are suppressed only while the exception lives.

use axum::http::StatusCode;

use super::super::helpers::{Moto, test_db};
use super::super::seed::Org;
use super::super::sweep_e2e::deps;
use super::{OPERATOR, VIEWER, app, call, get, post_json};
use bedrock_sweeper::domain::Status;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceptions_suppress_matching_findings_until_withdrawn_or_expired() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    let sandbox = org.ou(&org.root, "Sandbox").await;
    let member = org.account("sandbox-app", &sandbox).await;
    let (pool, _) = test_db().await;
    let report = crate::helpers::run_sweep(&deps(&moto.endpoint(), pool.clone()).await, "test").await.unwrap();
    let (app, _) = app(&moto.endpoint(), pool.clone()).await;
    let target = report.findings.iter().find(|f| f.status == Status::Fail && f.account_id == member).unwrap();
    let elsewhere: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.control_id == target.control_id && f.account_id != member)
        .map(|f| f.id.as_str())
        .collect();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let body = serde_json::json!({
        "control_id": target.control_id, "scope": {"account_id": member},
        "reason": "sandbox, accepted until the network rebuild", "expires_at": tomorrow,
    })
    .to_string();

    // Who may, and what is refused (400 naming the problem).
    call(&app, "POST", "/api/v1/exceptions", Some(VIEWER)).await.error(StatusCode::FORBIDDEN, "forbidden");
    let no_type = call(&app, "POST", "/api/v1/exceptions", Some(OPERATOR)).await;
    assert!(no_type.error(StatusCode::BAD_REQUEST, "bad_request").contains("JSON"));
    let bad = |json: serde_json::Value| json.to_string();
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let cases = [
        ("{".to_owned(), "JSON"),
        (
            bad(
                serde_json::json!({"control_id": target.control_id, "scope": {}, "reason": "r", "expires_at": tomorrow}),
            ),
            "scope",
        ),
        (
            bad(
                serde_json::json!({"control_id": "BR.NET.99", "scope": {"region": "us-east-1"}, "reason": "r", "expires_at": tomorrow}),
            ),
            "control_id",
        ),
        (
            bad(
                serde_json::json!({"control_id": target.control_id, "scope": {"region": "us-east-1"}, "reason": "r", "expires_at": past}),
            ),
            "expires_at",
        ),
        (
            bad(serde_json::json!({"control_id": target.control_id, "scope": {"region": "us-east-1"}, "reason": "r"})),
            "expires_at",
        ),
        (
            bad(
                serde_json::json!({"control_id": target.control_id, "scope": {"region": "us-east-1"}, "reason": " ", "expires_at": tomorrow}),
            ),
            "reason",
        ),
        (
            bad(
                serde_json::json!({"control_id": target.control_id, "scope": {"account_id": "42"}, "reason": "r", "expires_at": tomorrow}),
            ),
            "account id",
        ),
        (
            bad(
                serde_json::json!({"control_id": target.control_id, "scope": {"team": "x"}, "reason": "r", "expires_at": tomorrow}),
            ),
            "team",
        ),
    ];
    for (json, named) in cases {
        let message =
            post_json(&app, "/api/v1/exceptions", OPERATOR, &json).await.error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(message.contains(named), "{json}: `{message}` should name `{named}`");
    }
    assert_eq!(get(&app, "/api/v1/exceptions?include_withdrawn=true").await["exceptions"].as_array().unwrap().len(), 0);

    // Created: the account's finding is suppressed, other accounts' are not; the status stays.
    let created = post_json(&app, "/api/v1/exceptions", OPERATOR, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let exception = created.json();
    let id = exception["id"].as_str().unwrap().to_owned();
    assert_eq!(exception["state"], "active");
    assert!(exception["created_by"].as_str().unwrap().starts_with("operator:"));
    assert!(!created.text.contains(OPERATOR), "the token is never echoed");
    let finding = get(&app, &format!("/api/v1/findings/{}", target.id)).await;
    assert_eq!(finding["suppressed_by"], id.as_str());
    assert_eq!(finding["status"], "fail");
    // The posture's count and the listing's per-finding lookup agree.
    let failing = get(&app, "/api/v1/findings?status=fail&limit=500").await;
    let suppressed_failing =
        failing["findings"].as_array().unwrap().iter().filter(|f| !f["suppressed_by"].is_null()).count();
    assert!(suppressed_failing >= 1);
    assert_eq!(get(&app, "/api/v1/posture").await["failing_suppressed"], suppressed_failing);
    for other in &elsewhere {
        assert!(get(&app, &format!("/api/v1/findings/{other}")).await["suppressed_by"].is_null());
    }
    let listed = get(&app, &format!("/api/v1/findings?account_id={member}&limit=500")).await;
    let suppressed: Vec<&str> = listed["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["suppressed_by"].is_null())
        .map(|f| f["control_id"].as_str().unwrap())
        .collect();
    assert!(!suppressed.is_empty() && suppressed.iter().all(|c| target.control_id == *c));
    let trail = get(&app, &format!("/api/v1/exceptions/{id}")).await;
    assert_eq!(trail["audit"].as_array().unwrap().len(), 1);
    assert_eq!(trail["audit"][0]["action"], "created");

    // Withdrawn: the finding shows as it is again; the trail keeps both changes.
    call(&app, "DELETE", &format!("/api/v1/exceptions/{id}"), Some(VIEWER))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    let withdrawn = call(&app, "DELETE", &format!("/api/v1/exceptions/{id}"), Some(OPERATOR)).await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.text);
    assert_eq!(withdrawn.json()["state"], "withdrawn");
    assert!(get(&app, &format!("/api/v1/findings/{}", target.id)).await["suppressed_by"].is_null());
    assert_eq!(get(&app, "/api/v1/posture").await["failing_suppressed"], 0);
    call(&app, "DELETE", &format!("/api/v1/exceptions/{id}"), Some(OPERATOR))
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let trail = get(&app, &format!("/api/v1/exceptions/{id}")).await;
    let actions: Vec<&str> = trail["audit"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "deleted"]);
    assert_eq!(get(&app, "/api/v1/exceptions").await["exceptions"].as_array().unwrap().len(), 0);
    assert_eq!(get(&app, "/api/v1/exceptions?include_withdrawn=true").await["exceptions"].as_array().unwrap().len(), 1);

    // By OU and resource pattern; and once expired, no longer applied.
    let prefix: String = target.resource_id.chars().take(target.resource_id.len().saturating_sub(1)).collect();
    let scoped = serde_json::json!({
        "control_id": target.control_id, "scope": {"ou": "Root/Sandbox", "resource_pattern": format!("{prefix}*")},
        "reason": "pattern", "expires_at": tomorrow,
    });
    let ou_path = get(&app, &format!("/api/v1/accounts/{member}")).await["ou_path"].as_str().unwrap().to_owned();
    assert_eq!(ou_path, "Root/Sandbox", "the emulator names the root `Root`");
    let created = post_json(&app, "/api/v1/exceptions", OPERATOR, &scoped.to_string()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let second = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(get(&app, &format!("/api/v1/findings/{}", target.id)).await["suppressed_by"], second.as_str());
    sqlx::query("update exceptions set expires_at = now() - interval '1 second' where id = $1")
        .bind(uuid::Uuid::parse_str(&second).unwrap())
        .execute(&pool)
        .await
        .unwrap();
    assert!(get(&app, &format!("/api/v1/findings/{}", target.id)).await["suppressed_by"].is_null());
    assert_eq!(get(&app, &format!("/api/v1/exceptions/{second}")).await["state"], "expired");
}
