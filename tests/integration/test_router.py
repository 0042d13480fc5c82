"""meridian router: the multi-region access point, as issue #5 asks to show it.

Two real stores (eu-west-1, us-east-1), each with its own bucket behind the
same access point alias, sit behind `meridian wan` relays at 5 ms (near) and
60 ms (far) each way; the router forwards to the relays. Objects are put
straight into each bucket (SigV4, by bucket name: there is no replication),
with a different body per region, so a response proves where it came from
twice: its X-Meridian-Region header and its bytes.

Clients are the ones users run: boto3 with awscrt signing SigV4A for region
set '*' (SIGV4.md section 7), presigned SigV4A URLs over keep-alive
connections for the load loops, curl with headers from `meridian sign
--sigv4a`, and botocore's SigV4Auth for the control API. Every load loop is
bounded in requests and in time; only processes this file started are
stopped, by PID.
"""
import hashlib
import http.client
import re
import signal
import socket
import subprocess
import threading
import time

import pytest
from botocore.exceptions import ClientError

from routerenv import (ADMIN, REGION_HEADER, STRANGER, VERSION_HEADER, Load, Router, Wan,
                       first_run, metric, region_of, wait_until, xml_error_code)
from storeenv import ALICE, Store, free_port, meridian_bin

NAME = "assets"
ALIAS = "mfzwi23gnjvgw.mrap"
DOMAIN = "accesspoint.example.test"
NEAR, FAR = "eu-west-1", "us-east-1"
BUCKET = {NEAR: "assets-eu", FAR: "assets-us"}
NEAR_MS, FAR_MS = 5, 60
BODY = {NEAR: b"served by eu-west-1", FAR: b"served by us-east-1"}


class Mrap:
    """The two regions: a store with its bucket and the alias, and a wan relay in front."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.stores, self.wans, self.routers = {}, {}, []
        for region, ms in ((NEAR, NEAR_MS), (FAR, FAR_MS)):
            d = tmp / region
            d.mkdir()
            s = Store(d, "--access-point", f"{ALIAS}={BUCKET[region]}", "--mrap-domain", DOMAIN,
                      region=region)
            self.stores[region] = s
            s.boto3().create_bucket(Bucket=BUCKET[region])
            self.wans[region] = Wan(d, s.port, ms)

    def router(self, dials=None, **kw):
        # The far region comes first, so that "the first configured region" can
        # never pass for "the nearest".
        regions = [{"name": r, "endpoint": self.wans[r].endpoint, "bucket": BUCKET[r],
                    "dial": (dials or {}).get(r, "active")} for r in (FAR, NEAR)]
        rt = Router(self.tmp / f"router{len(self.routers)}", NAME, ALIAS, regions,
                    domain=DOMAIN, **kw)
        self.routers.append(rt)
        return rt

    def put_direct(self, region, key, body):
        self.stores[region].boto3().put_object(Bucket=BUCKET[region], Key=key, Body=body)

    def head_direct(self, region, key):
        try:
            return self.stores[region].boto3().head_object(Bucket=BUCKET[region], Key=key)
        except ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response
            return None

    def swap(self):
        """Make the far region near and the near one far, at run time."""
        self.wans[NEAR].set_delay(FAR_MS)
        self.wans[FAR].set_delay(NEAR_MS)

    def close(self):
        errors = []
        for rt in self.routers:
            try:
                rc = rt.stop()
                if rc != 0:
                    errors.append(f"router exited {rc} on SIGTERM:\n{rt.read_log()}")
            except AssertionError as e:
                errors.append(str(e))
        for w in self.wans.values():
            try:
                w.stop()
            except AssertionError as e:
                errors.append(str(e))
        for s in self.stores.values():
            try:
                s.stop()
            except AssertionError as e:
                errors.append(str(e))
        assert not errors, "\n".join(errors)


@pytest.fixture
def mrap(tmp_path, meridian_bin):
    m = Mrap(tmp_path)
    yield m
    m.close()


def both(m, key):
    for region in (NEAR, FAR):
        m.put_direct(region, key, BODY[region])


def warm(m, rt):
    """Both regions UP with a latency estimate, the far one measurably farther."""
    routes = rt.wait_measured([NEAR, FAR])
    near, far = float(routes[NEAR]["LatencyMs"]), float(routes[FAR]["LatencyMs"])
    assert far > near and far >= 100, routes  # a round trip through 60 ms each way
    return routes


def check_bodies(records):
    """Every answered request's body is the one of the region its header names."""
    for r in records:
        if r[2] == 200:
            assert r[5] == BODY[r[3]], r


