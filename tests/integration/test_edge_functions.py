"""Edge functions (issue 9) in a real `meridian edge`: the four examples of
examples/functions/, the rules (each violation a 502 with its log line), the
limits (a loop and a memory bomb stopped with 503, the edge serving on), and
a reload under load.

The signer runs end to end: edge -> router -> two stores that verify SigV4A,
with the behavior's built-in signer off, so the Lua function is the only
thing that signs. The other examples and the rules run against small Python
origins in this process (edgeenv.Origin), which record what the edge sent.
Every process this file starts is stopped by PID.
"""
import concurrent.futures
import http.client
import os
import pathlib
import signal
import threading
import time

import pytest

from edgeenv import Edge, Origin, behavior, parse_auth
from routerenv import REGION_HEADER, Router
from storeenv import ALICE, Store

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "functions"
ALIAS = "mfzwi23gnjvgw.mrap"
DOMAIN = "accesspoint.example.test"
REGIONS = {"eu-west-1": "assets-eu", "us-east-1": "assets-us"}
SANITIZED = os.environ.get("MERIDIAN_SANITIZED") == "1"


@pytest.fixture
def stop_all():
    procs = []
    yield procs.append
    errors = []
    for p in reversed(procs):
        try:
            p.stop()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n".join(errors)


class FnEdge(Edge):
    """An Edge whose config directory holds function files: `files` maps a
    path relative to the config (as the behaviors name it) to its Lua text,
    or to an example's file name under examples/functions/. `limits` becomes
    the top-level function_limits section."""

    def __init__(self, tmp, origins, behaviors, files=(), limits=None, **kw):
        tmp = pathlib.Path(tmp)
        tmp.mkdir(parents=True, exist_ok=True)
        self.fn_dir = tmp
        for rel, text in dict(files).items():
            self.write_fn(rel, text)
        self._limits = limits
        self._limits_written = False
        super().__init__(tmp, origins, behaviors, **kw)

    def write_fn(self, rel, text):
        """Write (or replace, atomically) a function file."""
        path = self.fn_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if (EXAMPLES / text).is_file():
            text = (EXAMPLES / text).read_text()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    def start(self, timeout=20):
        if self._limits and not self._limits_written:
            with open(self.config, "a") as f:
                f.write("function_limits:\n")
                for k, v in self._limits.items():
                    f.write(f"  {k}: {v}\n")
            self._limits_written = True
        super().start(timeout)

    def hup(self):
        os.kill(self.proc.pid, signal.SIGHUP)

    def fn_log(self):
        """The edge-fn lines: (event, file, request id, error name, message)."""
        out = []
        for line in self.read_log(tail=None).splitlines():
            parts = line.split("\t")
            if parts[0] == "edge-fn" and len(parts) >= 6:
                out.append(tuple(parts[1:5]) + ("\t".join(parts[5:]),))
        return out

    def wait_fn_log(self, pred, at_least=1, timeout=3.0):
        """The edge-fn lines matching pred, once at least `at_least` are there."""
        end = time.monotonic() + timeout
        while True:
            lines = [ln for ln in self.fn_log() if pred(ln)]
            if len(lines) >= at_least or time.monotonic() > end:
                return lines
            time.sleep(0.05)

    def wait_log(self, text, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.read_log(tail=None):
                return True
            time.sleep(0.05)
        return False


# ---- (a) the blog's signer, end to end through router and stores ----

def router_stack(tmp_path, stop_all):
    stores = {}
    for region, bucket in REGIONS.items():
        d = tmp_path / region
        d.mkdir()
        s = Store(d, "--access-point", f"{ALIAS}={bucket}", "--mrap-domain", DOMAIN,
                  region=region)
        stop_all(s)
        s.boto3().create_bucket(Bucket=bucket)
        for key in ("site/logo.txt", "site/v.txt"):
            s.boto3().put_object(Bucket=bucket, Key=key, Body=f"{key} from {region}".encode())
        stores[region] = s
    rt = Router(tmp_path / "router", "assets", ALIAS,
                [{"name": r, "endpoint": f"127.0.0.1:{stores[r].port}", "bucket": b}
                 for r, b in REGIONS.items()], domain=DOMAIN, admin=False)
    stop_all(rt)
    return rt


def test_signer_end_to_end_through_router_and_stores(tmp_path, stop_all):
    rt = router_stack(tmp_path, stop_all)
    mrap = {"id": "mrap", "domain_name": "127.0.0.1", "address": f"127.0.0.1:{rt.port}",
            "origin_path": f"/{ALIAS}"}
    edge = FnEdge(tmp_path / "edge", [mrap],
                  [behavior("mrap", signing="none", cache_key={"query_strings": "all"},
                            functions={"origin-request": "functions/sigv4a-origin-signer.lua"})],
                  files={"functions/sigv4a-origin-signer.lua": "sigv4a-origin-signer.lua"},
                  creds=ALICE[:2])
    stop_all(edge)
    st, h, body = edge.request("GET", "/site/logo.txt", headers=[("User-Agent", "viewer/1")])
    assert st == 200, (st, h, body, edge.read_log())
    region = h[REGION_HEADER]
    assert body == f"site/logo.txt from {region}".encode()
    assert h["x-cache"] == "Miss from meridian"
    st, h, body2 = edge.request("GET", "/site/logo.txt")
    assert (st, h["x-cache"], body2) == (200, "Hit from meridian", body)
    # The behavior forwards the query string, and the function drops it (it
    # was not signed), so the signature still holds.
    st, h, body = edge.request("GET", "/site/v.txt?response-content-type=text/x-test",
                               headers=[("X-Amz-Date", "20200101T000000Z"),
                                        ("Authorization", "Basic dmlld2VyOnNlY3JldA==")])
    assert st == 200, (st, body, edge.read_log())
    assert body.startswith(b"site/v.txt from ")
    assert h.get("content-type") != "text/x-test"  # the override never reached the store
    assert not edge.fn_log(), edge.fn_log()

    # Control: the same edge without the function is anonymous, and the store refuses.
    bare = Edge(tmp_path / "edge-bare", [mrap], [behavior("mrap", signing="none")],
                creds=ALICE[:2])
    stop_all(bare)
    st, _, body = bare.request("GET", "/site/logo.txt")
    assert st == 403, (st, body)
    # And with a wrong secret, the function's signature is refused.
    wrong = FnEdge(tmp_path / "edge-wrong", [mrap],
                   [behavior("mrap", signing="none",
                             functions={"origin-request": "functions/sigv4a-origin-signer.lua"})],
                   files={"functions/sigv4a-origin-signer.lua": "sigv4a-origin-signer.lua"},
                   creds=(ALICE[0], "wrong" * 8))
    stop_all(wrong)
    st, _, body = wrong.request("GET", "/site/logo.txt")
    assert st == 403 and b"SignatureDoesNotMatch" in body, (st, body)


def test_signer_leaves_the_failover_member_unsigned(tmp_path, stop_all):
    primary = Origin(lambda req: (503, {}, b"busy"), name="primary")
    backup = Origin(name="backup")
    stop_all(primary)
    stop_all(backup)
    edge = FnEdge(tmp_path, [{"id": "primary", "address": primary.address},
                             {"id": "backup", "address": backup.address,
                              "custom_headers": {"originTypeFailover": "true"}}],
                  [behavior("both", signing="none",
                            cache_key={"query_strings": "all", "headers": ["X-Viewer"]},
                            functions={"origin-request": "fn/sign.lua"})],
                  groups=[{"id": "both", "members": ["primary", "backup"],
                           "failover_statuses": [500, 502, 503, 504]}],
                  files={"fn/sign.lua": "sigv4a-origin-signer.lua"})
    stop_all(edge)
    st, h, body = edge.request("GET", "/a.txt?v=1", headers=[("User-Agent", "viewer/1"),
                                                            ("X-Viewer", "kept")])
    assert (st, body) == (200, b"backup /a.txt?v=1"), (st, body, edge.read_log())
    # The function ran twice: the primary got the signed set, no query, none
    # of the viewer's headers; the backup got the request as it was.
    p, b = primary.last(), backup.last()
    assert p["path"] == "/a.txt"
    assert parse_auth(p["headers"].get("authorization")) == "AWS4-ECDSA-P256-SHA256"
    assert p["headers"]["x-amz-region-set"] == "*"
    assert "x-amz-cf-id" in p["headers"]["authorization"]
    assert "x-viewer" not in p["headers"]
    assert b["path"] == "/a.txt?v=1"
    assert "authorization" not in b["headers"] and "x-amz-date" not in b["headers"]
    assert b["headers"]["x-viewer"] == "kept"
    assert b["headers"]["origintypefailover"] == "true"
    assert b["headers"]["x-amz-cf-id"] == p["headers"]["x-amz-cf-id"] == h["x-amz-cf-id"]
    assert not edge.fn_log(), edge.fn_log()


# ---- (b) index rewrite; (c) cache-control; (d) security headers ----

def test_index_rewrite(tmp_path, stop_all):
    origin = Origin()
    stop_all(origin)
    edge = FnEdge(tmp_path, [{"id": "o", "address": origin.address}],
                  [behavior("o", functions={"viewer-request": "fn/index.lua"})],
                  files={"fn/index.lua": "index-rewrite.lua"}, sign=False)
    stop_all(edge)
    for uri, want in (("/docs/", "/docs/index.html"), ("/guide", "/guide/index.html"),
                      ("/v1.2/api", "/v1.2/api/index.html"), ("/", "/index.html"),
                      ("/style.css", "/style.css")):
        st, h, body = edge.request("GET", uri)
        assert (st, body) == (200, f"origin {want}".encode()), (uri, st, body, edge.read_log())
        assert origin.last()["path"] == want
    # The rewritten uri is the cache key: /docs and /docs/index.html share it.
    n = origin.count()
    for uri in ("/docs", "/docs/index.html", "/docs/"):
        st, h, body = edge.request("GET", uri)
        assert (st, h["x-cache"], body) == (200, "Hit from meridian", b"origin /docs/index.html")
    assert origin.count() == n


def test_cache_control_override(tmp_path, stop_all):
    def handler(req):
        if req["path"].endswith("/err"):
            return 503, {"Cache-Control": "max-age=60"}, b"down"
        if req["path"].endswith("/own"):
            return 200, {"Cache-Control": "max-age=0"}, b"own"
        return 200, {}, f"body {req['path']}".encode()

    origin = Origin(handler)
    stop_all(origin)
    cc = {"origin-response": "fn/cache.lua"}
    edge = FnEdge(tmp_path, [{"id": "o", "address": origin.address}],
                  [behavior("o", path_pattern="/raw/*", default_ttl="0s"),
                   behavior("o", default_ttl="0s", functions=cc)],
                  files={"fn/cache.lua": "cache-control.lua"}, sign=False)
    stop_all(edge)
    # Without the function (default_ttl 0), an answer without Cache-Control is not kept.
    for _ in range(2):
        st, h, _ = edge.request("GET", "/raw/p")
        assert (st, h["x-cache"]) == (200, "Miss from meridian")
        assert "cache-control" not in h
    assert origin.count("/raw/p") == 2
    # With it: the header on the answer, and the second request a Hit.
    st, h, body = edge.request("GET", "/p")
    assert (st, h["x-cache"], body) == (200, "Miss from meridian", b"body /p"), edge.read_log()
    assert h["cache-control"] == "public, max-age=3600"
    st, h, body = edge.request("GET", "/p")
    assert (st, h["x-cache"], body) == (200, "Hit from meridian", b"body /p")
    assert h["cache-control"] == "public, max-age=3600"
    assert origin.count("/p") == 1
    # The origin's own Cache-Control is kept (max-age=0: a Miss each time).
    for _ in range(2):
        st, h, _ = edge.request("GET", "/own")
        assert (st, h["x-cache"], h["cache-control"]) == (200, "Miss from meridian", "max-age=0")
    # A 5xx gets no-store in place of the origin's header.
    st, h, body = edge.request("GET", "/err")
    assert (st, body, h["cache-control"]) == (503, b"down", "no-store"), (st, h, body)
    assert not edge.fn_log(), edge.fn_log()


SECURITY = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "content-security-policy": "default-src 'self'",
}


