//! `/findings/{id}`: one finding for a person. Its verdict and history on a timeline; the
//! evidence rendered: for the SCP controls (BR.ORG.1–6) the probe table of the sweep's
//! organization snapshot (region × action × caller × network path → denied by which policy,
//! statement and level, or open and why), for everything else the subject's own record from
//! the account snapshot (a trail's status, a role's policy statements), with the raw JSON one
//! click away; where it stands in Security Hub; and, for operators, the form that accepts the
//! risk as an exception.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use chrono::{Duration, Utc};
use maud::{Markup, html};
use serde_json::Value;

use super::layout::{self, Nav};
use super::session::Session;
use super::{PageError, PageResult};
use crate::api::AppState;
use crate::domain::{AccountId, FindingId, ResourceKind, SweepId};
use crate::evaluate::scp::{ControlEvidence, ProbeEvidence, ScpEvidence};
use crate::snapshot::OrgSnapshot;
use crate::store::findings::{self, FindingDetailRow, TransitionRow};
use crate::store::{dashboard, snapshots};

/// Most subject records shown from an account snapshot.
const MAX_RECORDS: usize = 5;
/// The largest raw evidence shown on the page itself (larger: the link only).
const MAX_INLINE_EVIDENCE: usize = 256 * 1024;

fn parse(id: &str) -> Result<FindingId, PageError> {
    FindingId::parse(id).map_err(|e| PageError::bad("finding id", e))
}

/// The finding page.
pub async fn page(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> PageResult {
    let id = parse(&id)?;
    let (row, history) =
        findings::detail(&state.pool, &id).await?.ok_or_else(|| PageError::not_found(format!("no finding {id}")))?;
    let hub = dashboard::security_hub_state(&state.pool, &id).await?.unwrap_or_default();
    let control = state.catalog.control(&row.finding.control_id);
    let probes = if row.finding.control_id.as_str().starts_with("BR.ORG.") {
        probe_evidence(&state, row.last_sweep_id, &row.finding.account_id).await?
    } else {
        None
    };
    let f = &row.finding;
    let body = html! {
        h1 { (f.control_id) " · " (f.title) }
        dl.facts {
            dt { "Status" } dd #finding-status { (layout::status(f.status))
                @if let Some(x) = row.suppressed_by { " · " strong #suppressed { "suppressed" } " by exception " a href={ "/exceptions/" (x) } { (x) } } }
            dt { "Severity" } dd { (layout::severity(f.severity)) }
            dt { "Why" } dd #finding-detail { (f.detail) }
            dt { "Control" } dd { a href={ "/controls/" (f.control_id) } { (f.control_id) } }
            dt { "Account" } dd { a href={ "/accounts/" (f.account_id) } { (f.account_id) } }
            dt { "Region" } dd { (f.region.as_ref().map_or("—", |r| r.as_str())) }
            dt { "Resource" } dd { code { (f.resource_id) } " (" (kind(f.resource_kind)) ")" }
            dt { "First seen" } dd { (layout::time(f.first_seen_at)) }
            dt { "Last seen" } dd { (layout::time(f.last_seen_at)) }
            dt { "In this status since" } dd { (layout::time(row.status_since)) }
            @if !row.active { dt { "Subject" } dd { "no longer observed (the finding is retired)" } }
        }
        h2 { "History" }
        (timeline(&history))
        h2 #evidence { "Evidence" }
        @if let Some(probes) = &probes { (probe_section(probes, f.control_id.as_str())) }
        @else { (subject_records(&row)) }
        details #raw-evidence {
            summary { "Raw evidence (JSON)" }
            p { a href={ "/findings/" (id.as_str()) "/evidence.json" } { "Open as a file" } }
            @let raw = row.evidence.as_ref().map(|e| serde_json::to_string_pretty(e).unwrap_or_default());
            @match raw {
                Some(text) if text.len() <= MAX_INLINE_EVIDENCE => { pre { code { (text) } } }
                Some(text) => { p { "The account snapshot is " (text.len() / 1024) " KiB: open it as a file." } }
                None => { p { "None recorded." } }
            }
        }
        h2 { "Security Hub" }
        (security_hub(&hub, row.suppressed_by))
        h2 #accept { "Accept the risk" }
        @if let Some(x) = row.suppressed_by {
            p { "Exception " a href={ "/exceptions/" (x) } { (x) } " covers this finding." }
        } @else if session.is_operator() && control.is_some() {
            (exception_form(&session, &row))
        } @else if control.is_some() {
            p.muted { "An operator can accept this risk with an exception (scope, reason and expiry)." }
        }
    };
    Ok(layout::page(&format!("Finding {}", f.control_id), &session, Nav::None, body))
}

fn kind(kind: ResourceKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default().replace('_', " ")
}

fn timeline(history: &[TransitionRow]) -> Markup {
    html! {
        ol.timeline #history {
            @for t in history {
                li {
                    strong { (t.kind.as_str().replace('_', " ")) } " · " (layout::time(t.at)) " · "
                    @match (t.old_status, t.new_status) {
                        (Some(old), Some(new)) => { (layout::status(old)) " → " (layout::status(new)) }
                        (None, Some(new)) => { (layout::status(new)) }
                        (Some(old), None) => { (layout::status(old)) " → no longer observed" }
                        (None, None) => {}
                    }
                    " · sweep " a href={ "/sweeps/" (t.sweep_id) } { (t.sweep_id.0.to_string().get(..8).unwrap_or("")) }
                    @if let Some(d) = &t.detail { br; span.muted { (d) } }
                }
            }
        }
    }
}

