"""Real S3 clients against `meridian store`, as their users run them.

Each client puts, gets, heads, lists, copies and deletes, and uploads in parts,
and the test checks the bytes and metadata that come back against values it
computes itself (MD5 ETags, the multipart md5-of-md5s-N ETag, the additional
checksums). Clients: Debian's boto3 1.26 (path style, virtual-hosted style,
SigV4A, presigned URLs of both algorithms), aws-cli 2.9, rclone, s3cmd, curl
--aws-sigv4, and the newest boto3 on the machine (pyenv's), which sends
flexible checksums by default (driven through clients/newest_boto3.py). Last,
who may do what: another user, anonymous callers, --public-read.

One store serves the whole module (each test uses its own buckets); it runs with
--domain for virtual-hosted names and --public-read for one bucket.
"""
import base64
import datetime
import hashlib
import http.client
import json
import os
import random
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
import zlib

import pytest
from botocore.exceptions import ClientError

import s3sig
from clients import crc
from storeenv import ALICE, BOB, Store, TlsFront, newest_python, route_to_loopback

DOMAIN = "s3.meridian.test"
PUBLIC = "public-read-bkt"
MiB = 1 << 20
CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("store"), "--public-read", PUBLIC, domain=DOMAIN)
    yield s
    rc = s.stop()
    assert rc == 0, f"store exited {rc}: {s.read_log()}"


# ---- expectations, computed here ----

def blob(n, seed):
    return random.Random(seed).randbytes(n)


def etag(data):
    return '"' + hashlib.md5(data).hexdigest() + '"'


def multipart_etag(parts):
    """S3's ETag of a completed multipart upload: MD5 of the parts' binary MD5s, -N."""
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def chunks(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)]


def digest(alg, data):
    """The raw additional checksum S3 computes (big-endian CRCs)."""
    if alg == "CRC32":
        return zlib.crc32(data).to_bytes(4, "big")
    if alg == "CRC32C":
        return crc.crc32c(data)
    if alg == "CRC64NVME":
        return crc.crc64nvme(data)
    return hashlib.new(alg.lower(), data).digest()


def checksum(alg, data):
    return base64.b64encode(digest(alg, data)).decode()


def composite(alg, parts):
    """A multipart object's COMPOSITE checksum: the checksum of the parts' raw
    checksums, then -N (S3 User Guide, "Checking object integrity")."""
    inner = b"".join(digest(alg, p) for p in parts)
    return checksum(alg, inner) + f"-{len(parts)}"


def code_of(e):
    return e.value.response["Error"]["Code"]


def status_of(e):
    return e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def xml_code(body):
    return ET.fromstring(body).findtext("Code")


