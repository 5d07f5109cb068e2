#!/usr/bin/env python3
"""Replay a clean Ninja build's schedule (docs/benchmarks.md, "CI time").

    scripts/ninja_schedule.py BUILD.NINJA NINJA_LOG [JOBS]

Takes each job's duration from NINJA_LOG (a finished build's .ninja_log,
matched by output path relative to its build directory) and the dependency
graph of BUILD.NINJA (which may come from another build directory, e.g. a
configure-only run of a changed CMakeLists.txt), and replays Ninja 1.11's
scheduling of `all` with JOBS parallel jobs (default 2): ready jobs start in
the order the build file declares them. Prints the makespan and how long
fewer than JOBS jobs ran, i.e. how long a core sat idle. Jobs missing from
the log count as instant.
"""
import heapq
import re
import sys


def main():
    manifest, log = sys.argv[1], sys.argv[2]
    jobs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    dur = {}
    for line in open(log):
        if line.startswith('#'):
            continue
        start, end, _, out, _ = line.rstrip('\n').split('\t')
        dur[re.sub(r'^.*/build[^/]*/', '', out)] = (int(end) - int(start)) / 1000
    edges = []  # (outputs, inputs of all three kinds, rule)
    for line in open(manifest).read().replace('$\n', ' ').splitlines():
        if not line.startswith('build '):
            continue
        line = line[6:].replace('$ ', '\0').replace('$:', '\1')
        outs, rest = line.split(':', 1)
        fix = lambda p: p.replace('\0', ' ').replace('\1', ':')
        parts = rest.split()
        edges.append(([fix(o) for o in outs.split()], [fix(p) for p in parts[1:] if p not in ('|', '||')], parts[0]))
    producer = {o: i for i, (outs, _, _) in enumerate(edges) for o in outs}
    needs = [{producer[x] for x in ins if x in producer} for _, ins, _ in edges]
    users = [[] for _ in edges]
    for i, n in enumerate(needs):
        for j in n:
            users[j].append(i)
    wanted, stack = set(), [producer['all']]
    while stack:
        i = stack.pop()
        if i not in wanted:
            wanted.add(i)
            stack.extend(needs[i])

    def duration(i):
        outs, _, rule = edges[i]
        if rule == 'phony':
            return 0.0
        return next((dur[k] for k in (re.sub(r'^.*/build[^/]*/', '', o) for o in outs) if k in dur), 0.0)

    waiting = {i: len(needs[i] & wanted) for i in wanted}
    ready = sorted(i for i in wanted if waiting[i] == 0)
    heapq.heapify(ready)
    running, t, idle, last = [], 0.0, 0.0, ''

    def finish(i):
        for u in users[i]:
            if u in waiting:
                waiting[u] -= 1
                if waiting[u] == 0:
                    heapq.heappush(ready, u)

    while ready or running:
        while ready and len(running) < jobs:
            i = heapq.heappop(ready)
            d = duration(i)
            if d == 0.0:
                finish(i)
            else:
                heapq.heappush(running, (t + d, i))
        if not running:
            continue
        end, i = heapq.heappop(running)
        if len(running) + 1 < jobs:
            idle += end - t
        t = end
        last = edges[i][0][0]
        finish(i)
    print(f'makespan {t:.1f} s, fewer than {jobs} jobs running for {idle:.1f} s, last job {last}')


if __name__ == '__main__':
    main()
