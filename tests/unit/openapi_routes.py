#!/usr/bin/env python3
"""Every route the services serve (the route tables in SRC/src/service) is in
SRC/docs/openapi.yaml with its method, and every path there is served: the
API document stays honest about what exists.

usage: openapi_routes.py SRC"""
import glob
import re
import sys

src = sys.argv[1]
documented = set()
path = None
for line in open(src + '/docs/openapi.yaml', encoding='utf-8'):
    m = re.match(r'^  (/\S*):\s*$', line)
    if m:
        path = re.sub(r'\{[^}]+\}', '*', m.group(1))
        continue
    m = re.match(r'^    (get|post|put|delete|patch):', line)
    if m and path:
        documented.add((m.group(1).upper(), path))
    elif re.match(r'^\S', line):
        path = None

served = set()
for f in sorted(glob.glob(src + '/src/service/routes_*.c')):
    for m in re.finditer(r'\{"(GET|POST|PUT|DELETE|PATCH)", "(/[^"]*)", \w+, "\w+"\}', open(f, encoding='utf-8').read()):
        served.add((m.group(1), m.group(2).replace('/**', '/*')))

bad = 0
for method, p in sorted(served - documented):
    print(f'FAIL served but not in docs/openapi.yaml: {method} {p}')
    bad += 1
for method, p in sorted(documented - served):
    print(f'FAIL in docs/openapi.yaml but not served: {method} {p}')
    bad += 1
print(f'{len(served)} routes served, {len(documented)} documented, {bad} differences')
sys.exit(1 if bad or len(served) < 30 else 0)
