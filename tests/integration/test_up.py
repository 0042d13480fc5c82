"""`meridian up` end to end: the built-in demo stack brought up detached in a
temp state directory on free loopback ports, then the issue's checks: each
location's edge answers with its own region's greeting, the failover drill
through `meridian region`, a killed store failed over and restarted by the
supervisor, `meridian status`, `meridian down` leaving no process behind, a
second `up` keeping the data, and a bad stack file refused with exit 2 and
file:line:col messages. Every process is stopped by the PIDs the stack lists
(never by name)."""
import http.client
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import time

import pytest

from storeenv import meridian_bin

UP_TIMEOUT = 45  # seconds for `up -d` to report ready
US, EU = "us-east-1", "eu-west-1"


def greeting(region):
    return f"hello from bucket meridian-demo-{region}".encode()


def probe_base_port():
    """A base port with room above it: the kernel's pick, kept under 64000."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
    return p if p < 64000 else 20000 + p % 20000


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
    assert f"curl {ep['edges'][US]}/index.html" in out
    assert f"TryEu = curl {ep['edges'][EU]}/index.html" in out


def test_each_location_gets_its_own_region(stack):
    ep = stack["ep"]
    for loc in (US, EU):
        status, headers, body = get(port_of(ep["edges"][loc]))
        assert status == 200, (loc, status, body)
        assert body == greeting(loc)
        assert headers.get("x-meridian-region") == loc


def wait_greetings(ep, want, timeout):
    """Until both edges answer with `want`'s greeting; seconds taken, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        bodies = [get(port_of(ep["edges"][loc]))[2] for loc in (US, EU)]
        if bodies == [greeting(want)] * 2:
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def test_region_passive_then_active(stack):
    ep, state = stack["ep"], stack["state"]
    r = run("region", "passive", US, "--state", str(state))
    assert r.returncode == 0, r.stderr
    assert wait_greetings(ep, EU, 2.0) is not None, "passive us-east-1 not seen within 2 s"
    r = run("region", "active", US, "--state", str(state))
    assert r.returncode == 0, r.stderr
    assert get(port_of(ep["edges"][US]))[2] == greeting(US)
    assert get(port_of(ep["edges"][EU]))[2] == greeting(EU)
    # A region the routers do not know is refused, and reported.
    r = run("region", "passive", "ap-south-1", "--state", str(state))
    assert r.returncode != 0


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
    # Each location's router would choose its own region.
    for loc in (US, EU):
        block = r.stdout.split(f"router {loc}:", 1)[1].split("chosen: ", 1)[1]
        assert block.split()[0] == loc, r.stdout


def test_down_stops_everything_and_second_up_keeps_data(stack):
    state, ep = stack["state"], stack["ep"]
    binary = meridian_bin()
    version = get(port_of(ep["edges"][US]))[1].get("x-amz-version-id")
    assert version
    pids = [pid for pid, _ in processes(state).values()]
    sup = int((state / "up.pid").read_text().split()[0])
    r = run("down", "--state", str(state), timeout=40)
    assert r.returncode == 0, r.stderr
    assert not ours_alive(sup, binary)
    assert [p for p in pids if ours_alive(p, binary)] == []
    assert run("down", "--state", str(state)).returncode != 0  # nothing left to stop
    # Up again on the same state: the buckets are kept, not seeded anew.
    r, _ = up(state, stack["base"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "kept" in r.stdout
    ep2 = json.loads((state / "endpoints.json").read_text())
    status, headers, body = get(port_of(ep2["edges"][US]))
    assert (status, body) == (200, greeting(US))
    assert headers.get("x-amz-version-id") == version


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
