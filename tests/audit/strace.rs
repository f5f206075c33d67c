//! The checker: reads an `strace -f` trace of the scenarios and holds each
//! system call inside a bracket to the inventory entries of the bracket's
//! functions, and to the flags and counts the docs promise.

use std::collections::{BTreeSet, HashMap, HashSet};

use ipcwire::sys::inventory;

use crate::scenarios::{Scenario, SCENARIOS};

/// Memory the global allocator maps: not ipcwire's (see the inventory docs).
/// `futex` too: glibc's malloc takes an arena lock with it when two threads
/// allocate at once; ipcwire itself holds no locks.
const ALLOCATOR: &[&str] = &[
    "brk", "mmap", "munmap", "mremap", "madvise", "mprotect", "futex",
];

#[derive(Default)]
pub struct Report {
    pub calls: usize,
    pub brackets: usize,
    pub scenarios: usize,
    pub problems: Vec<String>,
    running: Option<Running>,
}

/// The scenario whose marker came last, and the functions its brackets
/// have named so far (in any of its processes).
struct Running {
    scenario: &'static Scenario,
    bracketed: BTreeSet<String>,
}

impl Report {
    fn start_scenario(&mut self, name: &str) {
        self.finish_scenario();
        self.scenarios += 1;
        match SCENARIOS.iter().find(|s| s.name == name) {
            Some(scenario) => {
                self.running = Some(Running {
                    scenario,
                    bracketed: BTreeSet::new(),
                });
            }
            None => self.problems.push(format!("unknown scenario {name:?}")),
        }
    }

    /// The functions a scenario's brackets named must be exactly the ones
    /// it declares.
    fn finish_scenario(&mut self) {
        let Some(Running {
            scenario,
            bracketed,
        }) = self.running.take()
        else {
            return;
        };
        let declared: BTreeSet<String> = scenario.functions.iter().map(|f| f.to_string()).collect();
        let unused: Vec<_> = declared.difference(&bracketed).collect();
        if !unused.is_empty() {
            self.problems.push(format!(
                "scenario {} declares {unused:?} and never calls them",
                scenario.name
            ));
        }
        let undeclared: Vec<_> = bracketed.difference(&declared).collect();
        if !undeclared.is_empty() {
            self.problems.push(format!(
                "scenario {} calls {undeclared:?} and does not declare them",
                scenario.name
            ));
        }
    }
}

/// What one traced thread or process is inside: the functions its bracket
/// names and, when the bracket promises one, an exact call count.
#[derive(Clone, Default)]
struct Bracket {
    functions: Vec<String>,
    expect: Option<usize>,
    seen: usize,
}

pub fn check_trace(text: &str) -> Report {
    let mut report = Report::default();
    let mut open: HashMap<u32, Bracket> = HashMap::new();
    let mut split: HashMap<u32, String> = HashMap::new();
    let mut forks = Forks::default();
    let mut allocator_file = AllocatorFile::default();
    for line in text.lines() {
        let Some((pid, call)) = parse_line(line) else {
            continue;
        };
        forks.on_line(&mut open, pid, call);
        let Some(call) = join_split(&mut split, pid, call) else {
            continue;
        };
        let call = call.as_str();
        if let Some(marker) = marker_of(call) {
            on_marker(&mut report, &mut open, pid, marker);
            continue;
        }
        let name = call_name(call);
        if let Some(child) = new_process(name, call) {
            forks.returned(&mut open, pid, child);
        }
        let Some(bracket) = open.get_mut(&pid) else {
            continue;
        };
        report.calls += 1;
        // The allocator's calls are not ipcwire's, for counts as for the
        // inventory: musl maps the 64 KiB read-ahead buffer with its own
        // `mmap` on the first receive, where glibc's heap has room already.
        if ALLOCATOR.contains(&name) || allocator_file.is_allocator_call(pid, call) {
            continue;
        }
        // `restart_syscall` is the kernel resuming a call that a stop
        // interrupted (`seccomp::RUNTIME` allows it): here strace's own stop
        // for a signal, a child's `SIGCHLD` arriving during a timed `poll`.
        if name == "restart_syscall" || is_std_debug_check(name, call) {
            continue;
        }
        bracket.seen += 1;
        check_call(&mut report.problems, bracket, name, call);
    }
    report.finish_scenario();
    if report.scenarios != SCENARIOS.len() {
        report.problems.push(format!(
            "{} of {} scenarios ran",
            report.scenarios,
            SCENARIOS.len()
        ));
    }
    report
}

