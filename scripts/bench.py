#!/usr/bin/env python3
"""make bench, the host's half: turn what nest_bench printed in the guest and
what QEMU's SMMUv3 traced into a table, a CSV and a chart, and check the
commands (never the timings, which are only shown as ratios).

Each measurement in the guest sits between two markers: a stage-2 page
mapped and unmapped at MARK_IPA + K * 4K, which QEMU traces as a TLBI_S2_IPA
of that address (followed by the nest parent's TLBI_NH_ALL and a CMD_SYNC).
The commands QEMU consumed after marker K's CMD_SYNC and before marker
K + 1's TLBI_S2_IPA are measurement K's, taken without the driver's help.
The marker's TLBI_S2_IPA also gives the nest parent's VMID.

What each measurement asked for is in MEASUREMENTS, the host's own table
(the guest prints its request too, and must agree with it); from it the
commands the SMMU must have consumed are derived: opcode, address and
range, ASID, VMID, stream ID, and a CMD_SYNC after them.

The checks are tables of functions: RUN_CHECKS for the whole run, and
MEASUREMENT_CHECKS for each measurement (NAME.CHECK); each returns why it
failed, or None. Their results go to --results as "PASS|FAIL bench:NAME
[-- why]" lines (scripts/results.py).
"""
import argparse
import collections
import csv
import math
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results  # noqa: E402
import protocol  # noqa: E402

MARK_IPA = 0x10000000
# Guest commands per driver call (iommufd's chunk); each call ends with one
# CMD_SYNC, and the driver's batch holds a whole chunk.
CHUNK = 64
GUEST_ASID = 1
INV_IOVA = 0x40000000
SZ_4K = 0x1000
# Above this many pages a guest range is invalidated by its ASID instead
RANGE_MAX_PAGES = 1 << 32

OP_RE = re.compile(r"smmuv3_cmdq_opcode <--- (\S+)")
RANGE_RE = re.compile(
    r"smmuv3_range_inval vmid=(-?\d+) asid=(-?\d+) addr=0x([0-9a-f]+) tg=(\d+) "
    r"num_pages=0x([0-9a-f]+) ttl=(\d+) leaf=(\d+) stage=(\d+)")
ASID_VMID_RE = re.compile(r"smmu_iotlb_inv_asid_vmid IOTLB invalidate asid=(-?\d+) vmid=(-?\d+)")
NH_RE = re.compile(r"smmuv3_cmdq_tlbi_nh vmid=(-?\d+)")
CFGI_CD_RE = re.compile(r"smmuv3_cmdq_cfgi_cd sid=0x([0-9a-f]+)")
ERR_RE = re.compile(r"smmuv3_cmdq_consume_error|Error on .* command execution")
# nest_bench's timing of one kind of call: its name, calls, ns per call
TIME_RE = re.compile(r"bench: time (\S+) calls=(\d+) ns=(\d+)")


def _range(pages, addr=INV_IOVA):
    return {"kind": "range", "asid": GUEST_ASID, "addr": addr, "pages": pages}


