"""`meridian store` against S3's documented semantics and edge cases.

Every test drives the real binary with Debian's boto3, or with raw HTTP/1.1
requests signed by awscrt (s3sig.py) where boto3 hides or fixes up the wire.
Each assertion states what Amazon S3 does; the comment above it names the S3
documentation page (API reference unless said otherwise) it comes from:
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_<Operation>.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html  ("ErrorResponses")
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/<page>.html     ("userguide/<page>")

One store serves the module (tests use their own buckets); the credentials
reload test runs its own store because it rewrites the credentials file."""
import base64
import concurrent.futures
import datetime
import email.utils
import hashlib
import http.client
import itertools
import os
import random
import signal
import socket
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError

import s3sig
from storeenv import ALICE, BOB, REGION, Store

MiB = 1 << 20
CAROL = ("AKIACAROL00000000003", "carolSecretKey0123456789abcdefghijklmno", "carol")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("s3"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def s3(store):
    return store.boto3()


@pytest.fixture(scope="module")
def s3bob(store):
    return store.boto3(user=BOB)


_names = itertools.count()


def new_bucket_name():
    return f"t{next(_names):03d}-{uuid.uuid4().hex[:10]}"


def make_bucket(client, versioning=None):
    name = new_bucket_name()
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    if versioning:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
    return name


@pytest.fixture
def bucket(s3):
    return make_bucket(s3)


@pytest.fixture
def vbucket(s3):
    return make_bucket(s3, "Enabled")


def client_error(fn, *args, **kw):
    """Call a boto3 method that must fail; returns (HTTP status, S3 error code, response)."""
    with pytest.raises(ClientError) as e:
        fn(*args, **kw)
    r = e.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"], r


def md5_hex(b):
    return hashlib.md5(b).hexdigest()


def md5_b64(b):
    return base64.b64encode(hashlib.md5(b).digest()).decode()


def qkey(key):
    """A key as it goes into a request path (S3's URI encoding; '/' stays)."""
    return urllib.parse.quote(key.encode(), safe="/-_.~")


# ---- raw signed HTTP/1.1 ----


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body

    def xml(self):
        return strip_ns(ET.fromstring(self.body))

    @property
    def code(self):
        return self.xml().findtext("Code")


def strip_ns(root):
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]
    return root


def raw(store, method, path, query="", headers=(), body=b"", user=ALICE, sign=True, when=None,
        payload=None, region=None, mutate=None, send_body=True, content_length=None, timeout=20):
    """One request on its own connection; `path` is already URI-encoded, `query` raw."""
    target = path + ("?" + query if query else "")
    hdrs = [("Host", f"127.0.0.1:{store.port}")] + list(headers)
    if content_length is not None:
        hdrs.append(("Content-Length", str(content_length)))
    elif body or method in ("PUT", "POST"):
        hdrs.append(("Content-Length", str(len(body))))
    if sign:
        target, hdrs = s3sig.sign(method, target, hdrs, body, akid=user[0], secret=user[1],
                                  region=region or store.region, when=when, payload=payload)
    if mutate:
        target, hdrs = mutate(target, list(hdrs))
    data = s3sig.raw_request(method, target, hdrs, body if send_body else b"")
    with socket.create_connection(("127.0.0.1", store.port), timeout=timeout) as s:
        s.sendall(data)
        r = http.client.HTTPResponse(s, method=method)
        r.begin()
        out = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, out)


class SharedReader:
    """One buffered reader for several responses on a connection (http.client would
    otherwise make a new buffer per response and lose bytes read ahead)."""

    def __init__(self, f):
        self.f = f

    def makefile(self, *args, **kw):
        return self

    def close(self):
        pass

    def __getattr__(self, name):
        return getattr(self.f, name)


def iso_to_http(dt):
    return email.utils.format_datetime(dt.astimezone(datetime.timezone.utc), usegmt=True)


# ======================================================================
# Health
# ======================================================================


def test_clients_hanging_up_mid_request_leave_the_store_serving(store, s3):
    """Clients that send a request and hang up at once (a PUT's head and a bit
    of body, a GET, a multipart POST) while the store's metadata work for it
    is still running: that work reads the request's bucket and key after the
    connection is gone (ASan caught the request's memory freed under a
    running metadata job, in CI and then in a local loop), and the store must
    close every such connection itself."""
    bucket = new_bucket_name()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="there", Body=b"x" * 100)

    def sockets():
        fds, n = f"/proc/{store.proc.pid}/fd", 0
        for f in os.listdir(fds):
            try:
                n += os.readlink(os.path.join(fds, f)).startswith("socket:")
            except FileNotFoundError:
                pass  # closed since the listing
        return n

    before = sockets()
    host = [("Host", f"127.0.0.1:{store.port}")]
    reqs = []
    for method, path, extra, body in [
            ("PUT", f"/{bucket}/gone", [("Content-Length", str(MiB))], b"y" * 1024),
            ("GET", f"/{bucket}/there", [], b""),
            ("HEAD", f"/{bucket}/there", [], b""),
            ("POST", f"/{bucket}/mp", [], b"")]:
        query = "uploads" if method == "POST" else ""
        target = path + ("?" + query if query else "")
        t, h = s3sig.sign(method, target, host + extra, b"", akid=ALICE[0], secret=ALICE[1],
                          region=store.region, payload="UNSIGNED-PAYLOAD")
        reqs.append(s3sig.raw_request(method, t, h, body))
    linger = __import__("struct").pack("ii", 1, 0)  # close with a reset, at once

    def hang_up(k):
        # A burst of requests first, so that metadata work queues up behind
        # them, then the same connections all gone at once.
        conns = []
        for i in range(25):
            c = socket.create_connection(("127.0.0.1", store.port), timeout=10)
            c.sendall(reqs[(k + i) % len(reqs)])
            conns.append(c)
        for i, c in enumerate(conns):
            if i % 2:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            c.close()

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(hang_up, range(24)))
    assert store.proc.poll() is None, store.read_log()
    # Every one of those connections is closed by the store, not kept until
    # a drain deadline: a GET answered into a reset it had not read yet used
    # to stay open (its failed write ended nothing).
    end = time.monotonic() + 10
    while sockets() > before and time.monotonic() < end:
        time.sleep(0.05)
    assert sockets() <= before, (sockets(), before)
    assert s3.get_object(Bucket=bucket, Key="there")["Body"].read() == b"x" * 100


def test_health_needs_no_auth_and_says_only_ok(store):
    for method in ("GET", "HEAD"):
        r = raw(store, method, "/-/health", sign=False)
        assert r.status == 200
        assert r.body.strip() == (b"ok" if method == "GET" else b"")
        # Nothing about users, buckets, versions or paths.
        assert not any(k.startswith("x-amz-") and k not in ("x-amz-request-id", "x-amz-id-2")
                       for k in r.headers), r.headers


# ======================================================================
# Buckets
# ======================================================================


