"""`meridian up` end to end: the built-in demo stack brought up detached in a
temp state directory on free loopback ports, then the issue's checks: each
location's edge answers with its own region's greeting, the failover drill
through `meridian region`, a killed store failed over and restarted by the
supervisor, `meridian status`, `meridian down` leaving no process behind, a
second `up` keeping the data, replication from the stack's rules (a write
in one region's bucket arrives in the other's with its version id, a write
through the access point is served by the far edge, index.html stays
distinct, a rule between two buckets of one store), and a bad stack file
refused with exit 2 and file:line:col messages. Every process is stopped by the PIDs the stack lists
(never by name)."""
import http.client
import json
import os
import pathlib
import random
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest

from botocore.exceptions import ClientError

from routerenv import region_of, sigv4a_client
from storeenv import meridian_bin

UP_TIMEOUT = 45  # seconds for `up -d` to report ready
US, EU = "us-east-1", "eu-west-1"


ALIAS = "mfzwi23gnjvgw.mrap"


def greeting(region):
    return f"hello from bucket meridian-demo-{region}".encode()


def bucket(region, prefix="meridian-demo"):
    return f"{prefix}-{region}"


def creds(ep):
    key, secret = pathlib.Path(ep["credentials"]).read_text().split()[:2]
    return key, secret


