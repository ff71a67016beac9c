#!/usr/bin/env python3
"""tests/run_unittest.py — runs a unittest script (tests/**/*_test.py) as
ctest's COMMAND so that skips are visible: exit 1 when a test failed, 77
(ctest SKIP_RETURN_CODE, "Skipped") when every test that ran passed but one
or more skipped themselves (no root, a package missing, ...), 0 only when
every test ran and passed. An exception in any thread a test started (an
assertion in a client thread) fails the run too. scripts/test.sh fails on
any skipped test.

Usage: run_unittest.py SCRIPT [ARGS...] — SCRIPT runs as __main__ with its
own directory first on sys.path, exactly as `python3 SCRIPT ARGS...`; its
unittest.main(...) call is the one below.
"""
import os
import runpy
import sys
import threading
import unittest

SKIPPED = 77


THREAD_ERRORS = []


def thread_failed(args):
    """An exception (an assertion, too) in a thread the test started fails
    the run, even where the test itself never looks."""
    THREAD_ERRORS.append("%s in thread %s" % (args.exc_type.__name__,
                                              args.thread.name if args.thread else "?"))
    threading.__excepthook__(args)


class Program(unittest.TestProgram):
    def runTests(self):
        leave = self.exit
        self.exit = False
        super().runTests()
        result = self.result
        if THREAD_ERRORS:
            print("FAILED: exceptions in threads: %s" % "; ".join(THREAD_ERRORS),
                  file=sys.stderr)
            code = 1
        elif not result.wasSuccessful():
            code = 1
        elif result.skipped:
            for test, why in result.skipped:
                print("SKIPPED: %s: %s" % (test.id(), why), file=sys.stderr)
            code = SKIPPED
        else:
            code = 0
        # A script that calls unittest.main(exit=False) decides its own exit
        # code, except that a skip or a thread's failure must not end as a pass.
        if leave or code != 0:
            sys.exit(code)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    script = os.path.abspath(sys.argv[1])
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(script))
    unittest.main = Program
    threading.excepthook = thread_failed
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