def test_create_bucket_location_constraint(s3):
    name = new_bucket_name()
    r = s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    # CreateBucket: "Location: A forward slash followed by the name of the bucket."
    assert r["Location"] == f"/{name}"
    # CreateBucket / ErrorResponses: a LocationConstraint other than the endpoint's
    # region is IllegalLocationConstraintException (400).
    status, code, _ = client_error(s3.create_bucket, Bucket=new_bucket_name(),
                                   CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert (status, code) == (400, "IllegalLocationConstraintException")
    # GetBucketLocation returns the region constraint (empty only for us-east-1).
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == REGION


def test_create_bucket_bad_configuration(store):
    # An empty LocationConstraint means us-east-1, which is not this endpoint's region:
    # IllegalLocationConstraintException (CreateBucket). A body that is not XML is
    # MalformedXML (400, ErrorResponses).
    ns = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
    for body, code in [(f"<CreateBucketConfiguration {ns}><LocationConstraint></LocationConstraint>"
                        "</CreateBucketConfiguration>", "IllegalLocationConstraintException"),
                       ("<CreateBucketConfiguration><LocationConstraint>", "MalformedXML"),
                       ("not xml at all", "MalformedXML")]:
        name = new_bucket_name()
        r = raw(store, "PUT", f"/{name}", body=body.encode())
        assert (r.status, r.code) == (400, code), body
        assert raw(store, "HEAD", f"/{name}").status == 404


BAD_BUCKET_NAMES = [
    "ab",                      # shorter than 3
    "a" * 64,                  # longer than 63
    "Upper-case",              # uppercase letters
    "under_score",             # underscore
    "-leading-hyphen",         # must begin with a letter or number
    "trailing-hyphen-",        # must end with a letter or number
    ".leading-dot",
    "trailing-dot.",
    "two..dots",               # no two adjacent periods
    "192.168.5.4",             # not formatted as an IP address
    "xn--reserved-prefix",     # reserved prefix xn--
    "sthree-reserved",         # reserved prefix sthree-
    "reserved-suffix-s3alias",  # reserved suffix -s3alias
    "reserved-suffix--ol-s3",  # reserved suffix --ol-s3
    "spa ce",
]


@pytest.mark.parametrize("name", BAD_BUCKET_NAMES)
def test_invalid_bucket_names(store, name):
    # userguide/bucketnamingrules: general purpose bucket naming rules; a name that
    # breaks them is InvalidBucketName (400, ErrorResponses). Raw request: boto3
    # validates some names itself.
    body = (f'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<LocationConstraint>{REGION}</LocationConstraint></CreateBucketConfiguration>").encode()
    r = raw(store, "PUT", "/" + qkey(name), body=body)
    assert (r.status, r.code) == (400, "InvalidBucketName"), r.body


@pytest.mark.parametrize("name", ["abc", "a" * 63, "a.b-c.1", "0-9", "1.2.3.4.5", "192.168.5.4a"])
def test_valid_bucket_names_edge(s3, name):
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.head_bucket(Bucket=name)
    s3.delete_bucket(Bucket=name)


def test_bucket_already_owned_and_already_exists(s3, s3bob, bucket):
    # CreateBucket / ErrorResponses: recreating your own bucket outside us-east-1 is
    # 409 BucketAlreadyOwnedByYou; a name another account holds is 409 BucketAlreadyExists.
    cfg = {"LocationConstraint": REGION}
    assert client_error(s3.create_bucket, Bucket=bucket, CreateBucketConfiguration=cfg)[:2] == \
        (409, "BucketAlreadyOwnedByYou")
    assert client_error(s3bob.create_bucket, Bucket=bucket, CreateBucketConfiguration=cfg)[:2] == \
        (409, "BucketAlreadyExists")


def test_head_bucket_200_403_404(store, s3, s3bob, bucket):
    r = s3.head_bucket(Bucket=bucket)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    # HeadBucket: x-amz-bucket-region is the bucket's region.
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == REGION
    # HeadBucket: "If the bucket does not exist or you do not have permission to access
    # it, the HEAD request returns a generic 400 Bad Request, 403 Forbidden or 404 Not
    # Found code. A message body is not included".
    assert client_error(s3bob.head_bucket, Bucket=bucket)[0] == 403
    assert client_error(s3.head_bucket, Bucket=new_bucket_name())[0] == 404
    for user, want in ((BOB, 403), (ALICE, 404)):
        b = bucket if want == 403 else new_bucket_name()
        r = raw(store, "HEAD", f"/{b}", user=user)
        assert r.status == want and r.body == b""


def test_delete_bucket_not_empty(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    # DeleteBucket: "All objects (including all object versions and delete markers) in
    # the bucket must be deleted before the bucket itself can be deleted"; otherwise
    # 409 BucketNotEmpty (ErrorResponses).
    assert client_error(s3.delete_bucket, Bucket=bucket)[:2] == (409, "BucketNotEmpty")
    s3.delete_object(Bucket=bucket, Key="k")
    assert s3.delete_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert client_error(s3.head_bucket, Bucket=bucket)[0] == 404
    # DeleteBucket of a missing bucket: 404 NoSuchBucket.
    assert client_error(s3.delete_bucket, Bucket=bucket)[:2] == (404, "NoSuchBucket")


def part_files(store):
    return {p.name for p in (store.data / "objects").glob("*/*/*") if p.is_file()}


def test_delete_bucket_takes_uploads_in_progress(store, s3):
    # Uploads in progress do not keep a general purpose bucket in S3: DeleteBucket
    # succeeds and they go with it (tried against AWS in the ceph/ceph#15630 review;
    # scality/cloudserver#1591 changed to match). Only directory buckets refuse
    # (AbortMultipartUpload's note), which Meridian does not have. The parts' files go too.
    b = make_bucket(s3)
    before = part_files(store)
    ups = [s3.create_multipart_upload(Bucket=b, Key=k)["UploadId"] for k in ("a", "b/c")]
    for n in (1, 2):
        s3.upload_part(Bucket=b, Key="a", UploadId=ups[0], PartNumber=n, Body=b"p" * 100)
    s3.upload_part(Bucket=b, Key="b/c", UploadId=ups[1], PartNumber=1, Body=b"q" * 100)
    assert len(part_files(store) - before) == 3
    keep = make_bucket(s3)  # another bucket's upload stays
    other = s3.create_multipart_upload(Bucket=keep, Key="a")["UploadId"]
    s3.upload_part(Bucket=keep, Key="a", UploadId=other, PartNumber=1, Body=b"r" * 100)
    assert len(part_files(store) - before) == 4

    assert s3.delete_bucket(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert client_error(s3.head_bucket, Bucket=b)[0] == 404
    end = time.monotonic() + 10  # the files are removed on a pool thread after the answer
    while len(part_files(store) - before) > 1 and time.monotonic() < end:
        time.sleep(0.05)
    assert len(part_files(store) - before) == 1, "the deleted bucket's part files stayed"
    parts = s3.list_parts(Bucket=keep, Key="a", UploadId=other)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1]
    # The name made again holds none of the old uploads.
    s3.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": REGION})
    assert s3.list_multipart_uploads(Bucket=b).get("Uploads", []) == []
    assert client_error(s3.list_parts, Bucket=b, Key="a", UploadId=ups[0])[:2] == \
        (404, "NoSuchUpload")


def test_delete_bucket_not_empty_versions_only(s3):
    b = make_bucket(s3, "Enabled")
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    s3.delete_object(Bucket=b, Key="k")  # leaves a delete marker and a noncurrent version
    assert s3.list_objects_v2(Bucket=b)["KeyCount"] == 0
    assert client_error(s3.delete_bucket, Bucket=b)[:2] == (409, "BucketNotEmpty")
    for v in s3.list_object_versions(Bucket=b).get("Versions", []) + \
            s3.list_object_versions(Bucket=b).get("DeleteMarkers", []):
        s3.delete_object(Bucket=b, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=b)


def test_delete_other_users_bucket_denied(s3, s3bob, bucket):
    assert client_error(s3bob.delete_bucket, Bucket=bucket)[:2] == (403, "AccessDenied")
    assert client_error(s3bob.get_bucket_location, Bucket=bucket)[:2] == (403, "AccessDenied")
    s3.head_bucket(Bucket=bucket)


def test_versioning_round_trip(s3, bucket):
    # GetBucketVersioning: a bucket that was never versioned returns no Status.
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    for status in ("Enabled", "Suspended", "Enabled", "Suspended"):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == status


def test_put_bucket_versioning_bad_status(store, bucket):
    # PutBucketVersioning: Status is Enabled or Suspended; anything else is MalformedXML.
    body = (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<Status>On</Status></VersioningConfiguration>")
    r = raw(store, "PUT", f"/{bucket}", "versioning", body=body,
            headers=[("Content-MD5", md5_b64(body))])
    assert (r.status, r.code) == (400, "MalformedXML")


def test_list_buckets_only_callers_with_owner(s3, s3bob):
    mine = {make_bucket(s3) for _ in range(2)}
    bobs = {make_bucket(s3bob) for _ in range(2)}
    # ListBuckets: "Returns a list of all buckets owned by the authenticated sender of
    # the request", with the Owner (ID, DisplayName).
    a = s3.list_buckets()
    b = s3bob.list_buckets()
    an = {x["Name"] for x in a["Buckets"]}
    bn = {x["Name"] for x in b["Buckets"]}
    assert mine <= an and not (an & bobs)
    assert bobs <= bn and not (bn & mine)
    assert a["Owner"]["DisplayName"] == "alice" and b["Owner"]["DisplayName"] == "bob"
    assert a["Owner"]["ID"] and a["Owner"]["ID"] != b["Owner"]["ID"]
    for x in a["Buckets"]:
        assert isinstance(x["CreationDate"], datetime.datetime)
    # ListBuckets sorts by name.
    names = [x["Name"] for x in a["Buckets"]]
    assert names == sorted(names)


# ======================================================================
# Objects
# ======================================================================


def test_empty_object(s3, bucket):
    r = s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert r["ETag"] == f'"{md5_hex(b"")}"'
    g = s3.get_object(Bucket=bucket, Key="empty")
    assert g["Body"].read() == b"" and g["ContentLength"] == 0
    assert g["ETag"] == r["ETag"]
    h = s3.head_object(Bucket=bucket, Key="empty")
    assert h["ContentLength"] == 0
    lst = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in lst] == [("empty", 0)]


ODD_KEYS = [
    "with space", "plus+sign", "percent%25literal%", "100% done", "a+b c%20d",
    "ünïcødé/日本語/🙂", "tab\there", "semi;colon,comma", "q?mark", "hash#frag", "amp&eq=",
    "a//double//slash", "trailing/", "/leading-slash", "//", "back\\slash", "quote\"'",
    "<angle>&amp;", "~tilde", "*star", "dots/./and/../x", "ctrl\x01\x02\x1f", "nl\nand\rcr",
    "\u00a0nbsp", "\ufffdrepl", "\U0001f600face",
]


def test_odd_keys_round_trip_and_listing(store, s3, bucket):
    for i, k in enumerate(ODD_KEYS):
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode() + b"|%d" % i)
    for i, k in enumerate(ODD_KEYS):
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == k.encode() + b"|%d" % i, k
    # ListObjectsV2 with encoding-type=url (boto3 asks for it and decodes): every key
    # comes back exactly, in UTF-8 byte order (ListObjectsV2: "returned in ascending
    # order ... UTF-8 character encoding").
    got = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert got == sorted(ODD_KEYS, key=lambda s: s.encode())
    # The raw listing: with encoding-type=url, Key values are URL-encoded so control
    # characters survive XML (ListObjectsV2: EncodingType). Decode as botocore does.
    r = raw(store, "GET", f"/{bucket}", "encoding-type=url&list-type=2")
    assert r.status == 200
    x = r.xml()
    assert x.findtext("EncodingType") == "url"
    keys = [urllib.parse.unquote_plus(c.findtext("Key")) for c in x.findall("Contents")]
    assert keys == sorted(ODD_KEYS, key=lambda s: s.encode())
    for c in x.findall("Contents"):
        assert all(0x20 < ord(ch) < 0x7f for ch in c.findtext("Key")), c.findtext("Key")


def test_control_characters_all(store, s3, bucket):
    keys = [f"c{b:02x}-{chr(b)}-end" for b in range(1, 0x20)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"v")
    r = raw(store, "GET", f"/{bucket}", "list-type=2&encoding-type=url")
    got = [urllib.parse.unquote_plus(c.findtext("Key")) for c in r.xml().findall("Contents")]
    assert got == keys
    r = raw(store, "GET", f"/{bucket}", "encoding-type=url")  # V1 too
    got = [urllib.parse.unquote_plus(c.findtext("Key")) for c in r.xml().findall("Contents")]
    assert got == keys


def test_percent_encoded_slash_in_path_is_part_of_key(store, s3, bucket):
    # The path is URI-decoded once: %2F is a '/' in the key, %252F a literal "%2F".
    assert raw(store, "PUT", f"/{bucket}/dir%2Ffile", body=b"one").status == 200
    assert raw(store, "PUT", f"/{bucket}/dir%252Ffile", body=b"two").status == 200
    assert s3.get_object(Bucket=bucket, Key="dir/file")["Body"].read() == b"one"
    assert s3.get_object(Bucket=bucket, Key="dir%2Ffile")["Body"].read() == b"two"


def test_key_length_limit(s3, bucket):
    # userguide/object-keys: "The name for a key is a sequence of Unicode characters
    # whose UTF-8 encoding is at most 1,024 bytes long." Longer: KeyTooLongError (400).
    ok = "k" * 1024
    s3.put_object(Bucket=bucket, Key=ok, Body=b"1")
    assert s3.get_object(Bucket=bucket, Key=ok)["Body"].read() == b"1"
    ok2 = "é" * 512  # 1024 bytes, 512 characters
    s3.put_object(Bucket=bucket, Key=ok2, Body=b"2")
    for bad in ("k" * 1025, "é" * 512 + "a"):
        status, code, _ = client_error(s3.put_object, Bucket=bucket, Key=bad, Body=b"x")
        assert (status, code) == (400, "KeyTooLongError")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {ok, ok2}


def test_metadata_stored_and_returned(store, s3, bucket):
    expires = "Thu, 01 Dec 1994 16:00:00 GMT"
    hdrs = [("Content-Type", "text/x-test; charset=utf-8"), ("Content-Encoding", "gzip"),
            ("Content-Disposition", 'attachment; filename="a b.txt"'),
            ("Content-Language", "de-CH"), ("Cache-Control", "max-age=60, public"),
            ("Expires", expires), ("X-Amz-Meta-Mixed-Case", "Value With  Spaces"),
            ("x-amz-meta-empty", ""), ("x-amz-meta-n", "1"), ("X-Custom-Not-Stored", "no")]
    assert raw(store, "PUT", f"/{bucket}/m", headers=hdrs, body=b"data").status == 200
    for method in ("GET", "HEAD"):
        r = raw(store, method, f"/{bucket}/m")
        assert r.status == 200
        h = r.headers
        assert h["content-type"] == "text/x-test; charset=utf-8"
        assert h["content-encoding"] == "gzip"
        assert h["content-disposition"] == 'attachment; filename="a b.txt"'
        assert h["content-language"] == "de-CH"
        assert h["cache-control"] == "max-age=60, public"
        assert h["expires"] == expires
        # userguide/UsingMetadata: "Amazon S3 stores user-defined metadata keys in lowercase."
        assert h["x-amz-meta-mixed-case"] == "Value With  Spaces"
        assert h["x-amz-meta-n"] == "1"
        assert "x-custom-not-stored" not in h
        assert h["content-length"] == "4"
        assert h["etag"] == f'"{md5_hex(b"data")}"'
        assert "last-modified" in h
    md = s3.head_object(Bucket=bucket, Key="m")["Metadata"]
    assert md.get("mixed-case") == "Value With  Spaces" and md.get("n") == "1"
    # No Content-Type given: S3 serves binary/octet-stream (its default for REST PUTs).
    raw(store, "PUT", f"/{bucket}/noct", body=b"x")
    assert raw(store, "HEAD", f"/{bucket}/noct").headers["content-type"] == "binary/octet-stream"


def test_user_metadata_2kb_limit(s3, bucket):
    # userguide/UsingMetadata: "the user-defined metadata is limited to 2 KB in size ...
    # measured by taking the sum of the number of bytes in the UTF-8 encoding of each
    # key and value." Over it: MetadataTooLarge (400, ErrorResponses).
    s3.put_object(Bucket=bucket, Key="ok", Body=b"", Metadata={"k": "v" * 1900})
    s3.put_object(Bucket=bucket, Key="ok2", Body=b"", Metadata={f"k{i}": "v" * 190 for i in range(9)})
    for md in ({"k": "v" * 2100}, {f"k{i}": "v" * 700 for i in range(3)},
               {"n" * 1100: "v" * 1000}):  # names count too
        status, code, _ = client_error(s3.put_object, Bucket=bucket, Key="big", Body=b"", Metadata=md)
        assert (status, code) == (400, "MetadataTooLarge"), md.keys()
    assert client_error(s3.head_object, Bucket=bucket, Key="big")[0] == 404


def test_content_md5(s3, store, bucket):
    body = b"hello md5"
    s3.put_object(Bucket=bucket, Key="good", Body=body, ContentMD5=md5_b64(body))
    # PutObject / ErrorResponses: a Content-MD5 that does not match the body is
    # BadDigest (400); one that is not a base64 MD5 is InvalidDigest (400).
    status, code, _ = client_error(s3.put_object, Bucket=bucket, Key="bad", Body=body,
                                   ContentMD5=md5_b64(b"other"))
    assert (status, code) == (400, "BadDigest")
    for bad in ("not-base64!!", base64.b64encode(b"short").decode()):
        r = raw(store, "PUT", f"/{bucket}/bad", headers=[("Content-MD5", bad)], body=body)
        assert (r.status, r.code) == (400, "InvalidDigest"), bad
    assert client_error(s3.head_object, Bucket=bucket, Key="bad")[0] == 404
    assert s3.get_object(Bucket=bucket, Key="good")["Body"].read() == body


def test_content_sha256_mismatch(store, s3, bucket):
    # sigv4-auth-using-authorization-header: the x-amz-content-sha256 value must be the
    # body's hash; a body that differs is XAmzContentSHA256Mismatch (400).
    wrong = hashlib.sha256(b"something else").hexdigest()
    r = raw(store, "PUT", f"/{bucket}/sha", body=b"actual body", payload=wrong)
    assert (r.status, r.code) == (400, "XAmzContentSHA256Mismatch")
    assert client_error(s3.head_object, Bucket=bucket, Key="sha")[0] == 404
    r = raw(store, "PUT", f"/{bucket}/sha", body=b"actual body")
    assert r.status == 200


def test_put_over_5gib_refused_before_body(store, s3, bucket):
    # userguide/upload-objects: a single PUT is at most 5 GB; PutObject / ErrorResponses:
    # EntityTooLarge (400) "Your proposed upload exceeds the maximum allowed object
    # size." The body is never sent: the answer must come from the headers alone.
    up = s3.create_multipart_upload(Bucket=bucket, Key="hugepart")["UploadId"]
    try:
        for path, query in ((f"/{bucket}/huge", ""),
                            # UploadPart: a part is at most 5 GiB too.
                            (f"/{bucket}/hugepart", f"partNumber=1&uploadId={up}")):
            try:
                r = raw(store, "PUT", path, query, payload="UNSIGNED-PAYLOAD",
                        content_length=5 * 1024**3 + 1, send_body=False, timeout=5)
            except TimeoutError:
                pytest.fail(f"PUT {path}?{query}: no answer until the 5 GiB body is sent")
            assert (r.status, r.code) == (400, "EntityTooLarge")
    finally:
        s3.abort_multipart_upload(Bucket=bucket, Key="hugepart", UploadId=up)


def test_missing_key_and_bucket(store, s3, bucket):
    status, code, resp = client_error(s3.get_object, Bucket=bucket, Key="nope/x y")
    assert (status, code) == (404, "NoSuchKey")
    # DeleteObject of a key that does not exist: 204, nothing else happens.
    d = s3.delete_object(Bucket=bucket, Key="nope/x y")
    assert d["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    nb = new_bucket_name()
    assert client_error(s3.get_object, Bucket=nb, Key="k")[:2] == (404, "NoSuchBucket")
    # HeadObject: "A HEAD request has the same options as a GET operation ... but
    # without the body"; a missing key is a bare 404. Pipelining a second request on
    # the same connection proves no body bytes followed the HEAD's headers.
    with socket.create_connection(("127.0.0.1", store.port), timeout=10) as s:
        reqs = b""
        for path in (f"/{bucket}/missing", "/-/health"):
            method = "HEAD" if path != "/-/health" else "GET"
            t, h = s3sig.sign(method, path, [("Host", f"127.0.0.1:{store.port}")], b"",
                              akid=ALICE[0], secret=ALICE[1], region=REGION)
            reqs += s3sig.raw_request(method, t, h)
        s.sendall(reqs)
        f = SharedReader(s.makefile("rb"))
        r1 = http.client.HTTPResponse(f, method="HEAD")
        r1.begin()
        assert r1.read() == b"" and r1.status == 404
        r2 = http.client.HTTPResponse(f, method="GET")
        r2.begin()
        assert r2.status == 200 and r2.read().strip() == b"ok"


def test_not_found_errors_name_key_and_bucket(store, bucket):
    # S3's NoSuchKey document names the key (<Key>), and NoSuchBucket the bucket
    # (<BucketName>), as real S3 404s show (e.g. "<Error><Code>NoSuchKey</Code><Message>
    # The specified key does not exist.</Message><Key>...</Key><RequestId>...").
    r = raw(store, "GET", f"/{bucket}/nope%2Fx%20y")
    assert r.code == "NoSuchKey" and r.xml().findtext("Key") == "nope/x y"
    nb = new_bucket_name()
    r = raw(store, "GET", f"/{nb}/k")
    assert r.code == "NoSuchBucket" and r.xml().findtext("BucketName") == nb


# ======================================================================
# GET: ranges and conditionals
# ======================================================================

DATA100 = bytes(range(100))


@pytest.fixture
def obj100(s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=DATA100)
    h = s3.head_object(Bucket=bucket, Key="r")
    return bucket, h["ETag"], h["LastModified"]


@pytest.mark.parametrize("rng,first,last", [
    ("bytes=0-9", 0, 9), ("bytes=90-", 90, 99), ("bytes=-10", 90, 99), ("bytes=95-200", 95, 99),
    ("bytes=-200", 0, 99), ("bytes=99-99", 99, 99), ("bytes=0-", 0, 99), ("bytes=0-0", 0, 0),
])
def test_single_range_forms(store, obj100, rng, first, last):
    # GetObject Range (RFC 9110 §14): 206 with Content-Range "bytes first-last/size";
    # an end past the object is clamped, a suffix longer than the object is all of it.
    b, _, _ = obj100
    r = raw(store, "GET", f"/{b}/r", headers=[("Range", rng)])
    assert r.status == 206
    assert r.headers["content-range"] == f"bytes {first}-{last}/100"
    assert r.body == DATA100[first:last + 1]
    assert r.headers["content-length"] == str(last - first + 1)


@pytest.mark.parametrize("rng", ["bytes=100-", "bytes=100-200", "bytes=1000-1001"])
def test_unsatisfiable_range(store, obj100, rng):
    # ErrorResponses: InvalidRange, 416 "The requested range cannot be satisfied."
    b, _, _ = obj100
    r = raw(store, "GET", f"/{b}/r", headers=[("Range", rng)])
    assert (r.status, r.code) == (416, "InvalidRange")


def test_multiple_ranges_get_whole_object(store, obj100):
    # GetObject: "Amazon S3 doesn't support retrieving multiple ranges of data per GET
    # request" - the Range is ignored and the whole object comes back with 200.
    b, _, _ = obj100
    r = raw(store, "GET", f"/{b}/r", headers=[("Range", "bytes=0-1,5-6")])
    assert r.status == 200 and r.body == DATA100 and "content-range" not in r.headers


def test_range_on_head(store, obj100):
    b, _, _ = obj100
    r = raw(store, "HEAD", f"/{b}/r", headers=[("Range", "bytes=10-19")])
    assert r.status == 206 and r.headers["content-range"] == "bytes 10-19/100"
    assert r.headers["content-length"] == "10"


def _cond(store, b, headers, method="GET"):
    return raw(store, method, f"/{b}/r", headers=headers)


def test_conditionals_single(store, obj100):
    b, etag, lm = obj100
    lm_s = iso_to_http(lm)
    past = iso_to_http(lm - datetime.timedelta(days=1))
    later = iso_to_http(lm + datetime.timedelta(days=1))
    # GetObject If-Match: "Return the object only if its entity tag (ETag) is the same
    # as the one specified; otherwise, return a 412 (precondition failed) error."
    assert _cond(store, b, [("If-Match", etag)]).status == 200
    r = _cond(store, b, [("If-Match", '"0123456789abcdef0123456789abcdef"')])
    assert (r.status, r.code) == (412, "PreconditionFailed")
    # If-None-Match: "... only if its ETag is different ...; otherwise, return a 304."
    r = _cond(store, b, [("If-None-Match", etag)])
    assert r.status == 304 and r.body == b"" and r.headers.get("etag") == etag
    assert _cond(store, b, [("If-None-Match", '"0123456789abcdef0123456789abcdef"')]).status == 200
    # If-Modified-Since: "... only if it has been modified since the specified time;
    # otherwise, return a 304". Last-Modified itself is "not modified since".
    assert _cond(store, b, [("If-Modified-Since", past)]).status == 200
    assert _cond(store, b, [("If-Modified-Since", lm_s)]).status == 304
    # If-Unmodified-Since: "... only if it has not been modified since the specified
    # time; otherwise, return a 412".
    assert _cond(store, b, [("If-Unmodified-Since", lm_s)]).status == 200
    assert _cond(store, b, [("If-Unmodified-Since", later)]).status == 200
    r = _cond(store, b, [("If-Unmodified-Since", past)])
    assert (r.status, r.code) == (412, "PreconditionFailed")
    # The same on HEAD, without bodies.
    assert _cond(store, b, [("If-None-Match", etag)], "HEAD").status == 304
    assert _cond(store, b, [("If-Match", '"x"')], "HEAD").status == 412


def test_conditionals_precedence(store, obj100):
    b, etag, lm = obj100
    past = iso_to_http(lm - datetime.timedelta(days=1))
    lm_s = iso_to_http(lm)
    other = '"0123456789abcdef0123456789abcdef"'
    # GetObject: "If both of the If-Match and If-Unmodified-Since headers are present in
    # the request as follows: If-Match condition evaluates to true, and;
    # If-Unmodified-Since condition evaluates to false; then, S3 returns 200 OK".
    r = _cond(store, b, [("If-Match", etag), ("If-Unmodified-Since", past)])
    assert r.status == 200 and r.body == DATA100
    # "If both of the If-None-Match and If-Modified-Since headers are present ...:
    # If-None-Match condition evaluates to false, and; If-Modified-Since condition
    # evaluates to true; then, S3 returns 304 Not Modified".
    r = _cond(store, b, [("If-None-Match", etag), ("If-Modified-Since", past)])
    assert r.status == 304
    # If-Match false wins over everything after it (RFC 9110 §13.2.2 order).
    r = _cond(store, b, [("If-Match", other), ("If-None-Match", other)])
    assert r.status == 412
    # Both true/false combos the obvious way.
    assert _cond(store, b, [("If-Match", etag), ("If-Unmodified-Since", lm_s)]).status == 200
    assert _cond(store, b, [("If-None-Match", other), ("If-Modified-Since", past)]).status == 200


def test_range_with_conditionals(store, obj100):
    b, etag, lm = obj100
    past = iso_to_http(lm - datetime.timedelta(days=1))
    r = _cond(store, b, [("Range", "bytes=10-19"), ("If-Match", etag)])
    assert r.status == 206 and r.body == DATA100[10:20]
    r = _cond(store, b, [("Range", "bytes=10-19"), ("If-None-Match", etag)])
    assert r.status == 304 and r.body == b""
    r = _cond(store, b, [("Range", "bytes=10-19"), ("If-Unmodified-Since", past)])
    assert (r.status, r.code) == (412, "PreconditionFailed")
    r = _cond(store, b, [("Range", "bytes=10-19"), ("If-Match", '"nope"')])
    assert r.status == 412


def test_conditional_writes(store, s3, bucket):
    # userguide/conditional-writes: PutObject with If-None-Match: * fails with 412
    # PreconditionFailed when the key exists; with If-Match it fails with 412 when the
    # ETag differs and with 404 NoSuchKey when there is no object.
    r = raw(store, "PUT", f"/{bucket}/cw", headers=[("If-None-Match", "*")], body=b"first")
    assert r.status == 200
    r = raw(store, "PUT", f"/{bucket}/cw", headers=[("If-None-Match", "*")], body=b"second")
    assert (r.status, r.code) == (412, "PreconditionFailed")
    etag = f'"{md5_hex(b"first")}"'
    r = raw(store, "PUT", f"/{bucket}/cw", headers=[("If-Match", '"%s"' % ("0" * 32))], body=b"x")
    assert (r.status, r.code) == (412, "PreconditionFailed")
    r = raw(store, "PUT", f"/{bucket}/cw", headers=[("If-Match", etag)], body=b"third")
    assert r.status == 200
    assert s3.get_object(Bucket=bucket, Key="cw")["Body"].read() == b"third"
    r = raw(store, "PUT", f"/{bucket}/absent", headers=[("If-Match", etag)], body=b"x")
    assert (r.status, r.code) == (404, "NoSuchKey")


def test_response_overrides_on_signed_get(s3, store, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"body", ContentType="text/plain")
    # GetObject: response-content-type, -content-language, -expires, -cache-control,
    # -content-disposition, -content-encoding override those headers in the response.
    g = s3.get_object(Bucket=bucket, Key="o", ResponseContentType="application/x-over",
                      ResponseContentLanguage="fr", ResponseCacheControl="no-store",
                      ResponseContentDisposition='inline; filename="a b.txt"',
                      ResponseContentEncoding="identity",
                      ResponseExpires=datetime.datetime(2030, 1, 2, 3, 4, 5,
                                                        tzinfo=datetime.timezone.utc))
    h = g["ResponseMetadata"]["HTTPHeaders"]
    assert h["content-type"] == "application/x-over"
    assert h["content-language"] == "fr"
    assert h["cache-control"] == "no-store"
    assert h["content-disposition"] == 'inline; filename="a b.txt"'
    assert h["content-encoding"] == "identity"
    assert h["expires"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert g["Body"].read() == b"body"
    # The stored object is unchanged.
    assert s3.head_object(Bucket=bucket, Key="o")["ContentType"] == "text/plain"


# ======================================================================
# Versioning
# ======================================================================


def test_versioning_delete_marker_and_versions(store, s3, vbucket):
    b = vbucket
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"two")["VersionId"]
    assert v1 and v2 and v1 != v2 and "null" not in (v1, v2)
    g = s3.get_object(Bucket=b, Key="k")
    assert g["Body"].read() == b"two" and g["VersionId"] == v2
    # DeleteObject on a versioning-enabled bucket: a delete marker becomes current;
    # the response has x-amz-delete-marker: true and its version id.
    d = s3.delete_object(Bucket=b, Key="k")
    assert d["DeleteMarker"] is True and d["VersionId"] not in (v1, v2)
    dm = d["VersionId"]
    # userguide/DeleteMarker: a GET of a key whose current version is a delete marker
    # is 404 with x-amz-delete-marker: true.
    for method in ("GET", "HEAD"):
        r = raw(store, method, f"/{b}/k")
        assert r.status == 404 and r.headers.get("x-amz-delete-marker") == "true"
    assert raw(store, "GET", f"/{b}/k").code == "NoSuchKey"
    # Versions stay readable by id.
    assert s3.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object(Bucket=b, Key="k", VersionId=v2)["Body"].read() == b"two"
    # GetObject: "If the specified version is a delete marker, the response returns a
    # 405 Method Not Allowed error and the Last-Modified: timestamp response header."
    r = raw(store, "GET", f"/{b}/k", f"versionId={urllib.parse.quote(dm)}")
    assert (r.status, r.code) == (405, "MethodNotAllowed")
    assert r.headers.get("x-amz-delete-marker") == "true" and "last-modified" in r.headers
    # Deleting the marker itself (by version id) brings v2 back.
    d = s3.delete_object(Bucket=b, Key="k", VersionId=dm)
    assert d["VersionId"] == dm and d["DeleteMarker"] is True
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"two"
    # Deleting a specific version removes it for good; the previous becomes current.
    d = s3.delete_object(Bucket=b, Key="k", VersionId=v2)
    assert d["VersionId"] == v2 and "DeleteMarker" not in d
    g = s3.get_object(Bucket=b, Key="k")
    assert g["Body"].read() == b"one" and g["VersionId"] == v1
    # ErrorResponses: NoSuchVersion (404) for a version that is gone.
    assert client_error(s3.get_object, Bucket=b, Key="k", VersionId=v2)[:2] == (404, "NoSuchVersion")
    vs = s3.list_object_versions(Bucket=b)
    assert [v["VersionId"] for v in vs["Versions"]] == [v1] and "DeleteMarkers" not in vs


def test_delete_missing_version_succeeds(s3, vbucket):
    b = vbucket
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"two")["VersionId"]
    s3.delete_object(Bucket=b, Key="k", VersionId=v2)
    # Deleting a version that no longer exists is still a success: AWS answers 204 and
    # echoes the version id; DeleteObjects lists it under Deleted (DeleteObject is
    # idempotent; AWS behaviour as reported in minio/minio#11090, #11086 and #18117,
    # versity/versitygw#1758).
    d = s3.delete_object(Bucket=b, Key="k", VersionId=v2)
    assert d["ResponseMetadata"]["HTTPStatusCode"] == 204 and d.get("VersionId") == v2
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "k", "VersionId": v2}]})
    assert [(x["Key"], x["VersionId"]) for x in r["Deleted"]] == [("k", v2)] and "Errors" not in r
    # Deleting a missing key without a version id is a 204 too (a delete marker in a
    # versioned bucket).
    d = s3.delete_object(Bucket=b, Key="never-existed")
    assert d["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_object(Bucket=b, Key="k")["VersionId"] == v1


def list_versions_raw(store, b, query=""):
    """Entries of ListObjectVersions in document order: (kind, key, version, is_latest)."""
    r = raw(store, "GET", f"/{b}", "versions" + ("&" + query if query else ""))
    assert r.status == 200, r.body
    x = r.xml()
    out = []
    for el in x:
        if el.tag in ("Version", "DeleteMarker"):
            out.append((el.tag, el.findtext("Key"), el.findtext("VersionId"),
                        el.findtext("IsLatest") == "true"))
    return x, out


def test_list_object_versions_order_and_pagination(store, s3, vbucket):
    b = vbucket
    created = {}  # key -> [(kind, version)] oldest first
    plan = [("b", "put"), ("a", "put"), ("b", "put"), ("b/c", "put"), ("b", "del"), ("a", "put"),
            ("c", "del"), ("b", "put"), ("a", "del"), ("b/c", "put"), ("é", "put"), ("a", "put")]
    for key, what in plan:
        if what == "put":
            v = s3.put_object(Bucket=b, Key=key, Body=key.encode())["VersionId"]
            created.setdefault(key, []).append(("Version", v))
        else:
            v = s3.delete_object(Bucket=b, Key=key)["VersionId"]
            created.setdefault(key, []).append(("DeleteMarker", v))
    # ListObjectVersions: keys in ascending (UTF-8 byte) order, and for each key the
    # versions newest first, with delete markers in among them; IsLatest marks the
    # current one (userguide/list-obj-version-enabled-bucket).
    want = []
    for key in sorted(created, key=lambda s: s.encode()):
        for i, (kind, v) in enumerate(reversed(created[key])):
            want.append((kind, key, v, i == 0))
    x, got = list_versions_raw(store, b)
    assert got == want
    assert x.findtext("IsTruncated") == "false"
    # Pagination with max-keys and key-marker/version-id-marker: the pages join up
    # to the whole listing, each truncated page names its last entry as the markers.
    for mk in (1, 2, 3, 5):
        pages, q = [], f"max-keys={mk}"
        for _ in range(50):
            x, page = list_versions_raw(store, b, q)
            assert len(page) <= mk
            pages += page
            if x.findtext("IsTruncated") != "true":
                break
            assert len(page) == mk
            nk, nv = x.findtext("NextKeyMarker"), x.findtext("NextVersionIdMarker")
            assert (nk, nv) == (page[-1][1], page[-1][2])
            q = (f"max-keys={mk}&key-marker={urllib.parse.quote(nk, safe='')}"
                 f"&version-id-marker={urllib.parse.quote(nv, safe='')}")
        assert pages == want, mk
    # key-marker alone: listing starts after every version of that key.
    _, got = list_versions_raw(store, b, "key-marker=b")
    assert got == [w for w in want if w[1].encode() > b"b"]
    # prefix and delimiter work as in ListObjects.
    x, got = list_versions_raw(store, b, "prefix=b&delimiter=/")
    assert got == [w for w in want if w[1] == "b"]
    assert [p.findtext("Prefix") for p in x.findall("CommonPrefixes")] == ["b/"]


def test_suspended_bucket_null_versions(store, s3, vbucket):
    b = vbucket
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"v1")["VersionId"]
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
    # userguide/AddingObjectstoVersionSuspendedBuckets: in a suspended bucket a PUT
    # stores the object with version id "null", replacing any earlier null version.
    s3.put_object(Bucket=b, Key="k", Body=b"null-1")
    s3.put_object(Bucket=b, Key="k", Body=b"null-2")
    _, got = list_versions_raw(store, b)
    assert got == [("Version", "k", "null", True), ("Version", "k", v1, False)]
    assert s3.get_object(Bucket=b, Key="k", VersionId="null")["Body"].read() == b"null-2"
    assert s3.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read() == b"v1"
    # userguide/DeletingObjectsfromVersioningSuspendedBuckets: a DELETE removes the null
    # version and puts a delete marker whose version id is "null".
    d = s3.delete_object(Bucket=b, Key="k")
    assert d["DeleteMarker"] is True and d.get("VersionId", "null") == "null"
    _, got = list_versions_raw(store, b)
    assert got == [("DeleteMarker", "k", "null", True), ("Version", "k", v1, False)]
    # Re-enabled: new versions get real ids; the null marker stays as history.
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    v3 = s3.put_object(Bucket=b, Key="k", Body=b"v3")["VersionId"]
    assert v3 not in ("null", v1)
    _, got = list_versions_raw(store, b)
    assert got == [("Version", "k", v3, True), ("DeleteMarker", "k", "null", False),
                   ("Version", "k", v1, False)]


