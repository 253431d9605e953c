//! Responses shared by every request for a short while (stale-while-revalidate).
//!
//! For what many clients poll (`GET /posture`, the listings): a body younger than the TTL is
//! served as is; an older one is still served while one background task recomputes it, so
//! no request waits for the computation; a body older than the maximum age is not served at
//! all (the request computes, and fails if the database does: stale data never hides an
//! outage for long). Writes made through this process (exceptions) drop every body, so a
//! client reads its own changes at once; other replicas' changes and sweep progress show
//! within the TTL plus one computation. Single items (`/findings/{id}`, ...) and sweeps are
//! not shared: they are always read fresh.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tokio::sync::Mutex;

/// One cached JSON body.
pub struct Cached {
    ttl: Duration,
    max_age: Duration,
    value: RwLock<Option<(Instant, Bytes)>>,
    // Held while computing, so concurrent misses and refreshes run one computation.
    computing: Arc<Mutex<()>>,
}

impl Cached {
    /// An empty cache: bodies are fresh for `ttl` and served (while refreshing) up to `max_age`.
    pub fn new(ttl: Duration, max_age: Duration) -> Self {
        Self { ttl, max_age, value: RwLock::new(None), computing: Arc::new(Mutex::new(())) }
    }

    fn current(&self) -> Option<(Duration, Bytes)> {
        let guard = self.value.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.as_ref().map(|(at, body)| (at.elapsed(), body.clone()))
    }

    fn store(&self, computed_at: Instant, body: Bytes) {
        *self.value.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((computed_at, body));
    }

    /// The cached body, refreshed in the background when it is older than the TTL, or the
    /// body `compute` produces when there is none young enough. A failed computation is not
    /// cached; a failed background refresh is logged and retried by the next request.
    pub async fn get_or_compute<E, F, Fut>(self: &Arc<Self>, compute: F) -> Result<Bytes, E>
    where
        E: std::fmt::Display + Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Bytes, E>> + Send + 'static,
    {
        match self.current() {
            Some((age, body)) if age < self.ttl => return Ok(body),
            Some((age, body)) if age < self.max_age => {
                if let Ok(guard) = Arc::clone(&self.computing).try_lock_owned() {
                    let cache = Arc::clone(self);
                    tokio::spawn(async move {
                        let started = Instant::now();
                        match compute().await {
                            Ok(fresh) => cache.store(started, fresh),
                            Err(e) => tracing::warn!(error = %e, "refreshing a cached response failed"),
                        }
                        drop(guard);
                    });
                }
                return Ok(body);
            }
            _ => {}
        }
        let _one_at_a_time = self.computing.lock().await;
        if let Some((age, body)) = self.current()
            && age < self.ttl
        {
            return Ok(body);
        }
        let started = Instant::now();
        let body = compute().await?;
        self.store(started, body.clone());
        Ok(body)
    }

    /// Drops the body: the next request computes it.
    pub fn invalidate(&self) {
        *self.value.write().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

/// How long a shared response is served without recomputing.
pub const TTL: Duration = Duration::from_secs(2);
/// How old a shared response may get while it is being recomputed.
pub const MAX_AGE: Duration = Duration::from_secs(30);
/// Responses kept per listing before the oldest are dropped (bodies are at most a page).
const MAX_ENTRIES: usize = 512;

/// Shared responses keyed by request (path and query), for the listings dashboards poll.
/// Only successful answers are stored; a request with bad input never reaches it.
pub struct Keyed {
    entries: std::sync::Mutex<std::collections::HashMap<String, (Instant, Arc<Cached>)>>,
}

impl Keyed {
    fn new() -> Self {
        Self { entries: std::sync::Mutex::new(std::collections::HashMap::new()) }
    }

    /// The entry for `key`, created when missing; the least recently created entries go
    /// when there are too many.
    pub fn entry(&self, key: &str) -> Arc<Cached> {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, e)) = entries.get(key) {
            return Arc::clone(e);
        }
        if entries.len() >= MAX_ENTRIES {
            let mut by_age: Vec<(Instant, String)> = entries.iter().map(|(k, (at, _))| (*at, k.clone())).collect();
            by_age.sort();
            for (_, k) in by_age.into_iter().take(MAX_ENTRIES / 4) {
                entries.remove(&k);
            }
        }
        let e = Arc::new(Cached::new(TTL, MAX_AGE));
        entries.insert(key.to_owned(), (Instant::now(), Arc::clone(&e)));
        e
    }

