#!/usr/bin/env python3
"""org.pathkeeper.PathKeeper1(5) documents every property and method that the
D-Bus service registers (SD_BUS_PROPERTY / SD_BUS_METHOD* in its source).

Usage: documents-dbus.py PAGE DBUS_SERVICE_CPP
Exit 77 (skipped) while the service's source does not exist.
"""
import os
import re
import sys

page_path, source_path = sys.argv[1:3]
if not os.path.exists(source_path):
    print(f'{source_path} does not exist yet: nothing to compare')
    sys.exit(77)
page = open(page_path, encoding='utf-8').read()
source = open(source_path, encoding='utf-8').read()
members = re.findall(r'SD_BUS_(PROPERTY|METHOD\w*|SIGNAL\w*)\(\s*"(\w+)"', source)
if not members:
    sys.exit(f'FAIL: no SD_BUS_PROPERTY or SD_BUS_METHOD in {source_path}')
bold = set(re.findall(r'\\fB(\w+)\\fR', page))
missing = [f'{kind.lower()} {name}' for kind, name in members if name not in bold]
if missing:
    for m in missing:
        print('FAIL: not documented:', m)
    sys.exit(1)
print(f'{page_path}: all {len(members)} members of {os.path.basename(source_path)} documented')
