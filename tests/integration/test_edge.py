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

from edgeenv import EDGE_CREDS, Blackhole, Edge, Origin, parse_auth, refused_address
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


def edge_behavior(target, **kw):
    b = {"path_pattern": "*", "target": target}
    b.update(kw)
    return b


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
                [edge_behavior("mrap", signing="sigv4a")], creds=ALICE[:2])
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
               [edge_behavior("mrap", signing="sigv4a")], creds=(ALICE[0], "wrong" * 8))
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
                [edge_behavior("store", path_pattern="upload/*", allowed_methods=["GET", "HEAD", "OPTIONS", "PUT",
                                                             "POST", "PATCH", "DELETE"],
                               signing="sigv4", signing_region="eu-west-1"),
                 edge_behavior("store", signing="sigv4", signing_region="eu-west-1")],
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
                [edge_behavior("both", signing="sigv4a",
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
                [edge_behavior("gone")], sign=False)
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
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [edge_behavior("o")],
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
                [edge_behavior("a", path_pattern="/img/*.png"),
                 edge_behavior("b", path_pattern="/img/*"),
                 edge_behavior("c")], sign=False)
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
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [edge_behavior("o")],
                sign=False, cache={"not_found_ttl": "1s"})
    stop_all(edge)
    st, h, _ = edge.request("GET", "/missing")
    assert (st, h["x-cache"]) == (404, "Miss from meridian")
    st, h, _ = edge.request("GET", "/missing")
    assert (st, h["x-cache"]) == (404, "Hit from meridian")
    assert origin.count() == 1
    time.sleep(1.3)
    st, h, _ = edge.request("GET", "/missing")
    assert (st, h["x-cache"]) == (404, "Miss from meridian")
    assert origin.count() == 2


def test_no_store_not_cached(tmp_path, stop_all):
    origin = Origin(lambda req: (200, {"Cache-Control": "no-store"}, b"fresh each time"))
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [edge_behavior("o")],
                sign=False)
    stop_all(edge)
    for _ in range(3):
        st, h, body = edge.request("GET", "/p")
        assert (st, h["x-cache"], body) == (200, "Miss from meridian", b"fresh each time")
    assert origin.count() == 3


# ---- (h) a large object streams through with bounded memory ----

def test_large_object_streams_with_low_rss(tmp_path, stop_all):
    size = 256 * 1024 * 1024
    chunk = bytes(range(256)) * 4096  # 1 MiB

    def big(req):
        return 200, {"Content-Length": str(size), "Cache-Control": "max-age=60"}, \
            (chunk for _ in range(size // len(chunk)))

    origin = Origin(big)
    stop_all(origin)
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [edge_behavior("o")],
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
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [edge_behavior("o")],
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
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], [edge_behavior("o")],
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
                [edge_behavior("o", cache_key={"query_strings": "[v]", "headers": "[x-device]"})],
                sign=False)
    stop_all(edge)
    st, h, body = edge.request("GET", "/p?z=1&v=2", headers=[
        ("Via", "1.0 viewer-proxy"), ("X-Forwarded-For", "9.9.9.9"),
        ("Authorization", "AWS4-HMAC-SHA256 viewer"), ("Range", "bytes=0-1"),
        ("X-Device", "phone"), ("Cookie", "a=b")])
    assert st == 200, (st, body)
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
