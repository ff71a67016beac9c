#!/usr/bin/env python3
"""scripts/function-lengths.py — functions over 80 lines and files over 600
lines in the project's own C++ sources (not tests/, fuzz/ or build/).

A function is measured from the first line of its declaration to its closing
brace, lambdas and local classes included in their enclosing function. Member
functions defined inside class bodies count like free functions. The scan
strips comments, string and character literals (raw strings too), then walks
braces: a `{` at namespace or class scope whose head (the text since the last
`;`, `{` or `}`) has a parameter list and is not a namespace, class, enum or
initializer opens a function body.

Usage: function-lengths.py [--root DIR] [--max-function N] [--max-file N]
Exit 1 when anything is over a limit and not in ALLOWED_* below; the ctest
`ci_function_lengths` runs it. Also exit 1 when an allow-list entry is stale
(no longer over the limit), so the lists only ever shrink.
"""
import argparse
import os
import re
import sys

# tests/ and fuzz/ (the fuzz targets' checks) are test code; bench/ is measured.
SOURCE_DIRS_SKIPPED = {"tests", "fuzz", "build", ".git", "debian", "node_modules"}
EXTENSIONS = (".cc", ".h", ".cpp", ".hpp")

# Functions over the limit in files another engineer was changing when the
# check landed (issue 17): they are split after those branches merge. Each
# entry is "path:function" as this script prints it, mapped to who owns it.
ALLOWED_FUNCTIONS = {
}

# Files over the limit, likewise.
ALLOWED_FILES = {
}

_RAW_STRING = re.compile(r'R"([^()\\ ]{0,16})\(')
_SCOPE_WORDS = re.compile(r"\b(namespace|class|struct|union)\b")
_NO_FUNCTION_WORDS = re.compile(r"\b(enum|typedef|using)\b")
_CONTROL = re.compile(r"\b(if|for|while|switch|catch|return)\s*$")


def strip(text):
    """Comments and literals blanked (newlines kept, so line numbers hold)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and _RAW_STRING.match(text, i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_") or text[i - 1] in "uU8L"):
            m = _RAW_STRING.match(text, i)
            end = text.find(")" + m.group(1) + '"', m.end())
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:j]))
            i = j
        elif c == '"' or (c == "'" and not (i > 0 and text[i - 1].isalnum())):
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching(code, open_at):
    """Index of the brace closing the one at open_at."""
    depth = 0
    for k in range(open_at, len(code)):
        if code[k] == "{":
            depth += 1
        elif code[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return len(code) - 1


def head_kind(head):
    """'scope', 'function' or 'other' for the text before a `{`."""
    h = " ".join(head.split())
    h = re.sub(r"^(public|private|protected)\s*:\s*", "", h)
    if not h:
        return "other"
    if h.startswith("extern") and h.rstrip().endswith('""'):
        return "scope"
    if _NO_FUNCTION_WORDS.search(h.split("(")[0]):
        return "other"
    if "(" not in h:
        return "scope" if _SCOPE_WORDS.search(h) else "other"
    before_paren = h.split("(")[0]
    if _SCOPE_WORDS.search(before_paren) and not before_paren.rstrip().endswith("operator"):
        return "scope"  # e.g. struct X : Base<f(1)>
    if "=" in before_paren.replace("operator=", "").replace("==", "").replace("<=", "").replace(">=", ""):
        return "other"  # an initializer (a lambda bound to a name counts as its own function below)
    if _CONTROL.search(before_paren):
        return "other"
    return "function"


def name_of(head):
    h = " ".join(head.split())
    m = re.search(r"((?:[\w~]+::)*(?:operator\s*[^\s(]+|[\w~]+))\s*\(", h)
    return m.group(1) if m else h[:40]


def functions(text):
    """(name, first line, last line) of every function at namespace/class scope."""
    code = strip(text)
    found = []

    def walk(start, end):
        head_start = start
        k = start
        while k < end:
            c = code[k]
            if c in ";}":
                head_start = k + 1
            elif c == ":" and re.match(r"\s*(public|private|protected)\s*$", code[head_start:k]):
                head_start = k + 1
            elif c == "{":
                close = matching(code, k)
                head = code[head_start:k]
                kind = head_kind(head)
                # A constructor's member initializer `x_{...}`: keep reading the head.
                if kind == "function" and re.search(r"\)\s*[^;{}]*:\s*[^;{}]*[\w>]\s*$", head) and \
                        re.search(r"[\w>]\s*$", head):
                    k = close + 1
                    continue
                if kind == "scope":
                    walk(k + 1, close)
                elif kind == "function":
                    lead = len(head) - len(head.lstrip())
                    first = code.count("\n", 0, head_start + lead) + 1
                    last = code.count("\n", 0, close) + 1
                    found.append((name_of(head), first, last))
                k = close
                head_start = close + 1
            k += 1

    walk(0, len(code))
    return found


def skipped_dir(folder, name):
    """Tests, build trees (build*/, obj-*/, any folder with a CMakeCache.txt), hidden folders."""
    return (name in SOURCE_DIRS_SKIPPED or name.startswith((".", "build", "obj-")) or
            os.path.exists(os.path.join(folder, name, "CMakeCache.txt")))


def sources(root):
    for top in sorted(os.listdir(root)):
        if skipped_dir(root, top) or not os.path.isdir(os.path.join(root, top)):
            continue
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(d for d in dirs if not skipped_dir(folder, d))
            for f in sorted(files):
                if f.endswith(EXTENSIONS):
                    path = os.path.join(folder, f)
                    yield os.path.relpath(path, root), path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--max-function", type=int, default=80)
    ap.add_argument("--max-file", type=int, default=600)
    ap.add_argument("--all", action="store_true", help="list allowed ones too")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    bad, allowed_hit, count = [], set(), 0
    for rel, path in sources(root):
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        if lines > args.max_file:
            if rel in ALLOWED_FILES:
                allowed_hit.add(rel)
            if rel not in ALLOWED_FILES or args.all:
                bad.append(f"{rel}: {lines} lines (file over {args.max_file})")
        for name, first, last in functions(text):
            count += 1
            length = last - first + 1
            if length <= args.max_function:
                continue
            key = f"{rel}:{name}"
            if key in ALLOWED_FUNCTIONS:
                allowed_hit.add(key)
            if key not in ALLOWED_FUNCTIONS or args.all:
                bad.append(f"{rel}:{first}: {name} is {length} lines (over {args.max_function})")
    listed = set(ALLOWED_FUNCTIONS) | set(ALLOWED_FILES)
    stale = sorted(k for k in listed - allowed_hit
                   if os.path.exists(os.path.join(root, k.split(":")[0])))
    for s in stale:
        bad.append(f"{s}: on an allow-list but no longer over the limit: remove it from the list")
    for line in bad:
        print(line)
    print(f"{count} functions read; {len(bad)} problem(s); "
          f"{len(allowed_hit)} allowed for now (see ALLOWED_* in {os.path.basename(__file__)})")
    if count == 0:
        print("no functions found: wrong --root?")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
