"""Run `meridian wan` relays and `meridian router` as users run them, and talk
to the router the way its users do.

Wan(...) starts a delaying relay in front of a port and changes its delay at
run time through the relay's control endpoint. Router(...) writes a YAML
config and an admin credentials file into its temp dir, starts the router on
a free loopback port, waits for /-/health and stops it by PID; a router that
died by itself fails its test with the end of its log (as storeenv.Store).

Clients: a SigV4-signed admin client (botocore.auth.SigV4Auth) for the
control API, a boto3 SigV4A client (awscrt, region set '*', path style with
Bucket=<alias>, SIGV4.md section 7) and presigned SigV4A URLs fetched over
keep-alive http.client connections for cheap, bounded load loops.
"""
import hashlib
import http.client
import os
import pathlib
import re
import signal
import subprocess
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

from storeenv import ALICE, free_port, meridian_bin

REGION_HEADER = "x-meridian-region"
VERSION_HEADER = "x-meridian-routes-version"
ADMIN = ("AKIAROUTERADMIN00001", "routerAdminSecret0123456789abcdefghijklm", "ops")
STRANGER = ("AKIANOTANADMIN000009", "notAnAdminSecret0123456789abcdefghijklm", "eve")


def _stop_pid(proc, what, log_tail, timeout=15):
    """SIGTERM a process we started; raise if it had died by itself."""
    died = proc.poll() not in (None, 0, -signal.SIGKILL)
    if died:
        raise AssertionError(f"{what} exited {proc.returncode} by itself:\n{log_tail()}")
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"{what} did not stop on SIGTERM:\n{log_tail()}")
    return proc.returncode


# ---- meridian wan ----

class Wan:
    """`meridian wan` relaying 127.0.0.1:<port> -> 127.0.0.1:<to_port>, delay_ms each way."""

    def __init__(self, tmp, to_port, delay_ms):
        self.logpath = pathlib.Path(tmp) / f"wan-{to_port}-{time.monotonic_ns()}.log"
        self.log = open(self.logpath, "ab")
        args = [meridian_bin(), "wan", "--listen", "127.0.0.1:0", "--to", f"127.0.0.1:{to_port}",
                "--delay-ms", str(delay_ms), "--control", "127.0.0.1:0"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"wan did not start: {line!r} {self.read_log()}")
        self.port = int(line.split()[-1])
        self.control = int(self.proc.stdout.readline().split()[-1])

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.port}"

    def read_log(self):
        self.log.flush()
        return self.logpath.read_text(errors="replace")[-4000:]

    def set_delay(self, ms):
        c = http.client.HTTPConnection("127.0.0.1", self.control, timeout=10)
        try:
            c.request("PUT", f"/delay?ms={int(ms)}")
            r = c.getresponse()
            body = r.read()
            assert r.status == 200, (r.status, body)
        finally:
            c.close()

    def stop(self):
        rc = _stop_pid(self.proc, "wan", self.read_log)
        assert rc == 0, f"wan exited {rc}:\n{self.read_log()}"
        self.log.close()


# ---- meridian router ----

