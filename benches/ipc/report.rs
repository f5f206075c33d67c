//! Collected timings and what is printed from them: the W1–W5 tables with
//! ratios and goals, the sweep tables and their CSVs.

use std::fmt::Write;
use std::time::Duration;

use crate::pickled;
use crate::workload::{Cpus, Duplex, Impl, Pattern, Payload, Spec};

/// Every repetition's time for one workload and implementation.
pub struct Run {
    pub spec: Spec,
    pub imp: Impl,
    pub times: Vec<Duration>,
}

/// All runs of one `cargo bench` invocation.
#[derive(Default)]
pub struct Results {
    runs: Vec<Run>,
}

impl Results {
    pub fn record(&mut self, spec: &Spec, imp: Impl, time: Duration) {
        match self
            .runs
            .iter_mut()
            .find(|r| r.spec.name == spec.name && r.imp == imp)
        {
            Some(run) => run.times.push(time),
            None => self.runs.push(Run {
                spec: spec.clone(),
                imp,
                times: vec![time],
            }),
        }
    }

    pub fn get(&self, workload: &str, imp: Impl) -> Option<&Run> {
        self.runs
            .iter()
            .find(|r| r.spec.name == workload && r.imp == imp)
    }

    /// How many times faster `a` ran than `b`: the ratio of median times.
    /// For the same bytes moved this is also the ratio of throughputs.
    pub fn speedup(&self, a: (&str, Impl), b: (&str, Impl)) -> Option<f64> {
        let (a, b) = (self.get(a.0, a.1)?, self.get(b.0, b.1)?);
        Some(median(&seconds(&b.times)) / median(&seconds(&a.times)))
    }
}

/// Median, smallest and largest of one run's figures.
#[derive(Copy, Clone)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(values: &[f64]) -> Stats {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Stats {
            median: median(values),
            min,
            max,
        }
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn seconds(times: &[Duration]) -> Vec<f64> {
    times.iter().map(Duration::as_secs_f64).collect()
}

/// The figure each workload is best read in.
#[derive(Copy, Clone)]
enum Metric {
    /// Millions of messages per second: small messages cost per message.
    MegaMessagesPerSec,
    /// 10^9 payload bytes per second: large messages cost per byte.
    GigabytesPerSec,
    /// Microseconds per round trip: ping-pong is about latency.
    MicrosPerRoundTrip,
}

impl Metric {
    fn of(spec: &Spec) -> Metric {
        if spec.payload != Payload::Frames {
            // Small objects, which cost per message.
            return Metric::MegaMessagesPerSec;
        }
        match (spec.pattern, spec.size) {
            (Pattern::PingPong(_), _) => Metric::MicrosPerRoundTrip,
            (Pattern::OneWay, ..=256) => Metric::MegaMessagesPerSec,
            (Pattern::OneWay, _) => Metric::GigabytesPerSec,
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Metric::MegaMessagesPerSec => "M msg/s",
            Metric::GigabytesPerSec => "GB/s",
            Metric::MicrosPerRoundTrip => "µs/round trip",
        }
    }

    fn value(self, spec: &Spec, seconds: f64) -> f64 {
        match self {
            Metric::MegaMessagesPerSec => spec.count as f64 / seconds / 1e6,
            Metric::GigabytesPerSec => spec.bytes() as f64 / seconds / 1e9,
            Metric::MicrosPerRoundTrip => seconds / spec.count as f64 * 1e6,
        }
    }
}

/// `median (min–max)` of a run in its workload's metric.
fn cell(run: Option<&Run>) -> String {
    let Some(run) = run else {
        return "–".to_string();
    };
    let metric = Metric::of(&run.spec);
    let values: Vec<f64> = run
        .times
        .iter()
        .map(|t| metric.value(&run.spec, t.as_secs_f64()))
        .collect();
    let s = Stats::of(&values);
    format!("{} ({}–{})", fig(s.median), fig(s.min), fig(s.max))
}

