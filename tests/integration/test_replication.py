"""Two-way replication between two real stores (docs/replication.md).

Each test starts a pair of stores with replication peers files and two-way
rules set through aws-cli's put-bucket-replication, writes through boto3 and
checks what the other side holds: same version ids, ETags, metadata and
Last-Modified, statuses PENDING -> COMPLETED, REPLICA on the destination,
delete markers, no loops, outages, kill -9, and convergence under
concurrent writes from both sides."""
import json
import urllib.error
import urllib.request
import random
import threading
import time

import pytest
from botocore.exceptions import ClientError

from replenv import SANITIZED, Pair, rules_json, wait_for
from storeenv import Store, free_port


@pytest.fixture
def pair(tmp_path):
    p = Pair(tmp_path)
    yield p
    p.stop()


def head(client, bucket, key, **kw):
    try:
        return client.head_object(Bucket=bucket, Key=key, **kw)
    except ClientError as e:
        if e.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return None
        raise


def status(client, bucket, key, vid):
    h = head(client, bucket, key, VersionId=vid)
    return h and h.get("ReplicationStatus")


def test_a_put_arrives_with_its_version_id_etag_metadata_and_time(pair):
    body = b"hello from us-east-1\n" * 100
    put = pair.ca.put_object(Bucket=pair.ba, Key="shared/a.txt", Body=body,
                             ContentType="text/x-test", CacheControl="max-age=5",
                             Metadata={"colour": "blue"})
    vid = put["VersionId"]
    got = wait_for(lambda: head(pair.cb, pair.bb, "shared/a.txt"), what="the replica")
    src = pair.ca.head_object(Bucket=pair.ba, Key="shared/a.txt")
    assert got["VersionId"] == vid
    assert got["ETag"] == put["ETag"] == src["ETag"]
    assert got["LastModified"] == src["LastModified"]
    assert got["ContentType"] == "text/x-test"
    assert got["CacheControl"] == "max-age=5"
    assert got["Metadata"] == {"colour": "blue"}
    assert got["ReplicationStatus"] == "REPLICA"
    assert pair.cb.get_object(Bucket=pair.bb, Key="shared/a.txt")["Body"].read() == body
    assert wait_for(lambda: status(pair.ca, pair.ba, "shared/a.txt", vid) == "COMPLETED",
                    what="COMPLETED on the source")


def test_keys_outside_the_rules_prefix_stay_home(pair):
    pair.ca.put_object(Bucket=pair.ba, Key="index.html", Body=b"hello from bucket-us")
    pair.ca.put_object(Bucket=pair.ba, Key="shared/marker", Body=b"x")
    wait_for(lambda: head(pair.cb, pair.bb, "shared/marker"), what="the later replica")
    time.sleep(0.3)
    assert head(pair.cb, pair.bb, "index.html") is None
    assert "ReplicationStatus" not in pair.ca.head_object(Bucket=pair.ba, Key="index.html")


def test_no_loops_a_write_is_applied_once_and_never_comes_back(pair):
    put = pair.ca.put_object(Bucket=pair.ba, Key="shared/once", Body=b"1")
    wait_for(lambda: head(pair.cb, pair.bb, "shared/once"), what="the replica")
    wait_for(lambda: status(pair.ca, pair.ba, "shared/once", put["VersionId"]) == "COMPLETED",
             what="COMPLETED")
    time.sleep(1.0)  # B's agent would have sent it back by now
    va = Pair.versions(pair.ca, pair.ba, "shared/once")
    vb = Pair.versions(pair.cb, pair.bb, "shared/once")
    assert list(va) == [("shared/once", put["VersionId"])]
    assert va == vb
    # The source's copy is still the original, not a replica of its replica.
    assert pair.ca.head_object(Bucket=pair.ba, Key="shared/once")["ReplicationStatus"] == "COMPLETED"


