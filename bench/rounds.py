#!/usr/bin/env python3
"""Times commands in interleaved rounds and prints medians and ratios.

    rounds.py RUNS PREPARE NAME=COMMAND [NAME=COMMAND ...]

Each round runs every command once, in an order rotated from round to round, each after
PREPARE (a shell command: empty the target root, sync). hyperfine runs all of one command's
runs before the next command's, which on a file system whose cost depends on what was
deleted in the last minute (this machine's root: ext4 without a journal skips inodes freed
less than 60 s ago, so a create right after an `rm -rf` of thousands of files can cost a
millisecond) hands each command a different history. Interleaving gives every command the
same one. The first command is the one the ratios are about; a command whose name contains
"floor" is reported as (first / floor) instead, and when there is a floor every other
command's time is also given as a multiple of it.
"""
import statistics
import subprocess
import sys
import time


def main():
    runs, prepare, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    cmds = [s.split("=", 1) for s in specs]
    times = {name: [] for name, _ in cmds}
    for r in range(runs + 1):  # round 0 is a warm-up and is not counted
        order = cmds[r % len(cmds):] + cmds[: r % len(cmds)]
        for name, cmd in order:
            subprocess.run(prepare, shell=True, check=True)
            start = time.perf_counter()
            done = subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            took = time.perf_counter() - start
            if done.returncode != 0:
                sys.exit(f"bench: {name} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
            if r > 0:
                times[name].append(took)
    first = cmds[0][0]
    med = {name: statistics.median(t) for name, t in times.items()}
    floor = next((name for name in times if "floor" in name), None)
    for name, t in times.items():
        spread = f"[{min(t):.3f} .. {max(t):.3f}]"
        if name == first:
            note = ""
        elif "floor" in name:
            note = f"  {first} / floor = {med[first] / med[name]:.2f}"
        else:
            note = f"  {first} is {med[name] / med[first]:.2f}x faster"
        if floor and name != floor:
            note += f"  ({med[name] / med[floor]:.2f}x floor)"
        print(f"  {name:<24} {med[name]:7.3f} s  {spread:<18}{note}")


if __name__ == "__main__":
    main()