def yaml_str(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def router_yaml(name, alias, regions, domain=None, routing=None, admin_listen=None,
                admin_credentials=None):
    """The config text (src/router/config.h). regions: dicts name/endpoint/bucket[/dial]."""
    out = ["access_point:", f"  name: {name}", f"  alias: {alias}"]
    if domain:
        out.append(f"  domain: {domain}")
    out.append("regions:")
    for r in regions:
        out.append(f"  - name: {r['name']}")
        out.append(f"    endpoint: {yaml_str(r['endpoint'])}")
        out.append(f"    bucket: {r['bucket']}")
        out.append(f"    dial: {r.get('dial', 'active')}")
    if routing:
        out.append("routing:")
        for k, v in routing.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            out.append(f"  {k}: {v}")
    if admin_listen:
        out += ["admin:", f"  listen: {yaml_str(admin_listen)}",
                f"  credentials: {admin_credentials}"]
    return "\n".join(out) + "\n"


class Router:
    def __init__(self, tmp, name, alias, regions, domain=None, routing=None, admin=True,
                 workers=1, admins=(ADMIN,)):
        self.tmp = pathlib.Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.name, self.alias, self.domain = name, alias, domain
        self.regions = [dict(r) for r in regions]
        self.port = free_port()
        self.admin_port = free_port() if admin else None
        creds = self.tmp / "admin-credentials"
        creds.write_text("".join(f"{k} {s} {n}\n" for k, s, n in admins))
        os.chmod(creds, 0o600)
        self.config = self.tmp / "router.yaml"
        self.config.write_text(router_yaml(
            name, alias, self.regions, domain=domain, routing=routing,
            admin_listen=f"127.0.0.1:{self.admin_port}" if admin else None,
            admin_credentials="admin-credentials"))
        self.logpath = self.tmp / f"router-{self.port}.log"
        self.log = open(self.logpath, "ab")
        self.workers = workers
        self.proc = None
        self.start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=20):
        args = [meridian_bin(), "router", "--listen", f"127.0.0.1:{self.port}", "--config",
                str(self.config), "--workers", str(self.workers)]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"router exited {self.proc.returncode}: {self.read_log()}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/-/health")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"router not healthy: {self.read_log()}")

    def read_log(self, tail=4000):
        self.log.flush()
        text = self.logpath.read_text(errors="replace")
        return text[-tail:] if tail else text

    def access_log(self):
        """[(region, reason, line)] from the access log lines so far."""
        out = []
        for line in self.read_log(tail=None).splitlines():
            m = re.search(r"\bregion=(\S+).*\breason=(\S+)", line)
            if m:
                out.append((m.group(1), m.group(2), line))
        return out

    def logged(self, region=None, reason=None, at_least=1, timeout=3.0):
        """How many access log lines name region and reason, waiting (bounded) for
        at_least of them: a line is written as its request finishes, which may be
        just after the client has its answer."""
        def count():
            return sum(1 for reg, why, _ in self.access_log()
                       if region in (None, reg) and reason in (None, why))
        wait_until(lambda: count() >= at_least, timeout)
        return count()

    def stop(self):
        rc = _stop_pid(self.proc, "router", self.read_log)
        self.log.close()
        return rc

    # ---- the data plane ----

    def request(self, method, target, headers=(), body=None, timeout=30):
        """One request on a fresh connection: (status, headers dict lower-case, body)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            names = {k.lower() for k, _ in headers}
            if "host" not in names:
                c.putheader("Host", f"127.0.0.1:{self.port}")
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

    def boto3(self, user=ALICE, **cfg):
        return sigv4a_client(self.endpoint, user, **cfg)

    def presigned(self, key, user=ALICE, method="get_object", expires=900):
        """A presigned SigV4A (region set '*') URL's target (path?query) for alias/key."""
        c = self.boto3(user)
        url = c.generate_presigned_url(method, Params={"Bucket": self.alias, "Key": key},
                                       ExpiresIn=expires)
        u = urllib.parse.urlsplit(url)
        assert "X-Amz-Region-Set=%2A" in u.query, url
        return u.path + "?" + u.query

    # ---- the admin listener ----

    def admin(self, method, path, body=b"", headers=None, user=ADMIN, sign=True, region="us-east-1"):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        url = f"http://127.0.0.1:{self.admin_port}{path}"
        h = dict(headers or {})
        h["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        req = AWSRequest(method=method, url=url, data=body, headers=h)
        if sign:
            SigV4Auth(Credentials(user[0], user[1]), "s3", region).add_auth(req)
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10)
        try:
            c.request(method, path, body=body, headers=dict(req.headers.items()))
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def routes_path(self, name=None):
        return f"/v20180820/mrap/instances/{name or self.name}/routes"

    def routes(self):
        """(version, {region: {Bucket, Region, TrafficDialPercentage, Health, LatencyMs}})."""
        status, h, body = self.admin("GET", self.routes_path())
        assert status == 200, (status, body)
        out = {}
        for r in xml_find_all(body, "Route"):
            out[r["Region"]] = r
        return int(h[VERSION_HEADER]), out

    def submit(self, updates, version=None, name=None, **kw):
        """updates: [(key, value, percent)] with key 'Region' or 'Bucket'.
        Returns (status, headers, body)."""
        routes = "".join(f"<Route><{k}>{v}</{k}><TrafficDialPercentage>{p}"
                         "</TrafficDialPercentage></Route>" for k, v, p in updates)
        body = ("<SubmitMultiRegionAccessPointRoutesRequest><RouteUpdates>"
                f"{routes}</RouteUpdates></SubmitMultiRegionAccessPointRoutesRequest>").encode()
        headers = {} if version is None else {VERSION_HEADER: str(version)}
        return self.admin("PATCH", self.routes_path(name), body=body, headers=headers, **kw)

    def metrics(self):
        """{(metric name, frozenset of label items): value} from GET /metrics (no auth)."""
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10)
        try:
            c.request("GET", "/metrics")
            r = c.getresponse()
            text = r.read().decode()
            assert r.status == 200, (r.status, text)
        finally:
            c.close()
        return parse_metrics(text)

    def wait_measured(self, regions, timeout=10):
        """Until every named region is UP with a latency estimate; returns the routes."""
        end = time.monotonic() + timeout
        routes = {}
        while time.monotonic() < end:
            _, routes = self.routes()
            if all(r in routes and routes[r].get("Health") == "UP"
                   and float(routes[r].get("LatencyMs", "-1")) > 0 for r in regions):
                return routes
            time.sleep(0.1)
        raise AssertionError(f"regions {regions} not measured in {timeout}s: {routes}\n"
                             f"{self.read_log()}")


