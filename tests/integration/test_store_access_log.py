"""The store's access log (--access-log FILE): one line per request in the
layout of S3's server access logs, read back and split the way tools split
S3's (on spaces, a quoted or bracketed field kept whole), with real clients:
boto3 signed, presigned and copy requests, an anonymous request, errors.
Rotation: the file renamed, SIGHUP, and the next lines land in a new file."""
import os
import re
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from storeenv import ALICE, Store, meridian_bin

FIELD = re.compile(r'"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\S+')
NAMES = ["bucket_owner", "bucket", "time", "remote_ip", "requester", "request_id", "operation",
         "key", "request_uri", "status", "error_code", "bytes_sent", "object_size", "total_time",
         "turn_around_time", "referer", "user_agent", "version_id", "host_id",
         "signature_version", "cipher_suite", "auth_type", "host", "tls_version",
         "access_point_arn", "acl_required"]


def parse(line):
    fields = FIELD.findall(line)
    assert len(fields) == len(NAMES), line
    return dict(zip(NAMES, fields))


def entries(path, at_least, timeout=10):
    """The parsed lines of path once it holds at least `at_least` of them."""
    end = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        lines = [ln for ln in text.split("\n") if ln]
        if len(lines) >= at_least or time.monotonic() > end:
            assert text == "" or text.endswith("\n"), "a line was cut"
            return [parse(ln) for ln in lines]
        time.sleep(0.05)


def by_id(log, request_id):
    found = [e for e in log if e["request_id"] == request_id]
    assert len(found) == 1, (request_id, log)
    return found[0]


def test_a_line_per_request_in_s3_layout(tmp_path):
    path = tmp_path / "access.log"
    store = Store(tmp_path, "--access-log", str(path))
    try:
        s3 = store.boto3()
        owner = s3.list_buckets()["Owner"]["ID"]
        made = s3.create_bucket(Bucket="logged",
                                CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        put = s3.put_object(Bucket="logged", Key="dir/a b.txt", Body=b"hello")
        got = s3.get_object(Bucket="logged", Key="dir/a b.txt")
        assert got["Body"].read() == b"hello"
        copied = s3.copy_object(Bucket="logged", Key="copy",
                                CopySource={"Bucket": "logged", "Key": "dir/a b.txt"})
        try:
            s3.get_object(Bucket="logged", Key="missing")
            raise AssertionError("a missing key was found")
        except s3.exceptions.NoSuchKey as e:
            missing_id = e.response["ResponseMetadata"]["RequestId"]
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "logged", "Key": "copy"})
        with urllib.request.urlopen(url, timeout=10) as r:
            presigned_id = r.headers["x-amz-request-id"]
            assert r.read() == b"hello"
        try:
            urllib.request.urlopen(f"{store.endpoint}/logged/copy", timeout=10)
            raise AssertionError("an anonymous GET of a private object passed")
        except urllib.error.HTTPError as e:
            assert e.code == 403
            anonymous_id = e.headers["x-amz-request-id"]
        with urllib.request.urlopen(f"{store.endpoint}/-/health", timeout=10) as r:
            assert r.status == 200

        log = entries(path, 8)
        assert len(log) == 8, log  # the health check is not logged
        rid = lambda resp: resp["ResponseMetadata"]["RequestId"]  # noqa: E731

        e = by_id(log, rid(made))
        assert (e["operation"], e["bucket"], e["key"], e["status"]) == \
            ("REST.PUT.BUCKET", "logged", "-", "200")
        e = by_id(log, rid(put))
        assert e["operation"] == "REST.PUT.OBJECT" and e["key"] == "dir/a%20b.txt"
        assert e["request_uri"] == '"PUT /logged/dir/a%20b.txt HTTP/1.1"'
        assert (e["bucket_owner"], e["requester"]) == (owner, owner)
        assert (e["object_size"], e["error_code"], e["bytes_sent"]) == ("5", "-", "-")
        assert (e["signature_version"], e["auth_type"]) == ("SigV4", "AuthHeader")
        assert e["remote_ip"] == "127.0.0.1" and e["host"] == f"127.0.0.1:{store.port}"
        assert e["user_agent"].startswith('"Boto3/') and e["tls_version"] == "-"
        assert re.fullmatch(r"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\]", e["time"])
        assert e["total_time"].isdigit() and e["host_id"] != "-"
        e = by_id(log, rid(got))
        assert (e["operation"], e["status"], e["bytes_sent"]) == ("REST.GET.OBJECT", "200", "5")
        assert e["object_size"] == "5"
        e = by_id(log, rid(copied))
        assert (e["operation"], e["key"]) == ("REST.COPY.OBJECT", "copy")
        e = by_id(log, missing_id)
        assert (e["status"], e["error_code"]) == ("404", "NoSuchKey")
        assert int(e["bytes_sent"]) > 0  # the <Error> document
        e = by_id(log, presigned_id)
        assert (e["operation"], e["auth_type"], e["requester"]) == \
            ("REST.GET.OBJECT", "QueryString", owner)
        e = by_id(log, anonymous_id)
        assert (e["status"], e["error_code"], e["requester"], e["bucket_owner"]) == \
            ("403", "AccessDenied", "-", "-")
        assert (e["signature_version"], e["auth_type"]) == ("-", "-")
    finally:
        store.stop()