def test_unversioned_bucket_null_version(store, s3, bucket):
    r = s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    # userguide/Versioning: objects in a never-versioned bucket have version id null;
    # S3 sends no x-amz-version-id for them.
    assert "x-amz-version-id" not in r["ResponseMetadata"]["HTTPHeaders"]
    _, got = list_versions_raw(store, bucket)
    assert got == [("Version", "k", "null", True)]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"x"
    s3.put_object(Bucket=bucket, Key="k", Body=b"y")  # overwrite: still one version
    _, got = list_versions_raw(store, bucket)
    assert got == [("Version", "k", "null", True)]
    s3.delete_object(Bucket=bucket, Key="k", VersionId="null")
    assert client_error(s3.head_object, Bucket=bucket, Key="k")[0] == 404
    _, got = list_versions_raw(store, bucket)
    assert got == []  # no delete marker in an unversioned bucket


# ======================================================================
# Listing
# ======================================================================

SMALL_KEYS = ["a/b/c/d", "a/b/c/e", "a/b/x", "a/y", "a.txt", "a0", "b", "ün/1", "z/", "a/b/c/d/e/f"]


@pytest.fixture
def small(s3, bucket):
    for k in SMALL_KEYS:
        s3.put_object(Bucket=bucket, Key=k, Body=b"1")
    return bucket


