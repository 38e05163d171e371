"""docs/c-api.md against include/bitnet.h: every public function, type and
constant of the header is named in a code span of the page, and every
bitnet_*/BITNET_* name the page uses exists in the header (so a renamed or
removed call cannot linger in the docs). Exit 0, or 1 listing what differs.

usage: c_api_docs.py include/bitnet.h docs/c-api.md"""
import re
import sys


def header_names(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    funcs = set(re.findall(r"BITNET_API\s+[^;(]*?\b(bitnet_\w+)\s*\(", text))
    types = set(re.findall(r"\btypedef\s+(?:struct|enum)\s+\w+\s*(?:\{[^}]*\})?\s*(bitnet_\w+)\s*;",
                           text, flags=re.S))
    types |= set(re.findall(r"\btypedef\s+\w+\s+(bitnet_\w+)\s*;", text))
    types |= set(re.findall(r"\btypedef\s+[^;]*\(\s*\*\s*(bitnet_\w+)\s*\)", text))
    consts = set(re.findall(r"^\s*(BITNET_[A-Z0-9_]+)\s*=", text, flags=re.M))
    consts |= set(re.findall(r"^#define\s+(BITNET_[A-Z0-9_]+)", text, flags=re.M))
    consts.discard("BITNET_H")
    return funcs, types, consts


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    header = open(sys.argv[1]).read()
    doc = open(sys.argv[2]).read()
    funcs, types, consts = header_names(header)
    if len(funcs) < 10:
        sys.exit("FAIL: found only %d functions in %s: the scan is broken" % (len(funcs), sys.argv[1]))
    spans = " ".join(re.findall(r"`([^`]+)`", doc)) + " " + " ".join(
        re.findall(r"```c\n(.*?)```", doc, flags=re.S))
    in_spans = set(re.findall(r"\b(?:bitnet|BITNET)_\w+", spans))
    failed = 0
    for kind, names in (("function", funcs), ("type", types), ("constant", consts)):
        for name in sorted(names - in_spans):
            print("FAIL: %s %s of bitnet.h is not in docs/c-api.md" % (kind, name))
            failed += 1
    known = funcs | types | consts
    # names the page uses: environment variables ($BITNET_ISA) are not API
    used = set(re.findall(r"(?<![$\w])((?:bitnet|BITNET)_\w+)", doc))
    for name in sorted(used - known):
        print("FAIL: docs/c-api.md names %s, which bitnet.h does not declare" % name)
        failed += 1
    print("%d functions, %d types, %d constants of bitnet.h; %d problems" %
          (len(funcs), len(types), len(consts), failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
