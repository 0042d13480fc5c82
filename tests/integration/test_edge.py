"""meridian edge: the caching CDN edge, as issue #6 asks to show it.

Real binaries: the edge in front of a router in front of two stores (SigV4A,
verified by the store), the edge in front of one store (SigV4, and a PUT
streamed through), and the edge in front of small Python origins in this
process (edgeenv.Origin) that record every request, so a test can count
origin fetches and read the headers and signatures the edge sent. Viewers
are plain HTTP clients without credentials. Every process this file starts
is stopped by PID.
"""
import concurrent.futures
import hashlib
import http.client
import os
import subprocess
import threading
import time

import pytest

from edgeenv import (EDGE_CREDS, Blackhole, Edge, Origin, behavior, parse_auth,
                     refused_address)
from httpd import rss_bound_ok
from routerenv import REGION_HEADER, Router
from storeenv import ALICE, Store, meridian_bin

ALIAS = "mfzwi23gnjvgw.mrap"
DOMAIN = "accesspoint.example.test"
REGIONS = {"eu-west-1": "assets-eu", "us-east-1": "assets-us"}


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


# ---- (a) edge -> router -> two stores, SigV4A verified by the store ----

def test_edge_router_stores_sigv4a(tmp_path, stop_all):
    stores = {}
    for region, bucket in REGIONS.items():
        d = tmp_path / region
        d.mkdir()
        s = Store(d, "--access-point", f"{ALIAS}={bucket}", "--mrap-domain", DOMAIN,
                  region=region)
        stop_all(s)
        s.boto3().create_bucket(Bucket=bucket)
        s.boto3().put_object(Bucket=bucket, Key="site/logo.txt",
                             Body=f"logo from {region}".encode())
        stores[region] = s
    rt = Router(tmp_path / "router", "assets", ALIAS,
                [{"name": r, "endpoint": f"127.0.0.1:{stores[r].port}", "bucket": b}
                 for r, b in REGIONS.items()], domain=DOMAIN, admin=False)
    stop_all(rt)
    edge = Edge(tmp_path / "edge",
                [{"id": "mrap", "domain_name": "127.0.0.1", "address": f"127.0.0.1:{rt.port}",
                  "origin_path": f"/{ALIAS}"}],
                [behavior("mrap", signing="sigv4a")], creds=ALICE[:2])
    stop_all(edge)

    st, h, body = edge.request("GET", "/site/logo.txt")
    first_id = h.get("x-amz-cf-id")
    assert st == 200, (st, body, edge.read_log())
    region = h[REGION_HEADER]
    assert body == f"logo from {region}".encode()
    assert h["x-cache"] == "Miss from meridian"
    assert h["via"] == "1.1 TST1 (meridian)"
    assert h["x-amz-cf-id"]
    st2, h2, body2 = edge.request("GET", "/site/logo.txt")
    assert (st2, body2) == (200, body)
    assert h2["x-cache"] == "Hit from meridian"
    assert int(h2["age"]) >= 0
    assert h2[REGION_HEADER] == region  # the stored answer, replayed
    assert h2["x-amz-cf-id"] != h["x-amz-cf-id"]
    # HEAD from the cache: the length, no body.
    st3, h3, body3 = edge.request("HEAD", "/site/logo.txt")
    assert (st3, body3, h3["x-cache"]) == (200, b"", "Hit from meridian")
    assert int(h3["content-length"]) == len(body)
    # The store checked the signature: with a wrong secret it refuses.
    bad = Edge(tmp_path / "edge-bad",
               [{"id": "mrap", "domain_name": "127.0.0.1", "address": f"127.0.0.1:{rt.port}",
                 "origin_path": f"/{ALIAS}"}],
               [behavior("mrap", signing="sigv4a")], creds=(ALICE[0], "wrong" * 8))
    stop_all(bad)
    st, h, body = bad.request("GET", "/site/logo.txt")
    assert st == 403 and b"SignatureDoesNotMatch" in body, (st, body)
    # And unsigned, the store refuses too (anonymous).
    st, _, body = bad.request("GET", "/site/other.txt")
    assert st == 403, body
    # The access log: a Miss then a Hit, with CloudFront's field names.
    assert edge.logged(lambda e: e["x-edge-result-type"] == "Hit", at_least=2) >= 2
    miss = [e for e in edge.access_log() if e["x-edge-result-type"] == "Miss"]
    assert miss and miss[0]["cs-uri-stem"] == "/site/logo.txt" and miss[0]["sc-status"] == "200"
    assert miss[0]["x-edge-location"] == "TST1" and float(miss[0]["time-taken"]) >= 0
    assert miss[0]["x-edge-request-id"] == first_id


# ---- (b) edge -> store with SigV4; (g) a PUT streamed through ----

