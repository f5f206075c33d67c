//! The classic-BPF program a [`Filter`](super::Filter) compiles to, and the
//! architectures it can check for.

use core::fmt;

/// An architecture a filter accepts system calls from, by its
/// `AUDIT_ARCH_*` value (the `arch` field of the kernel's `seccomp_data`).
///
/// A system call's number means different calls on different
/// architectures, and a 64-bit x86 process can also enter the kernel
/// through the 32-bit (`int 0x80`) and x32 interfaces. A filter therefore
/// first checks that the call comes from its architecture, and on x86_64
/// that the number is below the x32 bit (`0x4000_0000`), which every x32
/// call sets; anything else gets the filter's [`Action`](super::Action).
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Arch {
    audit: u32,
}

impl Arch {
    /// 64-bit x86 (`AUDIT_ARCH_X86_64`); x32 calls are refused.
    pub const X86_64: Arch = Arch { audit: 0xC000_003E };
    /// 64-bit Arm (`AUDIT_ARCH_AARCH64`).
    pub const AARCH64: Arch = Arch { audit: 0xC000_00B7 };
    /// 32-bit x86, i686 (`AUDIT_ARCH_I386`).
    pub const X86: Arch = Arch { audit: 0x4000_0003 };

    /// The architecture this program was built for, when it is one of the
    /// three above on Linux; `None` elsewhere (including the x32 target,
    /// whose calls an [`Arch::X86_64`] filter refuses).
    #[must_use]
    pub const fn native() -> Option<Arch> {
        if cfg!(not(target_os = "linux")) {
            None
        } else if cfg!(all(target_arch = "x86_64", target_pointer_width = "64")) {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::AARCH64)
        } else if cfg!(target_arch = "x86") {
            Some(Arch::X86)
        } else {
            None
        }
    }

    /// The `AUDIT_ARCH_*` value the kernel reports for calls from this
    /// architecture.
    #[must_use]
    pub const fn audit_arch(self) -> u32 {
        self.audit
    }

    /// Whether numbers with the x32 bit reach this architecture's entry.
    const fn has_x32(self) -> bool {
        self.audit == Arch::X86_64.audit
    }

    /// Whether socket calls may come through `socketcall`.
    pub(super) const fn has_socketcall(self) -> bool {
        self.audit == Arch::X86.audit
    }

    /// Whether the program's architecture check lets `number` reach the
    /// list.
    pub(super) const fn reaches(self, number: u32) -> bool {
        !self.has_x32() || number < X32_BIT
    }
}

impl fmt::Debug for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Arch::X86_64 => "X86_64",
            Arch::AARCH64 => "AARCH64",
            _ => "X86",
        };
        f.write_str(name)
    }
}

/// One classic-BPF instruction, laid out as the kernel's `struct
/// sock_filter`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Instruction {
    /// The operation: load, conditional jump or return.
    pub code: u16,
    /// For a jump, how many instructions to skip when the test holds.
    pub jt: u8,
    /// For a jump, how many instructions to skip when it does not.
    pub jf: u8,
    /// The operand: an offset to load, a value to compare, a verdict.
    pub k: u32,
}

// The kernel's names for the few operations a filter uses.
/// `BPF_LD | BPF_W | BPF_ABS`: load 32 bits of `seccomp_data`.
const LOAD: u16 = 0x20;
/// `BPF_JMP | BPF_JEQ | BPF_K`.
const JUMP_IF_EQUAL: u16 = 0x15;
/// `BPF_JMP | BPF_JGE | BPF_K`.
const JUMP_IF_AT_LEAST: u16 = 0x35;
/// `BPF_RET | BPF_K`.
const RETURN: u16 = 0x06;

/// Offsets in `struct seccomp_data`: `int nr; __u32 arch; ...`.
const NR: u32 = 0;
const ARCH: u32 = 4;

/// `__X32_SYSCALL_BIT`: set in the number of every x32 call.
const X32_BIT: u32 = 0x4000_0000;

/// i686's `socketcall`, which makes the socket call its first argument
/// names; `seccomp_data`'s `args[0]`, whose low half holds it (i686 is
/// little-endian).
pub(super) const SOCKETCALL: u32 = 102;
const ARG0: u32 = 16;

/// The highest `socketcall` operation, `SYS_SENDMMSG` (`linux/net.h`).
pub const MAX_SOCKETCALL_OP: u32 = 20;

/// `SECCOMP_RET_ALLOW`.
pub(super) const ALLOW: u32 = 0x7FFF_0000;

/// The most system calls one filter allows: a match jumps over the rest of
/// the list to the final "allow", and a jump reaches 255 instructions.
pub const MAX_SYSCALLS: usize = 255;

/// Instructions before the list: the architecture check and its verdict,
/// the number's load, the x32 check and its verdict.
const HEAD: usize = 6;

