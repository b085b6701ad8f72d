#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Measures the layout of the C sources: files and lines per folder, the largest files, the
longest functions, and the cycles in the graph of includes between modules (a module is a .c
file with its .h, and NAME-internal.h with NAME's). Reads the tree only.

    tools/layout-metrics.py [SOURCE_ROOT]     (default: the clone this script is in)
"""

import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
FOLDERS = ["src/core", "src/shared", "src/daemon", "src/ctl"]


def sources():
    for folder in FOLDERS:
        path = os.path.join(ROOT, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if name.endswith((".c", ".h")):
                yield folder, name, os.path.join(path, name)


def functions(text):
    """(name, lines) of each function definition: a line at column 0 ending in '{' after a
    parameter list, up to the matching '}' at column 0."""
    found = []
    lines = text.splitlines()
    start = name = None
    for i, line in enumerate(lines):
        if start is None:
            m = re.match(r"^[A-Za-z_][\w \*]*?\b(\w+)\(.*\)\s*\{\s*$", line)
            if m and not line.startswith(("struct", "enum", "union", "typedef", "static const", "const")):
                start, name = i, m.group(1)
            elif re.match(r"^[A-Za-z_][\w \*]*?\b(\w+)\(.*[,(]\s*$", line):
                # a signature continued on the next lines
                j = i
                while j + 1 < len(lines) and not lines[j].rstrip().endswith("{") and j - i < 6:
                    j += 1
                if lines[j].rstrip().endswith(") {") or lines[j].rstrip().endswith("){"):
                    start, name = i, re.match(r"^[A-Za-z_][\w \*]*?\b(\w+)\(", line).group(1)
        elif line.startswith("}"):
            found.append((name, i - start + 1))
            start = name = None
    return found


def module_of(path):
    """A .c file with its .h; NAME-internal.h, the private half of module NAME, belongs to it."""
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem.endswith("-internal"):
        stem = stem[:-len("-internal")]
    return os.path.join(os.path.relpath(os.path.dirname(path), ROOT), stem)


def include_graph(files):
    """module -> modules it includes (quoted includes that resolve to a file of ours)."""
    by_name = {}
    for folder, name, path in files:
        by_name.setdefault(name, []).append(path)
    graph = {}
    for folder, name, path in files:
        mod = module_of(path)
        graph.setdefault(mod, set())
        with open(path, errors="replace") as f:
            for inc in re.findall(r'^#include "([^"]+)"', f.read(), re.M):
                base = os.path.basename(inc)
                same_dir = os.path.join(ROOT, folder, inc)
                target = same_dir if os.path.exists(same_dir) else (by_name.get(base) or [None])[0]
                if target and module_of(target) != mod:
                    graph[mod].add(module_of(target))
    return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    files = list(sources())
    per_folder = {}
    sizes, funcs = [], []
    for folder, name, path in files:
        with open(path, errors="replace") as f:
            text = f.read()
        n = text.count("\n")
        count, total = per_folder.get(folder, (0, 0))
        per_folder[folder] = (count + 1, total + n)
        sizes.append((n, os.path.join(folder, name)))
        if name.endswith(".c"):
            funcs += [(length, "%s:%s" % (os.path.join(folder, name), fn)) for fn, length in functions(text)]
    print("files and lines per folder:")
    for folder in FOLDERS:
        if folder in per_folder:
            print("  %-12s %3d files %6d lines" % (folder, *per_folder[folder]))
    print("largest files:")
    for n, path in sorted(sizes, reverse=True)[:5]:
        print("  %5d %s" % (n, path))
    print("longest functions:")
    for n, fn in sorted(funcs, reverse=True)[:5]:
        print("  %5d %s" % (n, fn))
    if funcs:
        print("functions: %d, mean length %.1f lines" % (len(funcs), sum(n for n, _ in funcs) / len(funcs)))
    found = cycles(include_graph(files))
    print("include cycles between modules: %d" % len(found))
    for comp in found:
        print("  " + " <-> ".join(comp))


if __name__ == "__main__":
    main()
