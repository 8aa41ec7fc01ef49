#!/usr/bin/env python3
# ===- make-config.py - Derive a config.json from another ------------------===#
#
# Part of Jikji, a compiler for DeepSeek models.
#
# ===-----------------------------------------------------------------------===#
"""Writes a copy of a config.json with some fields changed or removed.

Tests use it to derive each malformed configuration from a real one, so that
a test states only the one thing it breaks:

  make-config.py deepseek-v3.json --set n_group=7 -o bad.json
  make-config.py deepseek-v3.json --set rope_scaling.factor=0.5 \\
      --delete rope_scaling.original_max_position_embeddings -o bad.json

FIELD may be dotted to reach into nested objects (missing ones are created).
VALUE is JSON: --set scoring_func='"relu"' sets a string, --set q_lora_rank=null
sets null. Changes apply in the order given. Python 3 standard library only.
"""

import argparse
import json
import sys


def walk_to_parent(config, field, create):
    """Returns the object that holds the last part of a dotted FIELD."""
    parts = field.split(".")
    node = config
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if not isinstance(child, dict):
            if not create:
                sys.exit(
                    "make-config.py: cannot delete '%s': '%s' is not an object"
                    % (field, ".".join(parts[: depth + 1]))
                )
            child = {}
            node[part] = child
        node = child
    return node, parts[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the config.json to start from")
    parser.add_argument(
        "--set",
        dest="changes",
        action="append",
        default=[],
        type=lambda text: ("set", text),
        metavar="FIELD=JSON",
        help="set FIELD (dotted for nested objects) to the JSON value",
    )
    parser.add_argument(
        "--delete",
        dest="changes",
        action="append",
        type=lambda text: ("delete", text),
        metavar="FIELD",
        help="remove FIELD (dotted for nested objects)",
    )
    parser.add_argument("-o", dest="output", required=True, help="where to write")
    args = parser.parse_args()

    with open(args.base, encoding="utf-8") as f:
        config = json.load(f)

    for action, text in args.changes:
        if action == "set":
            field, sep, value_text = text.partition("=")
            if not sep or not field:
                sys.exit("make-config.py: --set expects FIELD=JSON, got '%s'" % text)
            try:
                value = json.loads(value_text)
            except ValueError as error:
                sys.exit(
                    "make-config.py: --set %s: the value is not JSON (%s); "
                    "quote strings, e.g. --set %s='\"%s\"'"
                    % (field, error, field, value_text)
                )
            parent, key = walk_to_parent(config, field, create=True)
            parent[key] = value
        else:
            parent, key = walk_to_parent(config, text, create=False)
            if key not in parent:
                sys.exit("make-config.py: cannot delete '%s': no such field" % text)
            del parent[key]

    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
