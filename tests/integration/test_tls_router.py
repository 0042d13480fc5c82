"""meridian router over TLS (issue 10): an HTTPS listener beside HTTP, https
regions whose certificates the router checks, and fail-over when a store's
certificate is refused.

Two real stores (eu-west-1, us-east-1) serve their bucket behind one access
point alias over HTTPS (`--tls-listen`) with certificates from a local CA made
by `meridian tls ca/issue`, as users make theirs; the router reaches them
over HTTPS only (their endpoints are their TLS ports, so a request sent in
plain HTTP could not succeed). Objects are put straight into each bucket with
a different body per region, so a response proves where it came from twice.

Clients are the ones users run: curl --cacert, boto3 with awscrt signing
SigV4A for region set '*' over HTTPS with the CA as its bundle, and Python's
ssl for the load loops. Every load loop is bounded in requests and in time;
only processes this file started are stopped, by PID.
"""
import hashlib
import http.client
import os
import pathlib
import re
import signal
import ssl
import subprocess
import threading
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from routerenv import (ADMIN, REGION_HEADER, Load, Router, metric, region_of, wait_until,
                       yaml_str)
from storeenv import ALICE, Store, free_port, meridian_bin

NAME = "assets"
ALIAS = "mfzwi23gnjvgw.mrap"
DOMAIN = "accesspoint.example.test"
EU, US = "eu-west-1", "us-east-1"
BUCKET = {EU: "assets-eu", US: "assets-us"}
BODY = {EU: b"served by eu-west-1", US: b"served by us-east-1"}
# The eu store is checked by its DNS name, the us one by its IP (no server_name).
SERVER_NAME = {EU: "store-eu.example.test", US: None}
ROUTER_NAME = "router.example.test"
VERIFY_FAILED = "the peer's TLS certificate was not accepted"