/// The SCP probe evidence of the account in the organization `sweep` judged, or `None`
/// when that sweep recorded no organization.
async fn probe_evidence(
    state: &AppState,
    sweep: SweepId,
    account: &AccountId,
) -> Result<Option<Result<ScpEvidence, String>>, PageError> {
    let Some(hash) = dashboard::org_snapshot_of(&state.pool, sweep).await? else { return Ok(None) };
    let Some(org) = snapshots::get::<OrgSnapshot>(&state.pool, &hash).await? else { return Ok(None) };
    let (catalog, params, account) = (Arc::clone(&state.catalog), Arc::clone(&state.controls), account.clone());
    let table = tokio::task::spawn_blocking(move || {
        crate::evaluate::preview::probe_table(&org, catalog.regions(), &params, &account)
    })
    .await
    .unwrap_or_else(|e| Err(format!("the probe table could not be computed: {e}")));
    Ok(Some(table))
}

fn probe_section(evidence: &Result<ScpEvidence, String>, control: &str) -> Markup {
    let evidence = match evidence {
        Ok(e) => e,
        Err(why) => return html! { p.notice { "No probe table: " (why) } },
    };
    let Some(c) = evidence.controls.iter().find(|c| c.control_id == control) else {
        return html! { p.notice { "The probe table has no probes for " (control) "." } };
    };
    html! {
        p { "The service control policies on the account's path (" (evidence.path.join(" → ")) "), judged on the organization "
            "as the sweep read it, with the control parameters the service runs with now. Each row is one request the control "
            "needs denied (or allowed) and what the policies make of it." }
        (probe_table(c))
        @if !evidence.lints.is_empty() {
            details { summary { "Policy lints (" (evidence.lints.len()) ")" } ul { @for l in &evidence.lints { li { (l) } } } }
        }
    }
}

fn word<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default().replace('_', " ")
}

/// The probes that are not as the control needs first (open in full), then the rest folded
/// away: a region control has hundreds of probes, and a person looks for the holes.
fn probe_table(c: &ControlEvidence) -> Markup {
    let (holes, rest): (Vec<&ProbeEvidence>, Vec<&ProbeEvidence>) =
        c.probes.iter().partition(|p| p.as_required == Some(false));
    html! {
        div #probes {
            @if holes.is_empty() {
                p { "Every probe is as the control needs." }
            } @else {
                h3 { (holes.len()) " probes not as the control needs" }
                (probe_rows(&holes))
            }
            @if !rest.is_empty() {
                details {
                    summary { "The other " (rest.len()) " probes (as needed, or reported only)" }
                    (probe_rows(&rest))
                }
            }
        }
    }
}

