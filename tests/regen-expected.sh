#!/bin/sh
# Regenerate the expected output of every Lisp test file with SBCL, the
# oracle: tests/lisp/{core,cl,mp}/NAME.lisp -> NAME.out (stdout of
# `sbcl --script`, run from an empty temporary directory like the suite).
# Usage: tests/regen-expected.sh [FILE.lisp ...]
set -eu
cd "$(dirname "$0")/.."
command -v sbcl >/dev/null || { echo "sbcl not found (apt-get install -y sbcl)" >&2; exit 1; }
[ $# -gt 0 ] || set -- tests/lisp/core/*.lisp tests/lisp/cl/*.lisp tests/lisp/mp/*.lisp
for f in "$@"; do
    [ -f "$f" ] || continue
    abs=$(cd "$(dirname "$f")" && pwd)/$(basename "$f")
    work=$(mktemp -d)
    (cd "$work" && sbcl --script "$abs" > "${abs%.lisp}.out" 2>/dev/null) || true
    rm -rf "$work"
    echo "$f: $(grep -c ' => ' "${abs%.lisp}.out" || true) checks"
done