def sigv4a_client(endpoint, user=ALICE, **cfg):
    """boto3 with awscrt signing SigV4A for region set '*', path style (SIGV4.md section 7)."""
    import boto3
    from botocore.config import Config

    kw = {"s3": {"addressing_style": "path"}, "retries": {"max_attempts": 1},
          "signature_version": "s3v4a"}
    kw.update(cfg)
    c = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id=user[0], aws_secret_access_key=user[1],
                     config=Config(**kw))

    def region_set(request, **_):
        request.context.setdefault("signing", {})["region"] = "*"

    c.meta.events.register("before-sign.s3", region_set)
    return c


def region_of(resp):
    """The X-Meridian-Region of a boto3 response (or ClientError.response)."""
    return resp["ResponseMetadata"]["HTTPHeaders"].get(REGION_HEADER)


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def xml_find_all(body, tag):
    """Each <tag> element in body as a dict of its children's text (namespaces ignored)."""
    root = ET.fromstring(body)
    return [{_local(c.tag): (c.text or "") for c in e}
            for e in root.iter() if _local(e.tag) == tag]


def xml_error_code(body):
    root = ET.fromstring(body)
    assert _local(root.tag) == "Error", body
    return next((c.text for c in root if _local(c.tag) == "Code"), None)


_METRIC = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _METRIC.match(line)
        assert m, f"not Prometheus text: {line!r}"
        labels = frozenset(_LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(ms, name, **labels):
    return ms.get((name, frozenset(labels.items())), 0.0)


# ---- bounded load ----

class Load:
    """`threads` client threads GET `target` (a presigned path) through the router
    over keep-alive connections until stop() or `seconds` or `max_requests` in all.
    Each request is recorded as (start, end, status, region, error, body)."""

    def __init__(self, port, target, threads=3, seconds=15.0, max_requests=100000, pause=0.0):
        self.port, self.target = port, target
        self.deadline = time.monotonic() + seconds
        self.left = max_requests
        self.pause = pause
        self.lock = threading.Lock()
        self.records = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def _take(self):
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True

    def _run(self):
        conn = None
        while not self.stopping.is_set() and time.monotonic() < self.deadline and self._take():
            t0 = time.monotonic()
            status, region, error, body = None, None, None, None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", self.target)
                r = conn.getresponse()
                body = r.read()
                status, region = r.status, r.getheader(REGION_HEADER)
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                error = repr(e)
                if conn is not None:
                    conn.close()
                conn = None
            with self.lock:
                self.records.append((t0, time.monotonic(), status, region, error, body))
            if self.pause:
                time.sleep(self.pause)
        if conn is not None:
            conn.close()

    def wait(self, timeout=30):
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "load threads did not stop"
        return self.snapshot()

    def stop(self, timeout=30):
        self.stopping.set()
        return self.wait(timeout)

    def snapshot(self):
        with self.lock:
            return sorted(self.records, key=lambda r: r[1])

    def failures(self):
        return [r for r in self.snapshot() if r[4] or r[2] != 200]


def first_run(records, region, since, n=10):
    """End time of the first response of the first run of n consecutive responses
    (by completion) from `region` among requests started at or after `since`."""
    rs = [r for r in records if r[0] >= since]
    run = 0
    for i, r in enumerate(rs):
        run = run + 1 if r[3] == region else 0
        if run == n:
            return rs[i - n + 1][1]
    return None


def wait_until(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