def test_edge_store_sigv4_and_put(tmp_path, stop_all):
    s = Store(tmp_path, region="eu-west-1")
    stop_all(s)
    s.boto3().create_bucket(Bucket="web")
    s.boto3().put_object(Bucket="web", Key="index.html", Body=b"<h1>home</h1>")
    edge = Edge(tmp_path / "edge",
                [{"id": "store", "domain_name": "127.0.0.1", "address": f"127.0.0.1:{s.port}",
                  "origin_path": "/web"}],
                [behavior("store", path_pattern="upload/*", allowed_methods=["GET", "HEAD", "OPTIONS", "PUT",
                                                             "POST", "PATCH", "DELETE"],
                               signing="sigv4", signing_region="eu-west-1"),
                 behavior("store", signing="sigv4", signing_region="eu-west-1")],
                creds=ALICE[:2], root="index.html")
    stop_all(edge)
    # default root object for "/"
    st, h, body = edge.request("GET", "/")
    assert (st, body) == (200, b"<h1>home</h1>"), (st, body, edge.read_log())
    st, h, body = edge.request("GET", "/index.html")
    assert (st, h["x-cache"]) == (200, "Hit from meridian")  # "/" and the object share a key
    # A PUT through the all-methods behavior: signed UNSIGNED-PAYLOAD, streamed.
    data = os.urandom(3 * 1024 * 1024 + 17)
    st, h, body = edge.request("PUT", "/upload/blob.bin", body=data,
                               headers=[("Content-Type", "application/x-test")])
    assert st == 200, (st, body, edge.read_log())
    got = s.boto3().get_object(Bucket="web", Key="upload/blob.bin")
    assert got["Body"].read() == data and got["ContentType"] == "application/x-test"
    # Not cached: the next GET is a Miss, and a DELETE goes through.
    st, h, body = edge.request("GET", "/upload/blob.bin")
    assert (st, h["x-cache"], len(body)) == (200, "Miss from meridian", len(data))
    st, h, _ = edge.request("DELETE", "/upload/blob.bin")
    assert st == 204
    assert edge.logged(lambda e: e["cs-method"] == "PUT" and e["sc-status"] == "200") == 1


# ---- (c) origin groups ----

def group_edge(tmp_path, primary_address, secondary, **origin_kw):
    primary = {"id": "primary", "address": primary_address, "connect_timeout": "500ms",
               "read_timeout": "700ms"}
    primary.update(origin_kw)
    return Edge(tmp_path, [primary,
                           {"id": "backup", "address": secondary.address,
                            "custom_headers": {"originTypeFailover": "true",
                                               "X-Backup-Token": "b1"}}],
                [behavior("both", signing="sigv4a",
                               cache_key={"query_strings": "all"})],
                groups=[{"id": "both", "members": ["primary", "backup"],
                         "failover_statuses": [500, 502, 503, 504]}])


