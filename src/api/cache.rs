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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tokio::sync::Mutex;

/// One cached JSON body.
pub struct Cached {
    ttl: Duration,
    max_age: Duration,
    value: RwLock<Option<(Instant, Bytes)>>,
    // Bumped by `invalidate`: a computation that started before cannot store its result.
    epoch: AtomicU64,
    // Held while computing, so concurrent misses and refreshes run one computation.
    computing: Arc<Mutex<()>>,
}

impl Cached {
    /// An empty cache: bodies are fresh for `ttl` and served (while refreshing) up to `max_age`.
    pub fn new(ttl: Duration, max_age: Duration) -> Self {
        Self { ttl, max_age, value: RwLock::new(None), epoch: AtomicU64::new(0), computing: Arc::new(Mutex::new(())) }
    }

    /// (age, size in bytes) of the body, if there is one.
    fn current(&self) -> Option<(Duration, Bytes)> {
        let guard = self.value.read().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().map(|(at, body)| (at.elapsed(), body.clone()))
    }

    /// Stores a body computed from `computed_at` on, unless the cache was invalidated since
    /// the computation began (`epoch`): it may predate the change.
    fn store(&self, epoch: u64, computed_at: Instant, body: Bytes) {
        let mut guard = self.value.write().unwrap_or_else(PoisonError::into_inner);
        if self.epoch.load(Ordering::SeqCst) == epoch {
            *guard = Some((computed_at, body));
        }
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
                    let epoch = self.epoch.load(Ordering::SeqCst);
                    tokio::spawn(async move {
                        let started = Instant::now();
                        match compute().await {
                            Ok(fresh) => cache.store(epoch, started, fresh),
                            Err(e) => tracing::warn!(error = %e, "refreshing a shared response failed"),
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
        let (epoch, started) = (self.epoch.load(Ordering::SeqCst), Instant::now());
        let body = compute().await?;
        self.store(epoch, started, body.clone());
        Ok(body)
    }

    /// Drops the body: the next request computes it, and a computation already running
    /// does not put its (possibly older) result back.
    pub fn invalidate(&self) {
        let mut guard = self.value.write().unwrap_or_else(PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        *guard = None;
    }
}

/// How long a shared response is served without recomputing.
pub const TTL: Duration = Duration::from_secs(2);
/// How old a shared response may get while it is being recomputed; older ones are computed
/// by the request itself.
pub const MAX_AGE: Duration = Duration::from_secs(10);
/// What the listings' shared responses may hold in all, in bytes (one trend body can be a
/// couple of MB, a findings page a few hundred KB).
const MAX_BYTES: usize = 64 << 20;

/// Shared responses keyed by request (path and query), for the listings dashboards poll.
/// Only successful answers are stored; a request with bad input never reaches it.
///
/// The byte budget and the expiry are `moka`'s: each entry weighs its body's bytes, and an
/// entry nobody asked for in [`MAX_AGE`] goes (its body, refreshed only when asked for, is
/// then too old to serve anyway). An entry that is asked for stays however old it is, so
/// a polled listing keeps being refreshed in the background and no request waits for it. The rules on
/// top (stale-while-revalidate, one computation at a time, the epoch that keeps a stale
/// computation out) are [`Cached`]'s.
pub struct Keyed {
    entries: moka::sync::Cache<String, Arc<Cached>>,
}

impl Keyed {
    fn new() -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(MAX_BYTES as u64)
            // moka weighs an entry when it is inserted: an entry still computing weighs 1
            // until `settle` inserts it again with its body.
            .weigher(|_, e: &Arc<Cached>| e.current().map_or(1, |(_, b)| u32::try_from(b.len()).unwrap_or(u32::MAX)))
            .time_to_idle(MAX_AGE)
            .build();
        Self { entries }
    }

    /// The entry for `key`, created when missing.
    pub fn entry(&self, key: &str) -> Arc<Cached> {
        self.entries.get_with_by_ref(key, || Arc::new(Cached::new(TTL, MAX_AGE)))
    }

    /// Weighs `key`'s entry again now that it holds a (new) body, if it is still the one
    /// stored: one dropped meanwhile (by `clear` or eviction) is not brought back.
    fn settle(&self, key: &str, entry: &Arc<Cached>) {
        if self.entries.get(key).is_some_and(|current| Arc::ptr_eq(&current, entry)) {
            self.entries.insert(key.to_owned(), Arc::clone(entry));
        }
    }

    fn clear(&self) {
        // A computation in flight on a dropped entry must not store what it read before.
        for (_, e) in &self.entries {
            e.invalidate();
        }
        self.entries.invalidate_all();
    }

    /// Bytes held.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.entries.run_pending_tasks();
        self.entries.iter().filter_map(|(_, e)| e.current()).map(|(_, b)| b.len()).sum()
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
    let entry = cache.entry(key);
    let before = entry.current().map(|(_, body)| body);
    let body = entry
        .get_or_compute(move || async move {
            let value = compute().await?;
            let bytes = serde_json::to_vec(&value).map_err(crate::store::StoreError::from)?;
            Ok::<_, super::error::ApiError>(Bytes::from(bytes))
        })
        .await?;
    // Weighed again when this request computed a new body. A background refresh keeps the
    // weight of the body it replaced (the same query, so about the same size) until then.
    if before.is_none_or(|b| b.as_ptr() != body.as_ptr()) {
        cache.settle(key, &entry);
    }
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
    async fn a_computation_that_began_before_an_invalidation_is_not_kept() {
        let cache = Arc::new(Cached::new(Duration::from_secs(60), Duration::from_secs(60)));
        let slow = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move {
                cache
                    .get_or_compute(|| async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, String>(Bytes::from("before the change"))
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        cache.invalidate(); // the change, while the computation runs
        assert_eq!(slow.await.unwrap(), Ok(Bytes::from("before the change")), "its own caller still gets it");
        let after = cache.get_or_compute(|| async { Ok::<_, String>(Bytes::from("after the change")) }).await;
        assert_eq!(after, Ok(Bytes::from("after the change")), "a request after the change reads it");
    }

    #[tokio::test]
    async fn listings_stay_within_their_byte_budget() {
        let keyed = Keyed::new();
        let page = Bytes::from(vec![b'x'; 4 << 20]);
        for i in 0..80 {
            let (key, body) = (format!("q{i}"), page.clone());
            let entry = keyed.entry(&key);
            entry.get_or_compute(move || async move { Ok::<_, String>(body) }).await.unwrap();
            keyed.settle(&key, &entry);
        }
        assert!(keyed.bytes() <= MAX_BYTES, "{} bytes held", keyed.bytes());
        assert!(keyed.bytes() >= 4 << 20);
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
