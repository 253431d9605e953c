//! `/search?q=`: one box for an account id or name, a control id, or a resource ARN. An exact
//! account or control id goes straight to its page; anything else lists what matches.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::html;
use serde::Deserialize;

use super::layout::{self, Nav};
use super::session::Session;
use super::{PageError, PageResult};
use crate::api::AppState;
use crate::domain::{AccountId, ControlId};
use crate::store::dashboard;

const LIMIT: i64 = 100;

/// `?q=`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

/// The search results.
pub async fn find(State(state): State<AppState>, session: Session, Query(query): Query<SearchQuery>) -> PageResult {
    let q = query.q.unwrap_or_default().trim().to_owned();
    if q.is_empty() || q.len() > 2048 {
        return Err(PageError::bad(
            "q",
            "give an account id or name, a control id or a resource ARN (up to 2048 characters)",
        ));
    }
    if let Ok(id) = AccountId::parse(&q)
        && crate::store::accounts::get(&state.pool, &id).await?.is_some()
    {
        return Ok(Redirect::to(&format!("/accounts/{id}")).into_response());
    }
    if let Ok(id) = ControlId::parse(&q.to_uppercase())
        && state.catalog.control(&id).is_some()
    {
        return Ok(Redirect::to(&format!("/controls/{id}")).into_response());
    }
    let accounts = dashboard::accounts_matching(&state.pool, &q, LIMIT).await?;
    let resources = dashboard::findings_on_resource(&state.pool, &q, LIMIT).await?;
    let body = html! {
        h1 { "Search: " (q) }
        h2 { "Accounts" }
        @if accounts.is_empty() { p.muted { "No account id or name matches." } } @else {
            ul { @for (id, name, ou) in &accounts { li { a href={ "/accounts/" (id) } { (id) } " · " (name) " " span.muted { (ou) } } } }
        }
        h2 { "Findings about this resource" }
        @if resources.is_empty() { p.muted { "No active finding has this exact resource id." } } @else {
            div.scroll { table {
                thead { tr { th { "Status" } th { "Control" } th { "Account" } } }
                tbody {
                    @for f in &resources {
                        tr {
                            td { a href={ "/findings/" (f.id.as_str()) } { (layout::status(f.status)) } }
                            td { a href={ "/controls/" (f.control_id) } { (f.control_id) } }
                            td { a href={ "/accounts/" (f.account_id) } { (f.account_id) } }
                        }
                    }
                }
            } }
        }
    };
    Ok(layout::page("Search", &session, Nav::None, body))
}
