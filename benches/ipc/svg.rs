//! The sweep as an SVG line chart, written by hand: message size on a log2
//! axis, throughput (GB/s) on a log10 axis, one line per implementation
//! with a whisker for each point's min–max spread.

use std::fmt::Write;

use crate::report::{size_label, SweepPoint};
use crate::workload::Impl;

const WIDTH: f64 = 880.0;
const HEIGHT: f64 = 540.0;
/// The plot area; the legend sits to its right.
const LEFT: f64 = 80.0;
const RIGHT: f64 = 720.0;
const TOP: f64 = 70.0;
const BOTTOM: f64 = 470.0;

fn color(imp: Impl) -> &'static str {
    match imp {
        Impl::Ipcwire => "#d62728",
        Impl::Raw => "#1f77b4",
        Impl::Std => "#2ca02c",
        Impl::Python => "#9467bd",
        // Never in the sweep, which moves bytes, not pickles.
        Impl::IpcwireBytes => "#ff7f0e",
    }
}

/// Maps sizes (log2) and GB/s (log10) to the plot area.
struct Axes {
    x_lo: f64,
    x_hi: f64,
    y_lo: f64,
    y_hi: f64,
}

impl Axes {
    /// Whole decades of GB/s that hold every point's min and max.
    fn fit(points: &[SweepPoint], sizes: &[usize]) -> Axes {
        let gbps = points
            .iter()
            .flat_map(|p| [p.bytes_per_sec.min, p.bytes_per_sec.max]);
        let (lo, hi) = gbps.fold((f64::INFINITY, 0.0_f64), |(lo, hi), b| {
            (lo.min(b / 1e9), hi.max(b / 1e9))
        });
        let (first, last) = (sizes[0] as f64, sizes[sizes.len() - 1] as f64);
        Axes {
            x_lo: first.log2(),
            x_hi: last.log2(),
            y_lo: lo.log10().floor(),
            y_hi: hi.log10().ceil().max(lo.log10().floor() + 1.0),
        }
    }

    fn x(&self, size: usize) -> f64 {
        LEFT + (RIGHT - LEFT) * ((size as f64).log2() - self.x_lo) / (self.x_hi - self.x_lo)
    }

    fn y(&self, bytes_per_sec: f64) -> f64 {
        let v = (bytes_per_sec / 1e9).log10();
        BOTTOM - (BOTTOM - TOP) * (v - self.y_lo) / (self.y_hi - self.y_lo)
    }
}

/// The whole chart; `subtitle` carries the date and machine.
pub fn chart(points: &[SweepPoint], sizes: &[usize], subtitle: &str) -> String {
    let axes = Axes::fit(points, sizes);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let title = "One-way pipe throughput by message size (64 KiB pipe, two CPUs)";
    text(&mut svg, WIDTH / 2.0, 28.0, "middle", 16.0, title);
    text(&mut svg, WIDTH / 2.0, 48.0, "middle", 11.0, subtitle);
    x_axis(&mut svg, &axes, sizes);
    y_axis(&mut svg, &axes);
    for (i, imp) in Impl::FRAMES.into_iter().enumerate() {
        let line: Vec<&SweepPoint> = points.iter().filter(|p| p.imp == imp).collect();
        if !line.is_empty() {
            series(&mut svg, &axes, imp, &line);
            legend(&mut svg, i, imp);
        }
    }
    let note_y = TOP + 10.0 + 22.0 * Impl::FRAMES.len() as f64 + 8.0;
    text(&mut svg, RIGHT + 20.0, note_y, "start", 11.0, "dot: median");
    text(
        &mut svg,
        RIGHT + 20.0,
        note_y + 16.0,
        "start",
        11.0,
        "bar: min–max",
    );
    svg.push_str("</svg>\n");
    svg
}

/// Ticks and labels at every sweep size, and the axis title.
fn x_axis(svg: &mut String, axes: &Axes, sizes: &[usize]) {
    line(svg, (LEFT, BOTTOM), (RIGHT, BOTTOM), "black");
    for &size in sizes {
        let x = axes.x(size);
        line(svg, (x, TOP), (x, BOTTOM), "#e5e5e5");
        line(svg, (x, BOTTOM), (x, BOTTOM + 5.0), "black");
        text(svg, x, BOTTOM + 18.0, "middle", 11.0, &size_label(size));
    }
    let mid = (LEFT + RIGHT) / 2.0;
    text(
        svg,
        mid,
        BOTTOM + 42.0,
        "middle",
        13.0,
        "message size (log scale)",
    );
}

/// Gridlines at 1, 2 and 5 of every decade, and the axis title.
fn y_axis(svg: &mut String, axes: &Axes) {
    line(svg, (LEFT, TOP), (LEFT, BOTTOM), "black");
    for decade in axes.y_lo as i32..axes.y_hi as i32 + 1 {
        for step in [1.0, 2.0, 5.0] {
            let gbps = step * 10f64.powi(decade);
            if gbps.log10() > axes.y_hi + 1e-9 {
                break;
            }
            let y = axes.y(gbps * 1e9);
            line(
                svg,
                (LEFT, y),
                (RIGHT, y),
                if step == 1.0 { "#cccccc" } else { "#eeeeee" },
            );
            let decimals = usize::try_from(-decade).unwrap_or(0);
            text(
                svg,
                LEFT - 8.0,
                y + 4.0,
                "end",
                11.0,
                &format!("{gbps:.decimals$}"),
            );
        }
    }
    let (x, y) = (22.0, (TOP + BOTTOM) / 2.0);
    let _ = writeln!(
        svg,
        r#"<text x="{x}" y="{y}" text-anchor="middle" font-size="13" transform="rotate(-90 {x} {y})">throughput, GB/s (10⁹ bytes/s, log scale)</text>"#
    );
}

/// The medians joined by a line, a dot at each, a whisker for min–max.
fn series(svg: &mut String, axes: &Axes, imp: Impl, points: &[&SweepPoint]) {
    let c = color(imp);
    let coords: Vec<String> = points
        .iter()
        .map(|p| {
            format!(
                "{:.1},{:.1}",
                axes.x(p.size),
                axes.y(p.bytes_per_sec.median)
            )
        })
        .collect();
    let _ = writeln!(
        svg,
        r#"<polyline fill="none" stroke="{c}" stroke-width="2" points="{}"/>"#,
        coords.join(" ")
    );
    // Whiskers of different lines would hide one another: shift each
    // implementation's a little sideways.
    let dodge = 3.0 * (imp as usize as f64 - 1.5);
    for p in points {
        let x = axes.x(p.size);
        let s = &p.bytes_per_sec;
        line(
            svg,
            (x + dodge, axes.y(s.min)),
            (x + dodge, axes.y(s.max)),
            c,
        );
        let y = axes.y(s.median);
        let _ = writeln!(svg, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{c}"/>"#);
    }
}

fn legend(svg: &mut String, row: usize, imp: Impl) {
    let y = TOP + 10.0 + 22.0 * row as f64;
    let (x1, x2, c) = (RIGHT + 20.0, RIGHT + 50.0, color(imp));
    let _ = writeln!(
        svg,
        r#"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{c}" stroke-width="3"/>"#
    );
    text(svg, RIGHT + 58.0, y + 4.0, "start", 13.0, imp.name());
}

fn line(svg: &mut String, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str) {
    let _ = writeln!(
        svg,
        r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}"/>"#
    );
}

fn text(svg: &mut String, x: f64, y: f64, anchor: &str, size: f64, content: &str) {
    let content = content
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let _ = writeln!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}">{content}</text>"#
    );
}
