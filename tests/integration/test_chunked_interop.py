"""aws-chunked uploads end to end: awscrt signs the seed request (an independent
implementation), this test builds the chunk and trailer signatures itself from the AWS
specification (hmac for SigV4, python3-cryptography ECDSA for SigV4A) and the CRC32
trailer with zlib, and `meridian verify` must decode and accept the body, and refuse it
after any tampering."""
import base64
import hashlib
import hmac
import random
import zlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

import s3sig

AKID = "AKIAMERIDIANCHUNKED1"
SECRET = "c7Yq/+PLmN0pQrStUvWxYz1234567890abcdEF"
EMPTY = hashlib.sha256(b"").hexdigest()


class ChunkSigner:
    def __init__(self, v4a, amz_date, scope, seed):
        self.v4a, self.date, self.scope, self.prev = v4a, amz_date, scope, seed
        alg = "AWS4-ECDSA-P256-SHA256" if v4a else "AWS4-HMAC-SHA256"
        self.alg = alg
        if v4a:
            self.key = s3sig.derive_v4a_private_key(AKID, SECRET)
        else:
            k = ("AWS4" + SECRET).encode()
            for part in (amz_date[:8], "us-east-1", "s3", "aws4_request"):
                k = hmac.new(k, part.encode(), hashlib.sha256).digest()
            self.key = k

    def _sign(self, sts):
        if self.v4a:
            sig = self.key.sign(sts.encode(), ec.ECDSA(hashes.SHA256())).hex()
            self.prev = sig
            return sig.ljust(144, "*")  # SDKs pad to a fixed frame length
        self.prev = hmac.new(self.key, sts.encode(), hashlib.sha256).hexdigest()
        return self.prev

    def chunk(self, data):
        sts = "\n".join([self.alg + "-PAYLOAD", self.date, self.scope, self.prev, EMPTY,
                         hashlib.sha256(data).hexdigest()])
        return f"{len(data):x};chunk-signature={self._sign(sts)}\r\n".encode() + data + b"\r\n"

    def trailer(self, trailers):
        canon = "".join(f"{n}:{v}\n" for n, v in sorted(trailers))
        sts = "\n".join([self.alg + "-TRAILER", self.date, self.scope, self.prev,
                         hashlib.sha256(canon.encode()).hexdigest()])
        return f"x-amz-trailer-signature:{self._sign(sts)}\r\n".encode()


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def build(v4a, mode, data, chunk=65536, trailer=True):
    headers = [("Host", "127.0.0.1:9000"), ("Content-Encoding", "aws-chunked"),
               ("x-amz-decoded-content-length", str(len(data)))]
    trailers = [("x-amz-checksum-crc32", crc32_b64(data))] if trailer else []
    if trailer:
        headers.append(("x-amz-trailer", "x-amz-checksum-crc32"))
    target, signed = s3sig.sign("PUT", "/bucket/big%20object.bin", headers, b"", akid=AKID, secret=SECRET,
                                v4a=v4a, region="*" if v4a else "us-east-1", payload=mode)
    d = dict(signed)
    seed = d["Authorization"].split("Signature=")[1]
    scope = d["Authorization"].split("Credential=")[1].split(",")[0].split("/", 1)[1]
    body = b""
    if mode == "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
        for i in range(0, len(data), chunk):
            part = data[i:i + chunk]
            body += f"{len(part):x}\r\n".encode() + part + b"\r\n"
        body += b"0\r\n" + b"".join(f"{n}:{v}\r\n".encode() for n, v in trailers) + b"\r\n"
    else:
        signer = ChunkSigner(v4a, d["X-Amz-Date"], scope, seed)
        for i in range(0, len(data), chunk):
            body += signer.chunk(data[i:i + chunk])
        last = signer.chunk(b"")
        if mode.endswith("-TRAILER"):
            body += last[:-2] + b"".join(f"{n}:{v}\r\n".encode() for n, v in trailers)
            body += signer.trailer(trailers) + b"\r\n"
        else:
            body += last
    signed.append(("Content-Length", str(len(body))))
    return target, signed, body


MODES = [
    (False, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
    (False, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"),
    (True, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"),
    (True, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"),
    (False, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
    (True, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
]


def verify(run, tmp_path, files):
    out = run("verify", "--region", "us-east-1", "--access-key", AKID, "--secret-key", SECRET,
              *map(str, files))
    lines = dict(l.split(": ", 1) for l in out.stdout.splitlines() if ": " in l)
    return [lines[str(f)] for f in files]


@pytest.mark.parametrize("v4a,mode", MODES, ids=[m for _, m in MODES])
def test_streaming_upload_verifies_and_tampering_is_refused(run, tmp_path, v4a, mode):
    rng = random.Random(mode)
    data = bytes(rng.randrange(256) for _ in range(200_000))
    target, headers, body = build(v4a, mode, data, trailer=mode.endswith("TRAILER"))
    good = tmp_path / "good.http"
    good.write_bytes(s3sig.raw_request("PUT", target, headers, body))
    files = [good]
    # Tamper: a data byte in the middle, the last data byte, a chunk signature, the trailer value.
    signed_chunks = "UNSIGNED" not in mode
    flips = [len(body) // 2, body.rfind(b"\r\n0") - 1]
    if signed_chunks:
        flips.append(body.index(b"chunk-signature=") + 20)
    if mode.endswith("TRAILER"):
        flips.append(body.index(b"x-amz-checksum-crc32:") + 22)
    for n, pos in enumerate(flips):
        b = bytearray(body)
        b[pos] = ord("0") if b[pos] != ord("0") else ord("1")
        f = tmp_path / f"bad{n}.http"
        f.write_bytes(s3sig.raw_request("PUT", target, headers, bytes(b)))
        files.append(f)
    truncated = tmp_path / "truncated.http"
    truncated.write_bytes(s3sig.raw_request("PUT", target, headers, body[:-7]))
    files.append(truncated)
    lines = verify(run, tmp_path, files)
    assert lines[0] == f"OK {'AWS4-ECDSA-P256-SHA256' if v4a else 'AWS4-HMAC-SHA256'} header payload={mode} bytes=200000", lines[0]
    # Signed chunks catch data changes by signature; unsigned ones by the CRC32 trailer.
    data_error = "SignatureDoesNotMatch" if signed_chunks else "BadDigest"
    for n, line in enumerate(lines[1:len(flips) + 1]):
        assert line.startswith("ERROR"), (n, line)
    assert lines[1].startswith(f"ERROR {data_error}"), lines[1]
    assert lines[2].startswith(f"ERROR {data_error}"), lines[2]
    if mode.endswith("TRAILER"):
        want = "SignatureDoesNotMatch" if signed_chunks else "BadDigest"
        assert lines[len(flips)].startswith(f"ERROR {want}"), lines[len(flips)]
    assert lines[-1].startswith("ERROR IncompleteBody"), lines[-1]


def test_small_chunks_are_refused_like_s3(run, tmp_path):
    target, headers, body = build(False, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", b"x" * 3000, chunk=1000, trailer=False)
    f = tmp_path / "small.http"
    f.write_bytes(s3sig.raw_request("PUT", target, headers, body))
    assert verify(run, tmp_path, [f])[0].startswith("ERROR InvalidChunkSizeError (CHUNK_SIZE)")
