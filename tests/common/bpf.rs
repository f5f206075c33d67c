//! A classic-BPF interpreter for seccomp programs, and the kernel's checks
//! on one, written from the kernel's own definitions rather than from
//! ipcwire's: `linux/bpf_common.h` and `linux/filter.h` (operations),
//! `linux/seccomp.h` (verdicts, `struct seccomp_data`), `linux/audit.h`
//! (architectures), and the checks of `bpf_check_classic` (net/core/filter.c)
//! and `seccomp_check_filter` (kernel/seccomp.c). Tests hold the programs
//! `ipcwire::seccomp` builds against it, and check these numbers against
//! libc's where libc has them.
//!
//! Included with `#[path = "common/bpf.rs"] mod bpf;`, and by the fuzz
//! target `seccomp_filter`.
#![allow(dead_code)] // each test binary uses a part

use std::fmt;

use ipcwire::seccomp::Instruction;

// Instruction classes, sizes, modes, operations and sources
// (linux/bpf_common.h, linux/filter.h).
pub const BPF_LD: u16 = 0x00;
pub const BPF_LDX: u16 = 0x01;
pub const BPF_ST: u16 = 0x02;
pub const BPF_STX: u16 = 0x03;
pub const BPF_ALU: u16 = 0x04;
pub const BPF_JMP: u16 = 0x05;
pub const BPF_RET: u16 = 0x06;
pub const BPF_MISC: u16 = 0x07;
pub const BPF_W: u16 = 0x00;
pub const BPF_H: u16 = 0x08;
pub const BPF_B: u16 = 0x10;
pub const BPF_IMM: u16 = 0x00;
pub const BPF_ABS: u16 = 0x20;
pub const BPF_IND: u16 = 0x40;
pub const BPF_MEM: u16 = 0x60;
pub const BPF_LEN: u16 = 0x80;
pub const BPF_ADD: u16 = 0x00;
pub const BPF_SUB: u16 = 0x10;
pub const BPF_MUL: u16 = 0x20;
pub const BPF_DIV: u16 = 0x30;
pub const BPF_OR: u16 = 0x40;
pub const BPF_AND: u16 = 0x50;
pub const BPF_LSH: u16 = 0x60;
pub const BPF_RSH: u16 = 0x70;
pub const BPF_NEG: u16 = 0x80;
pub const BPF_XOR: u16 = 0xa0;
pub const BPF_JA: u16 = 0x00;
pub const BPF_JEQ: u16 = 0x10;
pub const BPF_JGT: u16 = 0x20;
pub const BPF_JGE: u16 = 0x30;
pub const BPF_JSET: u16 = 0x40;
pub const BPF_K: u16 = 0x00;
pub const BPF_X: u16 = 0x08;
pub const BPF_A: u16 = 0x10;
pub const BPF_TAX: u16 = 0x00;
pub const BPF_TXA: u16 = 0x80;

/// The longest program the kernel takes.
pub const BPF_MAXINSNS: usize = 4096;
/// Scratch memory cells, `M[0]` to `M[15]`.
pub const BPF_MEMWORDS: u32 = 16;

/// The operations a seccomp filter uses, as the builder emits them.
pub const LOAD_WORD: u16 = BPF_LD | BPF_W | BPF_ABS; // 0x20
pub const JUMP_EQ: u16 = BPF_JMP | BPF_JEQ | BPF_K; // 0x15
pub const JUMP_GE: u16 = BPF_JMP | BPF_JGE | BPF_K; // 0x35
pub const JUMP_GT: u16 = BPF_JMP | BPF_JGT | BPF_K; // 0x25
pub const JUMP_SET: u16 = BPF_JMP | BPF_JSET | BPF_K; // 0x45
pub const RETURN: u16 = BPF_RET | BPF_K; // 0x06
/// The length loads, which seccomp turns into an immediate 64.
const LOAD_LEN: u16 = BPF_LD | BPF_W | BPF_LEN;
const LOAD_LEN_X: u16 = BPF_LDX | BPF_W | BPF_LEN;
// The rest, named for the interpreter's match.
const LOAD_IMM: u16 = BPF_LD | BPF_IMM;
const LOAD_IMM_X: u16 = BPF_LDX | BPF_IMM;
const LOAD_MEM: u16 = BPF_LD | BPF_MEM;
const LOAD_MEM_X: u16 = BPF_LDX | BPF_MEM;
const TAX: u16 = BPF_MISC | BPF_TAX;
const TXA: u16 = BPF_MISC | BPF_TXA;
const RETURN_A: u16 = BPF_RET | BPF_A;
const JUMP: u16 = BPF_JMP | BPF_JA;
const JUMP_EQ_X: u16 = BPF_JMP | BPF_JEQ | BPF_X;
const JUMP_GE_X: u16 = BPF_JMP | BPF_JGE | BPF_X;
const JUMP_GT_X: u16 = BPF_JMP | BPF_JGT | BPF_X;
const JUMP_SET_X: u16 = BPF_JMP | BPF_JSET | BPF_X;

