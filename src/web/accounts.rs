//! `/accounts`: the accounts, filtered by OU (a tree of the OU paths), failing or not assessed
//! only, sorted by failing count; `/accounts/{id}`: one account's findings by control and the
//! collections that failed in its last sweep.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Nav};
use super::session::Session;
use super::{PageError, PageResult, encode};
use crate::api::AppState;
use crate::domain::{AccountId, OuPath};
use crate::store::accounts::{self, AccountListing, AccountRow};
use crate::store::{dashboard, findings};

const PAGE: i64 = 100;

/// The list's filters.
#[derive(Debug, Deserialize)]
pub struct Filters {
    ou: Option<String>,
    failing: Option<String>,
    not_assessed: Option<String>,
    sort: Option<String>,
    offset: Option<i64>,
}

impl Filters {
    /// The query string of these filters at another offset.
    fn at(&self, offset: i64) -> String {
        let mut q = Vec::new();
        if let Some(ou) = &self.ou {
            q.push(format!("ou={}", encode(ou)));
        }
        if self.failing.is_some() {
            q.push("failing=on".into());
        }
        if self.not_assessed.is_some() {
            q.push("not_assessed=on".into());
        }
        if let Some(sort) = &self.sort {
            q.push(format!("sort={}", encode(sort)));
        }
        q.push(format!("offset={offset}"));
        q.join("&")
    }
}

/// The account list.
pub async fn list(State(state): State<AppState>, session: Session, Query(f): Query<Filters>) -> PageResult {
    let ou = match f.ou.as_deref().filter(|o| !o.is_empty()) {
        Some(o) => Some(OuPath::parse(o).map_err(|e| PageError::bad("ou", e))?),
        None => None,
    };
    let offset = f.offset.unwrap_or(0);
    if !(0..=10_000_000).contains(&offset) {
        return Err(PageError::bad("offset", "must be 0 or more"));
    }
    let by_failing = match f.sort.as_deref() {
        None | Some("failing") => true,
        Some("id") => false,
        Some(other) => return Err(PageError::bad("sort", format!("`{other}` is not `failing` or `id`"))),
    };
    let listing = AccountListing {
        ou: ou.clone(),
        failing_only: f.failing.is_some(),
        not_assessed_only: f.not_assessed.is_some(),
        by_failing,
    };
    let mut rows = accounts::listing(&state.pool, &listing, offset, PAGE + 1).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let tree = dashboard::ou_counts(&state.pool).await?;
    let body = html! {
        h1 { "Accounts" }
        div.layout-2 {
            nav aria-label="Organizational units" { (ou_tree(&tree, ou.as_ref().map(OuPath::as_str))) }
            div {
                form.filters method="get" action="/accounts" {
                    @if let Some(ou) = &ou { input type="hidden" name="ou" value=(ou.as_str()); }
                    span { input #f-failing type="checkbox" name="failing" checked[f.failing.is_some()]; " " label for="f-failing" { "Failing only" } }
                    span { input #f-na type="checkbox" name="not_assessed" checked[f.not_assessed.is_some()]; " " label for="f-na" { "Not assessed only" } }
                    span {
                        label for="f-sort" { "Sort " }
                        select #f-sort name="sort" {
                            option value="failing" selected[by_failing] { "most failing first" }
                            option value="id" selected[!by_failing] { "by account id" }
                        }
                    }
                    button type="submit" { "Apply" }
                }
                @if let Some(ou) = &ou { p { "Under " strong { (ou.as_str()) } " · " a href="/accounts" { "all accounts" } } }
                (account_table(&rows))
                div.pager {
                    @if offset > 0 { a href={ "/accounts?" (f.at((offset - PAGE).max(0))) } { "← Previous" } }
                    @if more { a href={ "/accounts?" (f.at(offset + PAGE)) } { "Next →" } }
                }
            }
        }
    };
    Ok(layout::page("Accounts", &session, Nav::Accounts, body))
}

fn account_table(rows: &[AccountRow]) -> Markup {
    html! {
        @if rows.is_empty() {
            p.muted { "No account matches." }
        } @else {
            div.scroll { table #accounts {
                thead { tr { th { "Account" } th { "Name" } th { "OU path" } th { "Assessed" } th.num { "Failing" } th.num { "Not evaluated" } th { "Last assessed" } } }
                tbody {
                    @for a in rows {
                        tr {
                            td { a href={ "/accounts/" (a.id) } { (a.id) } }
                            td { (a.name) }
                            td { (a.ou_path) }
                            td { (assessed(a.assessed)) }
                            td.num data-failing { (a.failing) }
                            td.num { (a.errors) }
                            td { (layout::time_opt(a.last_assessed_at)) }
                        }
                    }
                }
            } }
        }
    }
}

/// Whether the last sweep assessed an account, in words.
pub fn assessed(assessed: Option<bool>) -> Markup {
    match assessed {
        Some(true) => html! { span.status.status-pass { span aria-hidden="true" { "✔" } " assessed" } },
        Some(false) => html! { span.status.status-error { span aria-hidden="true" { "?" } " not assessed" } },
        None => html! { span.status.status-error { span aria-hidden="true" { "?" } " never assessed" } },
    }
}