def v2(store, b, **params):
    q = "&".join(["list-type=2"] + [f"{k.replace('_', '-')}={urllib.parse.quote(str(v), safe='')}"
                                    for k, v in params.items()])
    r = raw(store, "GET", f"/{b}", q)
    assert r.status == 200, r.body
    return r.xml()


def keys_of(x, enc=False):
    f = urllib.parse.unquote_plus if enc else (lambda s: s)
    return [f(c.findtext("Key")) for c in x.findall("Contents")]


def prefixes_of(x, enc=False):
    f = urllib.parse.unquote_plus if enc else (lambda s: s)
    return [f(c.findtext("Prefix")) for c in x.findall("CommonPrefixes")]


def test_list_v2_prefix_delimiter(store, small):
    b = small
    # ListObjectsV2: keys up to the first delimiter after the prefix roll up into
    # CommonPrefixes; everything sorts in UTF-8 byte order ('.' < '/' < '0').
    x = v2(store, b, delimiter="/")
    assert keys_of(x) == ["a.txt", "a0", "b"]
    assert prefixes_of(x) == ["a/", "z/", "ün/"]
    assert x.findtext("KeyCount") == "6" and x.findtext("Delimiter") == "/"
    x = v2(store, b, prefix="a/b/", delimiter="/")
    assert keys_of(x) == ["a/b/x"] and prefixes_of(x) == ["a/b/c/"]
    assert x.findtext("Prefix") == "a/b/"
    x = v2(store, b, prefix="a/b/c/", delimiter="/")
    assert keys_of(x) == ["a/b/c/d", "a/b/c/e"] and prefixes_of(x) == ["a/b/c/d/"]
    x = v2(store, b, prefix="a/b/c/d/", delimiter="/")
    assert prefixes_of(x) == ["a/b/c/d/e/"] and keys_of(x) == []
    # A key equal to the prefix plus delimiter ("z/") rolls up into the prefix "z/".
    x = v2(store, b, prefix="z", delimiter="/")
    assert prefixes_of(x) == ["z/"] and keys_of(x) == []
    # Delimiters longer than one character.
    x = v2(store, b, prefix="a/", delimiter="c/")
    assert prefixes_of(x) == ["a/b/c/"] and keys_of(x) == ["a/b/x", "a/y"]
    # Without a delimiter, a prefix is only a filter.
    assert keys_of(v2(store, b, prefix="a/b")) == ["a/b/c/d", "a/b/c/d/e/f", "a/b/c/e", "a/b/x"]
    # A prefix that matches nothing.
    x = v2(store, b, prefix="nothing")
    assert keys_of(x) == [] and x.findtext("KeyCount") == "0" and x.findtext("IsTruncated") == "false"


