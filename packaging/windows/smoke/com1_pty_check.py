#!/usr/bin/env python3
"""Checks that wine-prefix.sh really routes COM1 where it is told to.

    com1_pty_check.py PACKAGING_WINDOWS_DIR PREFIX

Maps COM1 of the wine prefix PREFIX to a pty of its own, has a Windows program (cmd) write a
line to COM1, and reads that line from the pty. Also checks that wine-prefix.sh refuses to map
COM1 to the host's serial port. Exits 0 when both hold.
"""
import os
import pty
import select
import subprocess
import sys
import time


def main():
    scripts, prefix = sys.argv[1], sys.argv[2]
    wine_prefix = os.path.join(scripts, "wine-prefix.sh")
    wine_run = os.path.join(scripts, "wine-run.sh")

    refused = subprocess.run([wine_prefix, "--prefix", prefix, "/dev/ttyS0"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    print(f"wine-prefix.sh /dev/ttyS0: exit {refused.returncode}: {refused.stderr.strip()}")
    if refused.returncode == 0:
        return 1

    master, slave = pty.openpty()
    tty = os.ttyname(slave)
    subprocess.run([wine_prefix, "--prefix", prefix, tty], check=True, stdout=subprocess.DEVNULL)
    marker = b"guestpulse-com1-check"
    subprocess.run([wine_run, prefix, tty, "cmd", "/c", "echo " + marker.decode() + "> COM1"],
                   check=True, timeout=120)
    received = b""
    deadline = time.monotonic() + 10
    while marker not in received and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            received += os.read(master, 4096)
    print(f"COM1 -> {tty}: read {received!r}")
    # Leave the prefix's COM1 on /dev/null, not on a pty that closes with this process.
    subprocess.run([wine_prefix, "--prefix", prefix, "/dev/null"], check=True,
                   stdout=subprocess.DEVNULL)
    return 0 if marker in received else 1


if __name__ == "__main__":
    sys.exit(main())
