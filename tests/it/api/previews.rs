//! `POST /policy-previews` and the `preview` command on a swept organization: a change that
//! closes a gap, one that opens one, and one that blocks the approved endpoint, judged on the
//! last sweep's organization without calling AWS.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{OPERATOR, VIEWER, app, call, post_json};
use crate::helpers::{Moto, test_db};
use crate::seed::Org;

const REGION_DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyOutsideApproved","Effect":"Deny",
  "Action":["bedrock:*","bedrock-mantle:*","bedrock-agentcore:*"],"Resource":"*",
  "Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1"]}}}]}"#;

/// Lets Bedrock runtime calls through one endpoint only: not the approved one.
const OTHER_ENDPOINT_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"OnlyTheOldEndpoint","Effect":"Deny",
  "Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],"Resource":"*",
  "Condition":{"StringNotEqualsIfExists":{"aws:SourceVpce":"vpce-0old0000000000000"}}}]}"#;

fn verdicts<'a>(preview: &'a Value, list: &str, control: &str, account: &str) -> Vec<&'a Value> {
    preview[list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["control_id"] == control && c["account_id"] == account)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_say_what_a_policy_change_opens_closes_and_blocks() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    let governed_ou = org.ou(&org.root, "Governed").await;
    let open_ou = org.ou(&org.root, "Open").await;
    let governed = org.account("governed", &governed_ou).await;
    let open = org.account("open", &open_ou).await;
    let region_deny = crate::scp_e2e::policy(&org, "region-deny", REGION_DENY, &[&governed_ou]).await;

    let (pool, url) = test_db().await;
    let (app, runner) = app(&moto.endpoint(), pool.clone()).await;
    let preview = |body: Value| {
        let app = app.clone();
        async move { post_json(&app, "/api/v1/policy-previews", OPERATOR, &body.to_string()).await }
    };

    // Before any sweep there is no organization to judge on.
    let none = preview(json!({"type": "SERVICE_CONTROL_POLICY", "content": REGION_DENY, "attach_to": [open_ou]})).await;
    assert!(none.error(StatusCode::NOT_FOUND, "not_found").contains("run a sweep first"));
    crate::helpers::run_sweep(runner.deps(), "test").await.unwrap();

    // Closes a gap: the region deny attached to the open OU too.
    let r = preview(json!({"type": "SERVICE_CONTROL_POLICY", "content": REGION_DENY, "attach_to": [open_ou]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let p = r.json();
    let closed = verdicts(&p, "closes", "BR.ORG.1", &open);
    assert_eq!(closed.len(), 1, "{p:#}");
    assert_eq!((closed[0]["before"].as_str(), closed[0]["after"].as_str()), (Some("fail"), Some("pass")));
    assert!(closed[0]["detail"].as_str().unwrap().contains("p-candidate"), "names the deciding policy: {p:#}");
    assert_eq!(p["harmful"], false, "{p:#}");
    assert!(verdicts(&p, "closes", "BR.ORG.1", &governed).is_empty(), "the governed account was already fenced");

    // Opens one: the region deny detached from the governed OU.
    let p = preview(json!({"type": "SERVICE_CONTROL_POLICY", "policy_id": region_deny, "detach_from": [governed_ou]}))
        .await
        .json();
    let opened = verdicts(&p, "opens", "BR.ORG.1", &governed);
    assert_eq!(opened.len(), 1, "{p:#}");
    assert_eq!(opened[0]["after"], "fail");
    assert_eq!(p["harmful"], true);

    // Blocks the approved endpoint: called out first.
    let p = preview(json!({"type": "SERVICE_CONTROL_POLICY", "content": OTHER_ENDPOINT_ONLY, "attach_to": [org.root]}))
        .await
        .json();
    let first = &p["newly_denied"][0];
    assert_eq!(first["approved_path"], true, "{p:#}");
    assert_eq!(first["control_id"], "BR.ORG.2");
    assert!(first["deciding"].as_str().unwrap().contains("OnlyTheOldEndpoint"), "{first}");
    assert_eq!(p["harmful"], true);

    // Viewers may not preview; a change that cannot be applied is a 400 naming the problem.
    let v = post_json(&app, "/api/v1/policy-previews", VIEWER, &json!({"type": "SERVICE_CONTROL_POLICY"}).to_string())
        .await;
    v.error(StatusCode::FORBIDDEN, "forbidden");
    let bad = preview(
        json!({"type": "SERVICE_CONTROL_POLICY", "content": REGION_DENY, "attach_to": ["ou-nowhere-00000000"]}),
    )
    .await;
    assert!(
        bad.error(StatusCode::BAD_REQUEST, "bad_request")
            .contains("`ou-nowhere-00000000` is not a root, OU or account")
    );
    let unknown = preview(json!({"type": "TAG_POLICY", "content": "{}", "attach_to": [open_ou]})).await;
    unknown.error(StatusCode::BAD_REQUEST, "bad_request");
    assert_eq!(
        call(&app, "GET", "/api/v1/policy-previews", Some(OPERATOR)).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );

    // The same from the command line, for a pipeline: exit 4 when harmful, 0 when not.
    let dir = tempfile::tempdir().unwrap();
    let (blocking, fencing) = (dir.path().join("blocking.json"), dir.path().join("fencing.json"));
    std::fs::write(&blocking, OTHER_ENDPOINT_ONLY).unwrap();
    std::fs::write(&fencing, REGION_DENY).unwrap();
    let preview_cli = |file: &std::path::Path, target: &str| {
        crate::cli::sweeper()
            .args(["preview", "--type", "scp", "--policy"])
            .arg(file)
            .args(["--attach", target])
            .env("SWEEPER_DATABASE__URL", &url)
            .env("SWEEPER_CONTROLS__APPROVED_REGIONS", "us-east-1")
            .output()
            .unwrap()
    };
    let out = preview_cli(&blocking, &org.root);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("BLOCKS APPROVED PATHS") && text.contains("OnlyTheOldEndpoint"), "{text}");
    let out = preview_cli(&fencing, &open_ou);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("CLOSES") && text.contains(&format!("BR.ORG.1 {open}: fail -> pass")), "{text}");
}
