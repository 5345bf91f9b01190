#!/usr/bin/env python3
"""pathkeeper.yaml(5) documents every key the configuration loader knows, and
says each key's default as the example file writes it.

Usage: documents-config.py PAGE CONFIG_LOADER_CPP EXAMPLE_YAML

- Keys: the string literals of the loader's key tables (kTopKeys,
  kTimingKeys, ..., kRuleKeys in daemon/config/config_loader.cpp). A
  top-level key is a section of the page (.SH key); every other key appears
  in bold.
- Defaults: every "key: value" line of the example file under a section
  (the example writes each default) has a bold term line "key: ... default
  value" in the page.
"""
import re
import sys

page_path, loader_path, example_path = sys.argv[1:4]
# \& (a zero-width break scdoc puts after periods) is not text.
page = open(page_path, encoding='utf-8').read().replace('\\&', '')
loader = open(loader_path, encoding='utf-8').read()
problems = []

tables = dict(re.findall(r'std::array<std::string_view,\s*\d+>\s+(k\w+Keys)\s*\{(.*?)\};', loader, re.S))
if 'kTopKeys' not in tables or len(tables) < 5:
    sys.exit(f'FAIL: cannot find the key tables in {loader_path} (found {sorted(tables)})')
sections = set(re.findall(r'^\.SH (.+)$', page, re.M))
bold = re.findall(r'\\fB(.*?)\\fR', page)
bold_words = set()
for b in bold:
    bold_words.update(re.findall(r'[A-Za-z_][A-Za-z0-9_-]*', b))

keys = 0
for table, body in sorted(tables.items()):
    for key in re.findall(r'"([^"]+)"', body):
        keys += 1
        if table == 'kTopKeys':
            if key not in sections:
                problems.append(f'section "{key}" ({table}) has no .SH {key} in the page')
        elif key not in bold_words:
            problems.append(f'key "{key}" ({table}) is not in the page')

# Defaults as the example writes them: "section:" then "  key: value  # ...".
defaults = 0
section = None
for line in open(example_path, encoding='utf-8'):
    if re.match(r'^[a-z_]+:\s*$', line):
        section = line.split(':')[0]
        continue
    m = re.match(r'^  ([a-z_]+):\s*(\S.*?)\s*(#.*)?$', line)
    if not m or section is None:
        continue
    key, value = m.group(1), m.group(2)
    defaults += 1
    # The term line: \fBkey\fR: ... default \fBvalue\fR (or \fI for a path)
    term = re.compile(r'^\\fB' + re.escape(key) + r'\\fR:.*default \\f[BI]' + re.escape(value) + r'\\fR', re.M)
    if not term.search(page):
        problems.append(f'{section}.{key}: no term line saying "default {value}"')

if problems:
    for p in problems:
        print('FAIL:', p)
    sys.exit(1)
print(f'{page_path}: {keys} keys of the loader documented, {defaults} defaults of the example stated')
