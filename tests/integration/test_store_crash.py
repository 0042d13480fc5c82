"""Durability of `meridian store` under kill -9 and SIGTERM.

test_kill9_during_writes: concurrent writers PUT (single and multipart) random
bytes while the store is killed with SIGKILL at random moments, several times
in a row, and restarted on the same data directory and port. A writer records
what it sent before sending and marks it acknowledged only on a 200. After the
last restart:

  * every acknowledged write reads back byte-identical, unless a later write of
    the same key (by the same writer, so the order is known) may have replaced it;
  * an unacknowledged write may be visible or not, but only whole: every visible
    object's bytes, size and ETag are exactly one write's;
  * the listing names exactly the keys GET finds, with the same size and ETag;
  * DATA/tmp is empty and the files under DATA/objects are exactly the data
    files the metadata names (objects, their parts, parts of open uploads):
    the start-up GC left no orphan and removed nothing referenced.

test_sigterm_finishes_inflight_puts: PUTs whose bodies are half sent when
SIGTERM arrives still complete with 200 once the rest is sent, the process
exits 0, and the objects are there after a restart.

The oracle, for the writes of one key in the order its only writer made them:
with a last acknowledged write, the key must hold that write or one of the
(unacknowledged) writes after it; with none, it may be absent or hold any of
them. A request whose answer was lost cannot land after a later one was
acknowledged: the server that took it was killed before the writer moved on
(writers never retry, and only the kills break connections)."""
import hashlib
import http.client
import os
import pathlib
import random
import signal
import sqlite3
import threading
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

from storeenv import ALICE, Store

BUCKET = "crash-bkt"
WRITERS = 4
ROUNDS = 4  # kills while writers run
ROUND_SECONDS = (0.4, 1.5)  # time from healthy to kill
MAX_WRITES_PER_WRITER = 400
DEADLINE = 45.0  # seconds for the write phase, whatever happens
MIB = 1 << 20
PART_MIN = 5 * MIB


def random_size(rng):
    r = rng.random()
    if r < 0.05:
        return 0
    if r < 0.45:
        return rng.randint(1, 4096)
    if r < 0.75:
        return rng.randint(4097, 64 * 1024)
    if r < 0.92:
        return rng.randint(64 * 1024 + 1, MIB)
    return rng.randint(MIB + 1, 3 * MIB)


class Write:
    """One write as sent: its parts' bytes are hashed, not kept."""

    def __init__(self, parts, multipart):
        self.size = sum(len(p) for p in parts)
        h = hashlib.sha256()
        for p in parts:
            h.update(p)
        self.sha = h.hexdigest()
        if multipart:
            md5s = b"".join(hashlib.md5(p).digest() for p in parts)
            self.etag = f'"{hashlib.md5(md5s).hexdigest()}-{len(parts)}"'
        else:
            self.etag = f'"{hashlib.md5(parts[0]).hexdigest()}"'
        self.multipart = multipart
        self.acked = False

    def __repr__(self):
        return (f"Write(size={self.size}, multipart={self.multipart}, acked={self.acked}, "
                f"sha={self.sha[:12]})")