def served(rt, key, method="GET"):
    status, h, body = rt.request(method, rt.presigned(key, method={
        "GET": "get_object", "HEAD": "head_object"}[method]))
    return status, h.get(REGION_HEADER), body


# ---- 1. latency: the near region serves ----

def test_near_region_serves_at_least_99_percent(mrap):
    rt = mrap.router()
    both(mrap, "obj")
    warm(mrap, rt)
    load = Load(rt.port, rt.presigned("obj"), threads=3, max_requests=300, seconds=40)
    records = load.wait(60)
    assert load.failures() == []
    assert len(records) == 300, len(records)
    check_bodies(records)
    near = sum(1 for r in records if r[3] == NEAR)
    assert near >= 297, (near, [r[3] for r in records if r[3] != NEAR])
    assert rt.logged(NEAR, "LATENCY", at_least=297) >= 297, rt.read_log()


# ---- 2. swap the delays at run time: traffic follows within 2 s ----

def test_traffic_follows_a_delay_swap_within_2s(mrap):
    rt = mrap.router()
    both(mrap, "obj")
    warm(mrap, rt)
    load = Load(rt.port, rt.presigned("obj"), threads=3, seconds=15, max_requests=20000)
    try:
        time.sleep(1.0)
        before = load.snapshot()
        mrap.swap()
        t_swap = time.monotonic()
        moved = wait_until(lambda: first_run(load.snapshot(), FAR, t_swap), timeout=5)
    finally:
        records = load.stop()
    assert load.failures() == []
    check_bodies(records)
    assert len(before) >= 20 and sum(r[3] == NEAR for r in before) >= 0.95 * len(before)
    assert moved, [r[3] for r in records if r[0] >= t_swap][:60]
    assert moved - t_swap < 2.0, moved - t_swap
    after = [r for r in records if r[0] >= moved]
    assert after and sum(r[3] == FAR for r in after) >= 0.95 * len(after), \
        [r[3] for r in after][:60]


# ---- 3. kill the near store under load: no failed request, back once healthy ----

