#!/usr/bin/env python3
"""A pty of the test's own standing in for a VM's serial console.

    pty_capture.py OUTPUT NAME_FILE

Opens a pty, sets the slave raw, writes the slave's path to NAME_FILE (atomically), and
appends everything read from the master to OUTPUT, flushed at once, until SIGTERM or
SIGINT. Wine's COM1 is then mapped to that slave; what the agent writes to COM1 lands in
OUTPUT with a timestamp kept per line in OUTPUT.times (seconds since the epoch), so a
test can tell when a line arrived.
"""
import os
import pty
import select
import signal
import sys
import time
import tty


def main():
    output, name_file = sys.argv[1], sys.argv[2]
    master, slave = pty.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    with open(name_file + ".tmp", "w") as f:
        f.write(path + "\n")
    os.replace(name_file + ".tmp", name_file)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    pending = b""
    with open(output, "ab", buffering=0) as out, open(output + ".times", "a") as times:
        while not stop:
            try:
                ready, _, _ = select.select([master], [], [], 0.2)
            except InterruptedError:
                continue
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:
                time.sleep(0.05)  # no writer on the slave at the moment (EIO)
                continue
            out.write(data)
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                times.write(f"{time.time():.3f} {line.decode('ascii', 'replace').rstrip()}\n")
                times.flush()
    os.close(slave)
    os.close(master)


if __name__ == "__main__":
    sys.exit(main())
