//! The system call counts the docs promise, as the kernel counts them.
//!
//! `/proc/thread-self/io` counts this thread's read-family (`syscr`) and
//! write-family (`syscw`) calls on files and pipes, so these tests need no
//! tracer and are not disturbed by other test threads.

use ipcwire::{pipe, pipe_with_capacity, Connection, Error};

/// This thread's `(syscr, syscw)` so far.
fn io_calls() -> (u64, u64) {
    let io = std::fs::read_to_string("/proc/thread-self/io").expect("/proc/thread-self/io");
    let field = |name: &str| -> u64 {
        io.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .expect("counter in /proc/thread-self/io")
    };
    (field("syscr:"), field("syscw:"))
}

/// The `(reads, writes)` that `work` made, not counting the reads of the
/// counter file itself.
fn calls_of(work: impl FnOnce()) -> (u64, u64) {
    let (r0, w0) = io_calls();
    let (r1, w1) = io_calls();
    let own_reads = r1 - r0;
    work();
    let (r2, w2) = io_calls();
    assert_eq!(w1, w0, "reading the counters writes nothing");
    (r2 - r1 - own_reads, w2 - w1)
}

fn message(seq: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seq + i) as u8).collect()
}

fn send_all(conn: &mut Connection, sizes: &[usize]) {
    for (seq, &len) in sizes.iter().enumerate() {
        conn.send_bytes(&message(seq, len)).expect("send");
    }
}

fn recv_all(conn: &mut Connection, sizes: &[usize]) {
    let mut buf = vec![0; 1 << 20];
    for (seq, &len) in sizes.iter().enumerate() {
        let n = conn.recv_bytes_into(&mut buf).expect("recv");
        assert_eq!(&buf[..n], &message(seq, len)[..], "message {seq}");
    }
}

#[test]
fn each_send_is_one_write() {
    let sizes: Vec<usize> = (0..1000)
        .map(|i| (i * 37) % 1000)
        .chain([4096, 60_000])
        .collect();
    let (mut reader, mut writer) = pipe_with_capacity(1 << 20).expect("pipe");
    let (reads, writes) = calls_of(|| send_all(&mut writer, &sizes));
    assert_eq!((reads, writes), (0, sizes.len() as u64));
    recv_all(&mut reader, &sizes);
}

#[test]
fn queued_messages_share_reads() {
    // 60 frames of 68 bytes, and 4 of 1 KiB: each batch fills the 4 KiB
    // read-ahead at most, so one read brings it.
    for sizes in [vec![64; 60], vec![1020; 4]] {
        let (mut reader, mut writer) = pipe_with_capacity(1 << 20).expect("pipe");
        send_all(&mut writer, &sizes);
        let (reads, writes) = calls_of(|| recv_all(&mut reader, &sizes));
        assert_eq!(
            (reads, writes),
            (1, 0),
            "{} messages of {} bytes",
            sizes.len(),
            sizes[0]
        );
    }
    // 800 frames of 68 bytes: one read per 4 KiB of them.
    let sizes = vec![64; 800];
    let (mut reader, mut writer) = pipe_with_capacity(1 << 20).expect("pipe");
    send_all(&mut writer, &sizes);
    let (reads, _) = calls_of(|| recv_all(&mut reader, &sizes));
    assert_eq!(reads, (800 * 68_u64).div_ceil(4096));
}

#[test]
fn a_message_arriving_alone_costs_one_read_or_two() {
    // Up to the read-ahead's 4 KiB, header and payload come in one read;
    // above it, the rest of the payload comes in a second read, straight
    // into the buffer.
    for (len, per_message) in [(0, 1), (64, 1), (4092, 1), (4093, 2), (65_532, 2)] {
        let (mut reader, mut writer) = pipe(false).expect("pipe");
        let mut buf = vec![0; len];
        let (reads, _) = calls_of(|| {
            for seq in 0..100 {
                writer.send_bytes(&message(seq, len)).expect("send");
                assert_eq!(reader.recv_bytes_into(&mut buf), Ok(len));
            }
        });
        assert_eq!(reads, 100 * per_message, "messages of {len} bytes");
    }
}

#[test]
fn the_rest_of_a_payload_and_the_frames_after_it_share_a_read() {
    // A 100 000-byte message fills the read-ahead (one read) and its rest
    // comes in one readv together with the first 4 KiB of the 64-byte
    // messages queued behind it; the other 40 take one read more.
    let mut sizes = vec![100_000];
    sizes.extend([64; 100]);
    let (mut reader, mut writer) = pipe_with_capacity(1 << 20).expect("pipe");
    send_all(&mut writer, &sizes);
    let (reads, _) = calls_of(|| recv_all(&mut reader, &sizes));
    assert_eq!(reads, 3);
}