def test_delete_markers_replicate_and_version_deletes_do_not(pair):
    v1 = pair.ca.put_object(Bucket=pair.ba, Key="shared/d", Body=b"one")["VersionId"]
    wait_for(lambda: head(pair.cb, pair.bb, "shared/d"), what="the replica")
    marker = pair.ca.delete_object(Bucket=pair.ba, Key="shared/d")
    assert marker["DeleteMarker"]
    wait_for(lambda: head(pair.cb, pair.bb, "shared/d") is None, what="the delete marker")
    vb = Pair.versions(pair.cb, pair.bb, "shared/d")
    assert vb[("shared/d", marker["VersionId"])] == (None, True, True)
    # Deleting a specific version on A stays on A (as on S3).
    pair.ca.delete_object(Bucket=pair.ba, Key="shared/d", VersionId=v1)
    v2 = pair.ca.put_object(Bucket=pair.ba, Key="shared/after", Body=b"2")["VersionId"]
    wait_for(lambda: head(pair.cb, pair.bb, "shared/after"), what="a later replica")
    assert ("shared/d", v1) in Pair.versions(pair.cb, pair.bb, "shared/d")
    assert v2


def test_markers_stay_home_when_the_rule_says_so(tmp_path):
    p = Pair(tmp_path, markers=False)
    try:
        p.ca.put_object(Bucket=p.ba, Key="shared/k", Body=b"x")
        wait_for(lambda: head(p.cb, p.bb, "shared/k"), what="the replica")
        p.ca.delete_object(Bucket=p.ba, Key="shared/k")
        p.ca.put_object(Bucket=p.ba, Key="shared/later", Body=b"y")
        wait_for(lambda: head(p.cb, p.bb, "shared/later"), what="a later replica")
        assert head(p.cb, p.bb, "shared/k") is not None
    finally:
        p.stop()


