#!/usr/bin/env python3
"""Fails on a Catch2 test name ctest cannot run.

catch_discover_tests hands each test name to ctest as a CMake list element, so a ';'
splits one test into two names that match nothing, and ctest reports them as passed while
the test never runs. Names must also be unique within a binary.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = re.compile(r'\bTEST_CASE\(\s*"((?:[^"\\]|\\.)*)"')


def main():
    bad = []
    seen = {}
    for folder in ("unit", "integration"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, "tests", folder)):
            for name in sorted(files):
                if not name.endswith(".cpp"):
                    continue
                path = os.path.join(dirpath, name)
                text = open(path, encoding="utf-8").read()
                for match in NAME.finditer(text):
                    test = match.group(1)
                    line = text.count("\n", 0, match.start()) + 1
                    where = f"{os.path.relpath(path, ROOT)}:{line}"
                    if ";" in test:
                        bad.append(f"{where}: ';' in \"{test}\" (ctest would never run it)")
                    key = (folder, test)
                    if key in seen:
                        bad.append(f"{where}: \"{test}\" also at {seen[key]}")
                    seen[key] = where
    for problem in bad:
        print(problem)
    print(f"test names: {len(seen)} checked, {len(bad)} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
