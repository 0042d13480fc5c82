"""Shared pieces of the Python benches (bench/store, bench/router, bench/edge).

Starting `meridian store` pinned to the server CPU, presigning URLs with
botocore (SigV4, or SigV4A with awscrt), running wrk with a Lua script that
cycles through a file of request targets, parsing wrk's output, reading
per-process CPU time from /proc, installing a missing peer with apt-get,
a small counting origin (`python3 bench/benchlib.py origin ...`, see
origin_main), and stopping only the processes a bench started, by PID or by
the process group of a child started in its own session. No state of its
own: every function is called from the bench's main thread.
"""
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MERIDIAN = os.path.join(ROOT, "build", "meridian")
CLK = os.sysconf("SC_CLK_TCK")
REGION = "eu-west-1"
BUCKET = "bench"
KIB, MIB = 1 << 10, 1 << 20
SERVER_CPU, CLIENT_CPU = 0, 1

WRK_LUA = """
-- Cycle through the request targets listed in the file given after `--`.
local reqs = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do
    reqs[#reqs + 1] = wrk.format("GET", line)
  end
end
request = function()
  i = i % #reqs + 1
  return reqs[i]
end
"""


def preflight(name, tools, need_meridian=True):
    """Exit unless the tools, the binary (when need_meridian) and two CPUs
    are there; drop proxy settings; move this script to CLIENT_CPU."""
    for tool in tools:
        if not shutil.which(tool):
            sys.exit(f"{name}: {tool} not found (scripts/install-deps.sh installs it)")
    if need_meridian and not os.access(MERIDIAN, os.X_OK):
        sys.exit(f"{name}: build first (make)")
    if os.cpu_count() < 2:
        sys.exit(f"{name}: needs two CPUs (servers on {SERVER_CPU}, clients on {CLIENT_CPU})")
    for k in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"):
        os.environ.pop(k, None)
    os.sched_setaffinity(0, {CLIENT_CPU})  # this script's own clients


def write_targets(path, targets):
    """The file of request targets (path and query) that WRK_LUA cycles
    through, one a line."""
    with open(path, "w") as f:
        for t in targets:
            f.write(t + "\n")
    return path


def write_lua(tmp):
    lua = os.path.join(tmp, "urls.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)
    return lua


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def wait_healthy(proc, url, what, log_tail, timeout=30):
    """Poll url until it answers 200; fail early if proc exits."""
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}: {log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} not healthy: {log_tail()}")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime, all threads
        except OSError:
            pass
    return total / CLK


def children(pid):
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]
    except OSError:
        return []


def descendants(pid):
    """pid's children, their children, ... (bounded: a process tree of a
    server is a handful of processes)."""
    out, todo = [], [pid]
    while todo and len(out) < 1000:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


