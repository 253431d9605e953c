//! Presentation of a sweep report and the catalog for the terminal: text and JSON.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::catalog::Catalog;
use crate::domain::FindingRecord;
use crate::domain::{Severity, Status};
use crate::export::security_hub::DrainReport;
use crate::store::sweeps::FindingCount;
use crate::sweep::SweepReport;

/// The JSON document of `sweep --output json` without its `findings` (the caller streams
/// them after it, each a serialized [`FindingRecord`]).
pub fn json_head(r: &SweepReport, delivery: Option<&DrainReport>) -> Value {
    json!({
        "security_hub": delivery,
        "sweep_id": r.sweep_id,
        "status": r.status,
        "resumed": r.resumed,
        "started_at": r.started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "finished_at": r.finished_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "accounts": r.accounts,
        "aws_calls": r.aws_calls,
    })
}

/// Writes the JSON document of `sweep --output json`: the head, then the findings one at a
/// time as `findings` yields them, so a large organization's findings are never all held.
pub async fn write_json<W, S>(out: &mut W, head: &Value, findings: S) -> Result<usize, WriteError>
where
    W: std::io::Write,
    S: futures::Stream<Item = Result<FindingRecord, crate::store::StoreError>>,
{
    use futures::StreamExt;
    let mut head_text = serde_json::to_string_pretty(head)?;
    // The head is an object: reopen it to append the array.
    if head_text.ends_with('}') {
        head_text.pop();
    }
    let head_text = head_text.trim_end();
    let comma = if head_text.ends_with('{') { "" } else { "," };
    write!(out, "{head_text}{comma}\n  \"findings\": [")?;
    let mut findings = std::pin::pin!(findings);
    let mut n = 0;
    while let Some(f) = findings.next().await {
        let sep = if n == 0 { "" } else { "," };
        write!(out, "{sep}\n    {}", serde_json::to_string(&f?)?)?;
        n += 1;
    }
    writeln!(out, "{}]\n}}", if n == 0 { "" } else { "\n  " })?;
    out.flush()?;
    Ok(n)
}

