//! The properties every fuzz target checks, shared with the plain
//! `cargo test` replay of the committed corpus (`tests/fuzz_replay.rs`), so
//! a finding reproduces on stable Rust without cargo-fuzz, and with the
//! frame tests (`tests/frame.rs`). Here rather than in `fuzz/`, which is
//! not published, so the published crate's tests build.
//!
//! Each check takes raw bytes and derives its structured input from them,
//! so any byte string is a valid input. A failed assertion is a finding.
//!
//! Included with `#[path = "common/fuzz_checks.rs"] mod fuzz_checks;`, and
//! by each fuzz target from `fuzz/fuzz_targets/`.
#![allow(dead_code)] // each fuzz target uses one check

use ipcwire::frame::{Decoded, Decoder, FrameError, Header, MAX_HEADER_LEN};
use ipcwire::handshake::{Action, AuthError, AuthKey, Handshake, Role, MAX_MESSAGE_LEN};
use std::os::fd::AsFd;

/// Heap held per thread, for `connection_recv`'s memory bound.
#[path = "heap.rs"]
mod heap;

/// Reads fuzz input front to back; past the end it yields zeros.
pub struct Input<'a>(pub &'a [u8]);

impl<'a> Input<'a> {
    pub fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        first
    }

    pub fn u64(&mut self) -> u64 {
        (0..8).fold(0, |acc, _| acc << 8 | u64::from(self.byte()))
    }

    /// Up to `max` bytes, the count taken from the next byte.
    pub fn chunk(&mut self, max: usize) -> &'a [u8] {
        let want = usize::from(self.byte()) % (max + 1);
        let (chunk, rest) = self.0.split_at(want.min(self.0.len()));
        self.0 = rest;
        chunk
    }

    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.0)
    }
}

/// A maximum length, mostly small so limits are hit often.
fn max_len(input: &mut Input<'_>) -> u64 {
    match input.byte() % 4 {
        0 => u64::from(input.byte()),
        1 => u64::from(input.byte()) << 8 | u64::from(input.byte()),
        2 => input.u64(),
        _ => u64::MAX,
    }
}

/// Frames and how the stream ended.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    pub frames: Vec<Vec<u8>>,
    pub end: Result<(), FrameError>,
}

/// The reference: the simplest decoder that follows the protocol page.
pub fn decode_naive(wire: &[u8], max: u64) -> Outcome {
    let mut frames = Vec::new();
    let mut rest = wire;
    let end = loop {
        if rest.is_empty() {
            break Ok(());
        }
        if rest.len() < 4 {
            break Err(FrameError::Truncated);
        }
        let short = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let (len, head) = match short {
            -1 if rest.len() < 12 => break Err(FrameError::Truncated),
            -1 => (u64::from_be_bytes(rest[4..12].try_into().unwrap()), 12),
            n if n < 0 => break Err(FrameError::NegativeLength(n)),
            n => (n as u64, 4),
        };
        if len > max {
            break Err(FrameError::TooLong { len, max });
        }
        let body = &rest[head..];
        if (body.len() as u64) < len {
            break Err(FrameError::Truncated);
        }
        frames.push(body[..len as usize].to_vec());
        rest = &body[len as usize..];
    };
    Outcome { frames, end }
}

