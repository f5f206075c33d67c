//! The scenarios again, each in a forked child confined by a seccomp filter
//! built from nothing but its declared functions' inventory entries and
//! `seccomp::RUNTIME`: any system call the inventory misses, or the
//! scenario makes outside ipcwire, kills the child with `SIGSYS`. A child
//! that fails runs again under `Action::Trap`, which names the call.

use ipcwire::seccomp::{Action, Filter};
use ipcwire::sys::{self, inventory, ExitStatus};
use ipcwire::Signal;

use crate::scenarios::{self, SCENARIOS};
use crate::sigsys::{self, Shared};
use crate::{confine, serial, skip};

/// How a confined child ended, the call a trap caught and its panic.
struct Outcome {
    status: ExitStatus,
    trapped: Option<i64>,
    message: Option<String>,
}

/// Forks a child that installs a filter with `action`, allowing
/// `functions` and the runtime, then runs `work`. The caller holds
/// `serial::lock()`.
fn confined(functions: &[&str], action: Action, work: impl FnOnce()) -> Outcome {
    let mut filter = Filter::native(action).expect("a seccomp architecture");
    filter
        .allow_functions(functions)
        .and_then(Filter::allow_runtime)
        .expect("a filter of the inventory's functions");
    let shared = Shared::new();
    let prepare = || {
        shared.enter_child();
        if action == Action::Trap {
            shared.catch_sigsys();
        }
    };
    let status = confine::confined_after(&filter, prepare, || {
        work();
        0
    });
    Outcome {
        status: status.unwrap_or_else(|e| panic!("the kernel refused the filter: {e}")),
        trapped: shared.syscall(),
        message: shared.message(),
    }
}

/// Whether this kernel takes the filters; `false` after saying why the
/// test is skipped.
fn supported(test: &str) -> bool {
    let Some(why) = confine::unsupported() else {
        return true;
    };
    skip::skipped(format_args!("{test}: {why}"));
    false
}

/// A confined run that failed: how, and what the run under `Action::Trap`
/// learned.
struct Failure {
    killed: Outcome,
    trapped: Outcome,
}

/// Runs `work` confined to `functions` and the runtime with
/// `Action::KillProcess`; if it fails, again with `Action::Trap`, whose
/// handler names the refused call.
fn run_confined(functions: &[&str], work: impl Fn()) -> Result<(), Failure> {
    let killed = confined(functions, Action::KillProcess, &work);
    if killed.status.success() {
        return Ok(());
    }
    let trapped = confined(functions, Action::Trap, &work);
    Err(Failure { killed, trapped })
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; ", self.killed.status)?;
        match (self.trapped.trapped, self.trapped.status) {
            (Some(number), _) => write!(f, "the filter refused {}", sigsys::describe(number))?,
            // The kernel kills instead of trapping when SIGSYS is blocked,
            // as it is while glibc's `pthread_create` calls `clone3`.
            (None, ExitStatus::Signaled(Signal::SYS)) => {
                write!(
                    f,
                    "also under Action::Trap: a call made with SIGSYS blocked"
                )?;
            }
            (None, status) => write!(f, "under Action::Trap it {status}, no call refused")?,
        }
        let message = self
            .killed
            .message
            .as_ref()
            .or(self.trapped.message.as_ref());
        match message {
            Some(message) => write!(f, "\n{message}"),
            None => Ok(()),
        }
    }
}

#[test]
fn scenarios_run_confined_to_their_functions() {
    let _serial = serial::lock();
    if !supported("scenarios_run_confined_to_their_functions") {
        return;
    }
    let failures: Vec<String> = SCENARIOS
        .iter()
        .filter_map(|scenario| {
            let failed = run_confined(scenario.functions, || scenarios::run(scenario, false));
            failed
                .err()
                .map(|failure| format!("{}: {failure}", scenario.name))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    skip::say(format_args!(
        "seccomp: {} audit scenarios ran confined to their functions' inventory entries",
        SCENARIOS.len()
    ));
}

/// The negative test: a child allowed `Connection::send_bytes` and the
/// runtime calls `sys::getpid`, and is killed; the trap names `getpid`.
#[test]
fn a_call_outside_the_list_is_reported() {
    let _serial = serial::lock();
    if !supported("a_call_outside_the_list_is_reported") {
        return;
    }
    let outside = || {
        let _ = sys::getpid();
    };
    let Err(failure) = run_confined(&["Connection::send_bytes"], outside) else {
        panic!("getpid was allowed");
    };
    assert_eq!(failure.killed.status, ExitStatus::Signaled(Signal::SYS));
    assert_eq!(failure.trapped.status, ExitStatus::Exited(sigsys::TRAPPED));
    let number = failure
        .trapped
        .trapped
        .expect("the handler stored the call");
    assert_eq!(Some(number), inventory::number("getpid"), "{failure}");
    skip::say(format_args!(
        "seccomp: a call outside the list killed the child with SIGSYS: {}",
        sigsys::describe(number)
    ));
}
