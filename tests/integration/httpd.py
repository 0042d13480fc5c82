"""Start meridian-testd (the HTTP engine with test handlers) and talk raw HTTP to it."""
import os
import pathlib
import signal
import socket
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]


def testd_path():
    meridian = os.environ.get("MERIDIAN_BIN", str(ROOT / "build" / "meridian"))
    return str(pathlib.Path(meridian).parent / "meridian-testd")


def rss_bound_ok(kib_used, kib):
    """A peak RSS bound, or True in sanitizer builds (whose shadow memory and
    quarantine dwarf it); release runs check every bound."""
    return os.environ.get("MERIDIAN_SANITIZED") == "1" or kib_used < kib


class Daemon:
    def __init__(self, *args, listen="127.0.0.1:0", log=False):
        env = dict(os.environ, TESTD_LOG="1") if log else None
        self.proc = subprocess.Popen([testd_path(), "--listen", listen, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"testd did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(line.split()[-1])
        self.host = listen.rsplit(":", 1)[0].strip("[]")

    def connect(self, timeout=10):
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((self.host, self.port))
        return s

    def rss_bound_ok(self, kib):
        """Peak RSS under `kib`, or True in sanitizer builds (checked in release runs)."""
        return rss_bound_ok(self.rss_kib(), kib)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Reader:
    """Reads successive responses from one connection, keeping bytes between them."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed by the server; have {self.buf[:200]!r}")
        self.buf += chunk

    def _take(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def response(self, head_request=False):
        """(status, headers with lowercase names, body)."""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if head_request or status < 200 or status in (204, 304):
            return status, headers, b""
        if "content-length" in headers:
            return status, headers, self._take(int(headers["content-length"]))
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int(self._line().split(b";")[0], 16)
                body += self._take(size)
                if self._take(2) != b"\r\n":
                    raise ValueError("bad chunk end")
                if size == 0:
                    return status, headers, body
        body = self.buf
        self.buf = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return status, headers, body
            body += chunk


def read_response(sock, head_request=False):
    return Reader(sock).response(head_request)


def closed_by_peer(sock, within=5.0):
    """True if the server closes the connection within `within` seconds."""
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True