def check_failover_request(req):
    assert req["headers"].get("originTypeFailover".lower()) == "true"
    assert req["headers"].get("x-backup-token") == "b1"
    assert "authorization" not in req["headers"], req["headers"]  # no SigV4A
    assert req["headers"]["via"] == "1.1 TST1 (meridian)"
    assert req["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert req["headers"]["x-amz-cf-id"]


def test_group_fails_over_on_503(tmp_path, stop_all):
    primary = Origin(lambda req: (503, {}, b"busy"), name="primary")
    backup = Origin(name="backup")
    stop_all(primary)
    stop_all(backup)
    edge = group_edge(tmp_path, primary.address, backup)
    stop_all(edge)
    st, h, body = edge.request("GET", "/a.txt")
    assert (st, body) == (200, b"backup /a.txt"), (st, body, edge.read_log())
    assert primary.count() == 1 and backup.count() == 1
    # The primary was signed with SigV4A (region set *), the failover not.
    p = primary.last()
    assert parse_auth(p["headers"].get("authorization")) == "AWS4-ECDSA-P256-SHA256"
    assert p["headers"]["x-amz-region-set"] == "*"
    assert EDGE_CREDS[0] in p["headers"]["authorization"]
    assert "originTypeFailover".lower() not in p["headers"]
    check_failover_request(backup.last())
    # A 503 is no reason to skip the primary next time.
    st, _, body = edge.request("GET", "/b.txt")
    assert body == b"backup /b.txt" and primary.count() == 2


def test_group_fails_over_on_refused_and_skips(tmp_path, stop_all):
    backup = Origin(name="backup")
    stop_all(backup)
    edge = group_edge(tmp_path, refused_address(), backup)
    stop_all(edge)
    st, _, body = edge.request("GET", "/a.txt")
    assert (st, body) == (200, b"backup /a.txt"), (st, body, edge.read_log())
    check_failover_request(backup.last())
    st, _, body = edge.request("GET", "/b.txt")
    assert (st, body) == (200, b"backup /b.txt")


def test_group_fails_over_on_timeout_then_skips(tmp_path, stop_all):
    hole = Blackhole()
    stop_all(hole)
    backup = Origin(name="backup")
    stop_all(backup)
    edge = group_edge(tmp_path, hole.address, backup, connection_attempts=1)
    stop_all(edge)
    t0 = time.monotonic()
    st, _, body = edge.request("GET", "/slow.txt")
    first = time.monotonic() - t0
    assert (st, body) == (200, b"backup /slow.txt"), (st, body, edge.read_log())
    assert first >= 0.6  # it waited for the primary's read timeout
    check_failover_request(backup.last())
    # The primary is now known to be down: skipped without waiting.
    t0 = time.monotonic()
    st, _, body = edge.request("GET", "/slow2.txt")
    assert (st, body) == (200, b"backup /slow2.txt")
    assert time.monotonic() - t0 < 0.5


def test_single_origin_unreachable_is_502(tmp_path, stop_all):
    edge = Edge(tmp_path, [{"id": "gone", "address": refused_address()}],
                [behavior("gone")], sign=False)
    stop_all(edge)
    st, h, body = edge.request("GET", "/x")
    assert st == 502 and h["x-cache"] == "Error from meridian", (st, h, body)
    assert edge.logged(lambda e: e["x-edge-result-type"] == "Error") == 1


# ---- (d) request collapsing ----

def test_collapse_200_viewers_one_fetch(tmp_path, stop_all):
    blob = os.urandom(200 * 1024)

    def slow(req):
        time.sleep(1.0)
        return 200, {"Cache-Control": "max-age=300"}, blob

    origin = Origin(slow)
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                sign=False, workers=2)
    stop_all(edge)
    go = threading.Barrier(200)

    def viewer(i):
        go.wait(timeout=30)
        return edge.request("GET", "/cold.bin", timeout=60)

    with concurrent.futures.ThreadPoolExecutor(200) as ex:
        results = list(ex.map(viewer, range(200)))
    assert all(st == 200 and body == blob for st, _, body in results), \
        [(st, len(b)) for st, _, b in results if st != 200 or b != blob][:5]
    assert origin.count("/cold.bin") == 1, origin.count()
    kinds = {h["x-cache"] for _, h, _ in results}
    assert kinds <= {"Miss from meridian", "Hit from meridian"}
    assert sum(h["x-cache"] == "Miss from meridian" for _, h, _ in results) == 1
    assert edge.logged(lambda e: e["x-edge-detailed-result-type"] == "Collapsed",
                       at_least=100) >= 100


# ---- (e) behaviors: precedence, disallowed methods ----

def test_behavior_precedence_and_403(tmp_path, stop_all):
    a, b, c = Origin(name="a"), Origin(name="b"), Origin(name="c")
    for o in (a, b, c):
        stop_all(o)
    edge = Edge(tmp_path, [{"id": "a", "address": a.address}, {"id": "b", "address": b.address},
                           {"id": "c", "address": c.address}],
                [behavior("a", path_pattern="/img/*.png"),
                 behavior("b", path_pattern="/img/*"),
                 behavior("c")], sign=False)
    stop_all(edge)
    assert edge.request("GET", "/img/x/y.png")[2] == b"a /img/x/y.png"
    assert edge.request("GET", "/img/y.jpg")[2] == b"b /img/y.jpg"
    assert edge.request("GET", "/other")[2] == b"c /other"
    # a percent-encoded letter does not slip past a pattern
    assert edge.request("GET", "/%69mg/z.png")[2] == b"a /img/z.png"
    st, h, body = edge.request("POST", "/img/z.png", body=b"x")
    assert st == 403 and b"<Code>MethodNotAllowed</Code>" in body, (st, body)
    assert h["x-cache"] == "Error from meridian"
    st, _, _ = edge.request("DELETE", "/other")
    assert st == 403
    assert a.count() + b.count() + c.count() == 4  # the refused ones never reached an origin


# ---- (f) a 404 is cached only briefly ----

def test_404_cached_briefly(tmp_path, stop_all):
    origin = Origin(lambda req: (404, {"Content-Type": "application/xml"}, b"<Error/>"))
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                sign=False, cache={"not_found_ttl": "1s"})
    stop_all(edge)
    # CloudFront labels every 4xx/5xx "Error", cached or not; the log tells them apart.
    st, h, _ = edge.request("GET", "/missing")
    assert (st, h["x-cache"]) == (404, "Error from meridian")
    st, h, _ = edge.request("GET", "/missing")
    assert (st, h["x-cache"]) == (404, "Error from meridian")
    assert "age" in h  # answered from the cache
    assert origin.count() == 1
    assert edge.logged(lambda e: e["x-edge-result-type"] == "Error"
                       and e["x-edge-detailed-result-type"] == "Hit") == 1
    time.sleep(1.3)
    st, h, _ = edge.request("GET", "/missing")
    assert (st, h["x-cache"]) == (404, "Error from meridian")
    assert origin.count() == 2