/// Feeds `wire` to a decoder in pieces of the sizes `chunks` gives (cycled),
/// checking on the way that every event is consistent with its header.
pub fn decode_chunked(wire: &[u8], max: u64, chunks: &[usize]) -> Outcome {
    let mut d = Decoder::new(max);
    let mut frames = Vec::new();
    let mut current: Option<(u64, Vec<u8>)> = None;
    let mut sizes = chunks.iter().cycle();
    let mut pos = 0;
    while pos < wire.len() {
        let size = sizes.next().copied().unwrap_or(usize::MAX).max(1);
        let mut chunk = &wire[pos..wire.len().min(pos.saturating_add(size))];
        pos += chunk.len();
        loop {
            let before = d.clone();
            match d.decode(chunk) {
                Ok((n, Decoded::NeedMore)) => {
                    assert_eq!(n, chunk.len(), "NeedMore leaves input unused");
                    break;
                }
                Ok((n, Decoded::Header(len))) => {
                    assert!(len <= max, "header above the maximum");
                    assert!(n <= MAX_HEADER_LEN && current.is_none());
                    assert_eq!(d.payload(), Some((len, len)));
                    current = Some((len, Vec::new()));
                    chunk = &chunk[n..];
                }
                Ok((n, Decoded::Payload(piece))) => {
                    let (len, body) = current.as_mut().expect("payload without header");
                    assert!(!piece.is_empty() && piece.len() == n && piece == &chunk[..n]);
                    body.extend_from_slice(piece);
                    assert!(body.len() as u64 <= *len, "payload longer than its header");
                    assert!(body.len() as u64 <= max, "held more than the maximum");
                    chunk = &chunk[n..];
                }
                Ok((n, Decoded::FrameEnd)) => {
                    assert_eq!(n, 0, "FrameEnd uses no input");
                    let (len, body) = current.take().expect("frame end without header");
                    assert_eq!(body.len() as u64, len, "frame shorter than its header");
                    frames.push(body);
                    assert!(d.is_between_frames());
                }
                Err(e) => {
                    // Errors consume nothing and change nothing.
                    assert_eq!(d.decode(chunk), Err(e));
                    assert_eq!(format!("{d:?}"), format!("{before:?}"));
                    return Outcome {
                        frames,
                        end: Err(e),
                    };
                }
            }
        }
    }
    if let Ok((0, Decoded::FrameEnd)) = d.decode(&[]) {
        frames.extend(current.take().map(|(_, body)| body));
    }
    Outcome {
        frames,
        end: d.finish(),
    }
}

/// `frame_decode`: arbitrary bytes under an arbitrary maximum.
pub fn frame_decode(data: &[u8]) {
    let mut input = Input(data);
    let max = max_len(&mut input);
    let wire = input.rest();
    let got = decode_chunked(wire, max, &[usize::MAX]);
    assert_eq!(got, decode_naive(wire, max));
}

/// `frame_chunks`: whole, byte by byte and in arbitrary pieces agree with
/// each other and with the reference.
pub fn frame_chunks(data: &[u8]) {
    let mut input = Input(data);
    let max = max_len(&mut input);
    let chunks: Vec<usize> = (0..1 + input.byte() % 8)
        .map(|_| usize::from(input.byte()) % 17)
        .collect();
    let wire = input.rest();
    let expected = decode_naive(wire, max);
    assert_eq!(decode_chunked(wire, max, &[usize::MAX]), expected);
    assert_eq!(decode_chunked(wire, max, &[1]), expected);
    assert_eq!(decode_chunked(wire, max, &chunks), expected);
}

/// Lengths where the header changes form or overflows could hide.
const EDGE_LENGTHS: [u64; 8] = [
    0x7fff_fffe,
    0x7fff_ffff,
    0x8000_0000,
    0x8000_0001,
    0xffff_ffff,
    0x1_0000_0000,
    i64::MAX as u64,
    u64::MAX,
];

/// `frame_roundtrip`: messages encoded then decoded come back identical;
/// huge lengths are checked on their headers alone.
pub fn frame_roundtrip(data: &[u8]) {
    let mut input = Input(data);
    let mut wire = Vec::new();
    let mut messages = Vec::new();
    while !input.0.is_empty() {
        let msg = input.chunk(300);
        wire.extend_from_slice(Header::new(msg.len() as u64).as_bytes());
        wire.extend_from_slice(msg);
        messages.push(msg.to_vec());
    }
    let split = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let got = decode_chunked(&wire, u64::MAX, &[split]);
    assert_eq!(
        got,
        Outcome {
            frames: messages,
            end: Ok(())
        }
    );

    let edge = EDGE_LENGTHS[usize::from(data.last().copied().unwrap_or(0)) % EDGE_LENGTHS.len()];
    let len = edge.wrapping_sub(u64::from(data.len() as u8 % 3));
    let header = Header::new(len);
    assert_eq!(
        header.as_bytes().len(),
        if len <= 0x7fff_ffff { 4 } else { 12 }
    );
    let mut d = Decoder::new(len);
    assert_eq!(
        d.decode(header.as_bytes()),
        Ok((header.as_bytes().len(), Decoded::Header(len)))
    );
    assert_eq!(d.payload(), Some((len, len)));
    if len > 0 {
        let mut tight = Decoder::new(len - 1);
        assert_eq!(
            tight.decode(header.as_bytes()),
            Err(FrameError::TooLong { len, max: len - 1 })
        );
    }
}

