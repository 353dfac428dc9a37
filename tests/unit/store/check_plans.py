#!/usr/bin/env python3
"""Every SQL statement in the sources, planned by SQLite against the empty
schemas of the four roles: none may read a whole table (a SCAN, or an
automatic index built per query) unless a /* scan: why */ comment in it
says so, and each must prepare against at least one schema. The daemons
check the statements the integration tests reach (MEDREG_SQLITE_CHECKS,
src/store/sqlite.c); this covers the others. Without sqlite_stat1 a plan
depends on the schema only, so empty databases plan as full ones do.

usage: check_plans.py SRC-DIR DATABASE..."""
import glob
import re
import sqlite3
import sys

STATEMENT = re.compile(r'\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b')
LITERALS = re.compile(r'((?:"(?:[^"\\\n]|\\.)*"\s*)+)')


def statements(src):
    for path in sorted(glob.glob(src + '/src/**/*.c', recursive=True)):
        text = open(path, encoding='utf-8').read()
        for m in LITERALS.finditer(text):
            sql = ''.join(re.findall(r'"((?:[^"\\\n]|\\.)*)"', m.group(1)))
            if STATEMENT.match(sql):
                yield path[len(src) + 1:], text.count('\n', 0, m.start()) + 1, sql


def scans(plan):
    made = set()
    for row in plan:
        detail = row[3]
        if detail.startswith(('MATERIALIZE ', 'CO-ROUTINE ')):
            made.add(detail.split(' ', 1)[1])
        elif detail.startswith('SCAN ') and detail != 'SCAN CONSTANT ROW' and detail[5:] not in made:
            return detail
        elif 'AUTOMATIC' in detail:
            return detail
    return None


def main():
    src, dbs = sys.argv[1], [sqlite3.connect(f'file:{p}?mode=ro', uri=True) for p in sys.argv[2:]]
    checked = failed = 0
    for where, line, sql in statements(src):
        query = 'EXPLAIN QUERY PLAN ' + re.sub(r'\$(\d+)', r'?\1', sql)
        planned, errors = False, []
        for db in dbs:
            try:
                params = max((int(n) for n in re.findall(r'\$(\d+)', sql)), default=0)
                plan = db.execute(query, [None] * params).fetchall()
            except sqlite3.Error as e:
                errors.append(str(e))
                continue
            planned = True
            scan = scans(plan)
            if scan and '/* scan:' not in sql:
                print(f'FAIL {where}:{line}: reads a whole table ({scan}): {sql}')
                failed += 1
                break
        if not planned:
            print(f'FAIL {where}:{line}: prepares against no schema ({"; ".join(sorted(set(errors)))}): {sql}')
            failed += 1
        checked += 1
    print(f'{checked} statements planned, {failed} failed')
    return 1 if failed or checked < 50 else 0


if __name__ == '__main__':
    sys.exit(main())
