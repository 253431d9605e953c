//! Bearer-token authentication and role checks for `/api/v1`.
//!
//! The configuration holds only SHA-256 hashes of tokens. A presented token is hashed and
//! compared with every configured hash in constant time (no early exit), so response timing
//! says nothing about how close a guess was. Tokens and hashes are never logged.
//! `viewer` may `GET`; `operator` may also `POST` and `DELETE`.
//!
//! The audit trail names a caller by a fingerprint: an HMAC of the token under the server
//! secret ([`FingerprintKey`]), so it tells tokens apart without giving anyone who reads it
//! something to test guessed tokens against. Guessing online is slowed by
//! [`FailureLimiter`]: an address with too many 401s is answered 429 for a while, whatever
//! it sends, so a lucky guess is not told apart from a wrong one while it is locked out.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;
use crate::domain::{Role, TokenHash};

/// Who made a request, as handlers see it (an extension set by [`require_token`]).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's role.
    pub role: Role,
    /// [`FingerprintKey::fingerprint`] of the token: tells tokens apart in the audit trail
    /// without revealing them.
    pub fingerprint: String,
}

impl Caller {
    /// How the caller is recorded in audit trails, e.g. `operator:1a2b3c4d`.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role.as_str(), self.fingerprint)
    }
}

/// The key of the audit fingerprints: `api.fingerprint_secret`, or the secret generated
/// once and kept in the database (`store::server_secret`).
#[derive(Clone)]
pub struct FingerprintKey(Arc<[u8]>);

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey(…)")
    }
}

/// Bytes of HMAC shown in a fingerprint (12 hex digits): plenty to tell a deployment's
/// tokens apart, and no use for guessing, the key being secret.
const FINGERPRINT_BYTES: usize = 6;

impl FingerprintKey {
    /// A key of the given bytes.
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.into())
    }

    /// A fresh random key (32 bytes from the operating system), for a new server secret.
    pub fn generate_secret() -> Vec<u8> {
        // Four v4 UUIDs: 488 bits from the operating system's generator (`getrandom`).
        (0..4).flat_map(|_| uuid::Uuid::new_v4().into_bytes()).collect()
    }

    /// A key for another purpose, derived from this one (HMAC-SHA256 of the purpose's
    /// name): the dashboard's cookie signing and CSRF keys, so that one secret serves all and
    /// none can be computed from another.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        hmac_sha256(&self.0, purpose.as_bytes())
    }

    /// The fingerprint of `token`: the first bytes of HMAC-SHA256(key, token), in hex.
    pub fn fingerprint(&self, token: &str) -> String {
        hex::encode(&hmac_sha256(&self.0, token.as_bytes())[..FINGERPRINT_BYTES])
    }
}

/// HMAC-SHA256 (RFC 2104), from the `hmac` crate.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::Mac;
    // Any key length is valid for HMAC; `new_from_slice` fails for none of them.
    let mut mac = match hmac::Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable_key_length(),
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[expect(clippy::panic, reason = "HMAC accepts keys of every length")]
fn unreachable_key_length() -> ! {
    panic!("HMAC refused a key length")
}

/// Failures an address may have in [`FAILURE_WINDOW`] before it is locked out.
pub const MAX_FAILURES: u32 = 10;
/// The window over which failures are counted.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// The first lockout; each further one in a row doubles, up to [`MAX_LOCKOUT`].
pub const FIRST_LOCKOUT: Duration = Duration::from_secs(15);
/// The longest lockout.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Addresses tracked at most: memory stays bounded whatever the number of clients.
pub const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    /// Failures since `window_start`.
    count: u32,
    window_start: Instant,
    /// Lockouts in a row (reset once an address stays quiet for [`MAX_LOCKOUT`]).
    lockouts: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
}

/// Counts 401s per client address and locks out an address that has too many: each lockout
/// in a row twice as long as the one before.
///
/// IPv6 clients are counted per /64 (one host usually holds a whole /64). Behind a reverse
/// proxy every client shares the proxy's address; the lockout then applies to all of them
/// while one client keeps failing, which is the price of not trusting a forwarded header.
#[derive(Debug, Default)]
pub struct FailureLimiter {
    by_address: Mutex<HashMap<IpAddr, Failures>>,
}

