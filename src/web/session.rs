//! Signing in to the dashboard with an API token, and what a signed-in request carries.
//!
//! The sign-in form takes a bearer token; a known one gets an `HttpOnly`, `SameSite=Strict`
//! session cookie, signed (HMAC-SHA256, the `cookie` crate's signed jar) with a key derived
//! from the server secret, expiring after [`SESSION_HOURS`], `Secure` unless the service
//! listens on loopback. The cookie holds no token: it names the token by a keyed reference to
//! its configured hash, so a session ends as soon as its token leaves the configuration, and
//! the role is always the configuration's.
//!
//! Every state-changing form carries a CSRF token: an HMAC of the session's random nonce
//! (the sign-in form's own nonce sits in a short-lived signed cookie of its own). Wrong
//! tokens at sign-in count against the address like the API's 401s.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use cookie::{Cookie, CookieJar, Key, SameSite};
use maud::html;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::layout;
use crate::api::AppState;
use crate::api::auth::{FingerprintKey, client_key, hmac_sha256};
use crate::domain::{Role, TokenHash};
use crate::store::{StoreError, dashboard};

/// How long a session lasts.
pub const SESSION_HOURS: i64 = 8;
/// The session cookie.
pub const SESSION_COOKIE: &str = "sweeper_session";
/// The sign-in form's cookie (its CSRF nonce).
const SIGN_IN_COOKIE: &str = "sweeper_sign_in";
const SIGN_IN_MINUTES: i64 = 30;

/// The keys a deployment's sessions are signed and checked with, all derived from the
/// server secret.
struct Keys {
    cookie: Key,
    token_ref: [u8; 32],
    csrf: [u8; 32],
}

impl Keys {
    fn of(secret: &FingerprintKey) -> Self {
        let mut cookie = [0u8; 64];
        cookie[..32].copy_from_slice(&secret.derive("dashboard cookie signing 1"));
        cookie[32..].copy_from_slice(&secret.derive("dashboard cookie signing 2"));
        Self {
            cookie: Key::from(&cookie),
            token_ref: secret.derive("dashboard session token reference"),
            csrf: secret.derive("dashboard csrf"),
        }
    }

    /// The session's reference to a configured token hash.
    fn token_ref(&self, sha256: &[u8; 32]) -> String {
        hex::encode(&hmac_sha256(&self.token_ref, sha256)[..16])
    }

    fn csrf(&self, purpose: &str, nonce: &str) -> String {
        hex::encode(hmac_sha256(&self.csrf, format!("{purpose}\n{nonce}").as_bytes()))
    }
}

/// What the session cookie holds (signed).
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// [`Keys::token_ref`] of the token's hash.
    token: String,
    /// The audit fingerprint of the token, as the API records it.
    fingerprint: String,
    /// Expiry, Unix seconds.
    expires: i64,
    /// Random; the CSRF token is derived from it.
    nonce: String,
}

/// A signed-in request: who, with which role, and the CSRF token its forms carry.
#[derive(Debug, Clone)]
pub struct Session {
    /// The role of the token signed in with, as configured now.
    pub role: Role,
    fingerprint: String,
    csrf: String,
    nonce: String,
    expires: i64,
}

impl Session {
    /// How the audit trail names this person: role and token fingerprint, like the API.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role.as_str(), self.fingerprint)
    }

    /// The CSRF token this session's forms carry.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether operator actions are offered.
    pub fn is_operator(&self) -> bool {
        self.role >= Role::Operator
    }

    /// The refusal of a form without this session's CSRF token, or of an operator action
    /// of a viewer; `None` when it may go ahead.
    pub fn refusal(&self, sent_csrf: &str, needs: Role) -> Option<Response> {
        if !bool::from(self.csrf.as_bytes().ct_eq(sent_csrf.as_bytes())) {
            return Some(refusal(
                StatusCode::FORBIDDEN,
                "The form's security token did not match this session. Reload the page and try again.",
            ));
        }
        if self.role < needs {
            return Some(refusal(
                StatusCode::FORBIDDEN,
                "Signed in as a viewer: this needs an operator's token. Sign out and sign in with one.",
            ));
        }
        None
    }
}

fn refusal(status: StatusCode, message: &str) -> Response {
    let page = layout::bare(
        "Refused",
        html! {
            h1 { "Refused" }
            p.error role="alert" { (message) }
            p { a href="/" { "Back to the posture page" } }
        },
    );
    (status, page).into_response()
}