# name -> what the guest asked for. Transitions name the KUnit case that
# proves them hitless.
MEASUREMENTS = {
    "s2_to_nested": {"kind": "transition", "kunit": "arm_smmu_v3_write_ste_test_s2_to_nested"},
    "nested_to_s2": {"kind": "transition", "kunit": "arm_smmu_v3_write_ste_test_s2_to_nested"},
    "s2_to_nested_again": {"kind": "transition",
                           "kunit": "arm_smmu_v3_write_ste_test_s2_to_nested"},
    "nested_to_abort": {"kind": "transition", "kunit": "arm_smmu_v3_write_ste_test_nested_to_abort"},
    "abort_to_nested": {"kind": "transition", "kunit": "arm_smmu_v3_write_ste_test_nested_to_abort"},
    "cdtab_change": {"kind": "transition", "kunit": "arm_smmu_v3_write_ste_test_nested_change"},
    "va_1": {"kind": "va", "asid": GUEST_ASID, "addr": INV_IOVA, "pages": 1},
    "vaa_1": {"kind": "vaa", "asid": 0, "addr": INV_IOVA, "pages": 1},
    "pages_1": _range(1),
    "pages_3": _range(3),
    "pages_16": _range(16),
    "pages_31": _range(31),
    "pages_96": _range(96),
    "pages_512": _range(512),
    "pages_992": _range(992),
    "pages_262144": _range(262144),
    "pages_2p36": _range(1 << 36, 0),
    "blocks_2M_1": _range(512),
    "blocks_2M_16": _range(16 * 512),
    "blocks_2M_512": _range(512 * 512),
    "asid": {"kind": "asid", "asid": GUEST_ASID},
    "all": {"kind": "all"},
    "nsnh_all": {"kind": "all"},
    "cd": {"kind": "cd"},
    "cd_all": {"kind": "cd_all"},
    "atc": {"kind": "atc"},
    "batch_1": {"kind": "batch", "asid": GUEST_ASID, "addr": INV_IOVA, "entries": 1},
    "batch_8": {"kind": "batch", "asid": GUEST_ASID, "addr": INV_IOVA, "entries": 8},
    "batch_64": {"kind": "batch", "asid": GUEST_ASID, "addr": INV_IOVA, "entries": 64},
    "batch_512": {"kind": "batch", "asid": GUEST_ASID, "addr": INV_IOVA, "entries": 512},
    # NH_VA, NH_ASID, CFGI_CD, NH_VAA, NSNH_ALL, CFGI_CD_ALL, ATC_INV, NH_ALL
    "batch_mixed": {"kind": "mixed", "entries": 8,
                    "ops": ["TLBI_NH_VA", "TLBI_NH_ASID", "CFGI_CD", "TLBI_NH_VAA",
                            "TLBI_NH_ALL", "CFGI_CD_ALL", "TLBI_NH_ALL", "SYNC"]},
}
TIMINGS = ("trivial", "inv_1", "inv_64")


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
    """{marker: {"vmid": the nest parent's VMID, "ops": [op...]}}, each op
    {"op": opcode without SMMU_CMD_, "ranges": [(vmid, asid, addr, tg, pages)],
    "asid_vmid": (asid, vmid), "vmid": NH_ALL's VMID, "sid": CFGI_CD's},
    and the command-queue errors QEMU reported."""
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
                    if ops and ops[-1]["op"] == "TLBI_S2_IPA":
                        ops.pop()
                    cur = (addr - MARK_IPA) // 0x1000
                    segs[cur] = {"ops": [], "vmid": int(m.group(1))}
                    ops, skip = segs[cur]["ops"], True
                    continue
            m = OP_RE.search(line)
            if m:
                if skip:
                    skip = m.group(1) != "SMMU_CMD_SYNC"
                    continue
                ops.append({"op": m.group(1).replace("SMMU_CMD_", ""), "ranges": [],
                            "asid_vmid": None, "vmid": None, "sid": None})
                continue
            if skip or not ops:
                continue
            op = ops[-1]
            if m := RANGE_RE.search(line):
                op["ranges"].append((int(m.group(1)), int(m.group(2)), int(m.group(3), 16),
                                     int(m.group(4)), int(m.group(5), 16)))
            elif m := ASID_VMID_RE.search(line):
                op["asid_vmid"] = (int(m.group(1)), int(m.group(2)))
            elif m := NH_RE.search(line):
                op["vmid"] = int(m.group(1))
            elif m := CFGI_CD_RE.search(line):
                op["sid"] = int(m.group(1), 16)
    return segs, errors


def kunit_syncs(src, case):
    """The sync count a KUnit case expects (its first), read from its source."""
    with open(src, encoding="utf-8") as f:
        return kunit_syncs_text(f.read(), case)


def kunit_syncs_text(text, case):
    """The same, from the source's text."""
    m = re.search(r"static void %s\(struct kunit \*test\)\n\{(.*?)\n\}" % case, text, re.S)
    if not m:
        return None
    m = re.search(r"NUM_EXPECTED_SYNCS\((\d+)\)", m.group(1))
    return int(m.group(1)) if m else None


def op_vmids(op):
    """The VMIDs a TLBI carried, as QEMU traced them."""
    v = [r[0] for r in op["ranges"]]
    if op["asid_vmid"]:
        v.append(op["asid_vmid"][1])
    if op["vmid"] is not None:
        v.append(op["vmid"])
    return v


