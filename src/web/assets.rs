//! The dashboard's static files, compiled into the binary: no file to deploy beside it and
//! nothing fetched from elsewhere. Their URLs carry a hash of their content, so a browser may
//! keep them for a year and still never runs an old script against a new page.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// (name, content type, bytes) of every asset.
const FILES: [(&str, &str, &[u8]); 3] = [
    ("dashboard.css", "text/css; charset=utf-8", include_bytes!("assets/dashboard.css")),
    ("dashboard.js", "text/javascript; charset=utf-8", include_bytes!("assets/dashboard.js")),
    ("favicon.svg", "image/svg+xml", include_bytes!("assets/favicon.svg")),
];

/// The content hashes, computed once.
fn versions() -> &'static [String; 3] {
    static VERSIONS: OnceLock<[String; 3]> = OnceLock::new();
    VERSIONS.get_or_init(|| FILES.map(|(_, _, bytes)| hex::encode(&Sha256::digest(bytes)[..8])))
}

/// The URL of an asset, versioned by its content.
pub fn url(name: &str) -> String {
    match FILES.iter().position(|(n, _, _)| *n == name) {
        Some(i) => format!("/assets/{name}?v={}", versions()[i]),
        None => format!("/assets/{name}"),
    }
}

/// `GET /assets/{name}`: public (no session needed: nothing in them is private), cached.
pub async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = FILES.iter().position(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let (_, content_type, bytes) = FILES[i];
    let etag = format!("\"{}\"", versions()[i]);
    let mut response = if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}