#[test]
fn end_of_stream_costs_one_read() {
    let (mut reader, writer) = pipe(false).expect("pipe");
    drop(writer);
    let (reads, _) = calls_of(|| assert_eq!(reader.recv_bytes(), Err(Error::Eof)));
    assert_eq!(reads, 1);
}

/// Small messages, numbered as `message` numbers them, of 1 to 200 bytes.
fn small_messages(count: usize) -> (Vec<Vec<u8>>, Vec<usize>) {
    let sizes: Vec<usize> = (0..count).map(|seq| 1 + (seq * 37) % 200).collect();
    let msgs = sizes
        .iter()
        .enumerate()
        .map(|(seq, &len)| message(seq, len))
        .collect();
    (msgs, sizes)
}

#[test]
fn a_batch_is_one_write_per_512_messages() {
    // A write carries 512 frames (1024 buffers): 1,500 take three. One
    // larger than the read-ahead buffer and the pipe changes nothing while
    // the pipe has room for it.
    for (count, writes) in [(2, 1), (64, 1), (512, 1), (513, 2), (1024, 2), (1500, 3)] {
        let (mut reader, mut writer) = pipe_with_capacity(1 << 20).expect("pipe");
        let (mut msgs, mut sizes) = small_messages(count);
        if count == 64 {
            msgs[10] = message(10, 100_000);
            sizes[10] = 100_000;
        }
        let (reads, w) = calls_of(|| writer.send_bytes_batch(&msgs).expect("batch"));
        assert_eq!((reads, w), (0, writes), "a batch of {count}");
        recv_all(&mut reader, &sizes);
    }
}

#[test]
fn a_batch_of_one_is_one_write_as_send_bytes_is() {
    let (mut reader, mut writer) = pipe_with_capacity(1 << 20).expect("pipe");
    for len in [0, 1, 256, 257, 4096, 100_000] {
        let (first, second) = (message(0, len), message(1, len));
        let (_, single) = calls_of(|| writer.send_bytes(&first).expect("send"));
        let (_, batch) = calls_of(|| writer.send_bytes_batch(&[&second]).expect("batch"));
        assert_eq!((single, batch), (1, 1), "{len} bytes");
        recv_all(&mut reader, &[len, len]);
    }
    let none: &[&[u8]] = &[];
    let (_, empty) = calls_of(|| writer.send_bytes_batch(none).expect("empty batch"));
    assert_eq!(empty, 0, "an empty batch writes nothing");
}

#[test]
fn borrowed_receives_share_reads_and_recv_buffered_makes_none() {
    // 60 frames of 68 bytes (4,080), then one of 104 whose first 16 bytes
    // fill the 4 KiB read-ahead: one read brings 60 messages, which a
    // borrowed receive and `recv_buffered` take; the 61st is not whole, so
    // `recv_buffered` says `None` and only the next borrowed receive reads.
    let mut sizes = vec![64; 60];
    sizes.push(100);
    let (mut reader, mut writer) = pipe_with_capacity(1 << 20).expect("pipe");
    send_all(&mut writer, &sizes);
    let mut got = Vec::new();
    let (reads, _) = calls_of(|| got.push(reader.recv_bytes_borrowed().expect("recv").to_vec()));
    assert_eq!(reads, 1);
    let (reads, _) = calls_of(|| {
        while let Some(msg) = reader.recv_buffered() {
            got.push(msg.to_vec());
        }
    });
    assert_eq!((reads, got.len()), (0, 60), "drained from the buffer");
    let (reads, _) = calls_of(|| got.push(reader.recv_bytes_borrowed().expect("recv").to_vec()));
    assert_eq!(reads, 1, "the rest of the 61st");
    for (seq, (msg, &len)) in got.iter().zip(&sizes).enumerate() {
        assert_eq!(msg, &message(seq, len), "message {seq}");
    }
    let (reads, _) = calls_of(|| assert_eq!(reader.recv_buffered(), None));
    assert_eq!(reads, 0);
    // 800 frames of 68 bytes: each read fills the buffer behind what is
    // left of a message (under 64 bytes), so 14 reads of at most 4 KiB,
    // and at least 4,032 bytes new, bring the 54,400 bytes.
    let sizes = vec![64; 800];
    send_all(&mut writer, &sizes);
    let (reads, _) = calls_of(|| {
        for (seq, &len) in sizes.iter().enumerate() {
            let msg = reader.recv_bytes_borrowed().expect("recv");
            assert_eq!(msg, &message(seq, len)[..], "message {seq}");
        }
    });
    assert_eq!(reads, 14);
}
