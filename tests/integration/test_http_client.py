"""The HTTP/1.1 client (src/http/client.c) driven through meridian-clientd against
meridian-testd and small Python origins that misbehave on purpose: keep-alive reuse,
the per-origin limit and its queue, Host apart from the connect address, the error
each failure maps to (refused, connect / first-byte / read timeouts, reset, closed
early, malformed), the retry rule, cancel and client free, and streaming 256 MiB
both ways in bounded memory. Everything listens on 127.0.0.1 with free ports."""
import hashlib
import os
import pathlib
import re
import socket
import struct
import subprocess
import threading
import time

import pytest

from httpd import Daemon, Reader, rss_bound_ok

ROOT = pathlib.Path(__file__).resolve().parents[2]
MiB = 1 << 20


def clientd_path():
    meridian = os.environ.get("MERIDIAN_BIN", str(ROOT / "build" / "meridian"))
    return str(pathlib.Path(meridian).parent / "meridian-clientd")


class Result:
    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.elapsed = elapsed
        self.exchanges = {}
        self.summary = {}
        for line in proc.stdout.splitlines():
            fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
            if line.startswith("done "):
                self.summary = {k: int(v) for k, v in fields.items()}
            else:
                index = int(line.split()[0])
                assert index not in self.exchanges, f"exchange {index} ended twice:\n{proc.stdout}"
                self.exchanges[index] = fields

    def one(self):
        assert len(self.exchanges) == 1, self.stdout
        return self.exchanges[0]

    def errors(self):
        return [e.get("error") for _, e in sorted(self.exchanges.items())]

    def __repr__(self):
        return f"rc={self.rc}\n{self.stdout}\n{self.stderr}"


def clientd(mode, origin, host, target, *args, timeout=60):
    """Run meridian-clientd; returns a Result (one dict of fields per exchange)."""
    start = time.monotonic()
    proc = subprocess.run([clientd_path(), *map(str, args), mode, origin, host, target],
                          capture_output=True, text=True, timeout=timeout)
    return Result(proc, time.monotonic() - start)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Conn(Reader):
    """Reads requests from one accepted socket."""

    def request(self):
        """(request line, headers as (name, value) list, body) or None at EOF."""
        try:
            while b"\r\n\r\n" not in self.buf:
                self._more()
            head, _, self.buf = self.buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:]]
            h = {k.lower(): v for k, v in headers}
            body = b""
            if "content-length" in h:
                body = self._take(int(h["content-length"]))
            elif h.get("transfer-encoding") == "chunked":
                while True:
                    size = int(self._line(), 16)
                    body += self._take(size)
                    assert self._take(2) == b"\r\n"
                    if size == 0:
                        break
            return lines[0], headers, body
        except ConnectionError:  # EOF or reset
            return None

    def wait_eof(self, within=10):
        """True once the peer closed (EOF or reset) within `within` seconds."""
        self.sock.settimeout(within)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except ConnectionResetError:
            return True
        except OSError:
            return False


class Origin:
    """A Python origin on 127.0.0.1: serve(conn, origin) runs in a thread per connection."""

    def __init__(self, serve, backlog=128):
        self.serve = serve
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.addr = f"127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.accepts = self.open = self.max_open = 0
        self.requests = []
        self.ended = threading.Event()  # some connection's handler finished
        self.stopping = threading.Event()
        self.socks = []
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def _accept(self):
        self.sock.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                s, _ = self.sock.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            s.settimeout(10)
            with self.lock:
                self.accepts += 1
                self.open += 1
                self.max_open = max(self.max_open, self.open)
                self.socks.append(s)
            t = threading.Thread(target=self._run, args=(s,), daemon=True)
            t.start()
            self.threads.append(t)

    def _run(self, s):
        try:
            self.serve(Conn(s), self)
        except OSError:
            pass
        finally:
            with self.lock:
                self.open -= 1
            self.ended.set()
            try:
                s.close()
            except OSError:
                pass

    def record(self, req):
        with self.lock:
            self.requests.append(req)

    def close(self):
        self.stopping.set()
        self.sock.close()
        for s in list(self.socks):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(timeout=5)


