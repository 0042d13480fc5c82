"""`meridian tls ca` and `meridian tls issue`: the files they write are what OpenSSL's
command line and Python's ssl module (a real handshake, in memory) accept, and what
they must refuse: an expired certificate, another CA, a wrong host name."""
import os
import shutil
import ssl
import stat
import subprocess

import pytest


def handshake(server_cert, server_key, cafile, server_name):
    """A TLS handshake between two ssl.SSLObjects over memory BIOs; raises the
    client's error (ssl.SSLCertVerificationError) when it refuses the server."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(server_cert, server_key)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(cafile)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = cctx.wrap_bio(c_in, c_out, server_hostname=server_name)
    server = sctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(20):
        for name, obj in (("c", client), ("s", server)):
            if not done[name]:
                try:
                    obj.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if done["c"] and done["s"]:
            return client.version()
    raise AssertionError("handshake did not finish")


@pytest.fixture
def ca(run, tmp_path):
    d = tmp_path / "ca"
    out = run("tls", "ca", "--out", str(d), "--name", "Test Stack CA")  # creates DIR
    assert out.returncode == 0, out.stderr
    return d


def test_ca_and_issue_files(run, ca, tmp_path):
    assert stat.S_IMODE(os.stat(ca / "ca-key.pem").st_mode) == 0o600
    prefix = tmp_path / "edge"
    out = run("tls", "issue", "--ca", str(ca), "--out", str(prefix), "--name", "localhost",
              "--name", "edge.test", "--ip", "127.0.0.1", "--ip", "::1")
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE(os.stat(f"{prefix}-key.pem").st_mode) == 0o600
    pem = open(f"{prefix}.pem").read()
    assert pem.count("BEGIN CERTIFICATE") == 1
    # ECDSA by default: the handshake works for every name and address.
    for name in ("localhost", "edge.test", "127.0.0.1", "::1"):
        assert handshake(f"{prefix}.pem", f"{prefix}-key.pem", ca / "ca.pem", name)
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        handshake(f"{prefix}.pem", f"{prefix}-key.pem", ca / "ca.pem", "other.test")

    if shutil.which("openssl"):
        v = subprocess.run(["openssl", "verify", "-CAfile", str(ca / "ca.pem"),
                            "-purpose", "sslserver", "-verify_hostname", "edge.test",
                            f"{prefix}.pem"], capture_output=True, text=True)
        assert v.returncode == 0 and v.stdout.strip().endswith(": OK"), v.stdout + v.stderr
        t = subprocess.run(["openssl", "x509", "-in", f"{prefix}.pem", "-noout", "-text"],
                           capture_output=True, text=True).stdout
        assert "id-ecPublicKey" in t and "CA:FALSE" in t
        assert "DNS:localhost, DNS:edge.test, IP Address:127.0.0.1" in t


def test_rsa_with_chain(run, ca, tmp_path):
    prefix = tmp_path / "store"
    out = run("tls", "issue", "--ca", str(ca), "--out", str(prefix), "--name", "store.test",
              "--rsa", "--chain")
    assert out.returncode == 0, out.stderr
    pem = open(f"{prefix}.pem").read()
    assert pem.count("BEGIN CERTIFICATE") == 2
    ca_pem = open(ca / "ca.pem").read()
    assert pem.endswith(ca_pem) and not pem.startswith(ca_pem)  # the leaf, then the CA
    assert handshake(f"{prefix}.pem", f"{prefix}-key.pem", ca / "ca.pem", "store.test")
    if shutil.which("openssl"):
        t = subprocess.run(["openssl", "x509", "-in", f"{prefix}.pem", "-noout", "-text"],
                           capture_output=True, text=True).stdout
        assert "rsaEncryption" in t and "(2048 bit)" in t


def test_expired_and_unknown_ca_are_refused(run, ca, tmp_path):
    old = tmp_path / "old"
    out = run("tls", "issue", "--ca", str(ca), "--out", str(old), "--name", "old.test",
              "--not-before-days", "-10", "--days", "-1")
    assert out.returncode == 0, out.stderr
    with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
        handshake(f"{old}.pem", f"{old}-key.pem", ca / "ca.pem", "old.test")

    other = tmp_path / "other"
    assert run("tls", "ca", "--out", str(other)).returncode == 0
    stranger = tmp_path / "stranger"
    assert run("tls", "issue", "--ca", str(other), "--out", str(stranger),
               "--name", "old.test").returncode == 0
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(f"{stranger}.pem", f"{stranger}-key.pem", ca / "ca.pem", "old.test")
    if shutil.which("openssl"):
        v = subprocess.run(["openssl", "verify", "-CAfile", str(ca / "ca.pem"), f"{old}.pem"],
                           capture_output=True, text=True)
        assert v.returncode != 0 and "expired" in v.stdout + v.stderr


def test_second_issue_reuses_the_ca_and_ca_is_not_replaced(run, ca, tmp_path):
    before = open(ca / "ca.pem").read()
    out = run("tls", "ca", "--out", str(ca))
    assert out.returncode == 1 and "--force" in out.stderr
    assert open(ca / "ca.pem").read() == before
    a, b = tmp_path / "a", tmp_path / "b"
    for p in (a, b):
        assert run("tls", "issue", "--ca", str(ca), "--out", str(p), "--name", "x.test").returncode == 0
        assert handshake(f"{p}.pem", f"{p}-key.pem", ca / "ca.pem", "x.test")
    assert open(f"{a}.pem").read() != open(f"{b}.pem").read()
    assert run("tls", "ca", "--out", str(ca), "--force").returncode == 0
    assert open(ca / "ca.pem").read() != before


@pytest.mark.parametrize("args, message", [
    ([], "ca or issue"),
    (["nope"], "unknown subcommand"),
    (["ca"], "--out DIR is required"),
    (["ca", "--out", "/tmp/x", "--days", "0"], "--days must be positive"),
    (["ca", "--out", "/tmp/x", "--days", "ten"], "whole number of days"),
    (["issue", "--ca", "/tmp/x", "--out", "/tmp/y"], "--name NAME are required"),
    (["issue", "--ca", "/tmp/x", "--out", "/tmp/y", "--name", "a", "--days", "-1"],
     "--days must be later than --not-before-days"),
    (["issue", "--ca", "/tmp/x", "--out", "/tmp/y", "--name", "a", "--bogus"], ""),
    (["issue", "--ca", "/tmp/x", "--out", "/tmp/y", "--name", "a", "extra"], "unexpected argument"),
])
def test_usage_errors_exit_2(run, args, message):
    out = run("tls", *args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert "usage: meridian tls" in out.stderr


def test_bad_names_exit_2(run, ca, tmp_path):
    for extra in (["--name", "a..b"], ["--name", "ok.test", "--ip", "300.1.1.1"]):
        out = run("tls", "issue", "--ca", str(ca), "--out", str(tmp_path / "z"), *extra)
        assert out.returncode == 2, out.stderr
        assert "not a DNS name" in out.stderr or "not an IP address" in out.stderr
    assert not (tmp_path / "z.pem").exists()


def test_missing_ca_exits_1(run, tmp_path):
    out = run("tls", "issue", "--ca", str(tmp_path / "none"), "--out", str(tmp_path / "z"),
              "--name", "a.test")
    assert out.returncode == 1
    assert "none/ca.pem" in out.stderr


def test_help(run):
    out = run("tls", "--help")
    assert out.returncode == 0
    assert out.stdout.startswith("usage: meridian tls ca")
