//! Where and when a run happened, for the headers of the reports: figures
//! from a noisy 2-core machine mean little without that line.

use std::fs;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// `Intel(R) Xeon(R) Processor, 2 CPUs, Linux 6.8.0, Python 3.11.7`.
pub fn describe(python: Option<&str>) -> String {
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| cpu_model(&info))
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut line = format!("{model}, {cpus} CPUs");
    if let Ok(release) = fs::read_to_string("/proc/sys/kernel/osrelease") {
        line += &format!(", Linux {}", release.trim());
    }
    if let Some(python) = python {
        line += &format!(", {python}");
    }
    line
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    let line = cpuinfo.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// The current UTC date and time, `2024-05-01 14:03 UTC`.
pub fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), by
/// Howard Hinnant's `civil_from_days` (eras of 400 years from March 1st).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The commit of the crate measured, `ipcwire 1a2b3c4`, with a warning if
/// `src/` differs from it; `None` outside a git checkout.
pub fn revision() -> Option<String> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--short", "HEAD"])?;
    let dirty = git(&["status", "--porcelain", "--", "src"])?;
    Some(match dirty.is_empty() {
        true => format!("ipcwire {commit}"),
        false => format!("ipcwire {commit} with uncommitted changes in src/"),
    })
}