def test_no_store_not_cached(tmp_path, stop_all):
    origin = Origin(lambda req: (200, {"Cache-Control": "no-store"}, b"fresh each time"))
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                sign=False)
    stop_all(edge)
    for _ in range(3):
        st, h, body = edge.request("GET", "/p")
        assert (st, h["x-cache"], body) == (200, "Miss from meridian", b"fresh each time")
    assert origin.count() == 3


# ---- (h) a large object streams through with bounded memory ----

def test_large_object_streams_with_low_rss(tmp_path, stop_all):
    # The 1 GiB; ASan runs (slower, and their RSS is not checked) stream 256 MiB.
    size = (256 if os.environ.get("MERIDIAN_SANITIZED") == "1" else 1024) * 1024 * 1024
    chunk = bytes(range(256)) * 4096  # 1 MiB

    def big(req):
        return 200, {"Content-Length": str(size), "Cache-Control": "max-age=60"}, \
            (chunk for _ in range(size // len(chunk)))

    origin = Origin(big)
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                sign=False, cache={"memory_bytes": "64MiB"}, workers=1)
    stop_all(edge)
    c = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=60)
    c.request("GET", "/big.bin", headers={"Host": "d111.edge.example.test"})
    r = c.getresponse()
    assert r.status == 200 and r.getheader("x-cache") == "Miss from meridian"
    h = hashlib.sha256()
    n = 0
    while True:
        b = r.read(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    c.close()
    assert n == size
    want = hashlib.sha256()
    for _ in range(size // len(chunk)):
        want.update(chunk)
    assert h.digest() == want.digest()
    peak = edge.peak_rss_kib()
    # Budget 64 MiB (nothing of this object is kept: it is over the object cap).
    print(f"edge peak RSS {peak} KiB")
    assert rss_bound_ok(peak, 64 * 1024), f"peak RSS {peak} KiB"


# ---- (i) a bad config exits 2 with file:line:col ----

def test_bad_config_exits_2(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("distribution:\n  domain: d.example.test\norigins:\n  - id: o\n"
                   "    domain_name: o.example.test\nbehaviors:\n  - path_pattern: \"*\"\n"
                   "    target: nowhere\n")
    r = subprocess.run([meridian_bin(), "edge", "--listen", "127.0.0.1:0", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r
    assert f"{cfg}:8:" in r.stderr, r.stderr
    r = subprocess.run([meridian_bin(), "edge", "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    r = subprocess.run([meridian_bin(), "edge", "--help"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and "--location" in r.stdout


def test_leader_viewer_leaves_waiters_still_served(tmp_path, stop_all):
    """The first viewer of a cold object hangs up mid-fetch: the fetch goes on
    filling the cache, and the viewers waiting on it get the object, still
    with one origin fetch."""
    blob = os.urandom(100 * 1024)

    def slow(req):
        time.sleep(1.0)
        return 200, {"Cache-Control": "max-age=300"}, blob

    origin = Origin(slow)
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                sign=False, workers=2)
    stop_all(edge)
    import socket
    s = socket.create_connection(("127.0.0.1", edge.port))
    s.sendall(b"GET /cold HTTP/1.1\r\nHost: d111.edge.example.test\r\n\r\n")
    time.sleep(0.2)
    with concurrent.futures.ThreadPoolExecutor(20) as ex:
        futs = [ex.submit(edge.request, "GET", "/cold") for _ in range(20)]
        time.sleep(0.2)
        s.close()  # the leader's viewer is gone
        results = [f.result() for f in futs]
    assert all(st == 200 and body == blob for st, _, body in results)
    assert origin.count("/cold") == 1
    st, h, body = edge.request("GET", "/cold")
    assert (st, h["x-cache"], body) == (200, "Hit from meridian", blob)


def test_viewer_leaves_mid_stream(tmp_path, stop_all):
    """A viewer that hangs up in the middle of a large uncached object: the
    origin exchange is cancelled and the edge goes on serving."""
    size = 64 * 1024 * 1024
    chunk = b"z" * (1 << 20)

    def big(req):
        return 200, {"Content-Length": str(size)}, (chunk for _ in range(size // len(chunk)))

    origin = Origin(big)
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                sign=False, cache={"memory_bytes": "16MiB"}, workers=1)
    stop_all(edge)
    c = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=30)
    c.request("GET", "/big", headers={"Host": "d111.edge.example.test"})
    r = c.getresponse()
    assert r.status == 200 and len(r.read(2 << 20)) == 2 << 20
    c.close()
    assert edge.logged(lambda e: e["cs-uri-stem"] == "/big" and "error" in e, timeout=10) == 1
    st, h, _ = edge.request("HEAD", "/big")
    assert st == 200 and int(h["content-length"]) == size and h["x-cache"] == "Miss from meridian"


def test_origin_request_headers_and_query(tmp_path, stop_all):
    origin = Origin()
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address, "origin_path": "/pre",
                            "domain_name": "origin.example.test",
                            "custom_headers": {"X-Origin-Token": "t0k"}}],
                [behavior("o", cache_key={"query_strings": "[v]", "headers": "[x-device]"})],
                sign=False)
    stop_all(edge)
    st, h, body = edge.request("GET", "/p?z=1&v=2", headers=[
        ("Via", "1.0 viewer-proxy"), ("X-Forwarded-For", "9.9.9.9"),
        ("Authorization", "AWS4-HMAC-SHA256 viewer"), ("Range", "bytes=0-1"),
        ("X-Device", "phone"), ("Cookie", "a=b")])
    assert (st, body) == (206, b"or"), (st, body)  # the viewer's range of the whole object
    req = origin.last()
    assert req["path"] == "/pre/p?v=2"  # only what the key holds
    hs = req["headers"]
    assert hs["host"] == "origin.example.test"
    assert hs["via"] == "1.0 viewer-proxy, 1.1 TST1 (meridian)"
    assert hs["x-forwarded-for"] == "9.9.9.9, 127.0.0.1"
    assert hs["x-origin-token"] == "t0k" and hs["x-device"] == "phone"
    assert hs["x-amz-cf-id"] == h["x-amz-cf-id"]
    for gone in ("authorization", "range", "cookie"):
        assert gone not in hs, hs
    # Another z, same v: the same key -> a hit; another device: a miss.
    assert edge.request("GET", "/p?z=9&v=2", headers=[("X-Device", "phone")])[1]["x-cache"] \
        == "Hit from meridian"
    assert edge.request("GET", "/p?v=2", headers=[("X-Device", "tv")])[1]["x-cache"] \
        == "Miss from meridian"
    assert origin.count() == 2


# ---- (j) revalidation, viewer conditionals and Range, stale answers ----

LM = "Wed, 21 Oct 2026 07:28:00 GMT"


def test_revalidation_304_is_refreshhit(tmp_path, stop_all):
    """An expired entry is revalidated with its validators, signed; a 304
    refreshes it (RefreshHit, headers merged), a 200 replaces it (Miss)."""
    state = {"mode": "v1"}

    def handler(req):
        p = req["path"]
        if p == "/e.txt":
            if req["headers"].get("if-none-match") == '"v1"':
                return 304, {"ETag": '"v1"', "Cache-Control": "max-age=60", "X-Rev": "2"}, b""
            return 200, {"ETag": '"v1"', "Cache-Control": "max-age=1", "X-Rev": "1"}, b"etag body"
        if req["headers"].get("if-modified-since") == LM and state["mode"] == "v1":
            return 304, {"Cache-Control": "max-age=1"}, b""
        return 200, {"Last-Modified": LM, "Cache-Control": "max-age=1"}, \
            f"lm {state['mode']}".encode()

    origin = Origin(handler)
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}],
                [behavior("o", signing="sigv4a")])
    stop_all(edge)
    st, h, body = edge.request("GET", "/e.txt")
    assert (st, h["x-cache"], body, h["x-rev"]) == (200, "Miss from meridian", b"etag body", "1")
    assert "if-none-match" not in origin.last()["headers"]
    time.sleep(1.3)
    st, h, body = edge.request("GET", "/e.txt")
    assert (st, body) == (200, b"etag body"), (st, body, edge.read_log())
    assert h["x-cache"] == "RefreshHit from meridian"
    assert h["x-rev"] == "2"  # the 304's headers replace the stored ones
    assert h["etag"] == '"v1"'
    req = origin.last()
    assert req["headers"]["if-none-match"] == '"v1"'
    auth = req["headers"]["authorization"]
    assert parse_auth(auth) == "AWS4-ECDSA-P256-SHA256" and "if-none-match" in auth
    assert origin.count("/e.txt") == 2
    # The 304 made it fresh for 60 s: a plain hit now.
    st, h, body = edge.request("GET", "/e.txt")
    assert (h["x-cache"], body, h["x-rev"]) == ("Hit from meridian", b"etag body", "2")
    assert origin.count("/e.txt") == 2
    assert edge.logged(lambda e: e["x-edge-result-type"] == "RefreshHit") == 1

    # Last-Modified only: If-Modified-Since; a 304, then a 200 replaces it.
    assert edge.request("GET", "/lm.txt")[2] == b"lm v1"
    time.sleep(1.3)
    st, h, body = edge.request("GET", "/lm.txt")
    assert (h["x-cache"], body) == ("RefreshHit from meridian", b"lm v1")
    assert origin.last()["headers"]["if-modified-since"] == LM
    state["mode"] = "v2"
    time.sleep(1.3)
    st, h, body = edge.request("GET", "/lm.txt")
    assert (st, h["x-cache"], body) == (200, "Miss from meridian", b"lm v2")
    st, h, body = edge.request("GET", "/lm.txt")
    assert (h["x-cache"], body) == ("Hit from meridian", b"lm v2")
    assert origin.count("/lm.txt") == 3


