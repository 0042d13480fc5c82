"""Access point aliases on `meridian store` (issue #5, "Access points on the store").

The router forwards requests for a multi-region access point unchanged, so the
store itself maps `--access-point ALIAS=BUCKET` to its bucket, virtual-hosted
(`Host: ALIAS.<--mrap-domain>`) or path style (`/ALIAS/key`), and applies the
rules AWS applies to a Multi-Region Access Point (../shared/docs/REFERENCE.md §1):
SigV4A only, with a region set that covers the store's region; no anonymous
access even to a public-read bucket (its Block Public Access is always on);
object operations, multipart, ListObjectsV2 and ListMultipartUploads only (no
CopyObject, no bucket operations). Clients: Debian's boto3 with SigV4A (awscrt),
`meridian sign --sigv4a`, and awscrt directly (s3sig.py) for raw requests."""
import hashlib
import http.client
import socket
import subprocess
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError

import s3sig
from storeenv import ALICE, BOB, REGION, Store, meridian_bin, sign_region_set

MiB = 1 << 20
ALIAS = "mfzwi23gnjvgw.mrap"  # an AWS-style alias; ".mrap" names are no bucket names
SHOP = "shop"  # an alias that is also a valid bucket name: the alias must win
GHOST = "ghost0.mrap"  # an alias whose bucket was never created
MRAP_DOMAIN = "accesspoint.example.test"
BUCKET_DOMAIN = "s3.example.test"
ACCESS_POINTS = {ALIAS: "mrap-bucket", SHOP: "shop-bucket", GHOST: "ghost-bucket"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("alias"), "--public-read", "shop-bucket",
              domain=BUCKET_DOMAIN, access_points=ACCESS_POINTS, mrap_domains=[MRAP_DOMAIN])
    s3 = s.boto3()
    s3.create_bucket(Bucket="mrap-bucket",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.create_bucket(Bucket="shop-bucket",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def s3(store):
    """SigV4, buckets by name."""
    return store.boto3()


@pytest.fixture(scope="module")
def mrap(store):
    """SigV4A with region set "*", as SDKs sign for an access point."""
    return sign_region_set(store.boto3(sigv4a=True), "*")


def new_key(prefix="k"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def client_error(fn, *args, **kw):
    with pytest.raises(ClientError) as e:
        fn(*args, **kw)
    return e.value.response


# ---- raw HTTP/1.1 ----


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def error(self):
        root = ET.fromstring(self.body)
        return {el.tag.split("}")[-1]: el.text for el in root}


def send(store, method, target, headers, body=b""):
    """Send exactly these bytes to the store, whatever the Host header says."""
    data = s3sig.raw_request(method, target, headers, body)
    with socket.create_connection(("127.0.0.1", store.port), timeout=20) as s:
        s.sendall(data)
        r = http.client.HTTPResponse(s, method=method)
        r.begin()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())


def vhost(store, alias=ALIAS):
    return f"{alias}.{MRAP_DOMAIN}:{store.port}"


def crt(store, method, path, host, *, v4a=True, region_set="*", body=b"", user=ALICE,
        presign=0, headers=()):
    """A request signed by awscrt (SigV4A with `region_set`, or SigV4 for the
    store's region), sent with `host` as its Host header."""
    hdrs = [("Host", host)] + list(headers)
    if body or method in ("PUT", "POST"):
        hdrs.append(("Content-Length", str(len(body))))
    target, hdrs = s3sig.sign(method, path, hdrs, body, akid=user[0], secret=user[1], v4a=v4a,
                              region=region_set if v4a else REGION, presign=presign)
    return send(store, method, target, hdrs, body)


def meridian_sign(method, url, *extra, user=ALICE):
    r = subprocess.run([meridian_bin(), "sign", "--access-key", user[0], "--secret-key", user[1],
                        *extra, method, url], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def signed_by_meridian(store, method, url, *extra, body=b"", user=ALICE):
    """Sign with `meridian sign` (header form) and send to the store."""
    lines = meridian_sign(method, url, *extra, user=user).splitlines()
    u = urllib.parse.urlsplit(url)
    hdrs = [("Host", u.netloc)] + [tuple(x.split(": ", 1)) for x in lines]
    if body or method in ("PUT", "POST"):
        hdrs.append(("Content-Length", str(len(body))))
    return send(store, method, u.path + (f"?{u.query}" if u.query else ""), hdrs, body)


def presigned_by_meridian(store, method, url, *extra, user=ALICE):
    signed = urllib.parse.urlsplit(meridian_sign(method, url, "--presign", "300", *extra,
                                                 user=user))
    return send(store, method, f"{signed.path}?{signed.query}", [("Host", signed.netloc)])


# ======================================================================
# Objects and multipart through an alias
# ======================================================================


def test_boto3_sigv4a_object_roundtrip_through_alias(s3, mrap):
    key = new_key()
    body = b"through the access point\n" * 100
    put = mrap.put_object(Bucket=ALIAS, Key=key, Body=body)
    # The object is in the alias's bucket, as if the bucket had been named.
    got = s3.get_object(Bucket="mrap-bucket", Key=key)
    assert got["Body"].read() == body
    assert got["ETag"] == put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'

    assert mrap.get_object(Bucket=ALIAS, Key=key)["Body"].read() == body
    assert mrap.head_object(Bucket=ALIAS, Key=key)["ContentLength"] == len(body)
    listed = mrap.list_objects_v2(Bucket=ALIAS, Prefix=key)
    assert [o["Key"] for o in listed["Contents"]] == [key]
    mrap.delete_object(Bucket=ALIAS, Key=key)
    assert client_error(s3.head_object, Bucket="mrap-bucket",
                        Key=key)["ResponseMetadata"]["HTTPStatusCode"] == 404
    err = client_error(mrap.get_object, Bucket=ALIAS, Key=key)["Error"]
    assert err["Code"] == "NoSuchKey"


def test_boto3_region_set_of_the_client_region_is_accepted(store, s3):
    # Without the hook botocore signs X-Amz-Region-Set with the client's region,
    # which is this store's.
    client = store.boto3(sigv4a=True)
    key = new_key()
    client.put_object(Bucket=SHOP, Key=key, Body=b"x")
    assert s3.get_object(Bucket="shop-bucket", Key=key)["Body"].read() == b"x"


def test_multipart_through_alias(s3, mrap):
    key = new_key("mp")
    up = mrap.create_multipart_upload(Bucket=ALIAS, Key=key)["UploadId"]
    uploads = mrap.list_multipart_uploads(Bucket=ALIAS, Prefix=key)["Uploads"]
    assert [u["UploadId"] for u in uploads] == [up]
    p1 = b"a" * (5 * MiB)
    p2 = b"tail"
    e1 = mrap.upload_part(Bucket=ALIAS, Key=key, UploadId=up, PartNumber=1, Body=p1)["ETag"]
    e2 = mrap.upload_part(Bucket=ALIAS, Key=key, UploadId=up, PartNumber=2, Body=p2)["ETag"]
    parts = mrap.list_parts(Bucket=ALIAS, Key=key, UploadId=up)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1, 2]
    mrap.complete_multipart_upload(
        Bucket=ALIAS, Key=key, UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                   {"PartNumber": 2, "ETag": e2}]})
    assert s3.get_object(Bucket="mrap-bucket", Key=key)["Body"].read() == p1 + p2

    key2 = new_key("mp")
    up2 = mrap.create_multipart_upload(Bucket=ALIAS, Key=key2)["UploadId"]
    mrap.abort_multipart_upload(Bucket=ALIAS, Key=key2, UploadId=up2)
    assert s3.list_multipart_uploads(Bucket="mrap-bucket", Prefix=key2).get("Uploads") is None


