//! The property the `seccomp_filter` fuzz target checks, shared with the
//! replay of its committed seeds (`tests/fuzz_replay.rs`) and with
//! `tests/seccomp.rs`: whatever numbers and inventory entries a `Filter`
//! is given, it holds what a plain set would (up to `MAX_SYSCALLS`), and
//! its program passes the kernel's checks and gives a call `ALLOW` exactly
//! when the call comes from the filter's architecture, its number is below
//! the x32 bit on x86_64, and `Filter::allows` it; every other call gets
//! the action's verdict. Programs are run by the independent interpreter
//! in `bpf.rs`.
//!
//! Uses `crate::bpf`: included with `#[path = "common/bpf.rs"] mod bpf;`
//! and `#[path = "common/fuzz_seccomp_checks.rs"] mod
//! fuzz_seccomp_checks;` side by side.
#![allow(dead_code)] // each test binary uses a part

use std::collections::BTreeSet;
use std::num::NonZeroU16;

use ipcwire::seccomp::{Action, Arch, Filter, FilterError, MAX_SOCKETCALL_OP, MAX_SYSCALLS};
use ipcwire::sys::inventory::{self, INVENTORY};

use crate::bpf;

/// `Action::Errno(n)`; `n` is never 0, which the type refuses.
pub const fn errno(n: u16) -> Action {
    match NonZeroU16::new(n) {
        Some(n) => Action::Errno(n),
        None => panic!("0 is no error number"),
    }
}

pub const ARCHES: [Arch; 3] = [Arch::X86_64, Arch::AARCH64, Arch::X86];

/// Where a call may come from: the three architectures, x86_64's value
/// without its 64-bit flag, and values no architecture has.
pub const FROM: [u32; 6] = [
    bpf::AUDIT_ARCH_X86_64,
    bpf::AUDIT_ARCH_AARCH64,
    bpf::AUDIT_ARCH_I386,
    bpf::AUDIT_ARCH_X86_64 & !0x8000_0000,
    0,
    u32::MAX,
];

/// The `AUDIT_ARCH_*` value of `arch`, from the kernel's headers.
pub fn audit_arch(arch: Arch) -> u32 {
    if arch == Arch::X86_64 {
        bpf::AUDIT_ARCH_X86_64
    } else if arch == Arch::AARCH64 {
        bpf::AUDIT_ARCH_AARCH64
    } else {
        assert_eq!(arch, Arch::X86, "an architecture this check does not know");
        bpf::AUDIT_ARCH_I386
    }
}

/// The verdict for a refused call, from the kernel's numbers.
pub fn deny_verdict(action: Action) -> u32 {
    match action {
        Action::KillProcess => bpf::SECCOMP_RET_KILL_PROCESS,
        Action::Errno(errno) => bpf::SECCOMP_RET_ERRNO | u32::from(errno.get()),
        Action::Trap => bpf::SECCOMP_RET_TRAP,
        Action::Log => bpf::SECCOMP_RET_LOG,
        other => panic!("an action this check does not know: {other:?}"),
    }
}

/// i686's `socketcall`, whose first argument is the socket call to make.
pub const SOCKETCALL: u32 = 102;

/// What the kernel must get from `filter` for call `nr` from `from`, with
/// no arguments. On x86_64 every number from the x32 bit up is refused:
/// x32 calls, and numbers no x86_64 call has.
pub fn expected(filter: &Filter, nr: u32, from: u32) -> u32 {
    expected_for(filter, &bpf::SeccompData::new(nr, from))
}

/// [`expected`] for a call with arguments: on i686, `socketcall` is
/// allowed for the operations the filter allows (the low half of the
/// first argument).
pub fn expected_for(filter: &Filter, data: &bpf::SeccompData) -> u32 {
    let nr = data.nr;
    let beyond = filter.arch() == Arch::X86_64 && nr >= bpf::X32_SYSCALL_BIT;
    let socket_op = filter.arch() == Arch::X86
        && nr == SOCKETCALL
        && filter.allows_socketcall(data.args[0] as u32);
    if data.arch == audit_arch(filter.arch()) && !beyond && (filter.allows(nr) || socket_op) {
        bpf::SECCOMP_RET_ALLOW
    } else {
        deny_verdict(filter.action())
    }
}

