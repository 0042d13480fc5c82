"""Interop with an independent SigV4/SigV4A implementation (python3-awscrt, the AWS CRT):
awscrt signs randomised S3 requests and `meridian verify` must accept every one, and a
single-byte change to any signed part must be rejected every time."""
import datetime
import random
import urllib.parse

import pytest

import s3sig

AKID = "AKIAMERIDIANTEST0001"
SECRET = "u8h+Yx/2kLmN0pQrStUvWxYz1234567890ABCDEF"
TOKEN = "FwoGZXIvYXdzEJr//////////wEaDMeridian+Token/With=Odd&Chars"
N_REQUESTS = 240

KEY_ALPHABET = (
    "abcXYZ019-_.~ +%!$&'()*,;=:@/"
    "ünïcødé日本語🙂"
)


def random_key(rng):
    n = rng.randint(1, 24)
    key = "".join(rng.choice(KEY_ALPHABET) for _ in range(n))
    return key.strip("/") or "k"


def encode_path(rng, key):
    """Clients encode keys differently; S3 signs whatever went on the wire."""
    style = rng.choice(["strict", "subdelims", "lower"])
    if style == "strict":
        return urllib.parse.quote(key, safe="/~")
    if style == "subdelims":
        return urllib.parse.quote(key, safe="/~!$'()*,;:@")
    enc = urllib.parse.quote(key, safe="/~").split("%")
    return "%".join([enc[0]] + [p[:2].lower() + p[2:] for p in enc[1:]])  # lowercase hex escapes


def random_query(rng):
    pairs = []
    for _ in range(rng.randint(0, 5)):
        k = rng.choice(["versionId", "prefix", "list-type", "a b", "k+plus", "x~y", "empty", "dup"])
        v = rng.choice(["", "1", "a b", "a+b", "%/&=", "ünï", "~.-_", "dup"])
        ek = urllib.parse.quote(k, safe=rng.choice(["", "+"]))
        ev = urllib.parse.quote(v, safe=rng.choice(["", "+", "/"]))
        form = rng.choice(["kv", "kv", "k=", "k"])
        pairs.append(ek + "=" + ev if form == "kv" else ek + "=" if form == "k=" else ek)
    if rng.random() < 0.2:
        pairs.append(pairs[-1] if pairs else "dup=1")  # repeated parameter
    return "&".join(pairs)


def random_headers(rng):
    headers = []
    odd = ["plain", "  lead", "trail  ", "in   side", 'q "a   b"', "tab\tin", "a,b , c"]
    for i in range(rng.randint(0, 4)):
        headers.append((f"x-amz-meta-{rng.choice(['a', 'b', 'Mixed-Case'])}{i}", rng.choice(odd)))
    if rng.random() < 0.3:
        headers.append(("X-Amz-Meta-Dup", "first"))
        headers.append(("x-amz-meta-dup", "second  value"))
    if rng.random() < 0.3:
        headers.append(("Content-Type", rng.choice(["text/plain", "application/octet-stream"])))
    if rng.random() < 0.3:
        headers.append(("Range", "bytes=0-99"))
    if rng.random() < 0.3:
        headers.append(("If-None-Match", '"abc  def"'))
    return headers


def make_request(rng, i, port):
    v4a = i % 2 == 1
    presign = rng.choice([0, 0, 3600, 604800]) if i % 4 >= 2 else 0
    method = rng.choice(["GET", "HEAD", "DELETE"] if presign else ["GET", "PUT", "POST", "HEAD"])
    body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))) if method in ("PUT", "POST") else b""
    path = "/bucket-" + str(i % 3) + "/" + encode_path(rng, random_key(rng))
    query = random_query(rng)
    target = path + ("?" + query if query else "")
    headers = [("Host", f"127.0.0.1:{port}")] + random_headers(rng)
    if body:
        headers.append(("Content-Length", str(len(body))))
    token = TOKEN if rng.random() < 0.25 else None
    region = rng.choice(["*", "us-east-1", "us-*,eu-west-1", "eu-west-1, us-east-1"]) if v4a else "us-east-1"
    signed_target, signed_headers = s3sig.sign(
        method, target, headers, body, akid=AKID, secret=SECRET, token=token, v4a=v4a,
        region=region, presign=presign)
    # Headers a client sends that are never signed must not matter.
    signed_headers += [("User-Agent", "awscrt-interop/1.0"), ("Expect", "100-continue")][: rng.randint(0, 2)]
    return dict(method=method, target=signed_target, headers=signed_headers, body=body, token=token,
                v4a=v4a, presign=presign)


