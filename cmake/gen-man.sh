#!/usr/bin/env bash
# Man pages from the tools' own --help (help2man), so a page never says what
# --help does not: bitnet.1, bitnet-CMD.1 for each subcommand `bitnet --help`
# lists, and bitnet-validate.1.
# usage: gen-man.sh HELP2MAN BITNET BITNET_VALIDATE OUT_DIR
set -euo pipefail
help2man=$1 bitnet=$2 validate=$3 out=$4
mkdir -p "$out/wrap"
rm -f "$out"/*.1
version=$("$bitnet" --version | awk '{print $2}')

# help2man names the page after the program it runs: a wrapper named
# bitnet-CMD runs `bitnet CMD`.
wrap() {
  printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$2" "$3" > "$out/wrap/$1"
  chmod +x "$out/wrap/$1"
}

# help2man fills paragraphs and reads "cmd   # note" as an option and its
# description: the EXAMPLES section is written here instead, one command a
# line in no-fill mode, from the "examples:" lines of --help. And the first
# "usage:" line (it names `bitnet CMD`, not the wrapper help2man ran)
# becomes the SYNOPSIS.
examples() { # the --help text's example lines as roff
  awk '/^examples:$/ {s = 1; next} s && /^  / {sub(/^  /, ""); print; next} s {exit}' |
    sed 's/\\/\\e/g; s/-/\\-/g; s/^[.'"'"']/\\\&&/'
}

fix() { # PAGE EXAMPLES-FILE
  awk -v exfile="$2" '
    /^\.SH DESCRIPTION$/ && !syn { syn = 1; getline u
      if (u ~ /^usage: /) { sub(/^usage: /, "", u); print ".SH SYNOPSIS"; print u; print; next }
      print; print u; next }
    /^\.SS "examples:"$/ { skip = 1; next }
    skip && /^\.SH/ { skip = 0 }
    !skip { print }
    END {
      n = 0
      while ((getline line < exfile) > 0) { if (!n++) { print ".SH EXAMPLES"; print ".nf" } print line }
      if (n) print ".fi"
    }' "$1" > "$1.tmp"
  mv "$1.tmp" "$1"
}

page() { # NAME DESCRIPTION
  "$help2man" --no-info --no-discard-stderr --version-string="$version" -n "$2" \
    -o "$out/$1.1" "$out/wrap/$1"
  "$out/wrap/$1" --help | examples > "$out/wrap/$1.examples"
  fix "$out/$1.1" "$out/wrap/$1.examples"
}

wrap bitnet "$bitnet" ""
page bitnet "ternary (BitNet b1.58) language-model inference on the CPU"
# the subcommand table: "  NAME  DESCRIPTION" lines under "commands:"
"$bitnet" --help | awk '/^commands:$/ {s = 1; next} s && /^  / {print; next} s {exit}' |
  while read -r name desc; do
    wrap "bitnet-$name" "$bitnet" "$name"
    page "bitnet-$name" "$desc"
  done
wrap bitnet-validate "$validate" ""
page bitnet-validate "compare libbitnet with its Python reference, transformers and bitnet.cpp"
rm -rf "$out/wrap"