def test_revalidations_collapse(tmp_path, stop_all):
    def handler(req):
        if req["headers"].get("if-none-match"):
            time.sleep(0.8)
            return 304, {"ETag": '"x"', "Cache-Control": "max-age=60"}, b""
        return 200, {"ETag": '"x"', "Cache-Control": "max-age=1"}, b"x" * 5000

    origin = Origin(handler)
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                sign=False)
    stop_all(edge)
    edge.request("GET", "/c")
    time.sleep(1.3)
    with concurrent.futures.ThreadPoolExecutor(20) as ex:
        results = list(ex.map(lambda _: edge.request("GET", "/c"), range(20)))
    assert all(st == 200 and body == b"x" * 5000 for st, _, body in results)
    assert origin.count("/c") == 2  # one fill, one revalidation for all 20
    assert sum(h["x-cache"] == "RefreshHit from meridian" for _, h, _ in results) >= 1


def test_viewer_conditionals_and_range(tmp_path, stop_all):
    blob = bytes(range(256)) * 4  # 1024 bytes

    origin = Origin(lambda req: (200, {"ETag": '"b1"', "Last-Modified": LM,
                                       "Cache-Control": "max-age=60"}, blob))
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                sign=False)
    stop_all(edge)
    assert edge.request("GET", "/r")[2] == blob
    # conditionals answered from the cache
    st, h, body = edge.request("GET", "/r", headers=[("If-None-Match", '"b1"')])
    assert (st, body, h["x-cache"], h["etag"]) == (304, b"", "Hit from meridian", '"b1"')
    st, _, body = edge.request("GET", "/r", headers=[("If-None-Match", '"other"')])
    assert (st, body) == (200, blob)
    st, _, _ = edge.request("GET", "/r", headers=[("If-Modified-Since", LM)])
    assert st == 304
    st, _, body = edge.request("GET", "/r", headers=[("If-Modified-Since",
                                                      "Tue, 20 Oct 2026 07:28:00 GMT")])
    assert (st, body) == (200, blob)
    st, h, _ = edge.request("GET", "/r", headers=[("If-Match", '"nope"')])
    assert (st, h["x-cache"]) == (412, "Error from meridian")
    # a single range
    st, h, body = edge.request("GET", "/r", headers=[("Range", "bytes=10-19")])
    assert (st, body, h["content-range"]) == (206, blob[10:20], "bytes 10-19/1024")
    assert h["x-cache"] == "Hit from meridian"
    st, h, body = edge.request("GET", "/r", headers=[("Range", "bytes=-4")])
    assert (st, body) == (206, blob[-4:])
    st, h, body = edge.request("GET", "/r", headers=[("Range", "bytes=5000-")])
    assert (st, h["content-range"], h["x-cache"]) == (416, "bytes */1024", "Error from meridian")
    # several ranges: the whole object
    st, h, body = edge.request("GET", "/r", headers=[("Range", "bytes=0-1,5-6")])
    assert (st, body) == (200, blob) and "content-range" not in h
    # If-Range naming another version: the whole object
    st, _, body = edge.request("GET", "/r", headers=[("Range", "bytes=0-1"),
                                                      ("If-Range", '"old"')])
    assert (st, body) == (200, blob)
    assert origin.count() == 1

    # A range on a miss: the whole object is fetched (and cached), the range answered.
    st, h, body = edge.request("GET", "/m", headers=[("Range", "bytes=100-199")])
    assert (st, body, h["x-cache"]) == (206, blob[100:200], "Miss from meridian")
    assert h["content-range"] == "bytes 100-199/1024"
    assert "range" not in origin.last()["headers"]
    st, h, body = edge.request("GET", "/m")
    assert (st, body, h["x-cache"]) == (200, blob, "Hit from meridian")
    # a conditional on a miss
    st, h, body = edge.request("GET", "/n", headers=[("If-None-Match", '"b1"')])
    assert (st, body, h["x-cache"]) == (304, b"", "Miss from meridian")
    assert edge.request("GET", "/n")[1]["x-cache"] == "Hit from meridian"
    assert origin.count() == 3