/// The only key that authenticates; the fuzzer never sees it.
const KEY: &[u8] = b"fuzz: the peer does not know this key";

/// `handshake`: arbitrary peer messages into either role never panic, and
/// success needs the right MAC of our challenge, which only the harness can
/// supply (when the input asks for it) since the fuzzer has no key.
pub fn handshake(data: &[u8]) {
    let mut input = Input(data);
    let flags = input.byte();
    let role = if flags & 1 == 0 {
        Role::Listener
    } else {
        Role::Client
    };
    let allow_md5 = flags & 2 != 0;
    let nonce = core::array::from_fn(|_| input.byte());
    let key = AuthKey::new(KEY);
    let mut me = Handshake::new(role, &key, nonce, allow_md5);
    let mut our_challenge = Vec::new();
    let mut response = None;
    let mut received = 0;
    loop {
        match me.action() {
            Action::Send(msg) => {
                assert!(msg.len() <= MAX_MESSAGE_LEN);
                if msg.starts_with(b"#CHALLENGE#") {
                    our_challenge = msg[11..].to_vec();
                }
            }
            Action::Receive => {
                let msg = match input.byte() % 4 {
                    0 if !our_challenge.is_empty() => honest_response(&our_challenge, input.byte()),
                    1 => b"#WELCOME#".to_vec(),
                    _ => input.chunk(MAX_MESSAGE_LEN).to_vec(),
                };
                // Which message answers our challenge: the first for a
                // listener; for a client, the third (after challenge, verdict).
                let response_index = if role == Role::Listener { 0 } else { 2 };
                if received == response_index {
                    response = Some(msg.clone());
                }
                received += 1;
                me.receive(&msg);
            }
            Action::Done(Ok(())) => {
                let response = response.expect("success without a response");
                assert!(
                    is_valid_response(&our_challenge, &response, allow_md5),
                    "authenticated a peer that did not MAC our challenge with the key"
                );
                return;
            }
            Action::Done(Err(e)) => {
                assert_ne!(
                    e,
                    AuthError::TooLong,
                    "the state machine never sees lengths"
                );
                return;
            }
        }
        assert!(received < 8, "a handshake has three messages per side");
    }
}

/// A correct response to `challenge`, in one of the forms peers use.
fn honest_response(challenge: &[u8], form: u8) -> Vec<u8> {
    use ipcwire::digest::{hmac_md5, hmac_sha256};
    match form % 3 {
        0 => [&b"{sha256}"[..], &hmac_sha256(KEY, challenge)].concat(),
        1 => hmac_md5(KEY, challenge).to_vec(),
        _ => [&b"{md5}"[..], &hmac_md5(KEY, challenge)].concat(),
    }
}

fn is_valid_response(challenge: &[u8], response: &[u8], allow_md5: bool) -> bool {
    (0..3).any(|form| {
        let md5 = form != 0;
        (allow_md5 || !md5) && honest_response(challenge, form) == response
    })
}

/// `address_parse`: any text that parses displays as text that parses to
/// the same address, and every name the kernel accepts (any bytes, as a
/// Unix path without NUL or as an abstract name) survives display then
/// parse unchanged, shown without control characters or U+FFFD.
pub fn address_parse(data: &[u8]) {
    use ipcwire::Address;
    let round_trips = |addr: Address| {
        let shown = addr.to_string();
        assert_eq!(shown.parse(), Ok(addr), "display then parse of {shown:?}");
        assert!(
            !shown.chars().any(|c| c.is_control() || c == '\u{fffd}'),
            "{shown:?} shows a control character or U+FFFD"
        );
    };
    if let Ok(addr) = String::from_utf8_lossy(data).parse::<Address>() {
        round_trips(addr);
    }
    for addr in [Address::unix(data), Address::abstract_name(data)]
        .into_iter()
        .flatten()
    {
        round_trips(addr);
    }
}