/// Three significant figures, the precision a noisy machine supports.
fn fig(x: f64) -> String {
    match x.abs() {
        a if a >= 100.0 => format!("{x:.0}"),
        a if a >= 10.0 => format!("{x:.1}"),
        a if a >= 1.0 => format!("{x:.2}"),
        _ => format!("{x:.3}"),
    }
}

fn ratio(r: Option<f64>) -> String {
    r.map_or("–".to_string(), |r| format!("{r:.2}×"))
}

/// A table of `workloads`: each of `impls`' figures, then ipcwire's
/// speed-up over each of the others.
pub fn workload_table(results: &Results, workloads: &[&str], impls: &[Impl]) -> String {
    let others: Vec<Impl> = impls
        .iter()
        .copied()
        .filter(|&imp| imp != Impl::Ipcwire)
        .collect();
    let mut out = String::from("| workload | unit |");
    for imp in impls {
        let _ = write!(out, " {} |", imp.name());
    }
    for other in &others {
        let _ = write!(out, " ipcwire/{} |", other.name());
    }
    let _ = writeln!(out, "\n{}|", "|---".repeat(2 + impls.len() + others.len()));
    for &name in workloads {
        // Some workloads are one implementation's (`w4p-nosignal` raw's).
        let Some(first) = impls.iter().find_map(|&imp| results.get(name, imp)) else {
            continue;
        };
        let _ = write!(
            out,
            "| {} | {} |",
            describe(&first.spec),
            Metric::of(&first.spec).unit()
        );
        for &imp in impls {
            let _ = write!(out, " {} |", cell(results.get(name, imp)));
        }
        for &other in &others {
            let r = results.speedup((name, Impl::Ipcwire), (name, other));
            let _ = write!(out, " {} |", ratio(r));
        }
        out.push('\n');
    }
    out
}

/// `w1: 1000000 × 64 B, pipe, two CPUs`; `w5: 1000000 ints, pipe, two CPUs`.
fn describe(spec: &Spec) -> String {
    let channel = match (spec.pattern, spec.pipe_size) {
        (Pattern::PingPong(Duplex::SocketPair), _) => "socketpair ping-pong".to_string(),
        (Pattern::PingPong(Duplex::TwoPipes), _) => "two-pipe ping-pong".to_string(),
        (Pattern::OneWay, None) => "pipe".to_string(),
        (Pattern::OneWay, Some(size)) => format!("{} pipe", size_label(size)),
    };
    let messages = match (spec.payload, spec.batch) {
        (Payload::Frames, Some(batch)) => format!(
            "{} × {} in batches of {batch}",
            spec.count,
            size_label(spec.size)
        ),
        (Payload::Frames, None) => format!("{} × {}", spec.count, size_label(spec.size)),
        (Payload::Ints, _) => format!("{} ints", spec.count),
        (Payload::Dicts, _) => format!("{} dicts of {} str→int", spec.count, pickled::FIELDS),
    };
    let cpus = match spec.cpus {
        Cpus::Free => "",
        Cpus::Same(_) => ", one CPU",
        Cpus::Split(..) => ", two CPUs",
    };
    let confined = if spec.seccomp { ", both confined" } else { "" };
    let writes = if spec.nosignal_writes {
        ", RWF_NOSIGNAL writes"
    } else {
        ""
    };
    format!(
        "{}: {messages}, {channel}{cpus}{confined}{writes}",
        spec.name
    )
}

/// A line for each confined workload measured, against the same
/// unconfined: `` `w1-seccomp`: 0.98× the speed of `w1`, +12.3 ns a
/// message `` (median times).
pub fn seccomp_ratios(results: &Results) -> String {
    let mut out = String::new();
    for run in &results.runs {
        let Some(name) = run.spec.unconfined_name() else {
            continue;
        };
        let Some(plain) = results.get(name, run.imp) else {
            continue;
        };
        let (confined, plain) = (median(&seconds(&run.times)), median(&seconds(&plain.times)));
        let per_message = (confined - plain) / run.spec.count as f64 * 1e9;
        let unit = match run.spec.pattern {
            Pattern::OneWay => "message",
            Pattern::PingPong(_) => "round trip",
        };
        let _ = writeln!(
            out,
            "- `{}`: {} the speed of `{name}`, {per_message:+.1} ns a {unit}",
            run.spec.name,
            ratio(Some(plain / confined)),
        );
    }
    out
}