fn jar(headers: &HeaderMap) -> CookieJar {
    let mut jar = CookieJar::new();
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for cookie in Cookie::split_parse(text.to_owned()).flatten() {
            jar.add_original(cookie);
        }
    }
    jar
}

/// The request's session: its cookie signed by this deployment, not expired, its token still
/// configured, and not signed out.
async fn session_of(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, StoreError> {
    let keys = Keys::of(&state.fingerprint_key);
    let jar = jar(headers);
    let Some(cookie) = jar.signed(&keys.cookie).get(SESSION_COOKIE) else { return Ok(None) };
    let Ok(claims) = serde_json::from_str::<Claims>(cookie.value()) else { return Ok(None) };
    if claims.expires <= Utc::now().timestamp() {
        return Ok(None);
    }
    let Some(role) = strongest_role(&state.tokens, |t| {
        bool::from(keys.token_ref(&t.sha256).as_bytes().ct_eq(claims.token.as_bytes()))
    }) else {
        return Ok(None);
    };
    if dashboard::session_revoked(&state.pool, &claims.nonce).await? {
        return Ok(None);
    }
    Ok(Some(Session {
        role,
        fingerprint: claims.fingerprint,
        csrf: keys.csrf("session", &claims.nonce),
        nonce: claims.nonce,
        expires: claims.expires,
    }))
}

fn strongest_role(tokens: &[TokenHash], matches: impl Fn(&TokenHash) -> bool) -> Option<Role> {
    tokens.iter().filter(|t| matches(t)).map(|t| t.role).max()
}

/// Where to go after signing in: a path of this site only.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    /// A page without a valid session sends the browser to sign in, and back afterwards.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match session_of(state, &parts.headers).await {
            Err(e) => Err(super::PageError::from(e).into_response()),
            Ok(Some(session)) => Ok(session),
            Ok(None) => {
                let here = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                Err(Redirect::to(&format!("/sign-in?next={}", super::encode(here))).into_response())
            }
        }
    }
}

/// `?next=` of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// The sign-in page.
pub async fn form(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<Next>) -> Response {
    if let Ok(Some(_)) = session_of(&state, &headers).await {
        return Redirect::to(&local_path(q.next.as_deref())).into_response();
    }
    sign_in_page(&state, StatusCode::OK, q.next.as_deref(), None)
}

fn sign_in_page(state: &AppState, status: StatusCode, next: Option<&str>, error: Option<&str>) -> Response {
    let keys = Keys::of(&state.fingerprint_key);
    // The form's nonce carries its expiry inside the signed value: the cookie's Max-Age is only
    // the browser's promise.
    let expires = Utc::now().timestamp() + SIGN_IN_MINUTES * 60;
    let nonce = format!("{expires}.{}", hex::encode(uuid::Uuid::new_v4().as_bytes()));
    let csrf = keys.csrf("sign-in", &nonce);
    let page = layout::bare(
        "Sign in",
        html! {
            h1 { "bedrock-sweeper" }
            form.sign-in method="post" action="/sign-in" {
                h2 { "Sign in" }
                p { "Use an API token from the service's configuration (" code { "api.tokens" } "). A viewer's token reads; an operator's token also starts sweeps and manages exceptions." }
                @if let Some(error) = error {
                    p.error #sign-in-error role="alert" { (error) }
                }
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(local_path(next));
                label for="token" { "Access token" }
                input #token type="password" name="token" autocomplete="off" required autofocus;
                button type="submit" { "Sign in" }
            }
        },
    );
    let mut jar = CookieJar::new();
    jar.signed_mut(&keys.cookie).add(cookie(state, SIGN_IN_COOKIE, nonce, SIGN_IN_MINUTES * 60));
    with_cookies((status, page).into_response(), &jar)
}

fn cookie(state: &AppState, name: &'static str, value: String, max_age_seconds: i64) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.secure_cookies)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_seconds))
        .build()
}