/// `connection_recv`: bytes a peer wrote into a real socket come out of
/// `Connection` exactly as the reference decodes them, whatever buffer sizes
/// the receiver uses, with the same ending, and a receive never holds more
/// than twice what arrived (plus 64 KiB of first growth and the 4 KiB
/// read-ahead), even for a frame far above 64 KiB cut short by the end.
#[cfg(unix)]
pub fn connection_recv(data: &[u8]) {
    use ipcwire::Error;
    let mut input = Input(data);
    let max = max_len(&mut input);
    let use_vec = input.byte() & 1 == 1;
    let sizes: Vec<usize> = (0..1 + input.byte() % 4)
        .map(|_| usize::from(input.byte()))
        .collect();
    let stretch = input.byte();
    let mut wire = input.rest()[..].to_vec();
    wire.truncate(64 * 1024);
    if stretch & 1 == 1 {
        // A frame well above 64 KiB, declared up to 1 MiB, of which a
        // quarter, a half, three quarters or all arrives.
        let declared = (64 << 10) + (usize::from(stretch >> 1) << 13);
        let arrived = declared * (1 + usize::from(stretch >> 6 & 3)) / 4;
        wire.extend_from_slice(Header::new(declared as u64).as_bytes());
        wire.resize(wire.len() + arrived, 0x5A);
    }
    let expected = decode_naive(&wire, max);

    let (writer, mut reader) = ipcwire::pipe(true).expect("socketpair");
    let total = wire.len();
    // The reader may stop early (a bad header) and hang up: then stop too.
    let sender = std::thread::spawn(move || {
        let mut sent = 0;
        while let Ok(n) = ipcwire::sys::send(writer.as_fd(), &wire[sent..]) {
            sent += n;
            if sent == wire.len() {
                break;
            }
        }
    });
    reader.set_max_len(max);
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut sizes = sizes.iter().cycle();
    let end = loop {
        let got = if use_vec {
            let start = heap::reset_peak();
            let got = reader.recv_bytes();
            let held = heap::peak() - start;
            // What arrived for this receive: the message, or what is left of
            // the stream after the messages before it.
            let taken: usize = frames.iter().map(|f| f.len()).sum();
            let arrived = got.as_ref().map_or(total - taken, Vec::len);
            assert!(
                held <= 2 * arrived + (64 + 4) * 1024 + 256,
                "held {held} bytes for {arrived} that arrived"
            );
            got
        } else {
            let mut buf = vec![0; *sizes.next().unwrap_or(&0)];
            match reader.recv_bytes_into(&mut buf) {
                Ok(n) => Ok(buf[..n].to_vec()),
                Err(Error::BufferTooSmall { needed }) if needed > total as u64 => {
                    // It cannot have arrived whole: it must end truncated,
                    // and no buffer that large is needed to find that out.
                    assert!(needed <= max);
                    assert_eq!(expected.end, Err(FrameError::Truncated));
                    assert_eq!(frames, expected.frames);
                    drop(reader);
                    sender.join().expect("sender");
                    return;
                }
                Err(Error::BufferTooSmall { needed }) => {
                    assert!(needed <= max);
                    let mut big = vec![0; needed as usize];
                    reader.recv_bytes_into(&mut big).map(|n| big[..n].to_vec())
                }
                Err(e) => Err(e),
            }
        };
        match got {
            Ok(msg) => frames.push(msg),
            Err(e) => break e,
        }
    };
    let want_end = match expected.end {
        Ok(()) => Error::Eof,
        Err(e) => e.into(),
    };
    // The stream may have stopped early (a bad header): let the writer go.
    let sticky = reader.recv_bytes();
    drop(reader);
    sender.join().expect("sender");
    assert_eq!((frames, end), (expected.frames, want_end));
    // Every error at the end of a stream is sticky.
    assert_eq!(sticky, Err(want_end));
}