/// A node of the OU tree: accounts directly in it, and its children.
#[derive(Debug, Default)]
struct Node {
    direct: Option<dashboard::OuCount>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn totals(&self) -> (i64, i64, i64) {
        let own = self.direct.as_ref().map_or((0, 0, 0), |c| (c.accounts, c.failing, c.not_assessed));
        self.children.values().map(Node::totals).fold(own, |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2))
    }
}

fn ou_tree(counts: &[dashboard::OuCount], selected: Option<&str>) -> Markup {
    let mut root = Node::default();
    for c in counts {
        let mut node = &mut root;
        for part in c.ou_path.split('/') {
            node = node.children.entry(part.to_owned()).or_default();
        }
        node.direct = Some(c.clone());
    }
    html! {
        h2 { "By OU" }
        ul.tree { @for (name, node) in &root.children { (tree_node(name, name, node, selected)) } }
    }
}

fn tree_node(name: &str, path: &str, node: &Node, selected: Option<&str>) -> Markup {
    let (accounts, failing, not_assessed) = node.totals();
    html! {
        li {
            @if selected == Some(path) {
                strong aria-current="true" { (name) }
            } @else {
                a href={ "/accounts?ou=" (encode(path)) } { (name) }
            }
            " " span.muted { (accounts) " accounts, " (failing) " failing" @if not_assessed > 0 { ", " (not_assessed) " not assessed" } }
            @if !node.children.is_empty() {
                ul { @for (child, n) in &node.children { (tree_node(child, &format!("{path}/{child}"), n, selected)) } }
            }
        }
    }
}

/// One account.
pub async fn page(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> PageResult {
    let id = AccountId::parse(&id).map_err(|e| PageError::bad("account id", e))?;
    let account =
        accounts::get(&state.pool, &id).await?.ok_or_else(|| PageError::not_found(format!("no account {id}")))?;
    let rows = findings::of_account(&state.pool, &id).await?;
    let gaps = match account.last_sweep_id {
        Some(sweep) => dashboard::gaps(&state.pool, sweep, &id).await?,
        None => Vec::new(),
    };
    let mut by_control: BTreeMap<&str, Vec<&findings::FindingListRow>> = BTreeMap::new();
    for r in &rows {
        by_control.entry(r.finding.control_id.as_str()).or_default().push(r);
    }
    let body = html! {
        h1 { "Account " (account.id) " · " (account.name) }
        dl.facts {
            dt { "OU path" } dd { a href={ "/accounts?ou=" (encode(&account.ou_path)) } { (account.ou_path) } }
            dt { "Status" } dd { (account.status) }
            dt { "Assessed" } dd { (assessed(account.assessed)) }
            dt { "Last assessed" } dd { (layout::time_opt(account.last_assessed_at)) }
            dt { "Last sweep" } dd { @if let Some(s) = account.last_sweep_id { a href={ "/sweeps/" (s) } { (s) } } @else { "—" } }
            dt { "Failing" } dd { (account.failing) }
            dt { "Not evaluated" } dd { (account.errors) }
        }
        @if account.assessed != Some(true) {
            p.notice role="status" {
                "The last sweep could not assess this account (its role could not be assumed), so nothing in it was read. "
                "The findings below are the verdicts of its last assessment"
                @if let Some(at) = account.last_assessed_at { " (" (layout::time(at)) ")" }
                "; none of them is current."
            }
        }
        h2 { "Findings by control" }
        @if by_control.is_empty() { p.muted { "No active finding." } }
        @for (control, list) in &by_control {
            h3 { a href={ "/controls/" (control) } { (control) } " · " (list[0].finding.title) }
            div.scroll { table {
                thead { tr { th { "Status" } th { "Region" } th { "Resource" } th { "Detail" } } }
                tbody {
                    @for r in list {
                        tr {
                            td { a href={ "/findings/" (r.finding.id.as_str()) } { (layout::status(r.finding.status)) }
                                 @if r.suppressed_by.is_some() { " " span.muted { "(accepted risk)" } } }
                            td { (r.finding.region.as_ref().map_or("—", |r| r.as_str())) }
                            td { code { (r.finding.resource_id) } }
                            td { (r.finding.detail) }
                        }
                    }
                }
            } }
        }
        h2 #gaps { "Collection gaps in the last sweep" }
        @if account.assessed != Some(true) {
            p { "Nothing was read: the account's role could not be assumed." }
        } @else if gaps.is_empty() {
            p.muted { "None: every call the controls need succeeded." }
        } @else {
            p { "These calls failed, so what they read is not known: the findings that need them are " strong { "not assessed" } ", never passed." }
            div.scroll { table {
                thead { tr { th { "Service" } th { "Operation" } th { "Region" } th { "Code" } th { "Message" } } }
                tbody {
                    @for g in &gaps {
                        tr { td { (g.service) } td { (g.operation) } td { (g.region.as_deref().unwrap_or("—")) } td { code { (g.code) } } td { (g.message) } }
                    }
                }
            } }
        }
    };
    Ok(layout::page(&format!("Account {}", account.id), &session, Nav::Accounts, body))
}
