"""meridian edge's admin listener: CloudFront's invalidation API and /metrics.

The clients are the ones users have: boto3's CloudFront client and Debian's
aws-cli (`aws cloudfront create-invalidation --endpoint-url`), which sign with
SigV4 for service cloudfront. An invalidation marks entries stale in place;
the next viewer request for a marked path goes to the origin again, the
others stay hits. Only processes started here are stopped, by PID.
"""
import http.client
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from edgeenv import Edge, Origin

ADMIN = ("AKIAEDGEADMIN0000001", "edgeAdminSecret0123456789abcdefghijklmno", "ops")
STRANGER = ("AKIASTRANGER00000001", "strangerSecret0123456789abcdefghijklmno", "x")
NS = "{http://cloudfront.amazonaws.com/doc/2020-05-31/}"
DIST = "d111"  # the default id: the first label of d111.edge.example.test


@pytest.fixture
def site(tmp_path):
    origin = Origin(handler=lambda req: (200, {"Cache-Control": "max-age=3600",
                                               "ETag": '"v1"'},
                                         f"body of {req['path']}".encode()))
    edge = Edge(tmp_path / "edge", [{"id": "o", "address": origin.address}],
                [{"path_pattern": "*", "target": "o", "signing": "none",
                  "cache_key": {"query_strings": "all"}}], sign=False,
                admins=[ADMIN])
    yield edge, origin
    edge.stop()
    origin.stop()


def cloudfront(edge, user=ADMIN):
    return boto3.client("cloudfront", endpoint_url=f"http://127.0.0.1:{edge.admin_port}",
                        region_name="us-east-1", aws_access_key_id=user[0],
                        aws_secret_access_key=user[1],
                        config=Config(retries={"max_attempts": 1}))


def get(edge, path):
    status, h, body = edge.request("GET", path)
    assert status == 200, (status, body)
    assert body == f"body of {path}".encode()
    return h["x-cache"]


def warm(edge, paths):
    for p in paths:
        get(edge, p)
    for p in paths:
        assert get(edge, p) == "Hit from meridian"


def batch(paths, ref):
    return {"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": ref}


def error_code(e):
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]


def test_invalidation_marks_paths_stale_and_leaves_the_rest(site):
    edge, origin = site
    paths = ["/img/a.png", "/img/b.png", "/img/sub/c.png", "/css/site.css", "/imgx"]
    warm(edge, paths)
    assert edge.request("GET", "/img/a.png?v=2")[0] == 200  # a second query variant
    before = {p: origin.count(p) for p in paths}
    cf = cloudfront(edge)
    r = cf.create_invalidation(DistributionId=DIST,
                               InvalidationBatch=batch(["/img/*", "/css/site.css"], "ref-1"))
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 201
    inv = r["Invalidation"]
    assert re.fullmatch(r"I[A-Z0-9]{13}", inv["Id"]), inv
    assert inv["Status"] == "Completed"
    assert inv["InvalidationBatch"]["Paths"]["Items"] == ["/img/*", "/css/site.css"]
    assert r["Location"].endswith(f"/2020-05-31/distribution/{DIST}/invalidation/{inv['Id']}")
    for p in ["/img/a.png", "/img/b.png", "/img/sub/c.png", "/css/site.css"]:
        assert get(edge, p) != "Hit from meridian", p
        assert origin.count(p) == before[p] + 1, p
        assert get(edge, p) == "Hit from meridian", p  # fresh again
    assert get(edge, "/imgx") == "Hit from meridian"  # "/img/*" is not "/img*"
    assert origin.count("/imgx") == before["/imgx"]
    assert edge.request("GET", "/img/a.png?v=2")[1]["x-cache"] != "Hit from meridian"

    got = cf.get_invalidation(DistributionId=DIST, Id=inv["Id"])["Invalidation"]
    assert got["Id"] == inv["Id"] and got["InvalidationBatch"]["CallerReference"] == "ref-1"
    with pytest.raises(ClientError) as e:
        cf.get_invalidation(DistributionId=DIST, Id="INOSUCHTHING00")
    assert error_code(e.value) == ("NoSuchInvalidation", 404)


def test_caller_reference_names_one_batch(site):
    edge, origin = site
    warm(edge, ["/a"])
    cf = cloudfront(edge)
    first = cf.create_invalidation(DistributionId=DIST, InvalidationBatch=batch(["/a"], "same"))
    assert get(edge, "/a") == "Miss from meridian"
    again = cf.create_invalidation(DistributionId=DIST, InvalidationBatch=batch(["/a"], "same"))
    assert again["Invalidation"]["Id"] == first["Invalidation"]["Id"]
    assert get(edge, "/a") == "Hit from meridian"  # the repeat purged nothing
    with pytest.raises(ClientError) as e:
        cf.create_invalidation(DistributionId=DIST, InvalidationBatch=batch(["/b"], "same"))
    assert error_code(e.value) == ("InvalidationBatchAlreadyExists", 409)