def test_list_v2_max_keys_token_start_after_owner(store, s3, small):
    b = small
    allk = sorted(SMALL_KEYS, key=lambda s: s.encode())
    x = v2(store, b, max_keys=3)
    assert keys_of(x) == allk[:3] and x.findtext("IsTruncated") == "true"
    assert x.findtext("MaxKeys") == "3" and x.findtext("KeyCount") == "3"
    tok = x.findtext("NextContinuationToken")
    assert tok
    x = v2(store, b, max_keys=3, continuation_token=tok)
    assert keys_of(x) == allk[3:6] and x.findtext("ContinuationToken") == tok
    # StartAfter: "where you want Amazon S3 to start listing from ... after this
    # specified key"; it need not exist.
    x = v2(store, b, start_after="a0")
    assert keys_of(x) == allk[allk.index("a0") + 1:]
    assert x.findtext("StartAfter") == "a0"
    x = v2(store, b, start_after="a/b/c/da")
    assert keys_of(x) == [k for k in allk if k.encode() > b"a/b/c/da"]
    # FetchOwner: "The owner field is not present in ListObjectsV2 by default".
    x = v2(store, b)
    assert all(c.find("Owner") is None for c in x.findall("Contents"))
    x = v2(store, b, fetch_owner="true")
    owners = {(c.findtext("Owner/ID"), c.findtext("Owner/DisplayName")) for c in x.findall("Contents")}
    assert len(owners) == 1 and list(owners)[0][1] == "alice" and list(owners)[0][0]
    # Each entry has Key, LastModified, ETag, Size, StorageClass.
    c = x.find("Contents")
    assert c.findtext("ETag") == f'"{md5_hex(b"1")}"' and c.findtext("Size") == "1"
    assert c.findtext("StorageClass") == "STANDARD" and c.findtext("LastModified").endswith("Z")
    # A continuation token the store cannot have issued is InvalidArgument (400)
    # "The continuation token provided is incorrect".
    r = raw(store, "GET", f"/{b}", "list-type=2&continuation-token=%21%21%21")
    assert (r.status, r.code) == (400, "InvalidArgument")
    # A max-keys that is not a non-negative integer is InvalidArgument.
    r = raw(store, "GET", f"/{b}", "list-type=2&max-keys=-1")
    assert (r.status, r.code) == (400, "InvalidArgument")
    r = raw(store, "GET", f"/{b}", "list-type=2&max-keys=abc")
    assert (r.status, r.code) == (400, "InvalidArgument")


