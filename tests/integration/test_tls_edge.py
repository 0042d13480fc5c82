"""meridian edge over TLS (issue 10): the HTTPS listener, viewer protocol
policies, https origins verified for their domain name, failover on a
refused certificate, match-viewer, insecure_skip_verify, and a certificate
reload under load.

Certificates come from `meridian tls ca` / `meridian tls issue` (a CA, a
second CA nobody trusts, and leaf certificates with chosen names and
validity, one of them expired).
Origins are the recording Python origins of edgeenv, some of them wrapped in
TLS with the ssl module. Viewers are curl --cacert and Python's ssl client.
Every process this file starts is stopped by PID.
"""
import concurrent.futures
import http.client
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from edgeenv import Edge, Origin
from storeenv import free_port, meridian_bin

DOMAIN = "d111.edge.example.test"
ORIGIN_NAME = "origin.example.test"


# ---- certificates (meridian tls ca / issue) ----

def tls_cli(*args):
    r = subprocess.run([meridian_bin(), "tls", *args], capture_output=True, text=True)
    assert r.returncode == 0, (args, r.stderr)


class CA:
    """A certificate authority in dir (`meridian tls ca`); issue() signs leaf
    certificates with `meridian tls issue`."""

    def __init__(self, dir, name):
        self.dir = pathlib.Path(dir)
        tls_cli("ca", "--out", str(self.dir), "--name", name, "--days", "30")
        self.pem = self.dir / "ca.pem"

    def issue(self, out, dns=(), ips=(), days=None, not_before_days=None):
        """(out.pem, out-key.pem) for these names; days / not_before_days as
        `meridian tls issue` takes them (negative: in the past)."""
        args = ["issue", "--ca", str(self.dir), "--out", str(out)]
        for d in dns:
            args += ["--name", d]
        for i in ips:
            args += ["--ip", i]
        if days is not None:
            args += ["--days", str(days)]
        if not_before_days is not None:
            args += ["--not-before-days", str(not_before_days)]
        tls_cli(*args)
        return pathlib.Path(f"{out}.pem"), pathlib.Path(f"{out}-key.pem")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = CA(d / "ca", "Meridian Test CA")
    rogue = CA(d / "rogue", "Nobody Trusts This CA")
    p = {"ca": ca, "rogue": rogue}
    p["edge"] = ca.issue(d / "edge", dns=[DOMAIN], ips=["127.0.0.1"])
    p["edge2"] = ca.issue(d / "edge2", dns=[DOMAIN], ips=["127.0.0.1"])
    # Origin certificates name the domain only: verified against the
    # domain_name, never the 127.0.0.1 the edge connects to.
    p["origin"] = ca.issue(d / "origin", dns=[ORIGIN_NAME])
    p["backup"] = ca.issue(d / "backup", dns=["backup.example.test"])
    p["wrong_name"] = ca.issue(d / "wrong", dns=["someone-else.example.test"])
    p["expired"] = ca.issue(d / "expired", dns=[ORIGIN_NAME], days=-1, not_before_days=-30)
    p["unknown_ca"] = rogue.issue(d / "unknown", dns=[ORIGIN_NAME])
    return p


# ---- processes ----

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


def tls_origin(cert, name="origin", handler=None):
    """An edgeenv.Origin that speaks only HTTPS with cert (pem, key)."""
    o = Origin(handler, name=name)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    o.server.socket = ctx.wrap_socket(o.server.socket, server_side=True)
    return o


