"""Run `meridian edge` as users run it, and small Python origins to put behind it.

Edge(...) writes a YAML config (src/edge/config.h) and a signing credentials
file into its temp dir, starts the edge on a free loopback port, waits until
the port accepts, and stops it by PID; an edge that died by itself fails its
test with the end of its log (as storeenv.Store and routerenv.Router).

Origin(...) is a threaded HTTP/1.1 origin in the test process that records
every request (method, path, headers, body) and answers through a handler
function, so a test can count origin fetches and read the headers the edge
sent. Blackhole() listens and never answers (an origin that times out).
"""
import http.client
import http.server
import os
import pathlib
import re
import signal
import socket
import subprocess
import threading
import time

from storeenv import free_port, meridian_bin

EDGE_CREDS = ("AKIAEDGE000000000001", "edgeSecretKey0123456789abcdefghijklmnopq")


def yq(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def origin_yaml(o):
    out = [f"  - id: {o['id']}", f"    domain_name: {yq(o.get('domain_name', '127.0.0.1'))}"]
    for k in ("address", "origin_path", "connect_timeout", "read_timeout", "keepalive_timeout",
              "connection_attempts", "port"):
        if k in o:
            out.append(f"    {k}: {yq(o[k]) if isinstance(o[k], str) else o[k]}")
    if o.get("custom_headers"):
        out.append("    custom_headers:")
        for k, v in o["custom_headers"].items():
            out.append(f"      {k}: {yq(v)}")
    return out


def edge_yaml(domain, origins, behaviors, groups=(), signing=None, cache=None, root=None):
    out = ["distribution:", f"  domain: {domain}"]
    if root:
        out.append(f"  default_root_object: {root}")
    out.append("origins:")
    for o in origins:
        out += origin_yaml(o)
    if groups:
        out.append("origin_groups:")
        for g in groups:
            out.append(f"  - id: {g['id']}")
            out.append(f"    members: [{', '.join(g['members'])}]")
            if "failover_statuses" in g:
                out.append(f"    failover_statuses: [{', '.join(map(str, g['failover_statuses']))}]")
    out.append("behaviors:")
    for b in behaviors:
        out.append(f"  - path_pattern: {yq(b['path_pattern'])}")
        for k, v in b.items():
            if k == "path_pattern":
                continue
            if isinstance(v, (list, tuple)):
                out.append(f"    {k}: [{', '.join(map(str, v))}]")
            elif isinstance(v, dict):
                out.append(f"    {k}:")
                for kk, vv in v.items():
                    vv = f"[{', '.join(vv)}]" if isinstance(vv, (list, tuple)) else vv
                    out.append(f"      {kk}: {vv}")
            else:
                out.append(f"    {k}: {v}")
    if signing:
        out.append("signing:")
        for k, v in signing.items():
            out.append(f"  {k}: {v}")
    if cache:
        out.append("cache:")
        for k, v in cache.items():
            out.append(f"  {k}: {v}")
    return "\n".join(out) + "\n"


def behavior(target, path_pattern="*", **kw):
    """A behaviors entry for Edge/config: the pattern, the target, then kw."""
    b = {"path_pattern": path_pattern, "target": target}
    b.update(kw)
    return b


class Edge:
    def __init__(self, tmp, origins, behaviors, groups=(), domain="d111.edge.example.test",
                 creds=EDGE_CREDS, cache=None, root=None, workers=2, location="TST1",
                 sign=True, extra_env=None, admins=None):
        self.tmp = pathlib.Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        signing = None
        if sign:
            cf = self.tmp / "edge-credentials"
            cf.write_text(f"{creds[0]} {creds[1]}\n")
            os.chmod(cf, 0o600)
            signing = {"credentials": "edge-credentials"}
        self.config = self.tmp / f"edge-{self.port}.yaml"
        text = edge_yaml(domain, origins, behaviors, groups, signing, cache, root)
        self.admin_port = None
        if admins:  # [(key, secret, name)]: an admin listener with these keys
            self.admin_port = free_port()
            af = self.tmp / "admin-credentials"
            af.write_text("".join(f"{k} {s} {n}\n" for k, s, n in admins))
            os.chmod(af, 0o600)
            text += (f"admin:\n  listen: \"127.0.0.1:{self.admin_port}\"\n"
                     "  credentials: admin-credentials\n")
        self.config.write_text(text)
        self.logpath = self.tmp / f"edge-{self.port}.log"
        self.log = open(self.logpath, "ab")
        self.workers, self.location = workers, location
        self.env = dict(os.environ, **(extra_env or {}))
        self.proc = None
        self.start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=20):
        args = [meridian_bin(), "edge", "--listen", f"127.0.0.1:{self.port}", "--config",
                str(self.config), "--workers", str(self.workers), "--location", self.location]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log, env=self.env)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"edge exited {self.proc.returncode}: {self.read_log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"edge not listening: {self.read_log()}")

    def read_log(self, tail=4000):
        self.log.flush()
        text = self.logpath.read_text(errors="replace")
        return text[-tail:] if tail else text

    def access_log(self):
        """Each access log line as a dict of its field=value parts."""
        out = []
        for line in self.read_log(tail=None).splitlines():
            if not line.startswith("edge\t"):
                continue
            out.append(dict(f.split("=", 1) for f in line.split("\t") if "=" in f))
        return out

    def logged(self, pred, at_least=1, timeout=3.0):
        end = time.monotonic() + timeout
        while True:
            n = sum(1 for e in self.access_log() if pred(e))
            if n >= at_least or time.monotonic() > end:
                return n
            time.sleep(0.05)

    def peak_rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        died = self.proc.poll() not in (None, 0, -signal.SIGKILL)
        if died:
            raise AssertionError(f"edge exited {self.proc.returncode} by itself:\n{self.read_log()}")
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"edge did not stop on SIGTERM:\n{self.read_log()}")
        self.log.close()
        # A clean drain exits 0; a sanitizer report (a leak at exit) does not.
        if self.proc.returncode != 0:
            raise AssertionError(f"edge exited {self.proc.returncode} on SIGTERM:\n"
                                 f"{self.read_log()}")
        return self.proc.returncode

    def request(self, method, target, headers=(), body=None, timeout=30):
        """One request on a fresh connection: (status, headers dict lower-case, body)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            names = {k.lower() for k, _ in headers}
            if "host" not in names:
                c.putheader("Host", "d111.edge.example.test")
            for k, v in headers:
                c.putheader(k, v)
            if body is not None and "content-length" not in names:
                c.putheader("Content-Length", str(len(body)))
            c.endheaders(body)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()


class Origin:
    """A recording HTTP/1.1 origin. handler(req) -> (status, headers dict, body bytes or an
    iterable of chunks with Content-Length given in headers); req has method, path,
    headers (dict, lower-case names) and body. Default: 200 with b"origin <path>"."""

    def __init__(self, handler=None, name="origin"):
        self.name = name
        self.handler = handler or (lambda req: (200, {"Cache-Control": "max-age=60"},
                                                f"{name} {req['path']}".encode()))
        self.lock = threading.Lock()
        self.requests = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(n) if n else b""
                req = {"method": self.command, "path": self.path, "body": body,
                       "peer": self.client_address,
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "raw_headers": list(self.headers.items())}
                with outer.lock:
                    outer.requests.append(req)
                status, hs, out = outer.handler(req)
                self.send_response(status)
                chunks = None
                if isinstance(out, (bytes, bytearray)):
                    hs = dict(hs)
                    hs.setdefault("Content-Length", str(len(out)))
                else:
                    chunks = out
                for k, v in hs.items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command == "HEAD":
                    return
                try:
                    if chunks is None:
                        self.wfile.write(out)
                    else:
                        for c in chunks:
                            self.wfile.write(c)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_OPTIONS = do_PATCH = _any

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 512

        self.server = S(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def count(self, path=None):
        with self.lock:
            return sum(1 for r in self.requests if path in (None, r["path"]))

    def last(self):
        with self.lock:
            return self.requests[-1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Blackhole:
    """Accepts connections (through the kernel backlog) and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.sock.close()


def refused_address():
    """A loopback port nothing listens on."""
    return f"127.0.0.1:{free_port()}"


def parse_auth(value):
    """The algorithm of an Authorization header ('' if none)."""
    return re.split(r"\s", value or "", maxsplit=1)[0]
