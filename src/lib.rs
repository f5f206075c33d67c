//! Framed messages between processes over pipes and sockets, byte-compatible
//! with Python's `multiprocessing.connection`, on thin `libc` wrappers.
//!
//! - [`pipe`] is Python's `Pipe()`: two connected [`Connection`]s;
//!   [`duplex_pipes`] connects two over a pair of pipes, for faster round
//!   trips.
//! - [`Connection::send_bytes`] / [`Connection::recv_bytes`] move whole
//!   messages; [`Error::Eof`] is Python's `EOFError`.
//! - [`fork_with_pipe`] is the classic pattern in one call: pipe, fork,
//!   close the unused ends, run the child, and hand back a [`Child`] to
//!   wait on.
//! - [`Connection::send`] / [`Connection::recv`] move Python objects
//!   (pickles) of the built-in data types; [`pickle`] is their codec.
//! - [`frame`] is the pure wire codec, usable on its own (even without an OS).
//! - [`Listener`] and [`Client`] are Python's `Listener` and `Client`, with
//!   its authkey handshake, over Unix sockets and TCP.
//! - [`sys`] holds every system call the crate makes, one short function
//!   each, and all of its `unsafe` code.
//!
//! Every function that makes system calls lists them in a `# System calls`
//! section of its docs; functions without one make none
//! ([`sys::inventory`] lists them all). How each fault on the other side
//! shows, and what a connection is left able to do, is in [`Connection`]'s
//! [Failures](Connection#failures); passing descriptors in its
//! [Descriptors](Connection#descriptors-and-read-ahead).
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
//! - `std` (default): the descriptor types and traits in [`sys`] are
//!   std's own (`std::os::fd::OwnedFd`, `BorrowedFd`, `AsFd`, ...), so std
//!   files and sockets go in and out with no conversion; `io::Error`
//!   conversions; catching panics in forked children. Implies `alloc`.
//!   Without it, [`sys`] has look-alikes of the same names, so code that
//!   names both them and std's stops compiling once another crate in the
//!   build turns `std` on: name `ipcwire::sys::OwnedFd` only.
//! - `pickle` (default): [`Connection::send`], [`Connection::recv`] and the
//!   [`pickle`] module. Implies `alloc`; builds without `std`.
//! - `alloc`: [`Connection::recv_bytes`] into a `Vec`, a 4 KiB heap
//!   read-ahead buffer, allocated on the first receive (a connection that
//!   only sends never allocates). Without it, receive into your own buffer
//!   with [`Connection::recv_bytes_into`]; the read-ahead buffer is 256
//!   bytes inside the connection.
//!
//! The crate is `#![no_std]`: with none of these it needs no allocator. The
//! [`frame`] codec, the [`digest`]s, the [`handshake`] state machine and
//! [`Address`] are pure (no system calls, no allocation, no `unsafe`) and
//! build for targets without an operating system; so does the [`pickle`]
//! codec, given an allocator. Everything else is Unix-only: see
//! [`sys`](sys#platforms) for the platforms and how they differ.
//!
//! # Differences from Python's `multiprocessing.connection`
//! The same on the wire: the 4-byte big-endian length, the 12-byte escape
//! header (`ff ff ff ff` and a `u64`) for messages over 2 GiB - 1,
//! shortest-form encoding. A Rust and a Python process can be the two ends
//! of one pipe or socket. Stricter or different:
//!
//! - a maximum message length on receive ([`DEFAULT_MAX_LEN`]), checked
//!   before any payload is read;
//! - a negative length is an error, not a silent empty message; end of
//!   stream right after a header is [`Error::Truncated`], not `EOFError`;
//! - header and payload leave in one write (Python writes them separately
//!   above 16 KiB); the bytes on the wire are the same;
//! - received bytes may be read ahead into a buffer (see [`Features`](#features)),
//!   and [`Connection::poll`] counts them as ready;
//! - a send to a closed peer is `Err(Io(EPIPE))`, never a `SIGPIPE` death
//!   (see [`Connection::send_bytes`]);
//! - every descriptor is close-on-exec from birth;
//! - a Unix [`Listener`]'s socket file is removed on drop (only if it is
//!   still the file it created), and one left by a killed process is
//!   replaced (see [`Listener::bind`]); the backlog is [`BACKLOG`], not 1;
//! - the authkey handshake is bounded in time and size, compares MACs in
//!   constant time (Python 3.11 uses `==`), and fails clearly when only one
//!   side has a key (Python can hang); a listener runs many handshakes at
//!   once ([`Listener::accept`]), where Python's runs one, without a
//!   timeout, so one silent client blocks it;
//! - [`Connection::recv`] loads only the built-in data types and never runs
//!   code (Python's `recv()` unpickles anything, so a peer can run code in
//!   the receiver), is bounded in depth and size, and refuses bytes after
//!   `STOP` (Python ignores them); [`Connection::send`] writes protocol 4
//!   without memo or frames, so the bytes differ from Python's, while every
//!   CPython loads an equal object (see [`pickle`]).
//!
//! # Pitfalls
//!
//! ## End of stream needs every writer closed
//! A reader sees [`Error::Eof`] only when every copy of the writing end is
//! closed, in every process. After a `fork` both processes hold both ends:
//! each must drop the end it does not use, or the reader waits forever.
//! [`fork_with_pipe`] does that for the pipe it creates.
//!
//! ## Pre-fork pools: a child inherits its siblings' ends
//! A child holds a copy of every descriptor its parent held when it was
//! forked. In a pool whose workers are forked one after another, each new
//! worker holds the parent's ends of the connections to the workers forked
//! before it. Closing worker 1's connection in the parent then does not end
//! worker 1: it sees no [`Error::Eof`], and its sends do not fail, while a
//! later sibling lives and holds a copy of that end. The fix is the first
//! thing each child does:
//! `unsafe { ipcwire::sys::close_other_fds(&[conn.as_fd()]) }` closes every
//! descriptor from 3 up that is not listed, so the child keeps its own
//! connection, its standard streams and nothing else
//! ([`sys::close_other_fds`] is `unsafe` because it closes descriptors that
//! values in the child may still own: see its safety contract).
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(docsrs, doc(auto_cfg(hide(unix))))]
#![deny(unsafe_code, missing_docs, unsafe_op_in_unsafe_fn)]
#![warn(missing_debug_implementations)]
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
pub mod seccomp;

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
#[cfg(any(target_os = "linux", target_os = "android"))]
pub use pipe::pipe_with_capacity;
#[cfg(unix)]
pub use pipe::{duplex_pipes, pipe};
#[cfg(unix)]
#[doc(inline)]
pub use sys::{Errno, ExitStatus, Pid, ReceivedFds, Signal, MAX_FDS};
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
