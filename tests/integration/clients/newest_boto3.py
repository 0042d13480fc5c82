"""Drive the NEWEST boto3 on the machine (run by the pyenv python, not Debian's)
against `meridian store`, and print what happened as JSON for the test to judge.

boto3 >= 1.36 sends flexible checksums by default: over plain HTTP a
x-amz-checksum-crc32 header with a signed payload, over HTTPS an aws-chunked
body with STREAMING-UNSIGNED-PAYLOAD-TRAILER and the checksum in a trailer.
The test runs this script against both (HTTPS through a TLS front on
loopback). Nothing here decides pass or fail: the script records wire headers,
returned checksums and error codes; the test compares them with values it
computes itself from the same files.

Input: one JSON object on stdin (see main). Output: one JSON object on stdout.
"""
import base64
import hashlib
import json
import os
import sys
import urllib.parse

import boto3
import botocore
import botocore.httpchecksum
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError, MissingDependencyException

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crc  # noqa: E402

ALGS = ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]
WIRE = ("x-amz-content-sha256", "content-encoding", "transfer-encoding", "x-amz-trailer",
        "x-amz-decoded-content-length", "x-amz-sdk-checksum-algorithm", "content-length")


def b64(d):
    return base64.b64encode(d).decode()


def local_value(alg, data):
    """The checksum of data, for algorithms botocore computes only with awscrt."""
    return b64({"CRC32C": crc.crc32c, "CRC64NVME": crc.crc64nvme}[alg](data))


def error_code(e):
    return e.response.get("Error", {}).get("Code"), e.response["ResponseMetadata"]["HTTPStatusCode"]


class Wire:
    """Headers of each request as sent (after signing), per operation."""

    def __init__(self, client):
        self.last = {}
        self.ops = {}
        client.meta.events.register("before-send.s3", self._seen)

    def _seen(self, request, event_name, **kw):
        h = {k.lower(): (v.decode() if isinstance(v, bytes) else v)
             for k, v in request.headers.items()}
        self.last = {k: h[k] for k in h if k in WIRE or k.startswith("x-amz-checksum")}
        self.ops[event_name.rsplit(".", 1)[-1]] = self.last


def client_for(ep, cfg, **extra):
    kw = {"s3": {"addressing_style": "path"}, "retries": {"max_attempts": 1}}
    kw.update(extra)
    return boto3.client("s3", endpoint_url=ep["url"], region_name=cfg["region"],
                        aws_access_key_id=cfg["akid"], aws_secret_access_key=cfg["secret"],
                        verify=ep.get("verify", True), config=Config(**kw))


def put_get(c, wire, bucket, key, data, alg=None):
    """PutObject with alg (or botocore's default), then GetObject and HeadObject with
    and without ChecksumMode."""
    out = {}
    args = {"Bucket": bucket, "Key": key, "Body": data}
    if alg:
        args["ChecksumAlgorithm"] = alg
    try:
        r = c.put_object(**args)
        out["computed_by"] = "botocore"
    except MissingDependencyException:
        # This botocore has no awscrt: send the value ourselves, as an SDK user would.
        args["Checksum" + alg] = local_value(alg, data)
        r = c.put_object(**args)
        out["computed_by"] = "script"
    out["wire"] = wire.last
    out["put"] = {k: v for k, v in r.items() if k.startswith("Checksum") or k == "ETag"}
    g = c.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    body = g["Body"].read()
    out["get_sha256"] = hashlib.sha256(body).hexdigest()
    out["get_len"] = len(body)
    out["get"] = {k: v for k, v in g.items() if k.startswith("Checksum")}
    out["get_wire_mode"] = wire.last.get("x-amz-checksum-mode")
    h = c.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    out["head"] = {k: v for k, v in h.items() if k.startswith("Checksum")}
    h = c.head_object(Bucket=bucket, Key=key)
    out["head_plain"] = {k: v for k, v in h.items() if k.startswith("Checksum")}
    return out


class WrongCrc32(botocore.httpchecksum.Crc32Checksum):
    """A CRC32 that is off by one: the client's value no longer fits the bytes."""

    def digest(self):
        d = bytearray(super().digest())
        d[-1] ^= 1
        return bytes(d)


def refused(c, wire, bucket, key, data, **args):
    out = {}
    try:
        c.put_object(Bucket=bucket, Key=key, Body=data, **args)
        out["code"] = None
    except ClientError as e:
        out["code"], out["status"] = error_code(e)
    out["wire"] = wire.last
    try:
        c.head_object(Bucket=bucket, Key=key)
        out["stored"] = True
    except ClientError as e:
        out["stored"] = error_code(e)[1] != 404
    return out


def multipart(c, wire, bucket, key, parts, alg):
    """Create with ChecksumAlgorithm, parts with it, ListParts, Complete with the
    part checksums, then HEAD with ChecksumMode. `step` says how far it got."""
    out = {"parts": [], "step": "CreateMultipartUpload"}
    try:
        multipart_steps(out, c, wire, bucket, key, parts, alg)
    except ClientError as e:
        out["error"], out["status"] = error_code(e)
        out["message"] = str(e)
    return out


