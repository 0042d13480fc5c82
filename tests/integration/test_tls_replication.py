"""Replication between stores over HTTPS (issue 10, docs/replication.md).

Two stores, each with an HTTP listener (for the test's own clients) and an
HTTPS one (--tls-listen) that is the only address its peer is given
(`endpoint: https://...` with `ca_file:`): objects go both ways, a resync
lists the peer over TLS, a server_name is verified while connecting to an
IP address. A peer whose certificate names another host, or comes from a CA
nobody trusts, gets nothing: the sender's status and log say why (once, not
per retry), the rows stay queued, and once the peer has a good certificate
(replaced and SIGHUP, or a restart) every queued version arrives, deletes
included. insecure_skip_verify sends without checking and says so at every
start. Certificates come from `meridian tls ca` / `meridian tls issue`."""
import json
import os
import pathlib
import signal
import subprocess
import time

import pytest

from replenv import Pair, rules_json, wait_for
from storeenv import ALICE, Store, free_port, meridian_bin


# ---- certificates (`meridian tls`, as users make them) ----

def tls(*args):
    r = subprocess.run([meridian_bin(), "tls", *args], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, f"meridian tls {' '.join(args)}: {r.stderr}"


def make_ca(d, cn):
    """A CA in d (created): ca.pem, ca-key.pem."""
    tls("ca", "--out", str(d), "--name", cn)
    return pathlib.Path(d)


def issue(ca, prefix, names=(), ips=(), *more):
    """A certificate from CA dir `ca` for the names and IPs (the first name
    is required: "x.invalid" when only IPs are wanted): PREFIX.pem and
    PREFIX-key.pem, written over any earlier ones. Returns (cert, key)."""
    args = ["issue", "--ca", str(ca), "--out", str(prefix)]
    for n in names or ["x.invalid"]:
        args += ["--name", n]
    for i in ips:
        args += ["--ip", i]
    tls(*args, *more)
    prefix = pathlib.Path(prefix)
    return prefix.with_name(prefix.name + ".pem"), prefix.with_name(prefix.name + "-key.pem")


# ---- two stores over HTTPS ----

def peers_file(path, name, region, tls_port, **extra):
    keys = path.with_suffix(".keys")
    keys.write_text(f"{ALICE[0]} {ALICE[1]}\n")
    os.chmod(keys, 0o600)
    lines = ["peers:", f"  - name: {name}", f"    region: {region}",
             f"    endpoint: https://127.0.0.1:{tls_port}", f"    credentials: {keys.name}",
             "    backoff_max: 1s"]
    lines += [f"    {k}: {v}" for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class TLSPair(Pair):
    """Pair's two stores (A us-east-1, B eu-west-1), each also serving
    HTTPS with the given certificate; each one's peer is the other's HTTPS
    port. a_peer / b_peer: extra keys of A's peer (B) and B's peer (A)."""

    def __init__(self, tmp, cert_a, cert_b, a_peer, b_peer, rules=True):
        tmp = pathlib.Path(tmp)
        self.tmp = tmp
        pa, pb = free_port(), free_port()
        self.tls_a, self.tls_b = free_port(), free_port()
        (tmp / "a").mkdir()
        (tmp / "b").mkdir()
        fa = peers_file(tmp / "a" / "peers.yaml", "eu", "eu-west-1", self.tls_b, **a_peer)
        fb = peers_file(tmp / "b" / "peers.yaml", "us", "us-east-1", self.tls_a, **b_peer)
        self.admin_a, self.admin_b = free_port(), free_port()
        self.a = Store(tmp / "a", *self.tls_args(self.tls_a, cert_a), "--replication", str(fa),
                       "--admin", f"127.0.0.1:{self.admin_a}", region="us-east-1", port=pa)
        self.b = Store(tmp / "b", *self.tls_args(self.tls_b, cert_b), "--replication", str(fb),
                       "--admin", f"127.0.0.1:{self.admin_b}", region="eu-west-1", port=pb)
        self.ba, self.bb = "bucket-us", "bucket-eu"
        self.ca, self.cb = self.a.boto3(), self.b.boto3()
        for c, bucket in ((self.ca, self.ba), (self.cb, self.bb)):
            c.create_bucket(Bucket=bucket)
            c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        if rules:
            self.rules()

    def rules(self):
        self.a.aws("s3api", "put-bucket-replication", "--bucket", self.ba,
                   "--replication-configuration", rules_json(self.bb))
        self.b.aws("s3api", "put-bucket-replication", "--bucket", self.bb,
                   "--replication-configuration", rules_json(self.ba))

    @staticmethod
    def tls_args(port, cert):
        return ["--tls-listen", f"127.0.0.1:{port}", "--tls-cert", str(cert[0]),
                "--tls-key", str(cert[1])]

    def status(self, run, store):
        r = self.repl(run, store, "status")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)


@pytest.fixture
def ca(tmp_path):
    return make_ca(tmp_path / "ca", "Meridian test CA")


def log_lines(store, text):
    """The lines of store's whole log (all its starts) that hold text."""
    store.log.flush()
    log = (store.tmp / f"store-{store.port}.log").read_text(errors="replace")
    return [ln for ln in log.splitlines() if text in ln]


def test_objects_replicate_both_ways_over_https(tmp_path, ca, run):
    # A's certificate names its IP; B's only a host name, so A's peer entry
    # connects to B's address and verifies server_name.
    cert_a = issue(ca, tmp_path / "a-cert", ips=["127.0.0.1"])
    cert_b = issue(ca, tmp_path / "b-cert", names=["store-eu.meridian.test"])
    pair = TLSPair(tmp_path, cert_a, cert_b,
                   a_peer={"ca_file": str(ca / "ca.pem"), "server_name": "store-eu.meridian.test"},
                   b_peer={"ca_file": "../ca/ca.pem"},  # relative to B's peers file
                   rules=False)
    try:
        # Written before the rules: only a resync (which lists B over TLS)
        # sends it.
        before = pair.ca.put_object(Bucket=pair.ba, Key="shared/before", Body=b"old")
        pair.rules()
        puts = {}
        for i in range(10):
            k = f"shared/a{i}"
            puts[k] = pair.ca.put_object(Bucket=pair.ba, Key=k, Body=b"from us " * (i + 1))
            k = f"shared/b{i}"
            puts[k] = pair.cb.put_object(Bucket=pair.bb, Key=k, Body=b"from eu " * (i + 1))
        pair.ca.delete_object(Bucket=pair.ba, Key="shared/a0")
        big = os.urandom(3 << 20)  # streamed through TLS in many records
        pair.cb.put_object(Bucket=pair.bb, Key="shared/big", Body=big)
        r = pair.repl(run, pair.a, "resync", pair.ba, "--to", "eu")
        assert r.returncode == 0, r.stderr
        got = pair.wait_same(timeout=60)
        assert ("shared/before", before["VersionId"]) in got
        assert sum(1 for (k, _), v in got.items() if v[1]) == 1  # the delete marker
        for k, p in puts.items():
            assert (k, p["VersionId"]) in got
        assert pair.ca.get_object(Bucket=pair.ba, Key="shared/big")["Body"].read() == big
        sa, sb = pair.status(run, pair.a), pair.status(run, pair.b)
        pa, pb = sa["peers"][0], sb["peers"][0]
        assert pa["tls"] == "verify (ca_file)" and pa["server_name"] == "store-eu.meridian.test"
        assert pb["tls"] == "verify (ca_file)" and pb["server_name"] == ""
        assert pa["up"] and pb["up"] and pa["error"] == "" and pb["error"] == ""
        assert pa["sent"] >= 11 and pb["sent"] >= 11
        assert pa["endpoint"] == f"https://127.0.0.1:{pair.tls_b}"
        assert "versions queued" in sa["resync"]["last"]
        for s in (pair.a, pair.b):
            assert not log_lines(s, "unreachable"), s.read_log()
            assert not log_lines(s, "OFF (insecure_skip_verify"), s.read_log()
    finally:
        pair.stop()


def pending_stays_put(pair, run, keys, reason):
    """A's writes under keys reach nothing while B's certificate is bad;
    the status and the log name `reason` (once)."""
    for k in keys:
        pair.ca.put_object(Bucket=pair.ba, Key=k, Body=k.encode())
    pair.ca.delete_object(Bucket=pair.ba, Key=keys[0])
    st = wait_for(lambda: (s := pair.status(run, pair.a)["peers"][0])["error"] and s,
                  what="the TLS reason in the status")
    assert st["up"] is False and st["sent"] == 0
    assert st["error"].startswith("TLS: ") and reason in st["error"], st
    time.sleep(4)  # backoff_max 1s: several more tries, all refused
    assert Pair.versions(pair.cb, pair.bb) == {}
    st = pair.status(run, pair.a)["peers"][0]
    assert st["outages"] >= 3 and st["sent"] == 0, st
    # Logged when it started, not per retry.
    lines = log_lines(pair.a, "repl: peer eu unreachable: TLS: ")
    assert len(lines) == 1 and reason in lines[0], pair.a.read_log()
    for k in keys[1:]:  # still PENDING: an outage never makes FAILED
        assert pair.ca.head_object(Bucket=pair.ba, Key=k)["ReplicationStatus"] == "PENDING"


# B's bad certificate (issue's arguments) and the words the reason must hold.
BAD_CERTS = {
    "another-name": ((["someone-else.test"], []), "target host name '127.0.0.1'"),
    "expired": (([], ["127.0.0.1"], "--days", "-1", "--not-before-days", "-30"),
                "certificate has expired"),
}


@pytest.mark.parametrize("bad", sorted(BAD_CERTS))
def test_a_bad_certificate_sends_nothing_until_replaced_and_reloaded(tmp_path, ca, run, bad):
    args, reason = BAD_CERTS[bad]
    cert_a = issue(ca, tmp_path / "a-cert", ips=["127.0.0.1"])
    cert_b = issue(ca, tmp_path / "b-cert", *args)
    pair = TLSPair(tmp_path, cert_a, cert_b, a_peer={"ca_file": str(ca / "ca.pem")},
                   b_peer={"ca_file": str(ca / "ca.pem")})
    try:
        keys = [f"shared/k{i:02d}" for i in range(20)]
        pending_stays_put(pair, run, keys, reason)
        # B gets a good certificate in the same files and reloads.
        issue(ca, tmp_path / "b-cert", ips=["127.0.0.1"])
        pair.b.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log_lines(pair.b, "TLS certificates reloaded"), what="the reload")
        got = pair.wait_same(timeout=30)
        assert {k for k, _ in got} == set(keys)  # every key, none lost
        assert len(got) == len(keys) + 1  # and the delete marker
        st = wait_for(lambda: (s := pair.status(run, pair.a)["peers"][0])["up"] and s,
                      what="the peer up")
        assert st["error"] == "" and st["sent"] == len(keys) + 1
        assert log_lines(pair.a, "repl: peer eu reachable again")
    finally:
        pair.stop()