impl FailureLimiter {
    /// `Err(wait)` when `address` is locked out at `now`, for `wait` more.
    pub fn check(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let Ok(map) = self.by_address.lock() else { return Ok(()) };
        match map.get(&address).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a 401 for `address` at `now`.
    pub fn failed(&self, address: IpAddr, now: Instant) {
        let Ok(mut map) = self.by_address.lock() else { return };
        if !map.contains_key(&address) && map.len() >= MAX_TRACKED {
            make_room(&mut map, now);
        }
        let f = map.entry(address).or_insert(Failures {
            count: 0,
            window_start: now,
            lockouts: 0,
            locked_until: None,
            last_failure: now,
        });
        if now.duration_since(f.last_failure) >= MAX_LOCKOUT {
            f.lockouts = 0;
        }
        if now.duration_since(f.window_start) >= FAILURE_WINDOW || f.locked_until.is_some_and(|u| u <= now) {
            f.count = 0;
            f.window_start = now;
            f.locked_until = None;
        }
        f.count += 1;
        f.last_failure = now;
        if f.count >= MAX_FAILURES {
            let lockout = FIRST_LOCKOUT.saturating_mul(2u32.saturating_pow(f.lockouts)).min(MAX_LOCKOUT);
            f.locked_until = Some(now + lockout);
            f.lockouts = f.lockouts.saturating_add(1);
        }
    }

    /// Addresses tracked now.
    pub fn tracked(&self) -> usize {
        self.by_address.lock().map_or(0, |m| m.len())
    }
}

/// Forgets what no longer matters; if the table is still full, the address whose last
/// failure is oldest.
fn make_room(map: &mut HashMap<IpAddr, Failures>, now: Instant) {
    map.retain(|_, f| f.locked_until.is_some_and(|u| u > now) || now.duration_since(f.last_failure) < FAILURE_WINDOW);
    if map.len() >= MAX_TRACKED
        && let Some(oldest) = map.iter().min_by_key(|(_, f)| f.last_failure).map(|(a, _)| *a)
    {
        map.remove(&oldest);
    }
}

/// The address failures are counted under: IPv4 as is, IPv6 by its /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
        v4 => v4,
    }
}

/// The strongest role any configured hash grants to `token`, if any.
pub fn role_of(tokens: &[TokenHash], token: &str) -> Option<Role> {
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    role_of_digest(tokens, &digest)
}

pub(crate) fn role_of_digest(tokens: &[TokenHash], digest: &[u8; 32]) -> Option<Role> {
    let mut role = None;
    for t in tokens {
        if bool::from(t.sha256.ct_eq(digest)) {
            role = role.max(Some(t.role));
        }
    }
    role
}

/// The role a request needs: reading needs `viewer`, anything else `operator`.
pub fn required_role(method: &Method) -> Role {
    if method == Method::GET || method == Method::HEAD { Role::Viewer } else { Role::Operator }
}

