#!/usr/bin/env python3
"""Print every SQL statement literal of the C sources under SRC/src, one a
line as "file:line<TAB>statement" (adjacent string literals joined), for
tests/unit/store/sqlite_plans.c.

usage: extract_sql.py SRC"""
import glob
import re
import sys

# a keyword and more: a bare "DELETE" is an HTTP method
STATEMENT = re.compile(r'\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\s+\S')
LITERALS = re.compile(r'((?:"(?:[^"\\\n]|\\.)*"\s*)+)')

src = sys.argv[1]
for path in sorted(glob.glob(src + '/src/**/*.c', recursive=True)):
    text = open(path, encoding='utf-8').read()
    for m in LITERALS.finditer(text):
        sql = ''.join(re.findall(r'"((?:[^"\\\n]|\\.)*)"', m.group(1)))
        if STATEMENT.match(sql):
            print(f'{path[len(src) + 1:]}:{text.count(chr(10), 0, m.start()) + 1}\t{sql}')
