#!/usr/bin/env python3
"""Word-count mapper: one `word<TAB>1` line per word of the input lines on stdin."""
import re
import sys

for line in sys.stdin:
    for word in re.findall(r"[A-Za-z]+", line):
        sys.stdout.write(f"{word}\t1\n")