/// std's `OwnedFd::drop`, in a build with debug assertions (as tests are),
/// first checks that the descriptor is open with `fcntl(F_GETFD)`; release
/// builds make no such call, and ipcwire never asks for `F_GETFD` itself.
fn is_std_debug_check(name: &str, call: &str) -> bool {
    name == "fcntl" && call.contains(", F_GETFD)")
}

/// glibc's `malloc`, trimming its heap, may read
/// `/proc/sys/vm/overcommit_memory` once per process: an `openat`, a `read`
/// and a `close` that are the allocator's, not ipcwire's.
#[derive(Default)]
struct AllocatorFile {
    open: HashMap<u32, String>,
}

impl AllocatorFile {
    fn is_allocator_call(&mut self, pid: u32, call: &str) -> bool {
        if call.starts_with("openat(") && call.contains("\"/proc/sys/vm/overcommit_memory\"") {
            if let Some((_, fd)) = call.rsplit_once(" = ") {
                self.open.insert(pid, fd.trim().to_owned());
            }
            return true;
        }
        let Some(fd) = self.open.get(&pid) else {
            return false;
        };
        let on_it = |name: &str| {
            call.starts_with(&format!("{name}({fd},")) || call.starts_with(&format!("{name}({fd})"))
        };
        if on_it("close") {
            self.open.remove(&pid);
            return true;
        }
        on_it("read")
    }
}

/// `(pid, rest)` of a trace line; `None` for signals and exits.
fn parse_line(line: &str) -> Option<(u32, &str)> {
    let (pid, rest) = line.split_once(' ')?;
    let rest = rest.trim_start();
    if rest.starts_with("---") || rest.starts_with("+++") {
        return None;
    }
    Some((pid.parse().ok()?, rest))
}

/// Puts back together a call strace split in two when another thread's
/// call came between its start and its end; `None` until both halves are in.
fn join_split(split: &mut HashMap<u32, String>, pid: u32, call: &str) -> Option<String> {
    if let Some(start) = call.strip_suffix(" <unfinished ...>") {
        split.insert(pid, start.to_owned());
        return None;
    }
    match call.strip_prefix("<... ") {
        Some(resumed) => {
            let (_, end) = resumed.split_once("resumed>")?;
            Some(split.remove(&pid)? + end)
        }
        None => Some(call.to_owned()),
    }
}

fn call_name(call: &str) -> &str {
    call.split('(').next().unwrap_or(call)
}

/// The text of a marker write, such as `begin Connection::poll`.
fn marker_of(call: &str) -> Option<&str> {
    let text = call.strip_prefix("write(2, \"@audit ")?;
    text.split_once("\\n\"").map(|(marker, _)| marker)
}

/// Whether `call` (complete, or the start of one strace split) makes a
/// process: `clone` or `fork`; threads are not followed, they open their
/// own brackets.
fn is_fork(name: &str, call: &str) -> bool {
    matches!(name, "clone" | "fork") && !call.contains("CLONE_THREAD")
}

/// The pid a completed `clone`/`fork` returned.
fn new_process(name: &str, call: &str) -> Option<u32> {
    if !is_fork(name, call) {
        return None;
    }
    call.rsplit_once(" = ")?.1.trim().parse().ok()
}

/// A forked child starts inside its parent's bracket. Its calls, even its
/// own markers, may come in the trace before its parent's `clone` returns
/// there (`<unfinished ...>` until then): a process seen for the first
/// time while exactly one process is forking is that one's child, and the
/// `clone`'s return leaves a child that has shown up already as it is.
#[derive(Default)]
struct Forks {
    seen: HashSet<u32>,
    /// Processes whose `clone` has not returned in the trace yet, and the
    /// bracket each was in.
    forking: HashMap<u32, Option<Bracket>>,
}

impl Forks {
    /// A line of `pid`'s, before it is joined with its other half.
    fn on_line(&mut self, open: &mut HashMap<u32, Bracket>, pid: u32, call: &str) {
        if self.seen.insert(pid) && self.forking.len() == 1 {
            if let Some(Some(parent)) = self.forking.values().next() {
                open.insert(pid, inherit(parent));
            }
        }
        if let Some(start) = call.strip_suffix(" <unfinished ...>") {
            if is_fork(call_name(start), start) {
                self.forking.insert(pid, open.get(&pid).cloned());
            }
        }
    }

