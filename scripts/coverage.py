#!/usr/bin/env python3
"""make coverage's host half: the guest's .gcda files, and the report on
the lines the series adds.

  coverage.py gcda DISK OBJTREE DEST
      DISK: the raw disk /init wrote (a cpio "newc" archive of
      /sys/kernel/debug/gcov, then zeros). Each .gcda is put in DEST under
      its path relative to OBJTREE (the coverage kernel's build directory),
      beside a copy of OBJTREE's .gcno of the same object: lcov then reads
      DEST, and the build directory is left as it is.

  coverage.py report --tree TREE --info LCOV.info --out DIR [options]
      The lines base..HEAD adds (git diff -U0, the final tree's line
      numbers), each attributed to the patch whose commit added it (git
      blame), intersected with lcov's line data: per file, per patch,
      overall for each profiled directory, and the blocks never executed
      (FILE:FIRST-LAST, the function), each matched with its reason in
      configs/coverage.conf. Writes DIR/report.txt, DIR/added.info (lcov
      data of the added lines only), DIR/report.md (the same tables in
      markdown: --doc puts them in docs/coverage.md, between its
      markers), and result lines (PASS/FAIL) to --results; prints a short
      summary.

configs/coverage.conf holds the target and the reasons (see that file).
"""
import argparse
import fnmatch
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conf as wbconf  # noqa: E402


# ---------------------------------------------------------------- cpio, gcda

class CpioError(Exception):
    pass


