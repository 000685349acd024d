#!/usr/bin/env python3
"""Summarise a `cpusim train --profile FILE` operator trace: host time per operator.

Usage: scripts/profile-summary.py FILE [--top N]
Prints, per operator name, its calls and its self time (time not spent in operators it
called), most first, with each one's share of all self time. Backward operators run on the
autograd engine's thread; both threads are counted.
"""
import json
import sys
from collections import defaultdict


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if args else 2
    top = 25
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i:i + 2]
    try:
        with open(args[0]) as f:
            events = [e for e in json.load(f) if e.get("ph") == "X"]
    except (OSError, ValueError) as e:
        print(f"{args[0]}: not a readable operator trace ({e})", file=sys.stderr)
        return 1
    by_thread = defaultdict(list)
    for e in events:
        by_thread[(e.get("pid"), e.get("tid"))].append(e)
    self_us = defaultdict(float)
    calls = defaultdict(int)
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # open operators: [end, name, time in children, begin]

        def close_one():
            end, n, child, begin = stack.pop()
            self_us[n] += (end - begin) - child
            if stack:
                stack[-1][2] += end - begin

        for e in evs:
            ts, dur, name = e["ts"], e["dur"], e["name"]
            while stack and stack[-1][0] <= ts:
                close_one()
            stack.append([ts + dur, name, 0.0, ts])
            calls[name] += 1
        while stack:
            close_one()
    total = sum(self_us.values())
    print(f"{'operator':<44} {'calls':>7} {'self ms':>10} {'share':>7}")
    for name, us in sorted(self_us.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{name[:44]:<44} {calls[name]:>7} {us / 1000:>10.1f} {100 * us / total:>6.1f}%")
    print(f"{'all operators':<44} {sum(calls.values()):>7} {total / 1000:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
