//! bench/results.svg: bars of req/s and of p99, sample beside bare, for each
//! transport and endpoint. Hand-written SVG: no plotting dependency.

use std::fmt::Write;

use crate::compare::Comparison;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 420.0;
const PANEL_TOP: f64 = 70.0;
const PANEL_HEIGHT: f64 = 260.0;
const SAMPLE_COLOUR: &str = "#4e79a7";
const BARE_COLOUR: &str = "#f28e2b";

/// One bar pair: a label and the sample's and bare's values.
struct Group {
    label: String,
    sample: f64,
    bare: f64,
}

pub fn svg(comparisons: &[Comparison]) -> String {
    let groups = |value: fn(&crate::load::Measurement) -> f64| -> Vec<Group> {
        comparisons
            .iter()
            .map(|comparison| Group {
                label: format!(
                    "{} {}",
                    comparison.transport.label(),
                    short(comparison.endpoint)
                ),
                sample: value(&comparison.sample_mean()),
                bare: value(&comparison.bare_mean()),
            })
            .collect()
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="24" font-size="16" text-anchor="middle">strata sample vs bare axum/tonic (make bench)</text>"#,
        WIDTH / 2.0
    );
    legend(&mut out);
    panel(
        &mut out,
        40.0,
        "requests per second (higher is better)",
        &groups(|m| m.requests_per_sec),
        0,
    );
    panel(
        &mut out,
        WIDTH / 2.0 + 20.0,
        "p99 latency, ms (lower is better)",
        &groups(|m| m.p99_ms),
        2,
    );
    out.push_str("</svg>\n");
    out
}

fn short(endpoint: crate::load::Endpoint) -> &'static str {
    match endpoint {
        crate::load::Endpoint::SayHello => "SayHello",
        crate::load::Endpoint::Health => "health",
    }
}

fn legend(out: &mut String) {
    for (index, (name, colour)) in [
        ("sample (full chain)", SAMPLE_COLOUR),
        ("bare", BARE_COLOUR),
    ]
    .into_iter()
    .enumerate()
    {
        let x = WIDTH / 2.0 - 120.0 + index as f64 * 150.0;
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="38" width="12" height="12" fill="{colour}"/>"#
        );
        let _ = writeln!(out, r#"<text x="{}" y="48">{name}</text>"#, x + 18.0);
    }
}

/// A bar chart of `groups` in a panel starting at `left`, values shown with
/// `decimals` digits.
fn panel(out: &mut String, left: f64, title: &str, groups: &[Group], decimals: usize) {
    let width = WIDTH / 2.0 - 60.0;
    let bottom = PANEL_TOP + PANEL_HEIGHT;
    let max = groups
        .iter()
        .flat_map(|group| [group.sample, group.bare])
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="13">{title}</text>"#,
        left + width / 2.0,
        PANEL_TOP - 6.0
    );
    let _ = writeln!(
        out,
        r##"<line x1="{left}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="#333"/>"##,
        left + width
    );
    let slot = width / groups.len().max(1) as f64;
    let bar = slot * 0.35;
    for (index, group) in groups.iter().enumerate() {
        let x = left + index as f64 * slot + slot * 0.15;
        for (offset, value, colour) in [
            (0.0, group.sample, SAMPLE_COLOUR),
            (bar, group.bare, BARE_COLOUR),
        ] {
            let height = value / max * (PANEL_HEIGHT - 20.0);
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{height:.1}" fill="{colour}"/>"#,
                x + offset,
                bottom - height
            );
            let label = format!("{value:.decimals$}");
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{label}</text>"#,
                x + offset + bar / 2.0,
                bottom - height - 4.0
            );
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x + bar,
            bottom + 16.0,
            group.label
        );
    }
}