@pytest.fixture
def origin():
    started = []

    def start(serve, **kw):
        o = Origin(serve, **kw)
        started.append(o)
        return o

    yield start
    for o in started:
        o.close()


def peers_logged(d):
    """Stop testd and return the peer of each request it logged (TESTD_LOG=1)."""
    d.stop()
    return [line.split()[1] for line in d.proc.stderr.read().splitlines()
            if re.match(r"^[0-9a-f]{20} ", line)]


def ok(body=b"ok", extra=b""):
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def serve_keepalive(conn, o, delay=0.0):
    while (req := conn.request()) is not None:
        o.record(req)
        time.sleep(delay)
        conn.sock.sendall(ok())


def pattern(n):
    """The body clientd generates: a 64 KiB block repeated."""
    block = bytes((i * 131 + (i >> 8) + 7) & 0xFF for i in range(65536))
    return (block * (n // 65536 + 1))[:n]


# ---- keep-alive, the pool, the queue ----


def test_keep_alive_reuses_one_connection(testd):
    d = testd(log=True)
    r = clientd("get", f"127.0.0.1:{d.port}", "x", "/hello", "--count", 20)
    assert r.rc == 0, r
    assert all(e["status"] == "200" and e["bytes"] == "2" for e in r.exchanges.values())
    peers = peers_logged(d)
    assert len(peers) == 20 and len(set(peers)) == 1


def test_head_responses_leave_the_connection_usable(testd):
    # testd answers HEAD /hello with Content-Length: 2 and no body.
    d = testd(log=True)
    r = clientd("get", f"127.0.0.1:{d.port}", "x", "/hello", "--count", 3, "--method", "HEAD")
    assert r.rc == 0, r
    assert [e["bytes"] for e in r.exchanges.values()] == ["0"] * 3
    assert len(set(peers_logged(d))) == 1


def test_per_origin_limit_queues_the_rest(testd):
    d = testd(log=True)
    r = clientd("get", f"127.0.0.1:{d.port}", "x", "/slow?ms=100", "--count", 20,
                "--concurrency", 20, "--max-per-origin", 4)
    assert r.rc == 0, r
    assert len(r.exchanges) == 20
    peers = peers_logged(d)
    assert len(peers) == 20 and len(set(peers)) == 4
    assert r.elapsed > 0.45  # five rounds of 100 ms on four connections


def test_per_origin_limit_is_never_exceeded(origin):
    o = origin(lambda c, o: serve_keepalive(c, o, delay=0.05))
    r = clientd("get", o.addr, "x", "/", "--count", 40, "--concurrency", 20,
                "--max-per-origin", 4)
    assert r.rc == 0, r
    assert o.max_open == 4 and o.accepts == 4
    assert len(o.requests) == 40


def test_idle_connections_close_after_the_idle_timeout(origin):
    o = origin(serve_keepalive)
    r = clientd("get", o.addr, "x", "/", "--count", 3, "--delay-ms", 300, "--idle-timeout", 100)
    assert r.rc == 0, r
    assert o.accepts == 3
    o2 = origin(serve_keepalive)
    r = clientd("get", o2.addr, "x", "/", "--count", 3, "--delay-ms", 300, "--idle-timeout", 3000)
    assert r.rc == 0, r
    assert o2.accepts == 1


def test_a_pooled_connection_the_server_closed_is_dropped(origin):
    """The server closes 50 ms after each response; the client notices the EOF
    while the connection is idle, so no request is ever sent into it."""
    def serve(conn, o):
        req = conn.request()
        if req:
            o.record(req)
            conn.sock.sendall(ok())
            time.sleep(0.05)

    o = origin(serve)
    r = clientd("get", o.addr, "x", "/", "--count", 3, "--delay-ms", 300, "--method", "POST",
                "--no-retryable")
    assert r.rc == 0, r
    assert o.accepts == 3 and len(o.requests) == 3


# ---- the request on the wire ----


def test_host_header_is_independent_of_the_connect_address(origin):
    def serve(conn, o):
        while (req := conn.request()) is not None:
            o.record(req)
            host = [v for k, v in req[1] if k.lower() == "host"]
            conn.sock.sendall(ok(",".join(host).encode()))

    o = origin(serve)
    r = clientd("get", o.addr, "bucket.s3.example.com:9000", "/key?x=1", "--print-body",
                "--header", "X-Extra: yes")
    assert r.rc == 0, r
    assert r.one()["body"] == "bucket.s3.example.com:9000"
    line, headers, body = o.requests[0]
    assert line == "GET /key?x=1 HTTP/1.1"
    assert headers[0] == ("Host", "bucket.s3.example.com:9000")
    assert ("X-Extra", "yes") in headers
    names = [k.lower() for k, _ in headers]
    assert "content-length" not in names and "transfer-encoding" not in names


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_request_body_framing(origin, chunked):
    def serve(conn, o):
        while (req := conn.request()) is not None:
            o.record(req)
            conn.sock.sendall(ok(hashlib.sha256(req[2]).hexdigest().encode()))

    o = origin(serve)
    size = 300_001
    args = ["--bytes", size, "--piece", 7000, "--print-body"] + (["--chunked"] if chunked else [])
    r = clientd("put", o.addr, "x", "/up", *args)
    assert r.rc == 0, r
    line, headers, body = o.requests[0]
    h = {k.lower(): v for k, v in headers}
    if chunked:
        assert h["transfer-encoding"] == "chunked" and "content-length" not in h
    else:
        assert h["content-length"] == str(size) and "transfer-encoding" not in h
    assert body == pattern(size)
    assert r.one()["body"] == hashlib.sha256(pattern(size)).hexdigest()
    assert r.one()["sent_sha256"] == hashlib.sha256(pattern(size)).hexdigest()


@pytest.mark.parametrize("origin_addr,target,extra", [
    ("localhost:80", "/", []),                       # names are never looked up on a loop
    ("127.0.0.1:80", "/a b", []),                    # space in the target
    ("127.0.0.1:80", "/", ["--header", "Content-Length: 5"]),  # framing is the client's
    ("127.0.0.1:80", "/", ["--header", "X-A: a\r\nX-B: b"]),   # header injection
], ids=["name", "space", "reserved", "crlf"])
def test_invalid_requests_are_refused_at_send(origin_addr, target, extra):
    r = clientd("get", origin_addr, "x", target, *extra)
    assert r.rc == 1, r
    assert r.one()["error"] == "INVALID"


def test_ipv6_origin():
    d = Daemon(listen="[::1]:0")
    try:
        r = clientd("get", f"[::1]:{d.port}", "x", "/hello", "--count", 2)
        assert r.rc == 0, r
        assert len(r.exchanges) == 2
    finally:
        d.stop()


# ---- responses ----


def test_informational_responses_are_skipped(origin):
    def serve(conn, o):
        while (req := conn.request()) is not None:
            conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n"
                              b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
                              + ok(b"final"))

    o = origin(serve)
    r = clientd("get", o.addr, "x", "/", "--count", 2, "--print-body")
    assert r.rc == 0, r
    assert [(e["status"], e["body"]) for e in r.exchanges.values()] == [("200", "final")] * 2
    assert o.accepts == 1


def test_response_framed_by_eof_completes_at_close(origin):
    def serve(conn, o):
        conn.request()
        conn.sock.sendall(b"HTTP/1.1 200 OK\r\n\r\n" + b"z" * 100_000)

    o = origin(serve)
    r = clientd("get", o.addr, "x", "/", "--count", 2)
    assert r.rc == 0, r
    assert [e["bytes"] for e in r.exchanges.values()] == ["100000"] * 2
    assert o.accepts == 2  # never reused


MALFORMED = [
    b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    b"SMTP ready\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
]


@pytest.mark.parametrize("raw", MALFORMED, ids=[str(i) for i in range(len(MALFORMED))])
def test_malformed_response_is_bad_response(origin, raw):
    def serve(conn, o):
        conn.request()
        conn.sock.sendall(raw)
        conn.wait_eof()

    o = origin(serve)
    r = clientd("get", o.addr, "x", "/")
    assert r.rc == 1, r
    assert r.one()["error"] == "HTTP_BAD_RESPONSE"


def test_bytes_after_a_response_stop_reuse(origin):
    def serve(conn, o):
        while conn.request() is not None:
            conn.sock.sendall(ok() + b"HTTP/1.1 200 OK\r\n")

    o = origin(serve)
    r = clientd("get", o.addr, "x", "/", "--count", 2)
    assert r.rc == 0, r
    assert o.accepts == 2


def test_an_answer_before_the_body_is_sent_completes_and_closes(testd):
    # testd answers 404 at once and closes without reading the 10 MB body: our
    # writes fail, but the answer waiting in the socket is still read and is the
    # result; the connection is not reused.
    d = testd(log=True)
    r = clientd("put", f"127.0.0.1:{d.port}", "x", "/nope", "--bytes", 10_000_000, "--count", 3)
    assert r.rc == 0, r
    assert all(e["status"] == "404" and int(e["sent"]) < 10_000_000
               for e in r.exchanges.values())
    assert len(set(peers_logged(d))) == 3


# ---- errors ----


def test_connection_refused(origin):
    r = clientd("get", f"127.0.0.1:{free_port()}", "x", "/")
    assert r.rc == 1, r
    assert r.one()["error"] == "NET_REFUSED"


def test_connect_timeout(origin):
    """A listener with backlog 0 that never accepts: once one handshake sits in its
    accept queue the kernel drops further SYNs, so the client's connect hangs. The
    first-byte timeout is 20 s, so an error within ~0.3 s can only be the connect timer."""
    o = origin(lambda c, o: None, backlog=0)
    o.stopping.set()  # stop accepting; the listening socket stays open
    time.sleep(0.3)
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.settimeout(0.3)
        try:
            s.connect(("127.0.0.1", o.port))
        except OSError:
            pass
        fillers.append(s)
    try:
        r = clientd("get", o.addr, "x", "/", "--connect-timeout", 300,
                    "--first-byte-timeout", 20000)
    finally:
        for s in fillers:
            s.close()
    assert r.rc == 1, r
    assert r.one()["error"] == "NET_TIMEOUT"
    assert 0.25 < r.elapsed < 3, r.elapsed


def test_first_byte_timeout(origin):
    def serve(conn, o):
        conn.request()
        conn.wait_eof()

    o = origin(serve)
    r = clientd("get", o.addr, "x", "/", "--first-byte-timeout", 300, "--read-timeout", 20000)
    assert r.rc == 1, r
    assert r.one()["error"] == "NET_TIMEOUT" and r.one()["status"] == "0"
    assert 0.25 < r.elapsed < 3, r.elapsed
    assert o.ended.wait(5)  # the client closed the connection


def test_read_timeout(origin):
    def serve(conn, o):
        conn.request()
        conn.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        conn.wait_eof()

    o = origin(serve)
    r = clientd("get", o.addr, "x", "/", "--first-byte-timeout", 20000, "--read-timeout", 300)
    assert r.rc == 1, r
    e = r.one()
    assert (e["error"], e["status"], e["bytes"]) == ("NET_TIMEOUT", "200", "10")
    assert 0.25 < r.elapsed < 3, r.elapsed


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_server_closing_mid_body(origin, reset):
    """A FIN in the middle of the body is NET_CLOSED; an RST (SO_LINGER 0) is NET_RESET."""
    def serve(conn, o):
        conn.request()
        conn.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
        time.sleep(0.2)  # the client has read the 100 bytes
        if reset:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    o = origin(serve)
    r = clientd("get", o.addr, "x", "/")
    assert r.rc == 1, r
    e = r.one()
    assert (e["error"], e["status"], e["bytes"]) == ("NET_RESET" if reset else "NET_CLOSED",
                                                     "200", "100")


def test_server_closing_before_answering_is_closed(origin):
    def serve(conn, o):
        conn.request()

    o = origin(serve)
    r = clientd("get", o.addr, "x", "/")
    assert r.rc == 1, r
    assert r.one()["error"] == "NET_CLOSED"
    assert o.accepts == 1  # a fresh connection is never retried


# ---- retry ----


def serve_one_then_close(conn, o):
    """Answer the first request (keep-alive, no Connection: close), then read the
    next one whole and close without answering."""
    req = conn.request()
    if req is None:
        return
    o.record(req)
    conn.sock.sendall(ok())
    req = conn.request()
    if req is not None:
        o.record(req)


def test_retryable_get_is_retried_on_a_fresh_connection(origin):
    o = origin(serve_one_then_close)
    r = clientd("get", o.addr, "x", "/", "--count", 3)
    assert r.rc == 0, r
    assert all(e["status"] == "200" for e in r.exchanges.values())
    # Exchange 0 on A; 1 fails on reused A and is retried on B; 2 fails on B, retried on C.
    assert o.accepts == 3 and len(o.requests) == 5


def test_non_retryable_post_is_not_retried(origin):
    o = origin(serve_one_then_close)
    r = clientd("put", o.addr, "x", "/", "--count", 2, "--method", "POST", "--bytes", 5)
    assert r.rc == 1, r
    assert r.errors() == [None, "NET_CLOSED"]
    assert o.accepts == 1 and len(o.requests) == 2


def test_retryable_put_with_body_given_is_not_retried(origin):
    # clientd gives the body right after sending: body bytes were given, so no retry.
    o = origin(serve_one_then_close)
    r = clientd("put", o.addr, "x", "/", "--count", 2, "--bytes", 5, "--retryable")
    assert r.rc == 1, r
    assert r.errors() == [None, "NET_CLOSED"]
    assert o.accepts == 1


# ---- cancel and free ----


def test_cancel_closes_the_connection(origin):
    def serve(conn, o):
        conn.request()
        conn.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n")
        chunk = b"y" * 65536
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            conn.sock.sendall(chunk)

    o = origin(serve)
    r = clientd("get", o.addr, "x", "/", "--cancel-after", MiB)
    assert r.rc == 1, r
    e = r.one()
    assert e["error"] == "NET_CLOSED" and int(e["bytes"]) >= MiB
    assert o.ended.wait(5)  # the server's send failed: the connection is gone


def test_deadline_cancels_queued_and_active_exchanges(testd):
    d = testd()
    r = clientd("get", f"127.0.0.1:{d.port}", "x", "/slow?ms=3000", "--count", 10,
                "--concurrency", 10, "--max-per-origin", 2, "--deadline-ms", 300)
    assert r.rc == 3, r
    assert sorted(r.exchanges) == list(range(10))
    assert set(r.errors()) == {"NET_CLOSED"}
    assert r.elapsed < 2.5


def test_client_free_ends_every_exchange_once(testd):
    d = testd()
    r = clientd("get", f"127.0.0.1:{d.port}", "x", "/slow?ms=3000", "--count", 10,
                "--concurrency", 10, "--max-per-origin", 3, "--free-after-ms", 300)
    assert r.rc == 4, r
    assert sorted(r.exchanges) == list(range(10))
    assert set(r.errors()) == {"NET_CLOSED"}
    assert r.elapsed < 2.5


# ---- streaming in bounded memory ----


def test_256_mib_put_streams_in_bounded_memory(testd):
    d = testd()
    size = 256 * MiB
    r = clientd("put", f"127.0.0.1:{d.port}", "x", "/sink", "--bytes", size, "--print-body",
                timeout=120)
    assert r.rc == 0, r
    e = r.one()
    assert e["sent"] == str(size)
    assert e["body"] == f"{size}\\x20{e['sent_sha256']}\\x0a"
    assert rss_bound_ok(r.summary["vmhwm_kib"], 48 * 1024), r.summary


def test_256_mib_echo_with_a_slow_reader_is_bounded_both_ways(testd):
    """PUT 256 MiB (chunked) to /echo and read it back while pausing the response
    every 8 pieces: testd stops reading when its output backs up, the client stops
    writing when the socket does. Both stay small; the bytes come back intact."""
    d = testd()
    size = 256 * MiB
    r = clientd("put", f"127.0.0.1:{d.port}", "x", "/echo", "--bytes", size, "--chunked",
                "--pause-every", 8, "--pause-ms", 2, timeout=180)
    assert r.rc == 0, r
    e = r.one()
    assert e["bytes"] == str(size) and e["sha256"] == e["sent_sha256"]
    assert rss_bound_ok(r.summary["vmhwm_kib"], 48 * 1024), r.summary
    assert d.rss_bound_ok(64 * 1024), d.rss_kib()