    /// `parent`'s `clone` returned `child`.
    fn returned(&mut self, open: &mut HashMap<u32, Bracket>, parent: u32, child: u32) {
        self.forking.remove(&parent);
        if !self.seen.insert(child) {
            return;
        }
        if let Some(bracket) = open.get(&parent) {
            let inherited = inherit(bracket);
            open.insert(child, inherited);
        }
    }
}

/// A child's bracket: its parent's functions, no calls counted yet.
fn inherit(parent: &Bracket) -> Bracket {
    Bracket {
        functions: parent.functions.clone(),
        ..Bracket::default()
    }
}

fn on_marker(report: &mut Report, open: &mut HashMap<u32, Bracket>, pid: u32, marker: &str) {
    let mut words = marker.split_whitespace();
    match words.next() {
        Some("begin") => {
            let mut bracket = Bracket::default();
            for word in words {
                match word.strip_prefix("calls=") {
                    Some(n) => bracket.expect = n.parse().ok(),
                    None => bracket.functions.push(word.to_owned()),
                }
            }
            match &mut report.running {
                Some(running) => running.bracketed.extend(bracket.functions.iter().cloned()),
                None => report
                    .problems
                    .push(format!("{marker:?} outside a scenario")),
            }
            report.brackets += 1;
            open.insert(pid, bracket);
        }
        Some("end") => {
            let Some(bracket) = open.remove(&pid) else {
                report
                    .problems
                    .push(format!("pid {pid}: end without begin"));
                return;
            };
            if let Some(n) = bracket.expect.filter(|&n| n != bracket.seen) {
                report.problems.push(format!(
                    "{:?} made {} system calls, the docs promise {n}",
                    bracket.functions, bracket.seen
                ));
            }
        }
        Some("scenario") => report.start_scenario(words.next().unwrap_or_default()),
        _ => report.problems.push(format!("bad marker {marker:?}")),
    }
}

/// One system call inside a bracket: listed for one of its functions, and
/// carrying the flags ipcwire promises.
fn check_call(problems: &mut Vec<String>, bracket: &Bracket, name: &str, call: &str) {
    let shown = call.get(..160).unwrap_or(call);
    let listed = bracket.functions.iter().any(|f| {
        let entry = inventory::syscalls_of(f);
        assert!(
            entry.is_some(),
            "bracket names {f}, which the inventory lacks"
        );
        entry.is_some_and(|calls| calls.contains(&name))
    });
    if !listed {
        problems.push(format!(
            "{name} is not listed for {:?}: {call}",
            bracket.functions
        ));
    }
    let flag = match name {
        "pipe2" => Some("O_CLOEXEC"),
        "socket" | "socketpair" | "accept4" => Some("SOCK_CLOEXEC"),
        "sendto" | "sendmsg" => Some("MSG_NOSIGNAL"),
        "recvmsg" => Some("MSG_CMSG_CLOEXEC"),
        _ => None,
    };
    if let Some(flag) = flag.filter(|flag| !call.contains(flag)) {
        problems.push(format!("{name} without {flag}: {shown}"));
    }
}

/// A child whose calls come in the trace before its parent's `clone`
/// returns there is held to its parent's bracket until it opens its own,
/// and to its own afterwards: the `clone`'s return changes neither.
#[test]
fn a_child_may_run_before_its_fork_returns_in_the_trace() {
    let trace = r#"100 write(2, "@audit scenario processes_and_signals\n", 38) = 38
100 write(2, "@audit begin ipcwire::fork_with_pipe\n", 37) = 37
100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>
101 set_robust_list(0x7f0000000000, 24) = 0
101 getpid() = 101
101 write(2, "@audit begin Connection::send_bytes\n", 36) = 36
101 sendto(4, "\0\0\0\5ready", 9, MSG_NOSIGNAL, NULL, 0 <unfinished ...>
100 <... clone resumed>, child_tidptr=0x7f0000000000) = 101
101 <... sendto resumed>) = 9
100 close(4) = 0
"#;
    let report = check_trace(trace);
    let unlisted: Vec<&String> = report
        .problems
        .iter()
        .filter(|p| p.contains("is not listed"))
        .collect();
    assert_eq!(unlisted.len(), 1, "{unlisted:#?}");
    assert!(
        unlisted[0].starts_with("getpid is not listed for [\"ipcwire::fork_with_pipe\"]"),
        "{unlisted:#?}"
    );
    assert_eq!(report.calls, 5);
}