# ======================================================================
# Virtual-hosted: Host: <alias>.<mrap domain>
# ======================================================================


def test_virtual_hosted_signed_by_meridian_sign(store, s3):
    key = new_key("vh")
    s3.put_object(Bucket="mrap-bucket", Key=key, Body=b"hello from mrap-bucket")
    url = f"http://{vhost(store)}/{key}"
    r = signed_by_meridian(store, "GET", url, "--sigv4a", "--region-set", "*")
    assert r.status == 200, r.body
    assert r.body == b"hello from mrap-bucket"
    # Host is matched without regard to case; the port is ignored.
    upper = f"http://{ALIAS.upper()}.{MRAP_DOMAIN.upper()}:{store.port}/{key}"
    r = signed_by_meridian(store, "HEAD", upper, "--sigv4a", "--region-set", "*")
    assert r.status == 200
    assert r.headers["content-length"] == str(len(b"hello from mrap-bucket"))


def test_virtual_hosted_put_and_presigned_get_by_meridian_sign(store, s3, tmp_path):
    key = new_key("vh")
    body = b"written through the alias host\n"
    f = tmp_path / "body"
    f.write_bytes(body)
    url = f"http://{vhost(store)}/{key}"
    r = signed_by_meridian(store, "PUT", url, "--sigv4a", "--region-set", "*", "--body", str(f),
                           body=body)
    assert r.status == 200, r.body
    assert s3.get_object(Bucket="mrap-bucket", Key=key)["Body"].read() == body
    r = presigned_by_meridian(store, "GET", url, "--sigv4a", "--region-set", "*")
    assert r.status == 200, r.body
    assert r.body == body


