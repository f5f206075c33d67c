//! `cargo bench --bench ipc`: ipcwire against a raw `libc` baseline, typical
//! std framing and Python's `multiprocessing.Pipe`, each between a parent
//! and a forked child.
//!
//! ```text
//! cargo bench --bench ipc [-- --reps N] [--quick] [--no-sweep | --only-sweep] [--out DIR]
//! cargo bench --bench ipc -- IMPL WORKLOAD [COUNT]
//! cargo bench --bench ipc -- ipcwire idle
//! cargo bench --bench ipc -- ipcwire pauses
//! cargo bench --bench ipc -- ipcwire seccomp-getpid
//! ```
//!
//! The first form measures the workloads W1–W5, a sweep of message sizes
//! and a sweep of batch sizes, every implementation once per repetition
//! (interleaved, so a machine that slows down hurts all alike), and writes
//! `table.md`, `sweep.csv` and `sweep.svg` (sizes), `batch.csv` and
//! `batch.svg` (batches) to `benches/results/` (or `--out`). `--quick`
//! moves a tenth of the messages, for everyone; `--no-sweep` and
//! `--only-sweep` leave out or keep only both sweeps.
//!
//! W1–W4, `w4p` and the sweep move bytes (`send_bytes` and its like):
//! - `ipcwire`: `Connection::send_bytes` / `recv_bytes_into`;
//! - `raw`: one `libc::write` per frame (in `w4p-nosignal`, one
//!   `pwritev2(RWF_NOSIGNAL)`), large `libc::read`s;
//! - `std`: `write_all` of header and payload, `BufReader` + `read_exact`;
//! - `python`: `multiprocessing.Pipe`'s `send_bytes` / `recv_bytes_into`.
//!
//! W5 moves Python objects over a pipe: `w5` the ints 0, 1, 2, …, and
//! `w5-dict` dicts of ten str→int fields (see `pickled.rs`):
//! - `ipcwire`: `Connection::send(&i)` / `recv::<i64>()` (dicts: `send` of
//!   a `BTreeMap<String, i64>`, `recv::<HashMap<String, i64>>()`);
//! - `ipcwire-bytes`: `send_bytes` / `recv_bytes_into` of the same pickles,
//!   all made before the clock starts and compared, not decoded, on
//!   receipt: the same transport without pickling;
//! - `python`: `multiprocessing.Pipe`'s `send(obj)` / `recv()`.
//!
//! `w1b` is ipcwire's W1 sent in batches: the sender hands 64 messages at
//! a time to `Connection::send_bytes_batch` (one `writev` for all), the
//! receiver takes each with `recv_bytes_borrowed`, then those the same
//! read brought in with `recv_buffered`, checking each where it lies, as
//! W1's receivers do. `w1b-N` batches `N` messages; the batch sweep
//! measures `w1b-1`, `-4`, `-16`, `-64` and `-256` in one rotation with
//! W1 (ipcwire, raw and python: where batching starts from). Like
//! `w1-seccomp`, `w1b` is measured in W1's rotation, and the report gives
//! its speed against W1's.
//!
//! `w4p` is W4's ping-pong over two pipes, one each way, instead of a
//! socket pair: ipcwire's `duplex_pipes()`; raw and std read one pipe and
//! write the other; python wraps two `os.pipe()`s as
//! `Connection(r, writable=False)` and `Connection(w, readable=False)`, as
//! a Python peer of `duplex_pipes` does. It is measured in W4's rotation,
//! and the goals compare its round trip with raw's `w4p` and, in time,
//! with ipcwire's `w4`.
//!
//! `w4p-nosignal` is raw's `w4p` with each frame written by one
//! `pwritev2(fd, [frame], -1, RWF_NOSIGNAL)`, as ipcwire's pipe sends are
//! on Linux 6.18 and later, instead of `write`: the floor for a write that
//! cannot raise `SIGPIPE`. Only raw runs it, in W4's rotation, and the
//! report gives it against raw's `w4p` and ipcwire's `w4p` against it.
//! Where pipes take no `RWF_NOSIGNAL` (other systems, Linux before 6.18)
//! raw refuses it, and the first form leaves it out with a note.
//!
//! `w1-seccomp` is ipcwire's W1 confined: sender and receiver each run in a
//! forked child that, before the clock starts, installs a seccomp filter
//! allowing only the system calls the inventory lists for the functions it
//! calls (with its control pipe's, the allocator's and exit's) and killing
//! it on any other (see `seccomp.rs`, `harness::measure_confined`). It is
//! measured in W1's rotation, and the report gives its speed against
//! ipcwire's `w1`.
//!
//! The second form is for outside drivers: IMPL is `ipcwire`, `raw`, `std`,
//! `python` or `ipcwire-bytes`, WORKLOAD one of `w1`, `w1-seccomp`, `w1b`,
//! `w1b-N`, `w2`, `w3`, `w3-bigpipe`, `w4`, `w4p`, `w4p-nosignal`, `w5`,
//! `w5-dict` (`raw` and `std` run only W1–W4 and `w4p`, `ipcwire-bytes`
//! only W5, `w1-seccomp` and the `w1b` workloads only ipcwire,
//! `w4p-nosignal` only raw); it prints exactly one line,
//! `IMPL WORKLOAD COUNT BYTES SECONDS` (BYTES is payload bytes in one
//! direction, for W5 those of ipcwire's pickles; COUNT is round trips for
//! `w4`, `w4p` and `w4p-nosignal`).
//!
//! `ipcwire idle` (also part of the first form) measures what idle
//! connections hold: 4,000 socket pairs, one message received on each, in a
//! fresh child (see `idle.rs`). `ipcwire pauses` measures what a receiver
//! spends on a 64 MiB message that pauses a thousand times (see
//! `pauses.rs`); it takes about 12 s and is not part of the first form.
//! `ipcwire seccomp-getpid` (also part of the first form) measures what a
//! filter adds to each system call it allows: a forked child calls
//! `getpid` a million times, unconfined and confined, five runs each,
//! interleaved (see `seccomp.rs`).
//!
//! Only ratios within one run mean anything: the implementations share the
//! machine's noise only when measured side by side.