// Verdicts (linux/seccomp.h).
pub const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const SECCOMP_RET_KILL_THREAD: u32 = 0x0000_0000;
pub const SECCOMP_RET_TRAP: u32 = 0x0003_0000;
pub const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
pub const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
pub const SECCOMP_RET_LOG: u32 = 0x7ffc_0000;
pub const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
pub const SECCOMP_RET_ACTION_FULL: u32 = 0xffff_0000;
pub const SECCOMP_RET_DATA: u32 = 0x0000_ffff;

// Architectures (linux/audit.h, linux/elf-em.h): the machine, with
// __AUDIT_ARCH_64BIT (0x8000_0000) and __AUDIT_ARCH_LE (0x4000_0000).
pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
pub const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `__X32_SYSCALL_BIT` (arch/x86/include/uapi/asm/unistd.h).
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// `sizeof(struct seccomp_data)`: `int nr; __u32 arch; __u64
/// instruction_pointer; __u64 args[6];`.
pub const SECCOMP_DATA_SIZE: u32 = 64;

/// What the kernel shows a filter about one system call.
#[derive(Copy, Clone, Debug, Default)]
pub struct SeccompData {
    pub nr: u32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

impl SeccompData {
    pub fn new(nr: u32, arch: u32) -> SeccompData {
        SeccompData {
            nr,
            arch,
            ..SeccompData::default()
        }
    }

    /// The structure's bytes, in this machine's order, as the kernel lays
    /// it out.
    pub fn bytes(&self) -> [u8; SECCOMP_DATA_SIZE as usize] {
        let mut b = [0; SECCOMP_DATA_SIZE as usize];
        b[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        b[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        b[8..16].copy_from_slice(&self.instruction_pointer.to_ne_bytes());
        for (i, arg) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_ne_bytes());
        }
        b
    }
}

/// Why the kernel would refuse a program (`EINVAL`), and where.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CheckError {
    Empty,
    TooLong {
        len: usize,
    },
    /// An operation seccomp does not allow (packet loads, `BPF_MOD`, ...).
    Opcode {
        pc: usize,
        code: u16,
    },
    /// A load of `seccomp_data` that is unaligned or outside its 64 bytes.
    Load {
        pc: usize,
        offset: u32,
    },
    DivisionByZero {
        pc: usize,
    },
    Shift {
        pc: usize,
        by: u32,
    },
    /// A scratch cell past `M[15]`.
    Scratch {
        pc: usize,
        cell: u32,
    },
    /// A scratch cell read on some path before any store to it.
    UnsetScratch {
        pc: usize,
        cell: u32,
    },
    /// A jump to `target`, past the last instruction.
    Jump {
        pc: usize,
        target: usize,
    },
    /// The last instruction is not a return, so a run can fall off the end.
    LastNotReturn {
        code: u16,
    },
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CheckError::Empty => write!(f, "empty program"),
            CheckError::TooLong { len } => {
                write!(f, "{len} instructions, over {BPF_MAXINSNS}")
            }
            CheckError::Opcode { pc, code } => {
                write!(f, "instruction {pc}: operation {code:#06x} not allowed in seccomp")
            }
            CheckError::Load { pc, offset } => write!(
                f,
                "instruction {pc}: load at {offset}, unaligned or past seccomp_data's {SECCOMP_DATA_SIZE} bytes"
            ),
            CheckError::DivisionByZero { pc } => write!(f, "instruction {pc}: division by 0"),
            CheckError::Shift { pc, by } => write!(f, "instruction {pc}: shift by {by}"),
            CheckError::Scratch { pc, cell } => {
                write!(f, "instruction {pc}: scratch cell {cell}, past {BPF_MEMWORDS}")
            }
            CheckError::UnsetScratch { pc, cell } => {
                write!(f, "instruction {pc}: scratch cell {cell} read before it is set")
            }
            CheckError::Jump { pc, target } => {
                write!(f, "instruction {pc}: jump to {target}, outside the program")
            }
            CheckError::LastNotReturn { code } => {
                write!(f, "last instruction ({code:#06x}) is not a return")
            }
        }
    }
}