def test_virtual_hosted_signed_by_awscrt(store, s3):
    key = new_key("crt")
    r = crt(store, "PUT", f"/{key}", vhost(store), body=b"crt body")
    assert r.status == 200, r.body
    assert s3.get_object(Bucket="mrap-bucket", Key=key)["Body"].read() == b"crt body"
    r = crt(store, "GET", f"/?list-type=2&prefix={key}", vhost(store))
    assert r.status == 200, r.body
    assert f"<Key>{key}</Key>".encode() in r.body
    r = crt(store, "GET", f"/{key}", vhost(store), presign=300)
    assert r.status == 200 and r.body == b"crt body"


def test_unknown_alias_host_is_no_such_access_point(store):
    r = crt(store, "GET", "/k", f"nosuch.mrap.{MRAP_DOMAIN}:{store.port}")
    assert r.status == 404
    assert r.error["Code"] == "NoSuchAccessPoint"


# ======================================================================
# Region sets
# ======================================================================


@pytest.mark.parametrize("region_set", ["*", REGION, f"us-east-1,{REGION}",
                                        f"{REGION},ap-south-1"])
def test_region_set_covering_this_region_is_accepted(store, s3, region_set):
    key = new_key("rs")
    s3.put_object(Bucket="mrap-bucket", Key=key, Body=b"rs")
    r = crt(store, "GET", f"/{key}", vhost(store), region_set=region_set)
    assert r.status == 200, r.body
    r = crt(store, "GET", f"/{ALIAS}/{key}", f"127.0.0.1:{store.port}", region_set=region_set)
    assert r.status == 200, r.body


@pytest.mark.parametrize("region_set", ["us-east-1", "us-east-1,ap-south-1", "eu-west-10",
                                        "eu-west"])
def test_region_set_without_this_region_is_refused(store, s3, region_set):
    key = new_key("rs")
    s3.put_object(Bucket="mrap-bucket", Key=key, Body=b"rs")
    for target, host in ((f"/{key}", vhost(store)),
                         (f"/{ALIAS}/{key}", f"127.0.0.1:{store.port}")):
        r = crt(store, "GET", target, host, region_set=region_set)
        assert r.status == 403, r.body
        assert r.error["Code"] == "AccessDenied"
        r = crt(store, "GET", target, host, region_set=region_set, presign=300)
        assert r.status == 403, r.body
        assert r.error["Code"] == "AccessDenied"


def test_boto3_region_set_without_this_region_is_refused(store):
    client = sign_region_set(store.boto3(sigv4a=True), "us-east-1")
    err = client_error(client.put_object, Bucket=ALIAS, Key=new_key(), Body=b"x")
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err["Error"]["Code"] == "AccessDenied"


# ======================================================================
# What an alias refuses
# ======================================================================


def test_sigv4_to_alias_is_refused(store, s3):
    key = new_key("v4")
    s3.put_object(Bucket="mrap-bucket", Key=key, Body=b"v4")
    # boto3, path style: a good SigV4 signature, but not SigV4A.
    err = client_error(s3.get_object, Bucket=ALIAS, Key=key)
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err["Error"]["Code"] == "AccessDenied"
    assert "SigV4A" in err["Error"]["Message"]
    err = client_error(s3.put_object, Bucket=ALIAS, Key=new_key(), Body=b"x")
    assert err["Error"]["Code"] == "AccessDenied"
    # Virtual-hosted, header and presigned forms, by awscrt and meridian sign.
    for r in (crt(store, "GET", f"/{key}", vhost(store), v4a=False),
              crt(store, "GET", f"/{key}", vhost(store), v4a=False, presign=300),
              signed_by_meridian(store, "GET", f"http://{vhost(store)}/{key}", "--sigv4",
                                 "--region", REGION)):
        assert r.status == 403, r.body
        assert r.error["Code"] == "AccessDenied"
        assert "SigV4A" in r.error["Message"]
    # The same SigV4 request by the bucket's name works.
    assert s3.get_object(Bucket="mrap-bucket", Key=key)["Body"].read() == b"v4"


