//! Dashboard page timings at the planned scale: the API benchmark's database (10,000
//! accounts, 1,000,000 current findings, a year of daily sweeps; generated once and shared,
//! see `benches/support`), each page rendered by the router `serve` uses, in-process, signed
//! in as a viewer. Server time only (no network, no browser): the median and slowest of
//! `RUNS` renders per page, with the API's JSON for the same data measured the same way in
//! the same run as the reference.
//!
//! Run: `scripts/bench-dashboard.sh`, or `cargo bench --bench dashboard_pages` with
//! PostgreSQL at `TEST_DATABASE_URL`. `RUNS` (default 20) per page.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bedrock_sweeper::api;
use bedrock_sweeper::app::App;
use bedrock_sweeper::catalog::Catalog;
use bedrock_sweeper::config::{DatabaseSettings, Settings};
use bedrock_sweeper::domain::{Role, TokenHash};
use bedrock_sweeper::store;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

mod support;
use support::database;

const TOKEN: &str = "bench-viewer-token";

/// One request through the router; status, body length and the cookies it set.
async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    cookie: &str,
    form: Option<String>,
) -> (StatusCode, usize, Vec<String>) {
    let mut req = Request::builder().method(method).uri(uri).header(header::COOKIE, cookie);
    if form.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    if uri.starts_with("/api/") {
        req = req.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    }
    let response = app
        .clone()
        .oneshot(req.body(form.map_or_else(Body::empty, Body::from)).expect("request"))
        .await
        .expect("answer");
    let status = response.status();
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, body.len(), cookies)
}

/// Signs in as the viewer; the session cookie.
async fn sign_in(app: &Router) -> String {
    let form = Request::get("/sign-in").body(Body::empty()).expect("request");
    let response = app.clone().oneshot(form).await.expect("sign-in page");
    let cookie: String = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    let html =
        String::from_utf8(response.into_body().collect().await.expect("body").to_bytes().to_vec()).expect("utf-8");
    let at = html.find("name=\"csrf\" value=\"").expect("csrf") + 19;
    let csrf = html[at..].split('"').next().expect("csrf value");
    let (status, _, cookies) =
        send(app, "POST", "/sign-in", &cookie, Some(format!("token={TOKEN}&csrf={csrf}&next=%2F"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed in");
    cookies.into_iter().find(|c| c.starts_with("sweeper_session=")).expect("session cookie")
}

/// Renders `uri` `runs` times: (median ms, max ms, bytes).
async fn time(app: &Router, cookie: &str, uri: &str, runs: usize) -> (f64, f64, usize) {
    let mut took = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let (status, len, _) = send(app, "GET", uri, cookie, None).await;
        took.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, StatusCode::OK, "{uri}");
        bytes = len;
    }
    took.sort_by(f64::total_cmp);
    (took[runs / 2], took[runs - 1], bytes)
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(20).max(1);
    let catalog = Arc::new(Catalog::embedded().expect("catalog"));
    let (generated, url) = database(&catalog).await;
    generated.close().await;
    let pool =
        store::connect(&DatabaseSettings { url: url.into(), ..DatabaseSettings::default() }).await.expect("connect");
    let mut settings = Settings::default();
    settings.api.tokens = vec![TokenHash { role: Role::Viewer, sha256: Sha256::digest(TOKEN.as_bytes()).into() }];
    let app = api::router(App::api_only(&settings, Arc::clone(&catalog), pool.clone()));
    let cookie = sign_in(&app).await;

    // Subjects that exist in the generated data.
    let account: String = sqlx::query_scalar("select id from accounts order by failing_count desc, id limit 1")
        .fetch_one(&pool)
        .await
        .expect("an account");
    let (finding, resource): (String, String) =
        sqlx::query_as("select id, resource_id from findings where status = 'fail' and active order by id limit 1")
            .fetch_one(&pool)
            .await
            .expect("a failing finding");
    let control = catalog.controls()[0].id.to_string();
    let resource = percent_encoding::utf8_percent_encode(&resource, percent_encoding::NON_ALPHANUMERIC).to_string();
    let pages = [
        ("posture (30 days)", "/".to_owned()),
        ("posture (365 days)", "/?days=365".to_owned()),
        ("accounts, most failing first", "/accounts".to_owned()),
        ("accounts under an OU, failing only", "/accounts?ou=Root%2FUnit-03&failing=on".to_owned()),
        ("one account", format!("/accounts/{account}")),
        ("controls", "/controls".to_owned()),
        ("one control (200 failing)", format!("/controls/{control}")),
        ("one finding", format!("/findings/{finding}")),
        ("sweeps", "/sweeps".to_owned()),
        ("exceptions", "/exceptions".to_owned()),
        ("compliance", "/compliance".to_owned()),
        ("search: an account name", "/search?q=workload-42".to_owned()),
        ("search: a resource ARN", format!("/search?q={resource}")),
    ];
    let reference = [
        ("API GET /posture (shared for 2 s)", "/api/v1/posture".to_owned()),
        ("API GET /accounts?failing=true", "/api/v1/accounts?failing=true".to_owned()),
        ("API GET /accounts/{id}", format!("/api/v1/accounts/{account}")),
        ("API GET /findings/{id}", format!("/api/v1/findings/{finding}")),
    ];
    println!("server time per page, {runs} renders each, 10,000 accounts and 1,000,000 findings:");
    for (name, uri) in pages.iter().chain(&reference) {
        let (median, max, bytes) = time(&app, &cookie, uri, runs).await;
        println!("{name:<40} median {median:>7.1} ms  max {max:>7.1} ms  {:>7.1} KiB", bytes as f64 / 1024.0);
    }
    // The evidence export: every finding as of the last sweep, once.
    let t = Instant::now();
    let (status, bytes, _) = send(&app, "GET", "/compliance/evidence?format=csv", &cookie, None).await;
    assert_eq!(status, StatusCode::OK);
    println!(
        "evidence export (CSV, every finding as of the last sweep): {:.1} s, {:.1} MiB",
        t.elapsed().as_secs_f64(),
        bytes as f64 / 1024.0 / 1024.0
    );
}