class TLSEdge(Edge):
    """An Edge run from a config text written here; "@TLS@" in it becomes a
    free port for tls.listen, whose listener start() also waits for."""

    def __init__(self, tmp, text, workers=2, location="TST1", extra_env=None):
        self.tmp = pathlib.Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls_port = free_port() if "@TLS@" in text else None
        self.config = self.tmp / f"edge-{self.port}.yaml"
        self.config.write_text(text.replace("@TLS@", str(self.tls_port)))
        self.admin_port = None
        self.logpath = self.tmp / f"edge-{self.port}.log"
        self.log = open(self.logpath, "ab")
        self.workers, self.location = workers, location
        self.env = dict(os.environ, **(extra_env or {}))
        self.proc = None
        self.start()

    def start(self, timeout=20):
        super().start(timeout)
        end = time.monotonic() + timeout
        while self.tls_port:
            try:
                socket.create_connection(("127.0.0.1", self.tls_port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > end:
                    raise RuntimeError(f"edge not listening on HTTPS: {self.read_log()}")
                time.sleep(0.05)

    def https(self, method, target, cafile, headers=(), host=DOMAIN, timeout=30):
        """One HTTPS request on a fresh connection verified with cafile for host:
        (status, headers, body, the server's certificate DER)."""
        ctx = ssl.create_default_context(cafile=str(cafile))
        c = http.client.HTTPSConnection(host, self.tls_port, context=ctx, timeout=timeout)
        # connect to loopback, verify (and send SNI) for host
        c.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.tls_port),
                                                          timeout=timeout),
                                 server_hostname=host)
        try:
            c.request(method, target, headers=dict(headers, Host=host))
            r = c.getresponse()
            data = r.read()
            der = c.sock.getpeercert(binary_form=True)
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data, der
        finally:
            c.close()

    def curl(self, path, cafile, *extra, scheme="https"):
        """curl --cacert against this edge by name (resolved to loopback):
        (status, headers text, body)."""
        port = self.tls_port if scheme == "https" else self.port
        hdr = self.tmp / "curl-headers.txt"
        code = self.tmp / "curl-code.txt"
        r = subprocess.run(
            ["curl", "-sS", "--cacert", str(cafile), "--resolve",
             f"{DOMAIN}:{self.tls_port}:127.0.0.1", "--resolve", f"{DOMAIN}:{self.port}:127.0.0.1",
             "-D", str(hdr), "-o", "-", "-w", "%{stderr}%{http_code}", *extra,
             f"{scheme}://{DOMAIN}:{port}{path}"],
            capture_output=True, timeout=30)
        assert r.returncode == 0, (r.returncode, r.stderr, self.read_log())
        heads = hdr.read_text()
        status = int(r.stderr.decode()[-3:])  # the last response's, when curl followed
        return status, heads.lower(), r.stdout


def config(origins, behaviors, groups=(), tls=None):
    """An edge config: origins and behaviors as lists of YAML lines' dicts."""
    out = ["distribution:", f"  domain: {DOMAIN}", "origins:"]
    for o in origins:
        out.append(f"  - id: {o['id']}")
        for k, v in o.items():
            if k != "id":
                out.append(f"    {k}: \"{v}\"" if isinstance(v, str) else f"    {k}: {v}")
    if groups:
        out.append("origin_groups:")
        for g in groups:
            out.append(f"  - id: {g['id']}")
            out.append(f"    members: [{', '.join(g['members'])}]")
    out.append("behaviors:")
    for b in behaviors:
        out.append(f"  - path_pattern: \"{b['path_pattern']}\"")
        for k, v in b.items():
            if k == "path_pattern":
                continue
            if isinstance(v, (list, tuple)):
                out.append(f"    {k}: [{', '.join(v)}]")
            elif isinstance(v, dict):
                out.append(f"    {k}: {{{', '.join(f'{kk}: {vv}' for kk, vv in v.items())}}}")
            else:
                out.append(f"    {k}: {v}")
    if tls:
        out.append("tls:")
        for k, v in tls.items():
            if k == "certificates":
                out.append("  certificates:")
                for pem, key in v:
                    out += [f"    - cert: \"{pem}\"", f"      key: \"{key}\""]
            else:
                out.append(f"  {k}: {v}")
    return "\n".join(out) + "\n"