/// `connection_nonblocking`: bytes arriving in arbitrary pieces at a
/// non-blocking `Connection`, which receives until `EAGAIN` after each
/// piece, come out exactly as the reference decodes them: a frame paused
/// part-way is resumed, never delivered twice, torn or lost, whether it is
/// taken by `recv_bytes` or `recv_bytes_into`.
#[cfg(unix)]
pub fn connection_nonblocking(data: &[u8]) {
    use ipcwire::sys::Errno;
    use ipcwire::Error;
    let mut input = Input(data);
    let max = max_len(&mut input);
    let ways = input.byte();
    let pieces: Vec<usize> = (0..1 + input.byte() % 8)
        .map(|_| 1 + usize::from(input.byte()))
        .collect();
    let wire = input.rest();
    let wire = &wire[..wire.len().min(64 * 1024)];
    let expected = decode_naive(wire, max);

    let (writer, mut reader) = ipcwire::pipe(true).expect("socketpair");
    reader.set_nonblocking(true).expect("non-blocking");
    reader.set_max_len(max);
    let mut frames = Vec::new();
    let mut turn = 0u32;
    // A payload paused part-way in a caller's buffer stays there: the same
    // buffer must come again, and `recv_bytes` cannot finish it.
    let mut buf = vec![0; wire.len()];
    let mut receive = |reader: &mut ipcwire::Connection| loop {
        // Vary the receiving call with each turn, as the input says.
        let use_vec = (ways >> (turn % 8)) & 1 == 1;
        turn += 1;
        let got = if use_vec {
            match reader.recv_bytes() {
                Err(Error::Io(Errno::INVAL)) => {
                    reader.recv_bytes_into(&mut buf).map(|n| buf[..n].to_vec())
                }
                other => other,
            }
        } else {
            reader.recv_bytes_into(&mut buf).map(|n| buf[..n].to_vec())
        };
        match got {
            Ok(msg) => frames.push(msg),
            Err(e) => return e,
        }
    };
    let fd = writer.as_fd();
    let mut sent = 0;
    for &len in pieces.iter().cycle() {
        if sent == wire.len() {
            break;
        }
        let piece = &wire[sent..wire.len().min(sent + len)];
        sent += ipcwire::sys::send(fd, piece).expect("send");
        match receive(&mut reader) {
            Error::Io(Errno::AGAIN) => {}
            // A bad header or an oversized frame ends the stream early.
            Error::BufferTooSmall { .. } | Error::TooLong { .. } | Error::NegativeLength(_) => {
                break
            }
            other => panic!("unexpected {other:?} while the peer is still sending"),
        }
    }
    drop(writer);
    let end = receive(&mut reader);
    let want_end = match expected.end {
        Ok(()) => Error::Eof,
        Err(e) => e.into(),
    };
    match end {
        // The one frame longer than everything sent cannot fit the buffer.
        Error::BufferTooSmall { needed } => {
            assert!(needed > wire.len() as u64);
            assert_eq!(expected.end, Err(FrameError::Truncated));
            assert_eq!(frames, expected.frames);
        }
        end => assert_eq!((frames, end), (expected.frames, want_end)),
    }
}

/// `handshake_wire`: a keyed `Listener::accept` against a client over a
/// real Unix socket that follows the protocol or breaks from it at any of
/// its messages (sending any bytes instead, in one piece, then hanging up).
/// `accept` always returns; it succeeds only if the client answered the
/// listener's challenge with the right MAC; it succeeds whenever the client
/// broke from nothing, and then the message the client sent in the same
/// write as its last handshake message, and one after with a descriptor
/// riding on it, arrive whole (no handshake read took a byte past the
/// handshake, so the descriptor was not closed).
#[cfg(target_os = "linux")]
pub fn handshake_wire(data: &[u8]) {
    use ipcwire::{Listener, ReceivedFds};
    use std::sync::{Mutex, OnceLock};

    static LISTENER: OnceLock<Mutex<Listener>> = OnceLock::new();
    let listener = LISTENER.get_or_init(|| {
        let name = format!("ipcwire-fuzz-handshake-{}", std::process::id());
        let addr = ipcwire::Address::abstract_name(name.as_bytes()).expect("name");
        let listener = Listener::bind(&addr).expect("bind").authkey(KEY);
        Mutex::new(listener.handshake_timeout(std::time::Duration::from_secs(5)))
    });
    let mut listener = listener.lock().unwrap_or_else(|e| e.into_inner());
    let addr = *listener.local_addr();
    let plan = data.to_vec();
    let client = std::thread::spawn(move || wire_client(&addr, &plan));
    let accepted = listener.accept();
    let client = client.join().expect("client thread");
    let (mut conn, _) = match accepted {
        Ok(accepted) => accepted,
        Err(e) => {
            assert!(
                !client.honest,
                "a client that broke from nothing was refused: {e:?}"
            );
            return;
        }
    };
    assert!(client.answered, "accepted a client that never sent the MAC");
    if let Some(tail) = client.tail {
        // Exact reads: a plain receive's read-ahead would take the next
        // message's descriptor with it.
        let mut fds = ReceivedFds::new();
        let got = conn.recv_bytes_with_fds(&mut fds);
        assert_eq!(got, Ok(tail), "the message after the handshake");
        let got = conn.recv_bytes_with_fds(&mut fds);
        assert_eq!(got, Ok(b"fd".to_vec()), "the message with a descriptor");
        assert_eq!(fds.len(), 1, "its descriptor");
    }
}

