//! `ipcwire::seccomp`: the programs a `Filter` builds, instruction by
//! instruction on each architecture; their verdicts, run by an interpreter
//! written from the kernel's definitions (`common/bpf.rs`), against a
//! direct lookup; and, in forked children, the kernel taking them and
//! applying each action.

#[path = "common/bpf.rs"]
mod bpf;
#[cfg(target_os = "linux")]
#[path = "common/confine.rs"]
mod confine;
#[path = "common/fork.rs"]
mod fork;
#[path = "common/fuzz_seccomp_checks.rs"]
mod fuzz_seccomp_checks;
#[path = "common/heap.rs"]
mod heap;
#[path = "common/serial.rs"]
mod serial;
#[path = "common/skip.rs"]
mod skip;

use fuzz_seccomp_checks::{
    assert_verdicts, deny_verdict, errno, head_len, probes, Rng, ARCHES, FROM,
};
use ipcwire::seccomp::{
    Action, Arch, Filter, FilterError, Instruction, MAX_INSTRUCTIONS, MAX_SOCKETCALL_OP,
    MAX_SYSCALLS,
};
#[cfg(target_os = "linux")]
use ipcwire::{seccomp::RUNTIME, sys::inventory, sys::inventory::INVENTORY};

const ALLOW: u32 = bpf::SECCOMP_RET_ALLOW;
const ACTIONS: [Action; 4] = [Action::KillProcess, errno(1), Action::Trap, Action::Log];

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Instruction {
    Instruction { code, jt, jf, k }
}

fn load(offset: u32) -> Instruction {
    insn(bpf::LOAD_WORD, 0, 0, offset)
}

fn jeq(k: u32, jt: u8) -> Instruction {
    insn(bpf::JUMP_EQ, jt, 0, k)
}

fn ret(k: u32) -> Instruction {
    insn(bpf::RETURN, 0, 0, k)
}

/// The head of every program: load the architecture, return `deny` unless
/// it is `arch`, load the number; on x86_64, return `deny` from the x32 bit up.
fn head(arch: Arch, deny: u32) -> Vec<Instruction> {
    let mut head = vec![
        load(4),
        jeq(fuzz_seccomp_checks::audit_arch(arch), 1),
        ret(deny),
        load(0),
    ];
    if arch == Arch::X86_64 {
        head.extend([insn(bpf::JUMP_GE, 0, 1, bpf::X32_SYSCALL_BIT), ret(deny)]);
    }
    head
}

fn filter(arch: Arch, action: Action, numbers: &[u32]) -> Filter {
    let mut filter = Filter::new(arch, action);
    for &nr in numbers {
        filter.allow(nr).expect("room in the filter");
    }
    filter
}

/// 0 to 1023, and the probes around what `filter` allows.
fn sweep(filter: &Filter) -> impl Iterator<Item = u32> {
    (0..1024).chain(probes(filter))
}

// ---- Programs, instruction by instruction ----

#[test]
fn x86_64_checks_the_arch_then_the_x32_bit_then_each_number() {
    let f = filter(Arch::X86_64, Action::KillProcess, &[60, 0, 1]);
    let kill = bpf::SECCOMP_RET_KILL_PROCESS;
    assert_eq!(
        f.program().instructions(),
        [
            load(4),
            insn(0x15, 1, 0, 0xC000_003E),
            ret(kill),
            load(0),
            insn(0x35, 0, 1, 0x4000_0000),
            ret(kill),
            jeq(0, 3),
            jeq(1, 2),
            jeq(60, 1),
            ret(kill),
            ret(ALLOW),
        ]
    );
}

#[test]
fn aarch64_has_no_x32_check() {
    let f = filter(Arch::AARCH64, errno(13), &[63, 57]);
    let deny = bpf::SECCOMP_RET_ERRNO | 13;
    assert_eq!(
        f.program().instructions(),
        [
            load(4),
            insn(0x15, 1, 0, 0xC000_00B7),
            ret(deny),
            load(0),
            jeq(57, 2),
            jeq(63, 1),
            ret(deny),
            ret(ALLOW),
        ]
    );
}

#[test]
fn x86_has_no_x32_check() {
    let f = filter(Arch::X86, Action::Trap, &[3]);
    let trap = bpf::SECCOMP_RET_TRAP;
    assert_eq!(
        f.program().instructions(),
        [
            load(4),
            insn(0x15, 1, 0, 0x4000_0003),
            ret(trap),
            load(0),
            jeq(3, 1),
            ret(trap),
            ret(ALLOW),
        ]
    );
}