def test_stale_while_revalidate(tmp_path, stop_all):
    n = {"v": 0}

    def handler(req):
        n["v"] += 1
        if n["v"] > 1:
            time.sleep(0.8)  # the refresh is slow: the viewer must not wait for it
        # max-age 2: the refresh's 0.8 s counts against it (initial age)
        return 200, {"Cache-Control": "max-age=2, stale-while-revalidate=30"}, \
            f"v{n['v']}".encode()

    origin = Origin(handler)
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                sign=False)
    stop_all(edge)
    assert edge.request("GET", "/s")[2] == b"v1"
    time.sleep(2.3)
    t0 = time.monotonic()
    st, h, body = edge.request("GET", "/s")
    assert time.monotonic() - t0 < 0.5
    assert (st, body, h["x-cache"]) == (200, b"v1", "Hit from meridian")
    assert int(h["age"]) >= 1 and "warning" not in h
    for _ in range(5):
        assert edge.request("GET", "/s")[2] == b"v1"
    end = time.monotonic() + 5
    while edge.request("GET", "/s")[2] != b"v2":
        assert time.monotonic() < end, "the background refresh did not land"
        time.sleep(0.1)
    assert origin.count() == 2  # one background fetch for all of them
    assert edge.logged(lambda e: e["x-edge-detailed-result-type"] == "StaleWhileRevalidate",
                       at_least=6) >= 6


