"""`meridian sign`: its signatures are checked by code that is not Meridian's — awscrt's
deterministic SigV4 for equality, and python3-cryptography ECDSA verification with an
independently derived SigV4A public key over an independently built string-to-sign."""
import datetime
import hashlib
import random
import urllib.parse

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

import s3sig

AKID = "AKIAMERIDIANSIGNTEST"
SECRET = "Zq1/+abcdefghijklmnopqrstuvwxyz0123456"
DATE = "20261126T101500Z"
WHEN = datetime.datetime(2026, 11, 26, 10, 15, 0, tzinfo=datetime.timezone.utc)


def sign_args(*extra):
    return ["sign", "--access-key", AKID, "--secret-key", SECRET, "--date", DATE, *extra]


def parse_headers(stdout):
    out = []
    for line in stdout.splitlines():
        name, _, value = line.partition(": ")
        out.append((name, value))
    return out


def random_case(rng):
    key = urllib.parse.quote("".join(rng.choice("ab c+~%ü日/") for _ in range(rng.randint(1, 12))).strip("/") or "k", safe="/~")
    query = "&".join(rng.sample(["a=1", "b=x%20y", "c", "d=", "e=%2F", "f=+"], rng.randint(0, 3)))
    headers = [f"x-amz-meta-k{i}: v {rng.randint(0, 99)}   w" for i in range(rng.randint(0, 3))]
    return key, query, headers


@pytest.mark.parametrize("seed", range(30))
def test_sigv4_equals_awscrt(run, seed, tmp_path):
    rng = random.Random(seed)
    key, query, extra = random_case(rng)
    method = rng.choice(["GET", "PUT", "DELETE"])
    body = tmp_path / "body"
    body.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randint(0, 100))))
    url = f"http://127.0.0.1:9000/bucket/{key}" + (f"?{query}" if query else "")
    args = sign_args(*sum([["-H", h] for h in extra], []))
    if method == "PUT":
        args += ["--body", str(body)]
    out = run(*args, method, url)
    assert out.returncode == 0, out.stderr
    ours = dict(parse_headers(out.stdout))
    hdrs = [("Host", "127.0.0.1:9000")] + [tuple(h.split(": ", 1)) for h in extra]
    _, theirs = s3sig.sign(method, url[len("http://127.0.0.1:9000"):], hdrs,
                           body.read_bytes() if method == "PUT" else b"", akid=AKID, secret=SECRET, when=WHEN)
    theirs = dict(theirs)
    assert ours["Authorization"] == theirs["Authorization"]
    assert ours["x-amz-content-sha256"] == theirs["x-amz-content-sha256"]
    assert ours["X-Amz-Date"] == theirs["X-Amz-Date"] == DATE


@pytest.mark.parametrize("seed", range(30))
def test_sigv4a_verifies_with_independent_key_and_canonicaliser(run, seed):
    rng = random.Random(1000 + seed)
    key, query, extra = random_case(rng)
    region_set = rng.choice(["*", "us-east-1,eu-west-1"])
    url = f"http://127.0.0.1:9000/bucket/{key}" + (f"?{query}" if query else "")
    out = run(*sign_args("--sigv4a", "--region-set", region_set, *sum([["-H", h] for h in extra], [])), "GET", url)
    assert out.returncode == 0, out.stderr
    got = parse_headers(out.stdout)
    ours = dict(got)
    assert ours["X-Amz-Region-Set"] == region_set
    authz = ours["Authorization"]
    assert authz.startswith(f"AWS4-ECDSA-P256-SHA256 Credential={AKID}/20261126/s3/aws4_request, SignedHeaders=")
    signed = authz.split("SignedHeaders=")[1].split(",")[0]
    sig = bytes.fromhex(authz.split("Signature=")[1])
    headers = [("Host", "127.0.0.1:9000")] + [tuple(h.split(": ", 1)) for h in extra] + got
    creq = s3sig.canonical_request("GET", url[len("http://127.0.0.1:9000"):], headers, signed,
                                   hashlib.sha256(b"").hexdigest())
    sts = s3sig.string_to_sign("AWS4-ECDSA-P256-SHA256", DATE, "20261126/s3/aws4_request", creq)
    pub = s3sig.derive_v4a_private_key(AKID, SECRET).public_key()
    pub.verify(sig, sts.encode(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        pub.verify(sig, sts.encode() + b"x", ec.ECDSA(hashes.SHA256()))


def test_presigned_urls_checked_independently(run):
    url = "http://127.0.0.1:9000/bucket/a%20b.txt?versionId=7"
    out = run(*sign_args("--presign", "900"), "GET", url)
    assert out.returncode == 0, out.stderr
    ours = out.stdout.strip()
    theirs, _ = s3sig.sign("GET", "/bucket/a%20b.txt?versionId=7", [("Host", "127.0.0.1:9000")], b"",
                           akid=AKID, secret=SECRET, when=WHEN, presign=900)
    q = lambda u: sorted(urllib.parse.urlsplit(u).query.split("&"))
    assert q(ours) == q("http://x" + theirs)

    out = run(*sign_args("--sigv4a", "--presign", "900"), "GET", url)
    assert out.returncode == 0, out.stderr
    target = out.stdout.strip()[len("http://127.0.0.1:9000"):]
    params = dict(p.split("=", 1) for p in target.split("?", 1)[1].split("&"))
    assert params["X-Amz-Region-Set"] == "%2A" and params["X-Amz-Expires"] == "900"
    creq = s3sig.canonical_request("GET", target, [("Host", "127.0.0.1:9000")], "host", "UNSIGNED-PAYLOAD")
    sts = s3sig.string_to_sign("AWS4-ECDSA-P256-SHA256", DATE, "20261126/s3/aws4_request", creq)
    pub = s3sig.derive_v4a_private_key(AKID, SECRET).public_key()
    pub.verify(bytes.fromhex(params["X-Amz-Signature"]), sts.encode(), ec.ECDSA(hashes.SHA256()))


def test_python_model_matches_awscrt():
    """The independent model itself agrees with awscrt, so it can judge Meridian."""
    target = "/bucket/x%20y?b=2&a=1&a=0&c"
    headers = [("Host", "127.0.0.1:9000"), ("x-amz-meta-a", "  p   q ")]
    _, signed = s3sig.sign("GET", target, headers, b"", akid=AKID, secret=SECRET, when=WHEN)
    d = dict(signed)
    names = d["Authorization"].split("SignedHeaders=")[1].split(",")[0]
    creq = s3sig.canonical_request("GET", target, signed, names, d["x-amz-content-sha256"])
    sts = s3sig.string_to_sign("AWS4-HMAC-SHA256", DATE, "20261126/us-east-1/s3/aws4_request", creq)
    import hmac as _h
    k = ("AWS4" + SECRET).encode()
    for part in ("20261126", "us-east-1", "s3", "aws4_request"):
        k = _h.new(k, part.encode(), hashlib.sha256).digest()
    assert d["Authorization"].endswith("Signature=" + _h.new(k, sts.encode(), hashlib.sha256).hexdigest())
