"""meridian wan: the delaying TCP relay, against real sockets on loopback.

Timing assertions are one-sided (at least the configured delay) with loose
upper bounds, so a busy machine cannot make them flaky.
"""
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from httpd import rss_bound_ok

MiB = 1024 * 1024


class Upstream:
    """A TCP server on a free loopback port; handler(conn) runs in a thread per connection."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.errors = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _run(self, c):
        try:
            self.handler(c)
        except Exception as e:  # reported by the test that cares
            self.errors.append(e)
        finally:
            c.close()

    def close(self):
        self.sock.close()


def echo(c):
    while True:
        d = c.recv(256 * 1024)
        if not d:
            c.shutdown(socket.SHUT_WR)
            return
        c.sendall(d)


class Relay:
    def __init__(self, binary, to_port, delay, jitter=0, control=True, extra=()):
        args = [binary, "wan", "--listen", "127.0.0.1:0", "--to", f"127.0.0.1:{to_port}",
                "--delay-ms", str(delay), "--jitter-ms", str(jitter), *extra]
        if control:
            args += ["--control", "127.0.0.1:0"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"wan did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(line.split()[-1])
        self.control = int(self.proc.stdout.readline().split()[-1]) if control else None

    def connect(self, timeout=30):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def url(self, query=""):
        return f"http://127.0.0.1:{self.control}/delay{query}"

    def get_delay(self):
        with urllib.request.urlopen(self.url(), timeout=10) as r:
            return json.loads(r.read())

    def put_delay(self, query):
        req = urllib.request.Request(self.url(query), method="PUT")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def hwm_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        """SIGTERM; the relay must exit 0."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        err = self.proc.stderr.read()
        return self.proc.returncode, err


@pytest.fixture
def relays(meridian_bin):
    started, ups = [], []

    def start(handler, delay, **kw):
        up = Upstream(handler)
        ups.append(up)
        r = Relay(meridian_bin, up.port, delay, **kw)
        r.upstream = up
        started.append(r)
        return r

    yield start
    for r in started:
        rc, err = r.stop()
        assert rc == 0, err
        assert "ERROR: AddressSanitizer" not in err and "runtime error" not in err, err
    for up in ups:
        up.close()


def rtts(sock, n=5, size=16):
    out = []
    msg = b"x" * size
    for _ in range(n):
        t = time.monotonic()
        sock.sendall(msg)
        got = b""
        while len(got) < size:
            d = sock.recv(size - len(got))
            assert d, "relay closed the connection"
            got += d
        out.append((time.monotonic() - t) * 1000)
        assert got == msg
    return out


def test_round_trip_costs_twice_the_delay(relays):
    r = relays(echo, 50)
    direct = socket.create_connection(("127.0.0.1", r.upstream.port), timeout=10)
    base = statistics.median(rtts(direct))
    direct.close()
    with r.connect() as s:
        times = rtts(s)
    assert min(times) >= 100, times
    assert statistics.median(times) < 400 + base, times


def test_delay_changes_at_run_time(relays):
    r = relays(echo, 10)
    assert r.get_delay() == {"delay_ms": 10, "jitter_ms": 0, "connections": 0}
    with r.connect() as s:
        near = rtts(s)
        assert min(near) >= 20 and statistics.median(near) < 150, near
        assert r.put_delay("?ms=80") == {"delay_ms": 80, "jitter_ms": 0, "connections": 1}
        far = rtts(s)
        assert min(far) >= 160 and statistics.median(far) < 600, far
        assert r.put_delay("?ms=10&jitter=0")["delay_ms"] == 10
        back = rtts(s)
        assert min(back) >= 20 and statistics.median(back) < 150, back
    assert r.get_delay()["jitter_ms"] == 0


@pytest.mark.parametrize("query", ["", "?ms=abc", "?ms=600001", "?delay=5", "?ms=-1", "?ms"])
def test_control_refuses_bad_settings(relays, query):
    r = relays(echo, 7)
    with pytest.raises(urllib.error.HTTPError) as e:
        r.put_delay(query)
    assert e.value.code == 400
    assert r.get_delay()["delay_ms"] == 7


