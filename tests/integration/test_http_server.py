"""The HTTP/1.1 server engine over raw sockets: keep-alive, pipelining order,
100-continue, chunked in and out, strict rejection of bad framing, caps, timeouts
(slowloris, idle, body stall), backpressure and bounded memory, SIGTERM drain."""
import hashlib
import os
import socket
import threading
import time

import pytest

from httpd import Daemon, Reader, closed_by_peer, read_response


def test_keep_alive_serves_many_requests_on_one_connection(testd):
    d = testd()
    s = d.connect()
    r = Reader(s)
    for i in range(50):
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = r.response()
        assert (status, body) == (200, b"ok")
        assert headers["content-length"] == "2" and "date" in headers and "x-request-id" in headers
    s.close()


def test_an_answer_to_an_empty_body_keeps_the_connection(testd):
    """Content-Length: 0 is a whole body: answering at once (s3cmd sends it on
    every GET) must not close the connection."""
    d = testd()
    s = d.connect()
    r = Reader(s)
    for _ in range(3):
        s.sendall(b"GET /status?code=404 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        status, headers, _ = r.response()
        assert status == 404 and headers.get("connection") != "close"
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.response()[2] == b"ok"


def test_request_ids_are_unique(testd):
    d = testd()
    s = d.connect()
    r = Reader(s)
    ids = set()
    for _ in range(20):
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        ids.add(r.response()[1]["x-request-id"])
    assert len(ids) == 20


def test_pipelined_responses_come_back_in_order(testd):
    d = testd()
    s = d.connect()
    s.sendall(b"GET /slow?ms=200 HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /status?code=201 HTTP/1.1\r\nHost: x\r\n\r\n"
              b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"
              b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
              b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    r = Reader(s)
    assert r.response()[::2] == (200, b"slow\n")
    assert r.response()[0] == 201
    status, headers, body = r.response(head_request=True)
    assert status == 200 and headers["content-length"] == "2" and body == b""
    assert r.response()[2] == b"5 " + hashlib.sha256(b"hello").hexdigest().encode() + b"\n"
    assert r.response()[::2] == (200, b"ok")


def test_expect_100_continue(testd):
    d = testd()
    s = d.connect()
    s.sendall(b"PUT /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
    r = Reader(s)
    assert r.response()[0] == 100
    s.sendall(b"hello world")
    status, _, body = r.response()
    assert status == 200 and body.startswith(b"11 ")


def test_expect_100_continue_with_an_empty_body(testd):
    """An empty body with Expect still gets 100 Continue before the answer, and
    the connection stays usable: botocore (boto/botocore#3755) otherwise takes
    the final answer for the interim one and misreads the next response."""
    d = testd()
    s = d.connect()
    r = Reader(s)
    for _ in range(2):
        s.sendall(b"PUT /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        assert r.response()[0] == 100
        status, headers, body = r.response()
        assert status == 200 and body.startswith(b"0 ") and headers.get("connection") != "close"
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.response()[::2] == (200, b"ok")


def test_early_answer_skips_100_continue_and_closes(testd):
    d = testd()
    s = d.connect()
    s.sendall(b"PUT /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
    status, headers, _ = read_response(s)
    assert status == 404 and headers.get("connection") == "close"
    assert closed_by_peer(s)


def test_chunked_request_and_response(testd):
    d = testd()
    s = d.connect()
    payload = os.urandom(300_000)
    body = b""
    for i in range(0, len(payload), 7000):
        part = payload[i:i + 7000]
        body += b"%x;ext=1\r\n" % len(part) + part + b"\r\n"
    body += b"0\r\nX-Trailer: t\r\n\r\n"
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    status, headers, got = read_response(s)
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    assert got == payload


BAD = [
    (b"GET /hello HTTP/1.1\r\n\r\n", 400),                                          # no Host
    (b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),                    # two Hosts
    (b"GET /hello HTTP/1.1\r\nHost : x\r\n\r\n", 400),                              # space before colon
    (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400),               # obs-fold
    (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400),                # control char
    (b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", 400),
    (b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
    (b"POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    (b"GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(200)) + b"\r\n", 431),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 20000 + b"\r\n\r\n", 431),
    (b"GET /hello HTTP/1.1\nHost: x\n\n", 400),                                     # bare LF
]


@pytest.mark.parametrize("raw,status", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_requests_get_4xx_and_the_connection_closes(testd, raw, status):
    d = testd()
    s = d.connect()
    s.sendall(raw)
    got, headers, _ = read_response(s)
    assert got == status
    assert headers.get("connection") == "close"
    assert closed_by_peer(s)
    # The server is still fine.
    s2 = d.connect()
    s2.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(s2)[0] == 200


def test_body_over_the_handler_limit_is_413(testd):
    d = testd("--body-limit", "1000")
    s = d.connect()
    s.sendall(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n")
    assert read_response(s)[0] == 413
    s = d.connect()
    s.sendall(b"POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              + b"200\r\n" + b"x" * 512 + b"\r\n" + b"200\r\n" + b"x" * 512 + b"\r\n0\r\n\r\n")
    assert read_response(s)[0] == 413


def test_slowloris_is_held_to_the_head_timeout(testd):
    d = testd("--head-timeout", "600")
    s = d.connect()
    start = time.monotonic()
    s.sendall(b"GET /hello HTTP/1.1\r\n")
    closed = False
    for _ in range(40):          # trickle a header byte every 50 ms for up to 2 s
        try:
            s.sendall(b"X")
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        time.sleep(0.05)
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed = True
                break
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed = True
            break
        finally:
            s.setblocking(True)
    elapsed = time.monotonic() - start
    assert closed and 0.5 < elapsed < 1.5, elapsed


def test_idle_keep_alive_connections_are_closed(testd):
    d = testd("--idle-timeout", "300")
    s = d.connect()
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(s)[0] == 200
    start = time.monotonic()
    assert closed_by_peer(s, within=3)
    assert time.monotonic() - start < 1.5


def test_stalled_body_is_closed(testd):
    d = testd("--body-timeout", "300")
    s = d.connect()
    s.sendall(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
    start = time.monotonic()
    assert closed_by_peer(s, within=3)
    assert time.monotonic() - start < 1.5


def test_large_upload_streams_in_bounded_memory(testd):
    d = testd()
    s = d.connect(timeout=60)
    size = 256 << 20
    s.sendall(b"PUT /sink HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
    block = os.urandom(1 << 20)
    h = hashlib.sha256()
    for _ in range(size >> 20):
        s.sendall(block)
        h.update(block)
    status, _, body = read_response(s)
    assert status == 200 and body == b"%d %s\n" % (size, h.hexdigest().encode())
    assert d.rss_bound_ok(32 * 1024), d.rss_kib()


def test_echo_to_a_slow_reader_applies_backpressure(testd):
    """The client sends 64 MiB and reads nothing for a while: the server must stop
    reading rather than buffer the echo."""
    d = testd()
    s = d.connect(timeout=60)
    size = 64 << 20
    s.sendall(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
    sent = [0]

    def send():
        block = b"z" * (1 << 20)
        try:
            for _ in range(size >> 20):
                s.sendall(block)
                sent[0] += len(block)
        except OSError:
            pass

    t = threading.Thread(target=send, daemon=True)
    t.start()
    time.sleep(1.5)
    stalled_at = sent[0]
    assert stalled_at < size, "the server read everything without the client reading"
    status, _, body = read_response(s)
    t.join(30)
    assert status == 200 and len(body) == size
    assert d.rss_bound_ok(48 * 1024), d.rss_kib()


def test_sigterm_drains_in_flight_requests(testd):
    d = testd("--drain-timeout", "5000")
    busy = d.connect()
    busy.sendall(b"GET /slow?ms=700 HTTP/1.1\r\nHost: x\r\n\r\n")
    idle = d.connect()
    idle.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(idle)[0] == 200
    time.sleep(0.1)
    d.signal()
    assert closed_by_peer(idle, within=2)          # idle keep-alive closed at once
    status, headers, body = read_response(busy)    # in-flight request finishes
    assert (status, body) == (200, b"slow\n") and headers.get("connection") == "close"
    assert d.proc.wait(timeout=5) == 0
    with pytest.raises(OSError):
        d.connect(timeout=1)


def test_second_signal_exits_at_once(testd):
    d = testd("--drain-timeout", "10000")
    busy = d.connect()
    busy.sendall(b"GET /slow?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    d.signal()
    time.sleep(0.1)
    d.signal()
    assert d.proc.wait(timeout=2) != 0


def test_ipv6_and_several_workers(testd):
    d = testd("--workers", "2", listen="[::1]:0")
    results = []

    def client():
        s = d.connect()
        r = Reader(s)
        for _ in range(20):
            s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            results.append(r.response()[2])
        s.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [b"ok"] * 160


def test_http10_closes_unless_keep_alive(testd):
    d = testd()
    s = d.connect()
    s.sendall(b"GET /hello HTTP/1.0\r\n\r\n")
    status, headers, body = read_response(s)
    assert (status, body) == (200, b"ok") and headers.get("connection") == "close"
    assert closed_by_peer(s)


def test_handler_pausing_the_body_resumes_and_completes(testd):
    """/pause stops reading after every body piece for 50 ms (ERR_AGAIN, then
    http_request_resume), including after the last piece."""
    d = testd()
    s = d.connect()
    r = Reader(s)
    body = os.urandom(200_000)
    s.sendall(b"PUT /pause?ms=50 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    status, _, got = r.response()
    assert status == 200 and got == b"%d %s\n" % (len(body), hashlib.sha256(body).hexdigest().encode())
    s.sendall(b"PUT /pause?ms=20 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    assert r.response()[2].startswith(b"5 ")