/// The length of `filter`'s program: head, the `socketcall` check on
/// i686 when some operations (not `socketcall` whole) are allowed, one
/// comparison per number, two verdicts.
pub fn program_len(filter: &Filter) -> usize {
    let ops = (1..=MAX_SOCKETCALL_OP)
        .filter(|&op| filter.allows_socketcall(op))
        .count();
    let check = if filter.arch() == Arch::X86 && ops > 0 && !filter.allows(SOCKETCALL) {
        4 + ops
    } else {
        0
    };
    head_len(filter.arch()) + check + filter.allowed().len() + 2
}

/// Instructions before the comparisons: the architecture check, the load
/// of the number and, on x86_64, the x32 check.
pub fn head_len(arch: Arch) -> usize {
    if arch == Arch::X86_64 {
        6
    } else {
        4
    }
}

/// Checks `filter`'s program as the kernel would, then its verdict for
/// each of `numbers` from each of [`FROM`] against [`expected`].
pub fn assert_verdicts(filter: &Filter, numbers: impl IntoIterator<Item = u32>) {
    let program = filter.program();
    let insns = program.instructions();
    if let Err(e) = bpf::check(insns) {
        panic!("the kernel would refuse the program of {filter:?}: {e}\n{program:?}");
    }
    assert_eq!(
        insns.len(),
        program_len(filter),
        "program length for {filter:?}"
    );
    for nr in numbers {
        for from in FROM {
            assert_eq!(
                bpf::verdict(insns, nr, from),
                expected(filter, nr, from),
                "call {nr:#x} from arch {from:#x} under {filter:?}"
            );
        }
    }
    // Every operation, and a few beyond, with junk in the high half.
    for op in 0..=MAX_SOCKETCALL_OP + 2 {
        for high in [0, 0xdead_beef_u64 << 32] {
            for from in FROM {
                let mut data = bpf::SeccompData::new(SOCKETCALL, from);
                data.args[0] = high | u64::from(op);
                assert_eq!(
                    bpf::run(insns, &data),
                    expected_for(filter, &data),
                    "socketcall({op}) from arch {from:#x} under {filter:?}"
                );
            }
        }
    }
}

/// Numbers worth probing in `filter`: each allowed one; the neighbours
/// and x32 forms of the first, the last and about 64 between; and the
/// edges of the number space.
pub fn probes(filter: &Filter) -> Vec<u32> {
    let mut numbers = vec![
        0,
        1,
        bpf::X32_SYSCALL_BIT - 1,
        bpf::X32_SYSCALL_BIT,
        0x7fff_ffff,
        0x8000_0000,
        u32::MAX,
    ];
    let allowed = filter.allowed();
    let every = allowed.len().div_ceil(64).max(1);
    for (i, &nr) in allowed.iter().enumerate() {
        numbers.push(nr);
        if i % every == 0 || i + 1 == allowed.len() {
            numbers.extend([
                nr.wrapping_sub(1),
                nr.wrapping_add(1),
                nr | bpf::X32_SYSCALL_BIT,
                nr & !bpf::X32_SYSCALL_BIT,
            ]);
        }
    }
    numbers
}

