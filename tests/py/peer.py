"""A Python multiprocessing.connection peer for tests/interop.rs.

Runs on CPython 3.6 through 3.13 (no f-strings, no walrus, no match).

Usage:
    peer.py server FAMILY ADDR KEY [SIZES...]
    peer.py client FAMILY ADDR KEY SIZES...
    peer.py pipe FD [SIZES...]

FAMILY is unix (ADDR is a socket path), abstract (ADDR is the name, without
the leading NUL) or tcp (ADDR is HOST:PORT; port 0 for a server picks one).
KEY is the authkey as text, or "-" for none.

Message i of a run is (i + k) % 251 for k in 0..SIZES[i]. The server and the
pipe peer check each message they receive against it when SIZES are given,
and echo it back reversed, until end of stream. The client sends each
message, checks the reply is its reverse and prints "OK <size>".

Stdout lines: "READY <address>" (server, once listening, in ipcwire's
textual form: unix:/path, abstract:name, tcp:host:port), "OK <size>",
"AUTHFAIL", "MISMATCH ...", "TIMEOUT ...".
Exit codes: 0 success, 2 usage, 3 authentication failed, 4 wrong data,
5 a wait timed out; an unexpected exception exits 1 with a traceback.
"""
import signal
import sys
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener

# Every wait for a message is bounded by this; the whole process by ALARM,
# so a peer whose test runner died cannot linger. The Rust side kills the
# process much earlier (after about 30 s) when something hangs.
WAIT = 40.0
ALARM = 60

EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_MISMATCH = 4
EXIT_TIMEOUT = 5

BASE = bytes(range(251))


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def message(i, size):
    """Message i of a run: bytes (i + k) % 251 for k in range(size)."""
    start = i % 251
    reps = (start + size) // 251 + 1
    return (BASE * reps)[start:start + size]


def address(family, text):
    if family == "unix":
        return text
    if family == "abstract":
        return "\0" + text
    if family == "tcp":
        host, _, port = text.rpartition(":")
        return (host.strip("[]"), int(port))
    raise SystemExit("unknown family %r" % (family,))


def address_text(family, addr):
    if family == "tcp":
        return "tcp:%s:%d" % (addr[0], addr[1])
    if isinstance(addr, bytes):
        addr = addr.decode("utf-8", "replace")
    if family == "abstract":
        return "abstract:" + addr.lstrip("\0")
    return "unix:" + addr


def authkey(text):
    if text == "-":
        return None
    return text.encode("utf-8")


def sizes_of(args):
    return [int(a) for a in args]


def echo(conn, sizes):
    """Echoes each message reversed until end of stream; checks them
    against the run's pattern when sizes is not None."""
    i = 0
    while True:
        if not conn.poll(WAIT):
            say("TIMEOUT waiting for message %d" % i)
            return EXIT_TIMEOUT
        try:
            msg = conn.recv_bytes()
        except EOFError:
            break
        if sizes is not None:
            if i >= len(sizes):
                say("MISMATCH extra message %d of %d bytes" % (i, len(msg)))
                return EXIT_MISMATCH
            if msg != message(i, sizes[i]):
                say("MISMATCH message %d: got %d bytes, want %d" % (i, len(msg), sizes[i]))
                return EXIT_MISMATCH
        conn.send_bytes(msg[::-1])
        i += 1
    if sizes is not None and i != len(sizes):
        say("MISMATCH got %d messages, want %d" % (i, len(sizes)))
        return EXIT_MISMATCH
    return 0


def close_listener(listener):
    # Python before 3.9 tries to unlink an abstract name as a file path
    # (ValueError: embedded null byte); nothing is left behind either way.
    try:
        listener.close()
    except (OSError, ValueError):
        pass


def server(family, addr, key, sizes):
    listener = Listener(address(family, addr), authkey=authkey(key))
    try:
        say("READY " + address_text(family, listener.address))
        try:
            conn = listener.accept()
        except AuthenticationError:
            say("AUTHFAIL")
            return EXIT_AUTH
        try:
            return echo(conn, sizes if sizes else None)
        finally:
            conn.close()
    finally:
        close_listener(listener)


def client(family, addr, key, sizes):
    try:
        conn = Client(address(family, addr), authkey=authkey(key))
    except AuthenticationError:
        say("AUTHFAIL")
        return EXIT_AUTH
    try:
        for i, size in enumerate(sizes):
            msg = message(i, size)
            conn.send_bytes(msg)
            if not conn.poll(WAIT):
                say("TIMEOUT waiting for reply %d" % i)
                return EXIT_TIMEOUT
            reply = conn.recv_bytes()
            if reply != msg[::-1]:
                say("MISMATCH reply %d: got %d bytes, want %d" % (i, len(reply), size))
                return EXIT_MISMATCH
            say("OK %d" % size)
    finally:
        conn.close()
    return 0


def pipe(fd, sizes):
    conn = Connection(fd)
    try:
        return echo(conn, sizes if sizes else None)
    finally:
        conn.close()


def main(argv):
    if hasattr(signal, "alarm"):
        signal.alarm(ALARM)
    if len(argv) >= 4 and argv[0] in ("server", "client"):
        run = server if argv[0] == "server" else client
        return run(argv[1], argv[2], argv[3], sizes_of(argv[4:]))
    if len(argv) >= 2 and argv[0] == "pipe":
        return pipe(int(argv[1]), sizes_of(argv[2:]))
    sys.stderr.write(__doc__)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