    fn clear(&self) {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

/// The shared responses of one API instance.
#[derive(Clone)]
pub struct Caches {
    /// `GET /posture`.
    pub posture: Arc<Cached>,
    /// Listings: findings, accounts, controls, the trend.
    pub listings: Arc<Keyed>,
}

impl Caches {
    /// Drops every shared response: this process changed data (an exception), and its
    /// clients must read their own change.
    pub fn invalidate(&self) {
        self.posture.invalidate();
        self.listings.clear();
    }
}

impl Default for Caches {
    fn default() -> Self {
        Self { posture: Arc::new(Cached::new(TTL, MAX_AGE)), listings: Arc::new(Keyed::new()) }
    }
}

/// Serves the shared JSON body for `key` from `cache`, computing it with `compute` when needed.
pub async fn shared_json<T, F, Fut>(
    cache: &Keyed,
    key: &str,
    compute: F,
) -> Result<axum::response::Response, super::error::ApiError>
where
    T: serde::Serialize,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, super::error::ApiError>> + Send + 'static,
{
    use axum::response::IntoResponse;
    let body = cache
        .entry(key)
        .get_or_compute(move || async move {
            let value = compute().await?;
            let bytes = serde_json::to_vec(&value).map_err(crate::store::StoreError::from)?;
            Ok::<_, super::error::ApiError>(Bytes::from(bytes))
        })
        .await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting(n: &Arc<AtomicUsize>, delay: Duration) -> impl Future<Output = Result<Bytes, String>> + use<> {
        let n = Arc::clone(n);
        async move {
            tokio::time::sleep(delay).await;
            Ok(Bytes::from((n.fetch_add(1, Ordering::SeqCst) + 1).to_string()))
        }
    }

    #[tokio::test]
    async fn concurrent_misses_compute_once_and_invalidation_recomputes() {
        let cache = Arc::new(Cached::new(Duration::from_secs(60), Duration::from_secs(60)));
        let computed = Arc::new(AtomicUsize::new(0));
        let calls = (0..8).map(|_| {
            let (cache, computed) = (Arc::clone(&cache), Arc::clone(&computed));
            tokio::spawn(
                async move { cache.get_or_compute(move || counting(&computed, Duration::from_millis(20))).await },
            )
        });
        for call in calls {
            assert_eq!(call.await.unwrap(), Ok(Bytes::from("1")));
        }
        cache.invalidate();
        let c = Arc::clone(&computed);
        assert_eq!(cache.get_or_compute(move || counting(&c, Duration::ZERO)).await, Ok(Bytes::from("2")));
    }

    #[tokio::test]
    async fn a_stale_body_is_served_while_one_refresh_runs() {
        let cache = Arc::new(Cached::new(Duration::from_millis(20), Duration::from_secs(60)));
        let computed = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&computed);
        assert_eq!(cache.get_or_compute(move || counting(&c, Duration::ZERO)).await, Ok(Bytes::from("1")));
        tokio::time::sleep(Duration::from_millis(30)).await;
        // Stale: every caller gets the old body at once; one refresh (taking 50 ms) starts.
        for _ in 0..5 {
            let c = Arc::clone(&computed);
            let started = Instant::now();
            let body = cache.get_or_compute(move || counting(&c, Duration::from_millis(50))).await;
            assert_eq!(body, Ok(Bytes::from("1")));
            assert!(started.elapsed() < Duration::from_millis(40), "served without waiting");
        }
        tokio::time::sleep(Duration::from_millis(80)).await;
        let c = Arc::clone(&computed);
        assert_eq!(cache.get_or_compute(move || counting(&c, Duration::ZERO)).await, Ok(Bytes::from("2")));
        assert_eq!(computed.load(Ordering::SeqCst), 2, "one background refresh, not five");
    }

    #[tokio::test]
    async fn failures_are_not_cached_and_a_too_old_body_is_not_served() {
        let cache = Arc::new(Cached::new(Duration::from_millis(10), Duration::from_millis(40)));
        let failed = cache.get_or_compute(|| async { Err::<Bytes, _>("db down".to_owned()) }).await;
        assert_eq!(failed, Err("db down".to_owned()));
        assert_eq!(cache.get_or_compute(|| async { Ok::<_, String>(Bytes::from("a")) }).await, Ok(Bytes::from("a")));
        tokio::time::sleep(Duration::from_millis(60)).await;
        // Past the maximum age: the database's failure reaches the caller.
        let failed = cache.get_or_compute(|| async { Err::<Bytes, _>("db down".to_owned()) }).await;
        assert_eq!(failed, Err("db down".to_owned()));
    }
}
