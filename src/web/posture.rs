//! `/`: the organization at a glance. The numbers are the API's `GET /api/v1/posture`, built
//! by the same code from the same aggregates; each carries `data-metric` with its JSON path
//! so the browser suite can hold the page to the API.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use chrono::{Duration, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Nav};
use super::session::Session;
use super::{PageError, PageResult, chart};
use crate::api::AppState;
use crate::api::posture::Posture;
use crate::api::sweeps::Sweep;
use crate::domain::{EventKind, SweepId};
use crate::store::{dashboard, posture, sweeps};

/// `?days=` of the trend: 30 (default), 90 or 365.
#[derive(Debug, Deserialize)]
pub struct Window {
    days: Option<i64>,
}

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "informational"];

/// The posture page.
pub async fn page(State(state): State<AppState>, session: Session, Query(window): Query<Window>) -> PageResult {
    let days = window.days.unwrap_or(30);
    if ![30, 90, 365].contains(&days) {
        return Err(PageError::bad("days", "must be 30, 90 or 365"));
    }
    let pool = &state.pool;
    let latest = sweeps::page(pool, None, 1).await?.into_iter().next();
    let p = Posture::new(posture::current(pool).await?, latest);
    let now = Utc::now();
    let step = if days > 90 { Duration::weeks(1) } else { Duration::days(1) };
    let trend = posture::trend(pool, now - Duration::days(days), now, step).await?;
    let last_completed = sweeps::last_completed(pool).await?;
    let (changes, moved) = match last_completed {
        Some(id) => (dashboard::changes_of_sweep(pool, id).await?, dashboard::moved_by_sweep(pool, id, 25).await?),
        None => (Vec::new(), Vec::new()),
    };
    let families = family_rates(&state, &p);
    let body = html! {
        h1 { "Posture" }
        (coverage(&p))
        h2 { "Failing findings by severity" }
        table.narrow {
            thead { tr { th { "Severity" } th.num { "Failing" } } }
            tbody {
                @for s in SEVERITIES {
                    tr {
                        td { (layout::severity(s.parse().unwrap_or(crate::domain::Severity::Informational))) }
                        td.num data-metric={ "failing_by_severity." (s) } { (p.failing_by_severity.get(s).copied().unwrap_or(0)) }
                    }
                }
            }
        }
        p.muted {
            "Of the failing findings, "
            span data-metric="failing_suppressed" { (p.failing_suppressed) }
            " are accepted risks (a live exception covers them; they still count as failing)."
        }
        h2 { "Pass rate per control family" }
        div.scroll { table {
            thead { tr { th { "Family" } th.num { "Pass" } th.num { "Fail" } th.num { "Not assessed" } th { "Pass rate" } } }
            tbody {
                @for (family, r) in &families {
                    tr {
                        td { a href={ "/controls#family-" (family) } { (family) } }
                        td.num { (r.pass) } td.num { (r.fail) } td.num { (r.error) }
                        td { (rate_bar(r.rate(), r.error)) }
                    }
                }
            }
        } }
        h2 #trend { "Trend" }
        p {
            "Window: "
            @for d in [30, 90, 365] {
                @if d == days { strong aria-current="true" { (d) " days" } } @else { a href={ "/?days=" (d) "#trend" } { (d) " days" } }
                " "
            }
        }
        (chart::failing_by_severity(&trend, &format!("Failing findings by severity over the last {days} days")))
        (compliant_per_control(&trend))
        h2 { "Last sweep" }
        (last_sweep(p.last_sweep.as_ref()))
        h2 { "Changed since the previous sweep" }
        (changed(last_completed, &changes, &moved))
    };
    Ok(layout::page("Posture", &session, Nav::Posture, body))
}

fn coverage(p: &Posture) -> Markup {
    let failing: i64 = p.failing_by_severity.values().sum();
    html! {
        div.cards {
            div.card.assessed {
                span.n data-metric="accounts.assessed" { (p.accounts.assessed) }
                "accounts assessed of " span data-metric="accounts.total" { (p.accounts.total) }
            }
            div.card.not-assessed {
                span.n data-metric="accounts.not_assessed" { (p.accounts.not_assessed) }
                span aria-hidden="true" { "? " } "accounts not assessed — their role could not be assumed; never counted as compliant"
            }
            div.card.failing {
                span.n data-metric="findings_by_status.fail" { (p.findings_by_status.get("fail").copied().unwrap_or(0)) }
                "failing findings (" (failing) " by severity below)"
            }
            div.card.not-assessed {
                span.n data-metric="findings_by_status.error" { (p.findings_by_status.get("error").copied().unwrap_or(0)) }
                "findings that could not be evaluated (a call failed): not compliant, not failing"
            }
            div.card.assessed {
                span.n data-metric="findings_by_status.pass" { (p.findings_by_status.get("pass").copied().unwrap_or(0)) }
                "passing findings"
            }
        }
    }
}

