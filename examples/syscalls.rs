//! Prints ipcwire's system call inventory: names and numbers for a review
//! or a hand-made allowlist (`ipcwire::seccomp::Filter` builds the filter
//! itself).
//!
//! ```sh
//! cargo run --example syscalls               # function<TAB>syscall<TAB>number, one per line
//! cargo run --example syscalls -- Connection::send drop(Connection)  # those functions only
//! cargo run --example syscalls -- --allowlist  # each syscall once: name<TAB>number
//! cargo run --example syscalls -- --markdown > src/sys/syscalls.md  # the table in the docs
//! ```
//!
//! The first column is the name `seccomp::Filter::allow_function` takes.
//! Numbers are for the architecture the example was built for; `-` marks a
//! name that architecture does not have (an alternative its C library never
//! uses).

use std::collections::BTreeSet;

use ipcwire::sys::inventory::{number, syscalls_of, MarkdownTable, INVENTORY};

const USAGE: &str = "usage: syscalls [FUNCTION... | --allowlist | --markdown | --help]
  FUNCTION     the calls of each function named as in the inventory's first
               column (Connection::send, ipcwire::pipe, sys::read, drop(Connection))
  (nothing)    every function: function<TAB>syscall<TAB>number
  --allowlist  each system call once: name<TAB>number
  --markdown   the inventory table of the docs";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => print_functions(INVENTORY.iter().map(|e| e.function)),
        Some("--allowlist") if args.len() == 1 => print_allowlist(),
        Some("--markdown") if args.len() == 1 => print!("{MarkdownTable}"),
        Some("--help" | "-h") => println!("{USAGE}"),
        Some(option) if option.starts_with('-') => fail(&format!("unknown option {option}")),
        Some(_) => match args.iter().find(|f| syscalls_of(f).is_none()) {
            Some(unknown) => fail(&format!(
                "{unknown} is not in the inventory: misspelt, or it makes no system call"
            )),
            None => print_functions(args.iter().map(String::as_str)),
        },
    }
}

fn fail(why: &str) -> ! {
    eprintln!("syscalls: {why}\n{USAGE}");
    std::process::exit(2);
}

fn number_text(name: &str) -> String {
    number(name).map_or_else(|| "-".to_owned(), |n| n.to_string())
}

/// Each function's calls, one line per call.
fn print_functions<'a>(functions: impl Iterator<Item = &'a str>) {
    for function in functions {
        for name in syscalls_of(function).unwrap_or_default() {
            println!("{function}\t{name}\t{}", number_text(name));
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
