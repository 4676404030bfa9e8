#!/usr/bin/env python3
"""How fast the agent starts and what a healthy probe cycle costs, against the bundled fake
metadata server on loopback, beside a baseline measured in the same run: the by-hand
check, one `curl` of the same URL (process start to answer) per run. Prints figures;
asserts nothing.

For each of RUNS starts of `guestpulse run` (metadata every second, so the start spread,
min(interval, 30 s), is at most 1 s; a fresh state dir each time):
  - start -> READY: until systemd's READY=1 arrives on a NOTIFY_SOCKET of our own;
  - start -> first result: until the first serial line about the metadata probe;
and, once, CPU per healthy cycle: one agent for CYCLE_SECONDS with the metadata probe every
second, its utime+stime from /proc over the GETs of instance/id the fake counted, beside
the CPU of one `curl` of the same URL (its children's rusage).

  tests/bench/startup.sh [--build DIR] [--runs 20] [--cycle-seconds 60]
"""
import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def http(method, url, body=None):
    request = urllib.request.Request(url, data=body.encode() if body else None, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.read().decode()


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def config_text(directory, interval):
    return f"""\
provider: gce
probes:
  metadata: {{ interval: {interval} }}
  workload_certs: {{ enabled: false }}
  mds_mtls: {{ enabled: false }}
  service_proxy: {{ enabled: false }}
report:
  guest_attributes: {{ heartbeat: 60s }}
  serial: {{ device: {directory}/serial.log }}
  state_dir: {directory}/state
log: {{ level: warn }}
"""


def summary(values, unit="ms", scale=1000.0):
    values = sorted(values)
    median = statistics.median(values)
    return (f"median {median * scale:7.1f} {unit}  min {values[0] * scale:7.1f}  "
            f"max {values[-1] * scale:7.1f}"), median


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "../../build"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cycle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    if not 1 <= args.runs <= 500:
        sys.exit("startup: --runs must be 1..500")
    if not 5 <= args.cycle_seconds <= 3600:
        sys.exit("startup: --cycle-seconds must be 5..3600")
    build = os.path.abspath(args.build)
    binary, fake_binary = os.path.join(build, "guestpulse"), os.path.join(build, "tests/fake-mds")
    curl = shutil.which("curl")
    work = tempfile.mkdtemp(prefix="gp-startup-")
    processes = []

    def cleanup():
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        shutil.rmtree(work, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        port_file = os.path.join(work, "port")
        fake = subprocess.Popen([fake_binary, "--listen", "127.0.0.1:0", "--port-file", port_file,
                                 "--quiet", "--attribute", "enable-guest-attributes=TRUE"],
                                stdout=subprocess.DEVNULL)
        processes.append(fake)
        for _ in range(200):
            if os.path.exists(port_file) and os.path.getsize(port_file):
                break
            time.sleep(0.05)
        port = open(port_file).read().split()[0]
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/computeMetadata/v1/instance/id"
        environment = dict(os.environ, GCE_METADATA_HOST=f"127.0.0.1:{port}")

        ready, first, baseline = [], [], []
        for run in range(args.runs):
            directory = os.path.join(work, f"run{run}")
            os.makedirs(directory)
            config = os.path.join(directory, "guestpulse.yaml")
            with open(config, "w") as out:
                out.write(config_text(directory, "1s"))
            notify_path = os.path.join(directory, "notify")
            notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            notify.bind(notify_path)
            notify.settimeout(0.01)
            serial = os.path.join(directory, "serial.log")
            begin = time.monotonic()
            agent = subprocess.Popen([binary, "run", "-c", config],
                                     env=dict(environment, NOTIFY_SOCKET=notify_path),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            processes.append(agent)
            ready_at = first_at = None
            deadline = begin + 15
            while time.monotonic() < deadline and (ready_at is None or first_at is None):
                try:
                    if b"READY=1" in notify.recv(4096) and ready_at is None:
                        ready_at = time.monotonic() - begin
                except socket.timeout:
                    pass
                if first_at is None and os.path.exists(serial):
                    with open(serial) as lines:
                        if "probe=metadata" in lines.read():
                            first_at = time.monotonic() - begin
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=15)
            notify.close()
            if ready_at is None or first_at is None:
                sys.exit(f"startup: run {run}: no READY or no first result within 15 s")
            ready.append(ready_at)
            first.append(first_at)
            if curl:
                begin = time.monotonic()
                subprocess.run([curl, "-sf", "-o", "/dev/null", "-H", "Metadata-Flavor: Google",
                                url], check=True)
                baseline.append(time.monotonic() - begin)

        print(f"startup: {args.runs} starts of {binary} against fake-mds on loopback")
        text, ready_median = summary(ready)
        print(f"  start -> READY          {text}")
        text, first_median = summary(first)
        print(f"  start -> first result   {text}  (includes the start spread: up to 1 s here)")
        if baseline:
            text, curl_median = summary(baseline)
            print(f"  baseline: one curl GET  {text}")
            print(f"  ratios to the curl GET: READY {ready_median / curl_median:.1f}x, "
                  f"first result {first_median / curl_median:.1f}x")

        # CPU per healthy cycle.
        directory = os.path.join(work, "cycles")
        os.makedirs(directory)
        config = os.path.join(directory, "guestpulse.yaml")
        with open(config, "w") as out:
            out.write(config_text(directory, "1s"))
        agent = subprocess.Popen([binary, "run", "-c", config], env=environment,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(agent)
        time.sleep(3)  # past the start
        http("DELETE", f"{base}/_fake/requests")
        cpu_before = proc_cpu_seconds(agent.pid)
        time.sleep(args.cycle_seconds)
        cpu = proc_cpu_seconds(agent.pid) - cpu_before
        records = json.loads(http("GET", f"{base}/_fake/requests"))
        cycles = sum(1 for r in records if r.get("path", r.get("target", "")).endswith("instance/id"))
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=15)
        tick = 1.0 / os.sysconf("SC_CLK_TCK")
        if cycles == 0:
            sys.exit("startup: the agent made no probe cycle")
        per_cycle = cpu / cycles
        print(f"  CPU per healthy cycle   {per_cycle * 1000:7.3f} ms ({cpu:.2f} s over {cycles} "
              f"cycles in {args.cycle_seconds:g} s; /proc counts in {tick * 1000:g} ms ticks)")
        if curl:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            count = 20
            for _ in range(count):
                subprocess.run([curl, "-sf", "-o", "/dev/null", "-H", "Metadata-Flavor: Google",
                                url], check=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            curl_cpu = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) / count
            print(f"  baseline: one curl GET  {curl_cpu * 1000:7.3f} ms CPU (mean of {count})")
            print(f"  ratio: a cycle costs {per_cycle / curl_cpu:.2f}x the CPU of one curl GET")
        return 0
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