/// The fuzz target: bytes choose an architecture, an action, then inventory
/// entries (by index), raw numbers (one byte, two or four) and the runtime
/// list, in any order; see the module docs for what must hold.
pub fn seccomp_filter(data: &[u8]) {
    let (filter, model) = build(data);
    let mut rng = Rng::new(fnv1a(data));
    let mut numbers = probes(&filter);
    numbers.extend((0..64).map(|_| rng.next_u64() as u32));
    numbers.extend((0..64).map(|_| rng.next_u64() as u32 % 1024));
    numbers.extend((0..16).map(|_| rng.next_u64() as u32 | bpf::X32_SYSCALL_BIT));
    for &nr in &numbers {
        assert_eq!(filter.allows(nr), model.contains(&nr), "allows({nr:#x})");
    }
    // The program reads only the number and the architecture.
    let program = filter.program();
    for &nr in &numbers[..numbers.len().min(64)] {
        let from = audit_arch(filter.arch());
        let mut data = bpf::SeccompData::new(nr, from);
        data.instruction_pointer = rng.next_u64();
        data.args = [0; 6].map(|_: u64| rng.next_u64());
        assert_eq!(
            bpf::run(program.instructions(), &data),
            expected_for(&filter, &data),
            "call {nr:#x} with arguments {data:x?}"
        );
    }
    assert_verdicts(&filter, numbers);
}

/// The filter the fuzz input `data` describes, as [`seccomp_filter`]
/// builds and checks it.
pub fn filter_of(data: &[u8]) -> Filter {
    build(data).0
}

/// Steps per input, so an input of any length runs quickly.
const MAX_STEPS: usize = 1024;

/// Builds the filter `data` describes next to a plain set of what it must
/// hold, and checks that each step succeeds or fails alike on both, and
/// that they end up holding the same numbers.
fn build(data: &[u8]) -> (Filter, BTreeSet<u32>) {
    let mut input = Bytes(data);
    let arch = ARCHES[usize::from(input.byte()) % ARCHES.len()];
    let action = match input.byte() % 4 {
        0 => Action::KillProcess,
        1 => match NonZeroU16::new(u16::from_be_bytes([input.byte(), input.byte()])) {
            Some(errno) => Action::Errno(errno),
            None => Action::Log,
        },
        2 => Action::Trap,
        _ => Action::Log,
    };
    let mut filter = Filter::new(arch, action);
    assert_eq!((filter.arch(), filter.action()), (arch, action));
    let mut model = BTreeSet::new();
    // The `socketcall` operations allowed one by one; `None` once a
    // function's entry added its own (only where i686 is native).
    let mut ops = Some(0u32);
    for _ in 0..MAX_STEPS {
        if input.0.is_empty() {
            break;
        }
        let choice = input.byte();
        if choice >= 250 {
            allow_op(&mut filter, &mut ops, u32::from(input.byte() % 24));
            continue;
        }
        match choice % 5 {
            0 => {
                let entry = &INVENTORY[usize::from(input.byte()) % INVENTORY.len()];
                allow_entry(&mut filter, &mut model, entry.function, entry.syscalls);
                if Arch::native() == Some(arch) && arch == Arch::X86 {
                    ops = None;
                }
            }
            1 => allow_number(&mut filter, &mut model, u32::from(input.byte())),
            2 => {
                let nr = u16::from_be_bytes([input.byte(), input.byte()]);
                allow_number(&mut filter, &mut model, u32::from(nr));
            }
            3 => {
                let nr = [0; 4].map(|_: u8| input.byte());
                allow_number(&mut filter, &mut model, u32::from_be_bytes(nr));
            }
            _ => allow_runtime(&mut filter, &mut model),
        }
        assert_eq!(filter.allowed().len(), model.len(), "{filter:?}");
    }
    assert!(
        filter.allowed().iter().eq(model.iter()),
        "{filter:?} should hold {model:?}"
    );
    if let Some(ops) = ops {
        for op in 0..=MAX_SOCKETCALL_OP + 3 {
            let listed = op <= MAX_SOCKETCALL_OP && ops & (1 << op) != 0;
            let want = arch == Arch::X86 && (model.contains(&SOCKETCALL) || listed);
            assert_eq!(
                filter.allows_socketcall(op),
                want,
                "allows_socketcall({op})"
            );
        }
    }
    (filter, model)
}

