"""The Python side of tests/interop/batches.rs: many messages one way.

Runs on CPython 2.7 and 3.6 through 3.13 (no f-strings; bytes built
through bytearray, as Python 2's bytes is str).

Usage:
    batches.py recv
    batches.py send PLAN...

The connection is fd 0: a pipe end or a socketpair end, taken by
multiprocessing's Connection (Python 2: _multiprocessing.Connection, the
class its Pipe() returns; multiprocessing.connection has none there).

recv loops recv_bytes() until end of stream, then prints one line per
message, "<length> <sha256 hex>", in the order received, and "COUNT <n>".

send sends the messages PLAN describes with send_bytes, in order: each
word is COUNT:LEN,LEN,... (COUNT messages whose lengths cycle through the
LENs) or "mark", after which it prints "SENT <messages so far>" so the
other side knows they are all written. Message i of the run is the bytes
(i + k) % 251 for k in range(length). Then it closes the connection and
prints "DONE <n>".

Exit codes: 0 success, 2 usage, 6 this Python cannot take part (after a
line "UNSUPPORTED <why>"); an unexpected exception exits 1.
"""
import signal
import sys

EXIT_USAGE = 2
EXIT_UNSUPPORTED = 6
# The Rust side kills the process much earlier (after about 30 s) when
# something hangs; this only keeps an orphan from lingering.
ALARM = 60

BASE = bytes(bytearray(range(251)))


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def connection_class():
    try:
        from multiprocessing.connection import Connection
    except ImportError:
        try:
            from _multiprocessing import Connection
        except ImportError as e:
            say("UNSUPPORTED no multiprocessing Connection: %s" % (e,))
            raise SystemExit(EXIT_UNSUPPORTED)
    return Connection


def sha256():
    try:
        from hashlib import sha256 as new
    except ImportError as e:
        say("UNSUPPORTED no hashlib.sha256: %s" % (e,))
        raise SystemExit(EXIT_UNSUPPORTED)
    return new


def message(i, size):
    """Message i of a run: bytes (i + k) % 251 for k in range(size)."""
    start = i % 251
    reps = (start + size) // 251 + 1
    return (BASE * reps)[start:start + size]


def recv():
    conn = connection_class()(0, writable=False)
    digest = sha256()
    lines = []
    while True:
        try:
            msg = conn.recv_bytes()
        except EOFError:
            break
        lines.append("%d %s" % (len(msg), digest(msg).hexdigest()))
    conn.close()
    for line in lines:
        say(line)
    say("COUNT %d" % len(lines))
    return 0


def plan_of(words):
    """(count, lengths) for each word, None for "mark"."""
    plan = []
    for word in words:
        if word == "mark":
            plan.append(None)
            continue
        count, _, lengths = word.partition(":")
        lengths = [int(n) for n in lengths.split(",")]
        plan.append((int(count), lengths))
    return plan


def send(words):
    conn = connection_class()(0, readable=False)
    i = 0
    for step in plan_of(words):
        if step is None:
            say("SENT %d" % i)
            continue
        count, lengths = step
        for n in range(count):
            conn.send_bytes(message(i, lengths[n % len(lengths)]))
            i += 1
    conn.close()
    say("DONE %d" % i)
    return 0


def main(argv):
    if hasattr(signal, "alarm"):
        signal.alarm(ALARM)
    if argv == ["recv"]:
        return recv()
    if len(argv) >= 2 and argv[0] == "send":
        return send(argv[1:])
    sys.stderr.write(__doc__)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