def test_security_headers(tmp_path, stop_all):
    def handler(req):
        if req["path"] == "/missing":
            return 404, {"Content-Type": "text/plain"}, b"no such page"
        return 200, {"Cache-Control": "max-age=60", "X-Frame-Options": "SAMEORIGIN"}, b"page"

    origin = Origin(handler)
    stop_all(origin)
    edge = FnEdge(tmp_path, [{"id": "o", "address": origin.address}],
                  [behavior("o", functions={"viewer-response": "fn/sec.lua"})],
                  files={"fn/sec.lua": "security-headers.lua"}, sign=False)
    stop_all(edge)
    for want in ("Miss from meridian", "Hit from meridian"):
        st, h, body = edge.request("GET", "/page")
        assert (st, h["x-cache"], body) == (200, want, b"page"), (st, h, edge.read_log())
        for k, v in SECURITY.items():
            assert h.get(k) == v, (want, k, h)
    # HEAD from the cache too.
    st, h, _ = edge.request("HEAD", "/page")
    assert st == 200 and all(h.get(k) == v for k, v in SECURITY.items()), h
    # Not on a 404 (viewer-response does not run for >= 400), nor on the edge's own errors.
    st, h, body = edge.request("GET", "/missing")
    assert (st, body) == (404, b"no such page")
    assert not set(SECURITY) & set(h), h
    st, h, _ = edge.request("POST", "/page", body=b"x")
    assert st == 403 and not set(SECURITY) & set(h), (st, h)
    assert not edge.fn_log(), edge.fn_log()