/// Pass, fail and error counts of a family.
#[derive(Debug, Default)]
struct FamilyResult {
    pass: i64,
    fail: i64,
    error: i64,
}

impl FamilyResult {
    fn rate(&self) -> Option<f64> {
        let judged = self.pass + self.fail;
        (judged > 0).then(|| self.pass as f64 / judged as f64)
    }
}

fn family_rates(state: &AppState, p: &Posture) -> BTreeMap<String, FamilyResult> {
    let mut out: BTreeMap<String, FamilyResult> = BTreeMap::new();
    for control in state.catalog.controls() {
        let entry = out.entry(control.family.clone()).or_default();
        if let Some(r) = p.controls.get(control.id.as_str()) {
            entry.pass += r.pass;
            entry.fail += r.fail;
            entry.error += r.error;
        }
    }
    out
}

/// A pass rate (of the verdicts made) as a meter and its number, saying how many findings
/// could not be judged: a rate over the few that could is not compliance.
pub fn rate_bar(rate: Option<f64>, not_assessed: i64) -> Markup {
    html! {
        @if let Some(r) = rate {
            meter min="0" max="1" low="0.8" high="0.95" optimum="1" value=(format!("{r:.3}")) aria-hidden="true" {}
            " "
        }
        (layout::percent(rate))
        @if not_assessed > 0 {
            " " span.status.status-error { span aria-hidden="true" { "? " } "partial: " (not_assessed) " not assessed" }
        }
    }
}

fn compliant_per_control(trend: &[posture::TrendPoint]) -> Markup {
    let recorded: Vec<&posture::TrendPoint> = trend.iter().filter(|p| p.sweep_id.is_some()).collect();
    let (Some(first), Some(last)) = (recorded.first(), recorded.last()) else {
        return html! { p.muted { "No completed sweep in this window yet." } };
    };
    html! {
        details {
            summary { "Accounts not failing per control: window start → now" }
            p.muted { "Accounts with findings of the control and none failing, of the accounts with findings. "
                "An account the sweep could not assess has no failing finding either: read these with the not-assessed count above, never as compliance." }
            div.scroll { table {
                thead { tr { th { "Control" } th.num { "Start of window" } th.num { "Now" } } }
                tbody {
                    @for (id, now) in &last.controls {
                        @let then = first.controls.get(id);
                        tr {
                            td { a href={ "/controls/" (id) } { (id) } }
                            td.num { @if let Some(t) = then { (t.accounts_compliant) " / " (t.accounts_evaluated) } @else { "—" } }
                            td.num { (now.accounts_compliant) " / " (now.accounts_evaluated) }
                        }
                    }
                }
            } }
        }
    }
}

fn last_sweep(sweep: Option<&Sweep>) -> Markup {
    let Some(s) = sweep else {
        return html! { p.notice { "No sweep has run yet. " a href="/sweeps" { "Start one" } "." } };
    };
    html! {
        dl.facts {
            dt { "Sweep" } dd { a href={ "/sweeps/" (s.id) } { (s.id) } }
            dt { "Status" } dd { (format!("{:?}", s.status).to_lowercase()) }
            dt { "Started" } dd { (layout::time(s.started_at)) }
            dt { "Took" } dd { (layout::duration(s.started_at, s.finished_at)) }
            dt { "Coverage" } dd {
                (s.progress.done) " of " (s.progress.total) " accounts recorded; "
                (s.progress.not_assessed) " not assessed"
            }
            dt { "AWS calls" } dd { (super::sweeps::total_calls(&s.aws_calls)) }
            @if let Some(e) = &s.error { dt { "Error" } dd.error { (e) } }
        }
    }
}

fn changed(sweep: Option<SweepId>, changes: &[(EventKind, i64)], moved: &[dashboard::ChangedFinding]) -> Markup {
    let Some(sweep) = sweep else { return html! { p.muted { "No completed sweep yet." } } };
    let count = |k: EventKind| changes.iter().find(|(kind, _)| *kind == k).map_or(0, |(_, n)| *n);
    html! {
        p { "What the last completed sweep (" a href={ "/sweeps/" (sweep) } { "details" } ") changed:" }
        div.cards {
            div.card.failing { span.n data-change="opened" { (count(EventKind::Opened) + count(EventKind::Reopened)) } "opened" }
            div.card.failing { span.n data-change="regressed" { (count(EventKind::Regressed)) } "regressed (passed before, fail now)" }
            div.card.assessed { span.n data-change="resolved" { (count(EventKind::Resolved)) } "resolved" }
        }
        (super::sweeps::moved_table(moved))
    }
}