def test_list_encoding_type_url(store, s3, bucket):
    keys = ["d ir/x+y", "d ir/%z", "plain", "d ir/sub dir/k"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    # ListObjectsV2 EncodingType=url: Delimiter, Prefix, Key and StartAfter are encoded.
    x = v2(store, bucket, prefix="d ir/", delimiter="/", encoding_type="url", start_after="d ir/")
    assert x.findtext("EncodingType") == "url"
    assert urllib.parse.unquote_plus(x.findtext("Prefix")) == "d ir/"
    assert " " not in x.findtext("Prefix")
    assert urllib.parse.unquote_plus(x.findtext("StartAfter")) == "d ir/"
    assert keys_of(x, True) == ["d ir/%z", "d ir/x+y"]
    assert prefixes_of(x, True) == ["d ir/sub dir/"]
    # boto3 round trip (it decodes with unquote_plus): '+' must have been escaped.
    got = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert got == sorted(keys, key=str.encode)
    # An unknown encoding type is InvalidArgument (400).
    r = raw(store, "GET", f"/{bucket}", "list-type=2&encoding-type=base64")
    assert (r.status, r.code) == (400, "InvalidArgument")


def v1(store, b, **params):
    q = "&".join(f"{k.replace('_', '-')}={urllib.parse.quote(str(v), safe='')}"
                 for k, v in params.items())
    r = raw(store, "GET", f"/{b}", q)
    assert r.status == 200, r.body
    return r.xml()


def test_list_v1(store, small):
    b = small
    allk = sorted(SMALL_KEYS, key=lambda s: s.encode())
    x = v1(store, b)
    assert keys_of(x) == allk and x.findtext("IsTruncated") == "false"
    # ListObjects (V1) always returns Owner for each key.
    assert all(c.findtext("Owner/DisplayName") == "alice" for c in x.findall("Contents"))
    x = v1(store, b, marker="a0", max_keys=2)
    assert keys_of(x) == allk[allk.index("a0") + 1:][:2] and x.findtext("Marker") == "a0"
    assert x.findtext("IsTruncated") == "true"
    # ListObjects NextMarker: "returned only if you have the delimiter request parameter
    # specified"; it is the last key or common prefix of the page.
    assert x.find("NextMarker") is None
    x = v1(store, b, delimiter="/", max_keys=2)
    assert keys_of(x) == ["a.txt"] and prefixes_of(x) == ["a/"]
    assert x.findtext("NextMarker") == "a/"
    x = v1(store, b, delimiter="/", max_keys=2, marker="a/")
    assert keys_of(x) == ["a0", "b"] and prefixes_of(x) == []
    assert x.findtext("NextMarker") == "b" and x.findtext("IsTruncated") == "true"
    x = v1(store, b, delimiter="/", max_keys=2, marker="b")
    assert prefixes_of(x) == ["z/", "ün/"] and x.findtext("IsTruncated") == "false"


# ---- pagination against a model of S3's rules ----

def make_model_keys(n):
    rng = random.Random(7)
    tails = ["", "x", "é", "🙂", "\ufffd", "!", "~", " ", "+", "%"]
    keys = set()
    i = 0
    while len(keys) < n:
        g = i % 9
        t = tails[rng.randrange(len(tails))]
        if g == 0:
            k = f"d/{i % 13}/x{i}{t}"
        elif g == 1:
            k = f"d/{i % 13}/{i % 3}/y{t}{i}"
        elif g == 2:
            k = f"f{i}{t}"
        elif g == 3:
            k = f"a!{i}"
        elif g == 4:
            k = f"a/{i}{t}"
        elif g == 5:
            k = f"{t}{i % 50}/{i}"
        elif g == 6:
            k = f"p{i % 7}{t}/q/{i}"
        elif g == 7:
            k = f"é/{i}/🙂{t}"
        else:
            k = f"a{i % 31}.{t}{i}"
        keys.add(k)
        i += 1
    return sorted(keys, key=str.encode)


def model_entries(keys, prefix="", delimiter=""):
    """S3's listing: keys in byte order filtered by prefix, rolled up at the first
    delimiter after the prefix; each key or common prefix is one entry."""
    out, seen = [], set()
    for k in keys:
        if not k.startswith(prefix):
            continue
        if delimiter:
            i = k.find(delimiter, len(prefix))
            if i >= 0:
                cp = k[:i + len(delimiter)]
                if cp not in seen:
                    seen.add(cp)
                    out.append(("P", cp))
                continue
        out.append(("K", k))
    return out


N_MODEL_KEYS = 2500


@pytest.fixture(scope="module")
def model_bucket(store, s3):
    b = make_bucket(s3)
    keys = make_model_keys(N_MODEL_KEYS)
    local = threading.local()

    def put(k):
        if not hasattr(local, "c"):
            local.c = store.boto3()
        local.c.put_object(Bucket=b, Key=k, Body=b"")

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        list(ex.map(put, keys))
    return b, keys


def page_entries(x, enc):
    ents = [("K", k) for k in keys_of(x, enc)] + [("P", p) for p in prefixes_of(x, enc)]
    return sorted(ents, key=lambda e: e[1].encode())


MODEL_CASES = [
    ("", "", 1000), ("", "", 333), ("", "/", 7), ("", "/", 1000), ("d/", "/", 5), ("d/1", "/", 3),
    ("", "!", 150), ("p", "/", 2), ("é", "", 101), ("", "x", 97), ("a", "/", 40), ("d/", "", 250),
    ("zzz", "/", 10), ("", "🙂", 200),
]


@pytest.mark.parametrize("prefix,delimiter,max_keys", MODEL_CASES)
def test_list_pagination_matches_model(store, model_bucket, prefix, delimiter, max_keys):
    b, keys = model_bucket
    want = model_entries(keys, prefix, delimiter)
    base = {"prefix": prefix, "max_keys": max_keys, "encoding_type": "url"}
    if delimiter:
        base["delimiter"] = delimiter
    # ListObjectsV2: each page holds up to max-keys entries, keys and CommonPrefixes
    # both counting ("the sum of the number of keys and common prefixes"), in order.
    i, tok, pages = 0, None, 0
    while True:
        x = v2(store, b, **base, **({"continuation_token": tok} if tok else {}))
        page = page_entries(x, True)
        assert page == want[i:i + max_keys], (pages, i)
        assert int(x.findtext("KeyCount")) == len(page)
        i += len(page)
        pages += 1
        truncated = x.findtext("IsTruncated") == "true"
        assert truncated == (i < len(want))
        if not truncated:
            assert x.find("NextContinuationToken") is None
            break
        tok = x.findtext("NextContinuationToken")
    assert i == len(want)
    # ListObjects (V1): the same pages, following NextMarker (with a delimiter) or the
    # last key (without one).
    i, marker = 0, None
    while True:
        x = v1(store, b, **base, **({"marker": marker} if marker else {}))
        page = page_entries(x, True)
        assert page == want[i:i + max_keys], ("v1", i)
        i += len(page)
        if x.findtext("IsTruncated") != "true":
            break
        if delimiter:
            marker = urllib.parse.unquote_plus(x.findtext("NextMarker"))
            assert marker == page[-1][1]
        else:
            marker = page[-1][1]
    assert i == len(want)


def test_list_max_keys_capped_at_1000(store, model_bucket):
    # ListObjectsV2 / ListObjects: "returns up to 1,000 key names"; a larger max-keys
    # still gets at most 1000 per page.
    b, keys = model_bucket
    for params in ({"max_keys": 5000}, {}):
        x = v2(store, b, **params)
        assert keys_of(x) == keys[:1000] and x.findtext("IsTruncated") == "true"
        x = v1(store, b, **params)
        assert keys_of(x) == keys[:1000] and x.findtext("IsTruncated") == "true"


@pytest.mark.parametrize("start_after", ["", "a/", "d/5/", "f1", "é", "\U0010ffff"])
def test_list_start_after_matches_model(store, model_bucket, start_after):
    b, keys = model_bucket
    want = [k for k in keys if k.encode() > start_after.encode()]
    got, tok = [], None
    while True:
        p = {"start_after": start_after, "max_keys": 400, "encoding_type": "url"}
        x = v2(store, b, **p, **({"continuation_token": tok} if tok else {}))
        got += keys_of(x, True)
        if x.findtext("IsTruncated") != "true":
            break
        tok = x.findtext("NextContinuationToken")
    assert got == want


def test_list_multipart_uploads(store, s3, bucket):
    ups = []
    for k in ["m/2", "n", "m/1", "m/2", "o p", "m/sub/3"]:
        ups.append((k, s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"]))
    # ListMultipartUploads: "uploads are sorted by key ... within each key by the
    # upload initiation time" (ascending).
    want = sorted(ups, key=lambda u: u[0].encode())  # stable: creation order within a key
    r = s3.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in r["Uploads"]] == want
    assert r["IsTruncated"] is False
    assert all(u["Initiator"]["DisplayName"] == "alice" or u["Owner"]["DisplayName"] == "alice"
               for u in r["Uploads"])
    # Prefix and delimiter.
    r = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in r["Uploads"]] == ["n", "o p"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["m/"]
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix="m/", Delimiter="/")
    assert [u["Key"] for u in r["Uploads"]] == ["m/1", "m/2", "m/2"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["m/sub/"]
    # Paging with max-uploads, key-marker and upload-id-marker.
    got, kw = [], {}
    for _ in range(20):
        r = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, **kw)
        got += [(u["Key"], u["UploadId"]) for u in r.get("Uploads", [])]
        if not r["IsTruncated"]:
            break
        kw = {"KeyMarker": r["NextKeyMarker"], "UploadIdMarker": r["NextUploadIdMarker"]}
    assert got == want
    # Aborted and completed uploads leave the list.
    s3.abort_multipart_upload(Bucket=bucket, Key="n", UploadId=ups[1][1])
    p = s3.upload_part(Bucket=bucket, Key="o p", UploadId=ups[4][1], PartNumber=1, Body=b"z")
    s3.complete_multipart_upload(Bucket=bucket, Key="o p", UploadId=ups[4][1],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
    left = [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]]
    assert left == [u for k, u in want if u not in (ups[1][1], ups[4][1])]
    for k, u in ups:
        if u not in (ups[1][1], ups[4][1]):
            s3.abort_multipart_upload(Bucket=bucket, Key=k, UploadId=u)


# ======================================================================
# Multipart
# ======================================================================


def rbytes(n, seed):
    return random.Random(seed).randbytes(n)


def mpu(s3, b, key, parts):
    up = s3.create_multipart_upload(Bucket=b, Key=key)["UploadId"]
    done = []
    for i, data in enumerate(parts, 1):
        e = s3.upload_part(Bucket=b, Key=key, UploadId=up, PartNumber=i, Body=data)["ETag"]
        assert e == f'"{md5_hex(data)}"'  # UploadPart: the ETag is the part's MD5
        done.append({"PartNumber": i, "ETag": e})
    return up, done


def mpu_etag(parts):
    """userguide/checking-object-integrity: a multipart ETag is the MD5 of the parts'
    binary MD5s, a hyphen and the number of parts."""
    return '"%s-%d"' % (hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest(),
                        len(parts))


def test_multipart_etag_and_ranges(store, s3, bucket):
    parts = [rbytes(5 * MiB, 1), rbytes(5 * MiB, 2), rbytes(1234, 3)]
    whole = b"".join(parts)
    up, done = mpu(s3, bucket, "big", parts)
    r = s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=up,
                                     MultipartUpload={"Parts": done})
    assert r["ETag"] == mpu_etag(parts)
    h = s3.head_object(Bucket=bucket, Key="big")
    assert h["ETag"] == mpu_etag(parts) and h["ContentLength"] == len(whole)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == whole
    # Ranges across part boundaries are served from the parts in order.
    p1 = 5 * MiB
    for first, last in [(p1 - 10, p1 + 9), (p1 - 1, p1), (2 * p1 - 5, 2 * p1 + 1233),
                        (0, 2 * p1 + 1233), (p1, p1), (10, 2 * p1 + 5), (2 * p1, 2 * p1 + 99)]:
        g = raw(store, "GET", f"/{bucket}/big", headers=[("Range", f"bytes={first}-{last}")])
        assert g.status == 206 and g.body == whole[first:last + 1], (first, last)
        assert g.headers["content-range"] == f"bytes {first}-{last}/{len(whole)}"
    g = raw(store, "GET", f"/{bucket}/big", headers=[("Range", "bytes=-1300")])
    assert g.body == whole[-1300:]
    # The listing shows the multipart ETag and the full size.
    o = s3.list_objects_v2(Bucket=bucket, Prefix="big")["Contents"][0]
    assert o["ETag"] == mpu_etag(parts) and o["Size"] == len(whole)


