//! Real CPython interpreters for interop tests: finding every one installed
//! (`python3` on `PATH`, every `pyenv` version but 2.x; with 2.x for the
//! tests whose scripts run there too), and running one as a [`Peer`] that
//! is killed and reaped on every path.
//!
//! Needs `skip` and `serial` included beside it.
#![allow(dead_code)] // each test file uses a part

use std::io::{BufRead, BufReader, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::serial::guard;

/// How long any Python process may live before it is killed.
pub const LIMIT: Duration = Duration::from_secs(30);
/// "Within a few seconds": the bound on failing handshakes and on Python
/// exiting after one.
pub const QUICK: Duration = Duration::from_secs(5);

/// A Python interpreter and the version it reports.
#[derive(Clone, Debug)]
pub struct Python {
    pub exe: PathBuf,
    pub version: String,
}

impl Python {
    /// The leading numeric parts of the version: `3.13.0rc1` -> `[3, 13, 0]`.
    pub fn version_key(&self) -> Vec<u32> {
        self.version
            .split('.')
            .map(|part| {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().unwrap_or(0)
            })
            .collect()
    }

    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        let key = self.version_key();
        (
            key.first().copied().unwrap_or(0),
            key.get(1).copied().unwrap_or(0),
        ) >= (major, minor)
    }

    /// `python -I -u script`, with stdin closed (callers may replace it).
    /// Python 2 has no `-I`: there `-E -s`, its environment and user site
    /// directory ignored, is the same isolation.
    pub fn script(&self, script: &str) -> Command {
        let mut cmd = Command::new(&self.exe);
        if self.at_least(3, 4) {
            cmd.arg("-I");
        } else {
            cmd.args(["-E", "-s"]);
        }
        cmd.args(["-u", script]).stdin(Stdio::null());
        cmd
    }
}

/// Runs `cmd` to completion within `limit`; its stdout if it succeeded.
pub fn output_within(cmd: Command, limit: Duration) -> Option<String> {
    let mut peer = Peer::spawn(cmd).ok()?;
    peer.finish(limit);
    match peer.status {
        Some(status) if status.success() && !peer.killed() => Some(peer.stdout.join("\n")),
        _ => None,
    }
}

/// Asks the interpreter `cmd` for its version and real executable.
pub fn probe(cmd: &Path) -> Option<Python> {
    let mut probe = Command::new(cmd);
    probe.args([
        "-c",
        "import sys; print(sys.version.split()[0]); print(sys.executable)",
    ]);
    let out = output_within(probe, LIMIT)?;
    let mut lines = out.lines().map(str::trim);
    let version = lines.next().filter(|v| !v.is_empty())?.to_owned();
    // A pyenv shim on PATH execs the real interpreter: use that directly.
    let exe = lines
        .next()
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .unwrap_or_else(|| cmd.to_path_buf());
    Some(Python { exe, version })
}

