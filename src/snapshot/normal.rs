//! The form of a snapshot its content hash is computed over: the stored JSON without what
//! changes between two sweeps of an unchanged account, so unchanged evidence is stored once.
//!
//! Left out:
//! - CloudTrail delivery times (a logging trail delivers every few minutes);
//! - how far digest-chain verification got and what it read this sweep (the chain's
//!   breaks and whether it finished are kept);
//! - the message of a failed collection ([`super::Gap`], [`super::NotAssessed`]): it is for
//!   people and carries per-call noise (request ids, the raw answer with its `Date` header).
//!   What the failure is (service, operation, region, kind, code) is hashed.
//!
//! The stored content keeps them: the row is refreshed with the newest values
//! (`store::snapshots::put`).

use serde_json::Value;

/// Keys whose values change with time alone.
const VOLATILE_KEYS: &[&str] = &[
    "latest_delivery_time",
    "latest_digest_delivery_time",
    "window_start",
    "resumed_from",
    "verified_through",
    "digests_verified",
    "log_files_verified",
    "bytes_read",
    "restarts",
    "next_cursor",
];

/// `value` without its volatile parts.
pub fn hashed_form(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let failure = map.contains_key("kind") && map.contains_key("code") && map.contains_key("message");
            let left_out = |k: &str| VOLATILE_KEYS.contains(&k) || (failure && k == "message");
            // Keys sorted: the hash must not depend on the order a map was built in (serde_json
            // keeps insertion order when a dependency enables `preserve_order`).
            let mut kept: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| !left_out(k)).collect();
            kept.sort_by(|a, b| a.0.cmp(b.0));
            kept.into_iter().map(|(k, v)| (k.clone(), hashed_form(v))).collect()
        }
        Value::Array(items) => Value::Array(items.iter().map(hashed_form).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_hashed_form_does_not_depend_on_key_order() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": 2, "x": 3}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": {"x": 3, "y": 2}, "b": 1}"#).unwrap();
        let text = |v: &Value| serde_json::to_string(&hashed_form(v)).unwrap();
        assert_eq!(text(&a), text(&b));
        assert_eq!(text(&a), r#"{"a":{"x":3,"y":2},"b":1}"#);
    }

    #[test]
    fn delivery_times_and_failure_messages_do_not_reach_the_hashed_form() {
        let a = json!({"trails": {"Ok": [{"name": "org", "status": {"Ok": {
            "is_logging": true, "latest_delivery_time": "2026-11-01T00:00:00Z",
            "latest_digest_delivery_time": "2026-11-01T00:00:00Z"}}}]},
            "iam": {"Err": {"service": "iam", "operation": "ListRoles", "region": null, "kind": "service",
                            "code": "InternalFailure", "message": "aws_request_id: \"r-1\", date: Mon"}}});
        let mut b = a.clone();
        b["trails"]["Ok"][0]["status"]["Ok"]["latest_delivery_time"] = json!("2026-11-02T00:00:00Z");
        b["iam"]["Err"]["message"] = json!("aws_request_id: \"r-2\", date: Tue");
        assert_ne!(a, b);
        assert_eq!(hashed_form(&a), hashed_form(&b));
        // What the controls judge still counts.
        let mut c = a.clone();
        c["trails"]["Ok"][0]["status"]["Ok"]["is_logging"] = json!(false);
        assert_ne!(hashed_form(&a), hashed_form(&c));
        let mut d = a.clone();
        d["iam"]["Err"]["code"] = json!("AccessDenied");
        assert_ne!(hashed_form(&a), hashed_form(&d));
        // A `message` that is not a failure's is data, and kept.
        let e = json!({"guardrail": {"message": "blocked"}});
        assert_eq!(hashed_form(&e), e);
    }
}
