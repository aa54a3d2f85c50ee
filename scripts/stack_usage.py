#!/usr/bin/env python3
"""Stack use of the request path, from gcc's call-graph files.

    stack_usage.py [--edge CALLER:CALLEE ...] FILE.ci ... -- ROOT ...

Reads the .ci files gcc writes with -fcallgraph-info=su (one node per
function with its frame in bytes, one edge per call), prints the frame of
every function reachable from the ROOTs, and for each ROOT the deepest
chain of frames: the most stack the module itself can use below that hook.
Calls through a function pointer are not in the graph: --edge adds them.
Functions outside the module (httpd, APR, libc) have no frame here and
count as 0. Names are matched without gcc's clone suffixes (.isra.0,
.part.0, .constprop.0).
"""

import re
import sys

NODE_RE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
EDGE_RE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
BYTES_RE = re.compile(r"\\n(\d+) bytes \(([^)]*)\)")


def base(title):
    """'./m.so.ltrans0.o:send_taken.isra.0' -> 'send_taken'."""
    return title.rsplit(":", 1)[-1].split(".", 1)[0]


def read_graph(paths):
    frames, kinds, calls = {}, {}, {}
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = NODE_RE.search(line)
                if m:
                    b = BYTES_RE.search(m.group(2))
                    if b:
                        name = base(m.group(1))
                        # a function with clones: the largest frame counts
                        if int(b.group(1)) >= frames.get(name, -1):
                            frames[name] = int(b.group(1))
                            kinds[name] = b.group(2)
                    continue
                m = EDGE_RE.search(line)
                if m:
                    calls.setdefault(base(m.group(1)), set()).add(base(m.group(2)))
    return frames, kinds, calls


def deepest(name, frames, calls, memo, path=()):
    """(bytes, chain) of the deepest chain of module frames from name."""
    if name in memo:
        return memo[name]
    if name in path:                    # recursion: not on the request path
        return 0, []
    best = (0, [])
    for callee in sorted(calls.get(name, ())):
        if callee in frames:
            got = deepest(callee, frames, calls, memo, path + (name,))
            if got[0] > best[0]:
                best = got
    memo[name] = (frames.get(name, 0) + best[0], [name] + best[1])
    return memo[name]


def reachable(roots, frames, calls):
    seen, todo = [], list(roots)
    while todo:
        n = todo.pop()
        if n in seen or n not in frames:
            continue
        seen.append(n)
        todo.extend(sorted(calls.get(n, ())))
    return seen


def main(argv):
    if "--" not in argv:
        sys.exit(__doc__)
    split = argv.index("--")
    args, roots = argv[:split], argv[split + 1:]
    files, extra = [], []
    while args:
        a = args.pop(0)
        if a == "--edge":
            caller, callee = args.pop(0).split(":")
            extra.append((caller, callee))
        else:
            files.append(a)
    frames, kinds, calls = read_graph(files)
    for caller, callee in extra:
        calls.setdefault(caller, set()).add(callee)
    missing = [r for r in roots if r not in frames]
    if missing:
        sys.exit(f"stack_usage: no frame for {', '.join(missing)} in {files}")

    print("frames of the functions on the request path (bytes):")
    for n in sorted(reachable(roots, frames, calls),
                    key=lambda n: (-frames[n], n)):
        print(f"  {frames[n]:6d}  {n}  ({kinds[n]})")
    print("deepest chain below each hook (the module's own frames; httpd,")
    print("APR and libc functions it calls are not counted):")
    memo = {}
    for r in roots:
        total, chain = deepest(r, frames, calls, memo)
        steps = " > ".join(f"{n} {frames[n]}" for n in chain)
        print(f"  {r}: {total} bytes = {steps}")


if __name__ == "__main__":
    main(sys.argv[1:])