fn with_cookies(mut response: Response, jar: &CookieJar) -> Response {
    for c in jar.delta() {
        if let Ok(v) = HeaderValue::from_str(&c.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignIn {
    token: String,
    csrf: String,
    next: Option<String>,
}

/// Never prints the token.
impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn").field("token", &"…").field("next", &self.next).finish_non_exhaustive()
    }
}

/// Checks the token; a known one gets a session.
pub async fn sign_in(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    // The client's address, as `serve` provides it (in-process routers have none).
    let address = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| client_key(c.0.ip()));
    if let Some(address) = address
        && let Err(wait) = state.auth_failures.check(address, Instant::now())
    {
        let message = format!("Too many wrong tokens from this address. Try again in {} s.", wait.as_secs().max(1));
        return sign_in_page(&state, StatusCode::TOO_MANY_REQUESTS, form.next.as_deref(), Some(&message));
    }
    let keys = Keys::of(&state.fingerprint_key);
    let jar = jar(&headers);
    let now = Utc::now().timestamp();
    let form_nonce = jar.signed(&keys.cookie).get(SIGN_IN_COOKIE).map(|c| c.value().to_owned()).filter(|n| {
        n.split_once('.').and_then(|(until, _)| until.parse::<i64>().ok()).is_some_and(|until| until > now)
    });
    let csrf_ok =
        form_nonce.is_some_and(|nonce| bool::from(keys.csrf("sign-in", &nonce).as_bytes().ct_eq(form.csrf.as_bytes())));
    if !csrf_ok {
        return sign_in_page(
            &state,
            StatusCode::FORBIDDEN,
            form.next.as_deref(),
            Some("The sign-in form expired or came from elsewhere. Enter the token again."),
        );
    }
    let token = form.token.trim();
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let Some(_role) = crate::api::auth::role_of_digest(&state.tokens, &digest) else {
        if let Some(address) = address {
            state.auth_failures.failed(address, Instant::now());
        }
        return sign_in_page(
            &state,
            StatusCode::UNAUTHORIZED,
            form.next.as_deref(),
            Some("That token is not configured."),
        );
    };
    let claims = Claims {
        token: keys.token_ref(&digest),
        fingerprint: state.fingerprint_key.fingerprint(token),
        expires: Utc::now().timestamp() + SESSION_HOURS * 3600,
        nonce: hex::encode(uuid::Uuid::new_v4().as_bytes()),
    };
    let Ok(value) = serde_json::to_string(&claims) else {
        return refusal(StatusCode::INTERNAL_SERVER_ERROR, "The session could not be made.");
    };
    let mut out = CookieJar::new();
    out.signed_mut(&keys.cookie).add(cookie(&state, SESSION_COOKIE, value, SESSION_HOURS * 3600));
    out.add(cookie(&state, SIGN_IN_COOKIE, String::new(), 0));
    with_cookies(Redirect::to(&local_path(form.next.as_deref())).into_response(), &out)
}

/// The sign-out form's field.
#[derive(Debug, Deserialize)]
pub struct SignOut {
    csrf: String,
}

/// Ends the session: the cookie is cleared, and its nonce recorded as signed out until the
/// cookie expires, so a copy of it is refused too.
pub async fn sign_out(State(state): State<AppState>, session: Session, Form(form): Form<SignOut>) -> Response {
    if let Some(refused) = session.refusal(&form.csrf, Role::Viewer) {
        return refused;
    }
    let until = chrono::DateTime::from_timestamp(session.expires, 0).unwrap_or_else(Utc::now);
    if let Err(e) = dashboard::revoke_session(&state.pool, &session.nonce, until).await {
        return super::PageError::from(e).into_response();
    }
    let mut jar = CookieJar::new();
    jar.add(cookie(&state, SESSION_COOKIE, String::new(), 0));
    with_cookies(Redirect::to("/sign-in").into_response(), &jar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/accounts?failing=true")), "/accounts?failing=true");
        for outside in ["//evil.example/", "https://evil.example/", "/\\evil", "accounts", "/a\nb"] {
            assert_eq!(local_path(Some(outside)), "/", "{outside:?}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn csrf_tokens_differ_by_purpose_nonce_and_deployment() {
        let a = Keys::of(&FingerprintKey::new(b"deployment-a-secret-0123456789ab"));
        let b = Keys::of(&FingerprintKey::new(b"deployment-b-secret-0123456789ab"));
        assert_eq!(a.csrf("session", "n1"), a.csrf("session", "n1"));
        assert_ne!(a.csrf("session", "n1"), a.csrf("session", "n2"));
        assert_ne!(a.csrf("session", "n1"), a.csrf("sign-in", "n1"));
        assert_ne!(a.csrf("session", "n1"), b.csrf("session", "n1"));
        let hash = [7u8; 32];
        assert_ne!(a.token_ref(&hash), b.token_ref(&hash));
    }
}
