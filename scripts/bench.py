#!/usr/bin/env python3
"""make bench, the host's half: turn what nest_bench printed in the guest and
what QEMU's SMMUv3 traced into a table, a CSV and a chart, and check the
counts (never the timings, which are only shown as ratios).

Each measurement in the guest sits between two markers: a stage-2 page
mapped and unmapped at MARK_IPA + K * 4K, which QEMU traces as a TLBI_S2_IPA
of that address (followed by the nest parent's TLBI_NH_ALL and a CMD_SYNC).
The commands QEMU consumed after marker K's CMD_SYNC and before marker
K + 1's TLBI_S2_IPA are measurement K's, counted without the driver's help.
"""
import argparse
import csv
import math
import os
import re
import subprocess
import sys

from parse import STAMP_RE

MARK_IPA = 0x10000000
BATCH = 64  # the driver's command batch (CMDQ_BATCH_ENTRIES)
OP_RE = re.compile(r"smmuv3_cmdq_opcode <--- (\S+)")
RANGE_RE = re.compile(
    r"smmuv3_range_inval vmid=(-?\d+) asid=(-?\d+) addr=0x([0-9a-f]+) tg=(\d+) "
    r"num_pages=0x([0-9a-f]+) ttl=(\d+) leaf=(\d+) stage=(\d+)")
ERR_RE = re.compile(r"smmuv3_cmdq_consume_error|Error on .* command execution")
# Transition -> the KUnit case that proves it hitless
KUNIT = {
    "s2_to_nested": "arm_smmu_v3_write_ste_test_s2_to_nested",
    "nested_to_s2": "arm_smmu_v3_write_ste_test_nested_to_s2",
    "s2_to_nested_again": "arm_smmu_v3_write_ste_test_s2_to_nested",
    "nested_to_abort": "arm_smmu_v3_write_ste_test_nested_to_abort",
    "abort_to_nested": "arm_smmu_v3_write_ste_test_abort_to_nested",
    "cdtab_change": "arm_smmu_v3_write_ste_test_nested_cdtab_change",
}


def ril_commands(pages):
    """TLBI commands the range encoding needs for @pages: NUM has 5 bits,
    so one per 5-bit run of the count above its lowest set bit."""
    n = 0
    while pages:
        scale = (pages & -pages).bit_length() - 1
        num = (pages >> scale) & 31
        pages -= num << scale
        n += 1
    return n


def parse_trace(path):
    """{marker: {"ops": [opcode...], "pages": stage-1 pages covered}}, and
    the command-queue errors QEMU reported."""
    segs, errors = {}, []
    cur, skip, ops = None, False, []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if ERR_RE.search(line):
                errors.append(line.strip())
            m = RANGE_RE.search(line)
            if m and int(m.group(8)) == 2:
                addr = int(m.group(3), 16)
                if MARK_IPA <= addr < MARK_IPA + 0x1000 * 4096:
                    if ops and ops[-1] == "SMMU_CMD_TLBI_S2_IPA":
                        ops.pop()
                    cur = (addr - MARK_IPA) // 0x1000
                    segs[cur] = {"ops": [], "pages": 0}
                    ops, skip = segs[cur]["ops"], True
                    continue
            if m and cur is not None and int(m.group(8)) == 1:
                segs[cur]["pages"] += int(m.group(5), 16)
                continue
            m = OP_RE.search(line)
            if not m or cur is None:
                continue
            if skip:
                skip = m.group(1) != "SMMU_CMD_SYNC"
                continue
            ops.append(m.group(1))
    return segs, errors


