"""The command line itself: subcommand table, help, version, credentials from the
environment, and clear errors for bad input."""
import re


def test_usage_lists_commands(run):
    out = run()
    assert out.returncode == 2
    for cmd in ("sign", "verify", "version"):
        assert re.search(rf"^  {cmd} ", out.stderr, re.M), out.stderr


def test_help_for_each_subcommand(run):
    for cmd in ("sign", "verify", "version"):
        for form in ([cmd, "--help"], [cmd, "-h"], ["help", cmd]):
            out = run(*form)
            assert out.returncode == 0, form
            assert out.stdout.startswith(f"usage: meridian {cmd}"), out.stdout


def test_version(run):
    out = run("version")
    assert out.returncode == 0
    assert re.match(r"^meridian \d+\.\d+\.\d+ \(\S+\) OpenSSL 3\.", out.stdout)


def test_unknown_command(run):
    out = run("nope")
    assert out.returncode == 2
    assert "unknown command 'nope'" in out.stderr


def test_sign_reads_credentials_from_environment(run):
    env = {"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_SESSION_TOKEN": "tok"}
    out = run("sign", "--date", "20261126T000000Z", "GET", "http://127.0.0.1:1/b/k", env=env)
    assert out.returncode == 0, out.stderr
    assert "Credential=AKIAENV/20261126/us-east-1/s3/aws4_request" in out.stdout
    assert "X-Amz-Security-Token: tok" in out.stdout
    assert "x-amz-security-token" in out.stdout.split("SignedHeaders=")[1]


def test_sign_region_from_environment(run):
    env = {"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "B", "AWS_REGION": "eu-west-3"}
    out = run("sign", "GET", "http://127.0.0.1:1/b/k", env=env)
    assert "/eu-west-3/s3/aws4_request" in out.stdout


def test_sign_errors_are_clear(run):
    creds = ["--access-key", "A", "--secret-key", "B"]
    cases = [
        (["sign", "GET", "http://127.0.0.1/b"], "no credentials"),
        (["sign", *creds, "GET"], "need METHOD and URL"),
        (["sign", *creds, "GET", "ftp://x/b"], "not an http:// or https:// URL"),
        (["sign", *creds, "--presign", "604801", "GET", "http://h/b"], "1..604800"),
        (["sign", *creds, "--presign", "0", "GET", "http://h/b"], "1..604800"),
        (["sign", *creds, "--date", "2026-11-26", "GET", "http://h/b"], "YYYYMMDDTHHMMSSZ"),
        (["sign", *creds, "--region-set", "*", "GET", "http://h/b"], "--region-set needs --sigv4a"),
        (["sign", *creds, "--sigv4a", "--region", "x", "GET", "http://h/b"], "use --region-set"),
        (["sign", *creds, "-H", "bad", "GET", "http://h/b"], "-H wants 'Name: value'"),
        (["sign", *creds, "-H", "Authorization: x", "GET", "http://h/b"], "already carries signing headers"),
        (["sign", *creds, "--body", "/nonexistent/file", "PUT", "http://h/b"], "cannot open"),
    ]
    for args, message in cases:
        out = run(*args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert message in out.stderr, (args, out.stderr)


def test_sign_curl_output_is_a_runnable_command(run, tmp_path):
    body = tmp_path / "it's a body"
    body.write_bytes(b"hello")
    out = run("sign", "--access-key", "A", "--secret-key", "B", "--curl", "--body", str(body),
              "-H", "Content-Type: text/plain", "PUT", "http://127.0.0.1:9/b/o'k")
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip()
    assert line.startswith("curl -sS -X 'PUT' ")
    assert "-H 'Content-Type: text/plain'" in line and "-H 'Authorization: AWS4-HMAC-SHA256 " in line
    assert "--data-binary '@" in line and "'\\''" in line  # shell quoting of the quote
    assert line.endswith("'http://127.0.0.1:9/b/o'\\''k'")


def test_verify_reports_each_file_and_exit_status(run, tmp_path):
    ok = tmp_path / "ok.http"
    out = run("sign", "--access-key", "AK", "--secret-key", "SK", "GET", "http://127.0.0.1:9000/b/k")
    ok.write_text("GET /b/k HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n" + out.stdout.replace("\n", "\r\n") + "\r\n")
    bad = tmp_path / "bad.http"
    bad.write_text(ok.read_text().replace("GET /b/k", "GET /b/K"))
    garbage = tmp_path / "garbage.http"
    garbage.write_bytes(b"\x00\xffnot http")
    res = run("verify", "--access-key", "AK", "--secret-key", "SK", "--verbose", str(ok), str(bad), str(garbage),
              str(tmp_path / "missing"))
    assert res.returncode == 1
    lines = res.stdout
    assert f"{ok}: OK AWS4-HMAC-SHA256 header payload=sha256 bytes=0" in lines
    assert f"{bad}: ERROR SignatureDoesNotMatch (AUTH_MISMATCH)" in lines
    assert "--- canonical request\nGET\n/b/K\n" in lines
    assert f"{garbage}: ERROR" in lines and f"{tmp_path / 'missing'}: ERROR" in lines
    res = run("verify", "--access-key", "AK", "--secret-key", "SK", str(ok))
    assert res.returncode == 0