def multipart_steps(out, c, wire, bucket, key, parts, alg):
    try:
        r = c.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=alg)
    finally:
        out["create_wire"] = wire.last
    out["create_algorithm"] = r.get("ChecksumAlgorithm")
    uid = r["UploadId"]
    done = []
    for i, data in enumerate(parts, 1):
        out["step"] = f"UploadPart {i}"
        p = c.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i, Body=data,
                          ChecksumAlgorithm=alg)
        value = p.get("Checksum" + alg)
        out["parts"].append({"ETag": p["ETag"], "checksum": value, "wire": wire.last})
        entry = {"PartNumber": i, "ETag": p["ETag"]}
        if value:
            entry["Checksum" + alg] = value
        done.append(entry)
    out["step"] = "ListParts"
    lp = c.list_parts(Bucket=bucket, Key=key, UploadId=uid)
    out["list_parts"] = {"ChecksumAlgorithm": lp.get("ChecksumAlgorithm"),
                         "checksums": [p.get("Checksum" + alg) for p in lp.get("Parts", [])]}
    out["step"] = "CompleteMultipartUpload"
    r = c.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                    MultipartUpload={"Parts": done})
    out["complete"] = {k: v for k, v in r.items() if k.startswith("Checksum") or k == "ETag"}
    h = c.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    out["head"] = {k: v for k, v in h.items()
                   if k.startswith("Checksum") or k in ("ETag", "PartsCount", "ContentLength")}
    body = c.get_object(Bucket=bucket, Key=key)["Body"].read()
    out["get_sha256"] = hashlib.sha256(body).hexdigest()
    out["step"] = "done"


def guard(fn, *args, **kw):
    """One check's result, or what went wrong, so one failure does not hide the rest."""
    try:
        return fn(*args, **kw)
    except ClientError as e:
        code, status = error_code(e)
        return {"error": code, "status": status, "message": str(e)}
    except Exception as e:  # noqa: BLE001 - reported to the test, which fails on it
        return {"error": type(e).__name__, "message": str(e)}


def run_endpoint(ep, cfg):
    c = client_for(ep, cfg)
    wire = Wire(c)
    bucket = cfg["bucket"] + "-" + ep["name"]
    files = {}
    for k, v in cfg["files"].items():
        with open(v, "rb") as f:
            files[k] = f.read()
    res = {"scheme": urllib.parse.urlsplit(ep["url"]).scheme}
    c.create_bucket(Bucket=bucket)

    res["default"] = guard(put_get, c, wire, bucket, "default", files["small"])
    res["algs"] = {}
    for alg in ALGS:
        data = files["small"] if alg in ("CRC32C", "CRC64NVME") else files["medium"]
        res["algs"][alg] = guard(put_get, c, wire, bucket, "alg-" + alg, data, alg)

    res["wrong_header_crc32"] = guard(
        refused, c, wire, bucket, "wrong-crc32", files["small"], ChecksumCRC32=b64(b"\0\0\0\0"))
    res["wrong_header_sha256"] = guard(
        refused, c, wire, bucket, "wrong-sha256", files["small"],
        ChecksumSHA256=b64(hashlib.sha256(b"other bytes").digest()))
    # Fault injection: botocore computes a CRC32 one bit off, in the header over
    # HTTP and in the aws-chunked trailer over HTTPS.
    saved = botocore.httpchecksum._CHECKSUM_CLS["crc32"]
    botocore.httpchecksum._CHECKSUM_CLS["crc32"] = WrongCrc32
    try:
        res["wrong_computed_crc32"] = guard(refused, c, wire, bucket, "wrong-computed",
                                            files["medium"], ChecksumAlgorithm="CRC32")
    finally:
        botocore.httpchecksum._CHECKSUM_CLS["crc32"] = saved

    res["multipart"] = {}
    for alg in ("CRC32", "SHA256"):
        res["multipart"][alg] = guard(multipart, c, wire, bucket, "mp-" + alg,
                                      [files["part1"], files["part2"]], alg)

    res["transfer"] = guard(transfer, c, wire, bucket, cfg["files"]["big"], ep["name"])
    return res


def transfer(c, wire, bucket, path, name):
    """The transfer manager as users call it: multipart above the threshold."""
    tc = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20,
                        max_concurrency=2)
    wire.ops.clear()
    try:
        c.upload_file(path, bucket, "transfer/big", Config=tc)
    except Exception as e:  # noqa: BLE001
        return {"error": type(e).__name__, "message": str(e), "wire": dict(wire.ops)}
    h = c.head_object(Bucket=bucket, Key="transfer/big", ChecksumMode="ENABLED")
    down = path + "." + name + ".down"
    c.download_file(bucket, "transfer/big", down, Config=tc)
    with open(down, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    os.unlink(down)
    return {"ETag": h["ETag"], "PartsCount": h.get("PartsCount"), "wire": dict(wire.ops),
            "checksums": {k: v for k, v in h.items() if k.startswith("Checksum")},
            "down_sha256": digest}


def main():
    cfg = json.load(sys.stdin)
    out = {"boto3": boto3.__version__, "botocore": botocore.__version__, "endpoints": {}}
    for ep in cfg["endpoints"]:
        out["endpoints"][ep["name"]] = run_endpoint(ep, cfg)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