/// On i686 a socket call allowed by operation: the number and the
/// operation (`args[0]`, at offset 16) are checked before the list, so
/// that the other operations stay refused.
#[test]
fn x86_checks_socketcall_by_operation() {
    let mut f = filter(Arch::X86, Action::Trap, &[3]);
    f.allow_socketcall(8).unwrap().allow_socketcall(1).unwrap();
    let trap = bpf::SECCOMP_RET_TRAP;
    assert_eq!(
        f.program().instructions(),
        [
            load(4),
            insn(0x15, 1, 0, 0x4000_0003),
            ret(trap),
            load(0),
            insn(0x15, 0, 5, 102),
            load(16),
            jeq(1, 2),
            jeq(8, 1),
            ret(trap),
            ret(ALLOW),
            jeq(3, 1),
            ret(trap),
            ret(ALLOW),
        ]
    );
    assert!(f.allows_socketcall(1) && f.allows_socketcall(8) && !f.allows_socketcall(2));
    assert_verdicts(&f, sweep(&f));
    // Allowing the number itself allows every operation, and the check goes.
    f.allow(102).unwrap();
    assert!((1..=MAX_SOCKETCALL_OP).all(|op| f.allows_socketcall(op)));
    assert_eq!(f.program().instructions().len(), 4 + 2 + 2);
    assert_verdicts(&f, sweep(&f));
    // Only i686 has it.
    for arch in [Arch::X86_64, Arch::AARCH64] {
        let mut f = Filter::new(arch, Action::Trap);
        assert_eq!(
            f.allow_socketcall(1).map(|_| ()),
            Err(FilterError::Unreachable)
        );
        assert!(!f.allows_socketcall(1));
    }
    for op in [0, MAX_SOCKETCALL_OP + 1, u32::MAX] {
        let result = Filter::new(Arch::X86, Action::Trap)
            .allow_socketcall(op)
            .map(|_| ());
        assert_eq!(result, Err(FilterError::Unreachable), "{op}");
    }
}

#[test]
fn an_empty_filter_refuses_every_call() {
    for arch in ARCHES {
        for action in ACTIONS {
            let f = Filter::new(arch, action);
            assert!(f.allowed().is_empty());
            let deny = deny_verdict(action);
            let mut program = head(arch, deny);
            program.extend([ret(deny), ret(ALLOW)]);
            assert_eq!(f.program().instructions(), program, "{f:?}");
            assert_verdicts(&f, sweep(&f));
            let program = f.program();
            assert!((0..1024).all(|nr| bpf::verdict(
                program.instructions(),
                nr,
                f.arch().audit_arch()
            ) == deny));
        }
    }
}

#[test]
fn one_number_is_allowed_and_its_neighbours_are_not() {
    for arch in ARCHES {
        let f = filter(arch, Action::KillProcess, &[42]);
        assert_eq!(f.allowed(), [42]);
        assert!(f.allows(42) && !f.allows(41) && !f.allows(43));
        let deny = bpf::SECCOMP_RET_KILL_PROCESS;
        let mut program = head(arch, deny);
        program.extend([jeq(42, 1), ret(deny), ret(ALLOW)]);
        let built = f.program();
        assert_eq!(built.instructions(), program);
        let from = fuzz_seccomp_checks::audit_arch(arch);
        assert_eq!(bpf::verdict(built.instructions(), 42, from), ALLOW);
        assert_eq!(bpf::verdict(built.instructions(), 41, from), deny);
        assert_eq!(bpf::verdict(built.instructions(), 43, from), deny);
        assert_verdicts(&f, sweep(&f));
    }
}

#[test]
fn a_number_allowed_twice_is_held_once() {
    let mut f = Filter::new(Arch::X86_64, Action::Log);
    for nr in [5, 7, 5, 5, 7] {
        f.allow(nr).unwrap();
    }
    assert_eq!(f.allowed(), [5, 7]);
    assert_eq!(f.program().instructions().len(), 6 + 2 + 2);
    assert_verdicts(&f, sweep(&f));
}

#[test]
fn numbers_are_kept_in_ascending_order() {
    let mut rng = Rng::new(7);
    for arch in ARCHES {
        let mut numbers: Vec<u32> = (0..100).map(|_| rng.next_u64() as u32 % 600).collect();
        let f = filter(arch, Action::Trap, &numbers);
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(f.allowed(), numbers);
        // One comparison per number, in that order, each jumping to the
        // final ALLOW.
        let program = f.program();
        let insns = program.instructions();
        let comparisons = &insns[head_len(arch)..insns.len() - 2];
        assert_eq!(comparisons.len(), numbers.len());
        for (i, (c, &nr)) in comparisons.iter().zip(&numbers).enumerate() {
            let pc = head_len(arch) + i;
            assert_eq!((c.code, c.k, c.jf), (bpf::JUMP_EQ, nr, 0));
            assert_eq!(pc + 1 + usize::from(c.jt), insns.len() - 1, "{pc}");
        }
        assert_verdicts(&f, sweep(&f));
    }
}

#[test]
fn a_full_filter_refuses_a_new_number_and_its_jumps_reach_allow() {
    for arch in ARCHES {
        let all: Vec<u32> = (0..MAX_SYSCALLS as u32).map(|i| i * 3).collect();
        let mut f = filter(arch, errno(1), &all);
        assert_eq!(f.allowed(), all);
        assert_eq!(f.allow(1).map(|_| ()), Err(FilterError::Full));
        let last = MAX_SYSCALLS as u32 * 3;
        assert_eq!(f.allow(last).map(|_| ()), Err(FilterError::Full));
        assert!(f.allow(3).is_ok(), "a number already held still fits");
        assert_eq!(f.allowed(), all, "unchanged");

        let program = f.program();
        let insns = program.instructions();
        assert_eq!(insns.len(), head_len(arch) + MAX_SYSCALLS + 2);
        // The first comparison jumps the furthest a jump can: 255.
        let first = insns[head_len(arch)];
        assert_eq!((first.k, first.jt), (0, 255));
        let last = insns[insns.len() - 3];
        assert_eq!((last.k, last.jt), (254 * 3, 1));
        assert_verdicts(&f, sweep(&f));
    }
    // The longest: i686 with every `socketcall` operation besides.
    let numbers: Vec<u32> = (0..=MAX_SYSCALLS as u32).filter(|&n| n != 102).collect();
    let mut f = filter(Arch::X86, errno(1), &numbers);
    for op in 1..=MAX_SOCKETCALL_OP {
        f.allow_socketcall(op).unwrap();
    }
    assert_eq!(f.program().instructions().len(), MAX_INSTRUCTIONS);
    assert_verdicts(&f, sweep(&f));
    assert_eq!(
        FilterError::Full.to_string(),
        "a filter allows at most 255 system calls"
    );
}

