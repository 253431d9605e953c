//! The REST API against a real PostgreSQL: data from a real sweep against moto, the auth
//! matrix, bad input answered with 400s that name the problem, and the OpenAPI document.
//! `lifecycle` covers sweeps started, refused, resumed and stopped; `exceptions` the
//! accepted risks. Helpers here are shared by both.

mod auth_failures;
mod exceptions;
mod lifecycle;
mod openapi_tools;
mod previews;
mod query_props;
mod schema;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bedrock_sweeper::api;
use bedrock_sweeper::config::AwsSettings;
use bedrock_sweeper::domain::{Role, TokenHash};
use bedrock_sweeper::scheduler::Runner;
use http_body_util::BodyExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tower::ServiceExt;

use super::helpers::{Moto, test_db};
use super::seed::Org;
use super::sweep_e2e::deps;
use bedrock_sweeper::domain::Status;
use bedrock_sweeper::domain::SweepOutcome;

pub(super) const VIEWER: &str = "viewer-token-for-tests";
pub(super) const OPERATOR: &str = "operator-token-for-tests";

fn token(role: Role, token: &str) -> TokenHash {
    TokenHash { role, sha256: Sha256::digest(token.as_bytes()).into() }
}

/// The API over `pool`, with sweeps going to `endpoint`.
pub(super) async fn app(endpoint: &str, pool: PgPool) -> (Router, Arc<Runner>) {
    let mut d = deps(endpoint, pool).await;
    // A sweep that cannot reach AWS fails within a couple of seconds instead of minutes.
    d.aws = bedrock_sweeper::aws::AwsContext::from_config(
        super::helpers::sdk_config(endpoint),
        &AwsSettings { max_attempts: 1, call_timeout_seconds: 2, ..d.aws.settings().clone() },
    );
    let tokens = [token(Role::Viewer, VIEWER), token(Role::Operator, OPERATOR)];
    let app = super::helpers::service(d, &tokens);
    (app.router(), Arc::clone(app.runner()))
}

pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: axum::http::HeaderMap,
    pub(super) text: String,
}

impl Reply {
    #[track_caller]
    pub(super) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts the one error shape and returns the message.
    #[track_caller]
    pub(super) fn error(&self, status: StatusCode, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.text);
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        body["error"]["message"].as_str().unwrap().to_owned()
    }
}

pub(super) async fn call(app: &Router, method: &str, uri: &str, token: Option<&str>) -> Reply {
    send(app, method, uri, token, None).await
}

/// Sends a JSON body.
pub(super) async fn post_json(app: &Router, uri: &str, token: &str, body: &str) -> Reply {
    send(app, "POST", uri, Some(token), Some(body)).await
}

async fn send(app: &Router, method: &str, uri: &str, token: Option<&str>, json: Option<&str>) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match json {
        Some(text) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(text.to_owned())
        }
        None => Body::empty(),
    };
    let res = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply { status, headers, text: String::from_utf8(bytes.to_vec()).unwrap() }
}

pub(super) async fn get(app: &Router, uri: &str) -> Value {
    let r = call(app, "GET", uri, Some(VIEWER)).await;
    assert_eq!(r.status, StatusCode::OK, "GET {uri}: {}", r.text);
    r.json()
}