def kunit_syncs(src, case):
    """The sync count a KUnit case expects, read from its source."""
    with open(src, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"static void %s\(struct kunit \*test\)\n\{(.*?)\n\}" % case, text, re.S)
    if not m:
        return None
    m = re.search(r"NUM_EXPECTED_SYNCS\((\d+)\)", m.group(1))
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--kunit-src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--results", required=True)
    args = ap.parse_args()

    with open(args.log, encoding="utf-8", errors="replace") as f:
        lines = [STAMP_RE.sub("", l.rstrip("\r\n")) for l in f]
    marks, counts, times = {}, [], {}
    for l in lines:
        m = re.match(r"bench: mark (\d+) (\S+)", l)
        if m:
            marks[m.group(2)] = int(m.group(1))
        m = re.match(r"bench: count (\S+) (.*)", l)
        if m:
            row = {"name": m.group(1)}
            for kv in m.group(2).split():
                k, v = kv.split("=")
                row[k] = v if k == "kind" else int(v)
            counts.append(row)
        m = re.match(r"bench: time (\S+) calls=(\d+) ns=(\d+)", l)
        if m:
            times[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    kunit_ok = {m.group(1) for l in lines
                for m in [re.match(r"\s+ok \d+ (\S+)", l)] if m}

    res = []

    def check(ok, name, why=""):
        res.append(f"{'PASS' if ok else 'FAIL'} bench:{name}" + (f" -- {why}" if why and not ok else ""))

    if not counts:
        check(False, "ran", "no 'bench: count' line in the guest log")
        with open(args.results, "w") as f:
            f.write("\n".join(res) + "\n")
        return 1
    segs, errors = parse_trace(args.trace)
    check(not errors, "no_cmdq_error", errors[0] if errors else "")

    rows = []
    for c in counts:
        seg = segs.get(marks.get(c["name"], -1))
        if seg is None:
            check(False, f"{c['name']}.traced", "no marker in QEMU's trace")
            continue
        ops = seg["ops"]
        r = dict(c)
        r["syncs"] = ops.count("SMMU_CMD_SYNC")
        r["cmds"] = len(ops) - r["syncs"]
        r["tlbi"] = sum(o.startswith("SMMU_CMD_TLBI") for o in ops)
        r["ste_writes"] = ops.count("SMMU_CMD_CFGI_STE")
        r["covered"] = seg["pages"]
        r["ops"] = " ".join(o.replace("SMMU_CMD_", "") for o in ops)
        check(r["cmds"] == c["kcmds"] and r["syncs"] == c["ksyncs"],
              f"{c['name']}.trace_is_driver",
              f"QEMU consumed {r['cmds']} + {r['syncs']} syncs, the driver issued "
              f"{c['kcmds']} + {c['ksyncs']}")
        if c["kind"] == "range":
            r["ril"] = ril_commands(c["pages"])
            r["per_page"] = c["pages"]
            pow2 = c["pages"] & (c["pages"] - 1) == 0
            check(r["tlbi"] <= r["ril"] and (not pow2 or r["tlbi"] == 1) and
                  r["syncs"] == 1 and r["covered"] >= c["pages"],
                  f"{c['name']}.commands",
                  f"{r['tlbi']} TLBI (encoding needs {r['ril']}), {r['syncs']} syncs, "
                  f"{r['covered']} of {c['pages']} pages covered")
        elif c["kind"] == "batch":
            r["ril"] = c["entries"]
            r["per_page"] = c["entries"]
            check(r["cmds"] == c["entries"] and
                  r["syncs"] <= math.ceil(r["cmds"] / BATCH),
                  f"{c['name']}.commands",
                  f"{r['cmds']} commands and {r['syncs']} syncs for {c['entries']} entries")
        elif c["kind"] == "type":
            check(r["cmds"] == 1 and r["syncs"] == 1, f"{c['name']}.commands",
                  f"{r['ops']}")
        elif c["kind"] == "transition":
            case = KUNIT.get(c["name"])
            want = kunit_syncs(args.kunit_src, case) if case else None
            r["kunit_case"], r["kunit_syncs"] = case, want
            # Each STE write of the hitless writer is CFGI_STE + CMD_SYNC
            check(want is not None and case in kunit_ok and r["ste_writes"] == want,
                  f"{c['name']}.hitless",
                  f"{r['ste_writes']} STE writes in QEMU's trace; KUnit {case} "
                  f"expects {want} syncs and {'passed' if case in kunit_ok else 'did not pass'}")
        rows.append(r)

    os.makedirs(args.out, exist_ok=True)
    fields = ["name", "kind", "pages", "granules", "entries", "tlbi", "cmds", "syncs",
              "kcmds", "ksyncs", "calls", "ril", "per_page", "ste_writes", "kunit_syncs", "ops"]
    with open(os.path.join(args.out, "bench.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        for k, (calls, ns) in times.items():
            f.write(f"time_{k},time,,,,,,,,,{calls},,,,,{ns} ns per call\n")

    out = []
    out.append("Guest invalidations (one IOMMU_HWPT_INVALIDATE call, 1 entry; QEMU's trace, = the driver's count):")
    out.append(f"  {'request':<16} {'4K pages':>9} {'TLBI':>5} {'syncs':>5} {'encoding':>8} {'1/page':>8}  commands")
    for r in rows:
        if r["kind"] in ("range", "type"):
            out.append(f"  {r['name']:<16} {r.get('pages', 0):>9} {r['tlbi']:>5} {r['syncs']:>5} "
                       f"{r.get('ril', ''):>8} {r.get('per_page', ''):>8}  {r['ops']}")
    out.append("Batches of one-page entries in one call:")
    out.append(f"  {'entries':>8} {'syscalls':>8} {'driver calls':>12} {'commands':>8} {'syncs':>5} {'cmds/sync':>9}")
    for r in rows:
        if r["kind"] == "batch":
            out.append(f"  {r['entries']:>8} {1:>8} {r['calls']:>12} {r['cmds']:>8} {r['syncs']:>5} "
                       f"{r['cmds'] / max(r['syncs'], 1):>9.1f}")
    out.append("STE transitions (IOMMU_HWPT_SET_PASID_TABLE):")
    out.append(f"  {'transition':<20} {'STE writes':>10} {'syncs':>5} {'KUnit syncs':>11}  commands")
    for r in rows:
        if r["kind"] == "transition":
            out.append(f"  {r['name']:<20} {r['ste_writes']:>10} {r['syncs']:>5} "
                       f"{str(r['kunit_syncs']):>11}  {r['ops']}")
    if "trivial" in times:
        base = times["trivial"][1]
        out.append("ioctl cost, as a ratio to IOMMU_OPTION (get) in the same run "
                   f"({times['trivial'][0]} calls each, interleaved):")
        for k in ("inv_1", "inv_64"):
            if k in times:
                out.append(f"  {k:<8} {times[k][1] / base:6.1f}x")
        if "inv_1" in times and "inv_64" in times:
            out.append(f"  one entry of a 64-entry batch costs {times['inv_64'][1] / 64 / times['inv_1'][1]:.2f}x "
                       "a one-entry call")
    text = "\n".join(out)
    print(text)
    with open(os.path.join(args.out, "bench.txt"), "w") as f:
        f.write(text + "\n")

    # The chart: commands per request, with range invalidation and per page
    dat = os.path.join(args.out, "bench.dat")
    with open(dat, "w") as f:
        for r in rows:
            if r["kind"] == "range":
                f.write(f"{r['name']} {r['cmds'] + r['syncs']} {r['per_page'] + 1}\n")
    gp = f"""set terminal pngcairo size 900,480 noenhanced
set output '{os.path.join(args.out, "bench.png")}'
set title 'Commands per guest invalidation (TLBI + CMD_SYNC), QEMU SMMUv3 trace'
set style data histograms
set style fill solid 0.8 border -1
set logscale y
set yrange [0.8:5e6]
set ylabel 'commands'
set xtics rotate by -30
set key top left horizontal
plot '{dat}' using 2:xtic(1) title 'driver, range invalidation', '' using 3 title 'one TLBI per page + sync'
"""
    try:
        subprocess.run(["gnuplot"], input=gp, text=True, check=True)
        check(True, "chart")
    except (OSError, subprocess.CalledProcessError) as e:
        check(False, "chart", f"gnuplot: {e}")

    with open(args.results, "w") as f:
        f.write("\n".join(res) + "\n")
    return 1 if any(l.startswith("FAIL") for l in res) else 0


if __name__ == "__main__":
    sys.exit(main())