def test_an_unknown_ca_sends_nothing_until_the_peer_restarts_with_a_good_one(tmp_path, ca, run):
    rogue = make_ca(tmp_path / "rogue", "Someone else's CA")
    cert_a = issue(ca, tmp_path / "a-cert", ips=["127.0.0.1"])
    bad_b = issue(rogue, tmp_path / "b-rogue", ips=["127.0.0.1"])
    reason = "unable to get local issuer certificate"
    pair = TLSPair(tmp_path, cert_a, bad_b, a_peer={"ca_file": str(ca / "ca.pem")},
                   b_peer={"ca_file": str(ca / "ca.pem")})
    try:
        keys = [f"shared/u{i:02d}" for i in range(20)]
        pending_stays_put(pair, run, keys, reason)
        # The health check says it too (once), even with nothing to send.
        wait_for(lambda: log_lines(pair.a, "repl: peer eu health check failed: TLS: "),
                 timeout=10, what="the health check's TLS line")
        # B restarts with a certificate from the CA A trusts.
        good_b = issue(ca, tmp_path / "b-good", ips=["127.0.0.1"])
        pair.b.stop()
        pair.b.extra = TLSPair.tls_args(pair.tls_b, good_b) + pair.b.extra[6:]
        pair.b.start()
        pair.cb = pair.b.boto3()
        got = pair.wait_same(timeout=30)
        assert {k for k, _ in got} == set(keys) and len(got) == len(keys) + 1
        # And B to A works as well.
        pair.cb.put_object(Bucket=pair.bb, Key="shared/back", Body=b"back")
        pair.wait_same(timeout=30)
        assert len(log_lines(pair.a, "repl: peer eu health check failed")) == 1
    finally:
        pair.stop()


