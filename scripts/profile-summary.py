#!/usr/bin/env python3
"""Summarise a `cpusim train --profile FILE` operator trace: time per operator.

Usage: scripts/profile-summary.py FILE [--top N]
Prints, per operator name, its calls and its self time (time not spent in operators it
called), most first, with each one's share of all self time: host time, and where the trace
has it (training on CUDA) device time, the list then ordered by device time. Backward
operators run on the autograd engine's thread; both threads are counted.
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
    has_device = any("device_us" in e.get("args", {}) for e in events)
    self_us = defaultdict(float)  # host
    self_dev = defaultdict(float)  # device
    calls = defaultdict(int)
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # open operators: [end, name, host time in children, begin, device time, in children]

        def close_one():
            end, n, child, begin, dev, dev_child = stack.pop()
            self_us[n] += (end - begin) - child
            self_dev[n] += max(0.0, dev - dev_child)
            if stack:
                stack[-1][2] += end - begin
                stack[-1][5] += dev

        for e in evs:
            ts, dur, name = e["ts"], e["dur"], e["name"]
            while stack and stack[-1][0] <= ts:
                close_one()
            stack.append([ts + dur, name, 0.0, ts, e.get("args", {}).get("device_us", 0.0), 0.0])
            calls[name] += 1
        while stack:
            close_one()
    total = sum(self_us.values())
    total_dev = sum(self_dev.values())
    key = self_dev if has_device else self_us
    head = f"{'operator':<44} {'calls':>7} {'self ms':>10} {'share':>7}"
    print(head + (f" {'device ms':>10} {'share':>7}" if has_device else ""))
    for name in sorted(key, key=lambda n: -key[n])[:top]:
        us = self_us[name]
        line = f"{name[:44]:<44} {calls[name]:>7} {us / 1000:>10.1f} {100 * us / total:>6.1f}%"
        if has_device:
            line += f" {self_dev[name] / 1000:>10.1f} {100 * self_dev[name] / max(total_dev, 1e-9):>6.1f}%"
        print(line)
    last = f"{'all operators':<44} {sum(calls.values()):>7} {total / 1000:>10.1f}"
    print(last + (f" {'':>7} {total_dev / 1000:>10.1f}" if has_device else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
