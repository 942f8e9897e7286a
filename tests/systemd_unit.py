#!/usr/bin/env python3
"""Reads a systemd unit file's Environment= lines the way systemd does, for
the tests of `sockpolicy systemd`: an oracle written from systemd.syntax(7)
("Quoting") and systemd's extract_first_word(EXTRACT_UNQUOTE |
EXTRACT_CUNESCAPE) followed by specifier expansion (systemd.unit(5)), not
from sockpolicy's code.

    systemd_unit.py FILE   prints {"NAME": "VALUE", ...} as JSON; exits 1 on
                           a line systemd would ignore, naming it.
"""
import json
import sys

SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
          "v": "\v", "\\": "\\", '"': '"', "'": "'", "s": " "}


class Refused(Exception):
    pass


def cunescape_one(s, i):
    """The escape after the backslash at s[i-1]: (text, next index)."""
    if i >= len(s):
        raise Refused("backslash at the end")
    c = s[i]
    if c in SIMPLE:
        return SIMPLE[c], i + 1
    if c == "x":
        h = s[i + 1:i + 3]
        if len(h) == 2 and all(ch in "0123456789abcdefABCDEF" for ch in h):
            v = int(h, 16)
            if v == 0:
                raise Refused("\\x00")
            return chr(v), i + 3
        raise Refused("bad \\x escape")
    if c in "uU":
        n = 4 if c == "u" else 8
        h = s[i + 1:i + 1 + n]
        if len(h) == n and all(ch in "0123456789abcdefABCDEF" for ch in h):
            return chr(int(h, 16)), i + 1 + n
        raise Refused("bad \\u escape")
    if c in "01234567":
        o = s[i:i + 3]
        if len(o) == 3 and all(ch in "01234567" for ch in o) and int(o, 8) != 0:
            return chr(int(o, 8)), i + 3
        raise Refused("bad octal escape")
    raise Refused("unknown escape \\" + c)


def words(s):
    """systemd's extract_first_word loop with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE."""
    out, i, n = [], 0, len(s)
    while True:
        while i < n and s[i] in " \t\n\r":
            i += 1
        if i >= n:
            return out
        w, quote = [], None
        while i < n:
            c = s[i]
            if quote is None and c in " \t\n\r":
                break
            if c == "\\":
                t, i = cunescape_one(s, i + 1)
                w.append(t)
                continue
            if quote is not None and c == quote:
                quote = None
            elif quote is None and c in "\"'":
                quote = c
            else:
                w.append(c)
            i += 1
        if quote is not None:
            raise Refused("unbalanced quotes")
        out.append("".join(w))


def specifiers(w):
    """Only %% is safe to expand without a unit; any other specifier would
    change the value, which is what the test must catch."""
    r, i = [], 0
    while i < len(w):
        if w[i] == "%":
            if w[i + 1:i + 2] != "%":
                raise Refused("specifier %" + w[i + 1:i + 2] + " would be expanded")
            r.append("%")
            i += 2
        else:
            r.append(w[i])
            i += 1
    return "".join(r)


def main():
    env, section, pending = {}, None, ""
    text = open(sys.argv[1], encoding="utf-8").read()
    for lineno, raw in enumerate(text.split("\n"), 1):
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line, pending = (pending + raw).strip(), ""
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        key, _, value = line.partition("=")
        if section != "[Service]":
            raise SystemExit("line %d: outside [Service]" % lineno)
        if key.strip() != "Environment":
            continue
        try:
            for w in words(value):
                w = specifiers(w)
                name, eq, val = w.partition("=")
                if not eq or not name:
                    raise Refused("not an assignment: %r" % w)
                env[name] = val
        except Refused as e:
            print("line %d: %s" % (lineno, e), file=sys.stderr)
            sys.exit(1)
    json.dump(env, sys.stdout)


main()
