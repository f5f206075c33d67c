"""The Python side of tests/interop/two_pipes.rs: a duplex connection over
two pipes, one each way.

Runs on CPython 2.7 and 3.6 through 3.13 (no f-strings; bytes built
through bytearray, as Python 2's bytes is str).

Usage:
    two_pipes.py echo R W
    two_pipes.py talk R W LOCKSTEP BURST

R is the read end of one pipe and W the write end of the other, both
inherited. They are taken as a Python program takes its two ends of an
ipcwire duplex_pipes() connection: Connection(R, writable=False) to
receive and Connection(W, readable=False) to send (Python 2:
_multiprocessing.Connection, the class its Pipe() returns, which takes
the same arguments; multiprocessing.connection has none there).

W may be standard output: everything this script says goes to standard
error, one line at a time, and nothing is ever printed to standard output.

echo: Rust speaks first. Answers each message m with b"py:" + m reversed
until EOFError, then prints "EOF after <n> messages", sends b"EOF <n>"
and exits without closing W: its exit is Rust's end of stream.

talk: Python speaks first. Sends b"hello from Python <version>" and
expects b"hello, Python <version>". Then the messages: LOCKSTEP is a
comma-separated list of lengths ("-" for none), each message sent and its
answer read before the next; BURST is COUNT:LEN,LEN,..., COUNT messages
whose lengths cycle through the LENs, all sent before any answer is read.
Message i of the run is the bytes (i + k) % 251 for k in range(length),
and Rust answers it with b"rs:" + the message reversed. Then each of
PICKLES with send(obj): Rust decodes it and answers with its own pickle of
what it decoded, which Python 3 loads with recv() and compares. Python 2
cannot load that (ipcwire writes protocol 4, Python 2 reads up to 2): there
the answer's header and STOP are checked only. Prints "SENT <messages>
<pickles>", closes W, and expects EOFError from R (Rust drops its
connection when it sees the end of stream): prints "EOF" and exits 0.

Stderr lines: "MISMATCH ..." before exiting 4 on wrong data.
Exit codes: 0 success, 2 usage, 4 wrong data; an unexpected exception
exits 1 with a traceback.
"""
import signal
import sys

EXIT_USAGE = 2
EXIT_MISMATCH = 4
# The Rust side kills the process much earlier (after about 30 s) when
# something hangs; this only keeps an orphan from lingering.
ALARM = 60

BASE = bytes(bytearray(range(251)))

# Small values of built-in types, each sent with send(obj); the Rust side
# knows them in the same order (tests/interop/two_pipes.rs, `pickles`).
PICKLES = [
    7,
    -(2 ** 40),
    2 ** 70,
    1.5,
    u"h\xe9llo, w\xf6rld \u2603",
    [1, 2, 3],
    (7, u"two", [1.5, -0.25], True, None),
    {u"a": 1, u"b": -2},
    bytearray(b"raw\x00bytes\xff"),
]


def say(line):
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def mismatch(what):
    say("MISMATCH " + what)
    raise SystemExit(EXIT_MISMATCH)


def connection_class():
    try:
        from multiprocessing.connection import Connection
    except ImportError:
        from _multiprocessing import Connection
    return Connection


def ends(r, w):
    """The two ends, as ipcwire's documentation tells a Python peer."""
    cls = connection_class()
    return cls(int(r), writable=False), cls(int(w), readable=False)


def message(i, size):
    """Message i of a run: bytes (i + k) % 251 for k in range(size)."""
    start = i % 251
    reps = (start + size) // 251 + 1
    return (BASE * reps)[start:start + size]


def expect(what, got, want):
    if got != want:
        mismatch("%s: got %d bytes %r..., want %d bytes %r..."
                 % (what, len(got), got[:16], len(want), want[:16]))


def echo(reader, writer):
    n = 0
    while True:
        try:
            msg = reader.recv_bytes()
        except EOFError:
            break
        writer.send_bytes(b"py:" + msg[::-1])
        n += 1
    say("EOF after %d messages" % n)
    writer.send_bytes(("EOF %d" % n).encode("ascii"))
    # No close: exiting closes W, and Rust sees the end of stream.
    return 0


def lengths_of(lockstep, burst):
    lock = [] if lockstep == "-" else [int(n) for n in lockstep.split(",")]
    count, _, cycle = burst.partition(":")
    cycle = [int(n) for n in cycle.split(",")]
    return lock, [cycle[n % len(cycle)] for n in range(int(count))]


def check_answer(what, got, msg):
    expect(what, got, b"rs:" + msg[::-1])


def check_pickle(reader, i, value):
    if sys.version_info[0] >= 3:
        got = reader.recv()
        if got != value or type(got) not in (type(value), bytes):
            mismatch("pickle %d: sent %r, Rust answered %r" % (i, value, got))
        return
    # Python 2 reads pickles up to protocol 2 only.
    raw = reader.recv_bytes()
    if raw[:2] != b"\x80\x04" or raw[-1:] != b".":
        mismatch("pickle %d: Rust answered %r, not a protocol 4 pickle"
                 % (i, raw[:32]))


def talk(reader, writer, lockstep, burst):
    version = sys.version.split()[0]
    writer.send_bytes(("hello from Python " + version).encode("ascii"))
    expect("greeting", reader.recv_bytes(),
           ("hello, Python " + version).encode("ascii"))
    lock, many = lengths_of(lockstep, burst)
    i = 0
    for size in lock:
        msg = message(i, size)
        writer.send_bytes(msg)
        check_answer("answer %d" % i, reader.recv_bytes(), msg)
        i += 1
    first = i
    for size in many:
        writer.send_bytes(message(i, size))
        i += 1
    for j, size in enumerate(many):
        n = first + j
        check_answer("answer %d" % n, reader.recv_bytes(), message(n, size))
    for n, value in enumerate(PICKLES):
        writer.send(value)
        check_pickle(reader, n, value)
    say("SENT %d %d" % (i, len(PICKLES)))
    writer.close()
    try:
        extra = reader.recv_bytes()
    except EOFError:
        say("EOF")
        reader.close()
        return 0
    mismatch("a message of %d bytes after Python closed its end" % len(extra))


def main(argv):
    if hasattr(signal, "alarm"):
        signal.alarm(ALARM)
    # W may be standard output: print nothing there by mistake.
    sys.stdout = sys.stderr
    if len(argv) == 3 and argv[0] == "echo":
        return echo(*ends(argv[1], argv[2]))
    if len(argv) == 5 and argv[0] == "talk":
        reader, writer = ends(argv[1], argv[2])
        return talk(reader, writer, argv[3], argv[4])
    say(__doc__)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