def test_rotation_on_sighup(tmp_path):
    path = tmp_path / "access.log"
    store = Store(tmp_path, "--access-log", str(path))
    try:
        s3 = store.boto3()
        s3.list_buckets()
        assert len(entries(path, 1)) == 1
        rotated = tmp_path / "access.log.1"
        os.rename(path, rotated)
        store.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 10
        while "store: access log reopened" not in store.read_log():
            assert time.monotonic() < end, store.read_log()
            time.sleep(0.05)
        s3.list_buckets()
        s3.list_buckets()
        assert [e["operation"] for e in entries(path, 2)] == ["REST.GET.SERVICE"] * 2
        assert len(entries(rotated, 1)) == 1  # nothing more went to the old file
        assert oct(path.stat().st_mode & 0o777) == "0o640"
    finally:
        store.stop()


def test_an_unusable_path_stops_the_start(tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(f"{ALICE[0]} {ALICE[1]} {ALICE[2]}\n")
    bad = tmp_path / "no-such-dir" / "access.log"
    r = subprocess.run([meridian_bin(), "store", "--listen", "127.0.0.1:0", "--data",
                        str(tmp_path / "data"), "--region", "eu-west-1", "--credentials",
                        str(creds), "--access-log", str(bad)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert f"access log {bad}: No such file or directory" in r.stderr, r.stderr


def test_a_download_cut_short_is_logged_and_the_store_lives_on(tmp_path):
    # The connection goes away before the answer is whole: the line is written
    # as the connection closes (this once crashed the store).
    path = tmp_path / "access.log"
    store = Store(tmp_path, "--access-log", str(path))
    try:
        s3 = store.boto3()
        s3.create_bucket(Bucket="big", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        size = 16 << 20
        s3.put_object(Bucket="big", Key="obj", Body=os.urandom(1 << 20) * 16)
        url = urllib.parse.urlsplit(
            s3.generate_presigned_url("get_object", Params={"Bucket": "big", "Key": "obj"}))
        with socket.create_connection(("127.0.0.1", store.port), timeout=10) as c:
            c.sendall(f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n"
                      .encode())
            got = b""
            while len(got) < 4096:
                got += c.recv(4096)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        assert got.startswith(b"HTTP/1.1 200")
        end = time.monotonic() + 10
        while True:
            cut = [e for e in entries(path, 3) if e["operation"] == "REST.GET.OBJECT"]
            if cut or time.monotonic() > end:
                break
            time.sleep(0.05)
        assert len(cut) == 1, entries(path, 3)
        assert cut[0]["status"] == "200" and cut[0]["auth_type"] == "QueryString"
        assert cut[0]["object_size"] == str(size)
        assert cut[0]["bytes_sent"] == "-" or int(cut[0]["bytes_sent"]) < size
        with urllib.request.urlopen(f"{store.endpoint}/-/health", timeout=10) as r:
            assert r.status == 200
        assert store.proc.poll() is None
    finally:
        store.stop()