def test_refusals(site):
    edge, _ = site
    with pytest.raises(ClientError) as e:
        cloudfront(edge, STRANGER).create_invalidation(DistributionId=DIST,
                                                        InvalidationBatch=batch(["/a"], "x"))
    assert error_code(e.value)[1] == 403
    with pytest.raises(ClientError) as e:
        cloudfront(edge).create_invalidation(DistributionId="E000NOTOURS",
                                             InvalidationBatch=batch(["/a"], "x"))
    assert error_code(e.value) == ("NoSuchDistribution", 404)
    with pytest.raises(ClientError) as e:
        cloudfront(edge).create_invalidation(DistributionId=DIST,
                                             InvalidationBatch=batch(["a-no-slash"], "x"))
    assert error_code(e.value) == ("InvalidArgument", 400)

    # Raw requests: unsigned, malformed, inconsistent (signed by hand).
    c = http.client.HTTPConnection("127.0.0.1", edge.admin_port, timeout=10)
    c.request("POST", f"/2020-05-31/distribution/{DIST}/invalidation", body=b"<x/>")
    r = c.getresponse()
    body = r.read()
    assert r.status == 403, body
    root = ET.fromstring(body)
    assert root.tag == NS + "ErrorResponse" and root.find(f"{NS}Error/{NS}Type").text == "Sender"
    c.close()
    for text, code in [
        (b"<InvalidationBatch><Paths><Quantity>1</Quantity>", "MalformedXML"),
        (b"<InvalidationBatch><Paths><Quantity>2</Quantity><Items><Path>/a</Path></Items>"
         b"</Paths><CallerReference>r</CallerReference></InvalidationBatch>",
         "InconsistentQuantities"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><InvalidationBatch/>', "MalformedXML"),
    ]:
        status, body = signed_post(edge, f"/2020-05-31/distribution/{DIST}/invalidation", text)
        assert status == 400, body
        assert ET.fromstring(body).find(f"{NS}Error/{NS}Code").text == code, body


def signed_post(edge, path, body, user=ADMIN):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"http://127.0.0.1:{edge.admin_port}{path}"
    req = AWSRequest(method="POST", url=url, data=body)
    SigV4Auth(Credentials(user[0], user[1]), "cloudfront", "us-east-1").add_auth(req)
    c = http.client.HTTPConnection("127.0.0.1", edge.admin_port, timeout=10)
    try:
        c.request("POST", path, body=body, headers=dict(req.headers.items()))
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def test_aws_cli_create_invalidation(site, tmp_path):
    edge, origin = site
    warm(edge, ["/css/a.css", "/js/b.js"])
    exe = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which("aws")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_ACCESS_KEY_ID=ADMIN[0], AWS_SECRET_ACCESS_KEY=ADMIN[1],
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE=str(home / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"))
    r = subprocess.run([exe, "cloudfront", "create-invalidation", "--endpoint-url",
                        f"http://127.0.0.1:{edge.admin_port}", "--distribution-id", DIST,
                        "--paths", "/css/*", "--output", "json"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert '"Status": "Completed"' in r.stdout, r.stdout
    assert get(edge, "/css/a.css") == "Miss from meridian"
    assert get(edge, "/js/b.js") == "Hit from meridian"


def test_metrics(site):
    edge, _ = site
    warm(edge, ["/m1", "/m2"])
    c = http.client.HTTPConnection("127.0.0.1", edge.admin_port, timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    assert r.status == 200 and r.getheader("content-type").startswith("text/plain")

    def value(name):
        m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
        assert m, (name, text)
        return float(m.group(1))

    assert value('meridian_edge_requests_total{result="hit"}') >= 2
    assert value('meridian_edge_requests_total{result="miss"}') >= 2
    assert value("meridian_edge_origin_fetches_total") >= 2
    assert 0 < value("meridian_edge_cache_hit_ratio") <= 1
    assert value('meridian_edge_cache_entries{tier="memory"}') >= 2
    assert value('meridian_edge_cache_bytes{tier="memory"}') > 0
    # origin latency: every fetch counted once, buckets cumulative, a plausible sum
    n = value("meridian_edge_origin_seconds_count")
    assert n == value("meridian_edge_origin_fetches_total") >= 2
    assert value('meridian_edge_origin_seconds_bucket{le="+Inf"}') == n
    assert value('meridian_edge_origin_seconds_bucket{le="0.001"}') <= \
        value('meridian_edge_origin_seconds_bucket{le="10"}') == n
    assert 0 < value("meridian_edge_origin_seconds_sum") < 10 * n


def test_invalidation_reaches_the_disk_tier_and_outlives_a_restart(tmp_path):
    """An object on disk only (too big for the memory tier) is purged too, and
    the mark is in its file: after a restart the edge still does not serve it
    as a plain hit but asks the origin first."""
    big = os.urandom(3 * 1024 * 1024)  # over the 1 MiB memory tier's object cap
    origin = Origin(handler=lambda req: (200, {"Cache-Control": "max-age=3600",
                                               "ETag": '"big"'}, big))
    cache = {"memory_bytes": "1MiB", "disk_path": "dcache", "disk_bytes": "64MiB"}
    kw = dict(sign=False, admins=[ADMIN], cache=cache)
    behaviors = [{"path_pattern": "*", "target": "o", "signing": "none"}]
    edge = Edge(tmp_path, [{"id": "o", "address": origin.address}], behaviors, **kw)
    try:
        assert edge.request("GET", "/big")[2] == big
        end = time.monotonic() + 10
        while not list((tmp_path / "dcache" / "objects").glob("*/*")):
            assert time.monotonic() < end, "the disk tier was not filled"
            time.sleep(0.05)
        st, h, body = edge.request("GET", "/big")
        assert (st, body, h["x-cache"]) == (200, big, "Hit from meridian")
        r = cloudfront(edge).create_invalidation(DistributionId=DIST,
                                                 InvalidationBatch=batch(["/big"], "disk-1"))
        assert r["ResponseMetadata"]["HTTPStatusCode"] == 201
    finally:
        edge.stop()
    fetched = origin.count("/big")
    again = Edge(tmp_path, [{"id": "o", "address": origin.address}], behaviors, **kw)
    try:
        st, h, body = again.request("GET", "/big")
        assert st == 200 and body == big
        assert h["x-cache"] != "Hit from meridian", h
        assert origin.count("/big") == fetched + 1  # asked the origin (a revalidation or a fetch)
    finally:
        again.stop()
        origin.stop()