# ---- (e) every rule violation: 502 with X-Cache and a log line ----

VIOLATIONS = [
    # (name, trigger, function body, status, X-Cache kind, text in the logged message)
    ("ro-via", "origin-request",
     "local r = event.Records[1].cf.request\n"
     "r.headers['via'] = {{ key = 'Via', value = '1.1 somewhere-else' }}\nreturn r",
     502, "LambdaValidationError", "via"),
    ("ro-ims", "origin-request",
     "local r = event.Records[1].cf.request\n"
     "r.headers['if-modified-since'] = {{ value = 'Wed, 18 Nov 2026 10:00:00 GMT' }}\nreturn r",
     502, "LambdaValidationError", "if-modified-since"),
    ("ro-host", "viewer-request",
     "local r = event.Records[1].cf.request\n"
     "r.headers['host'] = {{ key = 'Host', value = 'other.example.test' }}\nreturn r",
     502, "LambdaValidationError", "host"),
    ("add-connection", "viewer-request",
     "local r = event.Records[1].cf.request\n"
     "r.headers['connection'] = {{ key = 'Connection', value = 'close' }}\nreturn r",
     502, "LambdaValidationError", "connection"),
    ("add-xcache", "origin-response",
     "local r = event.Records[1].cf.response\n"
     "r.headers['x-cache'] = {{ key = 'X-Cache', value = 'Hit' }}\nreturn r",
     502, "LambdaValidationError", "x-cache"),
    ("status-99", "viewer-request",
     "return { status = '99', statusDescription = 'Odd', body = 'x' }",
     502, "LambdaValidationError", "status"),
    ("204-body", "viewer-request",
     "return { status = '204', body = 'not empty' }",
     502, "LambdaValidationError", "204"),
    ("vr-status", "viewer-response",
     "local r = event.Records[1].cf.response\nr.status = '201'\nreturn r",
     502, "LambdaValidationError", "status"),
    ("too-big", "viewer-request",
     "return { status = '200', body = string.rep('x', 41 * 1024) }",
     502, "LambdaValidationError", "limit"),
    ("bad-uri", "viewer-request",
     "local r = event.Records[1].cf.request\nr.uri = 'no-slash'\nreturn r",
     502, "LambdaValidationError", "uri"),
    ("returns-nil", "viewer-request", "return nil",
     502, "LambdaValidationError", "nothing"),
    ("lua-error", "viewer-request", "error('boom from the function')",
     502, "LambdaExecutionError", "boom from the function"),
    ("binding-error", "origin-request",
     "return meridian.sigv4a.sign { method = 'GET' }",
     502, "LambdaExecutionError", "sigv4a.sign"),
]