@pytest.fixture(scope="module")
def requests_signed_by_awscrt():
    rng = random.Random(20261126)
    return [make_request(rng, i, 9000 + i % 7) for i in range(N_REQUESTS)]


def verify_files(run, tmp_path, reqs, token=None):
    """Write each request to a file and run one `meridian verify`; returns {name: line}."""
    paths = []
    for n, r in enumerate(reqs):
        p = tmp_path / f"req{n:05d}.http"
        p.write_bytes(s3sig.raw_request(r["method"], r["target"], r["headers"], r["body"]))
        paths.append(str(p))
    args = ["verify", "--region", "us-east-1", "--access-key", AKID, "--secret-key", SECRET]
    results = {}
    for chunk in range(0, len(paths), 400):
        part = paths[chunk:chunk + 400]
        out = run(*args, *(["--session-token", token] if token else []), *part)
        assert out.returncode in (0, 1), out.stderr
        for line in out.stdout.splitlines():
            name, _, rest = line.partition(": ")
            if name in part:
                results[name] = rest
        assert all(p in results for p in part), out.stdout[-2000:]
    return [results[p] for p in paths]


def test_awscrt_requests_all_verify(run, tmp_path, requests_signed_by_awscrt):
    reqs = requests_signed_by_awscrt
    assert sum(r["v4a"] for r in reqs) >= 100 and sum(not r["v4a"] for r in reqs) >= 100
    assert sum(bool(r["presign"]) for r in reqs) >= 40
    for token in (None, TOKEN):
        subset = [r for r in reqs if r["token"] == token]
        lines = verify_files(run, tmp_path, subset, token)
        bad = [(r["method"], r["target"], line) for r, line in zip(subset, lines) if not line.startswith("OK")]
        assert not bad, bad[:5]
        for r, line in zip(subset, lines):
            alg = "AWS4-ECDSA-P256-SHA256" if r["v4a"] else "AWS4-HMAC-SHA256"
            assert line.startswith(f"OK {alg} {'presigned' if r['presign'] else 'header'}"), line


def _mutate_char(rng, s, positions):
    """Change one character at one of `positions` to a different one of the same class."""
    i = rng.choice(positions)
    c = s[i]
    pool = "0123456789abcdef" if c in "0123456789abcdef" else "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    new = rng.choice([x for x in pool if x != c and x.lower() != c.lower()])
    return s[:i] + new + s[i + 1:]


def _plain_positions(s):
    """Indexes of alphanumerics not inside a %XX escape (changing those changes the meaning)."""
    skip = set()
    for i, ch in enumerate(s):
        if ch == "%":
            skip.update((i + 1, i + 2))
    return [i for i, ch in enumerate(s) if ch.isalnum() and ch.isascii() and i not in skip]