#[test]
fn each_action_gives_the_kernels_verdict() {
    let cases = [
        (Action::KillProcess, 0x8000_0000),
        (Action::Trap, 0x0003_0000),
        (Action::Log, 0x7ffc_0000),
        (errno(1), 0x0005_0001),
        (errno(4095), 0x0005_0fff),
        (errno(u16::MAX), 0x0005_ffff),
    ];
    for (action, verdict) in cases {
        assert_eq!(action.verdict(), verdict, "{action:?}");
        assert_eq!(deny_verdict(action), verdict, "{action:?}");
        // Every "deny" in the program, and only those, return it.
        let f = filter(Arch::X86_64, action, &[1, 2]);
        let returns: Vec<u32> = f
            .program()
            .instructions()
            .iter()
            .filter(|i| i.code == bpf::RETURN)
            .map(|i| i.k)
            .collect();
        assert_eq!(returns, [verdict, verdict, verdict, ALLOW], "{action:?}");
    }
    #[cfg(target_os = "linux")]
    {
        assert_eq!(
            Action::KillProcess.verdict(),
            libc::SECCOMP_RET_KILL_PROCESS
        );
        assert_eq!(Action::Trap.verdict(), libc::SECCOMP_RET_TRAP);
        assert_eq!(Action::Log.verdict(), libc::SECCOMP_RET_LOG);
        assert_eq!(
            errno(77).verdict() & libc::SECCOMP_RET_DATA,
            77,
            "the error number is the verdict's data"
        );
    }
}

#[test]
fn a_call_from_another_architecture_gets_the_action() {
    for arch in ARCHES {
        let numbers: Vec<u32> = (0..64).collect();
        let f = filter(arch, errno(1), &numbers);
        let program = f.program();
        let own = fuzz_seccomp_checks::audit_arch(arch);
        assert_eq!(f.arch().audit_arch(), own);
        for from in FROM.into_iter().filter(|&from| from != own) {
            for nr in (0..128).chain([bpf::X32_SYSCALL_BIT]) {
                let verdict = bpf::verdict(program.instructions(), nr, from);
                assert_eq!(verdict, bpf::SECCOMP_RET_ERRNO | 1, "{nr} from {from:#x}");
            }
        }
        assert_verdicts(&f, sweep(&f));
    }
}

#[test]
fn x86_64_refuses_x32_calls_and_numbers_past_them() {
    let x32 = bpf::X32_SYSCALL_BIT;
    let mut f = filter(Arch::X86_64, Action::KillProcess, &[0, 1, 60]);
    // No x86_64 call has these numbers, and the program refuses them
    // before it reads the list: the list refuses them too, so that what
    // `allows` says is what the kernel does.
    for nr in [x32, x32 | 1, 0x8000_0001, u32::MAX] {
        assert_eq!(f.allow(nr).map(|_| ()), Err(FilterError::Unreachable));
        assert!(!f.allows(nr));
    }
    assert_eq!(f.allowed(), [0, 1, 60]);
    let program = f.program();
    let from = bpf::AUDIT_ARCH_X86_64;
    let kill = bpf::SECCOMP_RET_KILL_PROCESS;
    for nr in [0, 1, 60] {
        assert_eq!(bpf::verdict(program.instructions(), nr, from), ALLOW);
        assert_eq!(bpf::verdict(program.instructions(), nr | x32, from), kill);
    }
    for nr in [x32 | 1, 0x8000_0001, x32, u32::MAX] {
        assert_eq!(bpf::verdict(program.instructions(), nr, from), kill);
    }
    assert_verdicts(&f, sweep(&f));

    // The other architectures have no x32 entry: such numbers are numbers.
    for arch in [Arch::AARCH64, Arch::X86] {
        let f = filter(arch, Action::KillProcess, &[x32 | 1]);
        let from = fuzz_seccomp_checks::audit_arch(arch);
        assert_eq!(
            bpf::verdict(f.program().instructions(), x32 | 1, from),
            ALLOW
        );
        assert_verdicts(&f, sweep(&f));
    }
}

#[test]
fn architectures_are_named_and_native_as_built() {
    assert_eq!(Arch::X86_64.audit_arch(), 0xC000_003E);
    assert_eq!(Arch::AARCH64.audit_arch(), 0xC000_00B7);
    assert_eq!(Arch::X86.audit_arch(), 0x4000_0003);
    let expected = if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        Some(Arch::X86_64)
    } else if cfg!(all(target_os = "linux", target_arch = "aarch64")) {
        Some(Arch::AARCH64)
    } else if cfg!(all(target_os = "linux", target_arch = "x86")) {
        Some(Arch::X86)
    } else {
        None
    };
    assert_eq!(Arch::native(), expected);
    assert_eq!(Filter::native(Action::Log).map(|f| f.arch()), expected);
}

// ---- Function names ----