def fn_source(body):
    return "function handler(event, context)\n" + body + "\nend\n"


def test_rule_violations_answer_502_and_log(tmp_path, stop_all):
    origin = Origin()
    stop_all(origin)
    behaviors, files = [], {}
    for name, trigger, body, *_ in VIOLATIONS:
        files[f"fn/{name}.lua"] = fn_source(body)
        behaviors.append(behavior("o", path_pattern=f"/{name}/*",
                                  functions={trigger: f"fn/{name}.lua"}))
    behaviors.append(behavior("o"))
    edge = FnEdge(tmp_path, [{"id": "o", "address": origin.address}], behaviors,
                  files=files, admins=[("AKIAEDGEADMIN0000001", "adminSecret0123456789abcdef",
                                        "ops")])
    stop_all(edge)
    for name, trigger, _, status, kind, text in VIOLATIONS:
        st, h, body = edge.request("GET", f"/{name}/x.txt")
        assert st == status, (name, st, h, body, edge.read_log())
        assert h.get("x-cache") == f"{kind} from meridian", (name, h)
        rid = h.get("x-amz-cf-id")
        lines = edge.wait_fn_log(lambda ln: ln[1] == f"fn/{name}.lua")
        assert len(lines) == 1, (name, edge.fn_log())
        event, _, req_id, err, msg = lines[0]
        assert (event, err) == (trigger, kind), (name, lines[0])
        assert text.lower() in msg.lower(), (name, msg)
        if rid:
            assert req_id == rid, (name, req_id, rid)
        # The edge serves on.
        st, _, body = edge.request("GET", f"/ok/{name}")
        assert (st, body) == (200, f"origin /ok/{name}".encode())
    # Counted by kind.
    st, _, text = http_get(edge.admin_port, "/metrics")
    assert st == 200
    metrics = text.decode()
    n_val = sum(1 for v in VIOLATIONS if v[4] == "LambdaValidationError")
    n_exec = len(VIOLATIONS) - n_val
    assert metric_sum(metrics, "meridian_edge_function_errors_total", 'kind="validation"') == n_val
    assert metric_sum(metrics, "meridian_edge_function_errors_total", 'kind="execution"') == n_exec


