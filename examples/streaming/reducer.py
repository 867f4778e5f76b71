#!/usr/bin/env python3
"""Hadoop Streaming wordcount reducer: sums the counts of consecutive equal keys.

Its input is sorted by key, so all lines of one word arrive together.
"""
import sys

def main():
    out = sys.stdout
    current = None
    total = 0
    for line in sys.stdin:
        key, _, value = line.rstrip("\n").partition("\t")
        if key != current:
            if current is not None:
                out.write(f"{current}\t{total}\n")
            current = key
            total = 0
        total += int(value or 1)
    if current is not None:
        out.write(f"{current}\t{total}\n")

if __name__ == "__main__":
    main()