def test_stale_if_error(tmp_path, stop_all):
    mode = {"m": "ok"}

    def handler(req):
        if mode["m"] == "500":
            return 500, {}, b"boom"
        if mode["m"] == "slow":
            time.sleep(2)
        cc = "max-age=1, stale-if-error=60" if req["path"] != "/nosie" else \
            "max-age=1, stale-if-error=0"
        return 200, {"Cache-Control": cc}, b"good " + req["path"].encode()

    origin = Origin(handler)
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address, "read_timeout": "500ms",
                            "connection_attempts": 1}],
                [behavior("o")], sign=False)
    stop_all(edge)
    for p in ("/a", "/nosie"):
        assert edge.request("GET", p)[2] == b"good " + p.encode()
    time.sleep(1.3)
    mode["m"] = "500"
    st, h, body = edge.request("GET", "/a")
    assert (st, body, h["x-cache"]) == (200, b"good /a", "Hit from meridian")
    st, h, _ = edge.request("GET", "/nosie")  # stale-if-error=0: the error goes through
    assert (st, h["x-cache"]) == (500, "Error from meridian")
    # a timeout: stale after the read timeout, and then the origin is known down
    mode["m"] = "slow"
    t0 = time.monotonic()
    st, h, body = edge.request("GET", "/a")
    assert (st, body) == (200, b"good /a") and time.monotonic() - t0 >= 0.4
    before = origin.count()
    t0 = time.monotonic()
    st, h, body = edge.request("GET", "/a")
    assert (st, body) == (200, b"good /a")
    assert time.monotonic() - t0 < 0.3 and origin.count() == before  # no wait, no fetch
    assert edge.logged(lambda e: e["x-edge-detailed-result-type"] == "StaleIfError",
                       at_least=3) >= 3


def test_stale_if_error_refused(tmp_path, stop_all):
    origin = Origin(lambda req: (200, {"Cache-Control": "max-age=1", "Connection": "close"},
                                 b"kept"))
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                sign=False)
    stop_all(edge)
    assert edge.request("GET", "/k")[2] == b"kept"
    origin.stop()  # connections now refused
    time.sleep(1.3)
    # No stale-if-error directive: CloudFront still serves the stored copy (sie = max TTL).
    st, h, body = edge.request("GET", "/k")
    assert (st, body, h["x-cache"]) == (200, b"kept", "Hit from meridian")
    # The refusal marked the origin down: the next one is answered stale without trying.
    st, h, body = edge.request("GET", "/k")
    assert (st, body) == (200, b"kept")
    assert edge.logged(lambda e: e["cs-uri-stem"] == "/k" and e["x-origin-attempts"] == "0"
                       and e["x-edge-detailed-result-type"] == "StaleIfError") == 1
    st, h, _ = edge.request("GET", "/never-cached")
    assert (st, h["x-cache"]) == (502, "Error from meridian")


