//! Every inventory entry is held to what runs: some scenario declares its
//! function, so strace and a seccomp filter check its calls. A new public
//! function with an entry and no scenario fails here, as does a scenario
//! dropped while it was the only one to call a function.

use std::collections::BTreeSet;

use ipcwire::sys::inventory::{self, INVENTORY};

use crate::scenarios::SCENARIOS;

/// Entries no scenario can run on Linux, each with the reason. Empty: every
/// function runs in one, those that confine or end a process in a forked
/// child.
const NOT_RUN: &[(&str, &str)] = &[];

#[test]
fn every_inventory_entry_has_a_scenario() {
    let declared: BTreeSet<&str> = SCENARIOS
        .iter()
        .flat_map(|s| s.functions.iter().copied())
        .collect();
    let excused: BTreeSet<&str> = NOT_RUN.iter().map(|&(function, _)| function).collect();
    let missing: Vec<&str> = INVENTORY
        .iter()
        .map(|e| e.function)
        .filter(|f| !declared.contains(f) && !excused.contains(f))
        .collect();
    assert!(
        missing.is_empty(),
        "{} inventory entries are declared by no scenario in tests/audit/scenarios.rs \
         (add them to one, or to NOT_RUN with the reason none can run them): {missing:?}",
        missing.len()
    );
    let unknown: Vec<&str> = declared
        .iter()
        .copied()
        .filter(|f| inventory::syscalls_of(f).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "scenarios declare functions the inventory lacks: {unknown:?}"
    );
    for (function, why) in NOT_RUN {
        assert!(
            inventory::syscalls_of(function).is_some(),
            "NOT_RUN names {function}, which the inventory lacks"
        );
        assert!(
            !declared.contains(function),
            "NOT_RUN says {function} cannot run ({why}), but a scenario declares it"
        );
    }
}