def tls(*args):
    r = subprocess.run([meridian_bin(), "tls", *map(str, args)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, (args, r.stdout, r.stderr)


class Pki:
    """A CA users would trust, and one nobody trusts."""

    def __init__(self, tmp):
        self.dir = pathlib.Path(tmp) / "pki"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_dir, self.other_dir = self.dir / "ca", self.dir / "other-ca"
        tls("ca", "--out", self.ca_dir)
        tls("ca", "--out", self.other_dir, "--name", "Someone else's CA")
        self.ca = self.ca_dir / "ca.pem"

    def issue(self, prefix, names=(), ips=("127.0.0.1",), ca=None, days=None, not_before=None):
        """(cert, key) paths of a new certificate."""
        out = self.dir / prefix
        args = ["issue", "--ca", ca or self.ca_dir, "--out", out]
        for n in names:
            args += ["--name", n]
        for ip in ips:
            args += ["--ip", ip]
        if not names:
            args += ["--name", "localhost"]  # a name is required; the IP is what is checked
        if days is not None:
            args += ["--days", days]
        if not_before is not None:
            args += ["--not-before-days", not_before]
        tls(*args)
        return pathlib.Path(f"{out}.pem"), pathlib.Path(f"{out}-key.pem")


def region_cert(pki, region, prefix=None, **kw):
    """The certificate a region's store should present (kw: make it wrong)."""
    name = SERVER_NAME[region]
    kw.setdefault("names", [name] if name else [])
    kw.setdefault("ips", [] if name else ["127.0.0.1"])
    return pki.issue(prefix or f"store-{region}", **kw)


class TlsStore:
    """A store with its bucket behind the alias, plain HTTP for the test's own
    setup and HTTPS (the port the router uses) with `cert`."""

    def __init__(self, tmp, region, cert):
        d = pathlib.Path(tmp) / region
        d.mkdir(parents=True, exist_ok=True)
        self.region = region
        self.tls_port = free_port()
        self.store = Store(d, "--access-point", f"{ALIAS}={BUCKET[region]}", "--mrap-domain",
                           DOMAIN, "--tls-listen", f"127.0.0.1:{self.tls_port}", "--tls-cert",
                           str(cert[0]), "--tls-key", str(cert[1]), region=region)
        self.store.boto3().create_bucket(Bucket=BUCKET[region])

    @property
    def tls_endpoint(self):
        return f"127.0.0.1:{self.tls_port}"

    def put(self, key, body):
        self.store.boto3().put_object(Bucket=BUCKET[self.region], Key=key, Body=body)

    def head(self, key):
        try:
            return self.store.boto3().head_object(Bucket=BUCKET[self.region], Key=key)
        except ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response
            return None


def tls_router_yaml(regions, tls_lines, admin_port, routing=None):
    """The router's config (src/router/config.h) with protocol/server_name per
    region and a tls: section (lines under it, indented by the caller)."""
    out = ["access_point:", f"  name: {NAME}", f"  alias: {ALIAS}", f"  domain: {DOMAIN}",
           "regions:"]
    for r in regions:
        out += [f"  - name: {r['name']}", f"    endpoint: {yaml_str(r['endpoint'])}",
                f"    bucket: {r['bucket']}", f"    dial: {r.get('dial', 'active')}",
                f"    protocol: {r.get('protocol', 'https')}"]
        if r.get("server_name"):
            out.append(f"    server_name: {r['server_name']}")
    if routing:
        out.append("routing:")
        out += [f"  {k}: {v}" for k, v in routing.items()]
    out += ["admin:", f"  listen: 127.0.0.1:{admin_port}", "  credentials: admin-credentials"]
    if tls_lines:
        out.append("tls:")
        out += [f"  {line}" for line in tls_lines]
    return "\n".join(out) + "\n"


class TlsRouter(Router):
    """routerenv.Router with a config of our own: https regions, a tls: section."""

    def __init__(self, tmp, regions, tls_lines, routing=None, workers=1):
        self.tmp = pathlib.Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.name, self.alias, self.domain = NAME, ALIAS, DOMAIN
        self.regions = regions
        self.port = free_port()
        self.admin_port = free_port()
        creds = self.tmp / "admin-credentials"
        creds.write_text("".join(f"{k} {s} {n}\n" for k, s, n in (ADMIN,)))
        os.chmod(creds, 0o600)
        self.config = self.tmp / "router.yaml"
        self.config.write_text(tls_router_yaml(regions, tls_lines, self.admin_port, routing))
        self.logpath = self.tmp / f"router-{self.port}.log"
        self.log = open(self.logpath, "ab")
        self.workers = workers
        self.proc = None
        self.start()

    @property
    def tls_port(self):
        """The HTTPS listener's port, from the start line (it may trail /-/health)."""
        pat = r"router: HTTPS on \S+ \(port (\d+)\)"
        m = wait_until(lambda: re.search(pat, self.read_log(tail=None)), 5)
        assert m, self.read_log()
        return int(m.group(1))

    def https_client(self, ca):
        """boto3 + awscrt SigV4A (region set '*') to the HTTPS listener, trusting ca
        (routerenv.sigv4a_client's client, with a CA bundle)."""
        import boto3
        from botocore.config import Config

        c = boto3.client("s3", endpoint_url=f"https://127.0.0.1:{self.tls_port}",
                         region_name="us-east-1", aws_access_key_id=ALICE[0],
                         aws_secret_access_key=ALICE[1], verify=str(ca),
                         config=Config(s3={"addressing_style": "path"},
                                       retries={"max_attempts": 1},
                                       signature_version="s3v4a"))

        def region_set(request, **_):
            request.context.setdefault("signing", {})["region"] = "*"

        c.meta.events.register("before-sign.s3", region_set)
        return c

    def https_presigned(self, ca, key):
        """A presigned SigV4A GET's target (path?query) for the HTTPS listener."""
        url = self.https_client(ca).generate_presigned_url(
            "get_object", Params={"Bucket": ALIAS, "Key": key})
        u = urllib.parse.urlsplit(url)
        assert "X-Amz-Region-Set=%2A" in u.query, url
        return u.path + "?" + u.query

    def lines(self, pattern):
        return [line for line in self.read_log(tail=None).splitlines() if re.search(pattern, line)]


def region_entry(st, dial="active", server_name=None):
    return {"name": st.region, "endpoint": st.tls_endpoint, "bucket": BUCKET[st.region],
            "dial": dial, "server_name": server_name}


class Env:
    def __init__(self, tmp):
        self.tmp = pathlib.Path(tmp)
        self.pki = Pki(tmp)
        self.stores, self.routers = [], []

    def store(self, region, cert):
        st = TlsStore(self.tmp / f"s{len(self.stores)}", region, cert)
        self.stores.append(st)
        return st

    def router(self, regions, tls_lines, **kw):
        rt = TlsRouter(self.tmp / f"router{len(self.routers)}", regions, tls_lines, **kw)
        self.routers.append(rt)
        return rt

    def close(self):
        errors = []
        for rt in self.routers:
            try:
                rc = rt.stop()
                if rc != 0:
                    errors.append(f"router exited {rc} on SIGTERM:\n{rt.read_log()}")
            except AssertionError as e:
                errors.append(str(e))
        for st in self.stores:
            try:
                st.store.stop()
            except AssertionError as e:
                errors.append(str(e))
        assert not errors, "\n".join(errors)


@pytest.fixture
def env(tmp_path, meridian_bin):
    e = Env(tmp_path)
    yield e
    e.close()


def curl(*args):
    r = subprocess.run(["curl", "-sS", "-D", "-", *args], capture_output=True, timeout=60)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    if r.returncode != 0:
        return r.returncode, None, {}, r.stderr
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return 0, int(lines[0].split()[1]), headers, body


# ---- 1. HTTPS both sides ----

def test_https_listener_and_https_regions(env):
    eu = env.store(EU, region_cert(env.pki, EU))
    us = env.store(US, region_cert(env.pki, US))
    for st in (eu, us):
        st.put("hello", BODY[st.region])
    rcert = env.pki.issue("router", names=[ROUTER_NAME], ips=["127.0.0.1"])
    rt = env.router([region_entry(us, server_name=None),
                     region_entry(eu, server_name=SERVER_NAME[EU])],
                    ["listen: 127.0.0.1:0", "certificates:",
                     f"  - {{cert: {rcert[0]}, key: {rcert[1]}}}", f"ca_file: {env.pki.ca}"])
    log = rt.read_log(tail=None)
    assert f"router: region {EU} over HTTPS to {eu.tls_endpoint}, certificate checked for " \
           f"{SERVER_NAME[EU]}" in log, log
    assert f"certificate checked for 127.0.0.1" in log, log
    assert "OFF" not in log, log
    # Both regions come UP through probes over TLS.
    wait_until(lambda: all(r.get("Health") == "UP" and float(r.get("LatencyMs", "-1")) > 0
                           for r in rt.routes()[1].values()), 10)
    _, routes = rt.routes()
    assert {routes[r]["Health"] for r in (EU, US)} == {"UP"}, (routes, rt.read_log())

    # curl --cacert: the health endpoint, by IP and by the router's DNS name.
    tp = rt.tls_port
    rc, status, _, body = curl("--cacert", str(env.pki.ca), f"https://127.0.0.1:{tp}/-/health")
    assert (rc, status, body) == (0, 200, b"ok\n"), body
    rc, status, _, body = curl("--cacert", str(env.pki.ca), "--resolve",
                               f"{ROUTER_NAME}:{tp}:127.0.0.1", f"https://{ROUTER_NAME}:{tp}/-/health")
    assert (rc, status) == (0, 200), body
    # Without the CA curl refuses the router's certificate.
    rc, status, _, err = curl(f"https://127.0.0.1:{tp}/-/health")
    assert rc == 60, err  # CURLE_PEER_FAILED_VERIFICATION

    # A presigned SigV4A GET over HTTPS, each region's object through it.
    c = rt.https_client(env.pki.ca)
    url = c.generate_presigned_url("get_object", Params={"Bucket": ALIAS, "Key": "hello"})
    assert url.startswith(f"https://127.0.0.1:{tp}/") and "X-Amz-Region-Set=%2A" in url, url
    rc, status, h, body = curl("--cacert", str(env.pki.ca), url)
    assert rc == 0 and status == 200, body
    assert body == BODY[h[REGION_HEADER]], (h, body)

    # boto3 + awscrt SigV4A over HTTPS with the CA as its bundle: a write goes
    # to one region over TLS and reads come back from it.
    data = hashlib.sha256(b"boto3 over tls").digest() * 2000
    r = c.put_object(Bucket=ALIAS, Key="dir/boto3", Body=data)
    wrote = region_of(r)
    assert wrote in (EU, US)
    st = eu if wrote == EU else us
    assert st.head("dir/boto3")["ContentLength"] == len(data)
    r = c.get_object(Bucket=ALIAS, Key="dir/boto3")
    assert r["Body"].read() == data and region_of(r) == wrote
    r = c.list_objects_v2(Bucket=ALIAS, Prefix="dir/")
    assert [o["Key"] for o in r.get("Contents", [])] == ["dir/boto3"]
    c.delete_object(Bucket=ALIAS, Key="dir/boto3")
    assert st.head("dir/boto3") is None
    # The plain listener still serves beside it.
    status, h, body = rt.request("GET", rt.presigned("hello"))
    assert status == 200 and body == BODY[h[REGION_HEADER]]
    # No TLS failure toward a store was logged.
    assert not rt.lines("TLS to .* failed"), rt.read_log()


# ---- 2. a refused store certificate is a connect error: fail over ----

BAD = {
    # case: (certificate kwargs, the verify reason the log must show)
    "wrong_name": (dict(names=["someone-else.example.test"], ips=[]), "hostname mismatch"),
    "expired": (dict(days=-1, not_before=-30), "certificate has expired"),
    "unknown_ca": (dict(ca="other"), "unable to get local issuer certificate"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_refused_certificate_fails_over(env, case):
    kw, reason = BAD[case]
    kw = dict(kw)
    if kw.get("ca") == "other":
        kw["ca"] = env.pki.other_dir
    # The bad region is eu (checked for its DNS name), active; us is good and
    # passive, so every request goes to eu first for as long as eu is not
    # DOWN, and must land on us.
    eu = env.store(EU, region_cert(env.pki, EU, prefix=f"bad-{case}", **kw))
    us = env.store(US, region_cert(env.pki, US))
    us.put("k", BODY[US])
    eu.put("k", BODY[EU])
    rt = env.router([region_entry(eu, server_name=SERVER_NAME[EU]),
                     region_entry(us, dial="passive")],
                    [f"ca_file: {env.pki.ca}"], routing={"probe_interval": "1s"})

    # A write with a body first, while eu is still UP: refused by the
    # certificate before a byte left, it is replayed to us.
    c = rt.boto3()
    data = b"moved with its body\n" * 500
    r = c.put_object(Bucket=ALIAS, Key="put-k", Body=data)
    assert region_of(r) == US
    assert us.head("put-k")["ContentLength"] == len(data)
    assert eu.head("put-k") is None

    # Bounded load of presigned GETs: not one fails, every one from us.
    load = Load(rt.port, rt.presigned("k"), threads=2, seconds=4, max_requests=200)
    records = load.wait()
    assert records and not load.failures(), load.failures()[:3]
    assert {r[3] for r in records} == {US}
    assert all(r[5] == BODY[US] for r in records)
    # Some went to eu first and failed over (before eu went DOWN).
    failovers = [line for _, why, line in rt.access_log()
                 if why == "FAILOVER" and "tries=2" in line]
    assert failovers, rt.read_log()
    # The probes treat it as a failure: eu goes DOWN and stays there.
    assert wait_until(lambda: rt.lines(rf"region {EU} \S+ -> DOWN"), 10), rt.read_log()
    assert metric(rt.metrics(), "meridian_router_region_up", region=EU) == 0
    assert metric(rt.metrics(), "meridian_router_failovers_total", region=EU) >= 1
    # The reason, once (one loop, one reason), not once per request or probe.
    why = rt.lines(rf"router: region {EU}: TLS to {eu.tls_endpoint} as {SERVER_NAME[EU]} failed")
    assert len(why) == 1, rt.read_log(tail=None)
    assert f"{VERIFY_FAILED}: {reason}" in why[0], why


def test_region_comes_back_when_its_certificate_is_fixed(env):
    expired = region_cert(env.pki, EU, prefix="eu-expired", days=-1, not_before=-30)
    good = region_cert(env.pki, EU, prefix="eu-good")
    eu = env.store(EU, expired)
    us = env.store(US, region_cert(env.pki, US))
    eu.put("k", BODY[EU])
    us.put("k", BODY[US])
    rt = env.router([region_entry(eu, server_name=SERVER_NAME[EU]),
                     region_entry(us, dial="passive")],
                    [f"ca_file: {env.pki.ca}"], routing={"probe_interval": "100ms"})
    assert wait_until(lambda: rt.lines(rf"region {EU} \S+ -> DOWN"), 10), rt.read_log()

    def restart_with(cert):
        eu.store.stop()
        i = eu.store.extra.index("--tls-cert")
        eu.store.extra[i + 1:i + 4:2] = [str(cert[0]), str(cert[1])]
        eu.store.start()

    # The store gets a good certificate: the probes bring eu back, it serves.
    restart_with(good)
    assert wait_until(lambda: rt.lines(rf"region {EU} \S+ -> UP"), 10), rt.read_log()
    assert wait_until(lambda: served_by(rt) == EU, 10), rt.read_log()
    # Expired again: one more line with the reason (it changed: it had cleared).
    restart_with(expired)
    assert wait_until(lambda: len(rt.lines(rf"region {EU} \S+ -> DOWN")) == 2, 10), \
        rt.read_log()
    why = rt.lines(rf"router: region {EU}: TLS to .* failed: {VERIFY_FAILED}: "
                   "certificate has expired")
    assert len(why) == 2, rt.read_log(tail=None)
    for _ in range(10):
        assert served_by(rt) == US


def served_by(rt):
    status, h, body = rt.request("GET", rt.presigned("k"))
    assert status == 200 and body == BODY[h[REGION_HEADER]], (status, body)
    return h[REGION_HEADER]


def test_insecure_skip_verify_accepts_them(env):
    # One certificate that is wrong three ways: another CA, another name, expired.
    bad = region_cert(env.pki, EU, prefix="bad-all", names=["someone-else.example.test"],
                      ips=[], ca=env.pki.other_dir, days=-1, not_before=-30)
    eu = env.store(EU, bad)
    us = env.store(US, region_cert(env.pki, US))
    eu.put("k", BODY[EU])
    rt = env.router([region_entry(eu, server_name=SERVER_NAME[EU]),
                     region_entry(us, dial="passive")],
                    ["insecure_skip_verify: true"])
    log = rt.read_log(tail=None)
    assert "router: TLS verification of upstream certificates is OFF " \
           "(tls.insecure_skip_verify: true)" in log, log
    assert "certificate checked for nothing (insecure_skip_verify)" in log, log
    for _ in range(20):
        status, h, body = rt.request("GET", rt.presigned("k"))
        assert (status, h.get(REGION_HEADER), body) == (200, EU, BODY[EU])
    assert not rt.lines("TLS to .* failed"), rt.read_log()
    # Printed at every start.
    rt.stop()
    rt.log = open(rt.logpath, "ab")
    rt.start()
    assert len(rt.lines("TLS verification of upstream certificates is OFF")) == 2


# ---- 3. SIGHUP swaps the router's certificates under load ----

class HttpsLoad:
    """`threads` threads GET `target` on the router's HTTPS port, a new TLS
    connection every `per_conn` requests, until stop() or `seconds` or
    `max_requests`. Records (status, error, serial of the certificate seen)."""

    def __init__(self, port, target, ca, threads=3, seconds=20.0, max_requests=1500, per_conn=5):
        self.port, self.target, self.per_conn = port, target, per_conn
        self.ctx = ssl.create_default_context(cafile=str(ca))
        self.deadline = time.monotonic() + seconds
        self.left = max_requests
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
        conn, used = None, 0
        while not self.stopping.is_set() and time.monotonic() < self.deadline and self._take():
            status, error, serial = None, None, None
            try:
                if conn is None or used >= self.per_conn:
                    if conn is not None:
                        conn.close()
                    conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10,
                                                       context=self.ctx)
                    conn.connect()
                    used = 0
                der = conn.sock.getpeercert(binary_form=True)
                serial = hashlib.sha256(der).hexdigest()
                conn.request("GET", self.target)
                r = conn.getresponse()
                r.read()
                status = r.status
                used += 1
            except (OSError, http.client.HTTPException, ssl.SSLError) as e:
                error = repr(e)
                if conn is not None:
                    conn.close()
                conn = None
            with self.lock:
                self.records.append((status, error, serial))
        if conn is not None:
            conn.close()

    def count(self):
        with self.lock:
            return len(self.records)

    def stop(self, timeout=30):
        self.stopping.set()
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "load threads did not stop"
        with self.lock:
            return list(self.records)


def der_digest(pem_path):
    der = ssl.PEM_cert_to_DER_cert(pathlib.Path(pem_path).read_text())
    return hashlib.sha256(der).hexdigest()


def test_sighup_reloads_router_certificates_under_load(env):
    eu = env.store(EU, region_cert(env.pki, EU))
    eu.put("k", BODY[EU])
    first = env.pki.issue("router-1", names=[ROUTER_NAME])
    second = env.pki.issue("router-2", names=[ROUTER_NAME])
    live_cert, live_key = env.tmp / "router.pem", env.tmp / "router-key.pem"

    def install(pair):
        # As a deploy tool would: new files renamed into place.
        for src, dst in zip(pair, (live_cert, live_key)):
            tmp = dst.with_suffix(".new")
            tmp.write_bytes(src.read_bytes())
            os.chmod(tmp, 0o600)
            os.replace(tmp, dst)

    install(first)
    rt = env.router([region_entry(eu, server_name=SERVER_NAME[EU])],
                    ["listen: 127.0.0.1:0", "certificates:",
                     f"  - {{cert: {live_cert}, key: {live_key}}}", f"ca_file: {env.pki.ca}"],
                    workers=2)
    target = rt.https_presigned(env.pki.ca, "k")
    load = HttpsLoad(rt.tls_port, target, env.pki.ca)
    try:
        assert wait_until(lambda: load.count() >= 50, 15)
        for n, pair in enumerate((second, first, second), start=1):
            install(pair)
            rt.proc.send_signal(signal.SIGHUP)
            assert wait_until(lambda: len(rt.lines("router: TLS certificates reloaded")) == n,
                              10), rt.read_log()
            seen = load.count()
            assert wait_until(lambda: load.count() >= seen + 60, 15)
    finally:
        records = load.stop()
    failures = [r for r in records if r[1] or r[0] != 200]
    assert not failures, (len(records), failures[:3])
    served = {r[2] for r in records}
    assert {der_digest(first[0]), der_digest(second[0])} <= served, served
    # The last one installed is what a new connection gets now.
    ctx = ssl.create_default_context(cafile=str(env.pki.ca))
    conn = http.client.HTTPSConnection("127.0.0.1", rt.tls_port, timeout=10, context=ctx)
    conn.connect()
    assert hashlib.sha256(conn.sock.getpeercert(binary_form=True)).hexdigest() == \
        der_digest(second[0])
    conn.close()
    assert not rt.lines("not reloaded"), rt.read_log()
    # Each SIGHUP read tls.ca_file again too (verified end to end in test_tls_edge).
    assert len(rt.lines("router: upstream CA reloaded")) == 3, rt.read_log()

    # A broken file is refused and the old certificates stay.
    live_key.write_text("not a key\n")
    rt.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: rt.lines("router: TLS certificates not reloaded"), 10), \
        rt.read_log()
    rc, status, _, _ = curl("--cacert", str(env.pki.ca), f"https://127.0.0.1:{rt.tls_port}/-/health")
    assert (rc, status) == (0, 200)


def test_https_only_router(env, tmp_path, https_only):
    """Without --listen the router serves HTTPS only (tls.listen); with
    neither, it refuses to start."""
    eu = env.store(EU, region_cert(env.pki, EU))
    rcert = env.pki.issue("router-only", names=[ROUTER_NAME], ips=["127.0.0.1"])
    creds = tmp_path / "admin-credentials"
    creds.write_text("".join(f"{k} {s} {n}\n" for k, s, n in (ADMIN,)))
    os.chmod(creds, 0o600)
    tp = free_port()
    cfg = tmp_path / "https-only.yaml"
    cfg.write_text(tls_router_yaml([region_entry(eu)],
                                   [f"listen: 127.0.0.1:{tp}", "certificates:",
                                    f"  - {{cert: {rcert[0]}, key: {rcert[1]}}}",
                                    f"ca_file: {env.pki.ca}"], free_port()))

    def up():
        rc, status, _, _ = curl("--cacert", str(env.pki.ca), f"https://127.0.0.1:{tp}/-/health")
        return rc == 0 and status == 200

    log = https_only("router", cfg, up)
    assert f"router: HTTPS on 127.0.0.1:{tp}" in log, log
    cfg.write_text(tls_router_yaml([region_entry(eu)], [], free_port()))
    r = subprocess.run([meridian_bin(), "router", "--config", str(cfg)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert r.stderr == f"router: --listen or tls.listen (in {cfg}) is required\n", r.stderr


# ---- 4. configuration errors at start ----

def test_unusable_certificate_file_exits_2(env, tmp_path):
    eu = env.store(EU, region_cert(env.pki, EU))
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(tls_router_yaml([region_entry(eu)],
                                   ["listen: 127.0.0.1:0", "certificates:",
                                    "  - {cert: missing.pem, key: missing-key.pem}"],
                                   free_port()))
    r = subprocess.run([meridian_bin(), "router", "--listen", "127.0.0.1:0", "--config",
                        str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("router: ") and str(tmp_path / "missing.pem") in r.stderr, r.stderr
    text = tls_router_yaml([region_entry(eu)], ["lisen: 127.0.0.1:0"], free_port())
    line = text.splitlines().index("  lisen: 127.0.0.1:0") + 1
    cfg.write_text(text)
    r = subprocess.run([meridian_bin(), "router", "--listen", "127.0.0.1:0", "--config",
                        str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert r.stderr == f"router: {cfg}:{line}:3: unknown key \"lisen\"; did you mean " \
                       "\"listen\"?\n", r.stderr