def test_stale_at_once_when_every_member_is_down(tmp_path, stop_all):
    primary = Origin(lambda req: (200, {"Cache-Control": "max-age=1", "Connection": "close"},
                                  b"from primary"), name="primary")
    edge = Edge(tmp_path, [{"id": "primary", "address": primary.address},
                           {"id": "backup", "address": refused_address()}],
                [behavior("both")],
                groups=[{"id": "both", "members": ["primary", "backup"]}], sign=False)
    stop_all(edge)
    assert edge.request("GET", "/g")[2] == b"from primary"
    primary.stop()
    time.sleep(1.3)
    # both members refuse: each is marked down, and the stale copy answers
    st, h, body = edge.request("GET", "/g")
    assert (st, body, h["x-cache"]) == (200, b"from primary", "Hit from meridian")
    assert edge.logged(lambda e: e["x-origin-attempts"] == "2"
                       and e["x-edge-detailed-result-type"] == "StaleIfError") == 1
    # now the whole group is known down: stale at once, no attempt at all
    st, h, body = edge.request("GET", "/g")
    assert (st, body) == (200, b"from primary")
    assert edge.logged(lambda e: e["x-origin-attempts"] == "0"
                       and e["x-edge-detailed-result-type"] == "StaleIfError") == 1


# ---- (k) HEAD misses, the disk tier ----

def test_cold_head_does_not_poison(tmp_path, stop_all):
    origin = Origin()
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                sign=False)
    stop_all(edge)
    st, h, body = edge.request("HEAD", "/h")
    assert (st, body, h["x-cache"]) == (200, b"", "Miss from meridian")
    assert int(h["content-length"]) == len(b"origin /h")
    assert origin.last()["method"] == "HEAD"
    st, h, body = edge.request("GET", "/h")
    assert (st, body, h["x-cache"]) == (200, b"origin /h", "Miss from meridian")
    st, h, body = edge.request("HEAD", "/h")
    assert (st, body, h["x-cache"]) == (200, b"", "Hit from meridian")
    assert int(h["content-length"]) == len(b"origin /h")
    st, h, body = edge.request("GET", "/h")
    assert (body, h["x-cache"]) == (b"origin /h", "Hit from meridian")
    assert origin.count() == 2


def test_disk_tier_survives_restart(tmp_path, stop_all):
    small = os.urandom(3000)
    big = os.urandom(3 * 1024 * 1024)  # over the memory tier's object cap, within the disk's

    def handler(req):
        body = big if req["path"] == "/big" else small
        return 200, {"Cache-Control": "max-age=300", "ETag": '"d"'}, body

    origin = Origin(handler)
    stop_all(origin)
    cache = {"memory_bytes": "1MiB", "disk_path": "dcache", "disk_bytes": "64MiB"}
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                sign=False, cache=cache)
    assert edge.request("GET", "/small")[2] == small
    st, h, body = edge.request("GET", "/big")
    assert (st, body, h["x-cache"]) == (200, big, "Miss from meridian")
    # the disk writes run on the pool: wait until both files are there
    end = time.monotonic() + 10
    while len(list((tmp_path / "dcache" / "objects").glob("*/*"))) < 2:
        assert time.monotonic() < end, "the disk tier was not filled"
        time.sleep(0.05)
    edge.stop()
    assert origin.count() == 2

    again = Edge(tmp_path, [{"id": "o", "address": origin.address}], [behavior("o")],
                 sign=False, cache=cache)
    stop_all(again)
    st, h, body = again.request("GET", "/big")
    assert (st, body, h["x-cache"]) == (200, big, "Hit from meridian")
    st, h, body = again.request("GET", "/big", headers=[("Range", "bytes=1000-1999")])
    assert (st, body) == (206, big[1000:2000])
    st, h, body = again.request("GET", "/small")
    assert (st, body, h["x-cache"]) == (200, small, "Hit from meridian")
    st, h, _ = again.request("GET", "/small", headers=[("If-None-Match", '"d"')])
    assert st == 304
    assert origin.count() == 2  # no origin fetch after the restart


def test_disk_fill_needs_a_complete_response(tmp_path, stop_all):
    """An object streamed into the disk tier is published only if the
    origin's answer completed: a cut answer leaves nothing on disk."""
    part = os.urandom(1024 * 1024)

    def handler(req):
        # announces 3 MiB, sends 1 MiB, then stalls past the read timeout
        return 200, {"Content-Length": str(3 * len(part)), "Cache-Control": "max-age=300"}, \
            iter([part])

    origin = Origin(handler)
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address, "read_timeout": "500ms"}],
                [behavior("o")], sign=False,
                cache={"memory_bytes": "1MiB", "disk_path": "dcache", "disk_bytes": "64MiB"})
    stop_all(edge)
    c = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=10)
    c.request("GET", "/cut", headers={"Host": "d111.edge.example.test"})
    r = c.getresponse()
    assert r.status == 200
    with pytest.raises(http.client.IncompleteRead):
        r.read()
    c.close()
    time.sleep(0.5)
    assert list((tmp_path / "dcache" / "objects").glob("*/*")) == []
    assert list((tmp_path / "dcache" / "tmp").iterdir()) == []  # the temp file is gone too