def signed_parts(r):
    """Every signed part of a request, as a function making one mutated copy."""
    path, _, query = r["target"].partition("?")
    headers = r["headers"]
    if r["presign"]:
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        signed = urllib.parse.unquote(params["X-Amz-SignedHeaders"]).split(";")
    else:
        authz = dict(headers)["Authorization"]
        signed = authz.split("SignedHeaders=")[1].split(",")[0].split(";")
    parts = {}

    def with_target(t):
        return dict(r, target=t)

    parts["method"] = lambda rng: dict(r, method={"GET": "PUT", "PUT": "GET", "POST": "PUT", "HEAD": "GET",
                                                  "DELETE": "GET"}[r["method"]])
    parts["path"] = lambda rng: with_target(_mutate_char(rng, path, _plain_positions(path)[1:]) +
                                            ("?" + query if query else ""))
    pieces = [p for p in query.split("&") if p]
    for n, piece in enumerate(pieces):
        if _plain_positions(piece):
            def mutate_piece(rng, n=n):
                new = list(pieces)
                new[n] = _mutate_char(rng, new[n], _plain_positions(new[n]))
                return with_target(path + "?" + "&".join(new))
            parts[f"query[{n}]"] = mutate_piece
    for n, (name, value) in enumerate(headers):
        if name.lower() in signed and _plain_positions(value):
            def mutate_header(rng, n=n):
                new = list(headers)
                new[n] = (new[n][0], _mutate_char(rng, new[n][1], _plain_positions(new[n][1])))
                return dict(r, headers=new)
            parts[f"header {name}"] = mutate_header
    if r["body"] and not r["presign"]:
        def mutate_body(rng):
            b = bytearray(r["body"])
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            return dict(r, body=bytes(b))
        parts["body"] = mutate_body
    return parts


def test_single_byte_change_to_any_signed_part_is_rejected(run, tmp_path, requests_signed_by_awscrt):
    rng = random.Random(7)
    mutated, what = [], []
    for r in requests_signed_by_awscrt:
        for name, make in signed_parts(r).items():
            for _ in range(2):
                m = make(rng)
                if (m["method"], m["target"], m["headers"], m["body"]) == (r["method"], r["target"], r["headers"], r["body"]):
                    continue
                mutated.append(m)
                what.append(name)
    assert len(mutated) > 2000
    by_token = {}
    for m, w in zip(mutated, what):
        by_token.setdefault(m["token"], []).append((m, w))
    accepted = []
    parts_seen = set()
    for token, items in by_token.items():
        lines = verify_files(run, tmp_path, [m for m, _ in items], token)
        for (m, w), line in zip(items, lines):
            parts_seen.add(w.split("[")[0].split(" ")[0])
            if line.startswith("OK"):
                accepted.append((w, m["method"], m["target"]))
    assert not accepted, accepted[:10]
    assert {"method", "path", "query", "header", "body"} <= parts_seen


def test_expired_and_skewed_requests_are_refused(run, tmp_path):
    old = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(minutes=16)
    reqs = []
    for v4a in (False, True):
        t, h = s3sig.sign("GET", "/b/k", [("Host", "127.0.0.1:9000")], b"", akid=AKID, secret=SECRET,
                          v4a=v4a, region="*" if v4a else "us-east-1", when=old)
        reqs.append(dict(method="GET", target=t, headers=h, body=b"", token=None))
        t, h = s3sig.sign("GET", "/b/k", [("Host", "127.0.0.1:9000")], b"", akid=AKID, secret=SECRET,
                          v4a=v4a, region="*" if v4a else "us-east-1", when=old, presign=60)
        reqs.append(dict(method="GET", target=t, headers=h, body=b"", token=None))
    lines = verify_files(run, tmp_path, reqs)
    assert lines[0].startswith("ERROR RequestTimeTooSkewed"), lines[0]
    assert lines[1].startswith("ERROR AccessDenied (AUTH_EXPIRED): Request has expired"), lines[1]
    assert lines[2].startswith("ERROR RequestTimeTooSkewed"), lines[2]
    assert lines[3].startswith("ERROR AccessDenied (AUTH_EXPIRED)"), lines[3]


def test_region_set_must_include_the_verifier_region(run, tmp_path):
    reqs = []
    for region_set in ("eu-*", "us-east-1", "us-*", "ap-south-1,eu-west-1"):
        t, h = s3sig.sign("GET", "/b/k", [("Host", "127.0.0.1:9000")], b"", akid=AKID, secret=SECRET,
                          v4a=True, region=region_set)
        reqs.append(dict(method="GET", target=t, headers=h, body=b"", token=None))
    lines = verify_files(run, tmp_path, reqs)
    assert [l.split(" ")[0] for l in lines] == ["ERROR", "OK", "OK", "ERROR"], lines
    assert "AccessDenied (AUTH_REGION)" in lines[0]
