//! Counts AWS calls per service and operation, as an SDK interceptor attached to every
//! client we build. Each attempt counts (a retried call counts twice), because attempts
//! are what the quota and the bill see.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

/// Calls and failed calls of one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OperationCount {
    /// Attempts made.
    pub calls: u64,
    /// Attempts that ended in an error (including ones later retried successfully).
    pub errors: u64,
}

/// A snapshot of the counts: service → operation → counts.
pub type CallCounts = BTreeMap<String, BTreeMap<String, OperationCount>>;

/// The shared counter. Cloning shares the same counts.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<CallCounts>>,
}

impl CallCounter {
    /// The counts so far.
    pub fn snapshot(&self) -> CallCounts {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Total attempts for one service (as the SDK names it, e.g. "Organizations").
    pub fn total_for(&self, service: &str) -> u64 {
        self.snapshot().get(service).map_or(0, |ops| ops.values().map(|c| c.calls).sum())
    }

    fn record(&self, service: &str, operation: &str, failed: bool) {
        if let Ok(mut counts) = self.counts.lock() {
            let entry = counts.entry(service.to_owned()).or_default().entry(operation.to_owned()).or_default();
            entry.calls += 1;
            if failed {
                entry.errors += 1;
            }
        }
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let failed = !matches!(context.output_or_error(), Some(Ok(_)));
        match cfg.load::<Metadata>() {
            Some(meta) => self.record(meta.service(), meta.name(), failed),
            None => self.record("unknown", "unknown", failed),
        }
        Ok(())
    }
}

/// The calls in `after` that were not yet in `before` (both from the same counter).
pub fn calls_since(before: &CallCounts, after: &CallCounts) -> CallCounts {
    let mut out = CallCounts::new();
    for (service, ops) in after {
        for (op, count) in ops {
            let old = before.get(service).and_then(|o| o.get(op)).copied().unwrap_or_default();
            let delta = OperationCount { calls: count.calls - old.calls, errors: count.errors - old.errors };
            if delta.calls > 0 {
                out.entry(service.clone()).or_default().insert(op.clone(), delta);
            }
        }
    }
    out
}
