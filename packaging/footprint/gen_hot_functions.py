#!/usr/bin/env python3
"""Writes hot_functions.txt: every function `guestpulse run` executes while starting
and idling. CMakeLists.txt turns the list into a linker script that places them
together, at the start of the code (GUESTPULSE_HOT_TEXT).

Why: the kernel maps a file's pages in 64 kB fault-around windows, so one executed
function anywhere in a window makes the whole window resident. Spread over the binary,
the ~0.5 MB of code the daemon runs kept ~1.5 MB of it resident; packed together, it
keeps little more than itself.

Input: a callgrind profile of the agent (tests/bench/profile_hot_text.sh makes one, in a
network namespace, on the default config). Usage:

    packaging/footprint/gen_hot_functions.py CALLGRIND_OUT BINARY > packaging/footprint/hot_functions.txt

BINARY must be the profiled, unstripped binary: a function counts when callgrind saw it
executed and the binary defines it (valgrind files code outside .text, such as an
already ordered binary's hot section, under an unknown object, so the object name alone
cannot tell).

A function added later and missing from the list still works; it is only placed with the
cold code. Names in the list that no longer exist match nothing.
"""
import re
import subprocess
import sys

ENTRY = re.compile(r"^(fn|cfn|ob|cob)=\((\d+)\)(?: (.*))?$")
MANGLED = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def defined_functions(binary):
    out = subprocess.run(["nm", "--defined-only", binary], check=True, capture_output=True,
                         text=True).stdout
    return {p[2] for p in (line.split() for line in out.splitlines())
            if len(p) == 3 and p[1] in "tTwWiI"}


def executed_functions(profile, defined):
    names = {}
    executed = []
    seen = set()
    for line in open(profile, errors="replace"):
        m = ENTRY.match(line.rstrip("\n"))
        if not m:
            continue
        kind, index, name = m.groups()
        if kind not in ("fn", "cfn"):
            continue
        if name:
            names[index] = name
        function = names.get(index, "").split("'")[0]  # callgrind marks recursion as 'N
        if function in defined and function not in seen and MANGLED.fullmatch(function):
            seen.add(function)
            executed.append(function)
    return executed


def section_names(function):
    # Complete and base constructors/destructors (C1/C2, D1/D2) share one body, emitted
    # in the section of the base variant.
    yield function
    for complete, base in (("C1E", "C2E"), ("C1I", "C2I"), ("D1Ev", "D2Ev")):
        if complete in function:
            yield function.replace(complete, base)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    functions = executed_functions(sys.argv[1], defined_functions(sys.argv[2]))
    written = set()
    print(f"# {len(functions)} functions executed by `guestpulse run`; see gen_hot_functions.py")
    for function in functions:
        for name in section_names(function):
            if name not in written:
                written.add(name)
                print(name)


if __name__ == "__main__":
    main()