def covered(ranges, addr, pages):
    """Why the stage-1 ranges do not cover [addr, addr + pages) from its
    start, contiguously, with at most one page more (the driver's way round
    the reserved encoding), or None."""
    spans = sorted((a, n * (SZ_4K << (2 * (tg - 1)) if tg else SZ_4K)) for _, _, a, tg, n in ranges)
    if not spans:
        return "no range traced"
    if spans[0][0] != addr:
        return f"starts at {spans[0][0]:#x}, not {addr:#x}"
    end = addr
    for a, size in spans:
        if a != end:
            return f"a hole or overlap at {a:#x}"
        end += size
    got = (end - addr) // SZ_4K
    if not pages <= got <= pages + 1:
        return f"{got} pages covered for {pages}"
    return None


def check_commands(spec, seg, device_sid):
    """Why the commands of a measurement are not what its request implies,
    or None."""
    ops = seg["ops"]
    names = [o["op"] for o in ops]
    vmid = seg["vmid"]
    cmds = [o for o in ops if o["op"] != "SYNC"]
    kind = spec["kind"]
    if kind != "transition":
        if not ops or names[-1] != "SYNC":
            return f"no CMD_SYNC after the commands: {' '.join(names) or 'nothing'}"
        for o in cmds:
            if o["op"].startswith("TLBI") and any(v != vmid for v in op_vmids(o)):
                return f"{o['op']} with VMID {op_vmids(o)}, not the nest parent's {vmid}"
            if o["op"].startswith("TLBI") and not op_vmids(o):
                return f"{o['op']} without a traced VMID"
    if kind == "va" or kind == "vaa":
        want = "TLBI_NH_VA" if kind == "va" else "TLBI_NH_VAA"
        asid = spec["asid"] if kind == "va" else -1
        if names != [want, "SYNC"]:
            return f"{' '.join(names)}, not {want} SYNC"
        r = cmds[0]["ranges"]
        if len(r) != 1 or r[0][1] != asid or r[0][2] != spec["addr"] or r[0][3] != 0:
            return f"{want} {r}: not one address {spec['addr']:#x} of ASID {asid}"
    elif kind == "range" and spec["pages"] >= RANGE_MAX_PAGES:
        if names != ["TLBI_NH_ASID", "SYNC"] or cmds[0]["asid_vmid"] != (spec["asid"], vmid):
            return (f"{' '.join(names)} {cmds[0]['asid_vmid'] if cmds else ''}: "
                    f"not TLBI_NH_ASID of ASID {spec['asid']}, VMID {vmid}")
    elif kind == "range":
        if any(o["op"] != "TLBI_NH_VA" for o in cmds) or names.count("SYNC") != 1:
            return f"{' '.join(names)}: not TLBI_NH_VA commands and one CMD_SYNC"
        ranges = [r for o in cmds for r in o["ranges"]]
        if any(r[1] != spec["asid"] for r in ranges):
            return f"a range of ASID {[r[1] for r in ranges]}, not {spec['asid']}"
        need = ril_commands(spec["pages"])
        pow2 = spec["pages"] & (spec["pages"] - 1) == 0
        if len(cmds) > need or (pow2 and len(cmds) != 1):
            return f"{len(cmds)} TLBI for {spec['pages']} pages (the encoding needs {need})"
        why = covered(ranges, spec["addr"], spec["pages"])
        if why:
            return why
    elif kind == "asid":
        if names != ["TLBI_NH_ASID", "SYNC"]:
            return f"{' '.join(names)}, not TLBI_NH_ASID SYNC"
        if cmds[0]["asid_vmid"] != (spec["asid"], vmid):
            return f"TLBI_NH_ASID of (ASID, VMID) {cmds[0]['asid_vmid']}, not {(spec['asid'], vmid)}"
    elif kind == "all":
        if names != ["TLBI_NH_ALL", "SYNC"]:
            return f"{' '.join(names)}, not TLBI_NH_ALL SYNC (all of the VMID)"
    elif kind in ("cd", "cd_all"):
        want = "CFGI_CD" if kind == "cd" else "CFGI_CD_ALL"
        if names != [want, "SYNC"]:
            return f"{' '.join(names)}, not {want} SYNC"
        if cmds[0]["sid"] != device_sid:
            return f"{want} of SID {cmds[0]['sid']}, not the device's {device_sid}"
    elif kind == "atc":
        if names != ["SYNC"]:
            return f"{' '.join(names)}: the device has no ATS, only the call's CMD_SYNC"
    elif kind == "batch":
        n = spec["entries"]
        if [o["op"] for o in cmds] != ["TLBI_NH_VA"] * n:
            return f"{len(cmds)} commands ({' '.join(sorted(set(o['op'] for o in cmds)))}) for {n} TLBI_NH_VA"
        want = {spec["addr"] + 2 * i * SZ_4K for i in range(n)}
        got = {r[2] for o in cmds for r in o["ranges"]}
        if got != want or any(r[1] != spec["asid"] for o in cmds for r in o["ranges"]):
            return f"the addresses or ASIDs of the {n} commands are not those asked for"
        run = 0
        for name in names:
            run = 0 if name == "SYNC" else run + 1
            if run > CHUNK:
                return f"more than {CHUNK} commands before a CMD_SYNC"
        if names.count("SYNC") != math.ceil(n / CHUNK):
            return f"{names.count('SYNC')} CMD_SYNC for {n} commands in chunks of {CHUNK}"
    elif kind == "mixed":
        if names != spec["ops"]:
            return f"{' '.join(names)}, not {' '.join(spec['ops'])}"
        for o in cmds:
            if o["op"].startswith("CFGI") and o["sid"] != device_sid:
                return f"{o['op']} of SID {o['sid']}, not the device's {device_sid}"
    return None


