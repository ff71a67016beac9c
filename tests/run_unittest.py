#!/usr/bin/env python3
"""tests/run_unittest.py — runs a unittest script (tests/**/*_test.py) as
ctest's COMMAND so that skips are visible: exit 1 when a test failed, 77
(ctest SKIP_RETURN_CODE, "Skipped") when every test that ran passed but one
or more skipped themselves (no root, a package missing, ...), 0 only when
every test ran and passed. scripts/test.sh fails on any skipped test.

Usage: run_unittest.py SCRIPT [ARGS...] — SCRIPT runs as __main__ with its
own directory first on sys.path, exactly as `python3 SCRIPT ARGS...`; its
unittest.main(...) call is the one below.
"""
import os
import runpy
import sys
import unittest

SKIPPED = 77


class Program(unittest.TestProgram):
    def runTests(self):
        leave = self.exit
        self.exit = False
        super().runTests()
        result = self.result
        if not result.wasSuccessful():
            code = 1
        elif result.skipped:
            for test, why in result.skipped:
                print("SKIPPED: %s: %s" % (test.id(), why), file=sys.stderr)
            code = SKIPPED
        else:
            code = 0
        # A script that calls unittest.main(exit=False) decides its own exit
        # code, except that a skip must not end as a pass.
        if leave or code == SKIPPED:
            sys.exit(code)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    script = os.path.abspath(sys.argv[1])
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(script))
    unittest.main = Program
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
