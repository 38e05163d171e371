#!/usr/bin/env bash
# The man pages (cmake/man.cmake): one per tool and subcommand, each renders
# without a groff warning, has NAME, SYNOPSIS and EXAMPLES with the same
# example lines as --help, and `cmake --install` puts them in share/man/man1.
# usage: man_pages.sh BUILD_DIR MAN_DIR   (MAN_DIR empty: not generated)
set -euo pipefail
build=$1 mandir=$2
if [ -z "$mandir" ]; then
  echo "SKIPPED: help2man was not found at configure time, so no man pages were made (ci/install-deps.sh)"
  exit 77
fi
command -v groff >/dev/null || { echo "SKIPPED: groff is not installed (groff-base)"; exit 77; }
bitnet=$build/bin/bitnet
fail=0
pages=(bitnet bitnet-validate)
for c in $("$bitnet" --help | awk '/^commands:$/ {s = 1; next} s && /^  / {print $1; next} s {exit}'); do
  pages+=("bitnet-$c")
done
tmp=$(mktemp -d "$build/man-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for p in "${pages[@]}"; do
  f=$mandir/$p.1
  if [ ! -f "$f" ]; then echo "FAIL: $f missing"; fail=1; continue; fi
  warn=$(groff -man -Tutf8 -ww -z "$f" 2>&1 || echo "groff exit $?")
  if [ -n "$warn" ]; then echo "FAIL: $p.1: $warn"; fail=1; fi
  if command -v man >/dev/null; then
    text=$(MANWIDTH=200 man -l "$f" 2>&1)
  else
    text=$(groff -man -Tutf8 -P-c -rLL=200n "$f" 2>&1)
  fi
  # the rendered text without overstrike or escape sequences
  text=$(printf '%s\n' "$text" | sed 's/.\x08//g; s/\x1b\[[0-9;]*m//g')
  for sec in NAME SYNOPSIS DESCRIPTION; do
    grep -q "^$sec\$" <<<"$text" || { echo "FAIL: $p.1 has no $sec section"; fail=1; }
  done
  [ "$p" = bitnet ] && continue # the command list: no examples of its own
  grep -q "^EXAMPLES\$" <<<"$text" || { echo "FAIL: $p.1 has no EXAMPLES section"; fail=1; }
  argv=("$bitnet" "${p#bitnet-}")
  [ "$p" = bitnet-validate ] && argv=("$build/bin/bitnet-validate")
  while IFS= read -r ex; do
    grep -qxF "       $ex" <<<"$text" || { echo "FAIL: $p.1 lacks the example line: $ex"; fail=1; }
  done < <("${argv[@]}" --help | awk '/^examples:$/ {s = 1; next} s && /^  / {sub(/^  /, ""); print; next} s {exit}')
  echo "ok: $p.1"
done
cmake --install "$build" --prefix "$tmp/prefix" --component tools >/dev/null
for p in "${pages[@]}"; do
  [ -f "$tmp/prefix/share/man/man1/$p.1" ] || { echo "FAIL: cmake --install did not install share/man/man1/$p.1"; fail=1; }
done
[ $fail = 0 ] && echo "ok: ${#pages[@]} pages installed under share/man/man1"
exit $fail
