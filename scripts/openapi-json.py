"""Writes openapi.yaml as JSON, so the Swift tests can read the contract with Foundation alone.

Usage: openapi-json.py SPEC.yaml OUT.json   (run with the test venv's Python, which has PyYAML)
"""
import json
import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as source:
    document = yaml.safe_load(source)
with open(sys.argv[2], "w", encoding="utf-8") as target:
    json.dump(document, target, sort_keys=True)
