//! Cursor pagination: page sizes and opaque cursors.
//!
//! A cursor is the sort key of the last item of a page, base64url-encoded behind a version
//! prefix. Clients must treat it as opaque; each resource parses its own key out of it, so a
//! cursor from another listing or an edited one is a 400, never a wrong page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;

/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 100;
/// The largest page.
pub const MAX_LIMIT: u32 = 500;

const PREFIX: &str = "v1:";

/// The page size asked for, checked.
pub fn limit(asked: Option<u32>) -> Result<i64, ApiError> {
    match asked.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(i64::from(n)),
        n => Err(ApiError::bad("limit", format!("{n} is out of range (1 to {MAX_LIMIT})"))),
    }
}

/// Encodes a sort key as a cursor.
pub fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{PREFIX}{key}"))
}

/// Decodes a cursor into a sort key and parses it with `parse`; any failure is a 400.
pub fn decode<T>(cursor: Option<&str>, parse: impl FnOnce(&str) -> Option<T>) -> Result<Option<T>, ApiError> {
    let Some(cursor) = cursor else { return Ok(None) };
    let invalid = || ApiError::bad("cursor", "not a cursor of this listing (pass meta.next_cursor of a previous page)");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let key = text.strip_prefix(PREFIX).ok_or_else(invalid)?;
    parse(key).map(Some).ok_or_else(invalid)
}

/// Whether a timestamp read from a cursor can be compared in SQL: chrono reaches year
/// ±262143, PostgreSQL only 4713 BC, and a value it refuses would be a 500, not a 400.
pub fn storable(t: &DateTime<Utc>) -> bool {
    (1..=9999).contains(&t.year())
}

/// What every listing returns beside its items.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageMeta {
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The page size used.
    pub limit: i64,
}

/// Trims the extra row fetched to learn whether another page exists, and builds the meta.
///
/// Store calls fetch `limit + 1` rows; `key` gives the sort key of an item.
pub fn finish<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> (Vec<T>, PageMeta) {
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more { rows.last().map(|r| encode(&key(r))) } else { None };
    (rows, PageMeta { next_cursor, limit })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let c = encode("abc");
        assert_eq!(decode(Some(&c), |k| Some(k.to_owned())).ok().flatten().as_deref(), Some("abc"));
        assert!(decode(Some("!!"), |k| Some(k.to_owned())).is_err());
        assert!(decode(Some(&URL_SAFE_NO_PAD.encode("v2:abc")), |k| Some(k.to_owned())).is_err());
        assert!(decode(Some(&c), |_| None::<()>).is_err());
        assert!(matches!(decode(None, |k| Some(k.to_owned())), Ok(None)));
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(limit(None).ok(), Some(100));
        assert_eq!(limit(Some(500)).ok(), Some(500));
        assert!(limit(Some(501)).is_err() && limit(Some(0)).is_err());
    }

    #[test]
    fn a_full_page_gets_a_cursor_and_the_last_page_none() {
        let (rows, meta) = finish(vec![1, 2, 3], 2, ToString::to_string);
        assert_eq!(rows, [1, 2]);
        assert_eq!(decode(meta.next_cursor.as_deref(), |k| k.parse::<i32>().ok()).ok().flatten(), Some(2));
        let (_, meta) = finish(vec![1, 2], 2, ToString::to_string);
        assert!(meta.next_cursor.is_none());
    }
}
