//! Framed messages between processes over pipes and sockets, byte-compatible
//! with Python's `multiprocessing.connection`, on thin `libc` wrappers.
//!
//! - [`pipe`] is Python's `Pipe()`: two connected [`Connection`]s.
//! - [`Connection::send_bytes`] / [`Connection::recv_bytes`] move whole
//!   messages; [`Error::Eof`] is Python's `EOFError`.
//! - [`fork_with_pipe`] is the classic pattern in one call: pipe, fork,
//!   close the unused ends, run the child, wait.
//! - [`Connection::send`] / [`Connection::recv`] move Python objects
//!   (pickles) of the built-in data types; [`pickle`] is their codec.
//! - [`frame`] is the pure wire codec, usable on its own (even without an OS).
//! - [`sys`] holds every system call the crate makes, one short function each.
//!
//! Every function that makes system calls lists them in a `# System calls`
//! section of its docs; functions without one make none.
//!
//! ```
//! use ipcwire::{fork_with_pipe, Direction};
//! // SAFETY: single-threaded, so the child may do anything.
//! let (mut conn, child) = unsafe {
//!     fork_with_pipe(Direction::Duplex, |mut conn| {
//!         let Ok(msg) = conn.recv_bytes() else { return 1 };
//!         match conn.send_bytes(&msg.to_ascii_uppercase()) {
//!             Ok(()) => 0,
//!             Err(_) => 2,
//!         }
//!     })?
//! };
//! conn.send_bytes(b"hello")?;
//! assert_eq!(conn.recv_bytes()?, b"HELLO");
//! assert!(child.wait()?.success());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//! - `std` (default): std descriptor conversions, `io::Error` conversions,
//!   catching panics in forked children. Implies `alloc`.
//! - `pickle` (default): [`Connection::send`], [`Connection::recv`] and the
//!   [`pickle`] module. Implies `alloc`; builds without `std`.
//! - `alloc`: [`Connection::recv_bytes`] into a `Vec`, a 4 KiB heap
//!   read-ahead buffer. Without it, receive into your own buffer with
//!   [`Connection::recv_bytes_into`]; the read-ahead buffer is 256 bytes
//!   inside the connection.
//!
//! Without either, the crate is `no_std` and allocation-free. The [`frame`]
//! codec builds for targets without an operating system.
//!
//! # Pitfall: end of stream needs every writer closed
//! A reader sees [`Error::Eof`] only when every copy of the writing end is
//! closed, in every process. After a `fork` both processes hold both ends:
//! each must drop the end it does not use, or the reader waits forever.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(docsrs, doc(auto_cfg(hide(unix))))]
#![deny(unsafe_code, missing_docs, unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod digest;
pub mod frame;
#[cfg(feature = "pickle")]
pub mod pickle;

#[cfg(unix)]
pub mod sys;

mod address;
pub mod handshake;

#[cfg(unix)]
mod auth;
#[cfg(unix)]
mod client;
#[cfg(unix)]
mod connection;
#[cfg(unix)]
mod error;
#[cfg(unix)]
mod listener;
#[cfg(unix)]
mod pipe;
#[cfg(all(unix, feature = "alloc"))]
mod wait;

pub use address::{Address, AddressError, UnixName};
#[cfg(unix)]
pub use auth::DEFAULT_HANDSHAKE_TIMEOUT;
#[cfg(unix)]
pub use client::Client;
#[cfg(unix)]
pub use connection::{Access, Connection, DEFAULT_MAX_LEN};
#[cfg(unix)]
pub use error::Error;
#[cfg(unix)]
pub use listener::{Listener, BACKLOG, MAX_HANDSHAKES};
#[cfg(unix)]
pub use pipe::pipe;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub use pipe::pipe_with_capacity;
#[cfg(unix)]
#[doc(inline)]
pub use sys::{ExitStatus, ReceivedFds, MAX_FDS};
#[cfg(all(unix, feature = "alloc"))]
pub use wait::wait;

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
#[cfg(unix)]
pub use pipe::Direction;
#[cfg(unix)]
#[doc(inline)]
pub use sys::{fork_with_pipe, Child};
