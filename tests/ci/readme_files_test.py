#!/usr/bin/env python3
"""tests/ci/readme_files_test.py — folder documentation matches the folder.

A folder README.md with a `| file | owns |` table must name exactly the
source files (*.h, *.cc, *.in) of its folder: no file missing from the table,
no row for a file that does not exist. Cells name files in backticks; `x.h/.cc`
means x.h and x.cc. Every top-level folder with a CMakeLists.txt must start it
with its header comment (`# <folder>/ — what it owns`), which says what the
folder owns and may call when it has no README table.

Usage: readme_files_test.py SOURCE_DIR
"""
import os
import re
import sys

SOURCE_SUFFIXES = (".h", ".cc", ".in")


def names_in_cell(cell):
    names = set()
    for token in re.findall(r"`([^`]+)`", cell):
        m = re.fullmatch(r"([\w.]+)\.h/\.cc", token)
        if m:
            names.update({m.group(1) + ".h", m.group(1) + ".cc"})
        elif token.endswith(SOURCE_SUFFIXES) and "/" not in token:
            names.add(token)
    return names


def table_files(readme_text):
    """The file names of the `| file | owns |` table, or None without one."""
    lines = readme_text.splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(r"\|\s*file\s*\|\s*owns\s*\|", line.strip()):
            names = set()
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                names |= names_in_cell(row.split("|")[1])
            return names
    return None


def check(root):
    problems = []
    for folder in sorted(os.listdir(root)):
        path = os.path.join(root, folder)
        if folder.startswith(".") or folder == "build" or not os.path.isdir(path):
            continue
        cmake = os.path.join(path, "CMakeLists.txt")
        if os.path.exists(cmake):
            with open(cmake, encoding="utf-8") as f:
                first = f.readline()
            if not first.startswith("# %s/ — " % folder):
                problems.append("%s: does not start with '# %s/ — <what it owns>'" % (cmake, folder))
        readme = os.path.join(path, "README.md")
        if not os.path.exists(readme):
            continue
        with open(readme, encoding="utf-8") as f:
            listed = table_files(f.read())
        if listed is None:
            continue
        present = {n for n in os.listdir(path) if n.endswith(SOURCE_SUFFIXES)}
        for name in sorted(present - listed):
            problems.append("%s: %s is not in the file table" % (readme, name))
        for name in sorted(listed - present):
            problems.append("%s: lists %s, which is not in %s/" % (readme, name, folder))
    return problems


def self_test():
    text = "| file | owns |\n|---|---|\n| `a.h/.cc` | x |\n| `b.h`, `c.cc` | `x/y.h` y |\nafter\n"
    assert table_files(text) == {"a.h", "a.cc", "b.h", "c.cc"}, table_files(text)
    assert table_files("no table\n") is None


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    self_test()
    problems = check(sys.argv[1])
    for p in problems:
        print("error: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
