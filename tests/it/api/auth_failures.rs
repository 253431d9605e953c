//! Guessing tokens: repeated 401s from one address are answered 429 for a while (even a
//! right token, so a lucky guess cannot be told apart), other addresses are unaffected; and
//! the audit trail names callers by an HMAC under the deployment's secret, not by a hash
//! anyone could compute.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use bedrock_sweeper::api::auth::{FingerprintKey, MAX_FAILURES};
use bedrock_sweeper::api::{self, AppState};
use bedrock_sweeper::config::ApiSettings;
use bedrock_sweeper::domain::{Role, TokenHash};
use http_body_util::BodyExt;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use super::super::helpers::{service, test_db};
use super::super::sweep_e2e::deps;
use super::{OPERATOR, VIEWER, post_json};

async fn state(pool: sqlx::PgPool) -> AppState {
    let tokens = [
        TokenHash { role: Role::Viewer, sha256: Sha256::digest(VIEWER.as_bytes()).into() },
        TokenHash { role: Role::Operator, sha256: Sha256::digest(OPERATOR.as_bytes()).into() },
    ];
    service(deps("http://127.0.0.1:9", pool).await, &tokens).state().clone()
}

/// A GET as if from `peer` (what `serve` attaches to every request).
async fn get_from(app: &Router, peer: &str, token: &str) -> (StatusCode, Option<String>) {
    let peer: SocketAddr = peer.parse().unwrap();
    let mut req = Request::get("/api/v1/sweeps")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let retry = res.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"], "too_many_auth_failures");
    }
    (status, retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_401s_lock_the_address_out_and_only_that_address() {
    let (pool, _) = test_db().await;
    let state = state(pool).await;
    let limiter = Arc::clone(&state.auth_failures);
    let app = api::router(state);
    let (attacker, neighbour) = ("192.0.2.10:40000", "192.0.2.11:40000");

    for i in 0..MAX_FAILURES {
        assert_eq!(get_from(&app, attacker, &format!("guess-{i}")).await.0, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    // Locked out: a further guess, and even the right token, get 429 with Retry-After.
    let (status, retry) = get_from(&app, attacker, "guess-next").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    assert_eq!(get_from(&app, "192.0.2.10:40001", VIEWER).await.0, StatusCode::TOO_MANY_REQUESTS, "any port");
    // Another address is served as usual, and its own wrong token is a plain 401.
    assert_eq!(get_from(&app, neighbour, VIEWER).await.0, StatusCode::OK);
    assert_eq!(get_from(&app, neighbour, "wrong").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(limiter.tracked(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_fingerprints_are_keyed_by_the_deployments_secret() {
    let (pool, _) = test_db().await;
    let generated = ApiSettings::default();
    // Unset: generated once, stored, and the same for every process that asks after.
    let first = api::fingerprint_key(&generated, &pool).await.unwrap();
    let again = api::fingerprint_key(&generated, &pool).await.unwrap();
    assert_eq!(first.fingerprint(OPERATOR), again.fingerprint(OPERATOR));
    let rows: i64 = sqlx::query_scalar("select count(*) from server_secret").fetch_one(&pool).await.unwrap();
    assert_eq!(rows, 1);
    // Configured: that key, not the stored one.
    let configured = ApiSettings {
        fingerprint_secret: Some(SecretString::from("a-configured-secret-of-32-chars!")),
        ..ApiSettings::default()
    };
    let key = api::fingerprint_key(&configured, &pool).await.unwrap();
    assert_eq!(
        key.fingerprint(OPERATOR),
        FingerprintKey::new(b"a-configured-secret-of-32-chars!").fingerprint(OPERATOR)
    );
    assert_ne!(key.fingerprint(OPERATOR), first.fingerprint(OPERATOR));

    // What the audit trail records.
    let mut state = state(pool).await;
    state.fingerprint_key = first.clone();
    let app = api::router(state);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let body = serde_json::json!({"control_id": "BR.NET.1", "scope": {"region": "us-east-1"}, "reason": "r", "expires_at": tomorrow});
    let created = post_json(&app, "/api/v1/exceptions", OPERATOR, &body.to_string()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let actor = created.json()["created_by"].as_str().unwrap().to_owned();
    assert_eq!(actor, format!("operator:{}", first.fingerprint(OPERATOR)));
    // Not a piece of the token's plain SHA-256, which anyone holding a guess could compute.
    let unkeyed = hex::encode(Sha256::digest(OPERATOR.as_bytes()));
    assert!(!unkeyed.contains(actor.trim_start_matches("operator:")), "{actor}");
}
