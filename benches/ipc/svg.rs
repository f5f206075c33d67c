//! The sweeps as SVG line charts, written by hand: a log2 axis across
//! (message size, or messages per batch), a log10 axis up (GB/s, or
//! millions of messages per second), one line per implementation with a
//! whisker for each point's min–max spread. The batch chart also draws the
//! figures it starts from (`w1`, one message a send) as dashed levels.

use std::fmt::Write;

use crate::report::{size_label, BatchPoint, Stats, SweepPoint};
use crate::workload::Impl;

const HEIGHT: f64 = 540.0;
/// The plot area; the legend sits to its right.
const LEFT: f64 = 80.0;
const RIGHT: f64 = 720.0;
const TOP: f64 = 70.0;
const BOTTOM: f64 = 470.0;
/// Between two rows of the legend.
const ROW: f64 = 22.0;

fn color(imp: Impl) -> &'static str {
    match imp {
        Impl::Ipcwire => "#d62728",
        Impl::Raw => "#1f77b4",
        Impl::Std => "#2ca02c",
        Impl::Python => "#9467bd",
        // Never in the sweeps, which move bytes, not pickles.
        Impl::IpcwireBytes => "#ff7f0e",
    }
}

/// The size sweep: GB/s against message size, one line per implementation.
pub fn sweep_chart(points: &[SweepPoint], sizes: &[usize], subtitle: &str) -> String {
    let series = Impl::FRAMES
        .into_iter()
        .map(|imp| Series {
            name: imp.name().to_string(),
            color: color(imp),
            points: points
                .iter()
                .filter(|p| p.imp == imp)
                .map(|p| (p.size as f64, scaled(p.bytes_per_sec, 1e9)))
                .collect(),
            notes: Vec::new(),
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    Chart {
        width: 880.0,
        title: "One-way pipe throughput by message size (64 KiB pipe, two CPUs)".to_string(),
        subtitle,
        x_title: "message size (log scale)",
        y_title: "throughput, GB/s (10⁹ bytes/s, log scale)",
        ticks: sizes.iter().map(|&s| (s as f64, size_label(s))).collect(),
        series,
        levels: Vec::new(),
        key: vec!["dot: median", "bar: min–max"],
    }
    .render()
}

/// The batch sweep: messages per second against messages per batch for
/// ipcwire, each point labelled with its speed-up over ipcwire's `w1`,
/// and every implementation's `w1` as a level to compare with.
pub fn batch_chart(points: &[BatchPoint], message_size: usize, subtitle: &str) -> String {
    let reference = points
        .iter()
        .find(|p| p.batch.is_none() && p.imp == Impl::Ipcwire)
        .map(|p| p.msgs_per_sec.median);
    let batched: Vec<&BatchPoint> = points.iter().filter(|p| p.batch.is_some()).collect();
    let series = Series {
        name: "ipcwire, batched".to_string(),
        color: color(Impl::Ipcwire),
        points: batched
            .iter()
            .map(|p| (p.batch.unwrap_or(1) as f64, scaled(p.msgs_per_sec, 1e6)))
            .collect(),
        notes: batched
            .iter()
            .map(|p| {
                reference.map_or(String::new(), |r| {
                    format!("{:.1}×", p.msgs_per_sec.median / r)
                })
            })
            .collect(),
    };
    let levels = points
        .iter()
        .filter(|p| p.batch.is_none())
        .map(|p| Level {
            name: format!("{} {}", p.imp.name(), p.workload),
            color: color(p.imp),
            stats: scaled(p.msgs_per_sec, 1e6),
        })
        .collect();
    let ticks = batched
        .iter()
        .filter_map(|p| p.batch)
        .map(|b| (b as f64, b.to_string()))
        .collect();
    Chart {
        width: 960.0,
        title: format!(
            "One-way pipe message rate by batch size ({} messages, two CPUs)",
            size_label(message_size)
        ),
        subtitle,
        x_title: "messages per send_bytes_batch, received borrowed (log scale)",
        y_title: "messages per second, millions (log scale)",
        ticks,
        series: vec![series],
        levels,
        key: vec![
            "dot: median; bar: min–max",
            "label: speed-up over ipcwire w1",
            "dashed: w1, one message a send",
            "and receive; band: min–max",
        ],
    }
    .render()
}

/// `stats` in units of `unit`.
fn scaled(stats: Stats, unit: f64) -> Stats {
    Stats {
        median: stats.median / unit,
        min: stats.min / unit,
        max: stats.max / unit,
    }
}

/// A line across the plot: medians joined, a dot at each, a whisker for
/// each min–max.
struct Series {
    name: String,
    color: &'static str,
    /// (x, figures in the chart's unit), in order along x.
    points: Vec<(f64, Stats)>,
    /// A label above each point; none if empty.
    notes: Vec<String>,
}

/// A figure that does not vary along x: a dashed line at its median over
/// a faint band from its min to its max.
struct Level {
    name: String,
    color: &'static str,
    stats: Stats,
}

/// What one chart shows, in its own units.
struct Chart<'a> {
    width: f64,
    title: String,
    subtitle: &'a str,
    x_title: &'a str,
    y_title: &'a str,
    /// Where the x ticks go (the first and last bound the axis) and their
    /// labels.
    ticks: Vec<(f64, String)>,
    series: Vec<Series>,
    levels: Vec<Level>,
    /// Lines that say how to read the chart, under the legend.
    key: Vec<&'a str>,
}

/// Maps x (log2) and y (log10) to the plot area.
struct Axes {
    x_lo: f64,
    x_hi: f64,
    y_lo: f64,
    y_hi: f64,
}

impl Axes {
    /// The ticks across; whole decades up that hold every min and max.
    fn fit(chart: &Chart<'_>) -> Axes {
        let stats = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|(_, stats)| stats))
            .chain(chart.levels.iter().map(|l| &l.stats));
        let (lo, hi) = stats.fold((f64::INFINITY, 0.0_f64), |(lo, hi), s| {
            (lo.min(s.min), hi.max(s.max))
        });
        let first = chart.ticks.first().map_or(1.0, |t| t.0);
        let last = chart.ticks.last().map_or(2.0, |t| t.0).max(first * 2.0);
        Axes {
            x_lo: first.log2(),
            x_hi: last.log2(),
            y_lo: lo.log10().floor(),
            y_hi: hi.log10().ceil().max(lo.log10().floor() + 1.0),
        }
    }

    fn x(&self, x: f64) -> f64 {
        LEFT + (RIGHT - LEFT) * (x.log2() - self.x_lo) / (self.x_hi - self.x_lo)
    }

    fn y(&self, y: f64) -> f64 {
        BOTTOM - (BOTTOM - TOP) * (y.log10() - self.y_lo) / (self.y_hi - self.y_lo)
    }
}

