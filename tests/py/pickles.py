"""Python's side of the pickle interop tests (tests/pickle_interop.rs).

The connection is standard input (one end of a socket pair, or a pipe).

  corpus     For every value of VALUES and every protocol this Python has,
             send_bytes(pickle.dumps(value, protocol)), then send(value)
             (ForkingPickler's default protocol), and recv() each answer:
             Rust decodes and re-encodes what it got, and sends it back.
             Each answer must equal the value, types included. Prints
             "corpus N" (how many pickles) and exits 0, or reports each
             mismatch on stderr and exits 1.
  seeds DIR  Writes every pickle of VALUES at every protocol to DIR, for
             the fuzz targets' seed corpus.
  child      The classic program's child: recv() and print each value until
             EOFError.
  parent N   The classic program's parent: send(i) for i in range(N).
  echo       recv() and send() back each object until EOFError.
  serve PATH KEY    Listener(PATH, authkey=KEY): prints READY, accepts one
             client, sends a greeting dict, then echoes until EOFError.
  connect PATH KEY  Client(PATH, authkey=KEY): the same greeting, then echo.
"""
import math
import os
import pickle
import struct
import sys
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler


def nested(depth):
    x = None
    for _ in range(depth):
        x = [x]
    return x


def shared():
    x = [1, 2]
    return [x, x, {"a": x}]


def filled_after_memo():
    # The memo refers to the list, which APPENDS fills after MEMOIZE.
    inner = []
    outer = [inner, inner]
    inner.extend(range(5))
    return outer


VALUES = [
    ("none", None),
    ("true", True),
    ("false", False),
    ("ints", [0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -(2**31), 2**31, -(2**31) - 1]),
    ("i64 edges", [2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**64, -(2**64)]),
    ("big ints", [2**70, -(2**70), 2**1000 + 7, -(2**2000) - 3, 2**2100]),
    ("huge int", 3**30000),
    ("floats", [0.0, -0.0, 1.5, -2.25, 1e308, 5e-324, float("inf"), float("-inf"), 0.1]),
    ("nan", float("nan")),
    ("strs", ["", "a", "\u00e9", "\u20ac", "\U0001f600", "a\nb\\c\x00\x1a\r"]),
    ("long str", "xy\u00e9" * 100),
    ("bigger str", "z" * 70000),
    ("bytes", [b"", b"\x00\xff", b"abc", bytes(range(256))]),
    ("long bytes", b"\x01\x02" * 40000),
    ("bytearrays", [bytearray(), bytearray(b"ab\x00\xff"), bytearray(b"q" * 300)]),
    ("tuples", [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), ((),), (1, (2, (3,)))]),
    ("lists", [[], [1], [None, "x"], list(range(2500))]),
    ("dicts", [{}, {"a": 1}, {1: "a", "b": 2.5}, {i: str(i) for i in range(1500)}]),
    ("keys", {None: 0, True: 1, 2: 2, 2.5: 3, "s": 4, b"b": 5, (1, "t"): 6, frozenset([1]): 7}),
    ("sets", [set(), {1}, {1, "a", b"b", (2, 3)}, set(range(1200))]),
    ("frozensets", [frozenset(), frozenset([1, 2]), frozenset(["x", (1,)])]),
    ("job", {"job": 1, "args": [1, 2.5, "x", b"y", None, True], "tags": {"a", "b"}}),
    ("shared", shared()),
    ("filled after memo", filled_after_memo()),
    ("interned keys", [{"name": "n%d" % i, "id": i} for i in range(300)]),
    ("nested 300", nested(300)),
]


def protocols():
    return range(0, pickle.HIGHEST_PROTOCOL + 1)


def same(a, b):
    """Equal, and of the same types all the way down; floats bit for bit."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same(ka, kb) and same(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items())
        )
    if isinstance(a, (set, frozenset)):
        return a == b and all(any(same(x, y) for y in b if y == x) for x in a)
    return a == b


def conn_on_stdin():
    return Connection(os.dup(0))


def corpus():
    conn = conn_on_stdin()
    sys.setrecursionlimit(10000)
    bad = 0
    count = 0
    for name, value in VALUES:
        for proto in list(protocols()) + [None]:
            if proto is None:
                conn.send(value)
                label = "send()"
            else:
                try:
                    data = pickle.dumps(value, protocol=proto)
                except ValueError:
                    continue  # 3.11+: no int of over 4300 digits in text
                if proto < 2 and name == "huge int":
                    continue  # over 4300 digits in text: refused, as 3.11+ does
                conn.send_bytes(data)
                label = "protocol %d" % proto
            count += 1
            try:
                back = conn.recv()
            except Exception as e:
                print("%s, %s: %r" % (name, label, e), file=sys.stderr)
                bad += 1
                continue
            if not same(value, back):
                print("%s, %s: got %.200r" % (name, label, back), file=sys.stderr)
                bad += 1
    conn.send_bytes(b"done")
    print("corpus %d" % count, flush=True)
    return 1 if bad else 0


def seeds(directory):
    os.makedirs(directory, exist_ok=True)
    version = "%d%d" % sys.version_info[:2]
    for i, (name, value) in enumerate(VALUES):
        for proto in protocols():
            try:
                data = pickle.dumps(value, protocol=proto)
            except ValueError:
                continue
            if len(data) > 4096:
                continue
            path = os.path.join(directory, "seed-py%s-p%d-%02d" % (version, proto, i))
            with open(path, "wb") as f:
                f.write(data)
        data = bytes(ForkingPickler.dumps(value))
        if len(data) <= 4096:
            with open(os.path.join(directory, "seed-py%s-fp-%02d" % (version, i)), "wb") as f:
                f.write(data)
    return 0


def child():
    conn = conn_on_stdin()
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            break
        print(msg, flush=True)
    return 0


def parent(n):
    conn = conn_on_stdin()
    for i in range(n):
        conn.send(i)
    return 0


GREETING = {"hello": "from Python", "version": list(sys.version_info[:2]), "ok": True}


def echo(conn=None):
    conn = conn or conn_on_stdin()
    while True:
        try:
            conn.send(conn.recv())
        except EOFError:
            return 0


def main(argv):
    if argv[0] == "corpus":
        return corpus()
    if argv[0] == "seeds":
        return seeds(argv[1])
    if argv[0] == "child":
        return child()
    if argv[0] == "parent":
        return parent(int(argv[1]))
    if argv[0] == "echo":
        return echo()
    if argv[0] == "serve":
        from multiprocessing.connection import Listener

        with Listener(argv[1], authkey=argv[2].encode()) as listener:
            print("READY", flush=True)
            with listener.accept() as conn:
                conn.send(GREETING)
                return echo(conn)
    if argv[0] == "connect":
        from multiprocessing.connection import Client

        with Client(argv[1], authkey=argv[2].encode()) as conn:
            conn.send(GREETING)
            return echo(conn)
    raise SystemExit("unknown mode %r" % argv[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