/// What the client of `handshake_wire` did.
#[cfg(target_os = "linux")]
struct WireClient {
    /// It answered the listener's challenge with the right MAC.
    answered: bool,
    /// It sent every message the protocol asked for, and nothing else.
    honest: bool,
    /// The message it sent with its last handshake message, if it got
    /// that far (and then `b"fd"` with a descriptor).
    tail: Option<Vec<u8>>,
}

/// The client of `handshake_wire`: at each message it sends, the plan says
/// whether to send it or bytes of its own (and then hang up).
#[cfg(target_os = "linux")]
fn wire_client(addr: &ipcwire::Address, plan: &[u8]) -> WireClient {
    let mut input = Input(plan);
    let mut me = WireClient {
        answered: false,
        honest: true,
        tail: None,
    };
    let mut conn = ipcwire::Client::new().connect(addr).expect("connect");
    let key = AuthKey::new(KEY);
    let nonce = core::array::from_fn(|_| input.byte());
    let mut shake = Handshake::new(Role::Client, &key, nonce, input.byte() & 1 == 0);
    // Each message is held until the client must wait for an answer, so the
    // last one leaves in one write with the message after the handshake.
    let mut held = Vec::new();
    loop {
        match shake.action() {
            Action::Receive => {
                if wire_send(&conn, &core::mem::take(&mut held)).is_err() {
                    return me;
                }
                match conn.recv_bytes() {
                    Ok(msg) => shake.receive(&msg),
                    Err(_) => return me,
                }
            }
            Action::Send(msg) => {
                if input.byte() % 4 == 0 {
                    me.honest = false;
                    held.extend_from_slice(input.chunk(300));
                    let _ = wire_send(&conn, &held);
                    return me;
                }
                me.answered |= !me.answered && !msg.starts_with(b"#CHALLENGE#");
                held.extend_from_slice(Header::new(msg.len() as u64).as_bytes());
                held.extend_from_slice(msg);
            }
            Action::Done(Ok(())) => {
                let tail = input.rest().to_vec();
                held.extend_from_slice(Header::new(tail.len() as u64).as_bytes());
                held.extend_from_slice(&tail);
                let (r, _w) = ipcwire::sys::pipe().expect("pipe");
                if wire_send(&conn, &held).is_ok()
                    && conn.send_bytes_with_fds(b"fd", &[r.as_fd()]).is_ok()
                {
                    me.tail = Some(tail);
                }
                return me;
            }
            Action::Done(Err(_)) => return me,
        }
    }
}

/// Writes all of `bytes` to the connection's socket, as they are.
#[cfg(target_os = "linux")]
fn wire_send(conn: &ipcwire::Connection, mut bytes: &[u8]) -> Result<(), ipcwire::sys::Errno> {
    while !bytes.is_empty() {
        let n = ipcwire::sys::send(conn.as_fd(), bytes)?;
        bytes = &bytes[n..];
    }
    Ok(())
}

/// A `struct cmsghdr` layout as the C headers give it, written down apart
/// from ipcwire's so the reference below shares nothing with the walker.
pub struct Layout {
    header: usize,
    data: usize,
    align: usize,
    len_at: usize,
    len_width: usize,
    level_at: usize,
    type_at: usize,
    marks: (i32, i32),
}

