"""`meridian store` over HTTPS (--tls-listen, --tls-cert, --tls-key), as users run it.

Certificates come from a test CA made here (Python's cryptography). curl
--cacert succeeds; a wrong host name, an expired certificate and an unknown CA
each fail with curl's clear error 60. boto3 (verify=CA) and Debian's aws-cli
(--ca-bundle) put, get and list over HTTPS, with a multipart upload of several
MiB. HTTP and HTTPS serve the same data at once. The certificate is replaced
and SIGHUP sent while threads make HTTPS requests (fresh connections and
keep-alive): no request fails and new connections see the new certificate; a
broken certificate file is refused on SIGHUP and service goes on. A store with
only --tls-listen works; bad flag combinations exit 2 with a message.
"""
import datetime
import hashlib
import http.client
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from storeenv import ALICE, Store, free_port, meridian_bin

MiB = 1 << 20
PUBLIC = "tls-public"


# ---- certificates ----

class Pki:
    """A CA and the certificates it issues, as PEM files in a directory."""

    def __init__(self, tmp, name="Meridian Test CA"):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.dir = tmp
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                    critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                                  False, False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.ca_file = str(tmp / f"{name.replace(' ', '-')}.pem")
        with open(self.ca_file, "wb") as f:
            f.write(self._pem(self.cert))

    @staticmethod
    def _pem(cert):
        from cryptography.hazmat.primitives import serialization
        return cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, prefix, dns=("localhost",), ips=("127.0.0.1",), days=30,
              not_before_days=-1, serial=None, rsa=False):
        """prefix.crt (leaf then CA) and prefix.key; returns (crt, key, DER of the leaf)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric import rsa as rsa_mod
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = (rsa_mod.generate_private_key(65537, 2048) if rsa
               else ec.generate_private_key(ec.SECP256R1()))
        now = datetime.datetime.now(datetime.timezone.utc)
        sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i))
                                                 for i in ips]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                            (dns or ips)[0])]))
                .issuer_name(self.name).public_key(key.public_key())
                .serial_number(serial or x509.random_serial_number())
                .not_valid_before(now + datetime.timedelta(days=not_before_days))
                .not_valid_after(now + datetime.timedelta(days=days))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .sign(self.key, hashes.SHA256()))
        crt, keyf = self.dir / f"{prefix}.crt", self.dir / f"{prefix}.key"
        # Written whole and renamed, as a deployment tool would.
        for path, data in ((crt, self._pem(cert) + self._pem(self.cert)),
                           (keyf, key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))):
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return str(crt), str(keyf), cert.public_bytes(serialization.Encoding.DER)


class TlsStore(Store):
    """Store with an HTTPS listener (and a plain one unless plain=False)."""

    def __init__(self, tmp, crt, key, *extra, plain=True, ca_file=None, probe_verify=True,
                 **kw):
        self.tls_port = free_port()
        self.probe_verify = probe_verify
        self.crt, self.key = crt, key
        self.plain = plain
        self.ca_file = ca_file
        super().__init__(tmp, *extra, **kw)

    @property
    def https(self):
        return f"https://localhost:{self.tls_port}"

    def start(self, wait=True):
        args = [meridian_bin(), "store", "--data", str(self.data), "--region", self.region,
                "--credentials", str(self.creds), "--tls-listen", f"127.0.0.1:{self.tls_port}",
                "--tls-cert", self.crt, "--tls-key", self.key]
        if self.plain:
            args += ["--listen", f"127.0.0.1:{self.port}"]
        self.proc = subprocess.Popen(args + self.extra, stdout=self.log, stderr=self.log)
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout=20):
        end = time.monotonic() + timeout
        ctx = (ssl.create_default_context(cafile=self.ca_file) if self.probe_verify
               else ssl._create_unverified_context())
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"store exited {self.proc.returncode}: {self.read_log()}")
            try:
                c = http.client.HTTPSConnection("localhost", self.tls_port, context=ctx,
                                                timeout=2)
                c.request("GET", "/-/health")
                if c.getresponse().status == 200:
                    c.close()
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"store not healthy over HTTPS: {self.read_log()}")

    def boto3_https(self, user=ALICE, verify=None):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.https, region_name=self.region,
                            aws_access_key_id=user[0], aws_secret_access_key=user[1],
                            verify=verify or self.ca_file,
                            config=Config(s3={"addressing_style": "path"},
                                          retries={"max_attempts": 1}))

    def aws_https(self, *args, check=True):
        exe = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else "aws"
        r = subprocess.run([exe, "--endpoint-url", self.https, "--ca-bundle", self.ca_file,
                            *args], env=self.cli_env(), capture_output=True, text=True,
                           timeout=180)
        if check and r.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} -> {r.returncode}\n{r.stdout}{r.stderr}")
        return r

    def wait_log(self, text, after=0, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.log.flush()
            log = (self.tmp / f"store-{self.port}.log").read_text(errors="replace")
            if text in log[after:]:
                return log
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} in the store's log:\n{self.read_log()}")

    def log_len(self):
        self.log.flush()
        return len((self.tmp / f"store-{self.port}.log").read_text(errors="replace"))


def curl(*args):
    return subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", *args],
                          capture_output=True, text=True, timeout=60)


def served_cert(port, ca_file, name="localhost"):
    """DER of the certificate a new connection is served."""
    ctx = ssl.create_default_context(cafile=ca_file)
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                         server_hostname=name) as s:
        return s.getpeercert(binary_form=True)


def blob(n, seed):
    import random
    return random.Random(seed).randbytes(n)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def store(tmp_path_factory, pki):
    tmp = tmp_path_factory.mktemp("tlsstore")
    crt, key, _ = pki.issue(str(tmp / "store"))
    s = TlsStore(tmp, crt, key, "--public-read", PUBLIC, ca_file=pki.ca_file)
    yield s
    rc = s.stop()
    assert rc == 0, f"store exited {rc}: {s.read_log()}"


# ---- curl: the good case and the three refusals ----

def test_curl_cacert_ok(store, pki):
    r = curl("--cacert", pki.ca_file, f"{store.https}/-/health")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "200"
    # the IP address is in the certificate too
    r = curl("--cacert", pki.ca_file, f"https://127.0.0.1:{store.tls_port}/-/health")
    assert (r.returncode, r.stdout) == (0, "200"), r.stderr
    # a signed S3 call over HTTPS
    r = subprocess.run(["curl", "-sS", "--cacert", pki.ca_file, "--aws-sigv4",
                        f"aws:amz:{store.region}:s3", "--user", f"{ALICE[0]}:{ALICE[1]}",
                        f"{store.https}/"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "<ListAllMyBucketsResult" in r.stdout
    # HTTP/1.1 is what is negotiated, though curl offers h2
    r = subprocess.run(["curl", "-sS", "-v", "-o", "/dev/null", "--cacert", pki.ca_file,
                        f"{store.https}/-/health"], capture_output=True, text=True, timeout=60)
    assert "ALPN: server accepted http/1.1" in r.stderr or \
        "ALPN, server accepted to use http/1.1" in r.stderr, r.stderr


def test_curl_wrong_host_name(store, pki):
    r = curl("--cacert", pki.ca_file, "--resolve", f"wrong.test:{store.tls_port}:127.0.0.1",
             f"https://wrong.test:{store.tls_port}/-/health")
    assert r.returncode == 60, r.stderr
    assert "no alternative certificate subject name" in r.stderr


def test_curl_unknown_ca(store, tmp_path):
    other = Pki(tmp_path, name="Some Other CA")
    r = curl("--cacert", other.ca_file, f"{store.https}/-/health")
    assert r.returncode == 60, r.stderr
    # the store sends its chain up to the root, which curl does not trust
    assert "self-signed certificate in certificate chain" in r.stderr


def test_curl_expired(tmp_path, pki):
    crt, key, _ = pki.issue(str(tmp_path / "expired"), days=-1, not_before_days=-10)
    # the store starts (an expired certificate is the operator's business)
    # but clients refuse it, clearly
    s = TlsStore(tmp_path, crt, key, ca_file=pki.ca_file, probe_verify=False, port=free_port())
    try:
        r = curl("--cacert", pki.ca_file, f"{s.https}/-/health")
        assert r.returncode == 60, r.stderr
        assert "certificate has expired" in r.stderr
        # and boto3 says so too
        from botocore.exceptions import SSLError
        with pytest.raises(SSLError, match="certificate has expired"):
            s.boto3_https().list_buckets()
    finally:
        rc = s.stop()
    assert rc == 0, s.read_log()


# ---- real S3 clients over HTTPS ----

def test_boto3_over_https(store):
    from boto3.s3.transfer import TransferConfig

    s3 = store.boto3_https()
    s3.create_bucket(Bucket="tls-boto3")
    small = blob(1000, 1)
    s3.put_object(Bucket="tls-boto3", Key="small", Body=small)
    assert s3.get_object(Bucket="tls-boto3", Key="small")["Body"].read() == small
    big = blob(13 * MiB + 5, 2)
    path = store.tmp / "big.bin"
    path.write_bytes(big)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB,
                         max_concurrency=3)
    s3.upload_file(str(path), "tls-boto3", "big", Config=cfg)
    head = s3.head_object(Bucket="tls-boto3", Key="big")
    assert head["ContentLength"] == len(big)
    assert head["ETag"].endswith('-3"')  # three parts
    got = s3.get_object(Bucket="tls-boto3", Key="big")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(big).digest()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="tls-boto3")["Contents"]]
    assert keys == ["big", "small"]


def test_aws_cli_over_https(store):
    store.aws_https("s3", "mb", "s3://tls-awscli")
    big = blob(11 * MiB + 3, 3)
    src = store.tmp / "cli-src.bin"
    src.write_bytes(big)
    store.aws_https("s3", "cp", str(src), "s3://tls-awscli/dir/big.bin")  # multipart (> 8 MiB)
    dst = store.tmp / "cli-dst.bin"
    store.aws_https("s3", "cp", "s3://tls-awscli/dir/big.bin", str(dst))
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(big).digest()
    ls = store.aws_https("s3", "ls", "s3://tls-awscli/dir/").stdout
    assert "big.bin" in ls and str(len(big)) in ls
    head = store.aws_https("s3api", "head-object", "--bucket", "tls-awscli", "--key",
                           "dir/big.bin").stdout
    assert '-2\\"' in head  # two parts of aws-cli's 8 MiB
    # without the CA aws-cli refuses, saying why
    exe = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else "aws"
    r = subprocess.run([exe, "--endpoint-url", store.https, "s3", "ls"], env=store.cli_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in r.stderr or "certificate verify failed" in r.stderr


def test_http_and_https_same_data_at_once(store):
    plain = store.boto3()
    secure = store.boto3_https()
    plain.create_bucket(Bucket="tls-both")
    errors = []

    def worker(i):
        try:
            for j in range(8):
                body = blob(20000 + i * 100 + j, i * 100 + j)
                writer, reader = (plain, secure) if (i + j) % 2 else (secure, plain)
                writer.put_object(Bucket="tls-both", Key=f"k{i}-{j}", Body=body)
                got = reader.get_object(Bucket="tls-both", Key=f"k{i}-{j}")["Body"].read()
                if got != body:
                    errors.append(f"k{i}-{j}: bytes differ")
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    n_plain = plain.list_objects_v2(Bucket="tls-both")["KeyCount"]
    n_secure = secure.list_objects_v2(Bucket="tls-both")["KeyCount"]
    assert n_plain == n_secure == 32


# ---- reload ----

LOAD_THREADS = 4
LOAD_MAX_REQUESTS = 300  # per thread
LOAD_MAX_SECONDS = 20
# Paced so the capped requests last past the reload on a fast machine too
# (unpaced, 4 x 300 requests could all be done before the SIGHUP).
LOAD_PAUSE = 0.01


def test_reload_under_load(tmp_path, pki):
    crt, key, der_old = pki.issue(str(tmp_path / "live"), serial=1001)
    # two worker loops share the certificates while the main thread reloads them
    s = TlsStore(tmp_path, crt, key, "--public-read", PUBLIC, "--workers", "2",
                 ca_file=pki.ca_file, port=free_port())
    try:
        admin = s.boto3_https()
        admin.create_bucket(Bucket=PUBLIC)
        body = blob(3000, 7)
        admin.put_object(Bucket=PUBLIC, Key="obj", Body=body)
        assert served_cert(s.tls_port, pki.ca_file) == der_old

        ctx = ssl.create_default_context(cafile=pki.ca_file)
        stop = threading.Event()
        counts = {"ok": 0, "fail": [], "keepalive_certs": set()}
        lock = threading.Lock()
        deadline = time.monotonic() + LOAD_MAX_SECONDS

        def get(conn):
            conn.request("GET", f"/{PUBLIC}/obj")
            r = conn.getresponse()
            data = r.read()
            if r.status != 200 or data != body:
                raise AssertionError(f"status {r.status}, {len(data)} bytes")

        def fresh():
            n = 0
            while not stop.is_set() and n < LOAD_MAX_REQUESTS and time.monotonic() < deadline:
                n += 1
                try:
                    c = http.client.HTTPSConnection("localhost", s.tls_port, context=ctx,
                                                    timeout=10)
                    get(c)
                    c.close()
                    with lock:
                        counts["ok"] += 1
                except Exception as e:  # noqa: BLE001
                    with lock:
                        counts["fail"].append(repr(e))
                time.sleep(LOAD_PAUSE)

        def keepalive():
            c = http.client.HTTPSConnection("localhost", s.tls_port, context=ctx, timeout=10)
            n = 0
            while not stop.is_set() and n < LOAD_MAX_REQUESTS and time.monotonic() < deadline:
                n += 1
                try:
                    get(c)
                    with lock:
                        counts["ok"] += 1
                        counts["keepalive_certs"].add(c.sock.getpeercert(binary_form=True))
                except Exception as e:  # noqa: BLE001
                    with lock:
                        counts["fail"].append(repr(e))
                    c.close()
                    c = http.client.HTTPSConnection("localhost", s.tls_port, context=ctx,
                                                    timeout=10)
                time.sleep(LOAD_PAUSE)
            c.close()

        threads = [threading.Thread(target=fresh if i % 2 == 0 else keepalive)
                   for i in range(LOAD_THREADS)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        before = counts["ok"]
        mark = s.log_len()
        _, _, der_new = pki.issue(str(tmp_path / "live"), serial=1002)  # same paths
        assert der_new != der_old
        s.proc.send_signal(signal.SIGHUP)
        s.wait_log("store: TLS certificates reloaded", after=mark)
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert not counts["fail"], counts["fail"][:5]
        assert before > 0 and counts["ok"] > before  # requests ran before and after
        # new connections get the new certificate; the keep-alive ones kept the old
        assert served_cert(s.tls_port, pki.ca_file) == der_new
        assert der_old in counts["keepalive_certs"]

        # a broken certificate file: refused, the current one stays, service goes on
        mark = s.log_len()
        with open(crt, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        s.proc.send_signal(signal.SIGHUP)
        log = s.wait_log("store: TLS certificates not reloaded", after=mark)
        assert crt in log[mark:]
        assert served_cert(s.tls_port, pki.ca_file) == der_new
        r = curl("--cacert", pki.ca_file, f"{s.https}/{PUBLIC}/obj")
        assert (r.returncode, r.stdout) == (0, "200"), r.stderr
    finally:
        rc = s.stop()
    assert rc == 0, s.read_log()


# ---- only HTTPS; flags ----

def test_tls_listen_alone(tmp_path, pki):
    crt, key, der = pki.issue(str(tmp_path / "alone"), rsa=True)
    s = TlsStore(tmp_path, crt, key, ca_file=pki.ca_file, plain=False, port=free_port())
    try:
        log = s.read_log()
        assert "HTTPS on 127.0.0.1:" in log
        assert "listening on" not in log
        s3 = s.boto3_https()
        s3.create_bucket(Bucket="alone")
        s3.put_object(Bucket="alone", Key="k", Body=b"over https only")
        assert s3.get_object(Bucket="alone", Key="k")["Body"].read() == b"over https only"
        assert served_cert(s.tls_port, pki.ca_file) == der  # an RSA certificate
        # the plain port was never opened
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
    finally:
        rc = s.stop()
    assert rc == 0, s.read_log()


def test_bad_flag_combinations(tmp_path, pki, run):
    crt, key, _ = pki.issue(str(tmp_path / "flags"))
    other_crt, other_key, _ = pki.issue(str(tmp_path / "flags2"))
    creds = tmp_path / "creds"
    creds.write_text(f"{ALICE[0]} {ALICE[1]} alice\n")
    os.chmod(creds, 0o600)
    base = ["store", "--data", str(tmp_path / "data"), "--region", "eu-west-1",
            "--credentials", str(creds)]
    port = free_port()
    cases = [
        (["--tls-listen", f"127.0.0.1:{port}"], "--tls-listen needs --tls-cert"),
        (["--tls-listen", f"127.0.0.1:{port}", "--tls-cert", crt], "--tls-listen needs"),
        (["--listen", f"127.0.0.1:{port}", "--tls-cert", crt, "--tls-key", key],
         "they need --tls-listen"),
        (["--tls-listen", f"127.0.0.1:{port}", "--tls-cert", crt, "--tls-cert", other_crt,
          "--tls-key", key], "one key per certificate"),
        (["--tls-listen", f"127.0.0.1:{port}", "--tls-cert", crt, "--tls-key", other_key],
         "does not match"),
        (["--tls-listen", f"127.0.0.1:{port}", "--tls-cert", str(tmp_path / "missing.crt"),
          "--tls-key", key], "missing.crt"),
        (["--tls-listen", f"127.0.0.1:{port}", "--tls-cert", key, "--tls-key", key],
         "not a usable PEM certificate"),
        ([], "--listen (or --tls-listen)"),
    ]
    for extra, want in cases:
        r = run(*base, *extra, timeout=30)
        assert r.returncode == 2, (extra, r.returncode, r.stderr)
        assert want in r.stderr, (extra, r.stderr)
