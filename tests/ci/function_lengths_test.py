#!/usr/bin/env python3
"""tests/ci/function_lengths_test.py — scripts/function-lengths.py finds
functions over 80 lines (free, member, defined in a class body, with lambdas
inside) and files over 600 lines, ignores what is not a function, and the
tree passes it.

Usage: function_lengths_test.py SOURCE_DIR
"""
import os
import subprocess
import sys
import tempfile
import unittest

SOURCE_DIR = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else None
SCRIPT = os.path.join(SOURCE_DIR or "", "scripts", "function-lengths.py")


def body(n):
    return "".join(f"  x += {i};\n" for i in range(n))


def run(root):
    return subprocess.run([sys.executable, SCRIPT, "--root", root],
                          capture_output=True, text=True, timeout=60)


class FunctionLengths(unittest.TestCase):
    def tree(self, files):
        d = tempfile.mkdtemp(prefix="fnlen-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", d]))
        for rel, text in files.items():
            os.makedirs(os.path.join(d, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w") as f:
                f.write(text)
        return d

    def test_long_functions_of_every_kind_are_found(self):
        src = ("// lib/a.cc\nnamespace n {\nnamespace {\n"
               "int free_fn(int x) {\n" + body(78) + "  return x;\n}\n"      # 81 lines
               "}  // namespace\n"
               "class K : public Base {\n public:\n"
               "  int inline_member(int x) const noexcept {\n" + body(80) + "  return x;\n  }\n"
               "  struct Inner { int nested(int x) {\n" + body(80) + "  return x; } };\n"
               "};\n"
               "K::K(int a) : a_(a), b_{a} {\n" + body(80) + "}\n"
               "int with_lambda(int x) {\n  auto f = [&](int y) {\n" + body(79) +
               "    return y; };\n  return f(x);\n}\n"
               "}  // namespace n\n")
        r = run(self.tree({"lib/a.cc": src}))
        self.assertEqual(r.returncode, 1, r.stdout)
        for name in ("free_fn is 81 lines", "inline_member is 83", "nested is 82",
                     "K::K is 82", "with_lambda is 84"):
            self.assertIn(name, r.stdout)

    def test_short_functions_and_non_functions_pass(self):
        src = ("// lib/b.cc\n#include <x>\n"
               "const char* kText = R\"(\n" + "{\n" * 100 + ")\";\n"
               "/* int commented(int x) {\n" + body(90) + "} */\n"
               "enum class E {\n" + "".join(f"  k{i},\n" for i in range(90)) + "};\n"
               "const int kTable[] = {\n" + "".join(f"  {i},\n" for i in range(90)) + "};\n"
               "struct S {\n" + "".join(f"  int f{i}() {{ return {i}; }}\n" for i in range(90)) +
               "};\n"
               "int ok(int x) {\n  if (x) {\n" + body(70) + "  }\n  return x;\n}\n")
        r = run(self.tree({"lib/b.cc": src}))
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("91 functions read; 0 problem(s)", r.stdout)

    def test_long_files_are_found_and_tests_are_not_read(self):
        long_file = "// lib/c.h\n" + "int v;\n" * 600
        long_fn = "int f() {\n" + body(200) + "}\n"
        r = run(self.tree({"lib/c.h": long_file, "tests/t.cc": long_fn,
                           "build-fuzz/gen.cc": long_fn, "out/CMakeCache.txt": "",
                           "out/gen.cc": long_fn, "lib/d.cc": "int g() { return 1; }\n"}))
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("lib/c.h: 601 lines (file over 600)", r.stdout)
        for not_read in ("tests/t.cc", "build-fuzz/gen.cc", "out/gen.cc"):
            self.assertNotIn(not_read, r.stdout)

    def test_the_tree_passes(self):
        r = run(SOURCE_DIR)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