def test_multipart_objects_replicate_whole(pair):
    part = 5 * 1024 * 1024
    data = bytes(random.Random(7).getrandbits(8) for _ in range(256)) * (part * 2 // 256 + 10)
    up = pair.ca.create_multipart_upload(Bucket=pair.ba, Key="shared/big", ContentType="x/big")
    parts = []
    for i, off in enumerate(range(0, len(data), part), start=1):
        r = pair.ca.upload_part(Bucket=pair.ba, Key="shared/big", UploadId=up["UploadId"],
                                PartNumber=i, Body=data[off:off + part])
        parts.append({"PartNumber": i, "ETag": r["ETag"]})
    done = pair.ca.complete_multipart_upload(Bucket=pair.ba, Key="shared/big",
                                             UploadId=up["UploadId"],
                                             MultipartUpload={"Parts": parts})
    got = wait_for(lambda: head(pair.cb, pair.bb, "shared/big"), timeout=60, what="the replica")
    assert got["ETag"] == done["ETag"] and got["ETag"].endswith('-3"')
    assert got["VersionId"] == done["VersionId"]
    assert got["ContentLength"] == len(data) and got["ContentType"] == "x/big"
    assert pair.cb.get_object(Bucket=pair.bb, Key="shared/big")["Body"].read() == data


def test_both_directions_and_last_writer_wins(pair):
    # Same key written on both sides: both end with both versions and the
    # same current one, the later (hlc, region).
    ra = pair.ca.put_object(Bucket=pair.ba, Key="shared/both", Body=b"from-us")
    rb = pair.cb.put_object(Bucket=pair.bb, Key="shared/both", Body=b"from-eu")
    pair.wait_same()
    winner = max((ra["VersionId"], "from-us"), (rb["VersionId"], "from-eu"))
    for c, b in ((pair.ca, pair.ba), (pair.cb, pair.bb)):
        got = c.get_object(Bucket=b, Key="shared/both")
        assert got["VersionId"] == winner[0]
        assert got["Body"].read().decode() == winner[1]


def test_replication_config_api(pair):
    got = json.loads(pair.a.aws("s3api", "get-bucket-replication", "--bucket", pair.ba).stdout)
    rule = got["ReplicationConfiguration"]["Rules"][0]
    assert rule["ID"] == "to-peer" and rule["Filter"] == {"Prefix": "shared/"}
    assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::{pair.bb}"
    assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
    # Versioning stays on while rules exist.
    r = pair.a.aws("s3api", "put-bucket-versioning", "--bucket", pair.ba,
                   "--versioning-configuration", "Status=Suspended", check=False)
    assert r.returncode != 0 and "InvalidBucketState" in r.stderr
    # A bucket without versioning takes no rules.
    pair.ca.create_bucket(Bucket="plain")
    r = pair.a.aws("s3api", "put-bucket-replication", "--bucket", "plain",
                   "--replication-configuration", rules_json(pair.bb), check=False)
    assert r.returncode != 0 and "InvalidRequest" in r.stderr and "Versioning" in r.stderr
    # A region no peer is in.
    bad = rules_json(pair.bb).replace("arn:aws:s3:::", "arn:aws:s3:ap-south-1::")
    r = pair.a.aws("s3api", "put-bucket-replication", "--bucket", pair.ba,
                   "--replication-configuration", bad, check=False)
    assert r.returncode != 0 and "InvalidRequest" in r.stderr
    pair.a.aws("s3api", "delete-bucket-replication", "--bucket", pair.ba)
    r = pair.a.aws("s3api", "get-bucket-replication", "--bucket", pair.ba, check=False)
    assert r.returncode != 0 and "ReplicationConfigurationNotFoundError" in r.stderr
    # Without rules nothing is queued.
    pair.ca.put_object(Bucket=pair.ba, Key="shared/norules", Body=b"x")
    assert "ReplicationStatus" not in pair.ca.head_object(Bucket=pair.ba, Key="shared/norules")


def test_a_missing_destination_bucket_fails_the_version(pair):
    pair.a.aws("s3api", "put-bucket-replication", "--bucket", pair.ba,
               "--replication-configuration", rules_json("no-such-bucket"))
    vid = pair.ca.put_object(Bucket=pair.ba, Key="shared/f", Body=b"x")["VersionId"]
    assert wait_for(lambda: status(pair.ca, pair.ba, "shared/f", vid) == "FAILED",
                    what="FAILED")
    m = pair.metrics(pair.a)
    assert ('meridian_replication_operations_failed_total{bucket="bucket-us",rule="to-peer",'
            'peer="eu"} 1') in m
    assert "operations_pending{" not in m  # FAILED is not retried by itself


def test_an_outage_keeps_pending_and_everything_arrives_after(tmp_path):
    # The drill: B down for 60 s (30 s under the sanitizers) while A
    # takes writes and deletes all along; the sender backs off up to 5 s.
    pair = Pair(tmp_path, peer_extra={"backoff_max": "5s"})
    try:
        outage(pair, 30 if SANITIZED else 60)
    finally:
        pair.stop()


def outage(pair, seconds):
    pair.b.stop()
    vids = {}
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end and i < 5000:
        key = f"shared/o{i % 40}"
        if i % 5 == 4:
            pair.ca.delete_object(Bucket=pair.ba, Key=key)
        else:
            vids[(key, i)] = pair.ca.put_object(Bucket=pair.ba, Key=key,
                                                Body=f"v{i}".encode())["VersionId"]
        i += 1
        time.sleep(0.05)
    assert all(status(pair.ca, pair.ba, k, v) == "PENDING" for (k, _), v in vids.items())
    pair.b.start()
    pair.wait_same(timeout=60)
    assert wait_for(lambda: all(status(pair.ca, pair.ba, k, v) == "COMPLETED"
                                for (k, _), v in vids.items()), what="COMPLETED everywhere")
    # Deletes came too: the same keys are current or deleted on both sides.
    for n in range(40):
        ha, hb = head(pair.ca, pair.ba, f"shared/o{n}"), head(pair.cb, pair.bb, f"shared/o{n}")
        assert (ha and ha["VersionId"]) == (hb and hb["VersionId"])


def test_kill9_at_random_moments_loses_and_duplicates_nothing(pair):
    rng = random.Random(11)
    written = {}
    rounds = 3 if SANITIZED else 6
    for r in range(rounds):
        for i in range(15):
            key = f"shared/k{rng.randrange(40)}"
            if rng.random() < 0.2:
                pair.ca.delete_object(Bucket=pair.ba, Key=key)
            else:
                written[key] = pair.ca.put_object(Bucket=pair.ba, Key=key,
                                                  Body=f"{r}-{i}".encode() * 50)["VersionId"]
        victim = pair.a if r % 2 == 0 else pair.b
        time.sleep(rng.random() * 0.2)
        victim.kill9()
        victim.start()
        if victim is pair.a:
            pair.ca = pair.a.boto3()
        else:
            pair.cb = pair.b.boto3()
    va = pair.wait_same(timeout=60)
    # Every acknowledged version is there, once.
    for key, vid in written.items():
        assert (key, vid) in va


def test_concurrent_writes_from_both_sides_converge(pair):
    seconds = 10 if SANITIZED else 30
    keys = [f"shared/c{i}" for i in range(12)]
    stop = time.monotonic() + seconds
    errors = []

    def writer(client, bucket, seed):
        rng = random.Random(seed)
        n = 0
        while time.monotonic() < stop and n < 100000:
            n += 1
            key = rng.choice(keys)
            try:
                if rng.random() < 0.25:
                    client.delete_object(Bucket=bucket, Key=key)
                else:
                    client.put_object(Bucket=bucket, Key=key, Body=f"{seed}-{n}".encode())
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
                return

    ts = [threading.Thread(target=writer, args=(pair.a.boto3(), pair.ba, 1)),
          threading.Thread(target=writer, args=(pair.b.boto3(), pair.bb, 2))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:3]
    pair.wait_same(timeout=60)
    # Same current version of every key on both sides.
    for key in keys:
        ha, hb = head(pair.ca, pair.ba, key), head(pair.cb, pair.bb, key)
        assert (ha is None) == (hb is None), key
        if ha:
            assert ha["VersionId"] == hb["VersionId"] and ha["ETag"] == hb["ETag"]


def test_resync_repairs_a_wiped_peer_and_status_shows_it(tmp_path, run):
    pair = Pair(tmp_path, top={"resync_on_empty": "false"})
    try:
        resync_by_hand(pair, run)
    finally:
        pair.stop()


def resync_by_hand(pair, run):
    for i in range(30):
        pair.ca.put_object(Bucket=pair.ba, Key=f"shared/w{i:02d}", Body=f"w{i}".encode())
    pair.ca.delete_object(Bucket=pair.ba, Key="shared/w00")
    pair.wait_same()
    # Wipe B: a new data directory and the bucket recreated empty. A's
    # automatic resync is off here (the next test has it on): the operator
    # runs it by hand.
    pair.b.stop()
    import shutil
    shutil.rmtree(pair.b.data)
    pair.b.start()
    pair.cb = pair.b.boto3()
    pair.cb.create_bucket(Bucket=pair.bb)
    pair.cb.put_bucket_versioning(Bucket=pair.bb, VersioningConfiguration={"Status": "Enabled"})
    time.sleep(1)
    assert Pair.versions(pair.cb, pair.bb) == {}  # nothing came back by itself
    r = pair.repl(run, pair.a, "resync", pair.ba, "--to", "eu")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["resync"] == "queued"
    pair.wait_same(timeout=60)
    st = json.loads(pair.repl(run, pair.a, "status").stdout)
    assert st["peers"][0]["name"] == "eu" and st["peers"][0]["up"] is True
    assert st["resync"]["runs"] >= 1 and "versions queued" in st["resync"]["last"]
    # Metrics: S3's names, per rule and peer; nothing pending once converged.
    m = pair.metrics(pair.a)
    assert "meridian_replication_operations_total{peer=\"eu\"}" in m
    assert "meridian_replication_lag_seconds_bucket{peer=\"eu\",le=\"+Inf\"}" in m
    # Bad calls: unknown peer, missing peer, unsigned.
    r = pair.repl(run, pair.a, "resync", "--to", "nowhere")
    assert r.returncode == 1 and "NoSuchPeer" in r.stderr
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{pair.admin_a}/repl/resync?peer=eu", method="POST"), timeout=5)
    assert e.value.code == 403


def test_a_peer_that_comes_back_empty_is_resynced_by_itself(pair):
    for i in range(10):
        pair.ca.put_object(Bucket=pair.ba, Key=f"shared/e{i}", Body=b"e")
    pair.wait_same()
    time.sleep(6)  # A's peer watch has seen B's store id by now
    pair.b.stop()
    import shutil
    shutil.rmtree(pair.b.data)
    pair.b.start()
    pair.cb = pair.b.boto3()
    pair.cb.create_bucket(Bucket=pair.bb)
    pair.cb.put_bucket_versioning(Bucket=pair.bb, VersioningConfiguration={"Status": "Enabled"})
    pair.wait_same(timeout=60)
    assert "has new data" in pair.a.read_log()


def test_pending_gauges_while_the_peer_is_down(pair):
    pair.b.stop()
    for i in range(5):
        pair.ca.put_object(Bucket=pair.ba, Key=f"shared/g{i}", Body=b"12345")
    m = wait_for(lambda: (lambda t: t if 'operations_pending{bucket="bucket-us",rule="to-peer",peer="eu"} 5' in t else None)(pair.metrics(pair.a)),
                 what="5 pending")
    assert 'meridian_replication_bytes_pending{bucket="bucket-us",rule="to-peer",peer="eu"} 25' in m
    assert 'meridian_replication_latency_seconds{bucket="bucket-us",rule="to-peer",peer="eu"}' in m
    assert 'meridian_replication_peer_up{peer="eu"} 0' in m
    pair.b.start()
    pair.wait_same()
    wait_for(lambda: "operations_pending{" not in pair.metrics(pair.a), what="nothing pending")


def test_a_store_stops_at_once_while_resyncing_toward_a_dead_peer(pair, run):
    pair.ca.put_object(Bucket=pair.ba, Key="shared/s", Body=b"s")
    pair.wait_same()
    pair.b.kill9()
    r = pair.repl(run, pair.a, "resync", pair.ba, "--to", "eu")
    assert r.returncode == 0, r.stderr
    time.sleep(3.5)  # the listing failed thrice; it waits 4 s to try again
    t0 = time.monotonic()
    assert pair.a.stop() == 0
    assert time.monotonic() - t0 < 2, "the resync's retries held the store's shutdown"


def test_with_several_peers_the_destination_is_found_by_its_buckets_region(tmp_path):
    from replenv import peers_file
    from storeenv import ALICE
    pa, pb, pc = free_port(), free_port(), free_port()
    for d in "abc":
        (tmp_path / d).mkdir()
    fa = tmp_path / "a" / "peers.yaml"
    keys = tmp_path / "a" / "k.keys"
    keys.write_text(f"{ALICE[0]} {ALICE[1]}\n")
    fa.write_text("peers:\n"
                  f"  - {{name: eu, region: eu-west-1, endpoint: 'http://127.0.0.1:{pb}', credentials: k.keys}}\n"
                  f"  - {{name: ap, region: ap-south-1, endpoint: 'http://127.0.0.1:{pc}', credentials: k.keys}}\n")
    a = Store(tmp_path / "a", "--replication", str(fa), region="us-east-1", port=pa)
    b = Store(tmp_path / "b", region="eu-west-1", port=pb)
    c = Store(tmp_path / "c", region="ap-south-1", port=pc)
    try:
        for s, bucket in ((a, "src"), (b, "dst-eu"), (c, "dst-ap")):
            cl = s.boto3()
            cl.create_bucket(Bucket=bucket, **({} if s is a else {
                "CreateBucketConfiguration": {"LocationConstraint": s.region}}))
            cl.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        # Plain ARNs, as aws-cli users write them: each peer is asked.
        rules = {"Role": "arn:aws:iam::000000000000:role/r", "Rules": [
            {"ID": "eu", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": "e/"},
             "DeleteMarkerReplication": {"Status": "Disabled"},
             "Destination": {"Bucket": "arn:aws:s3:::dst-eu"}},
            {"ID": "ap", "Priority": 2, "Status": "Enabled", "Filter": {"Prefix": "p/"},
             "DeleteMarkerReplication": {"Status": "Disabled"},
             "Destination": {"Bucket": "arn:aws:s3:::dst-ap"}}]}
        a.aws("s3api", "put-bucket-replication", "--bucket", "src",
              "--replication-configuration", json.dumps(rules))
        ca = a.boto3()
        ca.put_object(Bucket="src", Key="e/1", Body=b"to eu")
        ca.put_object(Bucket="src", Key="p/1", Body=b"to ap")
        wait_for(lambda: head(b.boto3(), "dst-eu", "e/1"), what="the eu replica")
        wait_for(lambda: head(c.boto3(), "dst-ap", "p/1"), what="the ap replica")
        assert head(b.boto3(), "dst-eu", "p/1") is None
        # A bucket no peer holds is refused, naming why.
        rules["Rules"][0]["Destination"]["Bucket"] = "arn:aws:s3:::nowhere"
        r = a.aws("s3api", "put-bucket-replication", "--bucket", "src",
                  "--replication-configuration", json.dumps(rules), check=False)
        assert r.returncode != 0 and "InvalidRequest" in r.stderr
        assert "no replication peer holds" in r.stderr
    finally:
        for s in (a, b, c):
            s.stop()


def test_rows_for_a_peer_the_file_no_longer_names_are_reported_at_start(pair):
    pair.b.stop()
    pair.ca.put_object(Bucket=pair.ba, Key="shared/orphan", Body=b"o")
    pair.a.stop()
    peers = pair.tmp / "a" / "peers.yaml"
    peers.write_text(peers.read_text().replace("name: eu", "name: europe"))
    pair.a.start()
    assert ("queued for peer 'eu', which the replication file does not name"
            in pair.a.read_log())