/// The versions `pyenv versions --bare` lists (none without pyenv).
fn pyenv_versions() -> Vec<String> {
    let mut versions = Command::new("pyenv");
    versions.args(["versions", "--bare"]);
    let listed = output_within(versions, LIMIT).unwrap_or_default();
    listed
        .lines()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether a pyenv version name is a Python 2.
fn is_python2(version: &str) -> bool {
    version.starts_with("2.") || version == "2"
}

/// `program` in the `bin` directory of pyenv's `version`.
fn pyenv_program(version: &str, program: &str) -> Option<PathBuf> {
    let mut prefix = Command::new("pyenv");
    prefix.args(["prefix", version]);
    let prefix = output_within(prefix, LIMIT)?;
    Some(Path::new(prefix.trim()).join("bin").join(program))
}

/// Probes each of `candidates`, keeping one interpreter per version, sorted
/// by version; says what it found on a line that starts with `what`.
fn found(what: &str, candidates: Vec<PathBuf>, keep: impl Fn(&Python) -> bool) -> Vec<Python> {
    let mut found: Vec<Python> = Vec::new();
    for candidate in candidates {
        let Some(python) = probe(&candidate) else {
            continue;
        };
        if !keep(&python) || found.iter().any(|f| f.version == python.version) {
            continue;
        }
        found.push(python);
    }
    found.sort_by_key(Python::version_key);
    let list: Vec<String> = found
        .iter()
        .map(|p| format!("{} ({})", p.version, p.exe.display()))
        .collect();
    let line = format!(
        "{what}: {} Python interpreters: {}",
        found.len(),
        list.join(", ")
    );
    eprintln!("{line}");
    println!("{line}");
    found
}

/// `python3` on PATH plus every pyenv version but 2.x, deduplicated by the
/// version each reports, sorted by version. Found once per test process.
pub fn interpreters() -> &'static [Python] {
    static FOUND: OnceLock<Vec<Python>> = OnceLock::new();
    FOUND.get_or_init(|| {
        let mut candidates = vec![PathBuf::from("python3")];
        for version in pyenv_versions() {
            if is_python2(&version) {
                continue;
            }
            candidates.extend(pyenv_program(&version, "python3"));
        }
        found("interop", candidates, |p| !p.version.starts_with("2."))
    })
}

/// [`interpreters`] and every pyenv 2.x version too, for the tests whose
/// Python side runs on Python 2 as well. Found once per test process.
pub fn every_interpreter() -> &'static [Python] {
    static FOUND: OnceLock<Vec<Python>> = OnceLock::new();
    FOUND.get_or_init(|| {
        let mut candidates: Vec<PathBuf> = interpreters().iter().map(|p| p.exe.clone()).collect();
        for version in pyenv_versions() {
            if is_python2(&version) {
                candidates.extend(pyenv_program(&version, "python"));
            }
        }
        found("interop, with Python 2", candidates, |_| true)
    })
}

/// The interpreters, or `None` after printing why the test is skipped
/// (a failure with `IPCWIRE_NO_SKIPS=1`).
pub fn interpreters_or_skip(test: &str) -> Option<&'static [Python]> {
    let found = interpreters();
    if !found.is_empty() {
        return Some(found);
    }
    crate::skip::skipped(format_args!(
        "{test}: no Python 3 interpreter found (python3 on PATH or pyenv)"
    ));
    None
}

/// [`every_interpreter`], or `None` after printing why the test is skipped
/// (a failure with `IPCWIRE_NO_SKIPS=1`).
pub fn every_interpreter_or_skip(test: &str) -> Option<&'static [Python]> {
    let found = every_interpreter();
    if !found.is_empty() {
        return Some(found);
    }
    crate::skip::skipped(format_args!(
        "{test}: no Python interpreter found (python3 on PATH or pyenv)"
    ));
    None
}

pub fn versions(pythons: &[Python]) -> String {
    let list: Vec<&str> = pythons.iter().map(|p| p.version.as_str()).collect();
    list.join(", ")
}

// ---------------------------------------------------------------------------
// Python processes

/// A running Python process with its output collected on threads, killed
/// by a watchdog after [`LIMIT`], and killed and reaped when dropped.
///
/// What it says comes line by line into [`stdout`](Peer::stdout) and whole
/// into [`stderr`](Peer::stderr); for a peer whose stdout is a connection
/// ([`Peer::spawn_on_stdio`]) its stderr comes line by line instead.
pub struct Peer {
    pub child: Arc<Mutex<Child>>,
    pub stop: Arc<AtomicBool>,
    pub killed: Arc<AtomicBool>,
    pub watchdog: Option<thread::JoinHandle<()>>,
    pub lines: mpsc::Receiver<String>,
    pub stdout_thread: Option<thread::JoinHandle<()>>,
    pub stderr_thread: Option<thread::JoinHandle<String>>,
    /// Stdout lines read so far (stderr lines, for [`Peer::spawn_on_stdio`]).
    pub stdout: Vec<String>,
    pub stderr: String,
    /// Which stream [`stdout`](Peer::stdout) holds the lines of.
    pub lines_from: &'static str,
    pub status: Option<ExitStatus>,
    /// Whether it exited without being killed.
    pub by_itself: bool,
}