/// The operations `seccomp_check_filter` lets through, besides the load of
/// `seccomp_data` (checked for its offset) and `BPF_LEN` (which it turns
/// into an immediate 64).
const SECCOMP_ALLOWED: &[u16] = &[
    BPF_RET | BPF_K,
    BPF_RET | BPF_A,
    BPF_ALU | BPF_ADD | BPF_K,
    BPF_ALU | BPF_ADD | BPF_X,
    BPF_ALU | BPF_SUB | BPF_K,
    BPF_ALU | BPF_SUB | BPF_X,
    BPF_ALU | BPF_MUL | BPF_K,
    BPF_ALU | BPF_MUL | BPF_X,
    BPF_ALU | BPF_DIV | BPF_K,
    BPF_ALU | BPF_DIV | BPF_X,
    BPF_ALU | BPF_AND | BPF_K,
    BPF_ALU | BPF_AND | BPF_X,
    BPF_ALU | BPF_OR | BPF_K,
    BPF_ALU | BPF_OR | BPF_X,
    BPF_ALU | BPF_XOR | BPF_K,
    BPF_ALU | BPF_XOR | BPF_X,
    BPF_ALU | BPF_LSH | BPF_K,
    BPF_ALU | BPF_LSH | BPF_X,
    BPF_ALU | BPF_RSH | BPF_K,
    BPF_ALU | BPF_RSH | BPF_X,
    BPF_ALU | BPF_NEG,
    BPF_LD | BPF_IMM,
    BPF_LDX | BPF_IMM,
    BPF_MISC | BPF_TAX,
    BPF_MISC | BPF_TXA,
    BPF_LD | BPF_MEM,
    BPF_LDX | BPF_MEM,
    BPF_ST,
    BPF_STX,
    BPF_JMP | BPF_JA,
    BPF_JMP | BPF_JEQ | BPF_K,
    BPF_JMP | BPF_JEQ | BPF_X,
    BPF_JMP | BPF_JGE | BPF_K,
    BPF_JMP | BPF_JGE | BPF_X,
    BPF_JMP | BPF_JGT | BPF_K,
    BPF_JMP | BPF_JGT | BPF_X,
    BPF_JMP | BPF_JSET | BPF_K,
    BPF_JMP | BPF_JSET | BPF_X,
];

/// [`SECCOMP_ALLOWED`] as a table by operation (all are below 0x100).
const SECCOMP_OPS: [bool; 0x100] = {
    let mut table = [false; 0x100];
    let mut i = 0;
    while i < SECCOMP_ALLOWED.len() {
        table[SECCOMP_ALLOWED[i] as usize] = true;
        i += 1;
    }
    table
};

fn is_conditional(code: u16) -> bool {
    code & 0x07 == BPF_JMP && code & 0xf0 != BPF_JA
}

/// What `seccomp(SECCOMP_SET_MODE_FILTER)` checks before it takes a
/// program, as `bpf_check_classic` and then `seccomp_check_filter` do: at
/// least one and at most 4,096 instructions; only the operations seccomp
/// allows, loads of `seccomp_data` aligned and inside it; no division by a
/// constant 0, no shift by 32 or more, scratch cells that exist and are
/// set before they are read; every jump inside the program; and a return
/// last. Jumps only go forward, so with a return last no run can fall off
/// the end or loop.
pub fn check(program: &[Instruction]) -> Result<(), CheckError> {
    let len = program.len();
    if len == 0 {
        return Err(CheckError::Empty);
    }
    if len > BPF_MAXINSNS {
        return Err(CheckError::TooLong { len });
    }
    for (pc, insn) in program.iter().enumerate() {
        let (code, k) = (insn.code, insn.k);
        match code {
            LOAD_WORD if k >= SECCOMP_DATA_SIZE || k % 4 != 0 => {
                return Err(CheckError::Load { pc, offset: k });
            }
            LOAD_WORD | LOAD_LEN | LOAD_LEN_X => {}
            _ if !SECCOMP_OPS.get(usize::from(code)).copied().unwrap_or(false) => {
                return Err(CheckError::Opcode { pc, code })
            }
            _ => {}
        }
        match code {
            c if c == BPF_ALU | BPF_DIV | BPF_K && k == 0 => {
                return Err(CheckError::DivisionByZero { pc })
            }
            c if (c == BPF_ALU | BPF_LSH | BPF_K || c == BPF_ALU | BPF_RSH | BPF_K) && k >= 32 => {
                return Err(CheckError::Shift { pc, by: k })
            }
            c if [BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX].contains(&c)
                && k >= BPF_MEMWORDS =>
            {
                return Err(CheckError::Scratch { pc, cell: k })
            }
            c if c == BPF_JMP | BPF_JA && k as usize >= len - pc - 1 => {
                return Err(CheckError::Jump {
                    pc,
                    target: pc + 1 + k as usize,
                })
            }
            c if is_conditional(c) => {
                for skip in [insn.jt, insn.jf] {
                    let target = pc + 1 + usize::from(skip);
                    if target >= len {
                        return Err(CheckError::Jump { pc, target });
                    }
                }
            }
            _ => {}
        }
    }
    let last = program[len - 1].code;
    if last != BPF_RET | BPF_K && last != BPF_RET | BPF_A {
        return Err(CheckError::LastNotReturn { code: last });
    }
    check_scratch(program)
}

