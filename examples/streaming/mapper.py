#!/usr/bin/env python3
"""Hadoop Streaming wordcount mapper: one `word<TAB>1` line per word on stdin.

Written for a plain Unix pipe (`mapper.py | sort | reducer.py`); kubemr runs it unchanged.
A word is a maximal run of letters, as in the wordcount app.
"""
import re
import sys

WORD = re.compile(r"[^\W\d_]+")

def main():
    out = sys.stdout
    for line in sys.stdin:
        for word in WORD.findall(line):
            out.write(word + "\t1\n")

if __name__ == "__main__":
    main()
