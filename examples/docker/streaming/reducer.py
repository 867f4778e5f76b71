#!/usr/bin/env python3
"""Word-count reducer: sums the counts of consecutive equal keys (the input is sorted by key)."""
import sys

current, total = None, 0
for line in sys.stdin:
    key, _, value = line.rstrip("\n").partition("\t")
    if key != current:
        if current is not None:
            sys.stdout.write(f"{current}\t{total}\n")
        current, total = key, 0
    total += int(value or 0)
if current is not None:
    sys.stdout.write(f"{current}\t{total}\n")
