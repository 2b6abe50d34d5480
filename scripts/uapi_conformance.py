#!/usr/bin/env python3
"""uAPI conformance: the series' iommufd uAPI against upstream's.

Every symbol of the series' include/uapi/linux/iommufd.h (macros, enum
constants, structs with each field) must exist in upstream's header (from
Debian's linux-libc-dev) with the same value, the same struct size, and the
same offset and size for every field. A generated C program prints them all;
it is compiled once against each header, and the two outputs must be equal.
Symbols that upstream has and the series does not are listed, not checked:
they are calls this kernel does not implement.

Prints one "PASS|FAIL uapi:NAME [-- why]" line per symbol (scripts/results.py;
a struct's NAME is struct_NAME).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results  # noqa: E402

TYPES = r"(?:__u8|__u16|__u32|__u64|__s8|__s16|__s32|__s64|__aligned_u64|" \
        r"__aligned_le64|__le64|__le32)"
FIELD_RE = re.compile(r"^\s*" + TYPES + r"\s+(\w+)\s*(\[[^\]]*\])?\s*;")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def symbols(header):
    """The macros, enum constants and structs (with their fields) of a header."""
    with open(header, encoding="utf-8") as f:
        text = strip_comments(f.read())
    macros = []
    for m in re.finditer(r"^#define\s+(IOMMU\w*|IOMMUFD\w*)\s+\S", text, re.M):
        if m.group(1) not in ("IOMMUFD_TYPE",):
            macros.append(m.group(1))
    consts = []
    for body in re.findall(r"\benum\s*\w*\s*\{(.*?)\}", text, re.S):
        for item in body.split(","):
            name = item.split("=")[0].strip()
            if re.fullmatch(r"\w+", name):
                consts.append(name)
    structs = {}
    for m in re.finditer(r"^struct\s+(\w+)\s*\{", text, re.M):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        fields = []
        for line in text[m.end():i - 1].splitlines():
            fm = FIELD_RE.match(line)
            if fm:
                fields.append(fm.group(1))
        structs[m.group(1)] = fields
    return macros, consts, structs


def program(macros, consts, structs):
    """A C program printing "KIND NAME VALUE..." for every symbol."""
    out = ["#include <stddef.h>", "#include <stdio.h>",
           "#include <linux/iommufd.h>", "int main(void)", "{"]
    for name in macros + consts:
        out.append(f'\tprintf("const {name} %lld\\n", (long long)({name}));')
    for name, fields in structs.items():
        out.append(f'\tprintf("size {name} %zu\\n", sizeof(struct {name}));')
        for fld in fields:
            out.append(f'\tprintf("field {name}.{fld} %zu %zu\\n", '
                       f'offsetof(struct {name}, {fld}), '
                       f'sizeof(((struct {name} *)0)->{fld}));')
    out += ["\treturn 0;", "}"]
    return "\n".join(out) + "\n"


def build_and_run(src, incdir, tmp, tag, cc):
    exe = os.path.join(tmp, tag)
    res = subprocess.run([cc, "-std=gnu11", "-w", "-isystem", incdir, "-o", exe, src],
                         capture_output=True, text=True)
    if res.returncode:
        return None, res.stderr
    res = subprocess.run([exe], capture_output=True, text=True, check=True)
    return res.stdout, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True, help="installed uAPI include dir (usr/include)")
    ap.add_argument("--upstream", required=True, help="upstream include dir (usr/include)")
    ap.add_argument("--cc", default="gcc")
    args = ap.parse_args()

    ours = os.path.join(args.ours, "linux/iommufd.h")
    upstream = os.path.join(args.upstream, "linux/iommufd.h")
    macros, consts, structs = symbols(ours)
    up_macros, up_consts, up_structs = symbols(upstream)
    out = results.Writer("uapi")

    # A symbol of ours that upstream does not define is a private one
    missing = [n for n in macros if n not in up_macros] + \
              [n for n in consts if n not in up_consts] + \
              [f"struct {n}" for n in structs if n not in up_structs]
    missing += [f"struct {n}.{f}" for n, fl in structs.items()
                if n in up_structs for f in fl if f not in up_structs[n]]
    for n in missing:
        out.add("FAIL", n, "not in upstream's header")

    macros = [n for n in macros if n in up_macros]
    consts = [n for n in consts if n in up_consts]
    structs = {n: [f for f in fl if f in up_structs[n]]
               for n, fl in structs.items() if n in up_structs}

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "conform.c")
        with open(src, "w", encoding="utf-8") as f:
            f.write(program(macros, consts, structs))
        a, err_a = build_and_run(src, args.ours, tmp, "ours", args.cc)
        b, err_b = build_and_run(src, args.upstream, tmp, "upstream", args.cc)
    if a is None or b is None:
        out.add("FAIL", "compile", (err_a or err_b).strip()[:300])
        sys.stdout.write(out.text())
        return 1

    def keyed(output):
        return {" ".join(line.split()[:2]): line for line in output.splitlines()}

    mine, theirs = keyed(a), keyed(b)
    for key, line in mine.items():
        name = key.split()[1]
        if theirs.get(key) == line:
            out.add("PASS", name, line)
        else:
            out.add("FAIL", name, f"ours '{line}', upstream '{theirs.get(key)}'")

    only_upstream = sorted(set(up_macros + up_consts) - set(macros + consts))
    sys.stdout.write(out.text())
    print(f"# upstream symbols not implemented here: {len(only_upstream)}: "
          f"{' '.join(only_upstream)}", file=sys.stderr)
    return 1 if out.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