def http_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def metric_sum(text, name, label):
    total = 0
    for line in text.splitlines():
        if line.startswith(name + "{") and label in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_function_durations_in_metrics(tmp_path, stop_all):
    """/metrics has each event's call durations as a histogram: every call
    counted once, in a bucket that matches how long the function ran."""
    origin = Origin()
    stop_all(origin)
    files = {"fn/pass.lua": fn_source("return event.Records[1].cf.request"),
             "fn/busy.lua": fn_source("local x = 0\nfor i = 1, 3000000 do x = x + i end\n"
                                      "return event.Records[1].cf.request")}
    behaviors = [behavior("o", path_pattern="/busy/*",
                          functions={"origin-request": "fn/busy.lua"}),
                 behavior("o", functions={"viewer-request": "fn/pass.lua"})]
    edge = FnEdge(tmp_path, [{"id": "o", "address": origin.address}], behaviors,
                  files=files, admins=[("AKIAEDGEADMIN0000001", "adminSecret0123456789abcdef",
                                        "ops")])
    stop_all(edge)
    for i in range(20):
        st, _, _ = edge.request("GET", f"/p/{i % 3}")
        assert st == 200
    for i in range(3):
        st, _, _ = edge.request("GET", f"/busy/{i}")
        assert st == 200
    st, _, text = http_get(edge.admin_port, "/metrics")
    assert st == 200
    metrics = text.decode()

    def hist(event):
        buckets = []
        for line in metrics.splitlines():
            pre = f'meridian_edge_function_duration_seconds_bucket{{event="{event}",le="'
            if line.startswith(pre):
                le, n = line[len(pre):].split('"} ')
                buckets.append((float(le), int(n)))
        total = metric_sum(metrics, "meridian_edge_function_duration_seconds_count",
                           f'event="{event}"')
        secs = metric_sum(metrics, "meridian_edge_function_duration_seconds_sum",
                          f'event="{event}"')
        return buckets, total, secs

    # viewer-request: 20 calls (hits too), each well under a second
    buckets, total, secs = hist("viewer-request")
    assert total == 20 == buckets[-1][1], metrics
    assert metric_sum(metrics, "meridian_edge_function_calls_total",
                      'event="viewer-request"') == 20
    assert [n for _, n in buckets] == sorted(n for _, n in buckets)  # cumulative
    assert dict(buckets)[1.0] == 20 and 0 < secs < 20
    # origin-request: 3 misses, 3 million loop steps each take well over
    # 100 us (and are under the 5 s deadline)
    buckets, total, secs = hist("origin-request")
    assert total == 3 == buckets[-1][1]
    assert dict(buckets)[0.0001] == 0, buckets
    assert secs > 3 * 0.0001
    # events without functions: present, zero
    buckets, total, secs = hist("viewer-response")
    assert total == 0 and secs == 0 and len(buckets) == 12