/// A line for each workload raw wrote with `pwritev2(RWF_NOSIGNAL)`,
/// against raw's with `write` and ipcwire's: what a write that cannot
/// raise `SIGPIPE` costs the floor (median times).
pub fn nosignal_ratios(results: &Results) -> String {
    let mut out = String::new();
    for run in &results.runs {
        let Some(plain) = run.spec.plain_writes_name() else {
            continue;
        };
        let name = run.spec.name.as_str();
        let micros = median(&seconds(&run.times)) / run.spec.count as f64 * 1e6;
        let _ = writeln!(
            out,
            "\nRaw's `{plain}` with `pwritev2(RWF_NOSIGNAL)` writes, as ipcwire's \
             (`{name}`): {} µs a round trip, {} the speed of raw's `{plain}` with \
             `write`; ipcwire's `{plain}` runs at {} its speed.",
            fig(micros),
            ratio(results.speedup((name, Impl::Raw), (plain, Impl::Raw))),
            ratio(results.speedup((plain, Impl::Ipcwire), (name, Impl::Raw))),
        );
    }
    out
}

/// Messages per second of each repetition of `run`.
fn message_rates(run: &Run) -> Stats {
    let rates: Vec<f64> = seconds(&run.times)
        .iter()
        .map(|t| run.spec.count as f64 / t)
        .collect();
    Stats::of(&rates)
}

/// A line for each batched workload measured, against every
/// implementation of the workload it batches: `` `w1b`: 9.60 M msg/s,
/// 8.00× ipcwire's `w1`, 4.31× raw's, 29.4× python's `` (median times).
pub fn batch_ratios(results: &Results) -> String {
    let mut out = String::new();
    for run in &results.runs {
        if run.spec.batch.is_none() || run.imp != Impl::Ipcwire {
            continue;
        }
        let (name, base) = (run.spec.name.as_str(), run.spec.rotation());
        let rate = message_rates(run).median / 1e6;
        let _ = write!(out, "- `{name}`: {} M msg/s", fig(rate));
        for imp in Impl::FRAMES {
            if let Some(r) = results.speedup((name, Impl::Ipcwire), (base, imp)) {
                let _ = write!(out, ", {} {}'s `{base}`", ratio(Some(r)), imp.name());
            }
        }
        out.push('\n');
    }
    out
}

