//! Property: whatever query string a client sends to a listing (every GET operation in the
//! OpenAPI document without a path parameter, so a new endpoint is covered the day it is
//! added), the answer is 200 or a 400 in the error shape: never a panic, never a 500.
//! Queries are mostly well formed, with one hostile value at a time (dates at chrono's
//! limits, huge numbers, NUL bytes, arbitrary text, well-encoded cursors holding extreme
//! keys), so the hostile value reaches the code that parses it. Without the bound on cursor
//! dates (`pagination::storable`) this fails, shrinking to a `-first_seen_at` cursor just
//! before PostgreSQL's first year.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::super::helpers::test_db;
use super::{VIEWER, app, call};

/// A documented query parameter: its name and the values its pattern spells out, if it is
/// an alternation such as `^(id|severity|first_seen_at|-first_seen_at)$`.
#[derive(Debug, Clone)]
struct Param {
    name: String,
    documented: Vec<String>,
}

/// `(path, parameters)` of every GET listing.
fn listings() -> Vec<(String, Vec<Param>)> {
    let doc = bedrock_sweeper::api::openapi();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        if !path.starts_with("/api/v1/") || path.contains('{') || path == "/api/v1/openapi.json" {
            continue;
        }
        let params = get["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "query")
                    .map(|p| {
                        let pattern = p["schema"]["pattern"].as_str().unwrap_or_default();
                        let documented = pattern
                            .strip_prefix("^(")
                            .and_then(|r| r.strip_suffix(")$"))
                            .map(|alts| alts.split('|').map(str::to_owned).collect())
                            .unwrap_or_default();
                        Param { name: p["name"].as_str().unwrap().to_owned(), documented }
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push((path.clone(), params));
    }
    out
}

const EXTREME: &[&str] = &[
    "9999-12-31T23:59:59Z",
    "+262142-12-31T23:59:59Z",
    "-262143-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "1969-12-31T23:59:59.999999999Z",
    "1970-01-01T00:00:00Z",
    "2262-04-11T23:47:16.854775807Z",
    "2026-13-45T25:61:61Z",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "4294967296",
    "-1",
    "0",
    "NaN",
    "true",
    "hour",
    "week",
    "Root\u{0}x",
    "\u{0}",
    "fail",
    "critical",
    "-first_seen_at",
    "BR.NET.1",
    "111122223333",
    "eu-west-1",
];

/// A cursor that decodes: the version prefix (or not) and a key shaped like one of ours.
fn cursor() -> impl Strategy<Value = String> {
    // Half of them before PostgreSQL's first year (4713 BC) but within chrono's range.
    let micros = prop_oneof![
        any::<i64>(),
        -8_000_000_000_000_000_000i64..-300_000_000_000_000_000,
        Just(i64::MIN),
        Just(i64::MAX)
    ];
    let key = prop_oneof![
        3 => (prop::sample::select(vec!["t", "d", "s"]), micros, "[0-9a-f]{32}")
            .prop_map(|(k, m, id)| format!("{k}:{m}:{id}")),
        1 => (prop::sample::select(EXTREME.to_vec()), any::<u128>())
            .prop_map(|(at, id)| format!("{at}|{}", uuid::Uuid::from_u128(id))),
        1 => any::<u128>().prop_map(|id| uuid::Uuid::from_u128(id).to_string()),
        1 => "[0-9]{12}",
        1 => any::<String>(),
    ];
    (prop::sample::select(vec!["v1:", "v1:", "v1:", "v2:", ""]), key)
        .prop_map(|(prefix, key)| URL_SAFE_NO_PAD.encode(format!("{prefix}{key}")))
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(EXTREME.to_vec()).prop_map(str::to_owned),
        2 => any::<String>(),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        2 => cursor(),
    ]
}

/// Values a parameter is meant to take: its documented alternatives, or by name.
fn usual(p: &Param) -> BoxedStrategy<String> {
    if p.name == "cursor" {
        return cursor().boxed();
    }
    if !p.documented.is_empty() {
        return prop::sample::select(p.documented.clone()).boxed();
    }
    let pool: Vec<&str> = match p.name.as_str() {
        "limit" => vec!["1", "2", "100", "500"],
        "from" | "to" => vec!["2026-11-01T00:00:00Z", "2026-11-30T12:00:00.5+02:00", "2025-06-01T00:00:00Z"],
        "failing" | "include_withdrawn" => vec!["true", "false"],
        "account_id" => vec!["111122223333"],
        "region" => vec!["us-east-1", "eu-west-1"],
        "control_id" => vec!["BR.NET.1", "BR.COV.1"],
        "ou" => vec!["Root", "Root/Workloads"],
        _ => vec!["x"],
    };
    prop::sample::select(pool).prop_map(str::to_owned).boxed()
}

/// One query string for a listing: each documented parameter present or not with a usual
/// value, then at most one of them (or an unknown name) given a hostile value: an extreme,
/// arbitrary text or a cursor; sometimes raw URI-safe text with broken escapes. One hostile
/// value at a time, so it reaches the code that parses it instead of being refused beside
/// another bad one.
fn query(params: Vec<Param>) -> impl Strategy<Value = String> {
    fn encode(k: &str, v: &str) -> String {
        format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC))
    }
    let names: Vec<String> = params.iter().map(|p| p.name.clone()).collect();
    let usual_pairs: Vec<BoxedStrategy<Option<(String, String)>>> = params
        .iter()
        .map(|p| {
            let name = p.name.clone();
            prop::option::weighted(0.6, usual(p)).prop_map(move |v| v.map(|v| (name.clone(), v))).boxed()
        })
        .collect();
    let mut hostile_names = names;
    hostile_names.extend(["bogus".to_owned(), String::new()]);
    let hostile = prop::option::weighted(0.8, (prop::sample::select(hostile_names), value()));
    let structured = (usual_pairs, hostile).prop_map(|(pairs, hostile)| {
        let mut pairs: Vec<(String, String)> = pairs.into_iter().flatten().collect();
        if let Some((name, v)) = hostile {
            pairs.retain(|(n, _)| *n != name);
            pairs.push((name, v));
        }
        pairs.iter().map(|(k, v)| encode(k, v)).collect::<Vec<_>>().join("&")
    });
    prop_oneof![9 => structured, 1 => "[A-Za-z0-9%=&+._~-]{0,40}"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listing_answers_any_query_with_200_or_400() {
    let (pool, _) = test_db().await;
    // No AWS call is made: nothing here starts a sweep.
    let (app, _runner) = app("http://127.0.0.1:9", pool).await;
    let listings = listings();
    assert!(listings.len() >= 6, "{listings:?}");
    assert!(
        listings.iter().any(|(p, params)| p == "/api/v1/history/posture" && params.iter().any(|x| x.name == "from"))
    );
    assert!(listings.iter().flat_map(|(_, ps)| ps).any(|p| p.name == "sort" && p.documented.len() == 4));

    // Known extremes first, by hand: each is a 400 naming the parameter.
    for (uri, named) in [
        ("/api/v1/history/posture?to=9999-12-31T23:59:59Z", "to"),
        ("/api/v1/history/posture?from=9999-12-31T23:59:59Z&to=9999-12-31T23:59:59Z", "from"),
        ("/api/v1/history/posture?from=-262143-01-01T00:00:00Z", "from"),
        ("/api/v1/history/posture?to=%2B262142-12-31T23:59:59Z", "to"),
        ("/api/v1/history/posture?to=1969-12-31T00:00:00Z", "to"),
        ("/api/v1/history/posture?from=1970-01-01T00:00:00Z&interval=week", "interval"),
    ] {
        let r = call(&app, "GET", uri, Some(VIEWER)).await;
        let message = r.error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(message.contains(named), "{uri}: {message}");
    }

    // A route that documents a 404 (the evidence export before any sweep completed) may
    // answer it, in the error shape.
    let doc = bedrock_sweeper::api::openapi();
    let may_404: Vec<String> = listings
        .iter()
        .filter(|(path, _)| doc["paths"][path]["get"]["responses"].get("404").is_some())
        .map(|(path, _)| path.clone())
        .collect();
    // Each listing gets its own run, so none is left to chance.
    let handle = tokio::runtime::Handle::current();
    let outcome = tokio::task::spawn_blocking(move || {
        for (path, params) in listings {
            let mut runner = TestRunner::new(Config { cases: 1000, failure_persistence: None, ..Config::default() });
            runner.run(&query(params), |query| {
                let uri = format!("{path}?{query}");
                let r = handle.block_on(call(&app, "GET", &uri, Some(VIEWER)));
                match r.status {
                    StatusCode::OK => {}
                    StatusCode::BAD_REQUEST => {
                        let body: serde_json::Value = serde_json::from_str(&r.text)
                            .map_err(|e| TestCaseError::fail(format!("{uri}: not JSON ({e}): {}", r.text)))?;
                        prop_assert_eq!(&body["error"]["code"], "bad_request", "{}: {}", uri, r.text);
                    }
                    StatusCode::NOT_FOUND if may_404.contains(&path) => {
                        let body: serde_json::Value = serde_json::from_str(&r.text)
                            .map_err(|e| TestCaseError::fail(format!("{uri}: not JSON ({e}): {}", r.text)))?;
                        prop_assert_eq!(&body["error"]["code"], "not_found", "{}: {}", uri, r.text);
                    }
                    other => return Err(TestCaseError::fail(format!("{uri}: {other} {}", r.text))),
                }
                Ok(())
            })?;
        }
        Ok::<(), proptest::test_runner::TestError<String>>(())
    })
    .await
    .unwrap();
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