impl Peer {
    /// Spawns `cmd` (consumed, so the parent's copies of descriptors given
    /// as the child's stdio are closed at once).
    pub fn spawn(mut cmd: Command) -> Result<Peer, String> {
        cmd.stdout(Stdio::piped());
        Peer::start(cmd, "stdout")
    }

    /// Spawns `cmd` with `stdin` and `stdout` as its descriptors 0 and 1:
    /// the two ends of a connection over two pipes, say. The child alone
    /// inherits them (the spawn `dup2`s them there in the child; ours stay
    /// close-on-exec), and the parent's copies are closed at once, so the
    /// child's exit is an end of stream. What the child says must then go
    /// to stderr, which comes line by line into [`stdout`](Peer::stdout).
    pub fn spawn_on_stdio(
        mut cmd: Command,
        stdin: OwnedFd,
        stdout: OwnedFd,
    ) -> Result<Peer, String> {
        cmd.stdin(Stdio::from(stdin)).stdout(Stdio::from(stdout));
        Peer::start(cmd, "stderr")
    }

    /// Spawns `cmd`, its lines read from `lines_from` (`stdout`, piped by
    /// the caller, or `stderr`) and its stderr piped.
    fn start(mut cmd: Command, lines_from: &'static str) -> Result<Peer, String> {
        cmd.stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("spawning {cmd:?}: {e}"))?;
        drop(cmd);
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        let read_lines = move |stream: Box<dyn Read + Send>| {
            move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        };
        let (stdout_thread, stderr_thread) = match child.stdout.take() {
            Some(stdout) => {
                let stderr_thread = thread::spawn(move || {
                    let mut text = Vec::new();
                    let _ = stderr.read_to_end(&mut text);
                    String::from_utf8_lossy(&text).into_owned()
                });
                (
                    thread::spawn(read_lines(Box::new(stdout))),
                    Some(stderr_thread),
                )
            }
            None => (thread::spawn(read_lines(Box::new(stderr))), None),
        };
        let child = Arc::new(Mutex::new(child));
        let stop = Arc::new(AtomicBool::new(false));
        let killed = Arc::new(AtomicBool::new(false));
        let watchdog = {
            let (child, stop, killed) = (child.clone(), stop.clone(), killed.clone());
            let deadline = Instant::now() + LIMIT;
            thread::spawn(move || loop {
                thread::sleep(Duration::from_millis(50));
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let mut child = guard(&child);
                if !matches!(child.try_wait(), Ok(None)) {
                    return;
                }
                if Instant::now() >= deadline {
                    killed.store(true, Ordering::Relaxed);
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
            })
        };
        Ok(Peer {
            child,
            stop,
            killed,
            watchdog: Some(watchdog),
            lines,
            stdout_thread: Some(stdout_thread),
            stderr_thread,
            stdout: Vec::new(),
            stderr: String::new(),
            lines_from,
            status: None,
            by_itself: false,
        })
    }

    pub fn killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    /// The next stdout line, waiting at most `limit`.
    pub fn next_line(&mut self, limit: Duration) -> Result<String, String> {
        match self.lines.recv_timeout(limit) {
            Ok(line) => {
                self.stdout.push(line.clone());
                Ok(line)
            }
            Err(_) => Err(format!("no line from Python within {limit:?}")),
        }
    }

    /// The exit status, if the process has exited.
    pub fn exited(&self) -> Option<ExitStatus> {
        guard(&self.child).try_wait().ok().flatten()
    }

