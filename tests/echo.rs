//! `examples/echo` run as real server and client processes over every
//! address family, with misbehaving raw clients in between.

#[path = "common/examples.rs"]
mod examples;
#[path = "common/paths.rs"]
mod paths;

use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ipcwire::{sys, Address, Client};
use paths::{unique, TempPath};

/// How long any one process may take before the test gives up on it.
const LIMIT: Duration = Duration::from_secs(30);

fn echo_exe() -> PathBuf {
    examples::example("echo")
}

/// Reads all of a pipe on a thread, so a full pipe never blocks the child.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = pipe.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
}

/// Waits for `child` to exit, killing it if it takes longer than `LIMIT`.
fn wait_limited(child: &mut Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// What a finished process printed and how it ended.
struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `echo ARGS...` to completion (within `LIMIT`).
fn run_echo(args: &[&str]) -> Outcome {
    let mut child = Command::new(echo_exe())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo");
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let status = wait_limited(&mut child, &format!("echo {args:?}"));
    Outcome {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// A running `echo server`, killed and reaped if the test ends early.
struct Server {
    child: Option<Child>,
    /// The bound address from its `READY` line.
    addr: String,
    stderr: Option<thread::JoinHandle<String>>,
    /// Whatever the server printed after its `READY` line.
    stdout_rest: Option<thread::JoinHandle<String>>,
}

impl Server {
    /// Starts `echo server ADDR --conns N` and waits for `READY <addr>`.
    fn start(addr: &str, conns: u32) -> Server {
        Server::start_with(addr, conns, &[])
    }

    /// Starts `echo server ADDR --conns N EXTRA...` and waits for `READY`.
    fn start_with(addr: &str, conns: u32, extra: &[&str]) -> Server {
        let child = Command::new(echo_exe())
            .args(["server", addr, "--conns", &conns.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn echo server");
        let mut server = Server {
            child: Some(child),
            addr: String::new(),
            stderr: None,
            stdout_rest: None,
        };
        let child = server.child.as_mut().unwrap();
        server.stderr = Some(drain(child.stderr.take().unwrap()));
        let stdout = child.stdout.take().unwrap();
        // Read the first line on a thread, so a silent server cannot hang us;
        // the thread keeps stdout open, and counts anything after READY.
        let (tx, rx) = mpsc::channel();
        server.stdout_rest = Some(thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            let mut first = String::new();
            let _ = lines.read_line(&mut first);
            let _ = tx.send(first);
            let mut rest = String::new();
            let _ = lines.read_to_string(&mut rest);
            rest
        }));
        let line = rx.recv_timeout(LIMIT).expect("READY line in time");
        let addr = line
            .strip_suffix('\n')
            .and_then(|l| l.strip_prefix("READY "))
            .unwrap_or_else(|| panic!("expected `READY <addr>\\n`, got {line:?}"));
        server.addr = addr.to_owned();
        server
    }

    fn address(&self) -> Address {
        self.addr.parse().expect("READY address parses")
    }

    /// Waits for the server to finish; its exit status and stderr.
    fn finish(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let status = wait_limited(&mut child, "echo server");
        let stderr = self.stderr.take().unwrap().join().unwrap();
        let rest = self.stdout_rest.take().unwrap().join().unwrap();
        assert_eq!(rest, "", "server printed more after READY");
        (status, stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

const SIZES: [&str; 5] = ["0", "1", "16384", "16385", "1048576"];

/// Runs the echo client against `addr` and checks it succeeded.
fn run_good_client(addr: &str) {
    let mut args = vec!["client", addr];
    args.extend(SIZES);
    let out = run_echo(&args);
    assert_eq!(
        out.stdout, "OK 5 messages\n",
        "client stderr: {}",
        out.stderr
    );
    assert_eq!(out.status.code(), Some(0), "client stderr: {}", out.stderr);
    assert_eq!(out.stderr, "");
}

fn server_and_client(addr: &str) -> Server {
    let server = Server::start(addr, 1);
    run_good_client(&server.addr);
    server
}

fn check_clean_exit(server: Server) {
    let (status, stderr) = server.finish();
    assert_eq!(status.code(), Some(0), "server stderr: {stderr}");
    assert_eq!(stderr, "", "server stderr");
}

#[test]
fn unix_path() {
    let path = TempPath::new("unix");
    let server = server_and_client(&path.address().to_string());
    assert_eq!(
        server.addr,
        path.address().to_string(),
        "READY shows the path"
    );
    check_clean_exit(server);
    assert!(!path.0.exists(), "the server removed its socket file");
}

#[test]
fn abstract_name() {
    let addr = format!("abstract:{}", unique("abstract"));
    let server = server_and_client(&addr);
    assert_eq!(server.addr, addr);
    check_clean_exit(server);
}

#[test]
fn tcp_v4() {
    let server = server_and_client("tcp:127.0.0.1:0");
    let Address::Tcp(bound) = server.address() else {
        panic!("not TCP: {}", server.addr);
    };
    assert!(server.addr.starts_with("tcp:127.0.0.1:"), "{}", server.addr);
    assert_ne!(bound.port(), 0, "READY shows the real port");
    check_clean_exit(server);
}

/// A server for two connections: the first from `bad_client`, the second
/// from the echo client, which must be served as if nothing happened.
fn survives_bad_client(addr: &str, bad_client: impl FnOnce(&Address)) -> String {
    let server = Server::start(addr, 2);
    bad_client(&server.address());
    run_good_client(&server.addr);
    let (status, stderr) = server.finish();
    assert_eq!(status.code(), Some(0), "server stderr: {stderr}");
    stderr
}

/// Sends `bytes` raw on a new connection to `addr`, then disconnects.
fn send_raw_and_close(addr: &Address, bytes: &[u8]) {
    let conn = Client::new().connect(addr).expect("raw client connect");
    let mut sent = 0;
    while sent < bytes.len() {
        sent += sys::send(conn.as_fd(), &bytes[sent..]).expect("raw send");
    }
}

#[test]
fn server_survives_negative_length_header() {
    let path = TempPath::new("negative");
    for addr in [path.address().to_string(), "tcp:127.0.0.1:0".to_owned()] {
        let stderr = survives_bad_client(&addr, |addr| {
            send_raw_and_close(addr, &[0xff, 0xff, 0xff, 0xfe]);
        });
        assert_eq!(stderr.lines().count(), 1, "one report: {stderr:?}");
        assert!(stderr.starts_with("echo: connection 1 from "), "{stderr:?}");
        assert!(stderr.contains("negative length -2"), "{stderr:?}");
    }
}

#[test]
fn server_survives_disconnect_mid_message() {
    let path = TempPath::new("midmsg");
    for addr in [path.address().to_string(), "tcp:127.0.0.1:0".to_owned()] {
        let stderr = survives_bad_client(&addr, |addr| {
            // A header for 100 bytes, then 10 of them.
            let mut bytes = vec![0, 0, 0, 100];
            bytes.extend([1; 10]);
            send_raw_and_close(addr, &bytes);
        });
        assert_eq!(stderr.lines().count(), 1, "one report: {stderr:?}");
        assert!(stderr.starts_with("echo: connection 1 from "), "{stderr:?}");
        assert!(
            stderr.contains("end of stream inside a message"),
            "{stderr:?}"
        );
    }
}

#[test]
fn server_survives_client_that_sends_nothing() {
    let path = TempPath::new("silent");
    let stderr = survives_bad_client(&path.address().to_string(), |addr| {
        drop(Client::new().connect(addr).expect("connect"));
    });
    assert_eq!(stderr, "", "a client that just leaves is not an error");
}

#[test]
fn client_to_dead_address_fails() {
    let path = TempPath::new("dead");
    let out = run_echo(&["client", &path.address().to_string(), "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("echo: "), "{:?}", out.stderr);
    assert!(
        out.stderr.contains("no such file or directory"),
        "{:?}",
        out.stderr
    );

    // A TCP port that was just closed.
    let server = Server::start("tcp:127.0.0.1:0", 1);
    let addr = server.addr.clone();
    drop(server);
    let out = run_echo(&["client", &addr, "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("connection refused"),
        "{:?}",
        out.stderr
    );
}

#[test]
fn authkey_clients_with_the_key_are_served_and_others_refused() {
    let path = TempPath::new("authkey");
    let server = Server::start_with(&path.address().to_string(), 4, &["--authkey", "secret"]);
    let addr = server.addr.clone();
    let good = run_echo(&["client", &addr, "--authkey", "secret", "0", "1", "16385"]);
    assert_eq!(
        (good.status.code(), good.stdout.as_str()),
        (Some(0), "OK 3 messages\n")
    );
    // A wrong key fails on both sides, and the server goes on.
    let wrong = run_echo(&["client", &addr, "--authkey", "other", "5"]);
    assert_eq!((wrong.status.code(), wrong.stdout.as_str()), (Some(1), ""));
    assert!(
        wrong.stderr.contains("authentication failed"),
        "{:?}",
        wrong.stderr
    );
    // No key at all: its first message is taken as a wrong digest.
    let keyless = run_echo(&["client", &addr, "5"]);
    assert_eq!(keyless.status.code(), Some(1), "{:?}", keyless.stderr);
    let again = run_echo(&["client", &addr, "--authkey", "secret", "7"]);
    assert_eq!(
        (again.status.code(), again.stdout.as_str()),
        (Some(0), "OK 1 messages\n")
    );
    let (status, stderr) = server.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("authentication failed").count(),
        2,
        "{stderr}"
    );
}

/// The usage `echo` prints, on stderr after a bad command line.
const USAGE: &str = "usage: echo server ADDR [--authkey KEY] [--conns N]
       echo client ADDR [--authkey KEY] SIZE...
";

#[test]
fn bad_command_lines_fail_with_what_is_wrong_and_the_usage() {
    // What is wrong, or how its line starts when the rest is a parser's.
    for (args, why) in [
        (vec![], "no role given: server or client"),
        (vec!["server"], "no ADDR given"),
        (
            vec!["serve", "tcp:127.0.0.1:0"],
            "unknown role \"serve\": server or client",
        ),
        (vec!["server", "nowhere"], "ADDR \"nowhere\": "),
        (vec!["client", "tcp:127.0.0.1:1", "many"], "SIZE \"many\": "),
        (
            vec!["server", "tcp:127.0.0.1:0", "--conns"],
            "--conns needs a number N",
        ),
        (
            vec!["server", "tcp:127.0.0.1:0", "--conns", "x"],
            "--conns \"x\": ",
        ),
        (
            vec!["server", "tcp:127.0.0.1:0", "3"],
            "unexpected argument \"3\"",
        ),
        (
            vec!["client", "tcp:127.0.0.1:1", "--conns", "3"],
            "unexpected argument \"--conns\"",
        ),
        (
            vec!["client", "tcp:127.0.0.1:1", "--authkey"],
            "--authkey needs a KEY",
        ),
    ] {
        let out = run_echo(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {:?}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}");
        let (first, rest) = out.stderr.split_once('\n').unwrap_or_default();
        assert!(
            first.starts_with(&format!("echo: {why}")),
            "{args:?}: {first:?}"
        );
        assert_eq!(rest, USAGE, "{args:?}: the usage follows");
    }
}

#[test]
fn help_prints_the_usage_on_stdout() {
    for flag in ["--help", "-h"] {
        let out = run_echo(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}: {:?}", out.stderr);
        assert_eq!(out.stdout, USAGE, "{flag}");
        assert_eq!(out.stderr, "", "{flag}");
    }
}