def guest_lines(lines):
    """The lines nest_bench printed, between init's run and end lines."""
    out, on = [], False
    for l in lines:
        w = protocol.wb(l)
        if w and w.kind in ("run", "end") and w.fields[0] == "nest_bench":
            on = w.kind == "run"
        elif on:
            out.append(l)
    return out


# What the guest's log says: its lines (without timestamps), each
# measurement's marker, its "bench: count" rows, the timings, the device's
# stream ID and the KUnit cases that passed.
Log = collections.namedtuple("Log", "lines marks counts times device_sid kunit_ok")
# One measurement: the guest's count row, the host's spec, QEMU's segment of
# the trace, and the row of the table made of them.
Measured = collections.namedtuple("Measured", "count spec seg row")


def read_log(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [protocol.strip_stamp(l) for l in f]
    marks, counts, times = {}, [], {}
    device_sid = None
    for l in lines:
        m = re.match(r"bench: mark (\d+) (\S+)", l)
        if m:
            marks[m.group(2)] = int(m.group(1))
        m = re.match(r"bench: device SID=(0x[0-9a-f]+|\d+) vsid=", l)
        if m:
            device_sid = int(m.group(1), 0)
        m = re.match(r"bench: count (\S+) (.*)", l)
        if m:
            row = {"name": m.group(1)}
            for kv in m.group(2).split():
                k, v = kv.split("=")
                row[k] = v if k == "kind" else int(v, 0)
            counts.append(row)
        m = TIME_RE.match(l)
        if m:
            times[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    kunit_ok = protocol.passed_subtests(lines)
    return Log(lines, marks, counts, times, device_sid, kunit_ok)


# The checks of the whole run: each returns why it failed, or None.

def check_measurements(log, _errors):
    """Every measurement and timing, once."""
    names = [c["name"] for c in log.counts]
    missing = [n for n in MEASUREMENTS if n not in names]
    extra = [n for n in names if n not in MEASUREMENTS or names.count(n) > 1]
    missing += [t for t in TIMINGS if t not in log.times]
    if not missing and not extra:
        return None
    return (f"{len(names)} of {len(MEASUREMENTS)} measurements and {len(log.times)} of "
            f"{len(TIMINGS)} timings; missing: {' '.join(missing) or '-'}; "
            f"unexpected: {' '.join(extra) or '-'}")


def check_plan(log, _errors):
    """A TAP plan of every measurement and the timings, all ok."""
    tap = [ln for ln in map(protocol.tap_line, guest_lines(log.lines)) if ln.depth == 0]
    plans = [int(ln.match.group(1)) for ln in tap if ln.kind == "plan"]
    oks = [ln.text for ln in tap if ln.kind == "result" and ln.match.group(1) == "ok"]
    notoks = [ln.text for ln in tap if ln.kind == "result" and ln.match.group(1) != "ok"]
    if (len(plans) == 1 and plans[0] == len(oks) and not notoks and
            plans[0] == len(MEASUREMENTS) + 1):
        return None
    return (f"plan {plans}, {len(oks)} ok, {len(notoks)} not ok "
            f"({notoks[0] if notoks else ''}); {len(MEASUREMENTS) + 1} expected")


def check_device(log, _errors):
    return None if log.device_sid is not None else "no 'bench: device' line"


def check_no_cmdq_error(_log, errors):
    return errors[0] if errors else None


RUN_CHECKS = (
    ("measurements", check_measurements),
    ("plan", check_plan),
    ("device", check_device),
    ("no_cmdq_error", check_no_cmdq_error),
)


# The checks of one measurement: each returns why it failed, or None.

def check_request(m, _log):
    """The guest asked for what the host's table says."""
    spec, c = m.spec, m.count
    asked = {k: spec[k] for k in ("kind", "asid", "addr", "pages", "entries") if k in spec}
    if spec["kind"] in ("va", "vaa", "range", "batch"):
        differs = {k: (c.get(k), v) for k, v in asked.items() if c.get(k) != v}
    else:
        differs = {} if c.get("kind") == spec["kind"] else {"kind": (c.get("kind"), spec["kind"])}
    return f"the guest's request differs: {differs}" if differs else None


def check_trace_is_driver(m, _log):
    """QEMU consumed what the driver says it issued."""
    r, c = m.row, m.count
    if r["cmds"] == c["kcmds"] and r["syncs"] == c["ksyncs"]:
        return None
    return (f"QEMU consumed {r['cmds']} + {r['syncs']} syncs, the driver issued "
            f"{c['kcmds']} + {c['ksyncs']}")


def check_hitless(m, log):
    """Each STE write of the hitless writer is CFGI_STE + CMD_SYNC, as many
    as the KUnit case that proves the transition expects, and it passed."""
    r = m.row
    case, want = r["kunit_case"], r["kunit_syncs"]
    if want is not None and case in log.kunit_ok and r["ste_writes"] == want:
        return None
    return (f"{r['ste_writes']} STE writes in QEMU's trace; KUnit {case} "
            f"expects {want} syncs and {'passed' if case in log.kunit_ok else 'did not pass'}")


def check_commands_of(m, log):
    return check_commands(m.spec, m.seg, log.device_sid)


# NAME.CHECK, for the measurements of the kinds it applies to
MEASUREMENT_CHECKS = (
    ("request", lambda kind: True, check_request),
    ("trace_is_driver", lambda kind: True, check_trace_is_driver),
    ("hitless", lambda kind: kind == "transition", check_hitless),
    ("commands", lambda kind: kind != "transition", check_commands_of),
)


def row_of(c, spec, seg, kunit_src):
    """The table's row of a measurement: the guest's count and QEMU's."""
    ops = seg["ops"]
    r = dict(c)
    r["syncs"] = sum(o["op"] == "SYNC" for o in ops)
    r["cmds"] = len(ops) - r["syncs"]
    r["tlbi"] = sum(o["op"].startswith("TLBI") for o in ops)
    r["ste_writes"] = sum(o["op"] == "CFGI_STE" for o in ops)
    r["ops"] = " ".join(o["op"] for o in ops)
    if spec["kind"] == "transition":
        r["kunit_case"] = spec["kunit"]
        r["kunit_syncs"] = kunit_syncs(kunit_src, spec["kunit"])
    elif spec["kind"] == "range":
        r["ril"] = ril_commands(spec["pages"]) if spec["pages"] < RANGE_MAX_PAGES else 1
        r["per_page"] = spec["pages"]
    elif spec["kind"] == "batch":
        r["ril"] = r["per_page"] = spec["entries"]
    return r


def record(w, name, why):
    w.add("FAIL" if why is not None else "PASS", name, why or "")


def write_csv(path, rows, times):
    fields = ["name", "kind", "asid", "addr", "pages", "entries", "tlbi", "cmds", "syncs",
              "kcmds", "ksyncs", "calls", "ril", "per_page", "ste_writes", "kunit_syncs", "ops"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        for k, (calls, ns) in times.items():
            f.write(f"time_{k},time,,,,,,,,,,{calls},,,,,{ns} ns per call\n")


def report(rows, times):
    """The tables of bench.txt."""
    out = []
    out.append("One guest command per IOMMU_HWPT_INVALIDATE call on the vIOMMU "
               "(QEMU's trace, = the driver's count):")
    out.append(f"  {'request':<14} {'4K pages':>11} {'cmds':>5} {'syncs':>5} {'encoding':>8} "
               f"{'1/page':>11}  commands")
    for r in rows:
        if r["kind"] not in ("transition", "batch", "mixed"):
            out.append(f"  {r['name']:<14} {r.get('pages', '') if r['kind'] in ('range', 'va', 'vaa') else '':>11} "
                       f"{r['cmds']:>5} {r['syncs']:>5} {r.get('ril', ''):>8} {r.get('per_page', ''):>11}  {r['ops']}")
    out.append("Batches of guest commands in one call:")
    out.append(f"  {'batch':<12} {'entries':>8} {'driver calls':>12} {'commands':>8} {'syncs':>5} "
               f"{'cmds/sync':>9}  commands")
    for r in rows:
        if r["kind"] in ("batch", "mixed"):
            ops = r["ops"] if r["kind"] == "mixed" else ""
            out.append(f"  {r['name']:<12} {r['entries']:>8} {r['calls']:>12} {r['cmds']:>8} {r['syncs']:>5} "
                       f"{r['cmds'] / max(r['syncs'], 1):>9.1f}  {ops}")
    out.append("Guest STE switches (the device's nested HWPT replaced):")
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
            out.append(f"  one command of a 64-command batch costs {times['inv_64'][1] / 64 / times['inv_1'][1]:.2f}x "
                       "a one-command call")
    return "\n".join(out)


COMMANDS_DAT = "bench.dat"


def commands_panel(dat):
    """gnuplot's commands for the chart of commands per request (range
    invalidation, and one TLBI per page), from DAT."""
    return f"""set title 'Commands per guest TLBI_NH_VA range (TLBI + CMD_SYNC), QEMU SMMUv3 trace'
set style data histograms
set style fill solid 0.8 border -1
set logscale y
set yrange [0.8:1e11]
set ylabel 'commands'
set xtics rotate by -30
set key top left horizontal
plot '{dat}' using 2:xtic(1) title 'driver, range invalidation', '' using 3 title 'one TLBI per page + sync'
"""


def draw(out_dir, panels):
    """bench.png in OUT_DIR: the PANELS (gnuplot commands each), one above
    the other. Why gnuplot could not draw it, or None."""
    gp = (f"set terminal pngcairo size 900,{480 * len(panels)} noenhanced\n"
          f"set output '{os.path.join(out_dir, 'bench.png')}'\n")
    if len(panels) > 1:
        gp += f"set multiplot layout {len(panels)},1\n"
    gp += "reset\n".join(panels)
    if len(panels) > 1:
        gp += "unset multiplot\n"
    try:
        subprocess.run(["gnuplot"], input=gp, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        return f"gnuplot: {e}"
    return None


def check_chart(out_dir, rows):
    """The chart: commands per request, with range invalidation and per
    page. Why gnuplot could not draw it, or None."""
    dat = os.path.join(out_dir, COMMANDS_DAT)
    with open(dat, "w") as f:
        for r in rows:
            if r["kind"] == "range":
                f.write(f"{r['name']} {r['cmds'] + r['syncs']} {r['per_page'] + 1}\n")
    return draw(out_dir, [commands_panel(dat)])


def finish(w, path):
    with open(path, "w") as f:
        f.write(w.text())
    return 1 if w.failed() else 0


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--kunit-src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--no-chart", action="store_true", help="skip gnuplot (the unit tests)")
    args = ap.parse_args(argv)

    log = read_log(args.log)
    w = results.Writer("bench")
    if not log.counts:
        w.add("FAIL", "ran", "no 'bench: count' line in the guest log")
        return finish(w, args.results)

    segs, errors = parse_trace(args.trace)
    for name, check in RUN_CHECKS:
        record(w, name, check(log, errors))

    rows = []
    for c in log.counts:
        spec = MEASUREMENTS.get(c["name"])
        if spec is None:
            continue
        seg = segs.get(log.marks.get(c["name"], -1))
        if seg is None:
            w.add("FAIL", f"{c['name']}.traced", "no marker in QEMU's trace")
            continue
        m = Measured(c, spec, seg, row_of(c, spec, seg, args.kunit_src))
        for name, applies, check in MEASUREMENT_CHECKS:
            if applies(spec["kind"]):
                record(w, f"{c['name']}.{name}", check(m, log))
        rows.append(m.row)

    os.makedirs(args.out, exist_ok=True)
    write_csv(os.path.join(args.out, "bench.csv"), rows, log.times)
    text = report(rows, log.times)
    print(text)
    with open(os.path.join(args.out, "bench.txt"), "w") as f:
        f.write(text + "\n")
    if not args.no_chart:
        record(w, "chart", check_chart(args.out, rows))
    return finish(w, args.results)


if __name__ == "__main__":
    sys.exit(main())
