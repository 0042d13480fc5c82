"""An independent Python model of S3 request signing, used to check Meridian's
output with code that is not Meridian's: canonical request (S3 rules: wire path
as sent, no normalisation), string-to-sign, SigV4A key derivation (SIGV4.md §4)
and awscrt signing helpers that produce raw HTTP/1.1 requests."""
import datetime
import hashlib
import hmac
import io
import urllib.parse

from awscrt.auth import (
    AwsCredentialsProvider,
    AwsSignatureType,
    AwsSignedBodyHeaderType,
    AwsSigningAlgorithm,
    AwsSigningConfig,
    aws_sign_request,
)
from awscrt.http import HttpHeaders, HttpRequest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

SKIP = {
    "x-amzn-trace-id", "user-agent", "connection", "expect", "sec-websocket-key",
    "sec-websocket-protocol", "sec-websocket-version", "upgrade", "transfer-encoding",
}
N_MINUS_2 = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC63254F


def derive_v4a_private_key(akid: str, secret: str) -> ec.EllipticCurvePrivateKey:
    key = b"AWS4A" + secret.encode()
    for counter in range(1, 255):
        fixed = (b"\x00\x00\x00\x01" + b"AWS4-ECDSA-P256-SHA256" + b"\x00" + akid.encode()
                 + bytes([counter]) + b"\x00\x00\x01\x00")
        k0 = int.from_bytes(hmac.new(key, fixed, hashlib.sha256).digest(), "big")
        if k0 <= N_MINUS_2:
            return ec.derive_private_key(k0 + 1, ec.SECP256R1())
    raise ValueError("no key")


def _enc(s: bytes) -> str:
    return urllib.parse.quote(s, safe="-_.~")


def canonical_query(raw: str, drop=("X-Amz-Signature",)) -> str:
    pairs = []
    for piece in raw.split("&"):
        if not piece:
            continue
        k, _, v = piece.partition("=")
        k = _enc(urllib.parse.unquote_to_bytes(k))
        v = _enc(urllib.parse.unquote_to_bytes(v))
        if k in drop:
            continue
        pairs.append((k, v))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_request(method, target, headers, signed, payload):
    path, _, query = target.partition("?")
    canon_headers = ""
    for name in signed.split(";"):
        vals = [" ".join(v.split()) for n, v in headers if n.lower() == name]
        canon_headers += f"{name}:{','.join(vals)}\n"
    return "\n".join([method, path or "/", canonical_query(query), canon_headers, signed, payload])


def string_to_sign(alg, amz_date, scope, creq):
    return "\n".join([alg, amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])


def sign(method, target, headers, body, *, akid, secret, token=None, v4a=False, region="us-east-1",
         presign=0, when=None, payload=None):
    """Sign with awscrt (S3 settings); returns (target, headers) as they go on the wire."""
    when = when or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    config = AwsSigningConfig(
        algorithm=AwsSigningAlgorithm.V4_ASYMMETRIC if v4a else AwsSigningAlgorithm.V4,
        signature_type=(AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS if presign
                        else AwsSignatureType.HTTP_REQUEST_HEADERS),
        credentials_provider=AwsCredentialsProvider.new_static(akid, secret, token),
        region=region,
        service="s3",
        date=when,
        use_double_uri_encode=False,
        should_normalize_uri_path=False,
        signed_body_value=payload if payload else ("UNSIGNED-PAYLOAD" if presign else None),
        signed_body_header_type=(AwsSignedBodyHeaderType.NONE if presign
                                 else AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256),
        expiration_in_seconds=presign or None,
    )
    req = HttpRequest(method, target, headers=HttpHeaders(headers), body_stream=io.BytesIO(body))
    signed = aws_sign_request(req, config).result()
    return signed.path, list(signed.headers)


def raw_request(method, target, headers, body=b""):
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    return head.encode("utf-8") + b"\r\n" + body
