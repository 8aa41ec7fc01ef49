#!/usr/bin/env python3
"""Runs a command and succeeds only when it exits with the given code.

    expect-exit.py CODE COMMAND [ARGS...]

The command's output passes through, so FileCheck can read it. lit's `not`
accepts any nonzero code; jikji-run promises 2 for bad input and 1 for other
failures, and never a signal, which this checks.
"""
import subprocess
import sys

expected = int(sys.argv[1])
code = subprocess.call(sys.argv[2:])
if code < 0:
    sys.stderr.write("expect-exit: killed by signal %d\n" % -code)
    sys.exit(1)
if code != expected:
    sys.stderr.write("expect-exit: exit code %d, expected %d\n" % (code, expected))
    sys.exit(1)
