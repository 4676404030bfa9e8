#!/usr/bin/env python3
"""A fleet of real `guestpulse run` processes against one fake metadata server, through a
steady phase, an all-503 outage and the recovery. Prints figures; asserts nothing.

Each agent has its own config, state dir, serial file and guest-attribute namespace
(gp-<i>); all talk to one fake-mds on loopback. The agents start within START_SPREAD
seconds of one another, as a managed instance group boots. Intervals are scaled down by
SCALE so that phases of minutes show many cycles (the scale is printed; the
guest-attribute rate limits of GCE are not scaled, and the heartbeat stays >= 10 s, the
config's minimum).

Per phase it prints the per-second request rate seen by the server (mean, peak,
peak/mean), the requests per agent per second, the time until every agent's `status`
guest attribute is OK again after the outage, and the agents' summed RSS and CPU. With
gnuplot installed it also draws the per-second rate to a PNG.

  tests/bench/fleet.sh [--build DIR] [--agents N] [--scale S] [--steady S] [--outage S]
                       [--recovery S] [--out DIR]
"""
import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone

MAX_AGENTS = 2000


def duration(seconds):
    """Seconds as config text: whole seconds when exact, else milliseconds."""
    ms = int(round(seconds * 1000))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def http(method, url, body=None):
    request = urllib.request.Request(url, data=body.encode() if body else None, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.read().decode()


def agent_config(work, index, scale):
    directory = os.path.join(work, f"agent{index}")
    os.makedirs(directory)
    heartbeat = max(10.0, 60.0 / scale)
    config = f"""\
provider: gce
metadata: {{ timeout: 2s }}
retry: {{ initial: {duration(1.0 / scale)}, max: {duration(60.0 / scale)}, multiplier: 2, attempts: 5 }}
probes:
  metadata: {{ interval: {duration(30.0 / scale)} }}
  workload_certs: {{ interval: {duration(600.0 / scale)} }}
  mds_mtls: {{ interval: {duration(600.0 / scale)}, root_ca: {directory}/no-root.crt }}
report:
  guest_attributes: {{ namespace: gp-{index}, heartbeat: {duration(heartbeat)} }}
  serial: {{ device: {directory}/serial.log }}
  state_dir: {directory}/state
log: {{ level: warn }}
"""
    path = os.path.join(directory, "guestpulse.yaml")
    with open(path, "w") as out:
        out.write(config)
    return directory, path


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def per_second(records, start, end):
    """Requests per whole second in [start, end) of the fake's clock (seconds)."""
    buckets = [0] * max(0, int(end) - int(start))
    for record in records:
        second = int(record["t_ms"] / 1000.0 - start)
        if 0 <= second < len(buckets):
            buckets[second] += 1
    return buckets


def describe(name, buckets, agents):
    if not buckets:
        return f"{name:10s} (no whole second)"
    mean = sum(buckets) / len(buckets)
    peak = max(buckets)
    ratio = peak / mean if mean else float("nan")
    return (f"{name:10s} {len(buckets):4d} s  mean {mean:8.2f}/s  peak {peak:5d}/s  "
            f"peak/mean {ratio:5.2f}  per agent {mean / agents:.4f}/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "../../build"))
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--scale", type=float, default=3.0)
    parser.add_argument("--start-spread", type=float, default=10.0)
    parser.add_argument("--steady", type=float, default=120.0)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--recovery", type=float, default=120.0)
    parser.add_argument("--out", default=None, help="where to keep the data and the plot")
    args = parser.parse_args()
    if not 1 <= args.agents <= MAX_AGENTS:
        sys.exit(f"fleet: --agents must be 1..{MAX_AGENTS}")
    build = os.path.abspath(args.build)
    binary, fake_binary = os.path.join(build, "guestpulse"), os.path.join(build, "tests/fake-mds")
    work = tempfile.mkdtemp(prefix="gp-fleet-")
    out = os.path.abspath(args.out or os.path.join(build, "fleet"))
    os.makedirs(out, exist_ok=True)
    processes = []

    def cleanup(*_):
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(work, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        port_file = os.path.join(work, "port")
        fake = subprocess.Popen([fake_binary, "--listen", "127.0.0.1:0", "--port-file", port_file,
                                 "--quiet"], stdout=subprocess.DEVNULL)
        processes.append(fake)
        for _ in range(100):
            if os.path.exists(port_file) and os.path.getsize(port_file):
                break
            time.sleep(0.05)
        port = open(port_file).read().split()[0]
        base = f"http://127.0.0.1:{port}"
        fake_epoch = time.monotonic()  # the fake's t_ms counts from about here
        http("PUT", f"{base}/_fake/metadata/instance/attributes/enable-guest-attributes", "TRUE")
        print(f"fleet: {args.agents} agents, intervals scaled down {args.scale:g}x "
              f"(metadata every {duration(30 / args.scale)}, retry.max "
              f"{duration(60 / args.scale)}, heartbeat {duration(max(10, 60 / args.scale))}), "
              f"started within {args.start_spread:g} s")

        agents = []
        environment = dict(os.environ, GCE_METADATA_HOST=f"127.0.0.1:{port}")
        start = time.monotonic()
        for index in range(args.agents):
            directory, config = agent_config(work, index, args.scale)
            launch_at = start + args.start_spread * index / max(1, args.agents)
            time.sleep(max(0.0, launch_at - time.monotonic()))
            log = open(os.path.join(directory, "agent.log"), "w")
            agent = subprocess.Popen([binary, "run", "-c", config], env=environment,
                                     stdout=log, stderr=subprocess.STDOUT)
            processes.append(agent)
            agents.append(agent)
        t0 = start - fake_epoch

        def phase(seconds):
            time.sleep(max(0.0, seconds - (time.monotonic() - phase.began)))
            phase.began = time.monotonic()
        phase.began = start

        def usage():
            return (sum(proc_rss_kb(a.pid) for a in agents), sum(proc_cpu_seconds(a.pid) for a in agents))

        phase(args.steady)
        steady_end = time.monotonic() - fake_epoch
        steady_usage = usage()
        http("POST", f"{base}/_fake/faults", json.dumps({"status": 503}))
        phase(args.outage)
        outage_end = time.monotonic() - fake_epoch
        outage_end_wall = time.time()
        outage_usage = usage()
        http("DELETE", f"{base}/_fake/faults")
        phase(args.recovery)
        recovery_end = time.monotonic() - fake_epoch
        recovery_usage = usage()
        records = json.loads(http("GET", f"{base}/_fake/requests"))

        phases = [("steady", t0, steady_end), ("outage", steady_end, outage_end),
                  ("recovery", outage_end, recovery_end)]
        print("requests per second at the metadata server:")
        series = []
        for name, begin, end in phases:
            buckets = per_second(records, math.ceil(begin), end)
            series.append((name, math.ceil(begin), buckets))
            print("  " + describe(name, buckets, args.agents))
        first = min(r["t_ms"] for r in records) / 1000.0 if records else t0
        print(f"  first request {first - t0:.1f} s after the first agent started; "
              f"{len(records)} requests in all")
        # When each agent's status=OK was accepted again after the outage: its first 200
        # PUT of OK to gp-<i>/status (the server held the old value through the outage).
        back = {}
        for r in records:
            if (r["method"] == "PUT" and r["status"] == 200 and r.get("body") == "OK" and
                    r["target"].endswith("/status") and r["t_ms"] / 1000.0 >= outage_end):
                agent = r["target"].rsplit("/", 2)[-2]
                back.setdefault(agent, r["t_ms"] / 1000.0 - outage_end)
        if back:
            times = sorted(back.values())
            print(f"status=OK written again after the outage by {len(back)} of {args.agents} "
                  f"agents: median {times[len(times) // 2]:.1f} s, 90 % {times[int(len(times) * 0.9) - 1 if len(times) > 1 else 0]:.1f} s, "
                  f"last {times[-1]:.1f} s after it ended")
        else:
            print("status=OK written again after the outage by no agent")
        # The recovery goal counts from each agent's first successful probe after the
        # outage (its "probe=metadata state=OK" serial line, to the second) to the server
        # accepting its status=OK (the fake's wall clock, to the millisecond).
        after_probe = []
        for index in range(args.agents):
            serial = os.path.join(work, f"agent{index}", "serial.log")
            recovered = None
            try:
                for line in open(serial, errors="replace"):
                    if "probe=metadata state=OK" not in line:
                        continue
                    stamp = datetime.strptime(line.split()[1], "%Y-%m-%dT%H:%M:%SZ").replace(
                        tzinfo=timezone.utc).timestamp()
                    if stamp >= math.floor(outage_end_wall):
                        recovered = stamp
                        break
            except OSError:
                continue
            puts = [r for r in records if r["method"] == "PUT" and r["status"] == 200 and
                    r.get("body") == "OK" and r["target"].endswith(f"/gp-{index}/status")]
            if recovered is None or not puts:
                continue
            for r in puts:
                wall = datetime.strptime(r["wall"][:23], "%Y-%m-%dT%H:%M:%S.%f").replace(
                    tzinfo=timezone.utc).timestamp()
                if wall >= recovered:
                    after_probe.append(wall - recovered)
                    break
        if after_probe:
            after_probe.sort()
            print(f"status=OK accepted after the agent's first successful probe (serial line, "
                  f"to the second): median {after_probe[len(after_probe) // 2]:.1f} s, "
                  f"max {after_probe[-1]:.1f} s ({len(after_probe)} agents)")
        for name, (rss, cpu) in (("steady", steady_usage), ("outage", outage_usage),
                                 ("recovery", recovery_usage)):
            print(f"agents at the end of {name:8s}: RSS {rss / 1024:8.1f} MiB in all "
                  f"({rss / args.agents:6.0f} kB each), CPU {cpu:7.2f} s in all "
                  f"({cpu / args.agents * 1000:6.1f} ms each)")
        alive = sum(1 for a in agents if a.poll() is None)
        print(f"agents still running: {alive} of {args.agents}")

        data = os.path.join(out, "fleet-rate.dat")
        with open(data, "w") as f:
            for name, begin, buckets in series:
                for offset, count in enumerate(buckets):
                    f.write(f"{begin + offset - t0:.0f} {count} {name}\n")
        if shutil.which("gnuplot"):
            png = os.path.join(out, "fleet-rate.png")
            script = f"""
set terminal pngcairo size 1000,420 font ",10"
set output "{png}"
set title "{args.agents} guestpulse agents, one fake metadata server (intervals / {args.scale:g})"
set xlabel "seconds since the first agent started"
set ylabel "requests per second"
set key off
set arrow from {steady_end - t0:.0f}, graph 0 to {steady_end - t0:.0f}, graph 1 nohead dt 2
set arrow from {outage_end - t0:.0f}, graph 0 to {outage_end - t0:.0f}, graph 1 nohead dt 2
set label "outage (all 503)" at {steady_end - t0 + 2:.0f}, graph 0.95
set label "recovery" at {outage_end - t0 + 2:.0f}, graph 0.95
plot "{data}" using 1:2 with steps lw 1.5
"""
            subprocess.run(["gnuplot"], input=script.encode(), check=True)
            print(f"plot: {png}")
        else:
            print(f"data: {data} (install gnuplot-nox for the plot)")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