def listen_tls(pki, **kw):
    t = {"listen": "\"127.0.0.1:@TLS@\"", "certificates": [pki["edge"]],
         "ca_file": f"\"{pki['ca'].pem}\""}
    t.update(kw)
    return t


def https_origin(id, origin, **kw):
    o = {"id": id, "domain_name": ORIGIN_NAME, "address": "127.0.0.1",
         "protocol_policy": "https-only", "https_port": origin.port}
    o.update(kw)
    return o


# ---- viewers over HTTPS ----

def test_https_listener_miss_then_hit(tmp_path, pki, stop_all):
    origin = Origin()
    stop_all(origin)
    edge = TLSEdge(tmp_path, config([{"id": "o", "domain_name": "127.0.0.1",
                                      "address": origin.address}],
                                    [{"path_pattern": "*", "target": "o"}], tls=listen_tls(pki)))
    stop_all(edge)
    st, h, body = edge.curl("/a.txt", pki["ca"].pem)
    assert (st, body) == (200, b"origin /a.txt"), (h, edge.read_log())
    assert "x-cache: miss from meridian" in h
    st, h, body = edge.curl("/a.txt", pki["ca"].pem)
    assert (st, body) == (200, b"origin /a.txt")
    assert "x-cache: hit from meridian" in h
    assert origin.count("/a.txt") == 1
    # allow-all: plain HTTP still answers, from the same cache
    st, hs, body = edge.request("GET", "/a.txt")
    assert (st, hs["x-cache"], body) == (200, "Hit from meridian", b"origin /a.txt")
    # curl without the CA refuses the edge's certificate
    r = subprocess.run(["curl", "-sS", "--resolve", f"{DOMAIN}:{edge.tls_port}:127.0.0.1",
                        f"https://{DOMAIN}:{edge.tls_port}/a.txt"], capture_output=True)
    assert r.returncode == 60, r.stderr  # peer certificate cannot be authenticated
    assert f"HTTPS on 127.0.0.1:{edge.tls_port}" in edge.read_log()


def test_viewer_protocol_policies(tmp_path, pki, stop_all):
    origin = Origin()
    stop_all(origin)
    edge = TLSEdge(tmp_path, config(
        [{"id": "o", "domain_name": "127.0.0.1", "address": origin.address}],
        [{"path_pattern": "/secure/*", "target": "o", "viewer_protocol_policy": "https-only"},
         {"path_pattern": "/moved/*", "target": "o",
          "viewer_protocol_policy": "redirect-to-https",
          "cache_key": {"query_strings": "all"}},
         {"path_pattern": "*", "target": "o", "viewer_protocol_policy": "allow-all"}],
        tls=listen_tls(pki)))
    stop_all(edge)
    # https-only: 403 to HTTP viewers (CloudFront's answer), the origin untouched
    st, h, body = edge.request("GET", "/secure/a")
    assert st == 403, (st, body)
    assert b"HTTPS" in body
    assert origin.count("/secure/a") == 0
    st, h, body = edge.curl("/secure/a", pki["ca"].pem)
    assert (st, body) == (200, b"origin /secure/a")
    # redirect-to-https: 301 to the same URL on the HTTPS listener's port
    st, h, body = edge.request("GET", "/moved/b?x=1&y=2",
                               headers=[("Host", f"{DOMAIN}:{edge.port}")])
    assert st == 301, (st, body)
    assert h["location"] == f"https://{DOMAIN}:{edge.tls_port}/moved/b?x=1&y=2"
    assert h["x-cache"] == "Redirect from meridian"
    assert origin.count() == 1
    # ... and curl -L gets there (over HTTPS, verified)
    st, heads, body = edge.curl("/moved/b?x=1&y=2", pki["ca"].pem, "-L", scheme="http")
    assert (st, body) == (200, b"origin /moved/b?x=1&y=2"), (heads, edge.read_log())
    assert "location: https://" in heads
    # a HEAD is redirected too, and HTTPS viewers are not
    st, h, _ = edge.request("HEAD", "/moved/c")
    assert st == 301 and h["location"] == f"https://{DOMAIN}:{edge.tls_port}/moved/c"
    st, _, body, _ = edge.https("GET", "/moved/c", pki["ca"].pem)
    assert (st, body) == (200, b"origin /moved/c")
    # allow-all over both
    assert edge.request("GET", "/other")[0] == 200
    assert edge.curl("/other", pki["ca"].pem)[0] == 200
    assert edge.logged(lambda e: e.get("x-edge-result-type") == "Redirect") >= 2