impl Chart<'_> {
    fn render(&self) -> String {
        let axes = Axes::fit(self);
        let (width, mid) = (self.width, self.width / 2.0);
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" viewBox="0 0 {width} {HEIGHT}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
        text(&mut svg, mid, 28.0, "middle", 16.0, &self.title);
        text(&mut svg, mid, 48.0, "middle", 11.0, self.subtitle);
        self.x_axis(&mut svg, &axes);
        y_axis(&mut svg, &axes, self.y_title);
        // Levels first, so the lines measured along x are drawn over them.
        for level in &self.levels {
            draw_level(&mut svg, &axes, level);
        }
        let count = self.series.len();
        for (i, series) in self.series.iter().enumerate() {
            // Whiskers of different lines would hide one another: shift
            // each line's a little sideways.
            let dodge = 3.0 * (i as f64 - (count as f64 - 1.0) / 2.0);
            draw_series(&mut svg, &axes, series, dodge);
        }
        let mut row = 0;
        for series in &self.series {
            legend(&mut svg, row, series.color, &series.name, false);
            row += 1;
        }
        for level in &self.levels {
            legend(&mut svg, row, level.color, &level.name, true);
            row += 1;
        }
        let key_y = TOP + 10.0 + ROW * row as f64 + 8.0;
        for (i, line) in self.key.iter().enumerate() {
            text(
                &mut svg,
                RIGHT + 20.0,
                key_y + 16.0 * i as f64,
                "start",
                11.0,
                line,
            );
        }
        svg.push_str("</svg>\n");
        svg
    }

    /// Ticks, labels and gridlines at every tick, and the axis title.
    fn x_axis(&self, svg: &mut String, axes: &Axes) {
        line(svg, (LEFT, BOTTOM), (RIGHT, BOTTOM), "black");
        for (at, label) in &self.ticks {
            let x = axes.x(*at);
            line(svg, (x, TOP), (x, BOTTOM), "#e5e5e5");
            line(svg, (x, BOTTOM), (x, BOTTOM + 5.0), "black");
            text(svg, x, BOTTOM + 18.0, "middle", 11.0, label);
        }
        let mid = (LEFT + RIGHT) / 2.0;
        text(svg, mid, BOTTOM + 42.0, "middle", 13.0, self.x_title);
    }
}