def test_multipart_part_checks(s3, bucket):
    big = rbytes(5 * MiB, 4)
    up, done = mpu(s3, bucket, "k", [big, b"tail-2", b"tail-3"])
    # CompleteMultipartUpload / ErrorResponses: InvalidPart (400) "One or more of the
    # specified parts could not be found ... or the specified entity tag might not
    # have matched the part's entity tag."
    bad = [done[0], {"PartNumber": 2, "ETag": '"%s"' % ("0" * 32)}]
    status, code, _ = client_error(s3.complete_multipart_upload, Bucket=bucket, Key="k",
                                   UploadId=up, MultipartUpload={"Parts": bad})
    assert (status, code) == (400, "InvalidPart")
    bad = [done[0], {"PartNumber": 7, "ETag": done[1]["ETag"]}]
    assert client_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=up,
                        MultipartUpload={"Parts": bad})[:2] == (400, "InvalidPart")
    # InvalidPartOrder (400): "The list of parts was not in ascending order."
    assert client_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=up,
                        MultipartUpload={"Parts": [done[1], done[0]]})[:2] == (400, "InvalidPartOrder")
    # EntityTooSmall (400): every part but the last must be at least 5 MiB.
    assert client_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=up,
                        MultipartUpload={"Parts": [done[0], done[1], done[2]]})[:2] == \
        (400, "EntityTooSmall")
    # The failed attempts left the upload intact: a valid subset completes (parts not
    # named are dropped), part 1 (5 MiB) then part 3.
    r = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=up,
                                     MultipartUpload={"Parts": [done[0], done[2]]})
    assert r["ETag"] == mpu_etag([big, b"tail-3"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == big + b"tail-3"
    # Completed: the upload id is gone.
    assert client_error(s3.list_parts, Bucket=bucket, Key="k", UploadId=up)[:2] == \
        (404, "NoSuchUpload")


def test_multipart_part_numbers_and_replacement(store, s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    # UploadPart: "Part numbers can be any number from 1 to 10,000, inclusive."
    for n in (0, 10001):
        r = raw(store, "PUT", f"/{bucket}/k", f"partNumber={n}&uploadId={up}", body=b"x")
        assert (r.status, r.code) == (400, "InvalidArgument"), n
    s3.upload_part(Bucket=bucket, Key="k", UploadId=up, PartNumber=10000, Body=b"last")
    # Uploading a part number again replaces the earlier part ("If you upload a new
    # part using the same part number ... the previously uploaded part is overwritten").
    old = s3.upload_part(Bucket=bucket, Key="k", UploadId=up, PartNumber=1, Body=b"old")["ETag"]
    new = s3.upload_part(Bucket=bucket, Key="k", UploadId=up, PartNumber=1, Body=b"new!")["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == \
        [(1, new, 4), (10000, f'"{md5_hex(b"last")}"', 4)]
    assert client_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=up,
                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": old}]})[:2] == \
        (400, "InvalidPart")
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": new}]})
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new!"


def test_list_parts_pagination(s3, bucket):
    datas = [b"p%d" % i * (i + 1) for i in range(1, 8)]
    up, done = mpu(s3, bucket, "lp", datas)
    # ListParts: max-parts, part-number-marker, NextPartNumberMarker, IsTruncated.
    got, marker = [], 0
    for _ in range(10):
        r = s3.list_parts(Bucket=bucket, Key="lp", UploadId=up, MaxParts=3, PartNumberMarker=marker)
        ps = r.get("Parts", [])
        assert len(ps) <= 3
        got += [(p["PartNumber"], p["ETag"], p["Size"]) for p in ps]
        if not r["IsTruncated"]:
            break
        assert r["NextPartNumberMarker"] == ps[-1]["PartNumber"]
        marker = r["NextPartNumberMarker"]
    assert got == [(i + 1, f'"{md5_hex(d)}"', len(d)) for i, d in enumerate(datas)]
    r = s3.list_parts(Bucket=bucket, Key="lp", UploadId=up, PartNumberMarker=5)
    assert [p["PartNumber"] for p in r["Parts"]] == [6, 7]
    s3.abort_multipart_upload(Bucket=bucket, Key="lp", UploadId=up)


def test_abort_then_no_such_upload(s3, bucket):
    up, done = mpu(s3, bucket, "ab", [b"x"])
    assert s3.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId=up)[
        "ResponseMetadata"]["HTTPStatusCode"] == 204
    # ErrorResponses: NoSuchUpload (404) "The specified multipart upload does not exist."
    for fn, kw in [(s3.upload_part, dict(PartNumber=2, Body=b"y")), (s3.list_parts, {}),
                   (s3.complete_multipart_upload, dict(MultipartUpload={"Parts": done})),
                   (s3.abort_multipart_upload, {})]:
        assert client_error(fn, Bucket=bucket, Key="ab", UploadId=up, **kw)[:2] == \
            (404, "NoSuchUpload"), fn
    # The upload id belongs to its key.
    up2 = s3.create_multipart_upload(Bucket=bucket, Key="one")["UploadId"]
    assert client_error(s3.upload_part, Bucket=bucket, Key="other", UploadId=up2, PartNumber=1,
                        Body=b"z")[:2] == (404, "NoSuchUpload")
    assert client_error(s3.head_object, Bucket=bucket, Key="ab")[0] == 404
    s3.abort_multipart_upload(Bucket=bucket, Key="one", UploadId=up2)


def test_multipart_metadata_from_create(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="md", ContentType="text/x-mp",
                                    Metadata={"who": "mp"})["UploadId"]
    e = s3.upload_part(Bucket=bucket, Key="md", UploadId=up, PartNumber=1, Body=b"x")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="md", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
    h = s3.head_object(Bucket=bucket, Key="md")
    assert h["ContentType"] == "text/x-mp" and h["Metadata"] == {"who": "mp"}
    assert h["ETag"] == mpu_etag([b"x"])


# ======================================================================
# CopyObject and DeleteObjects
# ======================================================================


def test_copy_directives(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", ContentType="text/src",
                  Metadata={"a": "1"}, CacheControl="max-age=5")
    src_etag = s3.head_object(Bucket=bucket, Key="src")["ETag"]
    # CopyObject: with the default COPY directive the metadata comes from the source
    # and metadata in the request is ignored.
    r = s3.copy_object(Bucket=bucket, Key="c1", CopySource={"Bucket": bucket, "Key": "src"},
                       Metadata={"ignored": "yes"})
    assert r["CopyObjectResult"]["ETag"] == src_etag
    h = s3.head_object(Bucket=bucket, Key="c1")
    assert h["Metadata"] == {"a": "1"} and h["ContentType"] == "text/src"
    assert h["CacheControl"] == "max-age=5" and h["ETag"] == src_etag
    # REPLACE: metadata from the request only.
    s3.copy_object(Bucket=bucket, Key="c2", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="text/new")
    h = s3.head_object(Bucket=bucket, Key="c2")
    assert h["Metadata"] == {"b": "2"} and h["ContentType"] == "text/new"
    assert "CacheControl" not in h
    assert s3.get_object(Bucket=bucket, Key="c2")["Body"].read() == b"payload"
    # An odd source key (x-amz-copy-source is URL-encoded).
    odd = "sp ace/plus+/ü%"
    s3.put_object(Bucket=bucket, Key=odd, Body=b"odd")
    s3.copy_object(Bucket=bucket, Key="c3", CopySource={"Bucket": bucket, "Key": odd})
    assert s3.get_object(Bucket=bucket, Key="c3")["Body"].read() == b"odd"
    # Missing source: NoSuchKey; another user's bucket: AccessDenied.
    assert client_error(s3.copy_object, Bucket=bucket, Key="c4",
                        CopySource={"Bucket": bucket, "Key": "nope"})[:2] == (404, "NoSuchKey")
    # An invalid directive is InvalidArgument.
    status, code, _ = client_error(s3.copy_object, Bucket=bucket, Key="c5",
                                   CopySource={"Bucket": bucket, "Key": "src"},
                                   MetadataDirective="MERGE")
    assert (status, code) == (400, "InvalidArgument")


def test_copy_across_users_denied(s3, s3bob, bucket):
    bb = make_bucket(s3bob)
    s3bob.put_object(Bucket=bb, Key="secret", Body=b"bob's")
    assert client_error(s3.copy_object, Bucket=bucket, Key="stolen",
                        CopySource={"Bucket": bb, "Key": "secret"})[:2] == (403, "AccessDenied")
    s3.put_object(Bucket=bucket, Key="mine", Body=b"x")
    assert client_error(s3bob.copy_object, Bucket=bucket, Key="pushed",
                        CopySource={"Bucket": bb, "Key": "secret"})[:2] == (403, "AccessDenied")


def test_copy_to_itself(s3, bucket):
    s3.put_object(Bucket=bucket, Key="self", Body=b"x", Metadata={"v": "1"})
    # CopyObject / ErrorResponses: InvalidRequest (400) "This copy request is illegal
    # because it is trying to copy an object to itself without changing the object's
    # metadata, storage class, website redirect location or encryption attributes."
    status, code, _ = client_error(s3.copy_object, Bucket=bucket, Key="self",
                                   CopySource={"Bucket": bucket, "Key": "self"})
    assert (status, code) == (400, "InvalidRequest")
    s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"},
                   MetadataDirective="REPLACE", Metadata={"v": "2"})
    h = s3.head_object(Bucket=bucket, Key="self")
    assert h["Metadata"] == {"v": "2"}
    assert s3.get_object(Bucket=bucket, Key="self")["Body"].read() == b"x"


def test_copy_source_conditionals(s3, bucket):
    s3.put_object(Bucket=bucket, Key="s", Body=b"cond")
    h = s3.head_object(Bucket=bucket, Key="s")
    etag, lm = h["ETag"], h["LastModified"]
    past, later = lm - datetime.timedelta(days=1), lm + datetime.timedelta(days=1)
    src = {"Bucket": bucket, "Key": "s"}
    other = '"0123456789abcdef0123456789abcdef"'
    # CopyObject: each x-amz-copy-source-if-* that fails is 412 PreconditionFailed.
    fails = [dict(CopySourceIfMatch=other), dict(CopySourceIfNoneMatch=etag),
             dict(CopySourceIfUnmodifiedSince=past), dict(CopySourceIfModifiedSince=lm)]
    for kw in fails:
        assert client_error(s3.copy_object, Bucket=bucket, Key="d", CopySource=src, **kw)[:2] == \
            (412, "PreconditionFailed"), kw
    assert client_error(s3.head_object, Bucket=bucket, Key="d")[0] == 404
    for kw in [dict(CopySourceIfMatch=etag), dict(CopySourceIfNoneMatch=other),
               dict(CopySourceIfUnmodifiedSince=lm), dict(CopySourceIfUnmodifiedSince=later),
               dict(CopySourceIfModifiedSince=past),
               # "If both x-amz-copy-source-if-match and x-amz-copy-source-if-unmodified-since
               # ... if-match evaluates to true, and if-unmodified-since evaluates to false
               # ... Amazon S3 returns 200 OK and copies the data."
               dict(CopySourceIfMatch=etag, CopySourceIfUnmodifiedSince=past)]:
        s3.copy_object(Bucket=bucket, Key="d", CopySource=src, **kw)
    # "If both ... if-none-match and ... if-modified-since ... if-none-match evaluates
    # to false, and if-modified-since evaluates to true ... 412 Precondition Failed".
    assert client_error(s3.copy_object, Bucket=bucket, Key="d", CopySource=src,
                        CopySourceIfNoneMatch=etag, CopySourceIfModifiedSince=past)[0] == 412


def test_copy_specific_version(s3, vbucket):
    b = vbucket
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"first")["VersionId"]
    s3.put_object(Bucket=b, Key="k", Body=b"second")
    r = s3.copy_object(Bucket=b, Key="old", CopySource={"Bucket": b, "Key": "k", "VersionId": v1})
    # CopyObject: x-amz-copy-source-version-id is the version copied; the new object has
    # its own version id in a versioned bucket.
    assert r["CopySourceVersionId"] == v1
    assert r["VersionId"] and r["VersionId"] != v1
    assert s3.get_object(Bucket=b, Key="old")["Body"].read() == b"first"
    dm = s3.delete_object(Bucket=b, Key="k")["VersionId"]
    # Copying from a key whose current version is a delete marker is NoSuchKey; naming
    # the marker by id is 400 InvalidRequest on S3 ("The source of a copy request may
    # not specifically refer to a delete marker by version id.").
    assert client_error(s3.copy_object, Bucket=b, Key="x",
                        CopySource={"Bucket": b, "Key": "k"})[:2] == (404, "NoSuchKey")
    assert client_error(s3.copy_object, Bucket=b, Key="x",
                        CopySource={"Bucket": b, "Key": "k", "VersionId": dm})[:2] == \
        (400, "InvalidRequest")


def test_delete_objects_quiet_and_verbose(s3, bucket):
    for k in ("x", "y", "z w"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"1")
    # DeleteObjects: "if the object specified in the request is not found, Amazon S3
    # returns the result as deleted"; verbose mode lists every key.
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "x"}, {"Key": "z w"},
                                                             {"Key": "missing"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["missing", "x", "z w"]
    assert "Errors" not in r
    # Quiet mode: "the response includes only keys where the delete action encountered
    # an error" - none here.
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "y"}], "Quiet": True})
    assert "Deleted" not in r and "Errors" not in r
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_delete_objects_versions(s3, vbucket):
    b = vbucket
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"2")["VersionId"]
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "k"}]})
    d = r["Deleted"][0]
    # Without a version id in a versioned bucket a delete marker is made.
    assert d["Key"] == "k" and d["DeleteMarker"] is True and d["DeleteMarkerVersionId"]
    dm = d["DeleteMarkerVersionId"]
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "k", "VersionId": v1},
                                                        {"Key": "k", "VersionId": dm}]})
    got = {x["VersionId"]: x for x in r["Deleted"]}
    assert set(got) == {v1, dm}
    vs = s3.list_object_versions(Bucket=b)
    assert [v["VersionId"] for v in vs["Versions"]] == [v2] and "DeleteMarkers" not in vs
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"2"
    # Deleting a delete marker by id: DeletedObject "DeleteMarker: Indicates whether the
    # specified object version that was permanently deleted was (true) or was not
    # (false) a delete marker"; "DeleteMarkerVersionId: ... If you delete a specific
    # object version, the value returned ... is the version ID of the object version
    # deleted."
    assert got[dm]["DeleteMarker"] is True
    assert got[dm].get("DeleteMarkerVersionId") == dm