/// `check_load_and_stores`: on every path, a scratch cell is stored before
/// it is loaded. One bit per cell: what is set on all paths into each
/// instruction.
fn check_scratch(program: &[Instruction]) -> Result<(), CheckError> {
    let mut into = vec![u16::MAX; program.len()];
    let mut set: u16 = 0;
    for (pc, insn) in program.iter().enumerate() {
        set &= into[pc];
        match insn.code {
            BPF_ST | BPF_STX => set |= 1 << insn.k,
            c if (c == BPF_LD | BPF_MEM || c == BPF_LDX | BPF_MEM) && set & (1 << insn.k) == 0 => {
                return Err(CheckError::UnsetScratch { pc, cell: insn.k });
            }
            c if c == BPF_JMP | BPF_JA => {
                into[pc + 1 + insn.k as usize] &= set;
                set = u16::MAX;
            }
            c if is_conditional(c) => {
                into[pc + 1 + usize::from(insn.jt)] &= set;
                into[pc + 1 + usize::from(insn.jf)] &= set;
                set = u16::MAX;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Runs `program` on `data` and returns its verdict. The program must have
/// passed [`check`]; a division by 0 in `X` returns 0, as the kernel's
/// translation of classic BPF does.
pub fn run(program: &[Instruction], data: &SeccompData) -> u32 {
    let bytes = data.bytes();
    let (mut a, mut x) = (0u32, 0u32);
    let mut scratch = [0u32; BPF_MEMWORDS as usize];
    let mut pc = 0;
    loop {
        let insn = program
            .get(pc)
            .unwrap_or_else(|| panic!("ran off the end at {pc}"));
        let k = insn.k;
        let operand = if insn.code & BPF_X != 0 { x } else { k };
        pc += 1;
        // Constant arms only, the common ones first: a jump table.
        match insn.code {
            LOAD_WORD => {
                let at = k as usize;
                a = u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap());
            }
            JUMP_EQ | JUMP_EQ_X => pc += skip(insn, a == operand),
            RETURN => return k,
            JUMP_GE | JUMP_GE_X => pc += skip(insn, a >= operand),
            JUMP_GT | JUMP_GT_X => pc += skip(insn, a > operand),
            JUMP_SET | JUMP_SET_X => pc += skip(insn, a & operand != 0),
            JUMP => pc += k as usize,
            RETURN_A => return a,
            LOAD_LEN => a = SECCOMP_DATA_SIZE,
            LOAD_LEN_X => x = SECCOMP_DATA_SIZE,
            LOAD_IMM => a = k,
            LOAD_IMM_X => x = k,
            LOAD_MEM => a = scratch[k as usize],
            LOAD_MEM_X => x = scratch[k as usize],
            BPF_ST => scratch[k as usize] = a,
            BPF_STX => scratch[k as usize] = x,
            TAX => x = a,
            TXA => a = x,
            c if c & 0x07 == BPF_ALU => {
                a = match c & 0xf0 {
                    BPF_ADD => a.wrapping_add(operand),
                    BPF_SUB => a.wrapping_sub(operand),
                    BPF_MUL => a.wrapping_mul(operand),
                    BPF_DIV if operand == 0 => return 0,
                    BPF_DIV => a / operand,
                    BPF_AND => a & operand,
                    BPF_OR => a | operand,
                    BPF_XOR => a ^ operand,
                    BPF_LSH => a.wrapping_shl(operand),
                    BPF_RSH => a.wrapping_shr(operand),
                    BPF_NEG => a.wrapping_neg(),
                    _ => panic!("instruction {}: unknown operation {c:#06x}", pc - 1),
                };
            }
            c => panic!(
                "instruction {}: {c:#06x} is not a seccomp operation",
                pc - 1
            ),
        }
    }
}

/// How far a conditional jump goes past the next instruction.
fn skip(insn: &Instruction, holds: bool) -> usize {
    usize::from(if holds { insn.jt } else { insn.jf })
}

/// Runs `program` for system call `nr` from architecture `arch`.
pub fn verdict(program: &[Instruction], nr: u32, arch: u32) -> u32 {
    run(program, &SeccompData::new(nr, arch))
}