def store_client(ep, region):
    """boto3 (SigV4, path style) straight to a region's store."""
    import boto3
    from botocore.config import Config

    key, secret = creds(ep)
    return boto3.client("s3", endpoint_url=ep["stores"][region], region_name=region,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def head(client, bucket_name, key):
    try:
        return client.head_object(Bucket=bucket_name, Key=key)
    except ClientError as e:
        if e.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return None
        raise


def wait_head(client, bucket_name, key, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        h = head(client, bucket_name, key)
        if h:
            return h
        time.sleep(0.05)
    raise AssertionError(f"{bucket_name}/{key} did not arrive within {timeout} s")


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def probe_base_port():
    """A base port with 64 free ports above it, all below the kernel's
    ephemeral range: there no outgoing connection (the stack's own, while up
    starts it) can take one of the ports up is about to listen on."""
    low = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    top = max(low - 64, 10064)
    for _ in range(100):
        base = random.randrange(10000, top)
        if all(port_free(base + i) for i in range(64)):
            return base
    raise RuntimeError("no window of 64 free ports below the ephemeral range")


def processes(state):
    """{name: (pid, port)} from STATE/processes."""
    out = {}
    for line in (state / "processes").read_text().splitlines():
        name, pid, port, _log = line.split(" ", 3)
        out[name] = (int(pid), int(port))
    return out


def ours_alive(pid, binary):
    """pid is alive and runs our binary (guards against PID reuse)."""
    try:
        os.kill(pid, 0)
        exe = os.readlink(f"/proc/{pid}/exe")
    except (ProcessLookupError, PermissionError, FileNotFoundError):
        return False
    return os.path.realpath(exe).replace(" (deleted)", "") == os.path.realpath(binary)


def get(url_port, path="/index.html", timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", url_port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def health_ok(port):
    try:
        return get(port, "/-/health", timeout=2)[0] == 200
    except OSError:
        return False


def port_of(url):
    return int(url.rsplit(":", 1)[1])


def run(*args, timeout=60):
    return subprocess.run([meridian_bin(), *args], capture_output=True, text=True,
                          timeout=timeout)


def up(state, base):
    t0 = time.monotonic()
    r = run("up", "--state", str(state), "--base-port", str(base), "-d", timeout=UP_TIMEOUT)
    return r, time.monotonic() - t0


def stop_everything(state):
    """`meridian down`, then SIGKILL whatever the stack listed that still runs."""
    binary = meridian_bin()
    if (state / "up.pid").exists():
        run("down", "--state", str(state), timeout=40)
    pids = []
    if (state / "up.pid").exists():
        pids.append(int((state / "up.pid").read_text().split()[0]))
    if (state / "processes").exists():
        pids += [pid for pid, _ in processes(state).values()]
    for pid in pids:
        if pid > 0 and ours_alive(pid, binary):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("up") / "state"
    base = probe_base_port()
    r, took = up(state, base)
    try:
        assert r.returncode == 0, f"up -> {r.returncode}\n{r.stdout}\n{r.stderr}"
        ep = json.loads((state / "endpoints.json").read_text())
        yield {"state": state, "base": base, "ep": ep, "took": took, "out": r.stdout}
    finally:
        stop_everything(state)


def test_up_default_stack_comes_up_detached(stack):
    assert stack["took"] < UP_TIMEOUT
    ep, state = stack["ep"], stack["state"]
    assert set(ep["edges"]) == {US, EU}
    assert set(ep["routers"]) == {US, EU}
    assert set(ep["stores"]) == {US, EU}
    assert ep["access_point"]["host"] == "mfzwi23gnjvgw.mrap.accesspoint.s3-global.meridian.test"
    creds = pathlib.Path(ep["credentials"])
    assert creds.exists() and (creds.stat().st_mode & 0o777) == 0o600
    # Ports come from the base port upwards.
    for url in list(ep["edges"].values()) + list(ep["stores"].values()):
        assert stack["base"] <= port_of(url) < stack["base"] + 64
    procs = processes(state)
    assert {"store-us-east-1", "store-eu-west-1", "router-us-east-1", "router-eu-west-1",
            "edge-us-east-1", "edge-eu-west-1", "wan-us-east-1-to-eu-west-1",
            "wan-eu-west-1-to-us-east-1"} <= set(procs)
    for name, (pid, _) in procs.items():
        assert ours_alive(pid, meridian_bin()), name
        assert (state / "logs" / f"{name}.log").exists()
    # The blog's table: the curl commands to try, and the expanded Outputs.
    out = stack["out"]
    assert f"as a client near {US}:" in out and f"as a client near {EU}:" in out
    # HTTPS by default: the edge's TLS listener, verified with the stack's CA
    assert f"curl --cacert {ep['tls']['ca']} {ep['tls']['edges'][US]}/index.html" in out
    assert f"TryEu = curl {ep['edges'][EU]}/index.html" in out
    # Beside the maps, every access point and distribution in full.
    assert ep["access_points"]["demo"]["routers"] == ep["routers"]
    assert ep["access_points"]["demo"]["regions"] == [US, EU]
    assert ep["distributions"]["DemoDistribution"]["edges"] == ep["edges"]
    assert ep["distributions"]["DemoDistribution"]["edge_admin"] == ep["edge_admin"]


def tried_curls(out):
    """{location: [command]} from the "Try:" part of `up`'s output."""
    got = {}
    for near, cmd in re.findall(r"^  # as a client near ([^:,]+)[^\n]*\n  (curl [^\n]+)$", out,
                                re.M):
        got.setdefault(near, []).append(shlex.split(cmd))
    return got


def test_the_printed_curl_commands_get_each_region_greeting(stack):
    """`make demo`: each curl command `up` prints, run as printed (HTTPS,
    trusting the stack's CA), returns the greeting of the bucket near that
    client."""
    curls = tried_curls(stack["out"])
    assert set(curls) == {US, EU}, stack["out"]
    for loc, cmds in curls.items():
        assert len(cmds) == 1
        cmd = cmds[0]
        assert cmd[1] == "--cacert" and cmd[3].startswith("https://"), cmd
        if shutil.which("curl"):
            r = subprocess.run(cmd + ["-sS", "--max-time", "10"], capture_output=True,
                               timeout=20)
            assert r.returncode == 0, r.stderr
            body = r.stdout
        else:
            ctx = ssl.create_default_context(cafile=cmd[2])
            with urllib.request.urlopen(cmd[3], context=ctx, timeout=10) as resp:
                body = resp.read()
        assert body == greeting(loc), (loc, body)


def test_boto3_and_aws_cli_reach_a_store_over_https_with_the_stacks_ca(stack):
    """The stores' HTTPS endpoints with nothing but the stack's CA to trust:
    boto3 (verify=CA) writes and reads, Debian's aws-cli (--ca-bundle)
    lists and copies; without the CA the certificate is refused."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import SSLError

    ep = stack["ep"]
    key, secret = creds(ep)
    url, ca = ep["tls"]["stores"][US], ep["tls"]["ca"]
    c = boto3.client("s3", endpoint_url=url, region_name=US, verify=ca,
                     aws_access_key_id=key, aws_secret_access_key=secret,
                     config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    c.put_object(Bucket=bucket(US), Key="tls/boto3.txt", Body=b"over https")
    assert c.get_object(Bucket=bucket(US), Key="tls/boto3.txt")["Body"].read() == b"over https"
    untrusting = boto3.client("s3", endpoint_url=url, region_name=US,
                              aws_access_key_id=key, aws_secret_access_key=secret,
                              config=Config(s3={"addressing_style": "path"},
                                            retries={"max_attempts": 1}))
    with pytest.raises(SSLError):
        untrusting.head_bucket(Bucket=bucket(US))
    aws = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which("aws")
    if not aws:
        pytest.skip("aws-cli is not installed")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
               AWS_DEFAULT_REGION=US, AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    r = subprocess.run([aws, "--endpoint-url", url, "--ca-bundle", ca, "s3", "ls",
                        f"s3://{bucket(US)}/tls/"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "boto3.txt" in r.stdout, r.stdout + r.stderr
    r = subprocess.run([aws, "--endpoint-url", url, "--ca-bundle", ca, "s3", "cp",
                        f"s3://{bucket(US)}/tls/boto3.txt", "-"], env=env,
                       capture_output=True, timeout=120)
    assert r.returncode == 0 and r.stdout == b"over https", r.stderr


def test_each_location_gets_its_own_region(stack):
    ep = stack["ep"]
    for loc in (US, EU):
        status, headers, body = get(port_of(ep["edges"][loc]))
        assert status == 200, (loc, status, body)
        assert body == greeting(loc)
        assert headers.get("x-meridian-region") == loc


def test_replication_files_name_the_other_store_through_its_relay(stack):
    state = stack["state"]
    procs = processes(state)
    for here, there in ((US, EU), (EU, US)):
        d = state / "replication" / here
        assert (d.stat().st_mode & 0o777) == 0o700
        keys = d / f"{there}.keys"
        assert (keys.stat().st_mode & 0o777) == 0o600
        assert keys.read_text().split() == list(creds(stack["ep"]))
        peers = (d / "peers.yaml").read_text()
        relay = procs[f"wan-{here}-to-{there}"][1]
        # HTTPS through the relay (it moves bytes), the peer's certificate
        # checked for its store's name against the stack's CA
        assert f'endpoint: "https://127.0.0.1:{relay}"' in peers, peers
        assert f"server_name: s3.{there}.meridian.test" in peers, peers
        assert f'ca_file: "{state / "tls" / "ca.pem"}"' in peers, peers
        assert f'region: "{there}"' in peers and here not in peers.split("peers:")[1]
    assert "replicates shared/* to meridian-demo-eu-west-1 in eu-west-1" in stack["out"]


def test_a_write_in_one_region_arrives_in_the_other_with_its_version_id(stack):
    ep = stack["ep"]
    us, eu = store_client(ep, US), store_client(ep, EU)
    for src, dst, c_src, c_dst in ((US, EU, us, eu), (EU, US, eu, us)):
        body = f"written in {src}\n".encode() * 50
        put = c_src.put_object(Bucket=bucket(src), Key=f"shared/from-{src}.txt", Body=body)
        got = wait_head(c_dst, bucket(dst), f"shared/from-{src}.txt")
        assert got["VersionId"] == put["VersionId"]
        assert got["ETag"] == put["ETag"]
        assert got["ReplicationStatus"] == "REPLICA"
        obj = c_dst.get_object(Bucket=bucket(dst), Key=f"shared/from-{src}.txt")
        assert obj["Body"].read() == body
    # Outside the shared prefix nothing travels.
    us.put_object(Bucket=bucket(US), Key="private/only-us.txt", Body=b"stays home")
    us.put_object(Bucket=bucket(US), Key="shared/later.txt", Body=b"x")
    wait_head(eu, bucket(EU), "shared/later.txt")
    assert head(eu, bucket(EU), "private/only-us.txt") is None
    # Each store logs its requests in S3's access log layout under logs/.
    log = (stack["state"] / "logs" / f"store-{US}.access.log").read_text()
    assert f"REST.PUT.OBJECT private/only-us.txt \"PUT /{bucket(US)}/private/only-us.txt" in log


def test_a_put_through_the_access_point_is_served_by_the_far_edge(stack):
    ep = stack["ep"]
    ap = sigv4a_client(ep["routers"][US], user=creds(ep))
    body = b"put through the access point near us-east-1\n" * 20
    put = ap.put_object(Bucket=ALIAS, Key="shared/via-ap.txt", Body=body)
    assert region_of(put) == US  # the router near us-east-1 chose its own region
    # Replication brings it to eu-west-1's bucket, with its version id ...
    got = wait_head(store_client(ep, EU), bucket(EU), "shared/via-ap.txt")
    assert got["VersionId"] == put["VersionId"]
    # ... from where the eu-west-1 edge (TTL 0: it fetches) serves it.
    status, headers, data = get(port_of(ep["edges"][EU]), "/shared/via-ap.txt")
    assert status == 200, (status, data)
    assert data == body
    assert headers.get("x-meridian-region") == EU
    assert headers.get("x-amz-version-id") == put["VersionId"]


def test_index_html_stays_distinct_per_bucket(stack):
    ep = stack["ep"]
    # Let any replication of the seeds have happened (a later write arrives).
    us, eu = store_client(ep, US), store_client(ep, EU)
    us.put_object(Bucket=bucket(US), Key="shared/fence.txt", Body=b"fence")
    eu.put_object(Bucket=bucket(EU), Key="shared/fence2.txt", Body=b"fence")
    wait_head(eu, bucket(EU), "shared/fence.txt")
    wait_head(us, bucket(US), "shared/fence2.txt")
    for region, c in ((US, us), (EU, eu)):
        status, _, body = get(port_of(ep["stores"][region]), f"/{bucket(region)}/index.html")
        assert (status, body) == (200, greeting(region))
        versions = c.list_object_versions(Bucket=bucket(region), Prefix="index.html")
        assert len(versions.get("Versions", [])) == 1, versions
        assert "ReplicationStatus" not in c.head_object(Bucket=bucket(region), Key="index.html")
        status, _, body = get(port_of(ep["edges"][region]))
        assert (status, body) == (200, greeting(region))


def wait_greetings(ep, want, timeout):
    """Until both edges answer with `want`'s greeting; seconds taken, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        bodies = [get(port_of(ep["edges"][loc]))[2] for loc in (US, EU)]
        if bodies == [greeting(want)] * 2:
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def chosen(status_out):
    """{(location, access point): region} from `meridian status`: each
    router's own answer (its meridian_router_region_selected metric)."""
    got = {}
    for loc, ap, region in re.findall(
            r"^  router (\S+), access point (\S+): .*?\n(?:      .*\n)*?      chosen: (\S+) "
            r"\(the router's own choice", status_out, re.M):
        got[(loc, ap)] = region
    return got


def wait_chosen(state, want, timeout):
    """Until `status` shows `want` ({(loc, ap): region}); the last answer."""
    end = time.monotonic() + timeout
    while True:
        r = run("status", "--state", str(state))
        assert r.returncode == 0, r.stderr
        got = chosen(r.stdout)
        if got == want or time.monotonic() > end:
            return got, r.stdout
        time.sleep(0.1)


def test_region_passive_then_active(stack):
    ep, state = stack["ep"], stack["state"]
    r = run("region", "passive", US, "--state", str(state))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"router {loc}, access point demo: {US} passive"
                                     for loc in (US, EU)]
    assert wait_greetings(ep, EU, 2.0) is not None, "passive us-east-1 not seen within 2 s"
    # status shows what the routers themselves would choose now.
    got, out = wait_chosen(state, {(US, "demo"): EU, (EU, "demo"): EU}, 2.0)
    assert got == {(US, "demo"): EU, (EU, "demo"): EU}, out
    r = run("region", "active", US, "--state", str(state))
    assert r.returncode == 0, r.stderr
    assert get(port_of(ep["edges"][US]))[2] == greeting(US)
    assert get(port_of(ep["edges"][EU]))[2] == greeting(EU)
    got, out = wait_chosen(state, {(US, "demo"): US, (EU, "demo"): EU}, 2.0)
    assert got == {(US, "demo"): US, (EU, "demo"): EU}, out
    # A region no access point has is refused, and reported.
    r = run("region", "passive", "ap-south-1", "--state", str(state))
    assert r.returncode == 1
    assert "no access point of the stack" in r.stderr and "has region ap-south-1" in r.stderr


def test_killed_store_fails_over_and_is_restarted(stack):
    ep, state = stack["ep"], stack["state"]
    eu_edge = port_of(ep["edges"][EU])
    old_pid, store_port = processes(state)["store-eu-west-1"]
    os.kill(old_pid, signal.SIGKILL)
    # The eu client keeps getting an answer: us-east-1's while its store is away.
    seen_us = False
    end = time.monotonic() + 15
    new_pid = old_pid
    while time.monotonic() < end:
        status, _, body = get(eu_edge)
        assert status == 200, (status, body)
        assert body in (greeting(US), greeting(EU))
        seen_us |= body == greeting(US)
        new_pid = processes(state)["store-eu-west-1"][0]
        if seen_us and new_pid != old_pid and health_ok(store_port):
            break
        time.sleep(0.05)
    assert seen_us, "the eu client never got us-east-1's greeting"
    assert new_pid != old_pid and ours_alive(new_pid, meridian_bin())
    assert health_ok(store_port)
    # Once the router sees the store again the eu client is back home.
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10 and get(eu_edge)[2] != greeting(EU):
        time.sleep(0.1)
    assert get(eu_edge)[2] == greeting(EU)


def test_status_shows_processes_and_routes(stack):
    r = run("status", "--state", str(stack["state"]))
    assert r.returncode == 0, r.stderr
    assert "supervisor: running" in r.stdout
    for name in processes(stack["state"]):
        assert name in r.stdout
    assert "stopped" not in r.stdout
    # Each router's routes from its control API.
    assert r.stdout.count("dial 100") >= 4, r.stdout
    # Each location's router says it would choose its own region.
    assert chosen(r.stdout) == {(US, "demo"): US, (EU, "demo"): EU}, r.stdout
    for loc in (US, EU):
        assert f"  edge {loc}, distribution DemoDistribution: {stack['ep']['edges'][loc]}" \
            in r.stdout


def test_down_stops_everything_and_second_up_keeps_data(stack):
    state, ep = stack["state"], stack["ep"]
    binary = meridian_bin()
    version = get(port_of(ep["edges"][US]))[1].get("x-amz-version-id")
    assert version
    us, eu = store_client(ep, US), store_client(ep, EU)
    kept = us.put_object(Bucket=bucket(US), Key="shared/before-down.txt", Body=b"kept")
    assert wait_head(eu, bucket(EU), "shared/before-down.txt")["VersionId"] == kept["VersionId"]
    pids = [pid for pid, _ in processes(state).values()]
    sup = int((state / "up.pid").read_text().split()[0])
    r = run("down", "--state", str(state), timeout=40)
    assert r.returncode == 0, r.stderr
    assert not ours_alive(sup, binary)
    assert [p for p in pids if ours_alive(p, binary)] == []
    assert run("down", "--state", str(state)).returncode != 0  # nothing left to stop
    ca_before = (state / "tls" / "ca.pem").read_bytes()
    # Up again on the same state: the buckets are kept, not seeded anew.
    r, _ = up(state, stack["base"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "kept" in r.stdout
    ep2 = json.loads((state / "endpoints.json").read_text())
    # The stack's CA is kept (whatever trusts it keeps trusting the stack),
    # and the new certificates chain to it.
    assert (state / "tls" / "ca.pem").read_bytes() == ca_before
    ctx = ssl.create_default_context(cafile=ep2["tls"]["ca"])
    with urllib.request.urlopen(ep2["tls"]["edges"][US] + "/index.html", context=ctx,
                                timeout=10) as resp:
        assert resp.read() == greeting(US)
    status, headers, body = get(port_of(ep2["edges"][US]))
    assert (status, body) == (200, greeting(US))
    assert headers.get("x-amz-version-id") == version
    # The replicated data is kept, and the rules are in force again.
    assert "replicates shared/* to meridian-demo-eu-west-1 in eu-west-1" in r.stdout
    us, eu = store_client(ep2, US), store_client(ep2, EU)
    for c, b in ((us, bucket(US)), (eu, bucket(EU))):
        h = c.head_object(Bucket=b, Key="shared/before-down.txt")
        assert h["VersionId"] == kept["VersionId"]
        assert c.get_object(Bucket=b, Key="shared/before-down.txt")["Body"].read() == b"kept"
    again = eu.put_object(Bucket=bucket(EU), Key="shared/after-up.txt", Body=b"again")
    assert wait_head(us, bucket(US), "shared/after-up.txt")["VersionId"] == again["VersionId"]


def test_bad_stack_file_exits_2_with_positions(tmp_path):
    bad = tmp_path / "stack.yaml"
    bad.write_text("Resources:\n"
                   "  A:\n"
                   "    Type: Meridian::Stor\n"
                   "  B:\n"
                   "    Type: Meridian::Bucket\n"
                   "    Properties:\n"
                   "      BucketName: b-one\n"
                   "      Store: !Ref Nope\n")
    r = run("up", str(bad), "--state", str(tmp_path / "state"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        f'{bad}:3:5: Type: unknown resource type "Meridian::Stor"; '
        'did you mean "Meridian::Store"?',
        f'{bad}:8:14: unknown reference "Nope"',
    ]
    assert not (tmp_path / "state").exists()  # nothing was started or written


def test_no_tls_runs_plain_http_without_a_ca(tmp_path):
    """--no-tls: no CA or certificates, no HTTPS listeners, HTTP between
    the roles and in the printed curls; the demo still answers."""
    state = tmp_path / "state"
    try:
        r = run("up", "--no-tls", "--state", str(state), "--base-port",
                str(probe_base_port()), "--param", "BucketPrefix=plain-demo", "-d",
                timeout=UP_TIMEOUT)
        assert r.returncode == 0, r.stdout + r.stderr
        assert not (state / "tls").exists()
        ep = json.loads((state / "endpoints.json").read_text())
        assert "tls" not in ep
        for region in (US, EU):  # a store with --tls-listen logs its HTTPS port
            log = (state / "logs" / f"store-{region}.log").read_text()
            assert "listening on" in log and "HTTPS on" not in log, log
        for name in ("router-us-east-1", "edge-us-east-1"):
            conf = (state / "config" / f"{name}.yaml").read_text()
            assert "tls:" not in conf and "https" not in conf, conf
        curls = tried_curls(r.stdout)
        for loc in (US, EU):
            assert [cmd[1] for cmd in curls[loc]] == [ep["edges"][loc] + "/index.html"]
            assert get(port_of(ep["edges"][loc]))[2] == f"hello from bucket plain-demo-{loc}".encode()
    finally:
        stop_everything(state)


def test_foreground_sigint_stops_every_child(tmp_path):
    """`make demo`'s mode: up in the foreground until Ctrl-C, then exit 0 with
    every child stopped."""
    state = tmp_path / "state"
    binary = meridian_bin()
    p = subprocess.Popen([binary, "up", "--state", str(state), "--base-port",
                          str(probe_base_port()), "--param", "BucketPrefix=fg-demo"],
                         stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        lines, end = [], time.monotonic() + UP_TIMEOUT
        while time.monotonic() < end:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("supervising"):
                break
        assert lines and lines[-1].startswith("supervising"), "".join(lines)
        ep = json.loads((state / "endpoints.json").read_text())
        # --param replaced the stack's default bucket prefix.
        assert get(port_of(ep["edges"][EU]))[2] == b"hello from bucket fg-demo-eu-west-1"
        pids = [pid for pid, _ in processes(state).values()]
        p.send_signal(signal.SIGINT)
        rest, _ = p.communicate(timeout=30)
        assert p.returncode == 0, rest
        assert "every process stopped" in rest
        assert [pid for pid in pids if ours_alive(pid, binary)] == []
        assert not (state / "up.pid").exists()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        stop_everything(state)


def test_bad_param_exits_2(tmp_path):
    r = run("up", "--param", "CacheTtl=7", "--param", "Nope=1", "--state",
            str(tmp_path / "state"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        "default-stack.yaml:9:1: a value was given for Nope, which is not a parameter",
        'default-stack.yaml:21:3: parameter CacheTtl: "7" is not in AllowedValues '
        "(0, 1, 5, 60)",
    ]
    assert not (tmp_path / "state").exists()


def test_help_and_usage_errors(tmp_path):
    for cmd in ("up", "down", "status", "region"):
        for form in ([cmd, "--help"], [cmd, "-h"], ["help", cmd]):
            r = run(*form)
            assert r.returncode == 0, form
            assert r.stdout.startswith(f"usage: meridian {cmd}"), r.stdout
        assert re.search(rf"^  {cmd} ", run().stderr, re.M)
    state = str(tmp_path / "none")
    assert run("region", "sideways", US, "--state", state).returncode == 2
    assert run("region", "passive", "--state", state).returncode == 2
    assert run("up", "--base-port", "80", "--state", state).returncode == 2
    assert run("up", "--param", "novalue", "--state", state).returncode == 2
    assert run("down", "extra", "--state", state).returncode == 2
    # A state directory without a stack: nothing to stop, show or drive.
    for args in (["down"], ["status"], ["region", "active", US]):
        r = run(*args, "--state", state)
        assert r.returncode == 1, (args, r.stderr)
        assert "no stack" in r.stderr


def test_stale_pid_file_never_signals_another_process(tmp_path):
    """An up.pid whose pid now belongs to another program: `down` and `status`
    see no stack, and that program is left alone."""
    state = tmp_path / "state"
    state.mkdir()
    other = subprocess.Popen(["sleep", "30"])
    try:
        (state / "up.pid").write_text(f"{other.pid}\n")
        (state / "processes").write_text("")
        r = run("down", "--state", str(state))
        assert r.returncode == 1 and "no stack" in r.stderr
        assert "supervisor: not running" in run("status", "--state", str(state)).stdout
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_child_that_cannot_start_is_named_with_its_log(tmp_path):
    """A store whose fixed Port is taken: `up` stops what it started, exits 1
    and names the child with the end of its log."""
    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "examples" /
            "default-stack.yaml").read_text()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    anchor = "      Location: !Ref UsEast1\n"
    assert anchor in text
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(text.replace(anchor, anchor + f"      Port: {port}\n", 1))
    state = tmp_path / "state"
    try:
        r = run("up", str(stack_file), "--state", str(state), "--base-port",
                str(probe_base_port()), "-d")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "store-us-east-1 exited with status 1 before it was healthy" in r.stderr, r.stderr
        assert f"--- end of {state}/logs/store-us-east-1.log ---" in r.stderr
        assert "starting stores" in r.stdout
        assert not (state / "up.pid").exists()
        binary = meridian_bin()
        assert [n for n, (pid, _) in processes(state).items() if ours_alive(pid, binary)] == []
    finally:
        busy.close()
        stop_everything(state)


SAME_STORE = """\
Description: two buckets of one store, one replicating into the other
Resources:
  Here:
    Type: Meridian::Location
    Properties: {Name: here, Region: us-east-1}
  Keys:
    Type: Meridian::Credentials
  Store:
    Type: Meridian::Store
    Properties: {Location: !Ref Here, Credentials: !Ref Keys}
  Src:
    Type: Meridian::Bucket
    Properties:
      Store: !Ref Store
      BucketName: same-src
      Versioning: Enabled
      ReplicationRules:
        - Destination: !Ref Dst
          Prefix: shared/
      Objects:
        - Key: shared/seeded.txt
          Body: seeded under the rule's prefix
        - Key: index.html
          Body: src only
  Dst:
    Type: Meridian::Bucket
    Properties:
      Store: !Ref Store
      BucketName: same-dst
      Versioning: Enabled
"""


def test_a_rule_between_two_buckets_of_one_store(tmp_path):
    """The store is its own peer: its peers file names itself at its own
    port, and a write (and a seed) under the prefix arrives in the other
    bucket with its version id."""
    stack_file = tmp_path / "same.yaml"
    stack_file.write_text(SAME_STORE)
    state = tmp_path / "state"
    try:
        r = run("up", str(stack_file), "--state", str(state), "--base-port",
                str(probe_base_port()), "-d", timeout=UP_TIMEOUT)
        assert r.returncode == 0, r.stdout + r.stderr
        ep = json.loads((state / "endpoints.json").read_text())
        port = port_of(ep["tls"]["stores"][US])  # the store's HTTPS listener
        peers = (state / "replication" / US / "peers.yaml").read_text()
        assert f'name: "{US}"' in peers and f'endpoint: "https://127.0.0.1:{port}"' in peers
        c = store_client(ep, US)
        seeded = c.head_object(Bucket="same-src", Key="shared/seeded.txt")
        assert wait_head(c, "same-dst", "shared/seeded.txt")["VersionId"] == seeded["VersionId"]
        put = c.put_object(Bucket="same-src", Key="shared/k.txt", Body=b"one store")
        got = wait_head(c, "same-dst", "shared/k.txt")
        assert got["VersionId"] == put["VersionId"] and got["ReplicationStatus"] == "REPLICA"
        assert c.get_object(Bucket="same-dst", Key="shared/k.txt")["Body"].read() == b"one store"
        assert head(c, "same-dst", "index.html") is None
    finally:
        stop_everything(state)


def test_a_destination_without_versioning_is_refused(tmp_path):
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(SAME_STORE.replace(
        "      BucketName: same-dst\n      Versioning: Enabled\n",
        "      BucketName: same-dst\n"))
    r = run("up", str(stack_file), "--state", str(tmp_path / "state"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        f"{stack_file}:18:11: Destination: Dst needs Versioning: Enabled to take replicas"]
    assert not (tmp_path / "state").exists()


EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "docs" / "examples"
AP_SOUTH = "ap-south-1"


def test_two_access_points_and_two_distributions_each_serve(tmp_path):
    """docs/examples/two-access-points.yaml: a router per (access point,
    location) and an edge per (distribution, location), each its own process
    with its own ports, config and log; every edge serves through its own
    access point; each distribution's behaviors apply; `region` drives the
    routers of the access points with that region, and `status` shows every
    router's own choice."""
    state = tmp_path / "state"
    binary = meridian_bin()
    try:
        r = run("up", str(EXAMPLES / "two-access-points.yaml"), "--state", str(state),
                "--base-port", str(probe_base_port()), "-d", timeout=UP_TIMEOUT)
        assert r.returncode == 0, r.stdout + r.stderr
        ep = json.loads((state / "endpoints.json").read_text())
        aps, dists = ep["access_points"], ep["distributions"]
        assert set(aps) == {"site", "assets"} and set(dists) == {"Site", "Assets"}
        # The maps: the first access point's and distribution's.
        assert ep["routers"] == aps["site"]["routers"] and ep["edges"] == dists["Site"]["edges"]
        assert ep["access_point"]["name"] == "site"
        assert aps["assets"]["regions"] == [US, EU, AP_SOUTH]
        assert aps["assets"]["host"] == "assets.mrap.accesspoint.s3-global.meridian.test"
        procs = processes(state)
        names = {"router-us-east-1", "router-eu-west-1", "router-assets-us-east-1",
                 "router-assets-eu-west-1", "edge-us-east-1", "edge-eu-west-1",
                 "edge-Assets-us-east-1", "edge-Assets-eu-west-1"}
        assert names <= set(procs), procs
        ports = [port for _, port in procs.values()]
        assert len(ports) == len(set(ports))
        urls = [u for a in aps.values() for k in ("routers", "router_admin")
                for u in a[k].values()]
        urls += [u for d in dists.values() for k in ("edges", "edge_admin") for u in d[k].values()]
        assert len(urls) == 16 and len(set(urls)) == 16
        for name in names:
            pid, port = procs[name]
            assert ours_alive(pid, binary), name
            assert (state / "logs" / f"{name}.log").exists()
            assert (state / "config" / f"{name}.yaml").exists()
        assert f"access point assets: {aps['assets']['host']}" in r.stdout
        # Every edge serves, each through its own access point, from its
        # location's region; the printed curls name all four.
        curls = tried_curls(r.stdout)
        for loc in (US, EU):
            assert sorted(cmd[3] for cmd in curls[loc]) == sorted(
                [dists["Site"]["https_edges"][loc] + "/index.html",
                 dists["Assets"]["https_edges"][loc] + "/index.html"])
            status, h, body = get(port_of(dists["Site"]["edges"][loc]), "/")
            assert (status, body) == (200, f"site from {loc}".encode())
            assert h["x-meridian-region"] == loc
            status, h, body = get(port_of(dists["Assets"]["edges"][loc]), "/")
            assert (status, body) == (200, f"assets from {loc}".encode())
            # Assets' own behaviors: *.txt is cached, the rest (TTL 0) is not.
            port = port_of(dists["Assets"]["edges"][loc])
            assert get(port, "/note.txt")[2] == f"a note from {loc}".encode()
            assert get(port, "/note.txt")[1]["x-cache"] == "Hit from meridian"
            assert get(port, "/")[1]["x-cache"] == "Miss from meridian"
            # The Site edge knows nothing of the assets bucket's keys.
            assert get(port_of(dists["Site"]["edges"][loc]), "/note.txt")[0] == 404
        # The drill reaches the four routers of both access points.
        r = run("region", "passive", US, "--state", str(state))
        assert r.returncode == 0, r.stderr
        assert sorted(r.stdout.splitlines()) == sorted(
            f"router {loc}, access point {ap}: {US} passive"
            for loc in (US, EU) for ap in ("site", "assets"))
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.0:
            bodies = {get(port_of(dists[d]["edges"][loc]), "/")[2]
                      for d in ("Site", "Assets") for loc in (US, EU)}
            if bodies == {b"site from eu-west-1", b"assets from eu-west-1"}:
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"passive us-east-1 not seen within 2 s: {bodies}")
        every = {(loc, ap): EU for loc in (US, EU) for ap in ("site", "assets")}
        got, out = wait_chosen(state, every, 2.0)
        assert got == every, out
        r = run("region", "active", US, "--state", str(state))
        assert r.returncode == 0, r.stderr
        home = {(loc, ap): loc for loc in (US, EU) for ap in ("site", "assets")}
        got, out = wait_chosen(state, home, 2.0)
        assert got == home, out
        for loc in (US, EU):
            assert get(port_of(dists["Assets"]["edges"][loc]), "/")[2] == \
                f"assets from {loc}".encode()
        # A region only "assets" has: only its two routers are driven.
        r = run("region", "active", AP_SOUTH, "--state", str(state))
        assert r.returncode == 0, r.stderr
        assert sorted(r.stdout.splitlines()) == sorted(
            f"router {loc}, access point assets: {AP_SOUTH} active" for loc in (US, EU))
        r = run("region", "passive", AP_SOUTH, "--state", str(state))
        assert r.returncode == 0, r.stderr
        st = run("status", "--state", str(state)).stdout
        for loc in (US, EU):
            assert f"  edge {loc}, distribution Assets: {dists['Assets']['edges'][loc]}" in st
    finally:
        stop_everything(state)


# One error of each class the validator reports (docs/stack-file.md, "Every
# error"), all in one file: every one is reported, in file order.
EVERY_ERROR = """\
Parameters:
  Env:
    Type: String
    Default: prod
    AllowedValues: [dev, test]
Resources:
  L:
    Type: Meridian::Location
    Properties: {Name: here, Region: r-1}
  K:
    Type: Meridian::Location
    Properties:
      Name: there
      Regoin: r-2
  M:
    Type: Meridian::Lokation
  N:
    Type: Meridian::Location
  S:
    Type: Meridian::Store
    Properties: {Location: !Ref L}
  T:
    Type: Meridian::Store
    Properties:
      Location: !Ref LL
      Port: 80x
  B:
    Type: Meridian::Bucket
    Properties: {Store: !Ref S, BucketName: same}
  C:
    Type: Meridian::Bucket
    Properties:
      Store: !Ref S
      BucketName: same
  D:
    Type: Meridian::Bucket
    Properties:
      Store: !Ref L
      BucketName: d-1
  E:
    Type: Meridian::Bucket
    Properties:
      Store: !Ref S
      BucketName: e-1
      Versioning: Enabled
      ReplicationRules: [{Destination: !Ref E}]
  F:
    Type: Meridian::Bucket
    Properties:
      Store: !Ref S
      BucketName: f-1
      ReplicationRules: [{Destination: !Ref E}]
  G:
    Type: Meridian::Bucket
    Properties:
      Store: !Ref S
      BucketName: g-1
      Versioning: Enabled
      ReplicationRules: [{Destination: !Ref B}]
  X:
    Type: Meridian::Credentials
    Properties:
      AccessKeyId: !GetAtt L.Url
  A1:
    Type: Meridian::AccessPoint
    Properties:
      Name: !Ref A2
      Regions: [{Bucket: !Ref B}]
  A2:
    Type: Meridian::AccessPoint
    Properties:
      Name: !Ref A1
      Regions: [{Bucket: !Ref B}]
  Dist:
    Type: Meridian::Distribution
    Properties:
      Locations: [!Ref L, !Ref L]
      Origins: [{Id: g, Bucket: !Ref G}]
      Behaviors: [{PathPattern: "*", TargetOriginId: gg}]
"""


def test_every_validation_error_class_with_its_exact_message(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(EVERY_ERROR)
    r = run("up", str(f), "--state", str(tmp_path / "state"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.splitlines() == [f"{f}:{m}" for m in [
        '4:5: parameter Env: "prod" is not in AllowedValues (dev, test)',
        '14:7: unknown key "Regoin"; did you mean "Region"?',
        '16:5: Type: unknown resource type "Meridian::Lokation"; '
        'did you mean "Meridian::Location"?',
        '17:3: missing required key "Name"',
        '25:17: unknown reference "LL"; did you mean "L"?',
        '26:7: Port: "80x" is not an integer in 1..65535',
        '30:3: duplicate bucket name "same" (also B at 27:3)',
        '38:7: Store: "L" is a Meridian::Location, not a Meridian::Store',
        "46:27: Destination: a bucket cannot replicate to itself",
        "52:7: ReplicationRules: needs Versioning: Enabled",
        "59:27: Destination: B needs Versioning: Enabled to take replicas",
        '63:20: !GetAtt L.Url: a Meridian::Location has no attribute "Url" '
        "(it has Name, Region, EdgeUrl, RouterUrl)",
        "64:3: reference cycle: A1 -> A2 -> A1",
        "77:27: Locations: here is listed twice",
        '79:38: TargetOriginId: no origin or group has the id "gg"; did you mean "g"?',
    ]]
    # YAML syntax stops the parse: that one alone.
    f.write_text("a: 1\na: 2\n")
    r = run("up", str(f), "--state", str(tmp_path / "state"))
    assert r.returncode == 2
    assert r.stderr.splitlines() == [f'{f}:2:1: duplicate key "a" (first at 1:1)']
    assert not (tmp_path / "state").exists()


# A distribution at two locations whose behavior runs a viewer-response
# function; the function file lives beside the stack file and is named
# relative to it.
FN_STACK = """\
Resources:
  UsEast1: {Type: Meridian::Location, Properties: {Name: us-east-1, Region: us-east-1}}
  EuWest1: {Type: Meridian::Location, Properties: {Name: eu-west-1, Region: eu-west-1}}
  UsStore: {Type: Meridian::Store, Properties: {Location: !Ref UsEast1}}
  EuStore: {Type: Meridian::Store, Properties: {Location: !Ref EuWest1}}
  UsBucket:
    Type: Meridian::Bucket
    Properties:
      Store: !Ref UsStore
      BucketName: fn-us-east-1
      AnonymousRead: true
      Objects: [{Key: index.html, Body: "fn from us-east-1"}]
  EuBucket:
    Type: Meridian::Bucket
    Properties:
      Store: !Ref EuStore
      BucketName: fn-eu-west-1
      AnonymousRead: true
      Objects: [{Key: index.html, Body: "fn from eu-west-1"}]
  Dist:
    Type: Meridian::Distribution
    Properties:
      Locations: [!Ref UsEast1, !Ref EuWest1]
      Origins:
        - Id: nearest
          NearestBucket: [!Ref UsBucket, !Ref EuBucket]
      Behaviors:
        - PathPattern: "*"
          TargetOriginId: nearest
          DefaultTTL: 60
          Functions:
            ViewerResponse: fn/headers.lua
      FunctionLimits: {Memory: 16MiB, ViewerTimeout: 2s}
  Latency:
    Type: Meridian::LatencyMatrix
    Properties:
      Links: [{Between: [!Ref UsEast1, !Ref EuWest1], DelayMs: 5}]
"""

HEADERS_FN = ('function handler(event, context) '
              'local r = event.Records[1].cf.response; '
              'r.headers["x-from-fn"] = {{key="X-From-Fn", value="yes"}}; '
              'return r end\n')


def test_a_viewer_response_function_runs_at_every_edge(tmp_path):
    """A behavior's Functions: every location's edge runs the stack's
    viewer-response function on a miss and on a hit; the generated edge
    configs name the file by its absolute path (they live in STATE/config)."""
    (tmp_path / "fn").mkdir()
    fn = tmp_path / "fn" / "headers.lua"
    fn.write_text(HEADERS_FN)
    stack_file = tmp_path / "fn-stack.yaml"
    stack_file.write_text(FN_STACK)
    state = tmp_path / "state"
    try:
        r = run("up", str(stack_file), "--state", str(state), "--base-port",
                str(probe_base_port()), "-d", timeout=UP_TIMEOUT)
        assert r.returncode == 0, r.stdout + r.stderr
        ep = json.loads((state / "endpoints.json").read_text())
        assert set(ep["edges"]) == {US, EU}
        for loc in (US, EU):
            conf = (state / "config" / f"edge-{loc}.yaml").read_text()
            assert f'viewer-response: "{fn.resolve()}"' in conf, conf
            assert "function_limits:\n  memory: 16777216\n  viewer_timeout: 2000ms\n" in conf
            port = port_of(ep["edges"][loc])
            for cache in ("Miss from meridian", "Hit from meridian"):
                status, h, body = get(port)
                assert (status, body) == (200, f"fn from {loc}".encode())
                assert h["x-cache"] == cache
                assert h.get("x-from-fn") == "yes", h
            # Not for an error status (CloudFront's rule for viewer-response).
            status, h, _ = get(port, "/missing.txt")
            assert status == 404 and "x-from-fn" not in h
    finally:
        stop_everything(state)


def test_a_missing_function_file_is_refused_before_anything_starts(tmp_path):
    stack_file = tmp_path / "fn-stack.yaml"
    stack_file.write_text(FN_STACK)
    r = run("up", str(stack_file), "--state", str(tmp_path / "state"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        f"{stack_file}:32:13: ViewerResponse: cannot read {tmp_path}/fn/headers.lua: "
        "No such file or directory"]
    assert not (tmp_path / "state").exists()


def test_a_function_without_handler_stops_up_with_the_edges_message(tmp_path):
    """`up` loads each edge's functions as the edge will when it checks the
    configs it wrote: a file without a handler stops `up` with the edge's
    message before anything starts."""
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "headers.lua").write_text("function nothandler() end\n")
    stack_file = tmp_path / "fn-stack.yaml"
    stack_file.write_text(FN_STACK)
    state = tmp_path / "state"
    try:
        # In the foreground: it returns at once, with exit 2 (bad stack).
        r = run("up", str(stack_file), "--state", str(state), "--base-port",
                str(probe_base_port()), timeout=UP_TIMEOUT)
        assert r.returncode == 2, r.stdout + r.stderr
        fn = tmp_path / "fn" / "headers.lua"
        lines = r.stderr.splitlines()
        assert re.fullmatch(
            re.escape(f"{state}/config/edge-{US}.yaml:") + r"\d+:\d+: " +
            re.escape(f"functions: {fn}: defines no global function handler(event, context)"),
            lines[0]), r.stderr
        assert lines[1:] == ["up: the stack gives a configuration its role refuses (above)"]
        # Refused while writing configs: no process was started.
        assert not (state / "up.pid").exists() and not (state / "processes").exists()
    finally:
        stop_everything(state)


def test_the_lua_signer_example_signs_the_access_point_requests(tmp_path):
    """docs/examples/lua-signer-stack.yaml: the default stack with the built-in
    signer off and examples/functions/sigv4a-origin-signer.lua signing each
    origin request instead. Each location gets its own region's greeting
    through the access point (the router's X-Meridian-Region, one attempt at
    the mrap origin), which answers 403 to an unsigned request: so the Lua
    function signed it."""
    state = tmp_path / "state"
    fn = (EXAMPLES.parents[1] / "examples" / "functions" / "sigv4a-origin-signer.lua").resolve()
    try:
        r = run("up", str(EXAMPLES / "lua-signer-stack.yaml"), "--state", str(state),
                "--base-port", str(probe_base_port()), "-d", timeout=UP_TIMEOUT)
        assert r.returncode == 0, r.stdout + r.stderr
        ep = json.loads((state / "endpoints.json").read_text())
        for loc in (US, EU):
            conf = (state / "config" / f"edge-{loc}.yaml").read_text()
            assert f'origin-request: "{fn}"' in conf and "signing: none" in conf, conf
            status, h, body = get(port_of(ep["edges"][loc]))
            assert (status, body) == (200, greeting(loc)), (loc, status, body)
            assert h.get("x-meridian-region") == loc, h
            # The access log line may trail the answer a little.
            end = time.monotonic() + 5
            while True:
                log = (state / "logs" / f"edge-{loc}.log").read_text()
                if "x-origin=mrap\tx-origin-attempts=1" in log or time.monotonic() > end:
                    break
                time.sleep(0.05)
            assert "x-origin=mrap\tx-origin-attempts=1" in log, log
        # Unsigned, the access point refuses (what makes the check above mean
        # something).
        c = http.client.HTTPConnection("127.0.0.1", port_of(ep["routers"][US]), timeout=10)
        try:
            c.request("GET", "/index.html", headers={"Host": ep["access_point"]["host"]})
            assert c.getresponse().status == 403
        finally:
            c.close()
    finally:
        stop_everything(state)