/// Gridlines at 1, 2 and 5 of every decade, and the axis title.
fn y_axis(svg: &mut String, axes: &Axes, title: &str) {
    line(svg, (LEFT, TOP), (LEFT, BOTTOM), "black");
    for decade in axes.y_lo as i32..axes.y_hi as i32 + 1 {
        for step in [1.0, 2.0, 5.0] {
            let value = step * 10f64.powi(decade);
            if value.log10() > axes.y_hi + 1e-9 {
                break;
            }
            let y = axes.y(value);
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
                &format!("{value:.decimals$}"),
            );
        }
    }
    let (x, y) = (22.0, (TOP + BOTTOM) / 2.0);
    let _ = writeln!(
        svg,
        r#"<text x="{x}" y="{y}" text-anchor="middle" font-size="13" transform="rotate(-90 {x} {y})">{}</text>"#,
        escape(title)
    );
}

/// The medians joined by a line, a dot at each, a whisker for min–max
/// (`dodge` pixels aside), the notes above.
fn draw_series(svg: &mut String, axes: &Axes, series: &Series, dodge: f64) {
    let c = series.color;
    let coords: Vec<String> = series
        .points
        .iter()
        .map(|(x, s)| format!("{:.1},{:.1}", axes.x(*x), axes.y(s.median)))
        .collect();
    let _ = writeln!(
        svg,
        r#"<polyline fill="none" stroke="{c}" stroke-width="2" points="{}"/>"#,
        coords.join(" ")
    );
    for (i, (x, s)) in series.points.iter().enumerate() {
        let x = axes.x(*x);
        line(
            svg,
            (x + dodge, axes.y(s.min)),
            (x + dodge, axes.y(s.max)),
            c,
        );
        let y = axes.y(s.median);
        let _ = writeln!(svg, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{c}"/>"#);
        if let Some(note) = series.notes.get(i).filter(|n| !n.is_empty()) {
            // Above the whisker, so the two never overlap.
            let top = axes.y(s.max).min(y) - 6.0;
            text(svg, x, top, "middle", 11.0, note);
        }
    }
}

/// A band from min to max across the plot, a dashed line at the median,
/// the name at its right end.
fn draw_level(svg: &mut String, axes: &Axes, level: &Level) {
    let (c, s) = (level.color, &level.stats);
    let (top, bottom, y) = (axes.y(s.max), axes.y(s.min), axes.y(s.median));
    let _ = writeln!(
        svg,
        r#"<rect x="{LEFT}" y="{top:.1}" width="{}" height="{:.1}" fill="{c}" fill-opacity="0.08"/>"#,
        RIGHT - LEFT,
        bottom - top
    );
    let _ = writeln!(
        svg,
        r#"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="{c}" stroke-width="1.5" stroke-dasharray="6 4"/>"#
    );
    text(svg, RIGHT - 4.0, y - 5.0, "end", 11.0, &level.name);
}

fn legend(svg: &mut String, row: usize, c: &str, name: &str, dashed: bool) {
    let y = TOP + 10.0 + ROW * row as f64;
    let (x1, x2) = (RIGHT + 20.0, RIGHT + 50.0);
    let dash = if dashed {
        r#" stroke-dasharray="6 4""#
    } else {
        ""
    };
    let _ = writeln!(
        svg,
        r#"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{c}" stroke-width="3"{dash}/>"#
    );
    text(svg, RIGHT + 58.0, y + 4.0, "start", 13.0, name);
}

fn line(svg: &mut String, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str) {
    let _ = writeln!(
        svg,
        r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}"/>"#
    );
}

fn text(svg: &mut String, x: f64, y: f64, anchor: &str, size: f64, content: &str) {
    let _ = writeln!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}">{}</text>"#,
        escape(content)
    );
}

fn escape(content: &str) -> String {
    content
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