def test_origin_request_timeouts_apply_to_the_fetch(tmp_path, stop_all):
    """An origin-request function's readTimeout is the fetch's: the
    configured 500 ms gives up on a 1.5 s origin (504), the function's 4 s
    waits for it; keepaliveTimeout is the pooled connection's idle time."""
    def handler(req):
        if "/slow" in req["path"]:
            time.sleep(1.5)
        return 200, {"Cache-Control": "no-store"}, f"origin {req['path']}".encode()

    origin = Origin(handler)
    stop_all(origin)
    longer = fn_source("local r = event.Records[1].cf.request\n"
                       "r.origin.custom.readTimeout = 4\n"
                       "r.origin.custom.keepaliveTimeout = 1\n"
                       "return r")
    edge = FnEdge(tmp_path, [{"id": "o", "address": origin.address, "read_timeout": "500ms",
                              "keepalive_timeout": "30s", "connection_attempts": 1}],
                  [behavior("o", path_pattern="/fn/*",
                            functions={"origin-request": "fn/longer.lua"}),
                   behavior("o")],
                  files={"fn/longer.lua": longer}, sign=False, workers=1)
    stop_all(edge)
    t0 = time.monotonic()
    st, _, _ = edge.request("GET", "/plain/slow")
    assert st == 504 and time.monotonic() - t0 < 1.4, (st, edge.read_log())
    t0 = time.monotonic()
    st, _, body = edge.request("GET", "/fn/slow")
    assert (st, body) == (200, b"origin /fn/slow"), (st, body, edge.read_log())
    assert time.monotonic() - t0 >= 1.4
    # keepaliveTimeout: after a function's 1 s the pooled connection is gone
    # 2 s later; after the configured 30 s it is still there (one worker,
    # so one pool)
    def peer(path):
        st, _, _ = edge.request("GET", path)
        assert st == 200
        return [r["peer"] for r in origin.requests if r["path"] == path][-1]

    first = peer("/fn/x")
    time.sleep(2.2)
    assert peer("/plain/y") != first
    kept = peer("/plain/z")
    time.sleep(2.2)
    assert peer("/plain/w") == kept


# ---- (f) an infinite loop and a memory bomb are stopped; the edge serves on ----

LIMITED = [
    ("loop", "viewer-request", "while true do end"),
    ("loop-pcall", "viewer-request", "while true do pcall(function() while true do end end) end"),
    ("mem", "viewer-request", "local s = 'x'\nwhile true do s = s .. s end"),
    ("mem-table", "origin-request",
     "local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('y', 4096) .. i end"),
]