mod harness;
mod idle;
mod machine;
mod os;
mod pauses;
mod pickled;
mod python;
mod raw;
mod report;
mod seccomp;
mod stdframe;
mod svg;
mod with_ipcwire;
mod workload;

use std::error::Error;
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use report::Results;
use workload::{Impl, Spec};

pub type BoxResult<T> = Result<T, Box<dyn Error>>;

/// What the command line asked for.
enum Mode {
    /// Everything: the W1–W5 tables and/or the sweeps, with reports.
    Full(Options),
    /// One measurement of one implementation, one line out.
    Single { imp: Impl, spec: Spec },
    /// What idle connections hold, one line out.
    Idle,
    /// What pauses cost a receiver, one line out.
    Pauses,
    /// What a seccomp filter adds to a system call, one line out.
    SeccompGetpid,
}

struct Options {
    reps: usize,
    quick: bool,
    table: bool,
    sweep: bool,
    out: PathBuf,
    /// The arguments as given, quoted in the reports.
    args: String,
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench` to every bench binary; it means nothing here.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let result = parse(&args).and_then(|mode| match mode {
        Mode::Single { imp, spec } => single(imp, &spec),
        Mode::Idle => idle::measure().map(|idle| println!("{}", idle.report())),
        Mode::Pauses => pauses::report().map(|line| println!("{line}")),
        Mode::SeccompGetpid => {
            seccomp::call_cost(seccomp::CALLS, 5).map(|cost| println!("{}", cost.report()))
        }
        Mode::Full(opts) => full(&opts),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipc bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String]) -> BoxResult<Mode> {
    if let [imp, what] = args {
        match (imp.as_str(), what.as_str()) {
            ("ipcwire", "idle") => return Ok(Mode::Idle),
            ("ipcwire", "pauses") => return Ok(Mode::Pauses),
            ("ipcwire", "seccomp-getpid") => return Ok(Mode::SeccompGetpid),
            _ => {}
        }
    }
    if let Some(imp) = args.first().and_then(|a| Impl::from_name(a)) {
        return parse_single(imp, &args[1..]);
    }
    let mut opts = Options {
        reps: 5,
        quick: false,
        table: true,
        sweep: true,
        out: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/results"),
        args: args.join(" "),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--reps" => opts.reps = args.next().ok_or("--reps needs a number")?.parse()?,
            "--out" => opts.out = args.next().ok_or("--out needs a directory")?.into(),
            "--quick" => opts.quick = true,
            "--no-sweep" => opts.sweep = false,
            "--only-sweep" => opts.table = false,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    if opts.reps == 0 || !(opts.table || opts.sweep) {
        return Err("nothing to measure".into());
    }
    Ok(Mode::Full(opts))
}

/// `IMPL WORKLOAD [COUNT]`.
fn parse_single(imp: Impl, args: &[String]) -> BoxResult<Mode> {
    // `w1b-N` stands for every batch size.
    let names = workload::names()
        .chain(["w1b-N"])
        .collect::<Vec<_>>()
        .join(", ");
    let (name, count) = match args {
        [name] => (name, None),
        [name, count] => {
            let count = count.parse().map_err(|e| format!("count {count:?}: {e}"))?;
            (name, Some(count))
        }
        _ => {
            return Err(
                format!("usage: {} WORKLOAD [COUNT]; workloads: {names}", imp.name()).into(),
            )
        }
    };
    let mut spec =
        workload::named(name).ok_or(format!("no workload {name:?}; there are {names}"))?;
    spec.count = count.unwrap_or(spec.count);
    if !imp.runs(&spec) {
        return Err(format!("{} does not run {name}", imp.name()).into());
    }
    Ok(Mode::Single { imp, spec })
}

fn single(imp: Impl, spec: &Spec) -> BoxResult<()> {
    let time = imp.run(spec)?;
    let secs = time.as_secs_f64();
    println!(
        "{} {} {} {} {secs:.9}",
        imp.name(),
        spec.name,
        spec.count,
        spec.bytes()
    );
    Ok(())
}

fn full(opts: &Options) -> BoxResult<()> {
    let started = Instant::now();
    let python = python::available();
    let impls: Vec<Impl> = Impl::ALL
        .into_iter()
        .filter(|&imp| python || imp != Impl::Python)
        .collect();
    if !python {
        println!("note: python3 not found on PATH; the python implementation is skipped\n");
    }
    let nosignal = raw::nosignal_writes_work();
    if !nosignal {
        println!(
            "note: pipes here take no RWF_NOSIGNAL (Linux 6.18 on); w4p-nosignal is skipped\n"
        );
    }
    let context = Context {
        when_where: format!(
            "{}, {}; {}",
            machine::now(),
            machine::describe(python::version().as_deref()),
            machine::revision().unwrap_or_else(|| "ipcwire at an unknown revision".into()),
        ),
        how: how(opts, python, nosignal),
    };
    fs::create_dir_all(&opts.out)?;
    if opts.table {
        workload_table(opts, &impls, nosignal, &context)?;
    }
    if opts.sweep {
        sweep(opts, &impls, &context)?;
        batch_sweep(opts, &impls, &context)?;
    }
    println!("total time: {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// How the run was made: the command, repetitions, what was left out.
fn how(opts: &Options, python: bool, nosignal: bool) -> String {
    let args = match opts.args.as_str() {
        "" => String::new(),
        args => format!(" -- {args}"),
    };
    let mut how = format!(
        "`cargo bench --bench ipc{args}`: {} repetitions, implementations interleaved",
        opts.reps
    );
    if opts.quick {
        how += "; --quick: a tenth of the messages";
    }
    if !python {
        how += "; python3 not found, python skipped";
    }
    if !nosignal {
        how += "; no RWF_NOSIGNAL for pipes, w4p-nosignal skipped";
    }
    how
}

/// The header lines every report carries.
struct Context {
    when_where: String,
    how: String,
}

/// Measures W1–W5, prints the tables and goals, writes `table.md`;
/// `w4p-nosignal` only if `nosignal` (pipes take `RWF_NOSIGNAL`).
fn workload_table(
    opts: &Options,
    impls: &[Impl],
    nosignal: bool,
    context: &Context,
) -> BoxResult<()> {
    let specs: Vec<Spec> = workload::names()
        .filter_map(workload::named)
        .filter(|spec| nosignal || !spec.nosignal_writes)
        .map(|spec| if opts.quick { spec.quick() } else { spec })
        .collect();
    let results = measure(&specs, impls, opts.reps)?;
    let calls = if opts.quick {
        seccomp::CALLS / 10
    } else {
        seccomp::CALLS
    };
    let call_cost = seccomp::call_cost(calls, opts.reps)?;
    let idle = idle::measure()?;
    let text = format!(
        "# ipcwire: workloads W1–W5\n\n{}\n\n{}. Figures are median (min–max). \
         Ratios are ipcwire's speed-up: the other's median time over ipcwire's \
         (above 1: ipcwire is faster).\n\n{}\n## W5: Python objects\n\n\
         Here ipcwire is `send`/`recv`, pickling and decoding each object; \
         ipcwire-bytes is `send_bytes`/`recv_bytes_into` of the same pickles, \
         all made before the clock starts and compared, not decoded, on receipt; \
         python is `send`/`recv`.\n\n{}\n## Seccomp\n\n\
         `w1-seccomp` is ipcwire's `w1` with sender and receiver each in a forked \
         child that installs a seccomp filter before the clock starts: it allows \
         the system calls the inventory lists for the functions the process calls \
         (and those of the control pipes, the allocator and exit) and kills it on \
         any other. It is measured in `w1`'s rotation; against `w1` (medians):\n\n\
         {}\nWhat a filter adds to each call it allows, alone: {}\n\n## Batches\n\n\
         `w1b` is ipcwire's `w1` in batches of {}: the sender hands them to \
         `send_bytes_batch` (one `writev` for all), the receiver takes each with \
         `recv_bytes_borrowed`, then those the same read brought in with \
         `recv_buffered`, and checks each where it lies, as in `w1`. It is \
         measured in `w1`'s rotation; against `w1` (medians):\n\n{}\n\
         ## Idle connections\n\n{}\n\n## Goals\n\n{}{}",
        context.when_where,
        context.how,
        report::workload_table(&results, &workload::FRAME_NAMES, &Impl::FRAMES),
        report::workload_table(&results, &workload::PICKLE_NAMES, &Impl::PICKLES),
        report::seccomp_ratios(&results),
        call_cost.report(),
        workload::BATCH,
        report::batch_ratios(&results),
        idle.report(),
        report::goals_table(&results),
        report::nosignal_ratios(&results),
    );
    println!("{text}");
    fs::write(opts.out.join("table.md"), text)?;
    Ok(())
}

/// Measures every sweep size, prints a table, writes the CSV and the chart.
fn sweep(opts: &Options, impls: &[Impl], context: &Context) -> BoxResult<()> {
    let sizes = workload::SWEEP_SIZES;
    let specs: Vec<Spec> = sizes
        .iter()
        .map(|&size| workload::sweep(size))
        .map(|spec| if opts.quick { spec.quick() } else { spec })
        .collect();
    let results = measure(&specs, impls, opts.reps)?;
    let points = report::sweep_points(&results, &sizes, |size| workload::sweep(size).name);
    println!(
        "# ipcwire: one-way throughput by message size (GB/s, median)\n\n{}\n\n{}\n",
        context.when_where,
        report::sweep_table(&points, &sizes)
    );
    fs::write(opts.out.join("sweep.csv"), report::sweep_csv(&points))?;
    let subtitle = format!(
        "{} — {} reps, median and min–max",
        context.when_where, opts.reps
    );
    fs::write(
        opts.out.join("sweep.svg"),
        svg::sweep_chart(&points, &sizes, &subtitle),
    )?;
    Ok(())
}

/// Measures `w1b` at every batch size in one rotation with `w1` (ipcwire,
/// raw and python: one message a send), prints a table, writes the CSV and
/// the chart.
fn batch_sweep(opts: &Options, impls: &[Impl], context: &Context) -> BoxResult<()> {
    let batches = workload::BATCH_SIZES;
    let reference = workload::named(workload::BATCHED).ok_or("no workload to batch")?;
    let size = reference.size;
    let specs: Vec<Spec> = std::iter::once(reference)
        .chain(batches.iter().map(|&batch| workload::batch_sweep(batch)))
        .map(|spec| if opts.quick { spec.quick() } else { spec })
        .collect();
    // Raw is the floor of one write a message, python the goals'
    // reference; std framing adds nothing to that.
    let impls: Vec<Impl> = impls.iter().copied().filter(|&i| i != Impl::Std).collect();
    let results = measure(&specs, &impls, opts.reps)?;
    let points = report::batch_points(&results, workload::BATCHED, &batches, |batch| {
        workload::batch_sweep(batch).name
    });
    println!(
        "# ipcwire: {} messages by batch size (median, min–max)\n\n{}\n\n{}\n",
        report::size_label(size),
        context.when_where,
        report::batch_table(&points)
    );
    fs::write(opts.out.join("batch.csv"), report::batch_csv(&points))?;
    let subtitle = format!(
        "{} — {} reps, {} messages a run",
        context.when_where, opts.reps, specs[0].count
    );
    fs::write(
        opts.out.join("batch.svg"),
        svg::batch_chart(&points, size, &subtitle),
    )?;
    Ok(())
}

/// Runs every spec `reps` times with every implementation that runs it.
///
/// Each repetition runs all implementations once, starting one further
/// along the list each time, so neither a fixed order nor the machine
/// drifting in speed favours one of them. Specs right after the spec they
/// vary (`w1-seccomp` and `w1b` after `w1`, `w4p` and `w4p-nosignal` after
/// `w4`, see `Spec::rotation`) join that spec's rotation, so their ratios
/// to it are measured under the same noise. Progress goes to stderr.
fn measure(specs: &[Spec], impls: &[Impl], reps: usize) -> BoxResult<Results> {
    let mut results = Results::default();
    for group in specs.chunk_by(|a, b| a.rotation() == b.rotation()) {
        let first = &group[0].name;
        let runs: Vec<(&Spec, Impl)> = group
            .iter()
            .flat_map(|spec| {
                impls
                    .iter()
                    .filter(|i| i.runs(spec))
                    .map(move |&i| (spec, i))
            })
            .collect();
        for rep in 0..reps {
            let mut line = format!("{first:<12} rep {}/{reps}:", rep + 1);
            for k in 0..runs.len() {
                let (spec, imp) = runs[(rep + k) % runs.len()];
                let time = imp
                    .run(spec)
                    .map_err(|e| format!("{} {}: {e}", imp.name(), spec.name))?;
                line += &format!(" {}", imp.name());
                if spec.name != *first {
                    line += &format!(" {}", spec.name);
                }
                line += &format!(" {:.3} s", time.as_secs_f64());
                results.record(spec, imp, time);
            }
            eprintln!("{line}");
        }
    }
    Ok(results)
}