def test_near_store_killed_under_load_fails_over_and_returns(mrap):
    rt = mrap.router()
    both(mrap, "obj")
    warm(mrap, rt)
    near = mrap.stores[NEAR]
    load = Load(rt.port, rt.presigned("obj"), threads=3, seconds=25, max_requests=40000)
    t0 = time.monotonic()
    try:
        time.sleep(2.0)
        near.kill9()
        t_kill = time.monotonic()
        down = wait_until(lambda: rt.routes()[1][NEAR]["Health"] == "DOWN", timeout=5, step=0.1)
        ms_down = rt.metrics()
        time.sleep(max(0.0, t_kill + 3.0 - time.monotonic()))
        t_restart = time.monotonic()
        near.start()  # same port and data directory; returns once its /-/health answers
        t_up = time.monotonic()
        back = wait_until(lambda: first_run(load.snapshot(), NEAR, t_up), timeout=10)
        time.sleep(max(0.0, t0 + 10.0 - time.monotonic()))  # a 10 s load at least
    finally:
        records = load.stop()
    assert load.failures() == [], load.failures()[:5]
    check_bodies(records)
    pre = [r for r in records if r[1] < t_kill]
    assert len(pre) >= 20 and sum(r[3] == NEAR for r in pre) >= 0.95 * len(pre)
    first_far = next((r[1] for r in records if r[1] >= t_kill and r[3] == FAR), None)
    assert first_far is not None and first_far - t_kill < 1.0, (first_far, t_kill)
    outage = [r for r in records if t_kill + 1.0 <= r[0] and r[1] < t_restart]
    assert len(outage) >= 10 and all(r[3] == FAR for r in outage), \
        [r[3] for r in outage if r[3] != FAR]
    assert down, rt.routes()
    assert metric(ms_down, "meridian_router_region_up", region=NEAR) == 0
    assert metric(ms_down, "meridian_router_region_up", region=FAR) == 1
    assert metric(ms_down, "meridian_router_region_selected", region=NEAR) == 0
    assert metric(ms_down, "meridian_router_region_selected", region=FAR) == 1
    ms = rt.metrics()
    assert metric(ms, "meridian_router_failovers_total", region=NEAR) >= 1
    assert metric(ms, "meridian_router_upstream_errors_total", region=NEAR) >= 1
    assert metric(ms, "meridian_router_region_up", region=NEAR) == 1
    assert back, ("traffic did not return within 10 s of the restart",
                  [r[3] for r in records if r[0] >= t_up][:40])
    assert rt.logged(None, "FAILOVER") >= 1, rt.read_log()


# ---- 4. the control API: passive dial, versions, refusals; metrics ----

def test_control_api_dial_versions_refusals_and_metrics(mrap):
    rt = mrap.router()
    both(mrap, "obj")
    warm(mrap, rt)
    m0 = rt.metrics()
    assert served(rt, "obj")[:2] == (200, NEAR)
    # The router's own answer to "where would a new request go now".
    def selected(region):
        return metric(rt.metrics(), "meridian_router_region_selected", region=region)
    assert wait_until(lambda: (selected(NEAR), selected(FAR)) == (1, 0), timeout=2)

    v0, routes = rt.routes()
    assert {r: (routes[r]["Bucket"], routes[r]["TrafficDialPercentage"]) for r in routes} == \
        {NEAR: (BUCKET[NEAR], "100"), FAR: (BUCKET[FAR], "100")}

    status, h, body = rt.submit([("Region", NEAR, 0)], version=v0)
    assert status == 200, body
    v1 = int(h[VERSION_HEADER])
    assert v1 != v0
    assert rt.routes()[1][NEAR]["TrafficDialPercentage"] == "0"
    # Within a probe interval (500 ms) even with no request in between.
    assert wait_until(lambda: (selected(NEAR), selected(FAR)) == (0, 1), timeout=2)
    # The next request already goes to the far region, and the ones after it too.
    for _ in range(20):
        status, region, data = served(rt, "obj")
        assert (status, region, data) == (200, FAR, BODY[FAR])

    # A submit based on the old version is refused, and changes nothing.
    status, _, body = rt.submit([("Region", NEAR, 100)], version=v0)
    assert status == 409 and xml_error_code(body) == "ConflictException", (status, body)
    # No region left active: refused, nothing changes.
    status, _, body = rt.submit([("Region", FAR, 0)], version=v1)
    assert status == 400 and xml_error_code(body) == "InvalidRequest", (status, body)
    v, routes = rt.routes()
    assert v == v1 and routes[FAR]["TrafficDialPercentage"] == "100"
    assert routes[NEAR]["TrafficDialPercentage"] == "0"
    # Not an admin: unsigned, or a key the admin file does not hold.
    for kw in ({"sign": False}, {"user": STRANGER}, {"user": (ADMIN[0], STRANGER[1])}):
        status, _, body = rt.submit([("Region", NEAR, 100)], **kw)
        assert status == 403, (kw, status, body)
        if "sign" in kw:
            assert xml_error_code(body) == "AccessDenied", (kw, body)
        elif kw["user"] == STRANGER:  # S3 itself names the unknown key
            assert xml_error_code(body) in ("AccessDenied", "InvalidAccessKeyId"), body
        status, _, body = rt.admin("GET", rt.routes_path(), **kw)
        assert status == 403, (kw, status, body)
    status, _, body = rt.admin("GET", rt.routes_path("another-one"))
    assert status == 404, body
    status, _, body = rt.submit([("Region", NEAR, 100)], name="another-one")
    assert status == 404, body
    assert rt.routes()[0] == v1

    # Back to active, naming the bucket instead of the region, without a version.
    status, h, body = rt.submit([("Bucket", BUCKET[NEAR], 100)])
    assert status == 200, body
    assert int(h[VERSION_HEADER]) not in (v0, v1)
    assert served(rt, "obj")[:2] == (200, NEAR)
    assert wait_until(lambda: (selected(NEAR), selected(FAR)) == (1, 0), timeout=2)

    m1 = rt.metrics()
    for region, grew in ((NEAR, 2), (FAR, 20)):
        got = (metric(m1, "meridian_router_requests_total", region=region, **{"class": "2xx"})
               - metric(m0, "meridian_router_requests_total", region=region, **{"class": "2xx"}))
        assert got >= grew, (region, got)
        got = (metric(m1, "meridian_router_request_duration_seconds_count", region=region)
               - metric(m0, "meridian_router_request_duration_seconds_count", region=region))
        assert got >= grew, (region, got)
        assert metric(m1, "meridian_router_request_duration_seconds_sum", region=region) > 0
        assert metric(m1, "meridian_router_region_up", region=region) == 1
        assert metric(m1, "meridian_router_region_latency_seconds", region=region) > 0
    assert (metric(m1, "meridian_router_region_latency_seconds", region=FAR)
            > metric(m1, "meridian_router_region_latency_seconds", region=NEAR))
    buckets = [k for k in m1 if k[0] == "meridian_router_request_duration_seconds_bucket"
               and ("region", FAR) in k[1]]
    assert buckets and any(("le", "+Inf") in k[1] for k in buckets)


