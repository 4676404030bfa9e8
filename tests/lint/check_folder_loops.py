#!/usr/bin/env python3
"""Fails when the folders of the code include each other in a loop.

A folder is the directory of a source file under agent/, config/ or platform/ (agent/net,
agent/report, platform/linux, ...). Folder A depends on folder B when a file in A includes
a header in B. The layering the code keeps: config and agent depend on platform, platform on
neither; inside agent, no two folders depend on each other through any chain. Prints the
dependency graph with --graph.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOPS = ("agent", "config", "platform")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder(path):
    return os.path.dirname(path)


def graph():
    edges = {}
    for top in TOPS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if not name.endswith((".cpp", ".hpp")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), ROOT)
                src = folder(rel)
                text = open(os.path.join(ROOT, rel), encoding="utf-8").read()
                for inc in INCLUDE.findall(text):
                    if not inc.startswith(TOPS):
                        continue
                    dst = folder(inc)
                    if dst != src:
                        edges.setdefault(src, set()).add((dst, rel, inc))
    return edges


def cycles(edges):
    adjacency = {a: {d for d, _, _ in targets} for a, targets in edges.items()}
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(adjacency.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(adjacency):
        if node not in state:
            visit(node)
    return found


def main():
    edges = graph()
    if "--graph" in sys.argv:
        for src in sorted(edges):
            print(f"{src} -> {', '.join(sorted({d for d, _, _ in edges[src]}))}")
    loops = cycles(edges)
    if not loops:
        print(f"folder includes: no loop among {len(edges)} folders")
        return 0
    for loop in loops:
        print("include loop: " + " -> ".join(loop))
        for a, b in zip(loop, loop[1:]):
            for dst, rel, inc in sorted(edges[a]):
                if dst == b:
                    print(f"  {rel} includes {inc}")
                    break
    return 1


if __name__ == "__main__":
    sys.exit(main())