/// Probes that differ only by region, as one row naming the regions (a region control asks
/// the same question in every region).
struct ProbeGroup<'a> {
    regions: Vec<&'a str>,
    probe: &'a ProbeEvidence,
}

fn by_region<'a>(probes: &[&'a ProbeEvidence]) -> Vec<ProbeGroup<'a>> {
    let mut groups: Vec<ProbeGroup<'a>> = Vec::new();
    for p in probes {
        let same = |g: &ProbeGroup<'_>| {
            let q = g.probe;
            (q.action.as_str(), q.note.as_str(), q.principal, q.network, q.expected, q.outcome, q.as_required)
                == (p.action.as_str(), p.note.as_str(), p.principal, p.network, p.expected, p.outcome, p.as_required)
                && q.deciding == p.deciding
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.regions.push(&p.region),
            None => groups.push(ProbeGroup { regions: vec![&p.region], probe: p }),
        }
    }
    groups
}

fn probe_rows(probes: &[&ProbeEvidence]) -> Markup {
    html! {
        div.scroll { table {
            thead { tr { th { "Regions" } th { "Action" } th { "Caller" } th { "Network path" } th { "Needs" } th { "Outcome" } th { "Deciding policy / statement / level, or why open" } } }
            tbody {
                @for g in by_region(probes) {
                    @let p = g.probe;
                    tr {
                        td.regions { (g.regions.join(", ")) }
                        td { code { (p.action) } @if !p.note.is_empty() { br; span.muted { (p.note) } } }
                        td { (word(&p.principal)) }
                        td { (word(&p.network)) }
                        td { (word(&p.expected)) }
                        td {
                            @match p.as_required {
                                Some(true) => { span.status.status-pass { span aria-hidden="true" { "✔ " } (p.outcome.replace('_', " ")) } }
                                Some(false) => { span.status.status-fail { span aria-hidden="true" { "✖ " } (p.outcome.replace('_', " ")) } }
                                None => { span.status.status-not_applicable { (p.outcome.replace('_', " ")) } }
                            }
                        }
                        td {
                            @if let Some(d) = &p.deciding { span.deciding { (d) } }
                            @else if p.outcome == "allowed" { span.deciding { "open: no deny statement applies" } }
                            @if !p.near_misses.is_empty() {
                                ul { @for m in &p.near_misses { li.muted { (m) } } }
                                @if g.regions.len() > 1 { p.muted { "(as in " (g.regions[0]) "; the same in the other regions)" } }
                            }
                        }
                    }
                }
            }
        } }
    }
}

/// The records in the account snapshot that name the finding's subject: the objects holding
/// its id as a value (a trail, a role, a guardrail...).
fn subject_records(row: &FindingDetailRow) -> Markup {
    let Some(evidence) = &row.evidence else {
        return html! { p.muted { "No evidence was recorded." } };
    };
    let resource = row.finding.resource_id.as_str();
    let mut found = Vec::new();
    if row.finding.resource_kind != ResourceKind::Account {
        collect_records(evidence, resource, &mut found);
    }
    html! {
        @if found.is_empty() {
            p { "The verdict was made on the account snapshot below (" (row.finding.resource_id) ")." }
        } @else {
            p { "What the sweep read about " code { (resource) } ":" }
            @for record in found.iter().take(MAX_RECORDS) { (record_table(record)) }
        }
    }
}