def fetch(url, method="GET", data=None, headers=None):
    """(status, headers, body) of a plain HTTP request, errors included."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


# ---- boto3 (Debian 1.26): the same scenario through each way of addressing and signing ----

def round_trip(c, bucket):
    """put / get / head / list / copy / delete and a multipart upload through one
    client, checking every byte and header that comes back."""
    c.create_bucket(Bucket=bucket)
    key = "dir/hello wörld+1 (x).txt"
    data = blob(70_000, bucket)
    meta = {"colour": "blue", "answer": "42"}
    r = c.put_object(Bucket=bucket, Key=key, Body=data, ContentType="text/plain; charset=utf-8",
                     Metadata=meta, CacheControl="max-age=60",
                     ContentDisposition='attachment; filename="h.txt"')
    assert r["ETag"] == etag(data)

    h = c.head_object(Bucket=bucket, Key=key)
    assert (h["ContentLength"], h["ETag"]) == (len(data), etag(data))
    assert h["ContentType"] == "text/plain; charset=utf-8"
    assert h["Metadata"] == meta
    assert h["CacheControl"] == "max-age=60"
    assert h["ContentDisposition"] == 'attachment; filename="h.txt"'

    g = c.get_object(Bucket=bucket, Key=key)
    assert g["Body"].read() == data
    assert (g["ETag"], g["Metadata"]) == (etag(data), meta)
    g = c.get_object(Bucket=bucket, Key=key, Range="bytes=100-199")
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert g["ContentRange"] == f"bytes 100-199/{len(data)}"
    assert g["Body"].read() == data[100:200]

    c.put_object(Bucket=bucket, Key="dir/sub/other", Body=b"x")
    c.put_object(Bucket=bucket, Key="top", Body=b"")
    lst = c.list_objects_v2(Bucket=bucket, Prefix="dir/")
    assert [(o["Key"], o["Size"], o["ETag"]) for o in lst["Contents"]] == [
        (key, len(data), etag(data)), ("dir/sub/other", 1, etag(b"x"))]
    lst = c.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in lst["Contents"]] == ["top"]
    assert [p["Prefix"] for p in lst["CommonPrefixes"]] == ["dir/"]

    c.copy_object(Bucket=bucket, Key="copy/kept", CopySource={"Bucket": bucket, "Key": key})
    h = c.head_object(Bucket=bucket, Key="copy/kept")
    assert (h["ETag"], h["Metadata"], h["ContentType"]) == (
        etag(data), meta, "text/plain; charset=utf-8")
    c.copy_object(Bucket=bucket, Key="copy/replaced", CopySource={"Bucket": bucket, "Key": key},
                  MetadataDirective="REPLACE", ContentType="application/json",
                  Metadata={"new": "yes"})
    h = c.head_object(Bucket=bucket, Key="copy/replaced")
    assert (h["Metadata"], h["ContentType"]) == ({"new": "yes"}, "application/json")
    assert c.get_object(Bucket=bucket, Key="copy/replaced")["Body"].read() == data

    c.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(ClientError) as e:
        c.head_object(Bucket=bucket, Key=key)
    assert status_of(e) == 404
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket=bucket, Key=key)
    assert code_of(e) == "NoSuchKey"

    parts = [blob(5 * MiB, bucket + "1"), blob(MiB + 123, bucket + "2")]
    up = c.create_multipart_upload(Bucket=bucket, Key="mp/obj", ContentType="application/x-mp",
                                   Metadata={"kind": "multipart"})
    uid = up["UploadId"]
    done = []
    for n, p in enumerate(parts, 1):
        r = c.upload_part(Bucket=bucket, Key="mp/obj", UploadId=uid, PartNumber=n, Body=p)
        assert r["ETag"] == etag(p)
        done.append({"PartNumber": n, "ETag": r["ETag"]})
    lp = c.list_parts(Bucket=bucket, Key="mp/obj", UploadId=uid)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in lp["Parts"]] == [
        (n, len(p), etag(p)) for n, p in enumerate(parts, 1)]
    r = c.complete_multipart_upload(Bucket=bucket, Key="mp/obj", UploadId=uid,
                                    MultipartUpload={"Parts": done})
    assert r["ETag"] == multipart_etag(parts)
    whole = b"".join(parts)
    h = c.head_object(Bucket=bucket, Key="mp/obj")
    assert (h["ContentLength"], h["ETag"]) == (len(whole), multipart_etag(parts))
    assert (h["ContentType"], h["Metadata"]) == ("application/x-mp", {"kind": "multipart"})
    assert c.get_object(Bucket=bucket, Key="mp/obj")["Body"].read() == whole
    lo, hi = 5 * MiB - 10, 5 * MiB + 9  # a range across the part boundary
    g = c.get_object(Bucket=bucket, Key="mp/obj", Range=f"bytes={lo}-{hi}")
    assert g["Body"].read() == whole[lo:hi + 1]

    keys = [o["Key"] for o in c.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["copy/kept", "copy/replaced", "dir/sub/other", "mp/obj", "top"]
    r = c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    assert sorted(d["Key"] for d in r["Deleted"]) == keys and not r.get("Errors")
    assert c.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    c.delete_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        c.head_bucket(Bucket=bucket)
    assert status_of(e) == 404


def test_boto3_path_style(store):
    round_trip(store.boto3(addressing="path"), "boto3-path")


def test_boto3_empty_put_then_put_on_one_connection(store):
    """botocore sends Expect: 100-continue with every PUT, empty ones too; if
    the store answered an empty PUT without the 100, botocore would read the
    next PUT's answer on that connection against a stale status
    (boto/botocore#3755): a 200 before the store has stored anything. Each
    answer must be the store's own: the object's ETag, the bytes stored."""
    c = store.boto3(addressing="path")
    c.create_bucket(Bucket="boto3-empty-put")
    for i in range(3):
        c.put_object(Bucket="boto3-empty-put", Key=f"empty{i}", Body=b"")
        data = blob(200 * 1024, i)
        r = c.put_object(Bucket="boto3-empty-put", Key=f"full{i}", Body=data)
        assert r.get("ETag") == etag(data), r
        got = c.get_object(Bucket="boto3-empty-put", Key=f"full{i}")
        assert got["Body"].read() == data and got["ETag"] == etag(data)


def test_boto3_virtual_hosted_style(store):
    c = store.boto3(addressing="virtual")
    asked = route_to_loopback(c)
    round_trip(c, "boto3-virtual")
    # Every bucket request named the bucket in Host, never in the path.
    bucket_host = f"boto3-virtual.{DOMAIN}:{store.port}"
    assert {h for h, _ in asked} == {bucket_host}
    assert not any(p.startswith("/boto3-virtual") for _, p in asked)

    # One namespace: what goes in by Host comes out by path, and the reverse.
    c.create_bucket(Bucket="boto3-both")
    c.put_object(Bucket="boto3-both", Key="a/b", Body=b"by host")
    path = store.boto3(addressing="path")
    assert path.get_object(Bucket="boto3-both", Key="a/b")["Body"].read() == b"by host"
    path.put_object(Bucket="boto3-both", Key="c", Body=b"by path")
    assert c.get_object(Bucket="boto3-both", Key="c")["Body"].read() == b"by path"
    names = [b["Name"] for b in c.list_buckets()["Buckets"]]  # service call: Host is the domain
    assert "boto3-both" in names and asked[-1] == (f"{DOMAIN}:{store.port}", "/")


def test_boto3_sigv4a(store):
    c = store.boto3(sigv4a=True)
    sent = []

    def seen(request, **kw):
        h = {k.lower(): v.decode() if isinstance(v, bytes) else v
             for k, v in request.headers.items()}
        sent.append((h["authorization"].split()[0], h.get("x-amz-region-set")))

    c.meta.events.register("before-send.s3", seen)
    round_trip(c, "boto3-sigv4a")
    assert sent and set(sent) == {("AWS4-ECDSA-P256-SHA256", store.region)}


# ---- presigned URLs, fetched with urllib ----

ALGORITHM = {"s3v4": "AWS4-HMAC-SHA256", "s3v4a": "AWS4-ECDSA-P256-SHA256"}


def with_query(url, **changes):
    u = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    q = [(k, changes.pop(k) if k in changes else v) for k, v in q]
    return urllib.parse.urlunsplit(u._replace(query=urllib.parse.urlencode(q)))


@pytest.mark.parametrize("sig", ["s3v4", "s3v4a"])
def test_presigned_urls(store, sig):
    c = store.boto3(sigv4a=sig == "s3v4a")
    bucket = f"presigned-{sig}"
    c.create_bucket(Bucket=bucket)
    data = blob(40_000, bucket)
    c.put_object(Bucket=bucket, Key="obj key", Body=data, ContentType="image/png")
    c.put_object(Bucket=bucket, Key="other", Body=b"other")

    url = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "obj key"},
                                   ExpiresIn=600)
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert q["X-Amz-Algorithm"] == ALGORITHM[sig]
    status, headers, body = fetch(url)
    assert (status, body, headers["ETag"]) == (200, data, etag(data))
    assert headers["Content-Type"] == "image/png"
    head = c.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "obj key"},
                                    ExpiresIn=600)
    status, headers, body = fetch(head, method="HEAD")
    assert (status, headers["Content-Length"], body) == (200, str(len(data)), b"")
    assert fetch(url, method="HEAD")[0] == 403  # the method is signed: GET's URL is not HEAD's

    # response-* overrides ride in the signed query.
    url2 = c.generate_presigned_url(
        "get_object", ExpiresIn=600,
        Params={"Bucket": bucket, "Key": "obj key",
                "ResponseContentDisposition": 'attachment; filename="x.png"'})
    status, headers, body = fetch(url2)
    assert (status, headers["Content-Disposition"]) == (200, 'attachment; filename="x.png"')

    # A presigned PUT: the bytes arrive as sent.
    put = c.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up/loaded"},
                                   ExpiresIn=600)
    up = blob(30_000, bucket + "put")
    status, headers, _ = fetch(put, method="PUT", data=up,
                               headers={"Content-Type": "application/octet-stream"})
    assert (status, headers["ETag"]) == (200, etag(up))
    assert c.get_object(Bucket=bucket, Key="up/loaded")["Body"].read() == up

    # Tampering with anything signed: SignatureDoesNotMatch (403).
    u = urllib.parse.urlsplit(url)
    other = urllib.parse.urlunsplit(u._replace(path=f"/{bucket}/other"))
    longer = with_query(url, **{"X-Amz-Expires": "6000"})
    sig_hex = q["X-Amz-Signature"]
    flipped = with_query(url, **{"X-Amz-Signature": sig_hex[:-6] + (
        "000000" if sig_hex[-6:] != "000000" else "111111")})
    for bad in (other, longer, flipped):
        status, _, body = fetch(bad)
        assert (status, xml_code(body)) == (403, "SignatureDoesNotMatch"), bad

    # Expired: signed (by awscrt) two hours ago for one minute.
    when = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - \
        datetime.timedelta(hours=2)
    target, _ = s3sig.sign("GET", f"/{bucket}/obj%20key", [("Host", f"127.0.0.1:{store.port}")],
                           b"", akid=ALICE[0], secret=ALICE[1], v4a=sig == "s3v4a",
                           region=store.region, presign=60, when=when)
    assert f"X-Amz-Algorithm={ALGORITHM[sig]}" in target
    status, _, body = fetch(store.endpoint + target)
    assert (status, xml_code(body)) == (403, "AccessDenied")
    assert ET.fromstring(body).findtext("Message") == "Request has expired"
    # The same signer, current time: accepted (so the refusal above is the expiry).
    target, _ = s3sig.sign("GET", f"/{bucket}/obj%20key", [("Host", f"127.0.0.1:{store.port}")],
                           b"", akid=ALICE[0], secret=ALICE[1], v4a=sig == "s3v4a",
                           region=store.region, presign=60)
    assert fetch(store.endpoint + target)[::2] == (200, data)


# ---- aws-cli (Debian 2.9) ----

def test_aws_cli(store, tmp_path):
    big = tmp_path / "big.bin"
    data = blob(20 * MiB, "awscli")
    big.write_bytes(data)
    store.aws("s3", "mb", "s3://awscli-bkt")
    # Above the 8 MiB threshold aws-cli uploads in 8 MiB parts.
    store.aws("s3", "cp", "--no-progress", str(big), "s3://awscli-bkt/dir/big.bin")
    out = store.aws("s3", "ls", "--recursive", "s3://awscli-bkt").stdout
    assert out.split()[-2:] == [str(len(data)), "dir/big.bin"]
    h = json.loads(store.aws("s3api", "head-object", "--bucket", "awscli-bkt",
                             "--key", "dir/big.bin").stdout)
    assert (h["ContentLength"], h["ETag"]) == (len(data), multipart_etag(chunks(data, 8 * MiB)))
    back = tmp_path / "back.bin"
    store.aws("s3", "cp", "--no-progress", "s3://awscli-bkt/dir/big.bin", str(back))
    assert back.read_bytes() == data

    small = tmp_path / "small.txt"
    small.write_bytes(b"metadata travels with the object\n")
    r = json.loads(store.aws("s3api", "put-object", "--bucket", "awscli-bkt", "--key", "m.txt",
                             "--body", str(small), "--content-type", "text/plain",
                             "--metadata", "colour=blue,Size=XL").stdout)
    assert r["ETag"] == etag(small.read_bytes())
    h = json.loads(store.aws("s3api", "head-object", "--bucket", "awscli-bkt",
                             "--key", "m.txt").stdout)
    assert (h["ContentType"], h["Metadata"]) == ("text/plain", {"colour": "blue", "size": "XL"})
    r = json.loads(store.aws("s3api", "copy-object", "--bucket", "awscli-bkt", "--key", "m2.txt",
                             "--copy-source", "awscli-bkt/m.txt").stdout)
    assert r["CopyObjectResult"]["ETag"] == etag(small.read_bytes())
    h = json.loads(store.aws("s3api", "head-object", "--bucket", "awscli-bkt",
                             "--key", "m2.txt").stdout)
    assert h["Metadata"] == {"colour": "blue", "size": "XL"}
    lst = json.loads(store.aws("s3api", "list-objects-v2", "--bucket", "awscli-bkt").stdout)
    assert [(o["Key"], o["Size"]) for o in lst["Contents"]] == [
        ("dir/big.bin", len(data)), ("m.txt", 33), ("m2.txt", 33)]

    store.aws("s3", "rm", "--recursive", "s3://awscli-bkt")
    assert "Contents" not in json.loads(
        store.aws("s3api", "list-objects-v2", "--bucket", "awscli-bkt").stdout or "{}")
    store.aws("s3", "rb", "s3://awscli-bkt")
    assert "awscli-bkt" not in store.aws("s3", "ls").stdout


# ---- rclone (Debian) ----

def make_tree(root):
    files = {
        "one.txt": b"one\n",
        "empty": b"",
        "a/r.bin": blob(100_000, "rclone-r"),
        "a/b/sp ace & ünï.txt": b"deep\n",
        "c/big.bin": blob(12 * MiB, "rclone-big"),
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def read_tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_rclone(store, tmp_path):
    up = tmp_path / "up"
    files = make_tree(up)
    store.rclone("mkdir", "m:rclone-bkt")
    # 5 MiB cutoff and chunks: the 12 MiB file goes up in three parts.
    store.rclone("copy", str(up), "m:rclone-bkt/tree", "--s3-upload-cutoff", "5M",
                 "--s3-chunk-size", "5M")
    c = store.boto3()
    h = c.head_object(Bucket="rclone-bkt", Key="tree/c/big.bin")
    assert h["ETag"] == multipart_etag(chunks(files["c/big.bin"], 5 * MiB))
    listed = store.rclone("lsf", "-R", "--files-only", "m:rclone-bkt/tree").stdout.split("\n")
    assert sorted(x for x in listed if x) == sorted(files)

    store.rclone("check", str(up), "m:rclone-bkt/tree")
    # check really compares: one changed byte is a difference.
    changed = tmp_path / "changed"
    make_tree(changed)
    (changed / "a/r.bin").write_bytes(b"X" + files["a/r.bin"][1:])
    r = store.rclone("check", str(changed), "m:rclone-bkt/tree", check=False)
    assert r.returncode != 0 and "1 differences found" in r.stderr

    down = tmp_path / "down"
    store.rclone("copy", "m:rclone-bkt/tree", str(down))
    assert read_tree(down) == files

    store.rclone("delete", "m:rclone-bkt")
    assert c.list_objects_v2(Bucket="rclone-bkt")["KeyCount"] == 0
    store.rclone("rmdir", "m:rclone-bkt")
    assert "rclone-bkt" not in store.rclone("lsf", "m:").stdout


# ---- s3cmd (Debian) ----

def test_s3cmd(store, tmp_path):
    big = tmp_path / "big.bin"
    data = blob(12 * MiB, "s3cmd")
    big.write_bytes(data)
    small = tmp_path / "small.txt"
    small.write_bytes(b"small\n")
    store.s3cmd("mb", "s3://s3cmd-bkt")
    store.s3cmd("put", "--multipart-chunk-size-mb=5", str(big), "s3://s3cmd-bkt/big.bin")
    store.s3cmd("put", str(small), "s3://s3cmd-bkt/d/small.txt")
    h = store.boto3().head_object(Bucket="s3cmd-bkt", Key="big.bin")
    assert h["ETag"] == multipart_etag(chunks(data, 5 * MiB))

    got = tmp_path / "got.bin"
    store.s3cmd("get", "s3://s3cmd-bkt/big.bin", str(got))
    assert got.read_bytes() == data
    lines = store.s3cmd("ls", "-r", "s3://s3cmd-bkt").stdout.splitlines()
    assert [ln.split()[-2:] for ln in lines] == [
        [str(len(data)), "s3://s3cmd-bkt/big.bin"], ["6", "s3://s3cmd-bkt/d/small.txt"]]

    # info reads the object's headers, then asks for policy, CORS and ACL, which
    # the store does not serve (501 NotImplemented): s3cmd shows "none" for
    # those and needs no retry on a kept-alive connection.
    r = store.s3cmd("info", "s3://s3cmd-bkt/big.bin")
    assert f"File size: {len(data)}" in r.stdout
    assert f"MD5 sum:   {hashlib.md5(data).hexdigest()}" in r.stdout
    assert "Retrying failed request" not in r.stderr, r.stderr

    store.s3cmd("del", "s3://s3cmd-bkt/big.bin", "s3://s3cmd-bkt/d/small.txt")
    assert store.s3cmd("ls", "-r", "s3://s3cmd-bkt").stdout == ""
    store.s3cmd("rb", "s3://s3cmd-bkt")
    assert "s3cmd-bkt" not in store.s3cmd("ls").stdout


# ---- curl --aws-sigv4 (7.88: signs without x-amz-content-sha256) ----

def curl(store, tmp_path, *args):
    """(status, headers, body) of one curl call."""
    hdr, body = tmp_path / "curl.h", tmp_path / "curl.b"
    r = store.curl("-D", str(hdr), "-o", str(body), "-w", "%{http_code}", *args)
    return int(r.stdout), hdr.read_text(), body.read_bytes() if body.exists() else b""


def header(raw, name):
    for line in raw.splitlines():
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


def test_curl_sigv4(store, tmp_path):
    b = store.endpoint + "/curl-bkt"
    assert curl(store, tmp_path, "-X", "PUT", b)[0] == 200
    data = blob(3 * MiB, "curl")  # big enough for curl's Expect: 100-continue
    f = tmp_path / "up.bin"
    f.write_bytes(data)
    status, h, _ = curl(store, tmp_path, "-T", str(f), "-H", "x-amz-meta-who: curl",
                        "-H", "Content-Type: application/x-test", b + "/dir/c%20file")
    assert (status, header(h, "ETag")) == (200, etag(data))

    status, h, _ = curl(store, tmp_path, "-I", b + "/dir/c%20file")
    assert status == 200
    assert header(h, "Content-Length") == str(len(data))
    assert header(h, "x-amz-meta-who") == "curl"
    assert header(h, "Content-Type") == "application/x-test"

    status, h, body = curl(store, tmp_path, b + "/dir/c%20file")
    assert (status, body) == (200, data)

    # curl 7.88 signs the query as written: it must be sorted and encoded already.
    status, _, body = curl(store, tmp_path, b + "?list-type=2&prefix=dir%2F")
    root = ET.fromstring(body)
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    assert status == 200
    assert [(c.findtext("s3:Key", namespaces=ns), c.findtext("s3:Size", namespaces=ns))
            for c in root.findall("s3:Contents", ns)] == [("dir/c file", str(len(data)))]

    status, _, _ = curl(store, tmp_path, "-X", "DELETE", b + "/dir/c%20file")
    assert status == 204
    assert curl(store, tmp_path, "-I", b + "/dir/c%20file")[0] == 404
    assert curl(store, tmp_path, "-X", "DELETE", b)[0] == 204


# ---- the newest boto3: flexible checksums by default ----

ALGS = ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]
ENDPOINTS = ["http", "https"]


@pytest.fixture(scope="module")
def newest(store, tmp_path_factory):
    """Run clients/newest_boto3.py once against the store over HTTP and over
    HTTPS (a TLS front on loopback); the tests below judge its report."""
    exe = newest_python()
    if not exe:
        pytest.skip("no python3 with boto3 >= 1.36 (flexible checksums) on this machine")
    tmp = tmp_path_factory.mktemp("newest")
    sizes = {"small": 100_000, "medium": 1_500_000, "part1": 5 * MiB, "part2": 300_000,
             "big": 12 * MiB}
    files, paths = {}, {}
    for name, n in sizes.items():
        files[name] = blob(n, "newest-" + name)
        paths[name] = str(tmp / name)
        (tmp / name).write_bytes(files[name])
    front = TlsFront(tmp, store.port)
    cfg = {"endpoints": [{"name": "http", "url": store.endpoint},
                         {"name": "https", "url": front.endpoint, "verify": front.cafile}],
           "akid": ALICE[0], "secret": ALICE[1], "region": store.region, "bucket": "newest",
           "files": paths}
    try:
        r = subprocess.run([exe, os.path.join(CLIENTS, "newest_boto3.py")],
                           input=json.dumps(cfg), capture_output=True, text=True,
                           env=store.cli_env(), timeout=300)
    finally:
        front.stop()
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    report["files"] = files
    return report


def ok(result):
    """A check's result, failing with the client's own words if it raised."""
    assert "error" not in result, json.dumps(result, indent=1)
    return result


def expect_wire(res, endpoint, alg, by_header=False):
    """Over HTTP botocore sends the checksum as a header with a signed payload;
    over HTTPS as an aws-chunked trailer with STREAMING-UNSIGNED-PAYLOAD-TRAILER."""
    name = "x-amz-checksum-" + alg.lower()
    w = res["wire"]
    if endpoint == "https" and not by_header:
        assert w["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER", w
        assert w["content-encoding"] == "aws-chunked" and w["x-amz-trailer"] == name, w
        assert name not in w
    else:
        assert len(w["x-amz-content-sha256"]) == 64 and name in w, w  # the payload's SHA-256


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_newest_boto3_default_crc32(newest, endpoint):
    res = ok(newest["endpoints"][endpoint]["default"])
    data = newest["files"]["small"]
    expect_wire(res, endpoint, "CRC32")
    want = checksum("CRC32", data)
    assert res["put"] == {"ETag": etag(data), "ChecksumCRC32": want}
    assert (res["get_len"], res["get_sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert res["get"] == {"ChecksumCRC32": want} and res["get_wire_mode"] == "ENABLED"
    assert res["head"] == {"ChecksumCRC32": want}
    assert res["head_plain"] == {}  # only x-amz-checksum-mode: ENABLED asks for it


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("alg", ALGS)
def test_newest_boto3_checksum_algorithm(newest, endpoint, alg):
    res = ok(newest["endpoints"][endpoint]["algs"][alg])
    data = newest["files"]["small" if alg in ("CRC32C", "CRC64NVME") else "medium"]
    # Without awscrt botocore cannot compute CRC32C/CRC64NVME: the script then
    # sends the value itself (a header, whatever the scheme).
    expect_wire(res, endpoint, alg, by_header=res["computed_by"] == "script")
    want = checksum(alg, data)
    assert res["put"] == {"ETag": etag(data), "Checksum" + alg: want}
    assert (res["get_len"], res["get_sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert res["get"] == {"Checksum" + alg: want}
    assert res["head"] == {"Checksum" + alg: want}
    assert res["head_plain"] == {}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("case", ["wrong_header_crc32", "wrong_header_sha256",
                                  "wrong_computed_crc32"])
def test_newest_boto3_wrong_checksum_is_bad_digest(newest, endpoint, case):
    res = ok(newest["endpoints"][endpoint][case])
    if case == "wrong_computed_crc32":
        expect_wire(res, endpoint, "CRC32")  # in a trailer over HTTPS
    assert (res["code"], res["status"]) == ("BadDigest", 400)
    assert res["stored"] is False


MP_ALGS = ["CRC32", "SHA256"]


def multipart_result(newest, endpoint, alg):
    res = newest["endpoints"][endpoint]["multipart"][alg]
    # CreateMultipartUpload names the algorithm in x-amz-checksum-algorithm
    # (botocore's S3 model: CreateMultipartUploadRequest.ChecksumAlgorithm).
    assert res.get("create_wire", {}).get("x-amz-checksum-algorithm") == alg, res
    return ok(res), [newest["files"]["part1"], newest["files"]["part2"]]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("alg", MP_ALGS)
def test_newest_boto3_multipart_parts(newest, endpoint, alg):
    res, parts = multipart_result(newest, endpoint, alg)
    assert res["create_algorithm"] == alg
    assert [p["ETag"] for p in res["parts"]] == [etag(p) for p in parts]
    assert [p["checksum"] for p in res["parts"]] == [checksum(alg, p) for p in parts]
    assert res["complete"]["ETag"] == multipart_etag(parts)
    assert res["head"]["ContentLength"] == sum(map(len, parts))
    assert res["get_sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("alg", MP_ALGS)
def test_newest_boto3_multipart_list_parts_checksums(newest, endpoint, alg):
    """ListParts names the upload's algorithm and each part's checksum."""
    res, parts = multipart_result(newest, endpoint, alg)
    assert res["list_parts"] == {"ChecksumAlgorithm": alg,
                                 "checksums": [checksum(alg, p) for p in parts]}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("alg", MP_ALGS)
def test_newest_boto3_multipart_composite_checksum(newest, endpoint, alg):
    """CompleteMultipartUpload and HeadObject (ChecksumMode) give the object's
    composite checksum: checksum of the part checksums, -N."""
    res, parts = multipart_result(newest, endpoint, alg)
    want = composite(alg, parts)
    assert res["complete"].get("Checksum" + alg) == want
    assert res["head"].get("Checksum" + alg) == want


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_newest_boto3_transfer_manager(newest, endpoint):
    """upload_file / download_file with their defaults above the threshold."""
    res = ok(newest["endpoints"][endpoint]["transfer"])
    data = newest["files"]["big"]
    assert res["ETag"] == multipart_etag(chunks(data, 5 * MiB))
    assert res["down_sha256"] == hashlib.sha256(data).hexdigest()


# ---- who may do what ----

def test_other_user_is_denied(store):
    alice, bob = store.boto3(ALICE), store.boto3(BOB)
    alice.create_bucket(Bucket="alice-private")
    alice.put_object(Bucket="alice-private", Key="secret", Body=b"alice's")
    bob.create_bucket(Bucket="bob-own")

    denied = {
        "GetObject": lambda: bob.get_object(Bucket="alice-private", Key="secret"),
        "ListObjectsV2": lambda: bob.list_objects_v2(Bucket="alice-private"),
        "ListObjects": lambda: bob.list_objects(Bucket="alice-private"),
        "PutObject": lambda: bob.put_object(Bucket="alice-private", Key="bob", Body=b"x"),
        "DeleteObject": lambda: bob.delete_object(Bucket="alice-private", Key="secret"),
        "DeleteObjects": lambda: bob.delete_objects(
            Bucket="alice-private", Delete={"Objects": [{"Key": "secret"}]}),
        "DeleteBucket": lambda: bob.delete_bucket(Bucket="alice-private"),
        "CopyObject": lambda: bob.copy_object(Bucket="bob-own", Key="stolen",
                                              CopySource={"Bucket": "alice-private",
                                                          "Key": "secret"}),
        "CreateMultipartUpload": lambda: bob.create_multipart_upload(Bucket="alice-private",
                                                                     Key="mp"),
    }
    for op, call in denied.items():
        with pytest.raises(ClientError) as e:
            call()
        assert (code_of(e), status_of(e)) == ("AccessDenied", 403), op
    for call in (lambda: bob.head_object(Bucket="alice-private", Key="secret"),
                 lambda: bob.head_bucket(Bucket="alice-private")):
        with pytest.raises(ClientError) as e:
            call()
        assert status_of(e) == 403
    # The name is taken, and Bob does not see Alice's bucket.
    with pytest.raises(ClientError) as e:
        bob.create_bucket(Bucket="alice-private")
    assert code_of(e) == "BucketAlreadyExists"
    assert [b["Name"] for b in bob.list_buckets()["Buckets"]] == ["bob-own"]
    # Nothing changed for Alice.
    assert alice.get_object(Bucket="alice-private", Key="secret")["Body"].read() == b"alice's"
    assert [o["Key"] for o in alice.list_objects_v2(Bucket="alice-private")["Contents"]] == [
        "secret"]


def test_anonymous_is_denied(store):
    c = store.boto3()
    c.create_bucket(Bucket="anon-private")
    c.put_object(Bucket="anon-private", Key="k", Body=b"private")
    base = store.endpoint + "/anon-private"
    for method, url, data in [("GET", base + "/k", None), ("PUT", base + "/k2", b"x"),
                              ("DELETE", base + "/k", None), ("GET", base, None),
                              ("GET", base + "?list-type=2", None),
                              ("GET", store.endpoint + "/", None)]:
        status, _, body = fetch(url, method=method, data=data)
        assert (status, xml_code(body)) == (403, "AccessDenied"), (method, url)
    assert fetch(base + "/k", method="HEAD")[0] == 403
    assert c.get_object(Bucket="anon-private", Key="k")["Body"].read() == b"private"
    assert [o["Key"] for o in c.list_objects_v2(Bucket="anon-private")["Contents"]] == ["k"]


def test_public_read_bucket(store):
    """--public-read lets anonymous callers GET and HEAD objects, nothing else."""
    c = store.boto3()
    c.create_bucket(Bucket=PUBLIC)
    data = blob(10_000, "public")
    c.put_object(Bucket=PUBLIC, Key="site/index.html", Body=data, ContentType="text/html")
    url = f"{store.endpoint}/{PUBLIC}/site/index.html"
    status, h, body = fetch(url)
    assert (status, body, h["ETag"], h["Content-Type"]) == (200, data, etag(data), "text/html")
    status, h, body = fetch(url, method="HEAD")
    assert (status, h["Content-Length"], body) == (200, str(len(data)), b"")
    status, h, body = fetch(url, headers={"Range": "bytes=0-9"})
    assert (status, body) == (206, data[:10])
    status, _, body = fetch(f"{store.endpoint}/{PUBLIC}/site/nothing")
    assert (status, xml_code(body)) == (404, "NoSuchKey")

    for method, target, payload in [("PUT", "/site/index.html", b"defaced"),
                                    ("PUT", "/new", b"x"), ("DELETE", "/site/index.html", None),
                                    ("GET", "", None), ("GET", "?list-type=2", None)]:
        status, _, body = fetch(f"{store.endpoint}/{PUBLIC}{target}", method=method,
                                data=payload)
        assert (status, xml_code(body)) == (403, "AccessDenied"), (method, target)
    assert c.get_object(Bucket=PUBLIC, Key="site/index.html")["Body"].read() == data
    # Another user is still not the owner: reads yes (public), writes no.
    bob = store.boto3(BOB)
    assert bob.get_object(Bucket=PUBLIC, Key="site/index.html")["Body"].read() == data
    with pytest.raises(ClientError) as e:
        bob.put_object(Bucket=PUBLIC, Key="site/index.html", Body=b"defaced")
    assert code_of(e) == "AccessDenied"


def test_refusals_keep_the_connection_usable(store):
    """Clients reuse connections after an error answer (s3cmd, botocore and
    http.client all do) and some send Content-Length: 0 on every GET (s3cmd).
    An answer without `Connection: close` promises the connection stays open:
    the next request on it must be answered."""
    c = store.boto3()
    c.create_bucket(Bucket="keepalive-bkt")
    c.put_object(Bucket="keepalive-bkt", Key="k", Body=b"still here")
    conn = http.client.HTTPConnection("127.0.0.1", store.port, timeout=10)
    try:
        sequence = [
            ("/keepalive-bkt?list-type=2", {403}),  # anonymous list: refused
            ("/keepalive-bkt?cors", {403, 501}),  # a sub-resource the store does not serve
            ("/keepalive-bkt?location", {403}),
            ("/-/health", {200}),
        ]
        for target, want in sequence:
            conn.request("GET", target, headers={"Content-Length": "0"})
            try:
                r = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError) as e:
                pytest.fail(f"GET {target}: connection dropped without an answer ({e!r})")
            body = r.read()
            assert r.status in want, (target, r.status, body)
            if (r.getheader("Connection") or "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", store.port, timeout=10)
    finally:
        conn.close()
