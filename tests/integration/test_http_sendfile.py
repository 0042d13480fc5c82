"""File bodies through the server's sendfile path (http_response_sendfile),
served by meridian-testd --files DIR at /file/NAME[?off=N&len=M]: bytes intact
at every size, HEAD, offsets, pipelining around file responses, a slow reader,
a file shorter than promised, a viewer that leaves mid-file, and a 1 GiB file
in bounded memory with no descriptor left open."""
import hashlib
import os
import socket
import time

import pytest

from httpd import Reader, closed_by_peer

MiB = 1 << 20


def pattern(n):
    block = bytes((i * 7 + i // 251) & 0xFF for i in range(65536))
    return (block * (n // len(block) + 1))[:n]


@pytest.fixture
def files(tmp_path):
    d = tmp_path / "files"
    d.mkdir()
    return d


def put(d, name, data):
    (d / name).write_bytes(data)
    return data


def open_fds(proc):
    return len(os.listdir(f"/proc/{proc.pid}/fd"))


@pytest.mark.parametrize("size", [0, 1, 4095, 65536, 3 * MiB + 17])
def test_file_bytes_arrive_intact(testd, files, size):
    data = put(files, "f.bin", pattern(size))
    d = testd("--files", str(files))
    s = d.connect()
    s.sendall(b"GET /file/f.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = Reader(s).response()
    assert status == 200
    assert headers["content-length"] == str(size)
    assert body == data


def test_head_sends_the_length_and_no_body(testd, files):
    put(files, "f.bin", pattern(100000))
    d = testd("--files", str(files))
    s = d.connect()
    r = Reader(s)
    s.sendall(b"HEAD /file/f.bin HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = r.response(head_request=True)
    assert (status, headers["content-length"], body) == (200, "100000", b"")
    assert r.response()[2] == b"ok"  # nothing stray between the two


def test_offset_and_length(testd, files):
    data = put(files, "f.bin", pattern(2 * MiB))
    d = testd("--files", str(files))
    s = d.connect()
    s.sendall(b"GET /file/f.bin?off=1234567&len=500000 HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = Reader(s).response()
    assert body == data[1234567:1234567 + 500000]


def test_pipelined_files_and_handlers_answer_in_order(testd, files):
    a = put(files, "a.bin", pattern(5 * MiB))
    b = put(files, "b.bin", pattern(70000)[::-1])
    d = testd("--files", str(files))
    s = d.connect()
    r = Reader(s)
    s.sendall(b"GET /file/a.bin HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /file/b.bin HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /file/a.bin?off=5&len=10 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.response()[2] == a
    assert r.response()[2] == b"ok"
    assert r.response()[2] == b
    assert r.response()[2] == a[5:15]


def test_slow_reader_gets_every_byte(testd, files):
    """A small receive buffer and pauses: the server's socket fills again and
    again, so the file goes out in many writable turns."""
    data = put(files, "f.bin", pattern(6 * MiB))
    d = testd("--files", str(files))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.settimeout(30)
    s.connect(("127.0.0.1", d.port))
    s.sendall(b"GET /file/f.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = bytearray()
    reads = 0
    while True:
        chunk = s.recv(16384)
        if not chunk:
            break
        got += chunk
        reads += 1
        if reads % 64 == 0:
            time.sleep(0.005)
    head, _, body = bytes(got).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()


def test_file_shorter_than_promised_closes_instead_of_hanging(testd, files):
    put(files, "f.bin", pattern(10000))
    d = testd("--files", str(files))
    s = d.connect(timeout=10)
    s.sendall(b"GET /file/f.bin?len=50000 HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    start = time.monotonic()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    assert b"Content-Length: 50000" in head
    assert len(body) == 10000  # what the file had, then the connection ends
    assert time.monotonic() - start < 5


def test_viewer_leaving_mid_file_releases_the_file(testd, files):
    put(files, "big.bin", pattern(64 * MiB))
    d = testd("--files", str(files))
    warm = d.connect()
    warm.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    Reader(warm).response()
    baseline = open_fds(d.proc)
    for _ in range(5):
        s = d.connect()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.sendall(b"GET /file/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(10000)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # reset, mid-file
    deadline = time.monotonic() + 10
    while open_fds(d.proc) > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_fds(d.proc) == baseline
    s = d.connect()
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert Reader(s).response()[2] == b"ok"


def test_one_gib_file_in_bounded_memory(testd, files):
    """A sparse 1 GiB file: the bytes go from the page cache to the socket,
    so the server's peak RSS stays far below the file size."""
    size = 1 << 30
    with open(files / "huge.bin", "wb") as f:
        f.truncate(size)
        f.seek(size // 2)
        f.write(b"middle")
    d = testd("--files", str(files))
    s = d.connect(timeout=60)
    s.sendall(b"GET /file/huge.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(65536)
    head, _, first = head.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and f"Content-Length: {size}".encode() in head
    h = hashlib.sha256(first)
    total = len(first)
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        total += len(chunk)
    expect = hashlib.sha256()
    zeros = bytes(1 << 20)
    for i in range(1024):
        block = zeros
        if i == 512:
            block = b"middle" + zeros[6:]
        expect.update(block)
    assert total == size
    assert h.digest() == expect.digest()
    assert d.rss_bound_ok(32 * 1024), d.rss_kib()
    assert closed_by_peer(s, within=5)