class Writer(threading.Thread):
    def __init__(self, store, n, seed, stop, deadline):
        super().__init__(name=f"writer-{n}", daemon=True)
        self.store, self.n, self.stop, self.deadline = store, n, stop, deadline
        self.rng = random.Random(seed)
        self.writes = {}  # key -> [Write] in the order sent
        self.unexpected = []  # HTTP answers no kill explains
        self.acks = 0
        self.failure = None
        # total_max_attempts=1: no retry at all (storeenv's max_attempts=1 allows one retry,
        # which could replay a request the killed store had already carried out).
        self.client = store.boto3(connect_timeout=2, read_timeout=30,
                                  retries={"total_max_attempts": 1})

    def parts_for(self, multipart):
        rng = self.rng
        if not multipart:
            return [rng.randbytes(random_size(rng))]
        if rng.random() < 0.5:
            return [rng.randbytes(rng.randint(0, MIB))]  # one (last, so small) part
        return [rng.randbytes(PART_MIN), rng.randbytes(rng.randint(1, 512 * 1024))]

    def put(self, key, parts, multipart):
        c = self.client
        if not multipart:
            c.put_object(Bucket=BUCKET, Key=key, Body=parts[0])
            return
        uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        done = []
        for i, body in enumerate(parts, 1):
            etag = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=i,
                                 Body=body)["ETag"]
            done.append({"PartNumber": i, "ETag": etag})
        r = c.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid,
                                        MultipartUpload={"Parts": done})
        if "ETag" not in r:
            raise AssertionError(f"CompleteMultipartUpload 200 without an ETag: {r}")

    def run(self):
        try:
            self.loop()
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.failure = e

    def loop(self):
        rng = self.rng
        for seq in range(MAX_WRITES_PER_WRITER):
            if self.stop.is_set() or time.monotonic() > self.deadline:
                return
            multipart = rng.random() < 0.12
            key = f"ow/w{self.n}" if rng.random() < 0.2 else f"w{self.n}/k{seq:04d}"
            parts = self.parts_for(multipart)
            w = Write(parts, multipart)
            self.writes.setdefault(key, []).append(w)  # before sending: it may land
            try:
                self.put(key, parts, multipart)
            except ClientError as e:
                status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if status != 503:
                    self.unexpected.append(f"{key}: {e}")
                time.sleep(0.02)
                continue
            except BotoCoreError:
                time.sleep(0.02)  # the store is down or was killed mid-request
                continue
            w.acked = True
            self.acks += 1


def allowed(writes):
    """What the key may hold: (may_be_absent, [Write])."""
    last = max((i for i, w in enumerate(writes) if w.acked), default=None)
    if last is None:
        return True, writes
    return False, writes[last:]


def list_all(client):
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for o in page.get("Contents", []):
            assert o["Key"] not in out, f"listing repeats {o['Key']}"
            out[o["Key"]] = (o["Size"], o["ETag"])
    return out


def data_files(data):
    objects = pathlib.Path(data) / "objects"
    return {p.name for p in objects.glob("*/*/*") if p.is_file()}


def referenced_files(data):
    db = sqlite3.connect(f"file:{pathlib.Path(data) / 'meta.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT data_file FROM versions WHERE data_file IS NOT NULL "
                          "UNION SELECT data_file FROM version_parts "
                          "UNION SELECT data_file FROM parts").fetchall()
    finally:
        db.close()
    return {r[0] for r in rows}


