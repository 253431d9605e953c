//! `/sweeps`: sweeps with their duration, accounts and AWS calls, and (operators) the button
//! that starts one; `/sweeps/{id}`: one sweep, followed live while it runs
//! (`/sweeps/{id}/progress`, polled by `dashboard.js`), and what it changed.

use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use maud::html;
use serde::{Deserialize, Serialize};

use super::layout::{self, Nav};
use super::session::Session;
use super::{PageError, PageResult};
use crate::api::AppState;
use crate::api::sweeps::Sweep;
use crate::domain::{EventKind, Role, SweepId, SweepStatus};
use crate::scheduler::TriggerError;
use crate::store::{dashboard, sweeps};

/// The sum of the calls in a sweep's `aws_calls` (service → operation → counts).
pub fn total_calls(calls: &serde_json::Value) -> u64 {
    calls
        .as_object()
        .into_iter()
        .flat_map(|services| services.values())
        .filter_map(serde_json::Value::as_object)
        .flat_map(|ops| ops.values())
        .filter_map(|op| op.get("calls").and_then(serde_json::Value::as_u64))
        .sum()
}

/// The findings a sweep opened, regressed, reopened or resolved, as a table.
pub fn moved_table(moved: &[dashboard::ChangedFinding]) -> maud::Markup {
    html! {
        @if !moved.is_empty() {
            div.scroll { table {
                thead { tr { th { "Change" } th { "Severity" } th { "Control" } th { "Account" } th { "Resource" } } }
                tbody {
                    @for m in moved {
                        tr {
                            td { a href={ "/findings/" (m.finding_id.as_str()) } { (m.kind.as_str()) } }
                            td { (layout::severity(m.severity)) }
                            td { a href={ "/controls/" (m.control_id) } { (m.control_id) } }
                            td { a href={ "/accounts/" (m.account_id) } { (m.account_id) } }
                            td { code { (m.resource_id) } }
                        }
                    }
                }
            } }
        }
    }
}

fn status_word(s: SweepStatus) -> &'static str {
    match s {
        SweepStatus::Running => "running",
        SweepStatus::Completed => "completed",
        SweepStatus::Failed => "failed",
    }
}

/// The sweep list.
pub async fn list(State(state): State<AppState>, session: Session) -> PageResult {
    let rows = sweeps::page(&state.pool, None, 100).await?;
    let body = html! {
        h1 { "Sweeps" }
        @if session.is_operator() {
            form method="post" action="/sweeps" {
                input type="hidden" name="csrf" value=(session.csrf());
                button #start-sweep type="submit" { "Start a sweep now" }
            }
        } @else {
            p.muted { "Operators can start a sweep here; sweeps also run on the configured schedule." }
        }
        @if rows.is_empty() { p.muted { "No sweep yet." } } @else {
            div.scroll { table #sweeps {
                thead { tr { th { "Started" } th { "Status" } th { "Trigger" } th { "Took" } th.num { "Accounts" } th.num { "Not assessed" } th.num { "AWS calls" } } }
                tbody {
                    @for s in &rows {
                        tr {
                            td { a href={ "/sweeps/" (s.id) } { (layout::time(s.started_at)) } }
                            td { (status_word(s.status)) }
                            td { (s.trigger) }
                            td { (layout::duration(s.started_at, s.finished_at)) }
                            td.num { (s.accounts_done) " / " (s.accounts_total) }
                            td.num { (s.accounts_not_assessed) }
                            td.num { (total_calls(&s.aws_calls)) }
                        }
                    }
                }
            } }
            p.muted { "The 100 most recent; the API (" code { "GET /api/v1/sweeps" } ") pages through all." }
        }
    };
    Ok(layout::page("Sweeps", &session, Nav::Sweeps, body))
}

/// A form that only carries its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// Starts a sweep (operators) and shows it.
pub async fn start(State(state): State<AppState>, session: Session, Form(form): Form<CsrfOnly>) -> PageResult {
    if let Some(refused) = session.refusal(&form.csrf, Role::Operator) {
        return Ok(refused);
    }
    let id = match state.sweeps.trigger("dashboard").await {
        Ok(id) => id,
        // Already running: show that one.
        Err(TriggerError::AlreadyRunning(id)) => id,
        Err(e) => return Err(crate::api::error::ApiError::from(e).into()),
    };
    Ok(Redirect::to(&format!("/sweeps/{id}")).into_response())
}

fn parse(id: &str) -> Result<SweepId, PageError> {
    id.parse().map(SweepId).map_err(|_| PageError::bad("sweep id", format!("`{id}` is not a UUID")))
}

/// One sweep.
pub async fn page(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> PageResult {
    let id = parse(&id)?;
    let row =
        sweeps::with_progress(&state.pool, id).await?.ok_or_else(|| PageError::not_found(format!("no sweep {id}")))?;
    let changes = dashboard::changes_of_sweep(&state.pool, id).await?;
    let moved = dashboard::moved_by_sweep(&state.pool, id, 50).await?;
    let s = Sweep::from(row);
    let count = |k: EventKind| changes.iter().find(|(kind, _)| *kind == k).map_or(0, |(_, n)| *n);
    let body = html! {
        h1 { "Sweep " (layout::time(s.started_at)) }
        dl.facts {
            dt { "Id" } dd { code { (s.id) } }
            dt { "Status" } dd #sweep-status { (status_word(s.status)) }
            dt { "Trigger" } dd { (s.trigger) }
            dt { "Took" } dd { (layout::duration(s.started_at, s.finished_at)) }
            dt { "AWS calls" } dd { (total_calls(&s.aws_calls)) }
            @if let Some(e) = &s.error { dt { "Error" } dd.error { (e) } }
        }
        div #progress data-progress-url=[(s.status == SweepStatus::Running).then(|| format!("/sweeps/{}/progress", s.id))] {
            label for="progress-bar" { "Accounts recorded" }
            progress #progress-bar max=(s.progress.total.max(1)) value=(s.progress.done) {}
            p data-progress-text aria-live="polite" {
                (s.progress.done) " of " (s.progress.total) " accounts recorded, " (s.progress.not_assessed) " not assessed — " (status_word(s.status))
            }
        }
        h2 { "What it changed" }
        p { (count(EventKind::Opened) + count(EventKind::Reopened)) " opened, " (count(EventKind::Regressed)) " regressed, "
            (count(EventKind::Resolved)) " resolved, " (count(EventKind::Changed)) " changed detail, "
            (count(EventKind::FirstSeen)) " first seen not failing, " (count(EventKind::Retired)) " retired." }
        (moved_table(&moved))
    };
    Ok(layout::page("Sweep", &session, Nav::Sweeps, body))
}

/// A sweep's progress, for the page's script.
#[derive(Debug, Serialize)]
pub struct ProgressBody {
    status: &'static str,
    done: i64,
    total: i64,
    not_assessed: i64,
}

/// `GET /sweeps/{id}/progress`.
pub async fn progress(
    State(state): State<AppState>,
    _session: Session,
    Path(id): Path<String>,
) -> Result<([(header::HeaderName, &'static str); 1], Json<ProgressBody>), PageError> {
    let id = parse(&id)?;
    let row =
        sweeps::with_progress(&state.pool, id).await?.ok_or_else(|| PageError::not_found(format!("no sweep {id}")))?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(ProgressBody {
            status: status_word(row.status),
            done: row.accounts_done,
            total: i64::from(row.accounts_total),
            not_assessed: row.accounts_not_assessed,
        }),
    ))
}