# ---- https origins ----

def test_https_origin_verified_for_domain_name(tmp_path, pki, stop_all):
    origin = tls_origin(pki["origin"])
    stop_all(origin)
    edge = TLSEdge(tmp_path, config(
        [https_origin("o", origin)],
        [{"path_pattern": "*", "target": "o",
          "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]}],
        tls={"ca_file": f"\"{pki['ca'].pem}\""}))
    stop_all(edge)
    st, h, body = edge.request("GET", "/x")
    assert (st, body) == (200, b"origin /x"), (body, edge.read_log())
    assert origin.last()["headers"]["host"] == ORIGIN_NAME
    # X-Forwarded-Proto is on CloudFront's disallowed list: a viewer's is not
    # passed on (a POST forwards every other header).
    st, _, _ = edge.request("POST", "/form", headers=[("X-Forwarded-Proto", "https"),
                                                       ("X-Other", "kept")], body=b"a=1")
    assert st == 200
    seen = origin.last()["headers"]
    assert seen["x-other"] == "kept" and "x-forwarded-proto" not in seen
    assert "TLS to" not in edge.read_log(tail=None)


@pytest.mark.parametrize("bad,why", [
    ("wrong_name", "hostname mismatch"),
    ("expired", "certificate has expired"),
    ("unknown_ca", "unable to get local issuer certificate"),
])
def test_bad_primary_certificate_fails_over(tmp_path, pki, stop_all, bad, why):
    primary = tls_origin(pki[bad], name="primary")
    backup = tls_origin(pki["backup"], name="backup")
    stop_all(primary)
    stop_all(backup)
    edge = TLSEdge(tmp_path, config(
        [https_origin("primary", primary),
         https_origin("backup", backup, domain_name="backup.example.test")],
        [{"path_pattern": "*", "target": "both", "default_ttl": "0s", "max_ttl": "0s"}],
        groups=[{"id": "both", "members": ["primary", "backup"]}],
        tls={"ca_file": f"\"{pki['ca'].pem}\""}))
    stop_all(edge)

    def get(i):
        return edge.request("GET", f"/f{i % 5}")

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        results = list(ex.map(get, range(40)))
    failed = [(st, body) for st, _, body in results
              if st != 200 or not body.startswith(b"backup /f")]
    assert not failed, (failed[:3], edge.read_log())
    assert primary.count() == 0  # nothing ever reached the bad origin's HTTP
    log = edge.read_log(tail=None)
    assert f"TLS to 127.0.0.1:{primary.port} ({ORIGIN_NAME}) failed" in log, log
    assert why in log, log
    assert f"edge: origin primary ({ORIGIN_NAME}): " in log and "failing over" in log
    # marked down: later requests skip it (far fewer attempts than requests)
    assert log.count(f"TLS to 127.0.0.1:{primary.port}") < 10


def test_single_origin_bad_certificate_is_502(tmp_path, pki, stop_all):
    origin = tls_origin(pki["unknown_ca"])
    stop_all(origin)
    edge = TLSEdge(tmp_path, config([https_origin("o", origin)],
                                    [{"path_pattern": "*", "target": "o"}],
                                    tls={"ca_file": f"\"{pki['ca'].pem}\""}))
    stop_all(edge)
    st, h, body = edge.request("GET", "/x")
    assert st == 502, (st, body)
    assert h["x-cache"] == "Error from meridian"
    assert b"<Code>BadGateway</Code>" in body and b"TLS" in body
    assert origin.count() == 0
    assert "unable to get local issuer certificate" in edge.read_log()
    assert edge.logged(lambda e: e.get("sc-status") == "502" and e.get("x-origin") == "o") == 1


def test_match_viewer(tmp_path, pki, stop_all):
    plain = Origin(name="plain")
    secure = tls_origin(pki["origin"], name="secure")
    stop_all(plain)
    stop_all(secure)
    # address ip:port: that port is HTTP's; HTTPS goes to the same ip at https_port
    edge = TLSEdge(tmp_path, config(
        [{"id": "o", "domain_name": ORIGIN_NAME, "address": plain.address,
          "protocol_policy": "match-viewer", "https_port": secure.port}],
        [{"path_pattern": "*", "target": "o"}], tls=listen_tls(pki)))
    stop_all(edge)
    st, _, body, _ = edge.https("GET", "/via-https", pki["ca"].pem)
    assert (st, body) == (200, b"secure /via-https"), edge.read_log()
    st, _, body = edge.request("GET", "/via-http")
    assert (st, body) == (200, b"plain /via-http")
    assert (secure.count("/via-https"), plain.count("/via-https")) == (1, 0)
    assert (secure.count("/via-http"), plain.count("/via-http")) == (0, 1)


def test_functions_see_and_switch_the_protocol(tmp_path, pki, stop_all):
    plain = Origin(name="plain")
    secure = tls_origin(pki["origin"], name="secure")
    stop_all(plain)
    stop_all(secure)
    (tmp_path / "proto.lua").write_text(
        "function handler(event, context)\n"
        "  local r = event.Records[1].cf.request\n"
        "  local c = r.origin.custom\n"
        "  r.headers['x-seen'] = {{ key = 'X-Seen', value = c.protocol .. ':' .. c.port }}\n"
        "  if r.uri == '/switch' then\n"
        f"    c.protocol = 'https'; c.port = {secure.port}\n"
        "  end\n"
        "  return r\n"
        "end\n")
    edge = TLSEdge(tmp_path, config(
        [{"id": "m", "domain_name": ORIGIN_NAME, "address": plain.address,
          "protocol_policy": "match-viewer", "https_port": secure.port},
         {"id": "h", "domain_name": ORIGIN_NAME, "address": plain.address}],
        [{"path_pattern": "/m/*", "target": "m", "functions": {"origin-request": "proto.lua"}},
         {"path_pattern": "*", "target": "h", "functions": {"origin-request": "proto.lua"}}],
        tls=listen_tls(pki)))
    stop_all(edge)
    # the event shows the attempt's protocol and port
    st, _, body, _ = edge.https("GET", "/m/a", pki["ca"].pem)
    assert st == 200 and secure.last()["headers"]["x-seen"] == f"https:{secure.port}"
    st, _, body = edge.request("GET", "/m/b")
    assert st == 200 and plain.last()["headers"]["x-seen"] == "http:80"
    # an http-only origin switched to https by the function: verified for its name
    st, _, body = edge.request("GET", "/switch")
    assert (st, body) == (200, b"secure /switch"), edge.read_log()
    assert secure.last()["headers"]["host"] == ORIGIN_NAME
    # Without a tls: section the switch still verifies, with the system's
    # CAs, which do not know the test CA: refused, and said so.
    edge2 = TLSEdge(tmp_path / "e2", config(
        [{"id": "h", "domain_name": ORIGIN_NAME, "address": plain.address}],
        [{"path_pattern": "*", "target": "h", "functions": {"origin-request": "../proto.lua"}}]))
    stop_all(edge2)
    n = secure.count()
    st, _, body = edge2.request("GET", "/switch")
    assert st == 502 and b"TLS" in body, (st, body, edge2.read_log())
    assert secure.count() == n
    assert f"TLS to 127.0.0.1:{secure.port} ({ORIGIN_NAME}) failed" in edge2.read_log()


def test_insecure_skip_verify(tmp_path, pki, stop_all):
    origin = tls_origin(pki["unknown_ca"])
    stop_all(origin)
    edge = TLSEdge(tmp_path, config([https_origin("o", origin)],
                                    [{"path_pattern": "*", "target": "o"}],
                                    tls={"insecure_skip_verify": "true"}))
    stop_all(edge)
    assert ("edge: TLS verification of upstream certificates is OFF "
            "(tls.insecure_skip_verify: true)") in edge.read_log()
    st, _, body = edge.request("GET", "/x")
    assert (st, body) == (200, b"origin /x"), edge.read_log()


def test_bad_tls_config_exits_2(tmp_path, pki, run):
    cfg = tmp_path / "e.yaml"
    cfg.write_text(config([{"id": "o", "domain_name": "127.0.0.1", "address": "127.0.0.1:1"}],
                          [{"path_pattern": "*", "target": "o"}],
                          tls={"listen": "\"127.0.0.1:0\"",
                               "certificates": [(tmp_path / "no.pem", tmp_path / "no.key")]}))
    r = run("edge", "--listen", "127.0.0.1:0", "--config", str(cfg))
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("edge: tls: ") and "no.pem" in r.stderr, r.stderr
    cfg.write_text(config([{"id": "o", "domain_name": "127.0.0.1", "address": "127.0.0.1:1"}],
                          [{"path_pattern": "*", "target": "o",
                            "viewer_protocol_policy": "https-only"}]))
    r = run("edge", "--listen", "127.0.0.1:0", "--config", str(cfg))
    assert r.returncode == 2
    assert "viewer_protocol_policy: https-only needs an HTTPS listener" in r.stderr


def test_https_only_edge(tmp_path, pki, run, https_only):
    """Without --listen the edge serves HTTPS only (tls.listen); with
    neither, it refuses to start."""
    origin = Origin()
    tp = free_port()
    cfg = tmp_path / "https-only.yaml"
    cfg.write_text(config([{"id": "o", "domain_name": "127.0.0.1", "address": origin.address}],
                          [{"path_pattern": "*", "target": "o"}],
                          tls={"listen": f"\"127.0.0.1:{tp}\"",
                               "certificates": [pki["edge"]]}))
    got = []

    def served():
        ctx = ssl.create_default_context(cafile=str(pki["ca"].pem))
        try:
            c = http.client.HTTPSConnection("127.0.0.1", tp, context=ctx, timeout=10)
            c.request("GET", "/only", headers={"Host": DOMAIN})
            r = c.getresponse()
            got.append((r.status, r.read()))
            c.close()
            return True
        except (OSError, ssl.SSLError):
            return False

    try:
        log = https_only("edge", cfg, served)
    finally:
        origin.stop()
    assert got == [(200, b"origin /only")], log
    assert f"edge: HTTPS on 127.0.0.1:{tp}" in log, log
    cfg.write_text(config([{"id": "o", "domain_name": "127.0.0.1", "address": "127.0.0.1:1"}],
                          [{"path_pattern": "*", "target": "o"}]))
    r = run("edge", "--config", str(cfg))
    assert r.returncode == 2, r.stderr
    assert r.stderr == f"edge: --listen or tls.listen (in {cfg}) is required\n", r.stderr


# ---- reload ----

def test_sighup_reloads_certificates_under_load(tmp_path, pki, stop_all):
    origin = Origin()
    stop_all(origin)
    certs = tmp_path / "certs"
    certs.mkdir()
    live = (certs / "edge.pem", certs / "edge.key")

    def install(pair):
        for src, dst in zip(pair, live):
            tmp = dst.with_suffix(".new")
            tmp.write_bytes(pathlib.Path(src).read_bytes())
            os.replace(tmp, dst)

    install(pki["edge"])
    edge = TLSEdge(tmp_path, config([{"id": "o", "domain_name": "127.0.0.1",
                                      "address": origin.address}],
                                    [{"path_pattern": "*", "target": "o"}],
                                    tls=listen_tls(pki, certificates=[live])))
    stop_all(edge)

    def der(pem):
        return ssl.PEM_cert_to_DER_cert(pathlib.Path(pem).read_text())

    old, new = der(pki["edge"][0]), der(pki["edge2"][0])
    assert edge.https("GET", "/warm", pki["ca"].pem)[3] == old
    stop = threading.Event()
    counts = {"ok": 0, "old": 0, "new": 0}
    failures = []
    lock = threading.Lock()

    def load():
        while not stop.is_set():
            try:
                st, _, body, cert = edge.https("GET", "/warm", pki["ca"].pem, timeout=10)
                ok = st == 200 and body == b"origin /warm"
            except Exception as e:  # noqa: BLE001 - every failure counts
                ok, cert = False, None
                with lock:
                    failures.append(repr(e))
            with lock:
                counts["ok"] += ok
                if cert == old:
                    counts["old"] += 1
                elif cert == new:
                    counts["new"] += 1
                if not ok and cert is not None:
                    failures.append(cert)
            time.sleep(0.005)  # bounded: a few hundred requests a second at most

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        install(pki["edge2"])
        edge.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 10
        while "edge: TLS certificates reloaded" not in edge.read_log(tail=None):
            assert time.monotonic() < end, edge.read_log()
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures, (failures[:3], edge.read_log())
    assert counts["old"] > 0 and counts["new"] > 0, counts
    # new connections now get the new certificate
    assert edge.https("GET", "/warm", pki["ca"].pem)[3] == new
    assert origin.count("/warm") == 1  # cached all along
    # a broken file keeps the old certificates
    live[0].write_text("not a certificate\n")
    edge.proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 10
    while "edge: TLS certificates not reloaded" not in edge.read_log(tail=None):
        assert time.monotonic() < end, edge.read_log()
        time.sleep(0.05)
    assert edge.https("GET", "/warm", pki["ca"].pem)[3] == new


def test_sighup_reloads_the_origin_ca_file(tmp_path, pki, stop_all):
    # The origin's certificate comes from a CA the edge's ca_file does not hold yet.
    origin = tls_origin(pki["unknown_ca"])
    stop_all(origin)
    trust = tmp_path / "trust.pem"
    trust.write_bytes(pki["ca"].pem.read_bytes())
    edge = TLSEdge(tmp_path, config(
        [https_origin("o", origin)],
        [{"path_pattern": "*", "target": "o", "default_ttl": "0s", "max_ttl": "0s"}],
        tls={"ca_file": f"\"{trust}\""}))
    stop_all(edge)
    st, _, body = edge.request("GET", "/before")
    assert st == 502 and origin.count() == 0, (st, body)

    def hup_until(line):
        edge.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 10
        while line not in edge.read_log(tail=None):
            assert time.monotonic() < end, edge.read_log()
            time.sleep(0.05)

    def served(path):
        """The origin's answer for path within 10 s (a failed origin may be
        held down for a moment)."""
        end = time.monotonic() + 10
        while True:
            st, _, body = edge.request("GET", path)
            if st == 200:
                return body
            assert time.monotonic() < end, (st, body, edge.read_log())
            time.sleep(0.2)

    # The CA rotated in: the file now holds the origin's CA too. No restart.
    trust.write_bytes(pki["ca"].pem.read_bytes() + pki["rogue"].pem.read_bytes())
    hup_until("edge: upstream CA reloaded")
    assert served("/after") == b"origin /after"
    # A file that does not load keeps the trust the edge has.
    trust.write_text("not a certificate\n")
    hup_until("edge: upstream CA not reloaded")
    assert "not a usable CA file" in edge.read_log(tail=None)
    assert edge.proc.poll() is None
    assert served("/later") == b"origin /later"
