"""A Python multiprocessing.connection peer for tests/interop.rs.

Runs on CPython 3.6 through 3.13 (no f-strings, no walrus, no match).

Usage:
    peer.py server FAMILY ADDR KEY [SIZES...]
    peer.py client FAMILY ADDR KEY SIZES...
    peer.py pipe FD [SIZES...]
    peer.py fds FD
    peer.py handle-client PATH KEY
    peer.py handle-server PATH KEY

FAMILY is unix (ADDR is a socket path), abstract (ADDR is the name, without
the leading NUL) or tcp (ADDR is HOST:PORT; port 0 for a server picks one).
KEY is the authkey as text, or "-" for none.

Message i of a run is (i + k) % 251 for k in 0..SIZES[i]. The server and the
pipe peer check each message they receive against it when SIZES are given,
and echo it back reversed, until end of stream. The client sends each
message, checks the reply is its reverse and prints "OK <size>".

fds runs the descriptor exchange of tests/interop.rs (passing_descriptors)
with multiprocessing.reduction on an inherited socket, printing "OK <step>"
after each step. handle-client connects with KEY to the Unix socket PATH
and at once sends the write end of a pipe with reduction.send_handle, then
a message; handle-server listens there and receives one the same way. Each
then checks what the Rust side wrote through the descriptor.

Stdout lines: "READY <address>" (server, once listening, in ipcwire's
textual form: unix:/path, abstract:name, tcp:host:port), "OK <size>",
"AUTHFAIL", "MISMATCH ...", "TIMEOUT ...".
Exit codes: 0 success, 2 usage, 3 authentication failed, 4 wrong data,
5 a wait timed out; an unexpected exception exits 1 with a traceback.
"""
import array
import os
import signal
import socket
import sys
from multiprocessing import reduction
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


def expect(what, got, want):
    if got != want:
        say("MISMATCH %s: got %r, want %r" % (what, got, want))
        raise SystemExit(EXIT_MISMATCH)


def read_exactly(fd, n):
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def recv_exactly(conn, what, want):
    if not conn.poll(WAIT):
        say("TIMEOUT waiting for %s" % (what,))
        raise SystemExit(EXIT_TIMEOUT)
    expect(what, conn.recv_bytes(), want)


def fds(fd):
    """The Python half of tests/interop.rs's descriptor exchange."""
    conn = Connection(fd)
    sock = socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
    # 1. Rust: a message, a handle (a pipe's write end), a message.
    recv_exactly(conn, "message before the handle", b"handle next")
    handle = reduction.recv_handle(conn)
    recv_exactly(conn, "message after the handle", b"after the handle")
    os.write(handle, b"python wrote this")
    os.close(handle)
    say("OK recv_handle")
    # 2. Rust: send_fds with three pipe write ends.
    three = reduction.recvfds(sock, 3)
    expect("descriptors from send_fds", len(three), 3)
    for i, w in enumerate(three):
        os.write(w, str(i).encode())
        os.close(w)
    say("OK recvfds")
    # 3. Python: a handle, then a message; Rust writes through the handle.
    r, w = os.pipe()
    reduction.send_handle(conn, w, os.getpid())
    os.close(w)
    conn.send_bytes(b"python sent a handle")
    expect("what Rust wrote", read_exactly(r, 15), b"rust wrote this")
    os.close(r)
    say("OK send_handle")
    # 3b. Python: a message, a handle, a message; Rust takes them with a
    #     plain receive (which reads ahead), recv_handle, a plain receive.
    r, w = os.pipe()
    conn.send_bytes(b"a handle follows")
    reduction.send_handle(conn, w, os.getpid())
    os.close(w)
    conn.send_bytes(b"after the handle")
    expect("what Rust wrote", read_exactly(r, 15), b"rust wrote this")
    os.close(r)
    say("OK send_handle after a message")
    # 4. Python: sendfds with three: read end, write end, read end.
    r, w = os.pipe()
    reduction.sendfds(sock, [r, w, r])
    os.close(w)
    expect("what Rust wrote", read_exactly(r, 1), b"x")
    os.close(r)
    say("OK sendfds")
    # 5. Python: more descriptors than Rust takes, then a message.
    r, w = os.pipe()
    reduction.sendfds(sock, [w] * 100)
    conn.send_bytes(b"in step")
    # 6. A framed message with 70 descriptors, after which Rust's receiving
    #    stays failed; it says "done" the other way.
    frame = b"\x00\x00\x00\x07seventy"
    sock.sendmsg([frame], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w] * 70))])
    os.close(w)
    os.close(r)
    recv_exactly(conn, "the last word", b"done")
    say("OK truncated")
    sock.close()
    conn.close()
    return 0


def handle_client(path, key):
    conn = Client(path, authkey=authkey(key))
    r, w = os.pipe()
    # At once: the Rust listener's last handshake read may still be to come.
    reduction.send_handle(conn, w, os.getpid())
    conn.send_bytes(b"after the handshake")
    os.close(w)
    expect("what Rust wrote", read_exactly(r, 15), b"rust wrote this")
    say("OK handle-client")
    conn.close()
    return 0


def handle_server(path, key):
    listener = Listener(path, authkey=authkey(key))
    try:
        say("READY unix:" + path)
        conn = listener.accept()
        if not conn.poll(WAIT):
            say("TIMEOUT waiting for the handle")
            return EXIT_TIMEOUT
        handle = reduction.recv_handle(conn)
        recv_exactly(conn, "message after the handle", b"after the handshake")
        os.write(handle, b"python wrote this")
        os.close(handle)
        say("OK handle-server")
        conn.close()
        return 0
    finally:
        close_listener(listener)


def main(argv):
    if hasattr(signal, "alarm"):
        signal.alarm(ALARM)
    if len(argv) >= 4 and argv[0] in ("server", "client"):
        run = server if argv[0] == "server" else client
        return run(argv[1], argv[2], argv[3], sizes_of(argv[4:]))
    if len(argv) >= 2 and argv[0] == "pipe":
        return pipe(int(argv[1]), sizes_of(argv[2:]))
    if len(argv) == 2 and argv[0] == "fds":
        return fds(int(argv[1]))
    if len(argv) == 3 and argv[0] == "handle-client":
        return handle_client(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "handle-server":
        return handle_server(argv[1], argv[2])
    sys.stderr.write(__doc__)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