/// `allow_socketcall(op)`: only i686 has `socketcall`, whose operations
/// are 1 to 20.
fn allow_op(filter: &mut Filter, ops: &mut Option<u32>, op: u32) {
    let valid = filter.arch() == Arch::X86 && (1..=MAX_SOCKETCALL_OP).contains(&op);
    let want = if valid {
        Ok(())
    } else {
        Err(FilterError::Unreachable)
    };
    assert_eq!(
        filter.allow_socketcall(op).map(|_| ()),
        want,
        "allow_socketcall({op})"
    );
    if let (true, Some(ops)) = (valid, ops.as_mut()) {
        *ops |= 1 << op;
    }
}

/// Adds `nr` to the set, unless the architecture check refuses it (x32
/// numbers, on x86_64), or it is new and the set is full.
fn model_allow(model: &mut BTreeSet<u32>, arch: Arch, nr: u32) -> Result<(), FilterError> {
    if arch == Arch::X86_64 && nr >= bpf::X32_SYSCALL_BIT {
        return Err(FilterError::Unreachable);
    }
    if model.len() == MAX_SYSCALLS && !model.contains(&nr) {
        return Err(FilterError::Full);
    }
    model.insert(nr);
    Ok(())
}

/// Adds the numbers `names` have on this architecture, in order, up to
/// the first that does not fit.
fn model_allow_names(
    model: &mut BTreeSet<u32>,
    arch: Arch,
    names: &[&str],
) -> Result<(), FilterError> {
    for name in names {
        // Its operations come with the socket calls they stand for.
        if *name == "socketcall" {
            continue;
        }
        if let Some(nr) = inventory::number(name).and_then(|n| u32::try_from(n).ok()) {
            model_allow(model, arch, nr)?;
        }
    }
    Ok(())
}

fn allow_number(filter: &mut Filter, model: &mut BTreeSet<u32>, nr: u32) {
    let want = model_allow(model, filter.arch(), nr);
    assert_eq!(filter.allow(nr).map(|_| ()), want, "allow({nr:#x})");
}

/// Function names give this build's numbers, for a filter of this build's
/// architecture only.
fn names_result(
    filter: &Filter,
    model: &mut BTreeSet<u32>,
    names: &[&str],
) -> Result<(), FilterError> {
    if Arch::native() == Some(filter.arch()) {
        model_allow_names(model, filter.arch(), names)
    } else {
        Err(FilterError::ForeignArch)
    }
}

#[cfg(target_os = "linux")]
fn allow_entry(filter: &mut Filter, model: &mut BTreeSet<u32>, function: &str, names: &[&str]) {
    let want = names_result(filter, model, names);
    let got = filter.allow_function(function).map(|_| ());
    assert_eq!(got, want, "allow_function({function:?})");
}

#[cfg(target_os = "linux")]
fn allow_runtime(filter: &mut Filter, model: &mut BTreeSet<u32>) {
    // The allocator and exit; std's descriptor check in debug builds.
    let debug: &[&str] = if cfg!(debug_assertions) {
        &["fcntl", "fcntl64"]
    } else {
        &[]
    };
    let want = names_result(filter, model, ipcwire::seccomp::RUNTIME)
        .and_then(|()| names_result(filter, model, debug));
    assert_eq!(filter.allow_runtime().map(|_| ()), want, "allow_runtime()");
}

/// Elsewhere there are no function names to allow.
#[cfg(not(target_os = "linux"))]
fn allow_entry(_: &mut Filter, _: &mut BTreeSet<u32>, _: &str, _: &[&str]) {}

#[cfg(not(target_os = "linux"))]
fn allow_runtime(_: &mut Filter, _: &mut BTreeSet<u32>) {}

/// Reads fuzz input front to back; past the end it yields zeros.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&first, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        first
    }
}

/// FNV-1a: a seed for the probes from the input.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// SplitMix64: small, deterministic, good enough to pick test cases.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