def test_insecure_skip_verify_sends_anyway_and_says_so_at_every_start(tmp_path, ca, run):
    rogue = make_ca(tmp_path / "rogue", "Someone else's CA")
    cert_a = issue(ca, tmp_path / "a-cert", ips=["127.0.0.1"])
    cert_b = issue(rogue, tmp_path / "b-cert", names=["not-this-one.test"])
    pair = TLSPair(tmp_path, cert_a, cert_b, a_peer={"insecure_skip_verify": "true"},
                   b_peer={"ca_file": str(ca / "ca.pem")})
    try:
        warning = (f"repl: peer eu (https://127.0.0.1:{pair.tls_b}): TLS verification of "
                   "its certificate is OFF (insecure_skip_verify: true)")
        assert len(log_lines(pair.a, warning)) == 1, pair.a.read_log()
        assert not log_lines(pair.b, "OFF (insecure_skip_verify")
        pair.ca.put_object(Bucket=pair.ba, Key="shared/x", Body=b"x")
        pair.wait_same()
        st = pair.status(run, pair.a)["peers"][0]
        assert st["tls"] == "insecure_skip_verify" and st["up"] and st["error"] == ""
        pair.a.stop()
        pair.a.start()
        assert len(log_lines(pair.a, warning)) == 2
    finally:
        pair.stop()
