//! Bearer-token authentication and role checks for `/api/v1`.
//!
//! The configuration holds only SHA-256 hashes of tokens. A presented token is hashed and
//! compared with every configured hash in constant time (no early exit), so response timing
//! says nothing about how close a guess was. Tokens and hashes are never logged.
//! `viewer` may `GET`; `operator` may also `POST` and `DELETE`.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;
use crate::config::{Role, TokenHash};

/// Who made a request, as handlers see it (an extension set by [`require_token`]).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's role.
    pub role: Role,
    /// The first 8 hex digits of the token's SHA-256: tells tokens apart in the audit trail
    /// without revealing them.
    pub fingerprint: String,
}

impl Caller {
    /// How the caller is recorded in audit trails, e.g. `operator:1a2b3c4d`.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role.as_str(), self.fingerprint)
    }
}

/// The strongest role any configured hash grants to `token`, if any.
pub fn role_of(tokens: &[TokenHash], token: &str) -> Option<Role> {
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    role_of_digest(tokens, &digest)
}

fn role_of_digest(tokens: &[TokenHash], digest: &[u8; 32]) -> Option<Role> {
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

/// Middleware: 401 without a known token, 403 when the token's role is too weak.
pub async fn require_token(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let digest: Option<[u8; 32]> = token.map(|t| Sha256::digest(t.as_bytes()).into());
    let Some((role, digest)) = digest.and_then(|d| role_of_digest(&state.tokens, &d).map(|r| (r, d))) else {
        return ApiError::Unauthenticated.into_response();
    };
    if role < required_role(request.method()) {
        return ApiError::Forbidden(role.as_str()).into_response();
    }
    request.extensions_mut().insert(Caller { role, fingerprint: hex::encode(&digest[..4]) });
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
}