def stop(p):
    if p and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def stop_group(p):
    """Stop p (started with start_new_session=True, so its group id is its
    pid) and then whatever of its own process group is left (a server's
    workers or child processes)."""
    if not p:
        return
    stop(p)
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    for _ in range(100):
        try:
            os.killpg(p.pid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def ensure_tool(tool, package, who):
    """True when tool is on PATH, installing package with apt-get first when
    it is missing and this runs as root; otherwise prints why who is skipped
    and returns False."""
    if shutil.which(tool) or os.path.exists(os.path.join("/usr/sbin", tool)):
        return True
    if os.geteuid() != 0:
        print(f"{who}: {tool} missing and not root to install {package}, skipped", flush=True)
        return False
    print(f"{who}: installing {package} (apt-get)", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", package]
    r = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:  # an old or missing package list: update once, then again
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        r = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600)
    if shutil.which(tool) or os.path.exists(os.path.join("/usr/sbin", tool)):
        return True
    print(f"{who}: apt-get install {package} failed, skipped: {r.stderr[-500:]}", flush=True)
    return False


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def log_tail(path):
    with open(path, errors="replace") as f:
        return f.read()[-2000:]


class StoreProc:
    """`meridian store` with one worker on `cpu` (SERVER_CPU unless told),
    over DATA in tmp, serving `region` (REGION unless told)."""

    def __init__(self, tmp, port=None, region=REGION, cpu=SERVER_CPU):
        self.tmp = tmp
        self.port = port or free_port()
        self.region, self.cpu = region, cpu
        self.key = "AKIABENCH" + secrets.token_hex(6).upper()[:11]
        self.secret = secrets.token_urlsafe(30)[:40]
        self.creds = os.path.join(tmp, "credentials")
        with open(self.creds, "w") as f:
            f.write(f"{self.key} {self.secret} bench\n")
        os.chmod(self.creds, 0o600)
        self.log_path = os.path.join(tmp, "store.log")
        self.proc = None
        self.extra_args = []

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(self.cpu), MERIDIAN, "store", "--listen",
             f"127.0.0.1:{self.port}", "--data", os.path.join(self.tmp, "data"), "--region",
             self.region,
             "--credentials", self.creds, "--workers", "1", *self.extra_args],
            stdout=log, stderr=log)
        log.close()
        wait_healthy(self.proc, self.endpoint + "/-/health", "store", self.log_tail)
        return self

    def stop(self):
        stop(self.proc)
        rc = self.proc.returncode
        self.proc = None
        return rc

    def log_tail(self):
        return log_tail(self.log_path)

    def client(self, endpoint=None, sigv4a=False):
        """A boto3 client with path addressing. sigv4a: SigV4A (needs awscrt)
        with the region set "*" (../shared/docs/SIGV4.md section 7)."""
        import boto3
        from botocore.config import Config

        c = boto3.client("s3", endpoint_url=endpoint or self.endpoint, region_name=self.region,
                         aws_access_key_id=self.key, aws_secret_access_key=self.secret,
                         config=Config(signature_version="s3v4a" if sigv4a else "s3v4",
                                       s3={"addressing_style": "path"},
                                       retries={"max_attempts": 1}))
        if sigv4a:
            def region_set(request, **kw):
                request.context.setdefault("signing", {})["region"] = "*"

            c.meta.events.register("before-sign.s3", region_set)
        return c

    def signed(self, method, path, length=None, payload="UNSIGNED-PAYLOAD"):
        """SigV4 headers for a request whose body the caller sends."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        headers = {"Host": f"127.0.0.1:{self.port}", "X-Amz-Content-SHA256": payload}
        if length is not None:
            headers["Content-Length"] = str(length)
        req = AWSRequest(method=method, url=self.endpoint + path, headers=headers)
        SigV4Auth(Credentials(self.key, self.secret), "s3", self.region).add_auth(req)
        return dict(req.headers.items())


def presign_targets(client, endpoint, bucket, key, n, path):
    """n presigned GET URLs of bucket/key for endpoint, each with a different
    X-Amz-Expires so no two carry the same signature; their request targets
    (path and query) go to the file `path`, one a line. Returns the first
    full URL."""
    urls = [client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                          ExpiresIn=3600 + i) for i in range(n)]
    with open(path, "w") as f:
        for u in urls:
            if not u.startswith(endpoint + "/"):
                raise RuntimeError(f"presigned URL {u} is not under {endpoint}")
            f.write(u[len(endpoint):] + "\n")
    return urls[0]


def wrk(base, targets_file, lua, seconds, connections):
    """Run wrk on CLIENT_CPU. Returns req/s, p50 and p99 in ms, the request
    count and the error lines ("" when none)."""
    out = subprocess.run(["taskset", "-c", str(CLIENT_CPU), "wrk", "-t1", f"-c{connections}",
                          f"-d{seconds}s", "--latency", "-s", lua, base, "--", targets_file],
                         capture_output=True, text=True, timeout=seconds + 60)
    text = out.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    n = re.search(r"(\d+) requests in", text)
    if not m or not n:
        raise RuntimeError(f"wrk failed: {text}{out.stderr}")
    errors = re.findall(r"Non-2xx or 3xx responses: \d+|Socket errors: .*", text)

    def lat(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)", text, re.M)
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    return float(m.group(1)), lat(50), lat(99), int(n.group(1)), "; ".join(errors)


def line(name, rps, p50, p99, per_cpu, extra="", unit="ms"):
    scale, fmt = (1.0, "7.2f") if unit == "ms" else (1e3, "7.0f")
    print(f"  {name:<30} {rps:>10.0f} req/s  p50 {p50 * scale:{fmt}} {unit}  "
          f"p99 {p99 * scale:{fmt}} {unit}  {per_cpu:>10.0f} req/CPU-s  {extra}", flush=True)


class Result:
    """One wrk run: rps, p50/p99 (ms), requests, cpu (CPU-seconds of the
    measured pids during the run), err."""

    def __init__(self, rps, p50, p99, requests, cpu, err):
        self.rps, self.p50, self.p99 = rps, p50, p99
        self.requests, self.cpu, self.err = requests, cpu, err

    @property
    def per_cpu(self):
        return self.requests / self.cpu if self.cpu > 0 else float("nan")


def measure(name, base, targets_file, lua, pids, seconds, connections, unit="ms"):
    """wrk against base, printing one line; CPU time counted over pids."""
    before = cpu_seconds(pids)
    rps, p50, p99, n, err = wrk(base, targets_file, lua, seconds, connections)
    r = Result(rps, p50, p99, n, cpu_seconds(pids) - before, err)
    line(name, rps, p50, p99, r.per_cpu, err, unit)
    return r


def check_get(url, want, what):
    with urllib.request.urlopen(url, timeout=10) as r:
        got = r.read()
    if got != want:
        raise RuntimeError(f"{what}: {url} answered {len(got)} bytes, not the {len(want)} stored")


def damage_signature(url):
    """url with the signature's last hex digit changed: still well formed (a
    SigV4A signature stays valid DER), so only verification can refuse it."""
    m = re.search(r"X-Amz-Signature=([0-9a-f]+)", url)
    last = m.group(1)[-1]
    return url[:m.end() - 1] + ("0" if last != "0" else "1") + url[m.end():]


def check_refused(url, what, code=403):
    """A GET of url must be answered with code."""
    try:
        urllib.request.urlopen(url, timeout=10)
    except urllib.error.HTTPError as e:
        if e.code == code:
            return
        raise RuntimeError(f"{what}: {url} answered {e.code}, not {code}")
    raise RuntimeError(f"{what}: {url} was served, not refused with {code}")


# ---- a small origin for the caches (bench/edge) ----
#
# `python3 bench/benchlib.py origin PORT DELAY_MS` serves GET and HEAD of
# /<anything>/<name>-<size> (size in bytes) with origin_body(path, size),
# Cache-Control: public, max-age=3600, an ETag and a Last-Modified; paths
# under /cold/ are answered only after DELAY_MS, so concurrent misses
# overlap. It counts the requests for each path: GET /-/count?path=P
# answers the count for P (0 if never asked), /-/health answers 200. One
# thread per connection (ThreadingHTTPServer), HTTP/1.1 keep-alive.

ORIGIN_MAX_SIZE = 64 * MIB


def origin_body(path, size):
    """The deterministic bytes the origin serves at path: the bench checks
    what a cache answers against them."""
    import random

    return random.Random(path).randbytes(size)


def origin_size(path):
    """The size named by path's last "-<size>", or None."""
    m = re.fullmatch(r"/[A-Za-z0-9_./-]*-(\d{1,9})", path)
    if not m or int(m.group(1)) > ORIGIN_MAX_SIZE:
        return None
    return int(m.group(1))