/// Middleware: 401 without a known token, 403 when the token's role is too weak, 429 while
/// the client's address is locked out for repeated 401s.
///
/// The address comes from the connection (`ConnectInfo`, which `serve` provides); a router
/// served without it (tests calling it in-process) is not rate limited.
pub async fn require_token(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let address = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| client_key(c.0.ip()));
    if let Some(address) = address
        && let Err(wait) = state.auth_failures.check(address, Instant::now())
    {
        return ApiError::TooManyAuthFailures { retry_after_seconds: wait.as_secs().max(1) }.into_response();
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let digest: Option<[u8; 32]> = token.map(|t| Sha256::digest(t.as_bytes()).into());
    let (Some(role), Some(token)) = (digest.and_then(|d| role_of_digest(&state.tokens, &d)), token) else {
        if let Some(address) = address {
            state.auth_failures.failed(address, Instant::now());
        }
        return ApiError::Unauthenticated.into_response();
    };
    if role < required_role(request.method()) {
        return ApiError::Forbidden(role.as_str()).into_response();
    }
    let fingerprint = state.fingerprint_key.fingerprint(token);
    request.extensions_mut().insert(Caller { role, fingerprint });
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(role: Role, token: &str) -> TokenHash {
        TokenHash { role, sha256: Sha256::digest(token.as_bytes()).into() }
    }

    #[test]
    fn tokens_map_to_their_strongest_role() {
        let tokens = [hash(Role::Viewer, "v"), hash(Role::Operator, "o"), hash(Role::Viewer, "o")];
        assert_eq!(role_of(&tokens, "v"), Some(Role::Viewer));
        assert_eq!(role_of(&tokens, "o"), Some(Role::Operator));
        assert_eq!(role_of(&tokens, "x"), None);
        assert_eq!(role_of(&[], "v"), None);
        assert!(required_role(&Method::DELETE) > required_role(&Method::GET));
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 1, 2 and 6 (a key longer than the block).
        let cases: [(&[u8], &[u8], &str); 3] = [
            (&[0x0b; 20], b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, message, want) in cases {
            assert_eq!(hex::encode(hmac_sha256(key, message)), want);
        }
    }

    #[test]
    fn fingerprints_depend_on_the_key_and_are_not_the_token_hash() {
        let a = FingerprintKey::new(b"server-secret-a-0123456789abcdef");
        let b = FingerprintKey::new(b"server-secret-b-0123456789abcdef");
        let fp = a.fingerprint("operator-token");
        assert_eq!(fp.len(), 12);
        assert_eq!(fp, a.fingerprint("operator-token"), "stable for one key");
        assert_ne!(fp, a.fingerprint("viewer-token"));
        assert_ne!(fp, b.fingerprint("operator-token"), "another deployment's key gives another fingerprint");
        let sha = hex::encode(Sha256::digest(b"operator-token"));
        assert!(!sha.contains(&fp), "not a piece of the unkeyed hash");
        assert!(!format!("{a:?}").contains("server-secret"));
        let generated = FingerprintKey::generate_secret();
        assert!(generated.len() >= 32 && generated != FingerprintKey::generate_secret());
    }

    #[test]
    fn repeated_failures_lock_an_address_out_for_longer_each_time() {
        let limiter = FailureLimiter::default();
        let attacker: IpAddr = "192.0.2.7".parse().unwrap();
        let neighbour: IpAddr = "192.0.2.8".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES - 1 {
            limiter.failed(attacker, t0 + Duration::from_millis(u64::from(i)));
            assert!(limiter.check(attacker, t0 + Duration::from_millis(u64::from(i))).is_ok(), "{i} failures");
        }
        let t1 = t0 + Duration::from_secs(1);
        limiter.failed(attacker, t1);
        assert_eq!(limiter.check(attacker, t1), Err(FIRST_LOCKOUT));
        assert!(limiter.check(neighbour, t1).is_ok(), "another address is not affected");
        assert!(limiter.check(attacker, t1 + FIRST_LOCKOUT).is_ok(), "the lockout ends");

        // Failing on right after: the next lockout is twice as long.
        let t2 = t1 + FIRST_LOCKOUT;
        for i in 0..MAX_FAILURES {
            limiter.failed(attacker, t2 + Duration::from_millis(u64::from(i)));
        }
        let last = t2 + Duration::from_millis(u64::from(MAX_FAILURES - 1));
        assert_eq!(limiter.check(attacker, last), Err(FIRST_LOCKOUT * 2));

        // Failures spread wider than the window never lock out.
        let slow: IpAddr = "198.51.100.1".parse().unwrap();
        for i in 0..3 * MAX_FAILURES {
            let at = t0 + FAILURE_WINDOW / MAX_FAILURES * 2 * i;
            limiter.failed(slow, at);
            assert!(limiter.check(slow, at).is_ok(), "failure {i}");
        }
    }

    #[test]
    fn lockouts_are_capped_and_memory_is_bounded() {
        let limiter = FailureLimiter::default();
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let mut now = Instant::now();
        for _ in 0..20 {
            for _ in 0..MAX_FAILURES {
                limiter.failed(ip, now);
            }
            let wait = limiter.check(ip, now).unwrap_err();
            assert!(wait <= MAX_LOCKOUT);
            now += wait;
        }
        assert_eq!(limiter.check(ip, now - Duration::from_secs(1)), Err(Duration::from_secs(1)));

        let start = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 5_000) {
            limiter.failed(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)), start);
        }
        assert!(limiter.tracked() <= MAX_TRACKED, "{}", limiter.tracked());
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let a = client_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = client_key("2001:db8:1:2:bbbb::2".parse().unwrap());
        let other = client_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(client_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1".parse::<IpAddr>().unwrap());
    }
}
