//! Prints ipcwire's system call inventory: names and numbers for a review
//! or a hand-made allowlist (`ipcwire::seccomp::Filter` builds the filter
//! itself).
//!
//! ```sh
//! cargo run --example syscalls               # function<TAB>syscall<TAB>number, one per line
//! cargo run --example syscalls -- --allowlist  # each syscall once: name<TAB>number
//! cargo run --example syscalls -- --markdown > src/sys/syscalls.md  # the table in the docs
//! ```
//!
//! Numbers are for the architecture the example was built for; `-` marks a
//! name that architecture does not have (an alternative its C library never
//! uses).

use std::collections::BTreeSet;

use ipcwire::sys::inventory::{number, MarkdownTable, INVENTORY};

fn main() {
    match std::env::args().nth(1).as_deref() {
        None => print_by_function(),
        Some("--allowlist") => print_allowlist(),
        Some("--markdown") => print!("{MarkdownTable}"),
        Some(other) => {
            eprintln!("unknown option {other}: use --allowlist or --markdown");
            std::process::exit(2);
        }
    }
}

fn number_text(name: &str) -> String {
    number(name).map_or_else(|| "-".to_owned(), |n| n.to_string())
}

fn print_by_function() {
    for entry in INVENTORY {
        for name in entry.syscalls {
            println!("{}\t{}\t{}", entry.function, name, number_text(name));
        }
    }
}

fn print_allowlist() {
    let names: BTreeSet<&str> = INVENTORY
        .iter()
        .flat_map(|e| e.syscalls.iter().copied())
        .collect();
    for name in names.into_iter().filter(|n| number(n).is_some()) {
        println!("{}\t{}", name, number_text(name));
    }
}
