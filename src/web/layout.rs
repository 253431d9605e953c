//! The frame every page shares: head (stylesheet, script, icon, all from `/assets`), the
//! navigation, the search box, who is signed in and the sign-out form; and the small pieces
//! pages repeat (status words with their icons, times, counts).

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::session::Session;
use crate::domain::{Severity, Status};

/// The sections in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Posture,
    Accounts,
    Controls,
    Sweeps,
    Exceptions,
    Compliance,
    None,
}

const SECTIONS: [(Nav, &str, &str); 6] = [
    (Nav::Posture, "/", "Posture"),
    (Nav::Accounts, "/accounts", "Accounts"),
    (Nav::Controls, "/controls", "Controls"),
    (Nav::Sweeps, "/sweeps", "Sweeps"),
    (Nav::Exceptions, "/exceptions", "Exceptions"),
    (Nav::Compliance, "/compliance", "Compliance"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · bedrock-sweeper" }
            link rel="icon" type="image/svg+xml" href=(assets::url("favicon.svg"));
            link rel="stylesheet" href=(assets::url("dashboard.css"));
            script src=(assets::url("dashboard.js")) defer {}
        }
    }
}

/// A page of the signed-in dashboard. Never cached: it holds the organization's posture.
pub fn page(title: &str, session: &Session, active: Nav, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "bedrock-sweeper" }
                    nav aria-label="Sections" {
                        ul {
                            @for (nav, href, label) in SECTIONS {
                                li {
                                    @if nav == active {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    form.search role="search" method="get" action="/search" {
                        label for="q" { "Search" }
                        input #q type="search" name="q" placeholder="Account id or name, control id, resource ARN" required;
                        button type="submit" { "Find" }
                    }
                    div.who {
                        span.role { "Signed in as " strong { (session.role.as_str()) } }
                        form method="post" action="/sign-out" {
                            input type="hidden" name="csrf" value=(session.csrf());
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    };
    no_store(Html(markup.into_string()).into_response())
}

/// A page outside the signed-in frame: sign-in and errors.
pub fn bare(title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                main #main { (body) }
            }
        }
    };
    no_store(Html(markup.into_string()).into_response())
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A status as a word with an icon (colour is never the only signal).
pub fn status(status: Status) -> Markup {
    let (icon, word) = match status {
        Status::Pass => ("✔", "pass"),
        Status::Fail => ("✖", "fail"),
        Status::Error => ("?", "not assessed"),
        Status::NotApplicable => ("–", "not applicable"),
    };
    html! { span class={ "status status-" (status.as_str()) } { span aria-hidden="true" { (icon) } " " (word) } }
}

/// A severity as a labelled word.
pub fn severity(severity: Severity) -> Markup {
    html! { span class={ "sev sev-" (severity.as_str()) } { (severity.as_str()) } }
}

/// A time in UTC, machine-readable too.
pub fn time(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M UTC")) } }
}

/// An optional time, or a dash.
pub fn time_opt(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => time(at),
        None => html! { "—" },
    }
}

/// A rate as a percentage, or a dash without verdicts.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.0} %", r * 100.0))
}

/// How long something took.
pub fn duration(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> String {
    let Some(to) = to else { return "running".into() };
    let ms = (to - from).num_milliseconds().max(0);
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {} s", ms / 60_000, ms / 1000 % 60)
    }
}
