//! What confinement costs: the seccomp filters of the `-seccomp` workloads.
//!
//! A confined process allows exactly the system calls that the inventory
//! (`ipcwire::sys::inventory`) lists for the ipcwire functions it calls,
//! those of the harness's control pipes ([`harness::CONTROL`]) and the
//! runtime's ([`Filter::allow_runtime`]: allocator, exit); any other call
//! kills it.

use ipcwire::seccomp::{Action, Filter};

use crate::{harness, BoxResult};

/// The filter of a process that calls `functions`, as the inventory names
/// them (`"Connection::send_bytes"`).
pub fn filter(functions: &[&str]) -> BoxResult<Filter> {
    let mut filter = Filter::native(Action::KillProcess)
        .ok_or("seccomp filters need Linux on x86_64, aarch64 or i686")?;
    filter
        .allow_functions(functions)?
        .allow_functions(&harness::CONTROL)?
        .allow_runtime()?;
    Ok(filter)
}