def test_delete_objects_1000_limit(s3, bucket):
    # DeleteObjects: "The request can contain a list of up to 1000 keys"; more is
    # MalformedXML (400) on S3.
    s3.put_object(Bucket=bucket, Key="keep", Body=b"1")
    objs = [{"Key": f"k{i}"} for i in range(1001)] + [{"Key": "keep"}]
    status, code, _ = client_error(s3.delete_objects, Bucket=bucket,
                                   Delete={"Objects": objs[1:], "Quiet": True})
    assert (status, code) == (400, "MalformedXML")
    assert s3.head_object(Bucket=bucket, Key="keep")  # nothing was deleted
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": objs[2:], "Quiet": False})
    assert len(r["Deleted"]) == 1000


# ======================================================================
# Authentication
# ======================================================================


def test_wrong_secret_and_unknown_key(store, bucket):
    # ErrorResponses: SignatureDoesNotMatch (403); InvalidAccessKeyId (403) "The AWS
    # access key ID you provided does not exist in our records."
    r = raw(store, "GET", f"/{bucket}", user=(ALICE[0], "wrong-secret"))
    assert (r.status, r.code) == (403, "SignatureDoesNotMatch")
    r = raw(store, "GET", f"/{bucket}", user=("AKIANOBODY0000000000", "x"))
    assert (r.status, r.code) == (403, "InvalidAccessKeyId")


def _swap_last_hex(s):
    return s[:-1] + ("0" if s[-1] != "0" else "1")


def test_tampered_requests(store, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"A")
    s3.put_object(Bucket=bucket, Key="b", Body=b"B")

    def sig(t, h):
        return t, [(n, _swap_last_hex(v) if n == "Authorization" else v) for n, v in h]

    def header(t, h):
        return t, [(n, "2" if n == "x-amz-meta-n" else v) for n, v in h]

    def date(t, h):
        return t, [(n, v[:-3] + ("01Z" if v[-3:] != "01Z" else "02Z") if n == "X-Amz-Date" else v)
                   for n, v in h]

    def path(t, h):
        return t.replace("/a", "/b"), h

    def query(t, h):
        return t + "&extra=1", h

    def drop_signed_header(t, h):
        return t, [(n, v) for n, v in h if n != "x-amz-meta-n"]

    # sigv4: changing any signed part after signing is SignatureDoesNotMatch (403).
    for m in (sig, header, date, path, query):
        r = raw(store, "GET", f"/{bucket}/a", "versionId=null",
                headers=[("x-amz-meta-n", "1")], mutate=m)
        assert (r.status, r.code) == (403, "SignatureDoesNotMatch"), m.__name__
    # A header named in SignedHeaders but not sent is refused too.
    r = raw(store, "GET", f"/{bucket}/a", "versionId=null", headers=[("x-amz-meta-n", "1")],
            mutate=drop_signed_header)
    assert (r.status, r.code) in ((403, "SignatureDoesNotMatch"),
                                  (400, "AuthorizationHeaderMalformed"))
    # Untampered the same request works.
    r = raw(store, "GET", f"/{bucket}/a", "versionId=null", headers=[("x-amz-meta-n", "1")])
    assert r.status == 200 and r.body == b"A"
    # A tampered body (signed hash of one body, another body sent) on PUT.
    r = raw(store, "PUT", f"/{bucket}/c", body=b"C", payload=hashlib.sha256(b"D").hexdigest())
    assert r.status in (400, 403) and r.code in ("XAmzContentSHA256Mismatch", "SignatureDoesNotMatch")


def test_clock_skew(store, bucket):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    # ErrorResponses: RequestTimeTooSkewed (403) "The difference between the request
    # time and the server's time is too large" - more than 15 minutes.
    for delta in (datetime.timedelta(minutes=-20), datetime.timedelta(minutes=20)):
        r = raw(store, "GET", f"/{bucket}", when=now + delta)
        assert (r.status, r.code) == (403, "RequestTimeTooSkewed"), delta
    for delta in (datetime.timedelta(minutes=-10), datetime.timedelta(minutes=10)):
        assert raw(store, "GET", f"/{bucket}", when=now + delta).status == 200


def test_wrong_region_in_scope(store, bucket):
    # ErrorResponses: AuthorizationHeaderMalformed (400) "the region 'us-east-1' is
    # wrong; expecting 'eu-west-1'".
    r = raw(store, "GET", f"/{bucket}", region="us-east-1")
    assert (r.status, r.code) == (400, "AuthorizationHeaderMalformed")


def test_sigv2_refused(store, bucket):
    import hmac
    date = email.utils.formatdate(usegmt=True)
    sts = f"GET\n\n\n{date}\n/{bucket}"
    sig = base64.b64encode(hmac.new(ALICE[1].encode(), sts.encode(), hashlib.sha1).digest()).decode()
    # S3 answers Signature Version 2 where only SigV4 is supported with 400
    # InvalidRequest "The authorization mechanism you have provided is not supported.
    # Please use AWS4-HMAC-SHA256." (userguide/UsingAWSSDK: SigV2 deprecation).
    r = raw(store, "GET", f"/{bucket}", headers=[("Date", date),
                                                 ("Authorization", f"AWS {ALICE[0]}:{sig}")],
            sign=False)
    assert (r.status, r.code) == (400, "InvalidRequest")
    assert "AWS4-HMAC-SHA256" in r.xml().findtext("Message")
    exp = int(time.time()) + 300
    q = (f"AWSAccessKeyId={ALICE[0]}&Expires={exp}&Signature="
         + urllib.parse.quote(sig, safe=""))
    r = raw(store, "GET", f"/{bucket}", q, sign=False)
    assert (r.status, r.code) == (400, "InvalidRequest")


def test_unsigned_request_denied(store, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"private")
    # ErrorResponses: AccessDenied (403) for anonymous access to a private resource.
    for method, path in [("GET", f"/{bucket}/k"), ("GET", f"/{bucket}"), ("GET", "/"),
                         ("PUT", f"/{bucket}/new"), ("DELETE", f"/{bucket}/k")]:
        r = raw(store, method, path, sign=False)
        assert (r.status, r.code) == (403, "AccessDenied"), (method, path)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"private"
    assert client_error(s3.head_object, Bucket=bucket, Key="new")[0] == 404


def test_presigned_url_expiry(store, s3, bucket):
    s3.put_object(Bucket=bucket, Key="p", Body=b"pre")
    t, h = s3sig.sign("GET", f"/{bucket}/p", [("Host", f"127.0.0.1:{store.port}")], b"",
                      akid=ALICE[0], secret=ALICE[1], region=REGION, presign=600)
    r = raw(store, "GET", t.split("?")[0], t.split("?", 1)[1], sign=False)
    assert r.status == 200 and r.body == b"pre"
    # A presigned URL past X-Amz-Expires is AccessDenied (403) "Request has expired".
    old = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - \
        datetime.timedelta(hours=2)
    t, h = s3sig.sign("GET", f"/{bucket}/p", [("Host", f"127.0.0.1:{store.port}")], b"",
                      akid=ALICE[0], secret=ALICE[1], region=REGION, presign=60, when=old)
    r = raw(store, "GET", t.split("?")[0], t.split("?", 1)[1], sign=False)
    assert (r.status, r.code) == (403, "AccessDenied")


def test_presigned_put_tamper_and_week_limit(store, s3, bucket):
    host = [("Host", f"127.0.0.1:{store.port}")]
    t, _ = s3sig.sign("PUT", f"/{bucket}/up", host, b"", akid=ALICE[0], secret=ALICE[1],
                      region=REGION, presign=600)
    path, query = t.split("?", 1)
    # A presigned PUT carries UNSIGNED-PAYLOAD: any body goes.
    assert raw(store, "PUT", path, query, body=b"via presign", sign=False).status == 200
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == b"via presign"
    # Another key under the same signature: SignatureDoesNotMatch.
    r = raw(store, "PUT", f"/{bucket}/other", query, body=b"x", sign=False)
    assert (r.status, r.code) == (403, "SignatureDoesNotMatch")
    # sigv4-query-string-auth: "X-Amz-Expires ... minimum value you can set is 1, and
    # the maximum is 604800 (seven days)"; S3 answers more with 400
    # AuthorizationQueryParametersError.
    t, _ = s3sig.sign("GET", f"/{bucket}/up", host, b"", akid=ALICE[0], secret=ALICE[1],
                      region=REGION, presign=604801)
    path, query = t.split("?", 1)
    r = raw(store, "GET", path, query, sign=False)
    assert (r.status, r.code) == (400, "AuthorizationQueryParametersError")


def test_expect_100_continue(store, s3, bucket):
    # boto3 sends Expect: 100-continue on PutObject; S3 answers 100 before the body, or
    # its final answer (here 403) without reading a body at all (RFC 9110 §10.1.1).
    body = b"b" * 4096
    for user, want in ((ALICE, 200), (("AKIANOBODY0000000000", "x"), 403)):
        t, h = s3sig.sign("PUT", f"/{bucket}/exp", [("Host", f"127.0.0.1:{store.port}"),
                                                    ("Content-Length", str(len(body))),
                                                    ("Expect", "100-continue")],
                          body, akid=user[0], secret=user[1], region=REGION)
        with socket.create_connection(("127.0.0.1", store.port), timeout=10) as sock:
            sock.sendall(s3sig.raw_request("PUT", t, h))
            f = SharedReader(sock.makefile("rb"))
            # http.client skips interim responses, so read the first status by hand.
            status = f.readline().split(None, 2)[1]
            if want == 403:
                assert status == b"403"  # the final answer, no 100 first
                continue
            assert status == b"100"
            while f.readline() not in (b"\r\n", b"\n", b""):
                pass
            sock.sendall(body)
            final = http.client.HTTPResponse(f, method="PUT")
            final.begin()
            final.read()
            assert final.status == 200
    assert s3.get_object(Bucket=bucket, Key="exp")["Body"].read() == body


def test_other_users_objects_denied(s3, s3bob, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"alice's")
    for fn, kw in [(s3bob.get_object, {"Key": "k"}), (s3bob.put_object, {"Key": "k", "Body": b"x"}),
                   (s3bob.delete_object, {"Key": "k"}), (s3bob.list_objects_v2, {}),
                   (s3bob.create_multipart_upload, {"Key": "m"})]:
        assert client_error(fn, Bucket=bucket, **kw)[:2] == (403, "AccessDenied"), fn
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"alice's"


def wait_for(pred, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_credentials_reload_on_sighup(tmp_path):
    st = Store(tmp_path)
    try:
        carol = st.boto3(user=CAROL)
        bob = st.boto3(user=BOB)
        bob.list_buckets()
        assert client_error(carol.list_buckets)[:2] == (403, "InvalidAccessKeyId")
        # Add Carol, drop Bob, then SIGHUP: the file is read again.
        st.creds.write_text("".join(f"{k} {s} {n}\n" for k, s, n in (ALICE, CAROL)))
        os.kill(st.proc.pid, signal.SIGHUP)

        def carol_in():
            try:
                carol.list_buckets()
                return True
            except ClientError:
                return False

        assert wait_for(carol_in)

        def bob_out():
            try:
                bob.list_buckets()
                return False
            except ClientError as e:
                return e.response["Error"]["Code"] == "InvalidAccessKeyId"

        assert wait_for(bob_out)
        b = make_bucket(carol)
        carol.put_object(Bucket=b, Key="k", Body=b"carol")
        # A broken file keeps the last good users.
        st.creds.write_text("this line is not a credential\n")
        os.kill(st.proc.pid, signal.SIGHUP)
        time.sleep(0.5)
        assert carol.get_object(Bucket=b, Key="k")["Body"].read() == b"carol"
        assert st.proc.poll() is None
    finally:
        st.stop()
