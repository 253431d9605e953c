//! `/exceptions`: accepted risks, active, expired and withdrawn, each with its audit trail;
//! operators create one from a finding's page and withdraw one here. Both go through the
//! API's own validation and store calls, and ask for a Security Hub delivery like the API.

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect};
use chrono::{NaiveDate, Utc};
use maud::html;
use serde::Deserialize;

use super::layout::{self, Nav};
use super::session::Session;
use super::{PageError, PageResult};
use crate::api::AppState;
use crate::api::exceptions::{Exception, NewExceptionBody, Scope};
use crate::domain::{AccountId, ControlId, FindingId, Region, Role};
use crate::store::exceptions;

fn state_word(e: &Exception) -> maud::Markup {
    match e.state.as_str() {
        "active" => html! { span.status.status-pass { span aria-hidden="true" { "● " } "active" } },
        "expired" => html! { span.status.status-not_applicable { span aria-hidden="true" { "○ " } "expired" } },
        _ => html! { span.status.status-not_applicable { span aria-hidden="true" { "✕ " } "withdrawn" } },
    }
}

fn scope_text(s: &Scope) -> String {
    let mut parts = Vec::new();
    if let Some(a) = &s.account_id {
        parts.push(format!("account {a}"));
    }
    if let Some(o) = &s.ou {
        parts.push(format!("OU {o}"));
    }
    if let Some(r) = &s.region {
        parts.push(format!("region {r}"));
    }
    if let Some(p) = &s.resource_pattern {
        parts.push(format!("resources {p}"));
    }
    parts.join(", ")
}

/// The exception list (all of them, withdrawn included: the trail is the point).
pub async fn list(State(state): State<AppState>, session: Session) -> PageResult {
    let rows = exceptions::page(&state.pool, true, None, 500).await?;
    let list: Vec<Exception> = rows.into_iter().map(Exception::from).collect();
    let body = html! {
        h1 { "Exceptions" }
        p { "An exception accepts a failing control's risk within a scope until it expires. Matching findings keep failing and show as suppressed. "
            "Create one from a finding's page." }
        @if list.is_empty() { p.muted { "No exception yet." } } @else {
            div.scroll { table #exceptions {
                thead { tr { th { "State" } th { "Control" } th { "Scope" } th { "Reason" } th { "Expires" } th { "Created by" } } }
                tbody {
                    @for e in &list {
                        tr {
                            td { a href={ "/exceptions/" (e.id) } { (state_word(e)) } }
                            td { a href={ "/controls/" (e.control_id) } { (e.control_id) } }
                            td { (scope_text(&e.scope)) }
                            td { (e.reason) }
                            td { (layout::time(e.expires_at)) }
                            td { code { (e.created_by) } }
                        }
                    }
                }
            } }
        }
    };
    Ok(layout::page("Exceptions", &session, Nav::Exceptions, body))
}

/// One exception with its audit trail.
pub async fn page(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> PageResult {
    let id: uuid::Uuid = id.parse().map_err(|_| PageError::bad("exception id", format!("`{id}` is not a UUID")))?;
    let (row, audit) =
        exceptions::get(&state.pool, id).await?.ok_or_else(|| PageError::not_found(format!("no exception {id}")))?;
    let e = Exception::from(row);
    let body = html! {
        h1 { "Exception for " (e.control_id) }
        dl.facts {
            dt { "State" } dd #exception-state { (state_word(&e)) }
            dt { "Control" } dd { a href={ "/controls/" (e.control_id) } { (e.control_id) } }
            dt { "Scope" } dd { (scope_text(&e.scope)) }
            dt { "Reason" } dd { (e.reason) }
            dt { "Expires" } dd { (layout::time(e.expires_at)) }
        }
        h2 { "Audit trail" }
        ol.timeline {
            @for a in &audit { li { strong { (a.action) } " by " code { (a.actor) } " · " (layout::time(a.at)) } }
        }
        @if e.state == "active" && session.is_operator() {
            form method="post" action={ "/exceptions/" (e.id) "/withdraw" } {
                input type="hidden" name="csrf" value=(session.csrf());
                button.secondary #withdraw type="submit" { "Withdraw this exception" }
            }
        }
    };
    Ok(layout::page("Exception", &session, Nav::Exceptions, body))
}

/// The exception form of a finding's page.
#[derive(Debug, Deserialize)]
pub struct NewExceptionForm {
    csrf: String,
    finding_id: Option<String>,
    control_id: String,
    account_id: Option<String>,
    ou: Option<String>,
    region: Option<String>,
    resource_pattern: Option<String>,
    reason: String,
    expires_on: String,
}

fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Creates an exception (operators) and returns to the finding it came from.
pub async fn create(State(state): State<AppState>, session: Session, Form(form): Form<NewExceptionForm>) -> PageResult {
    if let Some(refused) = session.refusal(&form.csrf, Role::Operator) {
        return Ok(refused);
    }
    let control_id = ControlId::parse(&form.control_id).map_err(|e| PageError::bad("control", e))?;
    let expires_on = NaiveDate::parse_from_str(form.expires_on.trim(), "%Y-%m-%d")
        .map_err(|_| PageError::bad("expiry", "give a date as YYYY-MM-DD"))?;
    let expires_at =
        expires_on.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or_else(|| PageError::bad("expiry", "not a date"))?;
    let scope = Scope {
        account_id: given(form.account_id)
            .map(|a| AccountId::parse(&a))
            .transpose()
            .map_err(|e| PageError::bad("account", e))?,
        ou: given(form.ou),
        region: given(form.region).map(|r| Region::parse(&r)).transpose().map_err(|e| PageError::bad("region", e))?,
        resource_pattern: given(form.resource_pattern),
    };
    let body = NewExceptionBody { control_id, scope, reason: form.reason, expires_at };
    let new = body.validate(&state.catalog, Utc::now())?;
    let row = exceptions::create(&state.pool, &new, &session.actor()).await?;
    state.caches.invalidate();
    state.sweeps.request_security_hub_sync();
    let back = match given(form.finding_id).map(|f| FindingId::parse(&f)) {
        Some(Ok(finding)) => format!("/findings/{}#accept", finding.as_str()),
        _ => format!("/exceptions/{}", row.id),
    };
    Ok(Redirect::to(&back).into_response())
}

/// The withdraw form.
#[derive(Debug, Deserialize)]
pub struct WithdrawForm {
    csrf: String,
}

/// Withdraws an exception (operators).
pub async fn withdraw(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> PageResult {
    if let Some(refused) = session.refusal(&form.csrf, Role::Operator) {
        return Ok(refused);
    }
    let id: uuid::Uuid = id.parse().map_err(|_| PageError::bad("exception id", format!("`{id}` is not a UUID")))?;
    exceptions::withdraw(&state.pool, id, &session.actor())
        .await?
        .ok_or_else(|| PageError::not_found(format!("no live exception {id}")))?;
    state.caches.invalidate();
    state.sweeps.request_security_hub_sync();
    Ok(Redirect::to(&format!("/exceptions/{id}")).into_response())
}
