//! bench/results.svg: one bar per target, its measured value against its limit
//! (the dashed line), green when met, red when missed, grey when skipped; the
//! peer's HTTP health ratio is drawn in grey against the same line for comparison.
//! Hand-written SVG: no plotting dependency.

use std::fmt::Write;

use crate::report::Target;

const WIDTH: f64 = 1000.0;
const ROW: f64 = 26.0;
const TOP: f64 = 64.0;
const LABEL_WIDTH: f64 = 420.0;
const BAR_WIDTH: f64 = 380.0;
/// The limit line sits at this fraction of the bar area: bars up to 2× the limit fit.
const LIMIT_AT: f64 = 0.5;
const MET: &str = "#59a14f";
const MISSED: &str = "#e15759";
const NEUTRAL: &str = "#bab0ac";

/// One bar: its label, its value as a multiple of its limit, colour and text.
struct Bar {
    label: String,
    of_limit: f64,
    colour: &'static str,
    text: String,
}

/// `peer` is the peer's HTTP health req/s ÷ bare, drawn against the sample's
/// target (0.75 × bare) when it ran.
pub fn svg(targets: &[Target], peer: Option<(f64, f64)>) -> String {
    let mut bars: Vec<Bar> = targets
        .iter()
        .map(|target| {
            let (colour, verdict) = match target.met() {
                Some(true) => (MET, "met"),
                Some(false) => (MISSED, "missed"),
                None => (NEUTRAL, "skipped"),
            };
            let of_limit = target
                .measured
                .map_or(0.0, |measured| measured / target.limit);
            let text = match target.measured {
                Some(_) => format!("{} — {verdict}", target.shown),
                None => "skipped".to_owned(),
            };
            Bar {
                label: target.name.clone(),
                of_limit,
                colour,
                text,
            }
        })
        .collect();
    if let Some((ratio, limit)) = peer {
        bars.insert(
            1,
            Bar {
                label: format!("(peer) HTTP health req/s ≥ {limit:.2} × bare"),
                of_limit: ratio / limit,
                colour: NEUTRAL,
                text: format!("{ratio:.2} (for comparison)"),
            },
        );
    }

    let height = TOP + bars.len() as f64 * ROW + 40.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="24" font-size="16" text-anchor="middle">strata sample: each target of make bench (bar: measured, dashed line: the limit)</text>"#,
        WIDTH / 2.0
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="44" font-size="11" text-anchor="middle">≥ targets are met at or right of the line, ≤ targets at or left of it; ratios are sample ÷ bare unless named</text>"#,
        WIDTH / 2.0
    );
    let limit_x = LABEL_WIDTH + BAR_WIDTH * LIMIT_AT;
    for (index, bar) in bars.iter().enumerate() {
        let y = TOP + index as f64 * ROW;
        let length = (bar.of_limit * LIMIT_AT).clamp(0.0, 1.0) * BAR_WIDTH;
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LABEL_WIDTH - 8.0,
            y + 15.0,
            escape(&bar.label)
        );
        let _ = writeln!(
            out,
            r#"<rect x="{LABEL_WIDTH}" y="{:.1}" width="{length:.1}" height="{:.1}" fill="{}"/>"#,
            y + 4.0,
            ROW - 8.0,
            bar.colour
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            LABEL_WIDTH + length + 6.0,
            y + 15.0,
            escape(&bar.text)
        );
    }
    let bottom = TOP + bars.len() as f64 * ROW;
    let _ = writeln!(
        out,
        r##"<line x1="{limit_x}" y1="{TOP}" x2="{limit_x}" y2="{bottom}" stroke="#333" stroke-dasharray="4 3"/>"##
    );
    let _ = writeln!(
        out,
        r#"<text x="{limit_x}" y="{:.1}" text-anchor="middle" font-size="11">limit</text>"#,
        bottom + 14.0
    );
    out.push_str("</svg>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