/// This target's seccomp architecture; without one, says `test` skips.
#[cfg(target_os = "linux")]
fn native_arch(test: &str) -> Option<Arch> {
    let native = Arch::native();
    if native.is_none() {
        skip::skipped(format_args!(
            "{test}: no seccomp architecture for this target"
        ));
    }
    native
}

#[cfg(target_os = "linux")]
#[test]
fn a_misspelt_function_is_refused() {
    let Some(native) = native_arch("a_misspelt_function_is_refused") else {
        return;
    };
    let mut f = Filter::new(native, Action::KillProcess);
    for name in ["Connection::send_byte", "send_bytes", "", "sys::Read"] {
        assert_eq!(
            f.allow_function(name).map(|_| ()),
            Err(FilterError::UnknownFunction),
            "{name:?}"
        );
    }
    assert!(f.allowed().is_empty(), "nothing added");
    // The names before the misspelt one are in.
    let result = f.allow_functions(&["sys::read", "Conection::recv", "sys::write"]);
    assert_eq!(result.map(|_| ()), Err(FilterError::UnknownFunction));
    let read = inventory::number("read").unwrap() as u32;
    assert_eq!(f.allowed(), [read]);
}

#[cfg(target_os = "linux")]
#[test]
fn function_names_need_the_native_architecture() {
    let Some(native) = native_arch("function_names_need_the_native_architecture") else {
        return;
    };
    for arch in ARCHES.into_iter().filter(|&a| a != native) {
        let mut f = Filter::new(arch, Action::KillProcess);
        let foreign = Err(FilterError::ForeignArch);
        assert_eq!(f.allow_function("sys::read").map(|_| ()), foreign);
        assert_eq!(f.allow_functions(&["sys::read"]).map(|_| ()), foreign);
        assert_eq!(f.allow_runtime().map(|_| ()), foreign);
        // Checked before the name: a foreign filter learns nothing.
        assert_eq!(
            f.allow_function("no such").map(|_| ()),
            Err(FilterError::UnknownFunction)
        );
        assert!(f.allowed().is_empty());
    }
}

#[cfg(not(target_os = "linux"))]
#[test]
fn function_names_and_the_kernel_need_linux() {
    skip::skipped(
        "seccomp filters are Linux's: the tests of function names, of the inventory's \
         filters and of the kernel do not run here",
    );
}

// ---- Verdicts against the lookup ----

