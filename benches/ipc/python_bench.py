# One measurement with CPython's multiprocessing.Pipe, by the same protocol
# as the Rust implementations (benches/ipc/harness.rs), run by python.rs as
#   python3 -c <this file> NAME MODE SIZE COUNT PIPE_SIZE CHILD_CPU
# MODE is oneway, pingpong (over Pipe()'s socket pair) or pingpong-pipes
# (over two pipes, one each way), with messages of SIZE bytes, or ints or
# dicts (send(obj)/recv() of the objects benches/ipc/pickled.rs sends;
# SIZE 0).
# PIPE_SIZE 0 keeps the default pipe; CHILD_CPU -1 lets the child run
# anywhere (the parent keeps the placement it inherited). Prints one line:
#   python NAME COUNT BYTES SECONDS
# (BYTES is COUNT * SIZE) and exits non-zero, saying why on stderr, if any
# check fails.
import fcntl
import os
import struct
import sys
import time
from multiprocessing import Pipe
from multiprocessing.connection import Connection

FILL = 0xA5
REPORT = struct.Struct("<BQQ")  # status, messages, sum of sequence numbers
FAULT_LENGTH, FAULT_ORDER, FAULT_FILL, FAULT_RECV, FAULT_SEND, FAULT_VALUE = 1, 2, 3, 4, 5, 6
# The dicts' keys; field k of dict i is 10 * i + k.
KEYS = tuple(f"f{k}" for k in range(10))
# fcntl.F_SETPIPE_SZ exists from Python 3.10; the Linux value otherwise.
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class Checker:
    """Checks received messages: order, length and fill, and sums the
    sequence numbers."""

    def __init__(self, size):
        self.size = size
        self.tail = bytes([FILL]) * (size - 8)
        self.next = 0
        self.sum = 0

    def check(self, buf, n):
        if n != self.size:
            return FAULT_LENGTH
        if struct.unpack_from("<Q", buf)[0] != self.next:
            return FAULT_ORDER
        # endswith compares with one memcmp, as the Rust checker does.
        if not buf.endswith(self.tail):
            return FAULT_FILL
        self.accept()
        return 0

    def accept(self):
        """Counts the next message, whose contents the caller checked."""
        self.sum += self.next
        self.next += 1

    def report(self, status):
        return REPORT.pack(status, self.next, self.sum & 0xFFFF_FFFF_FFFF_FFFF)


def receive_all(conn, checker, echo):
    """recv_bytes_into until end of stream, checking each message and, if
    echo is a connection, sending it back there."""
    buf = bytearray(checker.size)
    while True:
        try:
            n = conn.recv_bytes_into(buf)
        except EOFError:
            return 0
        except Exception:
            return FAULT_RECV
        fault = checker.check(buf, n)
        if fault:
            return fault
        if echo is not None:
            try:
                echo.send_bytes(buf, 0, n)
            except Exception:
                return FAULT_SEND


def receive_objects(conn, checker, check):
    """recv() until end of stream; check(obj, seq) says whether obj is
    message seq."""
    while True:
        try:
            obj = conn.recv()
        except EOFError:
            return 0
        except Exception:
            return FAULT_RECV
        if not check(obj, checker.next):
            return FAULT_VALUE
        checker.accept()


def is_int(obj, seq):
    # A type check, as recv::<i64>() makes.
    return type(obj) is int and obj == seq


def is_dict(obj, seq):
    base = seq * len(KEYS)
    return obj == dict(zip(KEYS, range(base, base + len(KEYS))))


def send_ints(reader, conn, size, count):
    for i in range(count):
        conn.send(i)


def send_dicts(reader, conn, size, count):
    # One dict, its values rewritten in place for each message, as the
    # Rust sender does.
    d = dict.fromkeys(KEYS, 0)
    for i in range(count):
        base = i * len(KEYS)
        d.update(zip(KEYS, range(base, base + len(KEYS))))
        conn.send(d)


def send_all(reader, conn, size, count):
    msg = bytearray([FILL]) * size
    for seq in range(count):
        struct.pack_into("<Q", msg, 0, seq)
        conn.send_bytes(msg)


def ping_all(reader, writer, size, count):
    msg = bytearray([FILL]) * size
    echoes = Checker(size)
    buf = bytearray(size)
    for seq in range(count):
        struct.pack_into("<Q", msg, 0, seq)
        writer.send_bytes(msg)
        fault = echoes.check(buf, reader.recv_bytes_into(buf))
        if fault:
            sys.exit(f"python: echo {seq}: fault {fault}")


def read_exact(fd, n):
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            sys.exit("python: the child died without a report")
        data += chunk
    return data


def receive(mode, reader, writer, checker):
    if mode == "ints":
        return receive_objects(reader, checker, is_int)
    if mode == "dicts":
        return receive_objects(reader, checker, is_dict)
    return receive_all(reader, checker, writer)


SENDERS = {
    "oneway": send_all,
    "pingpong": ping_all,
    "pingpong-pipes": ping_all,
    "ints": send_ints,
    "dicts": send_dicts,
}


def channel(mode, pipe_size):
    """The parent's and the child's (reader, writer): one Connection for
    both over a socket pair, None where a side has no such direction."""
    if mode == "pingpong":
        parent, child = Pipe()
        return (parent, parent), (child, child)
    if mode == "pingpong-pipes":
        # How a Python peer holds two pipes, one each way (Pipe(duplex=False)
        # wraps its one pipe the same way).
        to_child_r, to_child_w = os.pipe()
        to_parent_r, to_parent_w = os.pipe()
        parent = (Connection(to_parent_r, writable=False), Connection(to_child_w, readable=False))
        child = (Connection(to_child_r, writable=False), Connection(to_parent_w, readable=False))
        return parent, child
    reader, writer = Pipe(duplex=False)
    if pipe_size:
        fcntl.fcntl(writer.fileno(), F_SETPIPE_SZ, pipe_size)
    return (None, writer), (reader, None)


def close(ends):
    for conn in ends:
        if conn is not None:
            conn.close()  # a second close of the same Connection does nothing


def main():
    name, mode, size, count, pipe_size, child_cpu = sys.argv[1:7]
    size, count, pipe_size, child_cpu = int(size), int(count), int(pipe_size), int(child_cpu)
    parent, child = channel(mode, pipe_size)
    ctl_r, ctl_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        close(parent)
        os.close(ctl_r)
        code = 1
        try:
            if child_cpu >= 0:
                os.sched_setaffinity(0, {child_cpu})
            checker = Checker(size)
            os.write(ctl_w, b"R")
            status = receive(mode, *child, checker)
            os.write(ctl_w, checker.report(status))
            code = 0
        finally:
            os._exit(code)
    close(child)
    os.close(ctl_w)
    read_exact(ctl_r, 1)
    start = time.perf_counter()
    SENDERS[mode](*parent, size, count)
    close(parent)
    status, got, total = REPORT.unpack(read_exact(ctl_r, REPORT.size))
    seconds = time.perf_counter() - start
    _, wait_status = os.waitpid(pid, 0)
    want = (count * (count - 1) // 2) & 0xFFFF_FFFF_FFFF_FFFF
    if status or got != count or total != want or wait_status:
        sys.exit(f"python: {name}: child status {status}, {got} messages, sum {total}")
    print(f"python {name} {count} {count * size} {seconds:.9f}")


main()
