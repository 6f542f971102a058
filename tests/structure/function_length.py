#!/usr/bin/env python3
"""No function in daemon/ is longer than 80 lines, counted from the first line of
its signature to its closing brace (a lambda counts toward the function it is
written in).

Functions that were longer when the rule came in are listed, with their length
then, in function_length_allowlist.txt: such a function may shrink but not grow,
and once it fits it must leave the list, so the list only gets shorter.

Prints each function that breaks the rule and exits 1 when there is one.
With --all, prints every function over the limit (allowed or not) and exits 0.

The parser is a brace counter over the source with comments, strings and
preprocessor lines blanked out; it knows namespaces, classes and functions,
which is all the code of daemon/ needs. It is not a C++ parser."""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ALLOWLIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "function_length_allowlist.txt")
LIMIT = 80

CLASS_HEAD = re.compile(r"\b(class|struct|union|enum)\b[^()]*$")
NAMESPACE_HEAD = re.compile(r"^(inline\s+)?namespace\b|^extern\s*$")
# The name a function is declared under: the (qualified) identifier or operator
# just before the parameter list.
NAME = re.compile(r"((?:[A-Za-z_~][\w]*::)*(?:operator\s*[^\s(]+|~?[A-Za-z_]\w*))\s*$")
# What may stand between a parameter list and a function body.
AFTER_PARAMS = re.compile(r"\)\s*(?:const\b|noexcept\b(?:\s*\([^)]*\))?|override\b|final\b|mutable\b|&&?|"
                          r"->\s*[\w:<>,\s*&]+|\s)*$")
CONTROL = re.compile(r"\b(if|for|while|switch|catch)\s*\($")


def blank(text):
    """`text` with comments, string and character literals and preprocessor
    lines replaced by spaces (newlines kept, so line numbers hold)."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#":
            # A preprocessor line, with its continuations.
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        if c == "\n":
            line_start = True
            out.append(c)
            i += 1
            continue
        if not c.isspace():
            line_start = False
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                out.append(" ")
                i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
            continue
        m = re.match(r'R"([^(\s]*)\(', text[i:i + 20])
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            close = ")" + m.group(1) + '"'
            end = text.find(close, i + len(m.group(0)))
            end = n if end < 0 else end + len(close)
            out.append('"' + re.sub(r"[^\n]", " ", text[i + 1:end - 1]) + '"')
            i = end
            continue
        if c in "\"'":
            # A digit separator (1'000'000) is not a character literal.
            if c == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n and text[i + 1].isalnum():
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def strip_parens(s):
    """`s` with the insides of balanced (...) removed, for finding the name."""
    depth = 0
    out = []
    for ch in s:
        if ch == "(":
            if depth == 0:
                out.append("(")
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
            if depth == 0:
                out.append(")")
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def function_name(statement):
    """The name of the function whose signature is `statement`, or None."""
    flat = strip_parens(" ".join(statement.split()))
    # The mem-initializer list of a constructor starts at the first ") :".
    m = re.search(r"\)\s*:(?!:)", flat)
    if m:
        flat = flat[:m.start() + 1]
    if not re.search(r"\)\s*(?:const|noexcept|override|final|mutable|&|->|\s)*", flat):
        return None
    if "(" not in flat:
        return None
    m = NAME.search(flat[:flat.index("(")])
    return m.group(1).replace(" ", "") if m else None


def is_function_body(statement):
    s = statement.rstrip()
    if not s or "(" not in s:
        return False
    if CONTROL.search(strip_parens(s)):
        return False
    flat = strip_parens(" ".join(s.split()))
    if "=" in flat.split("(")[0] and not re.search(r"\boperator\b", flat):
        return False  # An initializer (a lambda or a table at namespace scope).
    if AFTER_PARAMS.search(flat):
        return True
    # A constructor whose mem-initializer list ends in a brace initializer.
    return bool(re.search(r"\)\s*:(?!:)", flat)) and flat.endswith("}")


def functions(path):
    """(name, first line, last line) of each function defined in `path`."""
    with open(path, encoding="utf-8") as f:
        text = blank(f.read())
    found = []
    # The scopes open at declaration level: ("ns"|"class"|"other", class name).
    scopes = []
    statement = []  # Characters of the declaration being read, with offsets.
    statement_line = None
    line = 1
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            if statement:
                statement.append(" ")
            i += 1
            continue
        if c == ";":
            statement, statement_line = [], None
            i += 1
            continue
        if c == "}":
            if scopes:
                kind, _ = scopes.pop()
                if kind == "other":
                    # A brace initializer inside a declaration: the declaration goes on.
                    statement.append("}")
                    i += 1
                    continue
            statement, statement_line = [], None
            i += 1
            continue
        if c == "{":
            head = "".join(statement).strip()
            if NAMESPACE_HEAD.search(head) or head.startswith("namespace"):
                scopes.append(("ns", None))
                statement, statement_line = [], None
            elif CLASS_HEAD.search(strip_parens(head)) and not is_function_body(head):
                m = re.search(r"\b(?:class|struct|union)\s+(?:\w+\s+)*?([A-Za-z_]\w*)\s*(?:final\b)?\s*(?::[^{]*)?$",
                              head)
                scopes.append(("class", m.group(1) if m else None))
                statement, statement_line = [], None
            elif is_function_body(head) and function_name(head):
                name = function_name(head)
                classes = [s[1] for s in scopes if s[0] == "class" and s[1]]
                if classes and "::" not in name:
                    name = "::".join(classes) + "::" + name
                # Skip the body: count braces until it closes.
                depth = 0
                start = statement_line or line
                while i < n:
                    ch = text[i]
                    if ch == "\n":
                        line += 1
                    elif ch == "{":
                        depth += 1
                    elif ch == "}":
                        depth -= 1
                        if depth == 0:
                            break
                    i += 1
                found.append((name, start, line))
                statement, statement_line = [], None
            else:
                scopes.append(("other", None))
                statement.append("{")
            i += 1
            continue
        if not c.isspace() and statement_line is None:
            statement_line = line
        statement.append(c)
        i += 1
    return found


def daemon_sources():
    for dirpath, _, names in os.walk(os.path.join(ROOT, "daemon")):
        for name in sorted(names):
            if name.endswith((".h", ".cc")):
                yield os.path.relpath(os.path.join(dirpath, name), ROOT)


def read_allowlist():
    allowed = {}
    with open(ALLOWLIST, encoding="utf-8") as f:
        for raw in f:
            entry = raw.split("#", 1)[0].split()
            if entry:
                allowed[entry[0]] = int(entry[1])
    return allowed


def main():
    show_all = "--all" in sys.argv[1:]
    allowed = read_allowlist()
    broken = []
    seen = set()
    for path in sorted(daemon_sources()):
        for name, first, last in functions(os.path.join(ROOT, path)):
            length = last - first + 1
            key = "%s:%s" % (path, name)
            if length <= LIMIT:
                continue
            seen.add(key)
            if show_all:
                print("%s %d%s" % (key, length, "" if key in allowed else "  (not allowed)"))
            elif key not in allowed:
                broken.append("%s:%d: %s is %d lines (at most %d)" % (path, first, name, length, LIMIT))
            elif length > allowed[key]:
                broken.append("%s:%d: %s grew to %d lines (allowed %d while it is split; at most %d)"
                              % (path, first, name, length, allowed[key], LIMIT))
    if show_all:
        return 0
    for key in sorted(set(allowed) - seen):
        broken.append("%s is at most %d lines now (or gone): remove it from %s"
                      % (key, LIMIT, os.path.relpath(ALLOWLIST, ROOT)))
    for b in broken:
        print(b)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