    /// Waits up to `limit` for the process to exit, kills it if it has not,
    /// then collects all its output. Returns whether it exited by itself.
    pub fn finish(&mut self, limit: Duration) -> bool {
        if self.status.is_some() {
            return self.by_itself;
        }
        let deadline = Instant::now() + limit;
        let mut by_itself = true;
        let status = loop {
            if let Some(status) = self.exited() {
                break status;
            }
            if Instant::now() >= deadline {
                by_itself = false;
                let mut child = guard(&self.child);
                let _ = child.kill();
                match child.wait() {
                    Ok(status) => break status,
                    Err(_) => return false,
                }
            }
            thread::sleep(Duration::from_millis(5));
        };
        self.status = Some(status);
        self.by_itself = by_itself && !self.killed();
        if let Some(t) = self.stdout_thread.take() {
            let _ = t.join();
        }
        self.stdout.extend(self.lines.try_iter());
        if let Some(t) = self.stderr_thread.take() {
            self.stderr = t.join().unwrap_or_default();
        }
        self.by_itself
    }

    /// What the process said and how it ended, for an error message.
    pub fn report(&self) -> String {
        let status = match self.status {
            Some(s) if self.killed() => format!("{s} (killed by the watchdog after {LIMIT:?})"),
            Some(s) if !self.by_itself => format!("{s} (killed by the test)"),
            Some(s) => s.to_string(),
            None => "still running".to_owned(),
        };
        if self.lines_from == "stderr" {
            return format!("\n      Python: {status}; stderr {:?}", self.stdout);
        }
        let stderr = self.stderr.trim();
        let tail: String = if stderr.len() > 1200 {
            let start = stderr.ceil_char_boundary_compat(stderr.len() - 1200);
            format!("...{}", &stderr[start..])
        } else {
            stderr.to_owned()
        };
        format!(
            "\n      Python: {status}; stdout {:?}; stderr: {tail:?}",
            self.stdout
        )
    }

    /// `msg` plus Python's side of the story (after letting it exit).
    pub fn fail(&mut self, msg: impl std::fmt::Display) -> String {
        self.finish(Duration::from_secs(2));
        format!("{msg}{}", self.report())
    }

    /// Requires the process to exit with `code` within `limit`, having
    /// printed no `MISMATCH` or `TIMEOUT` line.
    pub fn expect_exit(&mut self, limit: Duration, code: i32) -> Result<(), String> {
        let by_itself = self.finish(limit);
        let bad_line = self
            .stdout
            .iter()
            .any(|l| l.starts_with("MISMATCH") || l.starts_with("TIMEOUT"));
        if !by_itself {
            return Err(format!(
                "Python did not exit within {limit:?}{}",
                self.report()
            ));
        }
        if self.status.and_then(|s| s.code()) != Some(code) || bad_line {
            return Err(format!(
                "expected Python to exit with {code}{}",
                self.report()
            ));
        }
        Ok(())
    }

    /// Requires Python to report `AUTHFAIL` and exit 3 within [`QUICK`].
    pub fn expect_auth_fail(&mut self) -> Result<(), String> {
        self.expect_exit(QUICK, 3)?;
        if self.stdout.iter().any(|l| l == "AUTHFAIL") {
            Ok(())
        } else {
            Err(format!("Python exited 3 without AUTHFAIL{}", self.report()))
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        {
            let mut child = guard(&self.child);
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(t) = self.watchdog.take() {
            let _ = t.join();
        }
        if let Some(t) = self.stdout_thread.take() {
            let _ = t.join();
        }
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join();
        }
    }
}

/// `str::ceil_char_boundary` is unstable; the same for a byte index.
pub trait CharBoundary {
    fn ceil_char_boundary_compat(&self, i: usize) -> usize;
}

impl CharBoundary for str {
    fn ceil_char_boundary_compat(&self, mut i: usize) -> usize {
        while i < self.len() && !self.is_char_boundary(i) {
            i += 1;
        }
        i
    }
}
