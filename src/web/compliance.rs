//! `/compliance`: each framework of the catalog's mappings (NIST 800-53, ISO 27001, SOC 2,
//! PCI DSS, HIPAA, CIS), each requirement with the controls mapped to it and their results
//! across the organization; and the evidence export for auditors as of a chosen sweep.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use maud::html;
use serde::Deserialize;

use super::layout::{self, Nav};
use super::session::Session;
use super::{PageError, PageResult};
use crate::api::AppState;
use crate::api::controls::ControlResults;
use crate::api::evidence::{self, Format};
use crate::store::{controls, dashboard};

const FRAMEWORKS: [(&str, &str); 6] = [
    ("NIST.800-53.r5", "NIST SP 800-53 rev. 5"),
    ("ISO.27001.2022", "ISO/IEC 27001:2022 Annex A"),
    ("SOC2", "SOC 2 trust services criteria"),
    ("PCI.DSS.4.0", "PCI DSS 4.0"),
    ("HIPAA", "HIPAA Security Rule"),
    ("CIS.AWS", "CIS AWS Foundations Benchmark"),
];

/// The compliance page.
pub async fn page(State(state): State<AppState>, session: Session) -> PageResult {
    let results = controls::results(&state.pool).await?;
    let completed = dashboard::completed_sweeps(&state.pool, 100).await?;
    // framework → requirement → controls
    let mut map: BTreeMap<&str, BTreeMap<String, Vec<&crate::catalog::Control>>> = BTreeMap::new();
    for c in state.catalog.controls() {
        for requirement in c.compliance.requirements() {
            if let Some((framework, id)) = requirement.split_once(' ') {
                let framework = FRAMEWORKS.iter().find(|(k, _)| *k == framework).map_or("other", |(k, _)| k);
                map.entry(framework).or_default().entry(id.to_owned()).or_default().push(c);
            }
        }
    }
    let result = |id: &str| results.iter().find(|r| r.control_id == id).map(ControlResults::from).unwrap_or_default();
    let body = html! {
        h1 { "Compliance" }
        h2 #export { "Evidence export" }
        @if completed.is_empty() {
            p.muted { "No sweep has completed yet." }
        } @else {
            form.filters method="get" action="/compliance/evidence" {
                span { label for="e-sweep" { "As of sweep " }
                    select #e-sweep name="sweep" {
                        @for (id, started, accounts) in &completed { option value=(id) { (started.format("%Y-%m-%d %H:%M UTC")) " · " (accounts) " accounts" } }
                    }
                }
                span { label for="e-format" { "Format " }
                    select #e-format name="format" { option value="csv" { "CSV" } option value="json" { "JSON" } }
                }
                button type="submit" { "Download" }
            }
            p.muted { "Each line: control, account, region, resource, status, detail, first seen, and the SHA-256 of the account snapshot judged. "
                "An account the chosen sweep could not assess is exported as not assessed (error), naming the last verdict made. "
                "Sweeps older than the retention window have no snapshot hash. "
                "The API serves the same: " code { "GET /api/v1/evidence?sweep_id=…&format=csv|json" } "." }
        }
        nav aria-label="Frameworks" { ul { @for (key, name) in FRAMEWORKS { @if map.contains_key(key) { li { a href={ "#" (key) } { (name) } } } } } }
        @for (key, name) in FRAMEWORKS {
            @if let Some(requirements) = map.get(key) {
                h2 id=(key) { (name) }
                div.scroll { table {
                    thead { tr { th { "Requirement" } th { "Result" } th { "Controls: fail / pass / not assessed" } } }
                    tbody {
                        @for (requirement, controls) in requirements {
                            @let rs: Vec<_> = controls.iter().map(|c| (c, result(c.id.as_str()))).collect();
                            @let fail: i64 = rs.iter().map(|(_, r)| r.fail).sum();
                            @let error: i64 = rs.iter().map(|(_, r)| r.error).sum();
                            @let pass: i64 = rs.iter().map(|(_, r)| r.pass).sum();
                            tr {
                                td { (requirement) }
                                td {
                                    @if fail > 0 { span.status.status-fail { span aria-hidden="true" { "✖ " } "failing" } }
                                    @else if error > 0 { span.status.status-error { span aria-hidden="true" { "? " } "not fully assessed" } }
                                    @else if pass > 0 { span.status.status-pass { span aria-hidden="true" { "✔ " } "met" } }
                                    @else { span.status.status-not_applicable { "no verdict" } }
                                }
                                td {
                                    @for (c, r) in &rs {
                                        a href={ "/controls/" (c.id) } { (c.id) } " " (r.fail) " / " (r.pass) " / " (r.error) br;
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
        p.muted { "Results are of the active findings now; a requirement is only as met as every control mapped to it." }
    };
    Ok(layout::page("Compliance", &session, Nav::Compliance, body))
}

/// `?sweep=&format=` of the export.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    sweep: Option<String>,
    format: Option<String>,
}

/// The evidence file, as of the chosen sweep.
pub async fn export(State(state): State<AppState>, _session: Session, Query(q): Query<ExportQuery>) -> PageResult {
    let sweep = match q.sweep.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse::<uuid::Uuid>().map_err(|_| PageError::bad("sweep", format!("`{s}` is not a UUID")))?),
        None => None,
    };
    let format = match q.format.as_deref() {
        None | Some("csv") => Format::Csv,
        Some("json") => Format::Json,
        Some(other) => return Err(PageError::bad("format", format!("`{other}` is not csv or json"))),
    };
    let sweep = evidence::sweep_to_export(&state, sweep).await?;
    Ok(evidence::file(&state, sweep, format).await?)
}