fn collect_records<'a>(value: &'a Value, resource: &str, out: &mut Vec<&'a serde_json::Map<String, Value>>) {
    match value {
        Value::Object(map) => {
            if map.values().any(|v| v.as_str() == Some(resource)) {
                out.push(map);
            }
            for v in map.values() {
                collect_records(v, resource, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_records(v, resource, out)),
        _ => {}
    }
}

fn record_table(record: &serde_json::Map<String, Value>) -> Markup {
    html! {
        div.scroll { table.record {
            tbody {
                @for (k, v) in record {
                    tr {
                        th scope="row" { (k.replace('_', " ")) }
                        td {
                            @match v {
                                Value::String(s) => { (s) }
                                Value::Null => { span.muted { "none" } }
                                Value::Bool(_) | Value::Number(_) => { (v) }
                                _ => { pre { code { (serde_json::to_string_pretty(v).unwrap_or_default()) } } }
                            }
                        }
                    }
                }
            }
        } }
    }
}

fn security_hub(hub: &dashboard::HubState, suppressed_by: Option<uuid::Uuid>) -> Markup {
    html! {
        dl.facts #security-hub {
            dt { "Imported" } dd {
                @match (&hub.record_state, &hub.sent_at) {
                    (Some(state), Some(at)) => { "yes: " (state) ", compliance " (hub.compliance.as_deref().unwrap_or("—")) ", accepted " (layout::time(*at)) }
                    _ => { "not yet" }
                }
                @if let Some((account, region)) = &hub.target { " · in " (account) " / " (region) }
            }
            dt { "Pending" } dd {
                @match &hub.import_queued {
                    Some((state, attempts, error)) => {
                        "an import is " (state) " (" (attempts) " attempts)"
                        @if let Some(e) = error { ": " span.error { (e) } }
                    }
                    None => { "nothing to send" }
                }
                @if let Some((workflow, state, error)) = &hub.workflow_queued {
                    br; "a workflow update to " (workflow) " is " (state)
                    @if let Some(e) = error { ": " span.error { (e) } }
                }
            }
            dt { "Workflow" } dd {
                @match hub.workflow.as_deref() {
                    Some("SUPPRESSED") => { "suppressed" @if let Some(x) = hub.workflow_exception { " by exception " a href={ "/exceptions/" (x) } { (x) } } }
                    Some(other) => { (other) }
                    None => { @if suppressed_by.is_some() { "suppression not yet delivered" } @else { "left to your team (never set by this service)" } }
                }
            }
        }
    }
}

fn exception_form(session: &Session, row: &FindingDetailRow) -> Markup {
    let f = &row.finding;
    let today = Utc::now().date_naive();
    let (min, default, max) = (today + Duration::days(1), today + Duration::days(90), today + Duration::days(400));
    html! {
        form.stack #exception-form method="post" action="/exceptions" {
            input type="hidden" name="csrf" value=(session.csrf());
            input type="hidden" name="finding_id" value=(f.id.as_str());
            input type="hidden" name="control_id" value=(f.control_id);
            p { "Control " strong { (f.control_id) } ". Matching findings keep their status and show as suppressed, here and in Security Hub, until the exception expires or is withdrawn." }
            label for="x-account" { "Account" }
            input #x-account type="text" name="account_id" value=(f.account_id) pattern="[0-9]{12}" inputmode="numeric";
            label for="x-region" { "Region (empty: every region)" }
            input #x-region type="text" name="region" value=(f.region.as_ref().map_or("", |r| r.as_str()));
            label for="x-resource" { "Resources (" code { "*" } " matches any characters; empty: every resource)" }
            input #x-resource type="text" name="resource_pattern" value=(f.resource_id);
            label for="x-reason" { "Reason" }
            textarea #x-reason name="reason" rows="3" maxlength="2000" required {}
            label for="x-expires" { "Expires on (at most 400 days ahead)" }
            input #x-expires type="date" name="expires_on" min=(min) max=(max) value=(default) required;
            button #x-submit type="submit" { "Create exception" }
        }
    }
}

/// The raw evidence as a JSON file.
pub async fn evidence_json(State(state): State<AppState>, _session: Session, Path(id): Path<String>) -> PageResult {
    let id = parse(&id)?;
    let (row, _) =
        findings::detail(&state.pool, &id).await?.ok_or_else(|| PageError::not_found(format!("no finding {id}")))?;
    let body = serde_json::to_vec_pretty(&row.evidence.unwrap_or(Value::Null)).unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response())
}
