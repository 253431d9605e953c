//! The posture trend as an SVG drawn on the server: no chart library to vendor and keep, no
//! script, and the same picture with JavaScript off. Colours come from the stylesheet's
//! classes; the legend and the table beside the chart say in words what the lines show.

use maud::{Markup, PreEscaped, html};

use crate::store::posture::TrendPoint;

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "informational"];
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// Failing findings by severity over `points`, as a line chart with a data table. Points
/// before the first completed sweep carry no data and are not drawn (not drawn as zero).
pub fn failing_by_severity(all: &[TrendPoint], caption: &str) -> Markup {
    let recorded: Vec<&TrendPoint> = all.iter().filter(|p| p.sweep_id.is_some()).collect();
    let points = recorded.as_slice();
    if points.is_empty() {
        return html! { p.muted { "No completed sweep in this window yet: nothing to draw." } };
    }
    let max = points.iter().flat_map(|p| p.failing_by_severity.values()).copied().max().unwrap_or(0).max(1);
    let n = points.len().max(2) - 1;
    let x = |i: usize| LEFT + (WIDTH - LEFT - RIGHT) * i as f64 / n as f64;
    let y = |v: i64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - v as f64 / max as f64);
    let mut svg = String::new();
    // Grid lines and y labels: 0, ¼, ½, ¾ and the maximum.
    for k in 0..=4 {
        let v = max * k / 4;
        let yy = y(v);
        svg.push_str(&format!(
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}"/><text x="{}" y="{:.1}" text-anchor="end">{v}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            yy + 4.0
        ));
    }
    svg.push_str(&format!(
        r#"<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{}"/><line class="axis" x1="{LEFT}" x2="{}" y1="{b}" y2="{b}"/>"#,
        HEIGHT - BOTTOM,
        WIDTH - RIGHT,
        b = HEIGHT - BOTTOM
    ));
    // Dates at the start, middle and end.
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let mid = &points[points.len() / 2];
        for (i, p, anchor) in [(0, first, "start"), (points.len() / 2, mid, "middle"), (points.len() - 1, last, "end")]
        {
            svg.push_str(&format!(
                r#"<text x="{:.1}" y="{}" text-anchor="{anchor}">{}</text>"#,
                x(i),
                HEIGHT - 8.0,
                p.at.format("%Y-%m-%d")
            ));
        }
    }
    for severity in SEVERITIES {
        let path: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.failing_by_severity.get(severity).copied().unwrap_or(0))))
            .collect();
        if !path.is_empty() {
            svg.push_str(&format!(r#"<polyline class="line line-{severity}" points="{}"/>"#, path.join(" ")));
        }
        // Dots where the points are few enough to tell apart (a single sweep is one dot).
        if points.len() <= 60 {
            for (i, p) in points.iter().enumerate() {
                let v = p.failing_by_severity.get(severity).copied().unwrap_or(0);
                svg.push_str(&format!(
                    r#"<circle class="dot dot-{severity}" cx="{:.1}" cy="{:.1}" r="3"/>"#,
                    x(i),
                    y(v)
                ));
            }
        }
    }
    html! {
        figure.trend {
            svg.chart viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-labelledby="trend-title" xmlns="http://www.w3.org/2000/svg" {
                title #trend-title { (caption) }
                (PreEscaped(svg))
            }
            figcaption {
                ul.legend {
                    @for severity in SEVERITIES {
                        li { span class={ "swatch swatch-" (severity) } aria-hidden="true" {} (severity) }
                    }
                }
            }
            details {
                summary { "The numbers behind the chart" }
                div.scroll {
                    table {
                        thead { tr { th { "Day" } @for s in SEVERITIES { th.num { (s) } } } }
                        tbody {
                            @for p in &recorded {
                                tr {
                                    td { (p.at.format("%Y-%m-%d")) }
                                    @for s in SEVERITIES { td.num { (p.failing_by_severity.get(s).copied().unwrap_or(0)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