@pytest.mark.parametrize("instructions", [200000, 10000000000])
def test_loop_and_memory_bomb_are_stopped(tmp_path, stop_all, instructions):
    # With a small budget the loop is stopped by instructions; with the largest
    # one, by the 1 s deadline.
    origin = Origin()
    stop_all(origin)
    behaviors, files = [], {}
    for name, trigger, body in LIMITED:
        files[f"fn/{name}.lua"] = fn_source(body)
        behaviors.append(behavior("o", path_pattern=f"/{name}/*",
                                  functions={trigger: f"fn/{name}.lua"}))
    behaviors.append(behavior("o"))
    edge = FnEdge(tmp_path, [{"id": "o", "address": origin.address}], behaviors, files=files,
                  limits={"memory": "8MiB", "instructions": instructions,
                          "viewer_timeout": "1s", "origin_timeout": "1s"},
                  sign=False, workers=2)
    stop_all(edge)
    slack = 4.0 if SANITIZED else 2.0
    for rnd in range(3):  # again and again: each worker's state stays usable
        for name, trigger, _ in LIMITED:
            t0 = time.monotonic()
            st, h, body = edge.request("GET", f"/{name}/{rnd}")
            took = time.monotonic() - t0
            assert st == 503, (name, st, h, body, edge.read_log())
            assert h.get("x-cache") == "LambdaLimitExceeded from meridian", (name, h)
            assert took < 1.0 + slack, (name, took)
            st, _, body = edge.request("GET", f"/ok/{name}/{rnd}")
            assert (st, body) == (200, f"origin /ok/{name}/{rnd}".encode())
    lines = edge.wait_fn_log(lambda ln: True, at_least=3 * len(LIMITED))
    assert len(lines) == 3 * len(LIMITED), lines
    assert {ln[3] for ln in lines} == {"LambdaLimitExceeded"}, lines
    # Each stopped by the limit meant for it.
    loop_limit = "instruction budget" if instructions == 200000 else "time limit"
    for _, file, _, _, msg in lines:
        want = "memory limit" if "/mem" in file else loop_limit
        assert want in msg, (file, msg)
    # Many viewers at once while the bombs go off: the others are served.
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        futs = [ex.submit(edge.request, "GET", f"/mem/c{i}") for i in range(4)]
        futs += [ex.submit(edge.request, "GET", f"/ok/c{i}") for i in range(12)]
        res = [f.result() for f in futs]
    assert all(r[0] == 503 for r in res[:4]) and all(r[0] == 200 for r in res[4:]), \
        [r[0] for r in res]


# ---- (g) reload under load ----

VERSION_FN = """
function handler(event, context)
  local r = event.Records[1].cf.response
  r.headers['x-fn-version'] = {{ key = 'X-Fn-Version', value = '%s' }}
  return r
end
"""


def test_reload_under_load(tmp_path, stop_all):
    origin = Origin()
    stop_all(origin)
    edge = FnEdge(tmp_path, [{"id": "o", "address": origin.address}],
                  [behavior("o", functions={"viewer-response": "fn/version.lua"})],
                  files={"fn/version.lua": VERSION_FN % "1"}, sign=False, workers=2)
    stop_all(edge)
    st, h, _ = edge.request("GET", "/obj")
    assert (st, h.get("x-fn-version")) == (200, "1"), (st, h, edge.read_log())

    # A bounded load: 4 viewers, each until told to stop, at most 5000 requests or 15 s.
    stop = threading.Event()
    lock = threading.Lock()
    seen, failures = [], []

    def viewer(i):
        deadline = time.monotonic() + 15
        for n in range(5000):
            if stop.is_set() or time.monotonic() > deadline:
                return
            try:
                st, h, body = edge.request("GET", f"/obj{n % 5}", timeout=10)
                with lock:
                    if st != 200 or not body.startswith(b"origin /obj"):
                        failures.append((st, body[:80]))
                    seen.append(h.get("x-fn-version"))
            except Exception as e:  # a dropped connection is a failure
                with lock:
                    failures.append(repr(e))

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        futs = [ex.submit(viewer, i) for i in range(4)]
        time.sleep(0.5)
        with lock:
            before = len(seen)
        edge.write_fn("fn/version.lua", VERSION_FN % "2")
        edge.hup()
        time.sleep(1.0)
        # A broken file is refused, under load too; version 2 stays.
        edge.write_fn("fn/version.lua", "function handler(event, context)\n  return (\n")
        edge.hup()
        assert edge.wait_log("edge: functions not reloaded"), edge.read_log()
        with lock:
            refused = len(seen)
        time.sleep(0.5)
        stop.set()
        for f in futs:
            f.result()
    assert not failures, failures[:5]
    # The load ran before, between and after the two reloads.
    assert 0 < before < refused < len(seen), (before, refused, len(seen))
    assert set(seen) <= {"1", "2"}, set(seen)
    assert "2" in seen, "version 2 never seen under load"
    assert "1" not in seen[refused:], "version 1 came back after the refused reload"
    # Once switched, a worker never goes back to 1: the last answers are all 2.
    for _ in range(8):
        st, h, _ = edge.request("GET", "/obj0")
        assert (st, h.get("x-fn-version")) == (200, "2"), h
    print(f"reload under load: {len(seen)} requests, "
          f"{seen.count('1')} v1, {seen.count('2')} v2")