# ---- 5. replication lag: a 404 is tried on the other regions ----

def test_object_only_in_the_far_region_is_served(mrap):
    rt = mrap.router()
    strict = mrap.router(routing={"retry_404": False}, admin=False)
    both(mrap, "obj")
    mrap.put_direct(FAR, "only-far", BODY[FAR])
    warm(mrap, rt)
    assert served(rt, "obj")[:2] == (200, NEAR)  # the near region is asked first
    assert served(rt, "only-far") == (200, FAR, BODY[FAR])
    status, h, _ = rt.request("HEAD", rt.presigned("only-far", method="head_object"))
    assert (status, h.get(REGION_HEADER)) == (200, FAR)
    assert h.get("content-length") == str(len(BODY[FAR])), h  # the object's, not the body's
    r = rt.boto3().get_object(Bucket=ALIAS, Key="only-far")
    assert r["Body"].read() == BODY[FAR] and region_of(r) == FAR
    assert rt.logged(FAR, "LAG", at_least=3) >= 3, rt.read_log()

    for router in (rt, strict):
        for method in ("GET", "HEAD"):
            assert served(router, "nowhere", method)[0] == 404
    wait_until(lambda: strict.request("GET", strict.presigned("obj"))[1].get(REGION_HEADER)
               == NEAR, timeout=10)
    for method in ("GET", "HEAD"):
        status, region, _ = served(strict, "only-far", method)
        assert (status, region) == (404, NEAR), method


# ---- 6. SigV4A clients through the router; SigV4 to the alias is refused ----