/// `64 B`, `4 KiB`, `1 MiB`.
pub fn size_label(size: usize) -> String {
    match size {
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 && s % (1 << 10) == 0 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

/// A target: ipcwire on one workload against `other` on the same (or a
/// comparable) workload, compared by median times.
struct Goal {
    ipcwire: &'static str,
    other: (&'static str, Impl),
    bound: Bound,
}

/// What a goal asks of ipcwire's median time against the other's.
#[derive(Copy, Clone)]
enum Bound {
    /// At least this many times as fast: the other's time over ipcwire's
    /// is at least this.
    Speed(f64),
    /// At most this fraction of the other's time: ipcwire's time over the
    /// other's is at most this. For goals stated in time, as a round trip
    /// is: the ratio reads directly against the µs column.
    Time(f64),
}

/// ipcwire on `ipcwire` at least `min` times as fast as `imp` on `other`.
const fn goal(ipcwire: &'static str, other: &'static str, imp: Impl, min: f64) -> Goal {
    Goal {
        ipcwire,
        other: (other, imp),
        bound: Bound::Speed(min),
    }
}

/// ipcwire on `ipcwire` in at most `max` times the time of `imp` on `other`.
const fn time_goal(ipcwire: &'static str, other: &'static str, imp: Impl, max: f64) -> Goal {
    Goal {
        ipcwire,
        other: (other, imp),
        bound: Bound::Time(max),
    }
}

const GOALS: [Goal; 15] = [
    goal("w1", "w1", Impl::Raw, 0.95),
    goal("w1", "w1", Impl::Python, 4.0),
    // What batched sends and borrowed receives buy for small messages.
    goal("w1b", "w1", Impl::Ipcwire, 8.0),
    goal("w1b", "w1", Impl::Python, 25.0),
    goal("w2", "w2", Impl::Raw, 0.95),
    goal("w2", "w2", Impl::Std, 1.7),
    goal("w3", "w3", Impl::Raw, 0.95),
    goal("w3-bigpipe", "w3-bigpipe", Impl::Raw, 0.95),
    // What enlarging the pipe buys over the plain default.
    goal("w3-bigpipe", "w3", Impl::Raw, 2.5),
    goal("w4", "w4", Impl::Raw, 0.95),
    goal("w4p", "w4p", Impl::Raw, 0.95),
    // What two pipes save a round trip against the socket pair.
    time_goal("w4p", "w4", Impl::Ipcwire, 0.7),
    // What pickling costs next to moving the same pickles as bytes.
    goal("w5", "w5", Impl::IpcwireBytes, 0.8),
    goal("w5", "w5", Impl::Python, 5.0),
    goal("w5-dict", "w5-dict", Impl::Python, 3.0),
];

impl Goal {
    /// `w1: ipcwire ≥ 0.95× raw`, `ipcwire w3-bigpipe ≥ 2.5× raw w3`, or
    /// `ipcwire w4p: time ≤ 0.7× ipcwire w4's`.
    fn text(&self) -> String {
        let (workload, imp) = (self.other.0, self.other.1.name());
        match self.bound {
            Bound::Speed(min) if workload == self.ipcwire => {
                format!("{workload}: ipcwire ≥ {min}× {imp}")
            }
            Bound::Speed(min) => format!("ipcwire {} ≥ {min}× {imp} {workload}", self.ipcwire),
            Bound::Time(max) => {
                format!("ipcwire {}: time ≤ {max}× {imp} {workload}'s", self.ipcwire)
            }
        }
    }

    /// The ratio the bound is on, and whether it holds; `None` when a side
    /// was not measured.
    fn measure(&self, results: &Results) -> Option<(f64, bool)> {
        let speedup = results.speedup((self.ipcwire, Impl::Ipcwire), self.other)?;
        Some(match self.bound {
            Bound::Speed(min) => (speedup, speedup >= min),
            Bound::Time(max) => (1.0 / speedup, 1.0 / speedup <= max),
        })
    }
}

/// Each goal with the measured ratio and `met` / `MISSED` (`n/a` when a
/// side was not measured).
pub fn goals_table(results: &Results) -> String {
    let mut out = String::from("| goal | measured | verdict |\n|---|---|---|\n");
    for goal in &GOALS {
        let measured = goal.measure(results);
        let verdict = match measured {
            Some((_, true)) => "met",
            Some((_, false)) => "MISSED",
            None => "n/a",
        };
        // Three decimals, so a ratio just under a bound never reads as equal to it.
        let measured = measured.map_or("–".to_string(), |(r, _)| format!("{r:.3}×"));
        let _ = writeln!(out, "| {} | {measured} | {verdict} |", goal.text());
    }
    out
}

/// One sweep point of one implementation, in bytes per second.
pub struct SweepPoint {
    pub size: usize,
    pub imp: Impl,
    pub bytes_per_sec: Stats,
}

/// The sweep's runs as throughput per size and implementation.
pub fn sweep_points(
    results: &Results,
    sizes: &[usize],
    name: impl Fn(usize) -> String,
) -> Vec<SweepPoint> {
    let mut points = Vec::new();
    for &size in sizes {
        for imp in Impl::FRAMES {
            let Some(run) = results.get(&name(size), imp) else {
                continue;
            };
            let rates: Vec<f64> = seconds(&run.times)
                .iter()
                .map(|t| run.spec.bytes() as f64 / t)
                .collect();
            points.push(SweepPoint {
                size,
                imp,
                bytes_per_sec: Stats::of(&rates),
            });
        }
    }
    points
}

pub fn sweep_csv(points: &[SweepPoint]) -> String {
    let mut out = String::from("size,impl,median_bytes_per_sec,min,max\n");
    for p in points {
        let s = &p.bytes_per_sec;
        let _ = writeln!(
            out,
            "{},{},{:.0},{:.0},{:.0}",
            p.size,
            p.imp.name(),
            s.median,
            s.min,
            s.max
        );
    }
    out
}

/// Median GB/s per size (rows) and implementation (columns).
pub fn sweep_table(points: &[SweepPoint], sizes: &[usize]) -> String {
    let mut out = String::from(
        "| size | ipcwire | raw | std | python | ipcwire/raw |\n|---|---|---|---|---|---|\n",
    );
    for &size in sizes {
        let gbps = |imp| {
            points
                .iter()
                .find(|p| p.size == size && p.imp == imp)
                .map(|p| p.bytes_per_sec.median / 1e9)
        };
        let _ = write!(out, "| {} |", size_label(size));
        for imp in Impl::FRAMES {
            let _ = write!(out, " {} |", gbps(imp).map_or("–".to_string(), fig));
        }
        let r = gbps(Impl::Ipcwire).zip(gbps(Impl::Raw)).map(|(a, b)| a / b);
        let _ = writeln!(out, " {} |", ratio(r));
    }
    out
}

/// One figure of the batch sweep: `w1` by one implementation, for
/// reference (`batch` `None`), or ipcwire's `w1b-N`.
pub struct BatchPoint {
    pub workload: String,
    pub batch: Option<usize>,
    pub imp: Impl,
    pub msgs_per_sec: Stats,
}

/// The batch sweep's runs as messages per second: first `reference`
/// (`w1`) by every implementation measured, then ipcwire at each batch size.
pub fn batch_points(
    results: &Results,
    reference: &str,
    batches: &[usize],
    name: impl Fn(usize) -> String,
) -> Vec<BatchPoint> {
    let references = Impl::FRAMES
        .into_iter()
        .map(|imp| (reference.to_string(), None, imp));
    let batched = batches
        .iter()
        .map(|&batch| (name(batch), Some(batch), Impl::Ipcwire));
    references
        .chain(batched)
        .filter_map(|(workload, batch, imp)| {
            let run = results.get(&workload, imp)?;
            Some(BatchPoint {
                msgs_per_sec: message_rates(run),
                workload,
                batch,
                imp,
            })
        })
        .collect()
}

/// The reference points' `batch` column is empty: they send one message
/// per call, not batches.
pub fn batch_csv(points: &[BatchPoint]) -> String {
    let mut out = String::from("workload,batch,impl,median_msgs_per_sec,min,max\n");
    for p in points {
        let s = &p.msgs_per_sec;
        let batch = p.batch.map_or(String::new(), |b| b.to_string());
        let _ = writeln!(
            out,
            "{},{batch},{},{:.0},{:.0},{:.0}",
            p.workload,
            p.imp.name(),
            s.median,
            s.min,
            s.max
        );
    }
    out
}

/// M msg/s of every point, and its speed-up over ipcwire's `w1`.
pub fn batch_table(points: &[BatchPoint]) -> String {
    let mut out = String::from("| sender | M msg/s | × ipcwire w1 |\n|---|---|---|\n");
    let base = points
        .iter()
        .find(|p| p.batch.is_none() && p.imp == Impl::Ipcwire)
        .map(|p| p.msgs_per_sec.median);
    for p in points {
        let who = match p.batch {
            None => format!("{} {}, one message a send", p.imp.name(), p.workload),
            Some(batch) => format!("{} {}, batches of {batch}", p.imp.name(), p.workload),
        };
        let s = &p.msgs_per_sec;
        let r = base.map(|base| s.median / base);
        let _ = writeln!(
            out,
            "| {who} | {} ({}–{}) | {} |",
            fig(s.median / 1e6),
            fig(s.min / 1e6),
            fig(s.max / 1e6),
            ratio(r)
        );
    }
    out
}