/// The numbers `names` have on this architecture: the lookup, without the
/// builder.
#[cfg(target_os = "linux")]
/// The numbers of `names` on this architecture, but `socketcall`, which a
/// filter allows by operation only.
fn numbers_of(names: &[&str]) -> Vec<u32> {
    let mut numbers: Vec<u32> = names
        .iter()
        .filter(|&&name| name != "socketcall")
        .filter_map(|name| inventory::number(name))
        .map(|n| u32::try_from(n).unwrap())
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

#[test]
fn random_numbers_on_every_architecture_match_the_lookup() {
    let mut rng = Rng::new(1);
    for arch in ARCHES {
        for action in ACTIONS {
            for size in [0, 1, 2, 3, 17, 100, 254, 255] {
                let mut f = Filter::new(arch, action);
                while f.allowed().len() < size {
                    let nr = match rng.below(4) {
                        0 => rng.below(1024) as u32,
                        1 => rng.below(4096) as u32,
                        2 => rng.next_u64() as u32,
                        _ => rng.below(16) as u32 | bpf::X32_SYSCALL_BIT,
                    };
                    match f.allow(nr) {
                        Err(FilterError::Unreachable) => {
                            assert!(arch == Arch::X86_64 && nr >= bpf::X32_SYSCALL_BIT)
                        }
                        other => assert!(other.is_ok(), "{other:?}"),
                    }
                }
                assert_verdicts(&f, sweep(&f));
            }
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn each_inventory_entry_alone_matches_the_lookup() {
    if native_arch("each_inventory_entry_alone_matches_the_lookup").is_none() {
        return;
    }
    for entry in INVENTORY {
        let mut f = Filter::native(Action::KillProcess).unwrap();
        f.allow_function(entry.function).unwrap();
        assert_eq!(
            f.allowed(),
            numbers_of(entry.syscalls),
            "{}",
            entry.function
        );
        assert!(!f.allowed().is_empty(), "{} allows nothing", entry.function);
        // On i686 a socket call also allows its `socketcall` operations,
        // never `socketcall` whole.
        let ops = (1..=MAX_SOCKETCALL_OP).filter(|&op| f.allows_socketcall(op));
        let socket = entry.syscalls.contains(&"socketcall") && f.arch() == Arch::X86;
        assert_eq!(ops.count() > 0, socket, "{}", entry.function);
        assert!(!f.allows_socketcall(0) && !f.allows_socketcall(21));
        assert_verdicts(&f, sweep(&f));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn all_entries_and_the_runtime_fit_and_match_the_lookup() {
    if native_arch("all_entries_and_the_runtime_fit_and_match_the_lookup").is_none() {
        return;
    }
    let mut names: Vec<&str> = INVENTORY
        .iter()
        .flat_map(|e| e.syscalls.iter().copied())
        .collect();
    names.extend(RUNTIME);
    if cfg!(debug_assertions) {
        names.extend(["fcntl", "fcntl64"]);
    }
    let expected = numbers_of(&names);
    for action in ACTIONS {
        let mut f = Filter::native(action).unwrap();
        for entry in INVENTORY {
            f.allow_function(entry.function).unwrap();
        }
        f.allow_runtime().expect("everything fits in one filter");
        assert_eq!(f.allowed(), expected);
        assert_verdicts(&f, sweep(&f));
    }
    println!(
        "the whole inventory and the runtime: {} system calls of {MAX_SYSCALLS}",
        expected.len()
    );
}

// ---- The interpreter itself ----

#[test]
fn the_interpreter_uses_the_kernels_numbers() {
    assert_eq!(bpf::LOAD_WORD, 0x20);
    assert_eq!(bpf::JUMP_EQ, 0x15);
    assert_eq!(bpf::JUMP_GE, 0x35);
    assert_eq!(bpf::JUMP_GT, 0x25);
    assert_eq!(bpf::JUMP_SET, 0x45);
    assert_eq!(bpf::RETURN, 0x06);
    #[cfg(target_os = "linux")]
    {
        let code = |c: u32| u16::try_from(c).unwrap();
        assert_eq!(
            bpf::LOAD_WORD,
            code(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS)
        );
        assert_eq!(
            bpf::JUMP_EQ,
            code(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K)
        );
        assert_eq!(
            bpf::JUMP_GE,
            code(libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K)
        );
        assert_eq!(
            bpf::JUMP_GT,
            code(libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K)
        );
        assert_eq!(
            bpf::JUMP_SET,
            code(libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K)
        );
        assert_eq!(bpf::RETURN, code(libc::BPF_RET | libc::BPF_K));
        for (ours, theirs) in [
            (bpf::BPF_ALU, libc::BPF_ALU),
            (bpf::BPF_MISC, libc::BPF_MISC),
            (bpf::BPF_MEM, libc::BPF_MEM),
            (bpf::BPF_LEN, libc::BPF_LEN),
            (bpf::BPF_ST, libc::BPF_ST),
            (bpf::BPF_STX, libc::BPF_STX),
            (bpf::BPF_LDX, libc::BPF_LDX),
            (bpf::BPF_X, libc::BPF_X),
            (bpf::BPF_A, libc::BPF_A),
            (bpf::BPF_TXA, libc::BPF_TXA),
            (bpf::BPF_ADD, libc::BPF_ADD),
            (bpf::BPF_SUB, libc::BPF_SUB),
            (bpf::BPF_MUL, libc::BPF_MUL),
            (bpf::BPF_DIV, libc::BPF_DIV),
            (bpf::BPF_OR, libc::BPF_OR),
            (bpf::BPF_AND, libc::BPF_AND),
            (bpf::BPF_LSH, libc::BPF_LSH),
            (bpf::BPF_RSH, libc::BPF_RSH),
            (bpf::BPF_NEG, libc::BPF_NEG),
            (bpf::BPF_XOR, libc::BPF_XOR),
            (bpf::BPF_JA, libc::BPF_JA),
        ] {
            assert_eq!(ours, code(theirs));
        }
        assert_eq!(bpf::BPF_MAXINSNS, libc::BPF_MAXINSNS as usize);
        assert_eq!(
            bpf::SECCOMP_RET_KILL_PROCESS,
            libc::SECCOMP_RET_KILL_PROCESS
        );
        assert_eq!(bpf::SECCOMP_RET_KILL_THREAD, libc::SECCOMP_RET_KILL_THREAD);
        assert_eq!(bpf::SECCOMP_RET_TRAP, libc::SECCOMP_RET_TRAP);
        assert_eq!(bpf::SECCOMP_RET_ERRNO, libc::SECCOMP_RET_ERRNO);
        assert_eq!(bpf::SECCOMP_RET_USER_NOTIF, libc::SECCOMP_RET_USER_NOTIF);
        assert_eq!(bpf::SECCOMP_RET_TRACE, libc::SECCOMP_RET_TRACE);
        assert_eq!(bpf::SECCOMP_RET_LOG, libc::SECCOMP_RET_LOG);
        assert_eq!(bpf::SECCOMP_RET_ALLOW, libc::SECCOMP_RET_ALLOW);
        assert_eq!(bpf::SECCOMP_RET_ACTION_FULL, libc::SECCOMP_RET_ACTION_FULL);
        assert_eq!(bpf::SECCOMP_RET_DATA, libc::SECCOMP_RET_DATA);
        assert_eq!(
            bpf::SECCOMP_DATA_SIZE as usize,
            std::mem::size_of::<libc::seccomp_data>()
        );
        // The layout `SeccompData::bytes` writes.
        use std::mem::offset_of;
        assert_eq!(offset_of!(libc::seccomp_data, nr), 0);
        assert_eq!(offset_of!(libc::seccomp_data, arch), 4);
        assert_eq!(offset_of!(libc::seccomp_data, instruction_pointer), 8);
        assert_eq!(offset_of!(libc::seccomp_data, args), 16);
    }
}

/// Programs the kernel refuses, each with the check's reason.
fn refused_programs() -> Vec<(Vec<Instruction>, bpf::CheckError)> {
    use bpf::CheckError as E;
    let allow = ret(ALLOW);
    let mut cases = vec![
        (vec![], E::Empty),
        (vec![allow; 4097], E::TooLong { len: 4097 }),
        (vec![load(2), allow], E::Load { pc: 0, offset: 2 }),
        (vec![load(64), allow], E::Load { pc: 0, offset: 64 }),
        (
            vec![load(0x1000), allow],
            E::Load {
                pc: 0,
                offset: 0x1000,
            },
        ),
        // A half-word load, and an indirect one: packet loads.
        (
            vec![insn(0x28, 0, 0, 0), allow],
            E::Opcode { pc: 0, code: 0x28 },
        ),
        (
            vec![insn(0x40, 0, 0, 0), allow],
            E::Opcode { pc: 0, code: 0x40 },
        ),
        // BPF_MOD, which classic BPF has and seccomp does not take.
        (
            vec![insn(0x94, 0, 0, 3), allow],
            E::Opcode { pc: 0, code: 0x94 },
        ),
        (
            vec![insn(0xff, 0, 0, 0), allow],
            E::Opcode { pc: 0, code: 0xff },
        ),
        (
            vec![insn(0x34, 0, 0, 0), allow],
            E::DivisionByZero { pc: 0 },
        ),
        (
            vec![insn(0x64, 0, 0, 32), allow],
            E::Shift { pc: 0, by: 32 },
        ),
        (
            vec![insn(0x02, 0, 0, 16), allow],
            E::Scratch { pc: 0, cell: 16 },
        ),
        (
            vec![insn(0x60, 0, 0, 3), allow],
            E::UnsetScratch { pc: 0, cell: 3 },
        ),
        // Set on one path only.
        (
            vec![
                load(0),
                jeq(1, 1),
                insn(0x02, 0, 0, 3),
                insn(0x60, 0, 0, 3),
                allow,
            ],
            E::UnsetScratch { pc: 3, cell: 3 },
        ),
        (
            vec![load(0), jeq(1, 1), allow],
            E::Jump { pc: 1, target: 3 },
        ),
        (
            vec![load(0), insn(0x15, 0, 2, 1), allow],
            E::Jump { pc: 1, target: 4 },
        ),
        (
            vec![insn(0x05, 0, 0, 1), allow],
            E::Jump { pc: 0, target: 2 },
        ),
        (vec![allow, load(0)], E::LastNotReturn { code: 0x20 }),
        (vec![load(0)], E::LastNotReturn { code: 0x20 }),
    ];
    // The furthest a conditional jump reaches, one short.
    let mut far = vec![load(0), jeq(1, 255)];
    far.extend(vec![allow; 255]);
    cases.push((far, E::Jump { pc: 1, target: 257 }));
    cases
}

/// Programs the kernel takes, each returning ALLOW for any call once
/// it is done with the operations it tries.
fn accepted_programs() -> Vec<Vec<Instruction>> {
    let allow = ret(ALLOW);
    let mut far = vec![load(0), jeq(1, 255)];
    far.extend(vec![allow; 256]);
    vec![
        vec![allow],
        vec![allow; 4096],
        far,
        vec![load(60), insn(0x80, 0, 0, 0), insn(0x81, 0, 0, 0), allow],
        vec![
            load(0),
            insn(0x02, 0, 0, 15),
            insn(0x60, 0, 0, 15),
            insn(0x61, 0, 0, 15),
            allow,
        ],
        vec![
            insn(0x00, 0, 0, 5), // A = 5
            insn(0x01, 0, 0, 2), // X = 2
            insn(0x3c, 0, 0, 0), // A /= X
            allow,
        ],
        vec![insn(0x05, 0, 0, 1), ret(0), allow],
        vec![insn(0x00, 0, 0, ALLOW), insn(0x16, 0, 0, 0)], // return A
    ]
}

#[test]
fn the_check_refuses_what_the_kernel_refuses() {
    for (program, why) in refused_programs() {
        assert_eq!(bpf::check(&program), Err(why), "{program:?}");
        assert!(!why.to_string().is_empty());
    }
    for program in accepted_programs() {
        assert_eq!(bpf::check(&program), Ok(()), "{program:?}");
    }
}

#[test]
fn the_interpreter_runs_each_seccomp_operation() {
    // A = nr; X = A; A = (A + 3) * 4 - 2; A |= 0x100; A &= 0xfff; A ^= 1;
    // A <<= 2; A >>= 1; M[2] = A; A = -A; A = M[2]; A /= X;
    // if A > 10 ... ; return A
    let arith = [
        load(0),
        insn(0x07, 0, 0, 0),     // TAX
        insn(0x04, 0, 0, 3),     // A += 3
        insn(0x24, 0, 0, 4),     // A *= 4
        insn(0x14, 0, 0, 2),     // A -= 2
        insn(0x44, 0, 0, 0x100), // A |= 0x100
        insn(0x54, 0, 0, 0xfff), // A &= 0xfff
        insn(0xa4, 0, 0, 1),     // A ^= 1
        insn(0x64, 0, 0, 2),     // A <<= 2
        insn(0x74, 0, 0, 1),     // A >>= 1
        insn(0x02, 0, 0, 2),     // M[2] = A
        insn(0x84, 0, 0, 0),     // A = -A
        insn(0x60, 0, 0, 2),     // A = M[2]
        insn(0x3c, 0, 0, 0),     // A /= X
        insn(0x16, 0, 0, 0),     // return A
    ];
    assert_eq!(bpf::check(&arith), Ok(()));
    for nr in [1u32, 7, 100] {
        let a = (((((nr + 3) * 4 - 2) | 0x100) & 0xfff) ^ 1) << 2 >> 1;
        assert_eq!(bpf::verdict(&arith, nr, 0), a / nr, "{nr}");
    }
    assert_eq!(bpf::verdict(&arith, 0, 0), 0, "division by X = 0 returns 0");

    // Jumps: on the architecture's third byte, and on the first argument.
    let jumps = [
        load(4),
        insn(0x45, 0, 1, 0x00ff_0000), // JSET
        ret(1),
        insn(0x25, 0, 1, 0x1000), // JGT
        ret(2),
        load(16),
        insn(0x1d, 1, 0, 0), // JEQ X (X = 0)
        ret(3),
        insn(0x05, 0, 0, 1), // JA
        ret(4),
        ret(5),
    ];
    assert_eq!(bpf::check(&jumps), Ok(()));
    assert_eq!(bpf::verdict(&jumps, 0, 0x00ab_0000), 1);
    assert_eq!(bpf::verdict(&jumps, 0, 0x1001), 2);
    let mut data = bpf::SeccompData::new(0, 3);
    data.args[0] = 0x9_0000_0009;
    assert_eq!(bpf::run(&jumps, &data), 3);
    data.args[0] = 0;
    assert_eq!(bpf::run(&jumps, &data), 5);
}

/// `inventory::name` undoes `inventory::number` for every name a filter
/// can be built from, so a `SIGSYS` report can be read back.
#[test]
#[cfg(target_os = "linux")]
fn every_number_a_filter_may_hold_has_its_name() {
    let listed = INVENTORY.iter().flat_map(|e| e.syscalls.iter());
    let mut named = 0;
    for &name in listed.chain(RUNTIME) {
        if let Some(number) = inventory::number(name) {
            let back = inventory::name(number).expect("a name for a known number");
            assert_eq!(
                inventory::number(back),
                Some(number),
                "{name} → {number} → {back}"
            );
            named += 1;
        }
    }
    assert!(named > 50, "{named}");
    assert_eq!(inventory::name(-1), None);
    assert_eq!(inventory::name(100_000), None);
}

/// A filter and its program are fixed-size values: building one from every
/// inventory entry, the runtime and numbers past the limit, and compiling
/// it, allocate nothing (counted on this thread).
#[test]
#[cfg(target_os = "linux")]
fn building_a_filter_allocates_nothing() {
    let Some(mut filter) = Filter::native(Action::KillProcess) else {
        skip::skipped("building_a_filter_allocates_nothing: no seccomp architecture here");
        return;
    };
    let before = heap::allocations();
    for entry in INVENTORY {
        filter.allow_function(entry.function).unwrap();
    }
    filter.allow_runtime().unwrap();
    let full = (0..1000).any(|nr| filter.allow(nr).is_err());
    let program = std::hint::black_box(filter.program());
    assert_eq!(heap::allocations() - before, 0);
    assert!(full, "1,000 numbers cannot fit");
    let len = head_len(filter.arch()) + MAX_SYSCALLS + 2;
    assert_eq!(program.instructions().len(), len);
}

// ---- The kernel ----

#[cfg(target_os = "linux")]
mod kernel {
    use super::*;
    use confine::confined;
    use ipcwire::sys;
    use ipcwire::{ExitStatus, Signal};

    /// An error number `socketpair` never gives by itself.
    const REFUSAL: i32 = libc::ENOTRECOVERABLE;

    /// The native filter, or why these tests cannot run here.
    fn native(test: &str, action: Action) -> Option<Filter> {
        if let Some(why) = confine::unsupported() {
            skip::skipped(format_args!("{test}: {why}"));
            return None;
        }
        Filter::native(action)
    }

    /// A filter that lets the child exit and nothing else.
    fn exit_only(test: &str, action: Action) -> Option<Filter> {
        let mut filter = native(test, action)?;
        filter.allow_runtime().unwrap();
        Some(filter)
    }

    /// Calls `socketpair`, refused unless the filter lists it.
    fn socketpair() -> Result<(), sys::Errno> {
        // Forgotten: closing is another call, not necessarily allowed.
        sys::socketpair().map(std::mem::forget)
    }

    /// What a child exits with after its `socketpair`.
    const WORKED: i32 = 10;
    const REFUSED: i32 = 11;
    const FAILED: i32 = 12;

    fn outcome(call: Result<(), sys::Errno>) -> i32 {
        match call {
            Ok(()) => WORKED,
            Err(e) if e.raw() == REFUSAL => REFUSED,
            Err(_) => FAILED,
        }
    }

    /// How a child ends that calls `socketpair` under a filter that allows
    /// only its exit; `None` if the test cannot run here.
    fn call_refused(test: &str, action: Action) -> Option<ExitStatus> {
        let filter = exit_only(test, action)?;
        let status = confined(&filter, || outcome(socketpair()));
        Some(status.expect("the kernel takes the filter"))
    }

    #[test]
    fn kill_process_ends_the_child_on_a_refused_call() {
        let test = "kill_process_ends_the_child_on_a_refused_call";
        if let Some(status) = call_refused(test, Action::KillProcess) {
            assert_eq!(status, ExitStatus::Signaled(Signal::SYS));
        }
    }

    #[test]
    fn errno_fails_the_refused_call_and_the_child_carries_on() {
        let test = "errno_fails_the_refused_call_and_the_child_carries_on";
        if let Some(status) = call_refused(test, errno(REFUSAL as u16)) {
            assert_eq!(status, ExitStatus::Exited(REFUSED));
        }
    }

    #[test]
    fn trap_raises_sigsys_which_ends_a_child_without_a_handler() {
        let test = "trap_raises_sigsys_which_ends_a_child_without_a_handler";
        if let Some(status) = call_refused(test, Action::Trap) {
            assert_eq!(status, ExitStatus::Signaled(Signal::SYS));
        }
    }

    #[test]
    fn log_lets_the_call_through() {
        if let Some(status) = call_refused("log_lets_the_call_through", Action::Log) {
            assert_eq!(status, ExitStatus::Exited(WORKED));
        }
    }

    /// One socket call allowed is not all of them: on i686, where the C
    /// library may make both through `socketcall`, the filter tells them
    /// apart by operation.
    #[test]
    fn allowing_socketpair_does_not_allow_socket() {
        let test = "allowing_socketpair_does_not_allow_socket";
        let Some(mut filter) = exit_only(test, errno(REFUSAL as u16)) else {
            return;
        };
        filter.allow_function("sys::socketpair").unwrap();
        let status = confined(&filter, || {
            let socket = sys::socket(libc::AF_UNIX as libc::sa_family_t).map(std::mem::forget);
            // Both outcomes in one exit code: 3 × socketpair's + socket's.
            (outcome(socketpair()) - WORKED) * 3 + outcome(socket) - WORKED
        });
        // socketpair worked (0 × 3), socket was refused.
        let want = REFUSED - WORKED;
        assert_eq!(status, Ok(ExitStatus::Exited(want)));
    }

    #[test]
    fn an_allowed_call_works_under_every_action() {
        for action in ACTIONS.into_iter().chain([errno(REFUSAL as u16)]) {
            let Some(mut filter) = exit_only("an_allowed_call_works_under_every_action", action)
            else {
                return;
            };
            filter
                .allow_functions(&["sys::socketpair", "drop(OwnedFd)"])
                .unwrap();
            let status = confined(&filter, || match sys::socketpair() {
                Ok(fds) => {
                    drop(fds);
                    0
                }
                Err(e) => e.raw().min(127),
            });
            assert_eq!(status, Ok(ExitStatus::Exited(0)), "{action:?}");
        }
    }

    /// How `socketpair` may go under `filter`, whose `Errno` action is
    /// `REFUSAL`; `[0]` where a refusal would end the child, so it is not
    /// tried. On i686 the C library may make it through `socketcall`:
    /// when the filter allows one of the two calls and not the other,
    /// either outcome is right.
    fn expected_socketpair(filter: &Filter) -> &'static [i32] {
        let allows = |name| inventory::number(name).map(|nr| filter.allows(nr as u32));
        let direct = allows("socketpair").unwrap();
        let multiplexed = allows("socketcall").unwrap_or(direct);
        match filter.action() {
            Action::Log => &[WORKED],
            _ if direct && multiplexed => &[WORKED],
            Action::Errno(_) if direct || multiplexed => &[WORKED, REFUSED],
            Action::Errno(_) => &[REFUSED],
            _ => &[0],
        }
    }

    #[test]
    fn the_kernel_takes_filters_of_random_inventory_entries() {
        let test = "the_kernel_takes_filters_of_random_inventory_entries";
        if native(test, Action::Log).is_none() {
            return;
        }
        let mut rng = Rng::new(0x5ecc);
        for set in 0..30 {
            let action = [
                errno(REFUSAL as u16),
                Action::KillProcess,
                Action::Trap,
                Action::Log,
            ][set % 4];
            let mut filter = Filter::native(action).unwrap();
            // The first set is the whole inventory, the others a random part.
            let chance = if set == 0 { 1 } else { 2 + rng.below(6) };
            let functions: Vec<&str> = INVENTORY
                .iter()
                .filter(|_| rng.below(chance) == 0)
                .map(|e| e.function)
                .collect();
            filter.allow_functions(&functions).unwrap();
            filter.allow_runtime().unwrap();
            let expected = expected_socketpair(&filter);
            let status = confined(&filter, || match expected {
                [0] => 0,
                _ => outcome(socketpair()),
            });
            let code = match status {
                Ok(ExitStatus::Exited(code)) => code,
                other => panic!("set {set}: {other:?}, {filter:?}"),
            };
            assert!(
                expected.contains(&code),
                "set {set}: {} functions, exited {code}, expected one of {expected:?}, {filter:?}",
                functions.len()
            );
        }
    }

    #[test]
    fn the_kernel_refuses_what_the_check_refuses() {
        if native("the_kernel_refuses_what_the_check_refuses", Action::Log).is_none() {
            return;
        }
        let refused = refused_programs();
        let accepted = accepted_programs();
        let status = {
            let _serial = serial::lock();
            let mut child = fork::fork(|| {
                if sys::set_no_new_privs().is_err() {
                    return 1;
                }
                for (i, (program, _)) in refused.iter().enumerate() {
                    if confine::install_raw(program) != Err(sys::Errno::INVAL) {
                        return 10 + i as i32;
                    }
                }
                // Each returns ALLOW for the calls after it.
                for (i, program) in accepted.iter().enumerate() {
                    if confine::install_raw(program).is_err() {
                        return 50 + i as i32;
                    }
                }
                0
            });
            child.wait()
        };
        assert_eq!(
            status,
            ExitStatus::Exited(0),
            "10 + i: the kernel took refused program i; 50 + i: it refused accepted program i"
        );
    }
}
