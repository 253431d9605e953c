//! Property: whatever query string a client sends to a listing (every GET operation in the
//! OpenAPI document without a path parameter, so a new endpoint is covered the day it is
//! added), the answer is 200 or a 400 in the error shape: never a panic, never a 500.
//! Values mix arbitrary text with what breaks arithmetic and SQL: dates at chrono's limits,
//! huge numbers, NUL bytes, and well-encoded cursors holding extreme keys.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::super::helpers::test_db;
use super::{VIEWER, app, call};

/// `(path, query parameter names)` of every GET listing.
fn listings() -> Vec<(String, Vec<String>)> {
    let doc = bedrock_sweeper::api::openapi();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        if !path.starts_with("/api/v1/") || path.contains('{') || path == "/api/v1/openapi.json" {
            continue;
        }
        let names = get["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter().filter(|p| p["in"] == "query").map(|p| p["name"].as_str().unwrap().to_owned()).collect()
            })
            .unwrap_or_default();
        out.push((path.clone(), names));
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
    let micros = prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), Just(-8_334_632_851_200_000_000)];
    let key = prop_oneof![
        (prop::sample::select(vec!["t", "d", "s"]), micros, "[0-9a-f]{32}")
            .prop_map(|(k, m, id)| format!("{k}:{m}:{id}")),
        (prop::sample::select(EXTREME.to_vec()), any::<u128>())
            .prop_map(|(at, id)| format!("{at}|{}", uuid::Uuid::from_u128(id))),
        any::<u128>().prop_map(|id| uuid::Uuid::from_u128(id).to_string()),
        "[0-9]{12}",
        any::<String>(),
    ];
    (prop::sample::select(vec!["v1:", "v2:", ""]), key)
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

/// One query string for a listing with parameters `names`: known and unknown names,
/// repeats, percent-encoded values, and raw URI-safe text with broken escapes.
fn query(names: Vec<String>) -> impl Strategy<Value = String> {
    let mut known = names;
    known.extend(["bogus".to_owned(), String::new()]);
    let pair = (prop::sample::select(known), value())
        .prop_map(|(k, v)| format!("{k}={}", utf8_percent_encode(&v, NON_ALPHANUMERIC)));
    prop_oneof![
        4 => prop::collection::vec(pair, 0..5).prop_map(|pairs| pairs.join("&")),
        1 => "[A-Za-z0-9%=&+._~-]{0,40}",
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listing_answers_any_query_with_200_or_400() {
    let (pool, _) = test_db().await;
    // No AWS call is made: nothing here starts a sweep.
    let (app, _runner) = app("http://127.0.0.1:9", pool);
    let listings = listings();
    assert!(listings.len() >= 6, "{listings:?}");
    assert!(listings.iter().any(|(p, names)| p == "/api/v1/history/posture" && names.contains(&"from".to_owned())));

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

    let strategy = prop::sample::select(listings).prop_flat_map(|(path, names)| (Just(path), query(names)));
    let handle = tokio::runtime::Handle::current();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(Config { cases: 600, failure_persistence: None, ..Config::default() });
        runner.run(&strategy, |(path, query)| {
            let uri = format!("{path}?{query}");
            let r = handle.block_on(call(&app, "GET", &uri, Some(VIEWER)));
            match r.status {
                StatusCode::OK => {}
                StatusCode::BAD_REQUEST => {
                    let body: serde_json::Value = serde_json::from_str(&r.text)
                        .map_err(|e| TestCaseError::fail(format!("{uri}: not JSON ({e}): {}", r.text)))?;
                    prop_assert_eq!(&body["error"]["code"], "bad_request", "{}: {}", uri, r.text);
                }
                other => return Err(TestCaseError::fail(format!("{uri}: {other} {}", r.text))),
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