def test_anonymous_is_refused_even_on_a_public_read_bucket(store, s3):
    key = new_key("pub")
    s3.put_object(Bucket="shop-bucket", Key=key, Body=b"public")
    by_name = send(store, "GET", f"/shop-bucket/{key}", [("Host", f"127.0.0.1:{store.port}")])
    assert by_name.status == 200 and by_name.body == b"public"
    for target, host in ((f"/{SHOP}/{key}", f"127.0.0.1:{store.port}"),
                         (f"/{key}", vhost(store, SHOP))):
        for method in ("GET", "HEAD"):
            r = send(store, method, target, [("Host", host)])
            assert r.status == 403, (method, target, r.body)
            if method == "GET":
                assert r.error["Code"] == "AccessDenied"


def test_other_users_bucket_through_alias_is_refused(store):
    bob = sign_region_set(store.boto3(user=BOB, sigv4a=True), "*")
    err = client_error(bob.put_object, Bucket=ALIAS, Key=new_key(), Body=b"x")
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err["Error"]["Code"] == "AccessDenied"
    err = client_error(bob.list_objects_v2, Bucket=ALIAS)
    assert err["Error"]["Code"] == "AccessDenied"


def test_copy_object_through_alias_is_refused(s3, mrap):
    src = new_key("src")
    s3.put_object(Bucket="mrap-bucket", Key=src, Body=b"source")
    dst = new_key("dst")
    for source in ({"Bucket": "mrap-bucket", "Key": src}, {"Bucket": ALIAS, "Key": src}):
        err = client_error(mrap.copy_object, Bucket=ALIAS, Key=dst, CopySource=source)
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 501
        assert err["Error"]["Code"] == "NotImplemented"
    assert client_error(s3.head_object, Bucket="mrap-bucket",
                        Key=dst)["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_upload_part_copy_through_alias_is_refused(s3, mrap):
    src = new_key("src")
    s3.put_object(Bucket="mrap-bucket", Key=src, Body=b"source" * 10)
    key = new_key("upc")
    up = mrap.create_multipart_upload(Bucket=ALIAS, Key=key)["UploadId"]
    err = client_error(mrap.upload_part_copy, Bucket=ALIAS, Key=key, UploadId=up, PartNumber=1,
                       CopySource={"Bucket": "mrap-bucket", "Key": src})
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert err["Error"]["Code"] == "NotImplemented"
    assert mrap.list_parts(Bucket=ALIAS, Key=key, UploadId=up).get("Parts", []) == []
    mrap.abort_multipart_upload(Bucket=ALIAS, Key=key, UploadId=up)


def test_bucket_operations_through_alias_are_refused(store, s3, mrap):
    refused = [
        lambda: mrap.create_bucket(Bucket=SHOP,
                                   CreateBucketConfiguration={"LocationConstraint": REGION}),
        lambda: mrap.create_bucket(Bucket=GHOST,
                                   CreateBucketConfiguration={"LocationConstraint": REGION}),
        lambda: mrap.delete_bucket(Bucket=ALIAS),
        lambda: mrap.put_bucket_versioning(Bucket=ALIAS,
                                           VersioningConfiguration={"Status": "Enabled"}),
        lambda: mrap.get_bucket_versioning(Bucket=ALIAS),
        lambda: mrap.list_objects(Bucket=ALIAS),
        lambda: mrap.list_object_versions(Bucket=ALIAS),
        lambda: mrap.delete_objects(Bucket=ALIAS, Delete={"Objects": [{"Key": "a"}]}),
    ]
    for call in refused:
        err = client_error(call)
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 501, err
        assert err["Error"]["Code"] == "NotImplemented"
    # Nothing happened: no bucket by the alias's or the ghost bucket's name,
    # and mrap-bucket is still there, unversioned.
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {"ghost-bucket", SHOP, GHOST} & names == set()
    assert "mrap-bucket" in names
    assert s3.get_bucket_versioning(Bucket="mrap-bucket").get("Status") is None


def test_the_bucket_still_works_by_name_with_sigv4(s3):
    key = new_key("name")
    s3.put_object(Bucket="mrap-bucket", Key=key, Body=b"by name")
    assert s3.get_object(Bucket="mrap-bucket", Key=key)["Body"].read() == b"by name"
    assert any(o["Key"] == key for o in s3.list_objects(Bucket="mrap-bucket")["Contents"])
    s3.copy_object(Bucket="mrap-bucket", Key=key + "-copy",
                   CopySource={"Bucket": "mrap-bucket", "Key": key})
    assert s3.get_object(Bucket="mrap-bucket", Key=key + "-copy")["Body"].read() == b"by name"


# ======================================================================
# Names
# ======================================================================


def test_alias_wins_over_a_bucket_of_the_same_name(store, s3, mrap):
    # A bucket literally named "shop", made through the bucket domain (path
    # style /shop is the alias).
    r = crt(store, "PUT", "/", f"{SHOP}.{BUCKET_DOMAIN}:{store.port}", v4a=False)
    assert r.status == 200, r.body
    key = new_key("same")
    mrap.put_object(Bucket=SHOP, Key=key, Body=b"to the alias's bucket")
    assert s3.get_object(Bucket="shop-bucket", Key=key)["Body"].read() == b"to the alias's bucket"
    r = crt(store, "HEAD", f"/{key}", f"{SHOP}.{BUCKET_DOMAIN}:{store.port}", v4a=False)
    assert r.status == 404
    # SigV4 by path style /shop is the alias too, so it is refused.
    err = client_error(s3.list_objects_v2, Bucket=SHOP)
    assert err["Error"]["Code"] == "AccessDenied"


def test_errors_name_the_alias(store, mrap):
    err = client_error(mrap.put_object, Bucket=GHOST, Key="k", Body=b"x")
    assert err["Error"]["Code"] == "NoSuchBucket"
    assert err["Error"]["BucketName"] == GHOST
    r = crt(store, "GET", "/k", vhost(store, GHOST))
    assert r.status == 404
    assert r.error["Code"] == "NoSuchBucket"
    assert r.error["BucketName"] == GHOST
    assert "ghost-bucket" not in r.body.decode()
    r = crt(store, "PUT", f"/{ALIAS}", f"127.0.0.1:{store.port}")
    assert r.status == 501
    assert r.error["Resource"] == f"/{ALIAS}"


# ======================================================================
# Flags
# ======================================================================


@pytest.mark.parametrize("args,flag", [
    (["--access-point", "nobucket"], "--access-point"),
    (["--access-point", "UPPER.mrap=bkt"], "--access-point"),
    (["--access-point", "ab=bkt"], "--access-point"),
    (["--access-point", "a..b=bkt"], "--access-point"),
    (["--access-point", "good.mrap=Bad_Bucket"], "--access-point"),
    (["--access-point", "good.mrap=bkt-1", "--access-point", "good.mrap=bkt-2"],
     "--access-point"),
    (["--mrap-domain", "host:80"], "--mrap-domain"),
    (["--mrap-domain", ""], "--mrap-domain"),
    (["--mrap-domain", "a..b"], "--mrap-domain"),
])
def test_bad_flags_exit_2_naming_the_flag(tmp_path, args, flag):
    creds = tmp_path / "credentials"
    creds.write_text(f"{ALICE[0]} {ALICE[1]} alice\n")
    r = subprocess.run([meridian_bin(), "store", "--listen", "127.0.0.1:0", "--data",
                        str(tmp_path / "data"), "--region", REGION, "--credentials", str(creds),
                        *args], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2, r.stderr
    assert flag in r.stderr
    assert not (tmp_path / "data").exists()


def test_store_without_access_points_keeps_buckets_by_any_name(tmp_path):
    s = Store(tmp_path)
    try:
        c = s.boto3()
        c.create_bucket(Bucket=SHOP, CreateBucketConfiguration={"LocationConstraint": REGION})
        c.put_object(Bucket=SHOP, Key="k", Body=b"plain")
        assert c.get_object(Bucket=SHOP, Key="k")["Body"].read() == b"plain"
    finally:
        s.stop()