/// An address that accepts connections and never answers: AWS calls hang until their timeout.
pub(super) async fn silent_endpoint() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (format!("http://{addr}"), task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_matrix_health_and_metrics() {
    let (pool, _) = test_db().await;
    let (endpoint, _silent) = silent_endpoint().await;
    let (app, _) = app(&endpoint, pool.clone()).await;

    // Open routes.
    assert_eq!(call(&app, "GET", "/healthz", None).await.json()["status"], "ok");
    assert_eq!(call(&app, "GET", "/readyz", None).await.json()["status"], "ok");
    let metrics = call(&app, "GET", "/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics.text.contains("sweeper_findings{status=\"fail\"} 0"), "{}", metrics.text);
    assert!(metrics.text.contains("sweeper_security_hub_outbox{state=\"pending\"} 0"), "{}", metrics.text);
    assert_eq!(call(&app, "GET", "/api/v1/openapi.json", None).await.status, StatusCode::OK);

    // No token, a malformed header, an unknown token: 401 with a challenge.
    for auth in [None, Some("not-configured")] {
        let r = call(&app, "GET", "/api/v1/posture", auth).await;
        let message = r.error(StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(message.contains("bearer token"), "{message}");
        assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer");
    }
    let basic = app
        .clone()
        .oneshot(
            Request::get("/api/v1/posture")
                .header(header::AUTHORIZATION, format!("Basic {VIEWER}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    // The token is never echoed back.
    let r = call(&app, "GET", "/api/v1/posture", Some("secret-guess")).await;
    assert!(!r.text.contains("secret-guess"));

    // Viewer reads, operator reads; viewer may not trigger a sweep.
    assert_eq!(call(&app, "GET", "/api/v1/posture", Some(VIEWER)).await.status, StatusCode::OK);
    assert_eq!(call(&app, "GET", "/api/v1/sweeps", Some(OPERATOR)).await.status, StatusCode::OK);
    let message = call(&app, "POST", "/api/v1/sweeps", Some(VIEWER)).await.error(StatusCode::FORBIDDEN, "forbidden");
    assert!(message.contains("operator"), "{message}");
    let sweeps: i64 = sqlx::query_scalar("select count(*) from sweeps").fetch_one(&pool).await.unwrap();
    assert_eq!(sweeps, 0, "a refused request starts nothing");

    // Unknown paths and methods keep the error shape.
    call(&app, "GET", "/api/v1/nothing-here", Some(VIEWER)).await.error(StatusCode::NOT_FOUND, "not_found");
    call(&app, "DELETE", "/healthz", None).await.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_400_naming_the_problem() {
    let (pool, _) = test_db().await;
    let (endpoint, _silent) = silent_endpoint().await;
    let (app, _) = app(&endpoint, pool).await;
    let cases = [
        ("/api/v1/findings?bogus=1", "bogus"),
        ("/api/v1/findings?status=maybe", "status"),
        ("/api/v1/findings?severity=huge", "severity"),
        ("/api/v1/findings?account_id=123", "not an AWS account id"),
        ("/api/v1/findings?region=Mars", "not an AWS region"),
        ("/api/v1/findings?control_id=NET1", "not a control id"),
        ("/api/v1/findings?limit=501", "limit"),
        ("/api/v1/findings?limit=0", "limit"),
        ("/api/v1/findings?limit=lots", "limit"),
        ("/api/v1/findings?cursor=%21%21", "cursor"),
        ("/api/v1/findings?sort=newest", "sort"),
        ("/api/v1/findings?ou=", "ou"),
        ("/api/v1/findings?ou=Root%00x", "ou"),
        ("/api/v1/findings/XYZ", "finding id"),
        ("/api/v1/accounts?failing=perhaps", "failing"),
        ("/api/v1/accounts/12345", "account id"),
        ("/api/v1/controls/NOT-A-CONTROL", "control id"),
        ("/api/v1/sweeps/not-a-uuid", "sweep id"),
        ("/api/v1/sweeps?page=2", "page"),
        ("/api/v1/history/posture?from=yesterday", "from"),
        ("/api/v1/history/posture?interval=minute", "interval"),
        ("/api/v1/history/posture?from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z", "from"),
        ("/api/v1/history/posture?from=2020-01-01T00:00:00Z&interval=hour", "interval"),
    ];
    for (uri, named) in cases {
        let r = call(&app, "GET", uri, Some(VIEWER)).await;
        let message = r.error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(message.contains(named), "{uri}: `{message}` should name `{named}`");
    }
    // A cursor of one listing is refused by another.
    let accounts_cursor = bedrock_sweeper::api::pagination::encode("111122223333");
    let r = call(&app, "GET", &format!("/api/v1/findings?cursor={accounts_cursor}"), Some(VIEWER)).await;
    r.error(StatusCode::BAD_REQUEST, "bad_request");
    // Well-formed ids that do not exist are 404s.
    for uri in [
        "/api/v1/findings/0123456789abcdef0123456789abcdef",
        "/api/v1/accounts/111122223333",
        "/api/v1/controls/BR.NET.99",
        "/api/v1/sweeps/00000000-0000-0000-0000-000000000000",
    ] {
        call(&app, "GET", uri, Some(VIEWER)).await.error(StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reports_what_a_sweep_found() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    let workloads = org.ou(&org.root, "Workloads").await;
    let prod = org.ou(&workloads, "Prod").await;
    let in_prod = org.account("prod-app", &prod).await;
    let at_root = org.account("tooling", &org.root).await;
    let (pool, _) = test_db().await;
    let before = chrono::Utc::now() - chrono::Duration::hours(2);
    let report = crate::helpers::run_sweep(&deps(&moto.endpoint(), pool.clone()).await, "test").await.unwrap();
    assert_eq!(report.status, SweepOutcome::Completed);
    let (app, _) = app(&moto.endpoint(), pool).await;

    // Posture agrees with the sweep's own report.
    let posture = get(&app, "/api/v1/posture").await;
    assert_eq!(posture["accounts"]["total"], 3);
    assert_eq!(posture["accounts"]["assessed"], 3);
    let count = |status: Status| report.findings.iter().filter(|f| f.status == status).count() as i64;
    for status in Status::ALL {
        assert_eq!(posture["findings_by_status"][status.as_str()].as_i64().unwrap_or(0), count(status), "{status}");
    }
    assert_eq!(posture["last_sweep"]["id"], report.sweep_id.to_string());
    assert_eq!(posture["last_sweep"]["progress"]["done"], posture["last_sweep"]["progress"]["total"]);
    assert!(count(Status::Fail) > 0, "the emulator's bare accounts fail some controls");

    // Paging walks every active finding exactly once.
    let mut seen = Vec::new();
    let mut uri = "/api/v1/findings?limit=7".to_owned();
    loop {
        let page = get(&app, &uri).await;
        let items = page["findings"].as_array().unwrap();
        assert!(items.len() <= 7);
        seen.extend(items.iter().map(|f| f["id"].as_str().unwrap().to_owned()));
        match page["meta"]["next_cursor"].as_str() {
            Some(c) => uri = format!("/api/v1/findings?limit=7&cursor={c}"),
            None => break,
        }
    }
    let expected: BTreeSet<String> = report.findings.iter().map(|f| f.id.to_string()).collect();
    assert_eq!(seen.len(), expected.len(), "no finding twice");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), expected);

    // Every order walks the same findings once, in that order, page by page.
    let rank = |s: &str| ["critical", "high", "medium", "low", "informational"].iter().position(|r| *r == s).unwrap();
    for sort in ["id", "severity", "first_seen_at", "-first_seen_at"] {
        let mut walked: Vec<Value> = Vec::new();
        let mut uri = format!("/api/v1/findings?limit=7&sort={sort}");
        loop {
            let page = get(&app, &uri).await;
            walked.extend(page["findings"].as_array().unwrap().iter().cloned());
            match page["meta"]["next_cursor"].as_str() {
                Some(c) => uri = format!("/api/v1/findings?limit=7&sort={sort}&cursor={c}"),
                None => break,
            }
        }
        let ids: BTreeSet<String> = walked.iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!((ids.len(), &ids), (walked.len(), &expected), "sort={sort}: each finding once");
        let key = |f: &Value| {
            let id = f["id"].as_str().unwrap().to_owned();
            let seen = f["first_seen_at"].as_str().unwrap().to_owned();
            match sort {
                "severity" => (rank(f["severity"].as_str().unwrap()).to_string(), id),
                "first_seen_at" | "-first_seen_at" => (seen, id),
                _ => (String::new(), id),
            }
        };
        let mut keys: Vec<(String, String)> = walked.iter().map(key).collect();
        if sort == "-first_seen_at" {
            keys.reverse();
        }
        // Times are shown in milliseconds but ordered in microseconds: ties at the
        // millisecond are not checked for their id order.
        let in_order = |w: &[(String, String)]| match sort {
            "first_seen_at" | "-first_seen_at" => w[0].0 <= w[1].0,
            _ => w[0] < w[1],
        };
        assert!(keys.windows(2).all(in_order), "sort={sort} out of order: {keys:?}");
    }
    // A cursor belongs to its order.
    let by_severity = get(&app, "/api/v1/findings?limit=2&sort=severity").await;
    let cursor = by_severity["meta"]["next_cursor"].as_str().unwrap();
    call(&app, "GET", &format!("/api/v1/findings?limit=2&sort=first_seen_at&cursor={cursor}"), Some(VIEWER))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    // Also between the two directions of one key.
    let oldest = get(&app, "/api/v1/findings?limit=2&sort=first_seen_at").await;
    let cursor = oldest["meta"]["next_cursor"].as_str().unwrap();
    call(&app, "GET", &format!("/api/v1/findings?limit=2&sort=-first_seen_at&cursor={cursor}"), Some(VIEWER))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");

    // Filters.
    let failing = get(&app, &format!("/api/v1/findings?status=fail&account_id={in_prod}&limit=500")).await;
    let failing = failing["findings"].as_array().unwrap();
    let want = report.findings.iter().filter(|f| f.status == Status::Fail && f.account_id == in_prod).count();
    assert_eq!(failing.len(), want);
    assert!(failing.iter().all(|f| f["status"] == "fail" && f["account_id"] == in_prod.as_str()));
    let account = get(&app, &format!("/api/v1/accounts/{in_prod}")).await;
    let ou_path = account["ou_path"].as_str().unwrap().to_owned();
    assert!(ou_path.ends_with("/Workloads/Prod"), "{ou_path}");
    let workloads_path = ou_path.trim_end_matches("/Prod");
    let in_ou = get(&app, &format!("/api/v1/findings?ou={workloads_path}&limit=500")).await;
    let in_ou = in_ou["findings"].as_array().unwrap();
    assert!(!in_ou.is_empty());
    assert!(in_ou.iter().all(|f| f["account_id"] == in_prod.as_str()), "only the account under Workloads");
    let accounts = get(&app, &format!("/api/v1/accounts?ou={workloads_path}")).await;
    let ids: Vec<&str> = accounts["accounts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [in_prod.as_str()]);
    assert_ne!(at_root, in_prod);

    // An account shows its findings, and `failing` agrees with them.
    let account_findings = account["findings"].as_array().unwrap();
    assert_eq!(account_findings.len(), report.findings.iter().filter(|f| f.account_id == in_prod).count());
    assert_eq!(account["failing"].as_i64().unwrap() as usize, want);
    let failing_accounts = get(&app, "/api/v1/accounts?failing=true").await;
    assert!(failing_accounts["accounts"].as_array().unwrap().iter().all(|a| a["failing"].as_i64().unwrap() > 0));

    // A finding has the same fields as `sweep --output json`, plus its evidence and history.
    let from_cli = &serde_json::to_value(&report.findings[0]).unwrap();
    let detail = get(&app, &format!("/api/v1/findings/{}", from_cli["id"].as_str().unwrap())).await;
    for (key, value) in from_cli.as_object().unwrap() {
        assert_eq!(&detail[key], value, "field {key}");
    }
    assert!(detail["evidence"].is_object(), "{detail}");
    let history = detail["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert!(["opened", "first_seen"].contains(&history[0]["kind"].as_str().unwrap()));
    assert_eq!(history[0]["sweep_id"], report.sweep_id.to_string());

    // Controls: the whole catalog, with results that add up.
    let controls = get(&app, "/api/v1/controls").await;
    let catalog = bedrock_sweeper::catalog::Catalog::embedded().unwrap();
    assert_eq!(controls["controls"].as_array().unwrap().len(), catalog.controls().len());
    let cov = get(&app, "/api/v1/controls/BR.COV.1").await;
    let results = &cov["results"];
    let cov_count = report.findings.iter().filter(|f| f.control_id == "BR.COV.1").count() as i64;
    let sum: i64 = ["pass", "fail", "error", "not_applicable"].iter().map(|k| results[k].as_i64().unwrap()).sum();
    assert_eq!(sum, cov_count);

    // Sweeps.
    let sweeps = get(&app, "/api/v1/sweeps").await;
    assert_eq!(sweeps["sweeps"][0]["id"], report.sweep_id.to_string());
    assert_eq!(sweeps["sweeps"][0]["status"], "completed");

    // The trend: nothing failing two hours ago, today's failures now.
    let from = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let history = get(&app, &format!("/api/v1/history/posture?from={from}&interval=hour")).await;
    let points = history["points"].as_array().unwrap();
    assert!(points.len() >= 2, "{history}");
    assert!(points[0]["failing_by_severity"].as_object().unwrap().is_empty());
    let last = points.last().unwrap();
    let failing_now: i64 = last["failing_by_severity"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
    // The last point is at or before now: when it precedes the sweep, it shows nothing yet.
    let last_at = chrono::DateTime::parse_from_rfc3339(last["at"].as_str().unwrap()).unwrap();
    if last_at >= report.finished_at {
        assert_eq!(failing_now, count(Status::Fail));
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let at_now = get(&app, &format!("/api/v1/history/posture?from={now}&to={now}")).await;
    let point = &at_now["points"][0];
    let failing_now: i64 =
        point["failing_by_severity"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
    assert_eq!(failing_now, count(Status::Fail));
    assert_eq!(
        point["controls"]["BR.COV.1"]["accounts_evaluated"], 3,
        "every assessed account has a coverage verdict: {point}"
    );

    // Metrics read the findings from the database.
    let metrics = call(&app, "GET", "/metrics", None).await.text;
    assert!(metrics.contains(&format!("sweeper_findings{{status=\"fail\"}} {}", count(Status::Fail))), "{metrics}");
}

#[test]
fn the_openapi_document_covers_every_route() {
    let doc = api::openapi();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let routes = [
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("get", "/api/v1/openapi.json"),
        ("get", "/api/v1/posture"),
        ("get", "/api/v1/accounts"),
        ("get", "/api/v1/accounts/{id}"),
        ("get", "/api/v1/findings"),
        ("get", "/api/v1/findings/{id}"),
        ("get", "/api/v1/controls"),
        ("get", "/api/v1/controls/{id}"),
        ("get", "/api/v1/sweeps"),
        ("post", "/api/v1/sweeps"),
        ("get", "/api/v1/sweeps/{id}"),
        ("get", "/api/v1/history/posture"),
        ("get", "/api/v1/exceptions"),
        ("post", "/api/v1/exceptions"),
        ("get", "/api/v1/exceptions/{id}"),
        ("delete", "/api/v1/exceptions/{id}"),
        ("post", "/api/v1/policy-previews"),
        ("get", "/api/v1/evidence"),
    ];
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.clone(), path.clone())))
        .collect();
    let served: BTreeSet<(String, String)> = routes.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(documented, served, "the document and the router list the same routes");
    // Every operation has its own operationId (tools key on it), and links point at real ones.
    let ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values().map(|op| op["operationId"].as_str().unwrap()))
        .collect();
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "duplicate operationId in {ids:?}");
    let links = &doc["paths"]["/api/v1/exceptions"]["post"]["responses"]["201"]["links"];
    for link in links.as_object().unwrap().values() {
        assert!(ids.contains(&link["operationId"].as_str().unwrap()), "{link}");
    }
    let control_ids = &doc["components"]["schemas"]["NewExceptionBody"]["properties"]["control_id"]["enum"];
    assert_eq!(
        control_ids.as_array().unwrap().len(),
        bedrock_sweeper::catalog::Catalog::embedded().unwrap().controls().len()
    );
    // Filters are documented as parameters, and protected routes declare the bearer scheme.
    let params: Vec<&str> = doc["paths"]["/api/v1/findings"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["status", "control_id", "account_id", "region", "severity", "ou", "limit", "cursor"] {
        assert!(params.contains(&name), "{name} missing from {params:?}");
    }
    assert!(doc["paths"]["/api/v1/posture"]["get"]["security"].is_array());
    assert!(doc["paths"]["/api/v1/posture"]["get"]["responses"]["401"].is_object());
    assert!(doc["paths"]["/api/v1/sweeps"]["post"]["responses"]["403"].is_object());
    assert!(doc["paths"]["/healthz"]["get"]["responses"]["401"].is_null(), "open routes need no token");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// Every documented route is served (a request to it is not a 404 or 405).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_is_served() {
    let (pool, _) = test_db().await;
    let (endpoint, _silent) = silent_endpoint().await;
    let (app, _) = app(&endpoint, pool).await;
    let doc = api::openapi();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if method == "post" {
                continue; // would start a sweep; covered by its own test
            }
            let uri = path
                .replace("{id}", "x")
                .replace("/accounts/x", "/accounts/111122223333")
                .replace("/controls/x", "/controls/BR.NET.1");
            let r = call(&app, &method.to_uppercase(), &uri, Some(OPERATOR)).await;
            assert!(
                r.status != StatusCode::METHOD_NOT_ALLOWED
                    && !(r.status == StatusCode::NOT_FOUND && r.text.contains("no such path")),
                "{method} {path}: {} {}",
                r.status,
                r.text
            );
        }
    }
}