def cpio_members(data):
    """(name, mode, bytes) of each member of a cpio "newc" archive, up to
    its trailer; what follows the trailer (the disk's zeros) is ignored."""
    pos = 0
    out = []
    while True:
        hdr = data[pos:pos + 110]
        if len(hdr) < 110:
            raise CpioError(f"truncated header at offset {pos} (no trailer)")
        if hdr[:6] not in (b"070701", b"070702"):
            raise CpioError(f"bad magic {hdr[:6]!r} at offset {pos}")
        try:
            fields = [int(hdr[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        except ValueError as e:
            raise CpioError(f"bad header at offset {pos}") from e
        mode, size, namesize = fields[1], fields[6], fields[11]
        npos = pos + 110
        name = data[npos:npos + namesize - 1].decode("utf-8", "replace")
        dpos = npos + namesize
        dpos += (4 - dpos % 4) % 4
        if dpos + size > len(data):
            raise CpioError(f"member {name} runs past the end of the archive")
        if name == "TRAILER!!!":
            return out
        out.append((name, mode, data[dpos:dpos + size]))
        pos = dpos + size
        pos += (4 - pos % 4) % 4


def objtree_relpath(name, objtree):
    """Where a .gcda of the guest (its path under debugfs' gcov directory:
    the build directory's absolute path without its "/") belongs in
    OBJTREE: the longest tail of its path for which OBJTREE has the
    object's .gcno. A kernel built in another directory (ccache may serve
    objects compiled elsewhere) is matched all the same."""
    parts = name.strip("/").split("/")
    for k in range(len(parts)):
        rel = "/".join(parts[k:])
        if os.path.isfile(os.path.join(objtree, rel[:-len(".gcda")] + ".gcno")):
            return rel
    return None


def cmd_gcda(args):
    with open(args.disk, "rb") as f:
        data = f.read()
    try:
        members = cpio_members(data)
    except CpioError as e:
        print(f"ERROR: {args.disk}: {e}", file=sys.stderr)
        return 1
    placed, unmatched = 0, []
    for name, mode, body in members:
        if not name.endswith(".gcda") or (mode & 0o170000) != 0o100000:
            continue
        rel = objtree_relpath(name, args.objtree)
        if rel is None:
            unmatched.append(name)
            continue
        dst = os.path.join(args.dest, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "wb") as f:
            f.write(body)
        gcno = os.path.join(args.objtree, rel[:-len(".gcda")] + ".gcno")
        with open(gcno, "rb") as src, open(dst[:-len(".gcda")] + ".gcno", "wb") as f:
            f.write(src.read())
        placed += 1
    for name in unmatched:
        print(f"WARNING: {name}: no .gcno for it in {args.objtree}", file=sys.stderr)
    print(f"{placed} .gcda file(s) from the guest in {args.dest}"
          f"{f', {len(unmatched)} without a .gcno' if unmatched else ''}")
    return 0 if placed else 1


# ------------------------------------------------------------ added lines

HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def parse_diff(text):
    """{path: set of line numbers} of the lines a unified diff (-U0) adds,
    numbered in the new file."""
    added = {}
    path = None
    line = 0
    for raw in text.splitlines():
        if raw.startswith("+++ "):
            target = raw[4:].split("\t")[0]
            path = None if target == "/dev/null" else re.sub(r"^b/", "", target)
            if path is not None:
                added.setdefault(path, set())
            continue
        if raw.startswith("--- ") or raw.startswith("diff ") or path is None:
            continue
        m = HUNK_RE.match(raw)
        if m:
            line = int(m.group(1))
            continue
        if raw.startswith("+"):
            added[path].add(line)
            line += 1
        elif raw.startswith(" "):
            line += 1
    return {p: s for p, s in added.items() if s}


def parse_blame(text):
    """{final line: commit sha} from `git blame --incremental`; lines of a
    boundary commit (the base) map to None."""
    owner = {}
    groups = []
    boundary = set()
    current = None
    for raw in text.splitlines():
        m = re.match(r"^([0-9a-f]{40}) \d+ (\d+) (\d+)$", raw)
        if m:
            current = m.group(1)
            groups.append((current, int(m.group(2)), int(m.group(3))))
        elif raw == "boundary" and current:
            boundary.add(current)
    for sha, first, count in groups:
        for n in range(first, first + count):
            owner[n] = None if sha in boundary else sha
    return owner


def git(tree, *args):
    return subprocess.run(["git", "-C", tree, *args], check=True, text=True,
                          capture_output=True, errors="replace").stdout


def patches(tree, base):
    """[(sha, number, subject)] of base..HEAD, oldest first, numbered from 1
    as patches/ numbers them."""
    out = []
    for n, line in enumerate(git(tree, "log", "--reverse", "--format=%H %s",
                                 f"{base}..HEAD").splitlines(), 1):
        sha, _, subject = line.partition(" ")
        out.append((sha, n, subject))
    return out


# ------------------------------------------------------------------- lcov

def parse_info(text, tree):
    """lcov tracefile -> {path relative to TREE: {"lines": {line: count},
    "fns": {start line: name}}}. A source file's records (one per object
    that includes a header) are merged: counts add up."""
    files = {}
    cur = None
    root = os.path.realpath(tree) + "/"
    for raw in text.splitlines():
        if raw.startswith("SF:"):
            path = os.path.realpath(raw[3:])
            rel = path[len(root):] if path.startswith(root) else path
            cur = files.setdefault(rel, {"lines": {}, "fns": {}})
        elif cur is None:
            continue
        elif raw.startswith("DA:"):
            ln, cnt = raw[3:].split(",")[:2]
            ln = int(ln)
            cur["lines"][ln] = cur["lines"].get(ln, 0) + int(float(cnt))
        elif raw.startswith("FN:"):
            ln, name = raw[3:].split(",", 1)
            cur["fns"].setdefault(int(ln), name)
        elif raw == "end_of_record":
            cur = None
    return files


def function_at(fns, line):
    """The function whose definition starts last at or before LINE."""
    best = None
    for start in sorted(fns):
        if start > line:
            break
        best = fns[start]
    return best or "?"


def blocks_of(lines, added, fns):
    """The runs of added executable lines never executed:
    [(first, last, function, [lines])]. A run ends at an executed line
    (added or not) or where the function changes; lines of the base never
    executed do not end it."""
    out = []
    cur = None
    for ln in sorted(lines):
        if lines[ln] > 0:
            cur = None
            continue
        if ln not in added:
            continue
        fn = function_at(fns, ln)
        if cur and cur[2] == fn:
            cur[1] = ln
            cur[3].append(ln)
        else:
            cur = [ln, ln, fn, [ln]]
            out.append(cur)
    return [tuple(b) for b in out]


# ------------------------------------------------------------- coverage.conf

class Conf:
    def __init__(self):
        self.target = 85.0
        self.dirs = ["drivers/iommu"]
        self.testcode = []
        self.reasons = []       # (file glob, function glob, kind, kunit, text)


def load_conf(path):
    conf = Conf()
    for r in wbconf.records(path):
        words = [r.kind] + r.args
        kind = r.kind
        if kind == "target" and len(words) >= 3:
            conf.target = float(words[1])
            conf.dirs = words[2:]
        elif kind == "testcode" and len(words) >= 2:
            conf.testcode += words[1:]
        elif kind == "never" and len(words) >= 5:
            fglob, _, func = words[1].rpartition(":")
            conf.reasons.append((fglob or "*", func, words[2], words[3],
                                 " ".join(words[4:])))
        else:
            raise r.error("cannot read")
    return conf


def reason_for(conf, path, func):
    for fglob, funcglob, kind, kunit, text in conf.reasons:
        if fnmatch.fnmatchcase(path, fglob) and fnmatch.fnmatchcase(func, funcglob):
            return (fglob, funcglob, kind, kunit, text)
    return None


def in_dirs(path, dirs):
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


# ----------------------------------------------------------------- report

def pct(hit, total):
    return f"{100.0 * hit / total:5.1f}%" if total else "    -"


def collect(tree, base, info_files, blame_of=None):
    """The added lines of each source file, the patch that added each
    (blame), and lcov's data: {path: {"added": {line: sha}, "lines": ...,
    "fns": ...}} for files that have lcov data."""
    diff = git(tree, "diff", "-U0", "--no-renames", "--no-color", f"{base}..HEAD",
               "--", "*.c", "*.h")
    added = parse_diff(diff)
    out = {}
    for path, lines in added.items():
        data = info_files.get(path)
        if data is None:
            continue
        if blame_of is None:
            owner = parse_blame(git(tree, "blame", "--incremental", f"{base}..HEAD",
                                    "--", path))
        else:
            owner = blame_of(path)
        out[path] = {"added": {ln: owner.get(ln) for ln in lines},
                     "lines": data["lines"], "fns": data["fns"]}
    unmeasured = sorted(p for p in added if p not in info_files)
    return out, unmeasured


def report(tree, base, info_text, conf, blame_of=None, plist=None):
    """Everything the report says, as data."""
    files, unmeasured = collect(tree, base, parse_info(info_text, tree), blame_of)
    plist = patches(tree, base) if plist is None else plist
    num = {sha: (n, subj) for sha, n, subj in plist}
    per_file, per_patch, blocks = {}, {}, []
    for path in sorted(files):
        f = files[path]
        exe = [ln for ln in f["added"] if ln in f["lines"]]
        hit = [ln for ln in exe if f["lines"][ln] > 0]
        per_file[path] = (len(exe), len(hit))
        for ln in exe:
            key = num.get(f["added"][ln], (0, "(not attributed by git blame)"))
            t = per_patch.setdefault(key, {})
            e, h = t.get(path, (0, 0))
            t[path] = (e + 1, h + (f["lines"][ln] > 0))
        for first, last, fn, lns in blocks_of(f["lines"], set(f["added"]), f["fns"]):
            pnums = sorted({num.get(f["added"][ln], (0, ""))[0] for ln in lns})
            blocks.append({"file": path, "first": first, "last": last, "function": fn,
                           "lines": len(lns), "patches": pnums,
                           "reason": reason_for(conf, path, fn)})
    return {"files": files, "per_file": per_file, "per_patch": per_patch,
            "blocks": blocks, "unmeasured": unmeasured, "plist": plist}


def totals(per_file, dirs, exclude=()):
    exe = hit = 0
    for path, (e, h) in per_file.items():
        if in_dirs(path, dirs) and not any(fnmatch.fnmatchcase(path, g) for g in exclude):
            exe += e
            hit += h
    return exe, hit


def render(rep, conf):
    """(report text, markdown for docs/coverage.md, result lines, summary lines)"""
    dirs = conf.dirs
    text = []
    exe, hit = totals(rep["per_file"], dirs)
    dexe, dhit = totals(rep["per_file"], dirs, conf.testcode)
    dname = ", ".join(dirs)
    summary = [
        f"added lines executed in {dname}: {hit}/{exe} ({pct(hit, exe).strip()}); "
        f"without the test code ({', '.join(os.path.basename(t) for t in conf.testcode)}): "
        f"{dhit}/{dexe} ({pct(dhit, dexe).strip()}); target {conf.target:g}%",
    ]
    text.append("Lines the series adds (base..HEAD) that gcc counted as executable,")
    text.append("and how many the coverage boot executed.")
    text.append("")
    text.append(summary[0])
    text.append("")
    text.append("Per file:")
    text.append(f"    {'added':>6} {'run':>6} {'%':>6}  file")
    for path, (e, h) in sorted(rep["per_file"].items()):
        if e:
            mark = "" if in_dirs(path, dirs) else "  (outside " + dname + ")"
            text.append(f"    {e:6d} {h:6d} {pct(h, e)}  {path}{mark}")
    text.append("")
    text.append(f"Per patch (lines in {dname}; the patch whose commit added each line):")
    text.append(f"    {'added':>6} {'run':>6} {'%':>6}  patch")
    for (n, subj), t in sorted(rep["per_patch"].items()):
        e = sum(v[0] for p, v in t.items() if in_dirs(p, dirs))
        h = sum(v[1] for p, v in t.items() if in_dirs(p, dirs))
        if e:
            text.append(f"    {e:6d} {h:6d} {pct(h, e)}  {n:04d} {subj}")
    text.append("")
    blocks = rep["blocks"]
    text.append(f"Never executed: {len(blocks)} block(s), "
                f"{sum(b['lines'] for b in blocks)} line(s)")
    for b in blocks:
        r = b["reason"]
        why = f"[{r[2]}] {r[4]} (KUnit: {r[3]})" if r else "UNEXPLAINED: no entry in configs/coverage.conf"
        text.append(f"    {b['file']}:{b['first']}-{b['last']} {b['function']}() "
                    f"{b['lines']} line(s), patch {','.join(f'{p:04d}' for p in b['patches'])}: {why}")
    if rep["unmeasured"]:
        text.append("")
        text.append("Source files with added lines and no gcov data (not profiled or not built):")
        for p in rep["unmeasured"]:
            text.append(f"    {p}")
    used = {b["reason"][:2] for b in blocks if b["reason"]}
    stale = [r for r in conf.reasons if r[:2] not in used]
    if stale:
        text.append("")
        text.append("Reasons in configs/coverage.conf that no block needs now:")
        for r in stale:
            text.append(f"    {r[0]}:{r[1]}")

    md = [f"{summary[0].replace('drivers/iommu', '`drivers/iommu`')}.", "",
          "| file | added executable lines | executed | % |", "| --- | ---: | ---: | ---: |"]
    for path, (e, h) in sorted(rep["per_file"].items()):
        if e:
            md.append(f"| `{path}`{'' if in_dirs(path, dirs) else ' (outside)'} | {e} | {h} "
                      f"| {pct(h, e).strip()} |")
    md += ["", f"| patch | added executable lines in {dname} | executed | % |",
           "| --- | ---: | ---: | ---: |"]
    for (n, subj), t in sorted(rep["per_patch"].items()):
        e = sum(v[0] for p, v in t.items() if in_dirs(p, dirs))
        h = sum(v[1] for p, v in t.items() if in_dirs(p, dirs))
        if e:
            md.append(f"| {n:04d} {subj} | {e} | {h} | {pct(h, e).strip()} |")
    md += ["", f"Never executed: {len(blocks)} block(s), {sum(b['lines'] for b in blocks)} line(s), "
           "one row per function:",
           "", "| function | where (lines) | patch | why it does not run | KUnit cases on its logic |",
           "| --- | --- | --- | --- | --- |"]
    rows = {}
    for b in blocks:
        rows.setdefault((b["file"], b["function"]), []).append(b)
    for (path, fn), bs in rows.items():
        r = bs[0]["reason"]
        kunit = ", ".join(f"`{k}`" for k in r[3].split(",")) if r and r[3] != "-" else "-"
        why = f"{r[2]}: {r[4]}" if r else "**unexplained**"
        where = ", ".join(f"{b['first']}" + (f"-{b['last']}" if b["last"] != b["first"] else "")
                          for b in bs)
        pnums = sorted({p for b in bs for p in b["patches"]})
        md.append(f"| `{fn}` | `{path}:{where}` ({sum(b['lines'] for b in bs)}) "
                  f"| {', '.join(f'{p:04d}' for p in pnums)} | {why} | {kunit} |")

    results = []
    ok = dexe > 0 and 100.0 * dhit / dexe >= conf.target
    results.append(f"{'PASS' if ok else 'FAIL'} coverage:target -- {dhit}/{dexe} added lines of "
                   f"{dname} (test code aside) executed, {pct(dhit, dexe).strip()}, "
                   f"target {conf.target:g}%")
    results.append(f"INFO coverage:with-test-code {hit}/{exe} ({pct(hit, exe).strip()})")
    for b in blocks:
        name = f"coverage:never.{b['file']}:{b['first']}"
        if b["reason"]:
            results.append(f"PASS {name} -- {b['function']}: {b['reason'][2]}")
        else:
            results.append(f"FAIL {name} -- {b['function']}() never executed and "
                           f"configs/coverage.conf gives no reason")
    unexplained = [b for b in blocks if not b["reason"]]
    summary.append(f"never executed: {len(blocks)} block(s) of added lines, "
                   f"{len(unexplained)} without a reason in configs/coverage.conf")
    return "\n".join(text) + "\n", "\n".join(md) + "\n", results, summary


def added_info(rep):
    """lcov tracefile of the added lines only (genhtml can show it)."""
    out = []
    for path in sorted(rep["files"]):
        f = rep["files"][path]
        exe = sorted(ln for ln in f["added"] if ln in f["lines"])
        if not exe:
            continue
        out.append("TN:added")
        out.append(f"SF:{path}")
        for ln in exe:
            out.append(f"DA:{ln},{f['lines'][ln]}")
        out.append(f"LF:{len(exe)}")
        out.append(f"LH:{sum(1 for ln in exe if f['lines'][ln] > 0)}")
        out.append("end_of_record")
    return "\n".join(out) + "\n"


DOC_BEGIN = "<!-- generated by scripts/coverage.py: begin -->"
DOC_END = "<!-- generated by scripts/coverage.py: end -->"


def update_doc(path, md):
    """Replace the generated table between the markers of PATH."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    i, j = text.find(DOC_BEGIN), text.find(DOC_END)
    if i < 0 or j < i:
        raise ValueError(f"{path}: no '{DOC_BEGIN}' ... '{DOC_END}'")
    text = text[:i + len(DOC_BEGIN)] + "\n" + md + text[j:]
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def cmd_report(args):
    conf = load_conf(args.conf)
    if args.dirs:
        conf.dirs = args.dirs.split()
    with open(args.info, encoding="utf-8") as f:
        rep = report(args.tree, args.base, f.read(), conf)
    text, md, results, summary = render(rep, conf)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "report.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(args.out, "report.md"), "w", encoding="utf-8") as f:
        f.write(md)
    with open(os.path.join(args.out, "added.info"), "w", encoding="utf-8") as f:
        f.write(added_info(rep))
    if args.results:
        with open(args.results, "w", encoding="utf-8") as f:
            f.write("\n".join(results) + "\n")
    if args.doc:
        update_doc(args.doc, md)
    for line in summary:
        print(line)
    return 0


def main(argv):
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gcda")
    g.add_argument("disk")
    g.add_argument("objtree")
    g.add_argument("dest")
    r = sub.add_parser("report")
    r.add_argument("--tree", required=True)
    r.add_argument("--base", default="base")
    r.add_argument("--info", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--conf", default=os.path.join(top, "configs", "coverage.conf"))
    r.add_argument("--dirs", help="the profiled directories (default: coverage.conf's)")
    r.add_argument("--results", help="write PASS/FAIL lines here")
    r.add_argument("--doc", help="rewrite the block table of this markdown file")
    args = ap.parse_args(argv)
    return cmd_gcda(args) if args.cmd == "gcda" else cmd_report(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
