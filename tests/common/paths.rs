//! Names and socket paths that no other test, test binary or run uses, and
//! a guard that removes a path when the test ends.
#![allow(dead_code)] // each test binary uses a part

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ipcwire::Address;

/// `ipcwire-<pid>-<n>-<tag>`: unique in this process by `n`, and across
/// processes by the process id.
pub fn unique(tag: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("ipcwire-{}-{n}-{tag}", std::process::id())
}

/// A path in the temp dir, removed (if still there) when dropped.
pub struct TempPath(pub PathBuf);

impl TempPath {
    /// `<temp dir>/<unique(tag)>.sock`, with nothing there yet.
    pub fn new(tag: &str) -> TempPath {
        let path = std::env::temp_dir().join(format!("{}.sock", unique(tag)));
        let _ = std::fs::remove_file(&path);
        TempPath(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path as text (the temp dir's name is UTF-8 here).
    pub fn text(&self) -> &str {
        self.0.to_str().expect("temp dir is UTF-8")
    }

    /// The Unix socket address of the path.
    pub fn address(&self) -> Address {
        unix_address(&self.0)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The Unix socket address of `path`.
pub fn unix_address(path: &Path) -> Address {
    use std::os::unix::ffi::OsStrExt;
    Address::unix(path.as_os_str().as_bytes()).expect("path fits sun_path")
}