/// Why the JSON report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Writing failed (a closed pipe, a full disk).
    #[error("cannot write the report: {0}")]
    Io(#[from] std::io::Error),
    /// Encoding failed.
    #[error("cannot encode the report: {0}")]
    Json(#[from] serde_json::Error),
    /// Reading the findings failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The human summary of a policy preview: what it is judged on, what it would block (approved
/// paths first), open and close, and the verdict for a pipeline.
pub fn preview_text(p: &crate::policy_preview::PolicyPreview) -> String {
    let v = &p.preview;
    let mut lines = vec![format!(
        "Judged on sweep {} ({}), {} accounts: {} verdict(s) would open, {} would close, {} other change(s); {} call(s) newly denied.",
        p.sweep_id,
        p.swept_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        v.accounts,
        v.opens.len(),
        v.closes.len(),
        v.other.len(),
        v.newly_denied.len()
    )];
    let blocked: Vec<_> = v.newly_denied.iter().filter(|n| n.approved_path).collect();
    if !blocked.is_empty() {
        lines.push("\nBLOCKS APPROVED PATHS:".into());
        lines.extend(blocked.iter().take(20).map(|n| {
            format!(
                "  {} {} in {} as {} ({} account(s), e.g. {}): denied by {}",
                n.control_id,
                n.action,
                n.region,
                n.caller,
                n.accounts,
                n.account_id,
                n.deciding.as_deref().unwrap_or("an implicit deny")
            )
        }));
    }
    for (title, list) in [("OPENS", &v.opens), ("CLOSES", &v.closes), ("OTHER CHANGES", &v.other)] {
        if list.is_empty() {
            continue;
        }
        lines.push(format!("\n{title}:"));
        lines.extend(list.iter().take(50).map(|c| {
            let region = c.region.as_deref().map(|r| format!(" {r}")).unwrap_or_default();
            format!("  {} {}{region}: {} -> {}: {}", c.control_id, c.account_id, c.before, c.after, c.detail)
        }));
        if list.len() > 50 {
            lines.push(format!("  ... and {} more", list.len() - 50));
        }
    }
    lines.push(
        if p.harmful {
            "\nResult: the change opens a fence or blocks an approved path."
        } else {
            "\nResult: the change opens no fence and blocks no approved path."
        }
        .into(),
    );
    lines.join("\n") + "\n"
}

/// The human summary of a sweep; `counts` are its findings counted by control, severity and
/// status (`store::sweeps::finding_counts`).
pub fn text(r: &SweepReport, counts: &[FindingCount], delivery: Option<&DrainReport>) -> String {
    let mut s = String::new();
    let secs = (r.finished_at - r.started_at).num_milliseconds() as f64 / 1000.0;
    line(
        &mut s,
        format!("Sweep {} {}{} in {secs:.1}s", r.sweep_id, r.status, if r.resumed { " (resumed)" } else { "" }),
    );
    let a = &r.accounts;
    line(
        &mut s,
        format!(
            "Accounts: {} total, {} assessed, {} NOT assessed, {} skipped (suspended/closed)",
            a.total, a.assessed, a.not_assessed, a.skipped
        ),
    );
    let mut by_status: BTreeMap<Status, i64> = BTreeMap::new();
    let mut failing_by_severity: BTreeMap<Severity, i64> = BTreeMap::new();
    let mut failing_by_control: BTreeMap<&str, i64> = BTreeMap::new();
    for c in counts {
        *by_status.entry(c.status).or_default() += c.findings;
        if c.status == Status::Fail {
            *failing_by_severity.entry(c.severity).or_default() += c.findings;
            *failing_by_control.entry(c.control_id.as_str()).or_default() += c.findings;
        }
    }
    let statuses: Vec<String> =
        Status::ALL.iter().map(|st| format!("{} {}", by_status.get(st).unwrap_or(&0), st)).collect();
    line(&mut s, format!("Findings: {}", statuses.join(", ")));
    let severities: Vec<String> =
        Severity::ALL.iter().map(|sev| format!("{} {}", failing_by_severity.get(sev).unwrap_or(&0), sev)).collect();
    line(&mut s, format!("Failing by severity: {}", severities.join(", ")));
    let mut top: Vec<(&str, i64)> = failing_by_control.into_iter().collect();
    top.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    if !top.is_empty() {
        line(&mut s, "Top failing controls:".to_owned());
        for (control, n) in top.iter().take(5) {
            let title = counts.iter().find(|c| c.control_id.as_str() == *control).map_or("", |c| c.title.as_str());
            line(&mut s, format!("  {control:<9} {n:>5}  {title}"));
        }
    }
    let total: u64 = r.aws_calls.values().flat_map(|ops| ops.values()).map(|c| c.calls).sum();
    line(&mut s, format!("AWS calls: {total}"));
    for (service, ops) in &r.aws_calls {
        let calls: u64 = ops.values().map(|c| c.calls).sum();
        let errors: u64 = ops.values().map(|c| c.errors).sum();
        line(&mut s, format!("  {service:<16} {calls:>6} calls, {errors} errors"));
    }
    match delivery {
        None => line(&mut s, "Security Hub: not sent (disabled or --no-security-hub; findings stay queued)".to_owned()),
        Some(d) if d.busy => line(
            &mut s,
            format!(
                "Security Hub: another delivery is running and sends what is due; {} pending, {} failed in the outbox",
                d.pending, d.failed_total
            ),
        ),
        Some(d) => {
            line(
                &mut s,
                format!(
                    "Security Hub: {} imported, {} rejected, {} deferred in {} requests; {} pending, {} failed in the outbox",
                    d.imported, d.failed, d.deferred, d.requests, d.pending, d.failed_total
                ),
            );
            let w = &d.workflow;
            if w.updated + w.deferred > 0 || d.workflow_pending > 0 {
                line(
                    &mut s,
                    format!(
                        "  exceptions: {} workflow updates (SUPPRESSED/NEW), {} deferred in {} requests; {} pending",
                        w.updated, w.deferred, w.requests, d.workflow_pending
                    ),
                );
            }
            for t in &d.unusable_targets {
                line(&mut s, format!("  hub not usable: {t}"));
            }
        }
    }
    s
}

/// The catalog as a table.
pub fn controls_table(catalog: &Catalog) -> String {
    let mut s = String::new();
    for c in catalog.controls() {
        line(&mut s, format!("{:<9} {:<13} {:<18} {}", c.id, c.severity, c.family, c.title));
    }
    s
}

/// The README's generated tables, by block name: the controls (from the catalog), the
/// member role's permissions (from the collectors' `ACTIONS`) and the emulator coverage of
/// each control (from the catalog's `[emulator]`). `bedrock-sweeper controls --markdown`
/// prints them; a test fails when the README's copy differs.
pub fn readme_blocks(catalog: &Catalog) -> Vec<(&'static str, String)> {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut controls = String::from("| id | severity | scope | the control holds when |\n|---|---|---|---|\n");
    for c in catalog.controls() {
        let scope = serde_json::to_value(c.scope).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        // Titles are prose: `<region>` and `bedrock:*` must not read as HTML or emphasis.
        let title = cell(&c.title).replace('<', "&lt;").replace('>', "&gt;").replace('*', "\\*");
        controls.push_str(&format!("| {} | {} | {scope} | {title} |\n", c.id, c.severity));
    }
    let mut permissions = String::from("| collector | IAM actions of the member role |\n|---|---|\n");
    for (collector, actions) in crate::collect::MEMBER_ROLE_ACTIONS {
        let actions: Vec<String> = actions.iter().map(|a| format!("`{a}`")).collect();
        permissions.push_str(&format!("| `src/collect/{collector}.rs` | {} |\n", actions.join(", ")));
    }
    let mut coverage = String::from(
        "| control | end to end against moto | replayed answers (proxy) / unit tests only |\n|---|---|---|\n",
    );
    // Consecutive controls covered alike share a row.
    let mut rows: Vec<(Vec<String>, &str, &str)> = Vec::new();
    for c in catalog.controls() {
        let (e2e, replayed) = (c.emulator.end_to_end.trim(), c.emulator.replayed.trim());
        match rows.last_mut() {
            Some((ids, e, r)) if *e == e2e && *r == replayed => ids.push(c.id.to_string()),
            _ => rows.push((vec![c.id.to_string()], e2e, replayed)),
        }
    }
    for (ids, e2e, replayed) in rows {
        coverage.push_str(&format!("| {} | {} | {} |\n", ids.join(", "), cell(e2e), cell(replayed)));
    }
    vec![("controls", controls), ("permissions", permissions), ("emulator-coverage", coverage)]
}

/// The marker lines around a generated block.
fn markers(name: &str) -> (String, String) {
    (
        format!("<!-- generated by `bedrock-sweeper controls --markdown`: {name} -->"),
        format!("<!-- end of generated {name} -->"),
    )
}

/// `blocks` between their markers, as `controls --markdown` prints them.
pub fn marked_blocks(blocks: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (name, text) in blocks {
        let (begin, end) = markers(name);
        out.push_str(&format!("{begin}\n{text}{end}\n\n"));
    }
    out
}

/// `doc` with each generated block replaced by `blocks`; an error names a block whose
/// markers are missing.
pub fn splice_blocks(doc: &str, blocks: &[(&str, String)]) -> Result<String, String> {
    let mut out = doc.to_owned();
    for (name, text) in blocks {
        let (begin, end) = markers(name);
        let start = out.find(&begin).ok_or_else(|| format!("no `{begin}` line"))? + begin.len() + 1;
        let stop = out[start..].find(&end).ok_or_else(|| format!("no `{end}` line"))? + start;
        out.replace_range(start..stop, text);
    }
    Ok(out)
}

fn line(s: &mut String, text: String) {
    s.push_str(&text);
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::SweepOutcome;
    use crate::domain::{AccountId, ControlId, FindingId, Region, SweepId};
    use crate::store::StoreError;
    use crate::sweep::AccountCounts;

    fn report() -> SweepReport {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        SweepReport {
            sweep_id: SweepId::new(),
            status: SweepOutcome::Completed,
            resumed: true,
            started_at: at,
            finished_at: at + chrono::Duration::seconds(90),
            accounts: AccountCounts { total: 3, assessed: 2, not_assessed: 1, skipped: 0 },
            aws_calls: Default::default(),
            management_account: None,
        }
    }

    fn finding(resource: &str, control: &str, status: Status) -> FindingRecord {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let (control_id, account_id) = (ControlId::parse(control).unwrap(), AccountId::parse("111111111111").unwrap());
        let region = Region::parse("us-east-1").unwrap();
        FindingRecord {
            id: FindingId::of(&control_id, &account_id, Some(&region), resource),
            control_id,
            account_id,
            region: Some(region),
            resource_id: resource.into(),
            resource_kind: crate::domain::ResourceKind::Account,
            status,
            severity: Severity::High,
            title: format!("title of {control}"),
            detail: "d \"quoted\"".into(),
            first_seen_at: at,
            last_seen_at: at,
        }
    }

    async fn written(findings: Vec<Result<FindingRecord, StoreError>>) -> (Result<usize, WriteError>, String) {
        let mut out = Vec::new();
        let n = write_json(&mut out, &json_head(&report(), None), futures::stream::iter(findings)).await;
        (n, String::from_utf8(out).unwrap())
    }

    #[tokio::test]
    async fn the_streamed_json_report_is_one_document_with_every_finding() {
        let (n, text) =
            written(vec![Ok(finding("a", "BR.NET.1", Status::Fail)), Ok(finding("b", "BR.LOG.1", Status::Pass))]).await;
        assert_eq!(n.unwrap(), 2);
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["status"], "completed");
        assert_eq!(doc["accounts"]["not_assessed"], 1);
        let findings = doc["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0], serde_json::to_value(finding("a", "BR.NET.1", Status::Fail)).unwrap());
        assert_eq!(findings[0]["last_seen_at"], "2026-01-01T00:00:00.000Z");
        assert_eq!(findings[1]["detail"], "d \"quoted\"");
        assert_eq!(findings[1]["status"], "pass");

        let (n, text) = written(Vec::new()).await;
        assert_eq!(n.unwrap(), 0);
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["findings"], json!([]));
    }

    #[tokio::test]
    async fn a_failed_read_of_the_findings_is_an_error_not_a_short_report() {
        let broken = StoreError::Json(serde_json::from_str::<Value>("{").unwrap_err());
        let (n, _) = written(vec![Ok(finding("a", "BR.NET.1", Status::Fail)), Err(broken)]).await;
        assert!(matches!(n, Err(WriteError::Store(_))), "{n:?}");
    }

    #[test]
    fn the_summary_counts_come_from_the_database_counts() {
        let count = |control: &str, severity, status, findings| FindingCount {
            control_id: ControlId::parse(control).unwrap(),
            title: format!("title of {control}"),
            severity,
            status,
            findings,
        };
        let counts = [
            count("BR.LOG.1", Severity::Medium, Status::Fail, 2),
            count("BR.LOG.1", Severity::Medium, Status::Pass, 5),
            count("BR.NET.1", Severity::High, Status::Fail, 7),
            count("BR.NET.1", Severity::High, Status::Error, 1),
        ];
        let text = text(&report(), &counts, None);
        assert!(text.contains("(resumed) in 90.0s"), "{text}");
        assert!(text.contains("Findings: 9 fail, 1 error, 5 pass, 0 not_applicable"), "{text}");
        assert!(text.contains("0 critical, 7 high, 2 medium"), "{text}");
        let top: Vec<&str> = text.lines().skip_while(|l| !l.starts_with("Top failing")).skip(1).take(2).collect();
        assert!(top[0].contains("BR.NET.1") && top[0].contains("7") && top[0].contains("title of BR.NET.1"), "{text}");
        assert!(top[1].contains("BR.LOG.1") && top[1].contains("2"), "{text}");
    }

    #[test]
    fn the_readme_tables_are_the_generated_ones() {
        let readme = include_str!("../README.md");
        let catalog = Catalog::embedded().unwrap();
        let blocks = readme_blocks(&catalog);
        let spliced = splice_blocks(readme, &blocks).unwrap_or_else(|e| panic!("README.md: {e}"));
        assert!(
            spliced == readme,
            "README.md's generated tables are stale: run `cargo run -- controls --markdown --update README.md`"
        );
        assert!(blocks[0].1.lines().count() == catalog.controls().len() + 2, "one row per control");
    }

    #[test]
    fn splicing_replaces_only_between_the_markers() {
        let blocks = vec![("t", "new\n".to_owned())];
        let doc = format!("a\n{}b\n", marked_blocks(&[("t", "old\n".to_owned())]));
        let spliced = splice_blocks(&doc, &blocks).unwrap();
        assert_eq!(spliced, format!("a\n{}b\n", marked_blocks(&blocks)));
        assert!(splice_blocks("no markers", &blocks).unwrap_err().contains("t -->"));
    }
}