/// The `socketcall` check: the number, the operation's load, one
/// comparison per operation, two verdicts.
const SOCKETCALL_CHECK: usize = 4 + MAX_SOCKETCALL_OP as usize;

/// The longest program: i686's, whose head has no x32 check, with the
/// `socketcall` check, one comparison per call, two verdicts.
pub const MAX_INSTRUCTIONS: usize = HEAD - 2 + SOCKETCALL_CHECK + MAX_SYSCALLS + 2;

/// A seccomp filter program: at most [`MAX_INSTRUCTIONS`], held inline, so
/// building one allocates nothing.
///
/// Its shape, for an allowlist `n0, n1, ...` and a verdict `deny`:
///
/// ```text
///  0  load arch                 5  return deny         (x86_64 only: x32)
///  1  if arch == A skip 1       6  if nr == n0 jump to allow
///  2  return deny               7  if nr == n1 jump to allow
///  3  load nr                   …
///  4  if nr < X32_BIT skip 1       return deny
///                                  allow: return SECCOMP_RET_ALLOW
/// ```
///
/// Other architectures have no x32 check (instructions 4 and 5). On i686,
/// when the filter allows some `socketcall` operations (and not
/// `socketcall` whole), a check comes before the list: if the number is
/// `socketcall`, load its operation, jump to a final "allow" if it is one
/// of them, return deny otherwise. Besides that operation the program
/// loads only the number and the architecture, so Linux 5.11 and later run
/// it once per number when it is installed and keep the "allow" verdicts
/// in a cache: an allowed call then costs no filter run at all.
#[derive(Clone)]
pub struct Program {
    instructions: [Instruction; MAX_INSTRUCTIONS],
    len: usize,
}

impl Program {
    /// The program for `arch` allowing exactly `allowed` (no duplicates, at
    /// most [`MAX_SYSCALLS`]) and, on i686, the `socketcall` operations
    /// whose bits are set in `socketcall_ops`, and giving everything else
    /// the verdict `deny`.
    pub(super) fn compile(arch: Arch, allowed: &[u32], socketcall_ops: u32, deny: u32) -> Program {
        debug_assert!(allowed.len() <= MAX_SYSCALLS);
        let mut program = Program {
            instructions: [ret(0); MAX_INSTRUCTIONS],
            len: 0,
        };
        program.push(load(ARCH));
        program.push(jump(JUMP_IF_EQUAL, arch.audit, 1, 0));
        program.push(ret(deny));
        program.push(load(NR));
        if arch.has_x32() {
            program.push(jump(JUMP_IF_AT_LEAST, X32_BIT, 0, 1));
            program.push(ret(deny));
        }
        if arch.has_socketcall() && socketcall_ops != 0 && !allowed.contains(&SOCKETCALL) {
            program.push_socketcall_check(socketcall_ops, deny);
        }
        for (i, &nr) in allowed.iter().enumerate() {
            // Over the rest of the list and the final "deny".
            let to_allow = allowed.len() - i;
            program.push(jump(JUMP_IF_EQUAL, nr, to_allow as u8, 0));
        }
        program.push(ret(deny));
        program.push(ret(ALLOW));
        program
    }

    /// With the number loaded: whether it is `socketcall` with one of the
    /// operations in `ops` (allow), or another (`deny`); any other number
    /// goes on past the check with the number still loaded.
    fn push_socketcall_check(&mut self, ops: u32, deny: u32) {
        let count = ops.count_ones() as usize;
        // Over the load, the comparisons and both verdicts.
        self.push(jump(JUMP_IF_EQUAL, SOCKETCALL, 0, (count + 3) as u8));
        self.push(load(ARG0));
        let mut left = count;
        for op in (1..=MAX_SOCKETCALL_OP).filter(|op| ops & (1 << op) != 0) {
            // Over the other comparisons and "deny", to "allow".
            self.push(jump(JUMP_IF_EQUAL, op, left as u8, 0));
            left -= 1;
        }
        self.push(ret(deny));
        self.push(ret(ALLOW));
    }

    fn push(&mut self, instruction: Instruction) {
        self.instructions[self.len] = instruction;
        self.len += 1;
    }

    /// The instructions, as `seccomp(SECCOMP_SET_MODE_FILTER)` takes them.
    #[must_use]
    pub fn instructions(&self) -> &[Instruction] {
        &self.instructions[..self.len]
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.instructions()).finish()
    }
}

const fn load(offset: u32) -> Instruction {
    Instruction {
        code: LOAD,
        jt: 0,
        jf: 0,
        k: offset,
    }
}

const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Instruction {
    Instruction { code, jt, jf, k }
}

const fn ret(verdict: u32) -> Instruction {
    Instruction {
        code: RETURN,
        jt: 0,
        jf: 0,
        k: verdict,
    }
}
