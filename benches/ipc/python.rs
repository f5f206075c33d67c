//! CPython's `multiprocessing.Pipe`, the protocol ipcwire speaks, measured
//! by an embedded script that forks and checks exactly as the Rust
//! implementations do and times itself (interpreter start-up excluded).

use std::process::Command;
use std::time::Duration;

use crate::workload::{Duplex, Pattern, Payload, Spec};
use crate::BoxResult;

/// Run with `python3 -c`; see the file for its arguments and output.
const SCRIPT: &str = include_str!("python_bench.py");

/// Whether `python3` is on `PATH` and runs.
pub fn available() -> bool {
    Command::new("python3")
        .args(["-c", "import multiprocessing"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// `python3 --version`, for the machine line of the reports.
pub fn version() -> Option<String> {
    let out = Command::new("python3").arg("--version").output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn run(spec: &Spec) -> BoxResult<Duration> {
    let mode = match (spec.payload, spec.pattern) {
        (Payload::Frames, Pattern::OneWay) => "oneway",
        (Payload::Frames, Pattern::PingPong(Duplex::SocketPair)) => "pingpong",
        (Payload::Frames, Pattern::PingPong(Duplex::TwoPipes)) => "pingpong-pipes",
        (Payload::Ints, _) => "ints",
        (Payload::Dicts, _) => "dicts",
    };
    let out = Command::new("python3")
        .args(["-c", SCRIPT, &spec.name, mode])
        .arg(spec.size.to_string())
        .arg(spec.count.to_string())
        .arg(spec.pipe_size.unwrap_or(0).to_string())
        .arg(cpu_arg(spec.cpus.child()))
        .output()?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(format!("python3 {}: {}: {}", spec.name, out.status, why.trim()).into());
    }
    parse(&String::from_utf8_lossy(&out.stdout), spec)
}

/// The child's CPU for the script, `-1` for anywhere. (The parent's
/// placement the script inherits from this process.)
fn cpu_arg(cpu: Option<usize>) -> String {
    cpu.map_or("-1".to_string(), |cpu| cpu.to_string())
}

/// Reads `python NAME COUNT BYTES SECONDS`, checking it is about `spec`.
/// The script's BYTES is COUNT × SIZE: 0 for pickles, whose sizes vary.
fn parse(line: &str, spec: &Spec) -> BoxResult<Duration> {
    let bytes = spec.count * spec.size as u64;
    let want = format!("python {} {} {bytes} ", spec.name, spec.count);
    let seconds = line
        .trim()
        .strip_prefix(&want)
        .ok_or_else(|| format!("unexpected output from python3: {line:?}"))?;
    Ok(Duration::try_from_secs_f64(seconds.parse()?)?)
}