def test_kill9_during_writes(tmp_path):
    seed = int(os.environ.get("MERIDIAN_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    why = f"(seed {seed}: MERIDIAN_SEED={seed} replays sizes and kill times)"
    store = Store(tmp_path)
    stop = threading.Event()
    writers = []
    try:
        store.boto3().create_bucket(Bucket=BUCKET)
        deadline = time.monotonic() + DEADLINE
        writers = [Writer(store, n, rng.randrange(1 << 30), stop, deadline)
                   for n in range(WRITERS)]
        for w in writers:
            w.start()
        for rnd in range(ROUNDS):
            time.sleep(rng.uniform(*ROUND_SECONDS))
            store.kill9()
            if rnd < ROUNDS - 1:
                time.sleep(rng.uniform(0, 0.2))
                store.start()
        # The last kill came while the writers ran; every ack predates it.
        stop.set()
        for w in writers:
            w.join(timeout=60)
            assert not w.is_alive(), f"{w.name} did not stop"
        store.start()

        for w in writers:
            assert w.failure is None, f"{w.name} failed: {w.failure!r} {why}"
        unexpected = [u for w in writers for u in w.unexpected]
        assert not unexpected, f"errors no kill explains {why}: {unexpected[:10]}"
        acks = sum(w.acks for w in writers)
        assert acks >= 20, f"only {acks} acknowledged writes: nothing was tested {why}"

        c = store.boto3()
        listed = list_all(c)
        expected = {k: v for w in writers for k, v in w.writes.items()}
        stray = set(listed) - set(expected)
        assert not stray, f"listed keys nobody wrote: {sorted(stray)[:10]} {why}"
        found, landed_unacked = {}, 0
        for key, writes in sorted(expected.items()):
            may_be_absent, candidates = allowed(writes)
            try:
                r = c.get_object(Bucket=BUCKET, Key=key)
            except ClientError as e:
                assert e.response["Error"]["Code"] == "NoSuchKey", f"GET {key}: {e} {why}"
                assert may_be_absent, f"acknowledged {key} lost: {writes} {why}"
                continue
            body = r["Body"].read()
            sha = hashlib.sha256(body).hexdigest()
            match = [w for w in candidates if w.sha == sha and w.size == len(body)]
            assert match, (f"{key} holds {len(body)} bytes (sha {sha[:12]}) that are no "
                           f"allowed write's; writes of the key: {writes} {why}")
            assert r["ContentLength"] == len(body) and r["ETag"] == match[0].etag, \
                f"{key}: headers {r['ContentLength']} {r['ETag']} for {match[0]} {why}"
            found[key] = (len(body), r["ETag"])
            landed_unacked += not any(w.acked for w in match)
        differ = [k for k in listed if k in found and listed[k] != found[k]]
        assert listed == found, (f"listing disagrees with GET {why}: listed only "
                                 f"{sorted(set(listed) - set(found))[:5]}, GET only "
                                 f"{sorted(set(found) - set(listed))[:5]}, differing {differ[:5]}")

        unacked = [w for ws in expected.values() for w in ws if not w.acked]
        print(f"seed {seed}: {acks} acknowledged writes, {len(unacked)} not, "
              f"{len(found)} keys found of {len(expected)} written, {landed_unacked} holding an "
              f"unacknowledged write")
        # Nothing was written since the restart: DATA is as the start-up left it.
        rc = store.stop()
        tmp_left = os.listdir(store.data / "tmp")
        assert tmp_left == [], f"DATA/tmp not emptied at start: {tmp_left[:5]} {why}"
        files, refs = data_files(store.data), referenced_files(store.data)
        assert not refs - files, f"metadata names missing files: {sorted(refs - files)[:5]} {why}"
        assert not files - refs, (f"{len(files - refs)} unreferenced data files survived the "
                                  f"start-up GC ({len(files)} files, {len(refs)} referenced) {why}")
        print(f"{len(files)} data files, all referenced")
        assert rc == 0, f"SIGTERM exit status {rc}: {store.read_log()}"
    finally:
        stop.set()
        for w in writers:
            w.join(timeout=60)
        store.stop()


# ---- SIGTERM ----


def signed_headers(store, method, path, content_sha256, length, user=ALICE):
    """SigV4 headers for a request whose body we send ourselves."""
    url = store.endpoint + path
    headers = {"Host": f"127.0.0.1:{store.port}", "X-Amz-Content-SHA256": content_sha256,
               "Content-Length": str(length)}
    req = AWSRequest(method=method, url=url, headers=headers)
    SigV4Auth(Credentials(user[0], user[1]), "s3", store.region).add_auth(req)
    return dict(req.headers.items())


def test_sigterm_finishes_inflight_puts(tmp_path):
    store = Store(tmp_path)
    conns = []
    try:
        store.boto3().create_bucket(Bucket=BUCKET)
        rng = random.Random(7)
        bodies = {f"inflight/{i}": rng.randbytes(rng.randint(MIB, 3 * MIB)) for i in range(4)}
        for key, body in bodies.items():
            path = f"/{BUCKET}/{key}"
            hs = signed_headers(store, "PUT", path, hashlib.sha256(body).hexdigest(), len(body))
            conn = http.client.HTTPConnection("127.0.0.1", store.port, timeout=30)
            conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
            for k, v in hs.items():
                conn.putheader(k, v)
            conn.endheaders()
            conn.send(body[:len(body) // 2])
            conns.append((key, conn, body))
        time.sleep(0.3)  # the store has the heads and half of each body
        store.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert store.proc.poll() is None, f"exited with uploads in flight: {store.read_log()}"
        for key, conn, body in conns:
            conn.send(body[len(body) // 2:])
        for key, conn, body in conns:
            r = conn.getresponse()
            answer = r.read()
            assert r.status == 200, f"PUT {key} during drain: {r.status} {answer!r}"
            assert r.getheader("ETag") == f'"{hashlib.md5(body).hexdigest()}"'
            conn.close()
        assert store.proc.wait(timeout=20) == 0, store.read_log()

        store.start()
        c = store.boto3()
        for key, body in bodies.items():
            got = c.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            assert got == body, f"{key}: {len(got)} bytes back, sent {len(body)}"
    finally:
        for _, conn, _ in conns:
            conn.close()
        store.stop()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """Loopback only: no proxy from the environment may see these requests."""
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(k, raising=False)