def sign(*args):
    r = subprocess.run([meridian_bin(), "sign", "--access-key", ALICE[0], "--secret-key",
                        ALICE[1], *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return [line for line in r.stdout.splitlines() if line]


def curl(*args):
    r = subprocess.run(["curl", "-sS", "-D", "-", *args], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return status, headers, body


def test_sigv4a_clients_through_the_router(mrap, tmp_path):
    rt = mrap.router()
    warm(mrap, rt)
    c = rt.boto3()
    sent = []
    c.meta.events.register("before-send.s3", lambda request, **_: sent.append(
        (request.headers["Authorization"].split()[0].decode()
         if isinstance(request.headers["Authorization"], bytes)
         else request.headers["Authorization"].split()[0],
         request.headers.get("X-Amz-Region-Set"))))
    data = hashlib.sha256(b"boto3").digest() * 1000
    r = c.put_object(Bucket=ALIAS, Key="dir/boto3", Body=data)
    assert region_of(r) == NEAR
    assert mrap.head_direct(NEAR, "dir/boto3")["ContentLength"] == len(data)
    assert mrap.head_direct(FAR, "dir/boto3") is None
    r = c.get_object(Bucket=ALIAS, Key="dir/boto3")
    assert r["Body"].read() == data and region_of(r) == NEAR
    r = c.head_object(Bucket=ALIAS, Key="dir/boto3")
    assert r["ContentLength"] == len(data) and region_of(r) == NEAR
    r = c.list_objects_v2(Bucket=ALIAS, Prefix="dir/")
    assert [o["Key"] for o in r.get("Contents", [])] == ["dir/boto3"] and region_of(r) == NEAR
    r = c.delete_object(Bucket=ALIAS, Key="dir/boto3")
    assert region_of(r) == NEAR
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket=ALIAS, Key="dir/boto3")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert sent and {s[0] for s in sent} == {"AWS4-ECDSA-P256-SHA256"}
    assert {s[1] in ("*", b"*") for s in sent} == {True}

    # curl with the headers `meridian sign --sigv4a` prints: path style ...
    body = tmp_path / "curl-body"
    body.write_bytes(b"signed by meridian sign\n" * 100)
    url = f"{rt.endpoint}/{ALIAS}/by-curl"
    hs = sign("--sigv4a", "--region-set", "*", "--body", str(body), "PUT", url)
    status, h, out = curl("-X", "PUT", "--data-binary", f"@{body}",
                          *sum([["-H", x] for x in hs], []), url)
    assert (status, h.get(REGION_HEADER)) == (200, NEAR), out
    hs = sign("--sigv4a", "--region-set", "*", "GET", url)
    status, h, out = curl(*sum([["-H", x] for x in hs], []), url)
    assert (status, h.get(REGION_HEADER), out) == (200, NEAR, body.read_bytes())
    # ... and virtual-hosted, Host <alias>.<domain>.
    vurl = f"http://{ALIAS}.{DOMAIN}:{rt.port}/by-curl"
    hs = sign("--sigv4a", "--region-set", "*", "GET", vurl)
    status, h, out = curl("--connect-to", f"{ALIAS}.{DOMAIN}:{rt.port}:127.0.0.1:{rt.port}",
                          *sum([["-H", x] for x in hs], []), vurl)
    assert (status, h.get(REGION_HEADER), out) == (200, NEAR, body.read_bytes())

    # SigV4 to the alias passes the router and is refused by the store.
    hs = sign("--sigv4", "--region", NEAR, "GET", url)
    status, h, out = curl(*sum([["-H", x] for x in hs], []), url)
    assert (status, h.get(REGION_HEADER)) == (403, NEAR), out
    assert xml_error_code(out) == "AccessDenied", out  # refused as SigV4, not a bad signature
    v4 = rt.boto3(signature_version="s3v4")
    with pytest.raises(ClientError) as e:
        v4.get_object(Bucket=ALIAS, Key="by-curl")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert e.value.response["Error"]["Code"] == "AccessDenied"


# ---- 7. a multipart upload stays with the region that created it ----

def test_multipart_upload_stays_with_its_region(mrap):
    rt = mrap.router()
    both(mrap, "obj")
    warm(mrap, rt)
    c = rt.boto3()
    r = c.create_multipart_upload(Bucket=ALIAS, Key="big")
    assert region_of(r) == NEAR
    uid = r["UploadId"]

    mrap.swap()
    assert wait_until(lambda: served(rt, "obj")[1] == FAR, timeout=5, step=0.1), rt.routes()
    assert served(rt, "obj")[1] == FAR

    p1, p2 = b"\x01" * (5 << 20), b"\x02" * 1000
    parts = []
    for n, data in ((1, p1), (2, p2)):
        r = c.upload_part(Bucket=ALIAS, Key="big", UploadId=uid, PartNumber=n, Body=data)
        assert region_of(r) == NEAR, n
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    r = c.list_parts(Bucket=ALIAS, Key="big", UploadId=uid)
    assert region_of(r) == NEAR and [p["PartNumber"] for p in r["Parts"]] == [1, 2]
    r = c.complete_multipart_upload(Bucket=ALIAS, Key="big", UploadId=uid,
                                    MultipartUpload={"Parts": parts})
    assert region_of(r) == NEAR
    md5s = b"".join(hashlib.md5(p).digest() for p in (p1, p2))
    etag = f'"{hashlib.md5(md5s).hexdigest()}-2"'
    h = mrap.head_direct(NEAR, "big")
    assert h and h["ContentLength"] == len(p1) + len(p2) and h["ETag"] == etag
    assert mrap.head_direct(FAR, "big") is None
    assert rt.logged(NEAR, "UPLOAD", at_least=4) >= 4, rt.read_log()

    # A second upload now starts in the (new) near region and is aborted there,
    # after the delays are swapped back.
    r = c.create_multipart_upload(Bucket=ALIAS, Key="gone")
    assert region_of(r) == FAR
    mrap.wans[NEAR].set_delay(NEAR_MS)
    mrap.wans[FAR].set_delay(FAR_MS)
    assert wait_until(lambda: served(rt, "obj")[1] == NEAR, timeout=5, step=0.1)
    r2 = c.abort_multipart_upload(Bucket=ALIAS, Key="gone", UploadId=r["UploadId"])
    assert region_of(r2) == FAR


# ---- 8. passive fallback ----

def test_passive_region_serves_only_as_fallback(mrap):
    dials = {NEAR: "active", FAR: "passive"}
    fallback = mrap.router(dials=dials)
    strict = mrap.router(dials=dials, routing={"passive_fallback": False})
    both(mrap, "obj")
    for rt in (fallback, strict):
        rt.wait_measured([NEAR])
        for _ in range(5):
            assert served(rt, "obj") == (200, NEAR, BODY[NEAR])
    mrap.stores[NEAR].kill9()
    for rt in (fallback, strict):
        assert wait_until(lambda: rt.routes()[1][NEAR]["Health"] == "DOWN", timeout=6,
                          step=0.1), rt.routes()
    for _ in range(10):
        assert served(fallback, "obj") == (200, FAR, BODY[FAR])
    assert fallback.logged(FAR, "PASSIVE") >= 1, fallback.read_log()
    for _ in range(3):
        status, _, body = served(strict, "obj")
        assert status == 503, body
    assert not any(reg == FAR for reg, _, _ in strict.access_log())


# ---- 8b. a refused connection: any request moves on, its body replayed ----

def test_refused_connection_moves_writes_with_their_body(mrap):
    """The near region's endpoint is its store itself (no relay), so once the
    store is dead its connections are refused: nothing reached it, and a PUT,
    even one whose body the router has already begun to read (300 KiB, more
    than the router reads ahead), and a POST go to the far region instead. No
    probes during the test (probe_interval 60s) and health needs 2 failures to
    leave UP, so the near region is still chosen first each time and the
    retry is what serves."""
    regions = [{"name": FAR, "endpoint": mrap.wans[FAR].endpoint, "bucket": BUCKET[FAR]},
               {"name": NEAR, "endpoint": f"127.0.0.1:{mrap.stores[NEAR].port}",
                "bucket": BUCKET[NEAR]}]
    rt = Router(mrap.tmp / "router-refused", NAME, ALIAS, regions, domain=DOMAIN,
                routing={"probe_interval": "60s"})
    mrap.routers.append(rt)
    both(mrap, "obj")
    for _ in range(3):  # real requests give both regions a latency
        served(rt, "obj")
    assert served(rt, "obj")[:2] == (200, NEAR)
    mrap.stores[NEAR].kill9()
    c = rt.boto3()
    big = hashlib.sha256(b"seed").digest() * (300 * 1024 // 32)
    r = c.put_object(Bucket=ALIAS, Key="moved-big", Body=big)
    assert region_of(r) == FAR
    assert mrap.head_direct(FAR, "moved-big")["ContentLength"] == len(big)
    got = mrap.stores[FAR].boto3().get_object(Bucket=BUCKET[FAR], Key="moved-big")
    assert got["Body"].read() == big
    r = c.create_multipart_upload(Bucket=ALIAS, Key="moved-mp")
    assert region_of(r) == FAR
    c.abort_multipart_upload(Bucket=ALIAS, Key="moved-mp", UploadId=r["UploadId"])
    assert rt.logged(FAR, "FAILOVER", at_least=2) >= 2, rt.read_log()


# ---- 8c. a region that dies mid-answer ----

class CutRegion:
    """A region endpoint that answers its health probe and then, for every
    other request, sends a response head and part of the body and closes the
    connection: what a store killed mid-answer leaves behind. The key picks
    the framing: 'small' (a 1000-byte Content-Length, under the router's
    keep limit), 'big' (1 MiB, over it) or 'chunked'."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.cut = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c):
        c.settimeout(5)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    more = c.recv(65536)
                    if not more:
                        return
                    buf += more
                head, buf = buf.split(b"\r\n\r\n", 1)
                target = head.split(b" ")[1]
                if target == b"/-/health":
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    continue
                self.cut += 1
                if b"/small" in target:
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"s" * 100)
                elif b"/big" in target:
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (1 << 20)
                              + b"b" * (128 << 10))
                else:
                    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"5\r\nhello\r\n")
                time.sleep(0.05)
                return
        except OSError:
            return
        finally:
            c.close()

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def cut_region():
    r = CutRegion()
    yield r
    r.close()


def cut_router(mrap, cut_region, label):
    regions = [{"name": FAR, "endpoint": mrap.wans[FAR].endpoint, "bucket": BUCKET[FAR]},
               {"name": NEAR, "endpoint": f"127.0.0.1:{cut_region.port}", "bucket": BUCKET[NEAR]}]
    rt = Router(mrap.tmp / f"router-cut-{label}", NAME, ALIAS, regions, domain=DOMAIN)
    mrap.routers.append(rt)
    rt.wait_measured([NEAR, FAR])
    return rt


def test_a_short_answer_cut_mid_body_is_served_by_the_other_region(mrap, cut_region):
    """Under the keep limit, the router holds the answer until it is whole: the
    near region's cut answer never reaches the viewer, the far region serves."""
    mrap.put_direct(FAR, "small", BODY[FAR])
    rt = cut_router(mrap, cut_region, "small")
    assert served(rt, "small") == (200, FAR, BODY[FAR])
    assert cut_region.cut >= 1
    assert rt.logged(FAR, "FAILOVER") >= 1, rt.read_log()


@pytest.mark.parametrize("key", ["big", "chunked"])
def test_a_long_answer_cut_mid_body_reaches_the_viewer_cut(mrap, cut_region, key):
    """Over the keep limit (or of unknown length) the answer streams, so a cut
    cannot be hidden: the viewer must see it cut at once (the connection
    closes without the message's end), never wait for bytes that will not
    come, and never get a chunked body closed as if whole."""
    rt = cut_router(mrap, cut_region, key)
    c = http.client.HTTPConnection("127.0.0.1", rt.port, timeout=10)
    t0 = time.monotonic()
    try:
        c.request("GET", rt.presigned(key))
        r = c.getresponse()
        assert r.status == 200 and r.getheader(REGION_HEADER) == NEAR
        with pytest.raises(http.client.IncompleteRead):
            r.read()
    finally:
        c.close()
    assert time.monotonic() - t0 < 5
    assert cut_region.cut == 1


# ---- 9. bad config files ----

GOOD = """\
access_point:
  name: assets
  alias: mfzwi23gnjvgw.mrap
regions:
  - name: eu-west-1
    endpoint: "127.0.0.1:9001"
    bucket: assets-eu
    dial: active
  - name: us-east-1
    endpoint: "127.0.0.1:9002"
    bucket: assets-us
    dial: passive
routing:
  probe_interval: 500ms
"""


def edit(line, text):
    lines = GOOD.splitlines()
    lines[line - 1] = text
    return "\n".join(lines) + "\n"


BAD = {  # name: (text, line the error must name, or None for any)
    "unknown key": (edit(14, "  probe_intervall: 500ms"), 14),
    "bad dial": (edit(12, "    dial: sometimes"), 12),
    "bad duration": (edit(14, "  probe_interval: 5 parsecs"), 14),
    "duration out of range": (edit(14, "  probe_interval: 1ms"), 14),
    "endpoint without port": (edit(6, '    endpoint: "127.0.0.1"'), 6),
    "bad access point name": (edit(2, "  name: Assets!"), 2),
    "duplicate region": (edit(9, "  - name: eu-west-1"), 9),
    "no active region": (edit(8, "    dial: passive"), None),
    "missing alias": (edit(3, "  domain: accesspoint.example.test"), None),
    "yaml syntax": (edit(3, "  alias: [mfzwi23gnjvgw.mrap"), None),
    "admin without credentials": (GOOD + "admin:\n  listen: \"127.0.0.1:9100\"\n", None),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_exits_2_with_position(case, tmp_path, meridian_bin):
    text, line = BAD[case]
    cfg = tmp_path / "router.yaml"
    cfg.write_text(text)
    try:
        r = subprocess.run([meridian_bin, "router", "--listen", f"127.0.0.1:{free_port()}",
                            "--config", str(cfg)], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"router started with a bad config ({case})")
    assert r.returncode == 2, (r.returncode, r.stderr)
    m = re.search(re.escape(str(cfg)) + r":(\d+):(\d+): (\S.*)", r.stderr)
    assert m, r.stderr
    assert int(m.group(2)) >= 1
    if line is not None:
        assert int(m.group(1)) == line, r.stderr
    else:
        assert 1 <= int(m.group(1)) <= len(text.splitlines()) + 1, r.stderr


def test_the_good_config_the_bad_ones_edit_starts(tmp_path, meridian_bin):
    """The control for the cases above: unedited, the same file is accepted."""
    cfg = tmp_path / "router.yaml"
    cfg.write_text(GOOD)
    port = free_port()
    log = open(tmp_path / "router.log", "wb")
    p = subprocess.Popen([meridian_bin, "router", "--listen", f"127.0.0.1:{port}", "--config",
                          str(cfg)], stdout=log, stderr=log)
    try:
        def healthy():
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/-/health")
                return c.getresponse().status == 200
            except OSError:
                return p.poll() is not None
        wait_until(healthy, timeout=10)
        assert p.poll() is None, (tmp_path / "router.log").read_text()
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()
    assert p.returncode == 0, (tmp_path / "router.log").read_text()


def test_usage_errors_exit_2(run):
    assert run("router", "--listen", "127.0.0.1:0").returncode == 2
    assert run("router", "--config", "/nonexistent.yaml").returncode == 2
    assert run("router", "--listen", "127.0.0.1:0", "--config", "x", "--workers", "0").returncode == 2
    h = run("router", "--help")
    assert h.returncode == 0 and "--config" in h.stdout and "--listen" in h.stdout