def test_control_other_paths_and_methods(relays):
    r = relays(echo, 1)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://127.0.0.1:{r.control}/nope", timeout=10)
    assert e.value.code == 404
    req = urllib.request.Request(r.url(), method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 405


def pattern(n, seed):
    """n deterministic pseudo-random bytes (a hash chain, so a reordering shows)."""
    out, h, block = bytearray(), hashlib.sha256(seed).digest(), b""
    while len(out) < n:
        block = hashlib.sha256(h + block[:32]).digest() * 2048  # 64 KiB
        h = block[:32]
        out += block
    return bytes(out[:n])


def test_stream_intact_both_ways_with_jitter(relays):
    r = relays(echo, 5, jitter=10)
    data = pattern(20 * MiB, b"wan")
    with r.connect(timeout=60) as s:
        def send():
            view = memoryview(data)
            for i in range(0, len(data), 100_000):  # uneven pieces
                s.sendall(view[i:i + 100_000])
            s.shutdown(socket.SHUT_WR)

        t = threading.Thread(target=send)
        t.start()
        got = bytearray()
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            got += d
        t.join()
    assert len(got) == len(data)
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_backpressure_bounds_memory_for_a_slow_reader(relays):
    total = 200 * MiB
    stall = threading.Event()
    received = []

    def slow_reader(c):
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
        stall.wait(30)
        n = 0
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            n += len(d)
            time.sleep(0.002)
        received.append(n)

    r = relays(slow_reader, 5)
    sent = [0]
    chunk = b"\xa5" * MiB
    with r.connect(timeout=120) as s:
        def push():
            for _ in range(total // MiB):
                s.sendall(chunk)
                sent[0] += len(chunk)
            s.shutdown(socket.SHUT_WR)

        t = threading.Thread(target=push, daemon=True)
        t.start()
        time.sleep(1.5)
        # The reader has not read a byte: the relay holds at most its cap
        # per direction, the rest waits in kernel buffers and the sender.
        held = sent[0]
        stall.set()
        t.join(120)
        assert not t.is_alive()
        s.settimeout(120)
        assert s.recv(1) == b""  # the reader's side ended after it read everything
    assert held < 48 * MiB, held
    assert received == [total]
    assert rss_bound_ok(r.hwm_kib(), 64 * 1024), r.hwm_kib()


def test_upstream_refused_closes_the_client(meridian_bin):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    dead = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    r = Relay(meridian_bin, dead, 5, control=False)
    try:
        with r.connect(timeout=10) as s:
            try:
                assert s.recv(1) == b""
            except ConnectionResetError:
                pass
    finally:
        rc, err = r.stop()
    assert rc == 0, err


def test_half_close_relayed_after_the_data(relays):
    def count_then_answer(c):
        n = 0
        while True:
            d = c.recv(65536)
            if not d:
                break
            n += len(d)
        c.sendall(f"got {n}".encode())
        c.shutdown(socket.SHUT_WR)
        c.recv(1)

    r = relays(count_then_answer, 30)
    with r.connect() as s:
        s.sendall(b"a" * 300_000)
        t = time.monotonic()
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            d = s.recv(1024)
            if not d:
                break
            got += d
        took = (time.monotonic() - t) * 1000
    assert got == b"got 300000"
    assert took >= 60, took


def test_reset_closes_both_sides(relays):
    seen = []

    def watch(c):
        c.settimeout(20)
        try:
            seen.append(c.recv(10))
        except ConnectionResetError:
            seen.append("reset")

    r = relays(watch, 5)
    s = r.connect()
    time.sleep(0.2)  # upstream connected
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()  # RST
    for _ in range(100):
        if seen:
            break
        time.sleep(0.05)
    assert seen in ([b""], ["reset"])
    for _ in range(100):
        if r.get_delay()["connections"] == 0:
            break
        time.sleep(0.05)
    assert r.get_delay()["connections"] == 0


def test_usage_errors(run):
    assert run("wan", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:1").returncode == 2
    assert run("wan", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:1",
               "--delay-ms", "x").returncode == 2
    assert run("wan", "--listen", "127.0.0.1:0", "--to", "localhost:1",
               "--delay-ms", "1").returncode == 1
    h = run("wan", "--help")
    assert h.returncode == 0 and "--delay-ms" in h.stdout


def test_sigterm_with_bytes_queued_exits_cleanly(relays):
    r = relays(echo, 300)
    s = r.connect()
    s.sendall(b"q" * 200_000)  # held in the relay for 300 ms
    time.sleep(0.05)
    rc, err = r.stop()
    assert rc == 0, err
    assert "ERROR: AddressSanitizer" not in err and "runtime error" not in err, err
    s.settimeout(10)
    try:
        assert s.recv(1 << 20) == b""  # closed without the held bytes
    except ConnectionResetError:
        pass
    s.close()