def origin_main(port, delay_ms):
    import http.server
    import threading
    import urllib.parse
    import zlib

    counts, lock, bodies = {}, threading.Lock(), {}
    started = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, code, body, head=False, extra=()):
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def serve(self, head):
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/-/health":
                return self.answer(200, b"ok\n", head)
            if url.path == "/-/count":
                want = urllib.parse.parse_qs(url.query).get("path", [""])[0]
                with lock:
                    n = counts.get(want, 0)
                return self.answer(200, f"{n}\n".encode(), head)
            with lock:
                counts[url.path] = counts.get(url.path, 0) + 1
            size = origin_size(url.path)
            if size is None:
                return self.answer(404, b"no such object\n", head)
            if url.path.startswith("/cold/"):
                time.sleep(delay_ms / 1e3)
            with lock:
                body = bodies.get(url.path)
            if body is None:
                body = origin_body(url.path, size)
                with lock:
                    if len(bodies) < 64:
                        bodies[url.path] = body
            etag = f'"{zlib.crc32(url.path.encode()):08x}-{size}"'
            self.answer(200, body, head, (("Content-Type", "application/octet-stream"),
                                          ("Cache-Control", "public, max-age=3600"),
                                          ("ETag", etag), ("Last-Modified", started)))

        def do_GET(self):
            self.serve(False)

        def do_HEAD(self):
            self.serve(True)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024

    Server(("127.0.0.1", port), Handler).serve_forever()


class OriginProc:
    """The origin above, as a child process pinned to `cpu`."""

    def __init__(self, cpu, delay_ms):
        self.port = free_port()
        self.cpu, self.delay_ms = cpu, delay_ms
        self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(self.cpu), sys.executable, os.path.abspath(__file__), "origin",
             str(self.port), str(self.delay_ms)], start_new_session=True)
        wait_healthy(self.proc, self.endpoint + "/-/health", "origin", lambda: "")
        return self

    def count(self, path):
        """How many requests the origin got for path."""
        q = urllib.parse.quote(path, safe="")
        with urllib.request.urlopen(f"{self.endpoint}/-/count?path={q}", timeout=10) as r:
            return int(r.read())

    def stop(self):
        stop_group(self.proc)
        self.proc = None


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "origin":
        origin_main(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit("usage: benchlib.py origin PORT DELAY_MS")
