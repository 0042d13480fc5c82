"""Run `meridian store` as users run it, and point real S3 clients at it.

Store(...) starts the binary on a free loopback port with a temporary data
directory and credentials file, waits for its health endpoint, and stops it by
PID. The helpers build clients the way their users configure them: boto3
(Debian's, path style or virtual-hosted, SigV4 or SigV4A), aws-cli, rclone and
s3cmd (each with a private config file in the test's temp dir), curl
--aws-sigv4."""
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
REGION = "eu-west-1"

# Two users; the second proves ownership boundaries.
ALICE = ("AKIAALICE00000000001", "alice/Secret+Key0123456789abcdefghijklmn", "alice")
BOB = ("AKIABOB0000000000002", "bobSecretKey0123456789abcdefghijklmnopqr", "bob")


def meridian_bin():
    return os.environ.get("MERIDIAN_BIN", str(ROOT / "build" / "meridian"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Store:
    def __init__(self, tmp, *extra, region=REGION, users=(ALICE, BOB), domain=None, port=None,
                 data=None, access_points=None, mrap_domains=()):
        self.tmp = pathlib.Path(tmp)
        self.data = pathlib.Path(data) if data else self.tmp / "data"
        self.creds = self.tmp / "credentials"
        self.creds.write_text("".join(f"{k} {s} {n}\n" for k, s, n in users))
        os.chmod(self.creds, 0o600)
        self.region = region
        self.domain = domain
        self.port = port or free_port()
        self.extra = list(extra)
        # {alias: bucket} -> --access-point alias=bucket; --mrap-domain each.
        self.access_points = dict(access_points or {})
        self.mrap_domains = list(mrap_domains)
        self.log = open(self.tmp / f"store-{self.port}.log", "ab")
        self.proc = None
        self.start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait=True):
        args = [meridian_bin(), "store", "--listen", f"127.0.0.1:{self.port}", "--data",
                str(self.data), "--region", self.region, "--credentials", str(self.creds)]
        if self.domain:
            args += ["--domain", self.domain]
        for alias, bucket in self.access_points.items():
            args += ["--access-point", f"{alias}={bucket}"]
        for d in self.mrap_domains:
            args += ["--mrap-domain", d]
        self.proc = subprocess.Popen(args + self.extra, stdout=self.log, stderr=self.log)
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"store exited {self.proc.returncode}: {self.read_log()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/-/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"store not healthy: {self.read_log()}")

    def read_log(self):
        self.log.flush()
        return (self.tmp / f"store-{self.port}.log").read_text(errors="replace")[-4000:]

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        # A store that died on its own (a crash, a sanitizer report) fails the
        # test that owns it, with the end of its log, instead of leaving only
        # "connection refused" errors in the tests that come after.
        died = self.proc is not None and self.proc.poll() not in (None, 0, -signal.SIGKILL)
        if died:
            raise AssertionError(f"store exited {self.proc.returncode} by itself:\n{self.read_log()}")
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    # ---- clients ----

    def boto3(self, user=ALICE, addressing="path", sigv4a=False, **cfg):
        import boto3
        from botocore.config import Config

        kw = {"s3": {"addressing_style": addressing}, "retries": {"max_attempts": 1},
              "signature_version": "s3v4a" if sigv4a else "s3v4"}
        kw.update(cfg)
        endpoint = self.endpoint
        if addressing == "virtual":
            endpoint = f"http://{self.domain}:{self.port}"
        return boto3.client("s3", endpoint_url=endpoint, region_name=self.region,
                            aws_access_key_id=user[0], aws_secret_access_key=user[1],
                            config=Config(**kw))

    def cli_env(self, user=ALICE):
        """Environment for aws-cli, rclone and s3cmd subprocesses."""
        home = self.tmp / "home"
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME=str(home), AWS_ACCESS_KEY_ID=user[0], AWS_SECRET_ACCESS_KEY=user[1],
                   AWS_DEFAULT_REGION=self.region, AWS_EC2_METADATA_DISABLED="true",
                   AWS_CONFIG_FILE=str(home / "aws-config"),
                   AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"))
        return env

    def aws(self, *args, user=ALICE, check=True, input=None):
        """Debian's aws-cli (/usr/bin/aws), not whatever is first on PATH."""
        exe = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which("aws")
        r = subprocess.run([exe, "--endpoint-url", self.endpoint, *args], env=self.cli_env(user),
                           capture_output=True, text=True, timeout=120, input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} -> {r.returncode}\n{r.stdout}{r.stderr}")
        return r

    def rclone(self, *args, user=ALICE, check=True):
        conf = self.tmp / "rclone.conf"
        conf.write_text("[m]\ntype = s3\nprovider = Other\n"
                        f"access_key_id = {user[0]}\nsecret_access_key = {user[1]}\n"
                        f"endpoint = {self.endpoint}\nregion = {self.region}\n"
                        "force_path_style = true\n")
        r = subprocess.run(["rclone", "--config", str(conf), *args], env=self.cli_env(user),
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"rclone {' '.join(args)} -> {r.returncode}\n{r.stderr}")
        return r

    def s3cmd(self, *args, user=ALICE, check=True):
        conf = self.tmp / "s3cfg"
        host = f"127.0.0.1:{self.port}"
        conf.write_text("[default]\n"
                        f"access_key = {user[0]}\nsecret_key = {user[1]}\n"
                        f"host_base = {host}\nhost_bucket = {host}\n"
                        f"bucket_location = {self.region}\nuse_https = False\n"
                        "signature_v2 = False\n")
        r = subprocess.run(["s3cmd", "-c", str(conf), *args], env=self.cli_env(user),
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"s3cmd {' '.join(args)} -> {r.returncode}\n{r.stdout}{r.stderr}")
        return r

    def curl(self, *args, user=ALICE, check=True):
        r = subprocess.run(["curl", "-sS", "--aws-sigv4", f"aws:amz:{self.region}:s3",
                            "--user", f"{user[0]}:{user[1]}", *args],
                           capture_output=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"curl {' '.join(args)} -> {r.returncode}\n{r.stderr!r}")
        return r


# ---- added for the client scenario tests (test_store_clients.py) ----

def route_to_loopback(client):
    """Let a boto3 client use virtual-hosted names (bucket.s3.example.test) that
    no resolver knows: each request still goes out with its own Host header and
    signature, but connects to 127.0.0.1 on the URL's port. Scoped to this
    client (a botocore before-send hook), nothing process-wide. Returns the list
    of (host, path) the client asked for, to check the addressing style."""
    import urllib.parse

    asked = []

    def to_loopback(request, **kw):
        u = urllib.parse.urlsplit(request.url)
        asked.append((u.netloc, u.path))
        request.headers["Host"] = u.netloc
        request.url = urllib.parse.urlunsplit(
            (u.scheme, f"127.0.0.1:{u.port}", u.path, u.query, u.fragment))

    client.meta.events.register("before-send.s3", to_loopback)
    return asked


class TlsFront:
    """A TLS terminator on loopback in front of a plain-HTTP port, for clients
    that send differently over HTTPS (botocore puts flexible checksums in
    aws-chunked trailers only over TLS). Bytes pass unchanged both ways, one
    backend connection per client connection. `cafile` is the self-signed
    certificate (for 127.0.0.1) to trust; `endpoint` the https URL. Runs an
    asyncio loop in a daemon thread of the test process; stop() ends it."""

    def __init__(self, tmp, backend_port):
        import asyncio
        import ssl
        import threading

        self.backend_port = backend_port
        self.cafile, keyfile = self._certificate(pathlib.Path(tmp))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cafile, keyfile)
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0, ssl=ctx))
        self.port = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return f"https://127.0.0.1:{self.port}"

    @staticmethod
    def _certificate(tmp):
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        certfile, keyfile = tmp / "front-cert.pem", tmp / "front-key.pem"
        certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
        return str(certfile), str(keyfile)

    async def _client(self, reader, writer):
        import asyncio

        try:
            breader, bwriter = await asyncio.open_connection("127.0.0.1", self.backend_port)
        except OSError:
            writer.close()
            return

        async def pump(r, w):
            try:
                while True:
                    data = await r.read(65536)
                    if not data:
                        break
                    w.write(data)
                    await w.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                if w.can_write_eof():
                    w.write_eof()
                else:
                    w.close()

        await asyncio.gather(pump(reader, bwriter), pump(breader, writer),
                             return_exceptions=True)
        writer.close()
        bwriter.close()

    def stop(self):
        import asyncio

        async def shutdown():
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def newest_python():
    """A python3 whose boto3 sends flexible checksums by default (>= 1.36),
    e.g. pyenv's; None if the machine has none."""
    cands = [shutil.which("python3"), os.path.expanduser("~/.pyenv/shims/python3"),
             "/root/.pyenv/shims/python3"]
    for exe in dict.fromkeys(c for c in cands if c and os.access(c, os.X_OK)):
        try:
            r = subprocess.run(
                [exe, "-c", "import sys, boto3; print(boto3.__version__, sys.executable)"],
                capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0 and len(r.stdout.split()) == 2:
            version, real = r.stdout.split()
            ver = tuple(int(x) for x in version.split(".")[:2] if x.isdigit())
            if ver >= (1, 36):
                return real  # the interpreter itself: a shim may need $HOME
    return None


# ---- added for the access point tests (test_store_alias.py) ----

def sign_region_set(client, region_set):
    """Make a SigV4A boto3 client (Store.boto3(sigv4a=True)) sign with this
    X-Amz-Region-Set instead of its region, as SDKs do for a multi-region access
    point ("*"); botocore refuses region_name="*" itself (SIGV4.md §7). Scoped
    to this client (a before-sign hook)."""

    def set_region(request, **kw):
        request.context.setdefault("signing", {})["region"] = region_set

    client.meta.events.register("before-sign.s3", set_region)
    return client
