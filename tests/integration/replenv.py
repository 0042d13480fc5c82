"""Two stores that replicate to each other, as users set them up.

Pair(tmp) starts store A (us-east-1) and store B (eu-west-1), each with a
replication peers file naming the other, creates a versioned bucket on each
and puts two-way rules for a prefix with the real aws-cli, so every test
drives replication the way a user would. Helpers wait for convergence with a
deadline and compare both sides' version lists."""
import json
import os
import pathlib
import time
import urllib.request

from storeenv import ALICE, Store, free_port

SANITIZED = bool(os.environ.get("MERIDIAN_SANITIZED"))


def peers_file(path, name, region, port, user=ALICE, top=None, **extra):
    keys = path.with_suffix(".keys")
    keys.write_text(f"{user[0]} {user[1]}\n")
    os.chmod(keys, 0o600)
    lines = ["peers:", f"  - name: {name}", f"    region: {region}",
             f"    endpoint: http://127.0.0.1:{port}", f"    credentials: {keys.name}"]
    lines += [f"    {k}: {v}" for k, v in extra.items()]
    lines += [f"{k}: {v}" for k, v in (top or {}).items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def rules_json(dest_bucket, prefix="shared/", markers=True, priority=1, rule_id="to-peer"):
    rule = {"ID": rule_id, "Priority": priority, "Status": "Enabled",
            "Filter": {"Prefix": prefix},
            "DeleteMarkerReplication": {"Status": "Enabled" if markers else "Disabled"},
            "Destination": {"Bucket": f"arn:aws:s3:::{dest_bucket}"}}
    return json.dumps({"Role": "arn:aws:iam::000000000000:role/replication", "Rules": [rule]})


class Pair:
    def __init__(self, tmp, prefix="shared/", markers=True, peer_extra=None, top=None):
        tmp = pathlib.Path(tmp)
        self.tmp = tmp
        pa, pb = free_port(), free_port()
        (tmp / "a").mkdir()
        (tmp / "b").mkdir()
        extra = peer_extra or {"backoff_max": "1s"}
        fa = peers_file(tmp / "a" / "peers.yaml", "eu", "eu-west-1", pb, top=top, **extra)
        fb = peers_file(tmp / "b" / "peers.yaml", "us", "us-east-1", pa, top=top, **extra)
        self.admin_a, self.admin_b = free_port(), free_port()
        self.a = Store(tmp / "a", "--replication", str(fa), "--admin",
                       f"127.0.0.1:{self.admin_a}", region="us-east-1", port=pa)
        self.b = Store(tmp / "b", "--replication", str(fb), "--admin",
                       f"127.0.0.1:{self.admin_b}", region="eu-west-1", port=pb)
        self.ba, self.bb = "bucket-us", "bucket-eu"
        self.ca, self.cb = self.a.boto3(), self.b.boto3()
        for c, bucket in ((self.ca, self.ba), (self.cb, self.bb)):
            c.create_bucket(Bucket=bucket)
            c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        if prefix is not None:
            self.a.aws("s3api", "put-bucket-replication", "--bucket", self.ba,
                       "--replication-configuration", rules_json(self.bb, prefix, markers))
            self.b.aws("s3api", "put-bucket-replication", "--bucket", self.bb,
                       "--replication-configuration", rules_json(self.ba, prefix, markers))

    def stop(self):
        errors = []
        for s in (self.a, self.b):
            try:
                s.stop()
            except AssertionError as e:
                errors.append(str(e))
        if errors:
            raise AssertionError("\n".join(errors))

    def metrics(self, store):
        port = self.admin_a if store is self.a else self.admin_b
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return r.read().decode()

    def repl(self, run, store, *args):
        """`meridian repl ARGS --admin URL --credentials FILE` against a store."""
        port = self.admin_a if store is self.a else self.admin_b
        return run("repl", *args, "--admin", f"http://127.0.0.1:{port}",
                   "--credentials", str(store.creds))

    @staticmethod
    def versions(client, bucket, prefix=""):
        """{(key, version id): (etag, is delete marker, is latest)} of a bucket."""
        out = {}
        kw = {"Bucket": bucket, "Prefix": prefix}
        while True:
            page = client.list_object_versions(**kw)
            for v in page.get("Versions", []):
                out[(v["Key"], v["VersionId"])] = (v["ETag"], False, v["IsLatest"])
            for m in page.get("DeleteMarkers", []):
                out[(m["Key"], m["VersionId"])] = (None, True, m["IsLatest"])
            if not page.get("IsTruncated"):
                return out
            kw["KeyMarker"] = page["NextKeyMarker"]
            kw["VersionIdMarker"] = page["NextVersionIdMarker"]

    def wait_same(self, prefix="shared/", timeout=30):
        """Wait until both buckets hold the same versions under prefix."""
        end = time.monotonic() + timeout
        while True:
            va = self.versions(self.ca, self.ba, prefix)
            vb = self.versions(self.cb, self.bb, prefix)
            if va == vb:
                return va
            if time.monotonic() > end:
                only_a = sorted(set(va) - set(vb))[:5]
                only_b = sorted(set(vb) - set(va))[:5]
                raise AssertionError(f"not converged: {len(va)} vs {len(vb)} versions; "
                                     f"only in A {only_a}, only in B {only_b}; "
                                     f"differing {[k for k in va if k in vb and va[k] != vb[k]][:5]}")
            time.sleep(0.2)


def wait_for(pred, timeout=20, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
