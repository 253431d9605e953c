//! `/controls`: the catalog with current results, by family; `/controls/{id}`: one control,
//! everything a person needs to fix it, and where it fails.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Nav};
use super::posture::rate_bar;
use super::session::Session;
use super::{PageError, PageResult};
use crate::api::AppState;
use crate::api::controls::ControlResults;
use crate::catalog::Control;
use crate::domain::{ControlId, FindingId, Status};
use crate::store::controls;
use crate::store::findings::{self, FindingCursor, FindingFilter, FindingSort};

const PAGE: i64 = 200;

/// The catalog.
pub async fn list(State(state): State<AppState>, session: Session) -> PageResult {
    let results = controls::results(&state.pool).await?;
    let mut families: BTreeMap<&str, Vec<&Control>> = BTreeMap::new();
    for c in state.catalog.controls() {
        families.entry(c.family.as_str()).or_default().push(c);
    }
    let result = |c: &Control| {
        results.iter().find(|r| r.control_id == c.id.as_str()).map(ControlResults::from).unwrap_or_default()
    };
    let body = html! {
        h1 { "Controls" }
        p { (state.catalog.controls().len()) " controls in " (families.len()) " families. Counts are of active findings; "
            "“not assessed” findings are ones a failed call kept from being judged." }
        @for (family, list) in &families {
            h2 id={ "family-" (family) } { (family) }
            div.scroll { table {
                thead { tr { th { "Control" } th { "Title" } th { "Severity" } th.num { "Pass" } th.num { "Fail" } th.num { "Not assessed" } th.num { "Accounts failing" } th { "Pass rate" } } }
                tbody {
                    @for c in list {
                        @let r = result(c);
                        tr {
                            td { a href={ "/controls/" (c.id) } { (c.id) } }
                            td { (c.title) }
                            td { (layout::severity(c.severity)) }
                            td.num { (r.pass) } td.num { (r.fail) } td.num { (r.error) } td.num { (r.accounts_failing) }
                            td { (rate_bar(r.pass_rate, r.error)) }
                        }
                    }
                }
            } }
        }
    };
    Ok(layout::page("Controls", &session, Nav::Controls, body))
}

/// `?after=` (a finding id) pages the failing findings; `?status=error` shows the ones not assessed.
#[derive(Debug, Deserialize)]
pub struct ControlQuery {
    after: Option<String>,
    status: Option<String>,
}

/// One control.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<ControlQuery>,
) -> PageResult {
    let id = ControlId::parse(&id).map_err(|e| PageError::bad("control id", e))?;
    let control = state.catalog.control(&id).ok_or_else(|| PageError::not_found(format!("no control {id}")))?;
    let status = match q.status.as_deref() {
        None | Some("fail") => Status::Fail,
        Some("error") => Status::Error,
        Some(other) => return Err(PageError::bad("status", format!("`{other}` is not `fail` or `error`"))),
    };
    let after = match q.after.as_deref() {
        Some(a) => Some(FindingCursor::Id(FindingId::parse(a).map_err(|e| PageError::bad("after", e))?)),
        None => None,
    };
    let results = controls::results(&state.pool).await?;
    let r = results.iter().find(|r| r.control_id == id.as_str()).map(ControlResults::from).unwrap_or_default();
    let filter = FindingFilter { status: Some(status), control_id: Some(id.clone()), ..Default::default() };
    let mut rows = findings::page(&state.pool, &filter, FindingSort::Id, after.as_ref(), PAGE + 1).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let word = if status == Status::Fail { "failing" } else { "not assessed" };
    let body = html! {
        h1 { (control.id) " · " (control.title) }
        (describe(control))
        h2 { "Results now" }
        dl.facts {
            dt { "Pass" } dd { (r.pass) }
            dt { "Fail" } dd { (r.fail) " (" (r.accounts_failing) " accounts)" }
            dt { "Not assessed" } dd { (r.error) }
            dt { "Not applicable" } dd { (r.not_applicable) }
            dt { "Pass rate" } dd { (rate_bar(r.pass_rate, r.error)) }
        }
        h2 #where { "Where it is " (word) }
        p {
            @if status == Status::Fail { a href={ "/controls/" (id) "?status=error#where" } { "Show the findings not assessed instead" } }
            @else { a href={ "/controls/" (id) "#where" } { "Show the failing findings instead" } }
        }
        @if rows.is_empty() {
            p.muted { "None." }
        } @else {
            div.scroll { table #control-findings {
                thead { tr { th { "Account" } th { "Region" } th { "Resource" } th { "Detail" } th { "Since" } } }
                tbody {
                    @for f in &rows {
                        tr {
                            td { a href={ "/accounts/" (f.finding.account_id) } { (f.finding.account_id) } }
                            td { (f.finding.region.as_ref().map_or("—", |r| r.as_str())) }
                            td { a href={ "/findings/" (f.finding.id.as_str()) } { code { (f.finding.resource_id) } }
                                 @if f.suppressed_by.is_some() { " " span.muted { "(accepted risk)" } } }
                            td { (f.finding.detail) }
                            td { (layout::time(f.finding.first_seen_at)) }
                        }
                    }
                }
            } }
            @if more {
                @if let Some(last) = rows.last() {
                    p.pager { a href={ "/controls/" (id) "?status=" (status.as_str()) "&after=" (last.finding.id.as_str()) "#where" } { "Next " (PAGE) " →" } }
                }
            }
        }
    };
    Ok(layout::page(&format!("{} {}", control.id, control.title), &session, Nav::Controls, body))
}

/// The catalog entry: rationale, remediation with its example, mappings, parameters.
pub fn describe(control: &Control) -> Markup {
    html! {
        dl.facts {
            dt { "Severity" } dd { (layout::severity(control.severity)) }
            dt { "Family" } dd { (control.family) }
            dt { "Why it matters" } dd { (control.rationale) }
            dt { "How to fix" } dd { (control.remediation.text) " " a href=(control.remediation.url) rel="noreferrer" { "AWS documentation" } }
            @if !control.parameters.is_empty() {
                dt { "Parameters" } dd { @for p in &control.parameters { code { (p) } " " } }
            }
            dt { "Compliance" } dd { (control.compliance.requirements().join(", ")) }
        }
        @if let Some(example) = &control.remediation.example {
            details open {
                summary { "Example" }
                pre { code { (example) } }
            }
        }
    }
}
