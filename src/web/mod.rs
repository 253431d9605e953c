//! The dashboard at `/`: pages rendered on the server (maud) from the same store reads the
//! API makes, for people who look at posture rather than curl it.
//!
//! Served by the API's router (`api::router` merges [`router`]), signed in with the API's own
//! bearer tokens (`session`): a viewer reads, an operator also starts sweeps and creates or
//! withdraws exceptions, through forms that carry a CSRF token. Pages work without script;
//! `assets/dashboard.js` only follows a running sweep live. Every response carries a strict
//! Content-Security-Policy ([`security_headers`]): nothing inline, nothing from elsewhere.

mod accounts;
mod assets;
mod chart;
mod compliance;
mod controls;
mod exceptions;
mod finding;
mod layout;
mod posture;
mod search;
pub mod session;
mod sweeps;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;

use crate::api::AppState;
use crate::api::error::ApiError;
use crate::store::StoreError;

/// The Content-Security-Policy of every response: only this origin's own files, no inline
/// script or style, no framing, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The dashboard's routes (pages, forms, assets), served beside `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(posture::page))
        .route("/sign-in", get(session::form).post(session::sign_in))
        .route("/sign-out", post(session::sign_out))
        .route("/accounts", get(accounts::list))
        .route("/accounts/{id}", get(accounts::page))
        .route("/controls", get(controls::list))
        .route("/controls/{id}", get(controls::page))
        .route("/findings/{id}", get(finding::page))
        .route("/findings/{id}/evidence.json", get(finding::evidence_json))
        .route("/sweeps", get(sweeps::list).post(sweeps::start))
        .route("/sweeps/{id}", get(sweeps::page))
        .route("/sweeps/{id}/progress", get(sweeps::progress))
        .route("/exceptions", get(exceptions::list).post(exceptions::create))
        .route("/exceptions/{id}", get(exceptions::page))
        .route("/exceptions/{id}/withdraw", post(exceptions::withdraw))
        .route("/compliance", get(compliance::page))
        .route("/compliance/evidence", get(compliance::export))
        .route("/search", get(search::find))
        .route("/assets/{name}", get(assets::serve))
        .layer(CompressionLayer::new())
}

/// Adds the security headers to every response of the service (pages, API, errors).
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Why a page could not be shown: the API's errors, rendered as a page.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self(ApiError::Store(e))
    }
}

impl PageError {
    fn not_found(what: impl Into<String>) -> Self {
        Self(ApiError::NotFound(what.into()))
    }

    fn bad(what: &str, problem: impl std::fmt::Display) -> Self {
        Self(ApiError::bad(what, problem))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status_code();
        let message = self.0.public_message();
        let title = status.canonical_reason().unwrap_or("Error");
        let body = layout::bare(
            title,
            maud::html! {
                h1 { (title) }
                p.error role="alert" { (message) }
                p { a href="/" { "Back to the posture page" } }
            },
        );
        let mut response = (status, body).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// A page's result.
pub type PageResult = Result<Response, PageError>;

/// Percent-encodes a query parameter's value.
pub(crate) fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}