/// ipcwire's formats and, for each, the layout it must mean.
fn cmsg_layouts() -> [(ipcwire::sys::cmsg::CmsgFormat, Layout); 5] {
    use ipcwire::sys::cmsg::CmsgFormat;
    let layout = |header, data, align, len_width, marks| Layout {
        header,
        data,
        align,
        len_at: 0,
        len_width,
        level_at: if header == 16 { 8 } else { 4 },
        type_at: if header == 16 { 12 } else { 8 },
        marks,
    };
    [
        (CmsgFormat::LINUX_64, layout(16, 16, 8, 8, (1, 1))),
        (CmsgFormat::MUSL_64, layout(16, 16, 8, 4, (1, 1))),
        (CmsgFormat::LINUX_32, layout(12, 12, 4, 4, (1, 1))),
        (CmsgFormat::APPLE, layout(12, 12, 4, 4, (0xffff, 1))),
        (CmsgFormat::FREEBSD_64, layout(12, 16, 8, 4, (0xffff, 1))),
    ]
}

/// The reference walk: 128-bit offsets so nothing can overflow, and every
/// field read by index from the whole buffer. Returns the descriptors and,
/// if the data stopped making sense, where the bad message starts.
pub fn walk_naive(l: &Layout, control: &[u8]) -> (Vec<i32>, Option<usize>) {
    let end = control.len() as u128;
    let int_at = |at: u128| -> i32 {
        let at = at as usize;
        i32::from_ne_bytes([
            control[at],
            control[at + 1],
            control[at + 2],
            control[at + 3],
        ])
    };
    let mut fds = Vec::new();
    let mut at: u128 = 0;
    while at + l.header as u128 <= end {
        let mut len: u128 = 0;
        for k in 0..l.len_width {
            let byte = control[at as usize + l.len_at + k];
            let shift = if cfg!(target_endian = "little") {
                8 * k
            } else {
                8 * (l.len_width - 1 - k)
            };
            len |= u128::from(byte) << shift;
        }
        if len < l.data as u128 || at + len > end {
            return (fds, Some(at as usize));
        }
        let level = int_at(at + l.level_at as u128);
        let kind = int_at(at + l.type_at as u128);
        if (level, kind) == l.marks {
            let mut k = at + l.data as u128;
            while k + 4 <= at + len {
                fds.push(int_at(k));
                k += 4;
            }
            if k != at + len {
                return (fds, Some(at as usize));
            }
        }
        let align = l.align as u128;
        at += len.div_ceil(align) * align;
    }
    (fds, None)
}

/// `cmsg_walk`: arbitrary control data under every layout. The walker never
/// panics, never yields more descriptors than the bytes hold, and agrees
/// with the reference on every descriptor and on where it stopped; what it
/// encodes it walks back.
pub fn cmsg_walk(data: &[u8]) {
    use ipcwire::sys::cmsg::{encode_rights, walk_rights, Malformed};
    let mut input = Input(data);
    let layouts = cmsg_layouts();
    let (format, layout) = &layouts[usize::from(input.byte()) % layouts.len()];
    let roundtrip = input.byte() & 1 == 1;
    let control = input.rest();

    let mut fds = Vec::new();
    let walked = walk_rights(format, control, |fd| fds.push(fd));
    assert!(
        fds.len() <= control.len() / 4,
        "more descriptors than bytes"
    );
    let (want, stopped) = walk_naive(layout, control);
    assert_eq!(fds, want, "descriptors differ from the reference");
    let expected = match stopped {
        None => Ok(want.len()),
        Some(offset) => Err(Malformed {
            yielded: want.len(),
            offset,
        }),
    };
    assert_eq!(walked, expected);

    if roundtrip {
        let sent: Vec<i32> = control
            .chunks_exact(4)
            .take(ipcwire::MAX_FDS)
            .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut out = vec![0u8; 512];
        let len = encode_rights(format, &sent, &mut out).expect("room for MAX_FDS");
        let align = layout.align;
        let data = sent.len() * 4;
        assert_eq!(len, layout.data + data.div_ceil(align) * align);
        assert_eq!(format.rights_space(sent.len()), Some(len));
        let mut back = Vec::new();
        assert_eq!(
            walk_rights(format, &out[..len], |fd| back.push(fd)),
            Ok(sent.len())
        );
        assert_eq!(back, sent);
        assert_eq!(walk_naive(layout, &out[..len]), (sent, None));
    }
}
