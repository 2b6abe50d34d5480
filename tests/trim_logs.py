#!/usr/bin/env python3
"""Trim a real serial log (or a three-level trace) into a fixture of
tests/data/logs/: small, but every line kept is the log's own, in order.

  trim_logs.py boot LOG > FIXTURE     a test machine's boot
  trim_logs.py serial LOG > FIXTURE   the three-level machine's L0 serial log
  trim_logs.py trace TRACE [EVENTS] > FIXTURE  its L0 trace (then gzip it);
                                      EVENTS: SMMU events kept per stretch (12)

A boot keeps /init's lines, each program's TAP header, its first and last
short cases and every case that did not pass or holds a kernel splat
(whole cases: from "#  RUN" to the next one), and of the kernel's boot the lines a
check reads (the SMMU, KUnit's KTAP, VFIO, splats), its first lines, and
its last; the rest of the kernel's boot and the middle cases go. A program
whose cases were cut gets its plan and its result numbers made to match
what is left (the only text changed; its "# Totals" line stays as printed).
The three-level log keeps L1's and L2's lines and a few of L1's kernel and
QEMU trace lines; the trace keeps L1's console lines that mark the runs
(as pl011_write bytes), every SMMU command, and the first translations,
walks and events of each stretch.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "scripts"))
import protocol  # noqa: E402

FIRST, LAST = 3, 2           # cases kept at each end of a program...
CASE_LINES = 40              # ...of those that are no longer than this
KERNEL_HEAD = 6              # first kernel lines kept (console and kmsg)
KERNEL_KEEP = re.compile(r"arm-smmu-v3|iommu|vfio|Kernel command line|Run /init|KTAP|"
                         r"# Subtest|^\s*(?:not )?ok \d|^\s*1\.\.\d|# module|Totals|"
                         r"reboot:|kmemleak")


def kernel_text(line):
    """The text of a kernel line (console or kmsg:), or None."""
    e = next(protocol.console([line], protocol.KMSG_QUOTE))
    if e.kind == "c" and e.raw == line.rstrip("\r\n"):
        return e.text
    m = protocol.KMSG_RE.match(line.rstrip("\r\n"))
    return m.group(2) if m else None


def keep_kernel(text, seen):
    seen[0] += 1
    return seen[0] <= KERNEL_HEAD or bool(KERNEL_KEEP.search(text)) or protocol.is_splat(text)


class Case:
    def __init__(self):
        self.lines = []
        self.result = None

    def interesting(self):
        r = self.result
        bad = r is None or r.match.group(1) != "ok" or r.match.group(4)
        return bad or any(protocol.is_splat(kernel_text(ln) or "") for ln in self.lines)


def split_program(lines):
    """A program's lines: its header, its cases, its tail (after the last
    result: totals)."""
    head, cases, cur = [], [], None
    for ln in lines:
        t = protocol.tap_line(ln.rstrip("\n"))
        if protocol.case_started(ln):
            cur = Case()
            cases.append(cur)
        if cur is None:
            head.append(ln)
            continue
        cur.lines.append(ln)
        if t.kind == "result" and t.depth == 0:
            cur.result = t
    tail = []
    if cases and cases[-1].result:
        last = cases[-1].lines
        at = max(i for i, ln in enumerate(last)
                 if protocol.tap_line(ln.rstrip("\n")).kind == "result")
        tail, cases[-1].lines = last[at + 1:], last[:at + 1]
    return head, cases, tail


def trim_program(lines):
    """The program's lines with its middle cases cut (whole cases)."""
    head, cases, tail = split_program(lines)
    small = [c for c in cases if len(c.lines) <= CASE_LINES] or \
        sorted(cases, key=lambda c: len(c.lines))[:1]
    ends = small[:FIRST] + small[len(small) - LAST:]
    keep = [c for c in cases if c in ends or c.interesting()]
    if len(keep) == len(cases):
        return lines
    out = [re.sub(r"^1\.\.\d+", f"1..{len(keep)}", ln) for ln in head]
    for n, c in enumerate(keep, 1):
        out += [re.sub(r"^((?:not )?ok )\d+", rf"\g<1>{n}", ln)
                if c.result and ln.rstrip() == c.result.text else ln for ln in c.lines]
    return out + tail


def trim_boot(lines):
    out, prog, seen = [], None, [0]
    for ln in lines:
        w = protocol.wb(ln.rstrip("\n"))
        if prog is not None:
            if w and w.kind == "end":
                out += trim_program(prog) + [ln]
                prog = None
            else:
                prog.append(ln)
            continue
        if w and w.kind == "run":
            prog = []
        text = kernel_text(ln)
        if text is None or keep_kernel(text, seen):
            out.append(ln)
    return out + (trim_program(prog) if prog else [])


# QEMU 11.1.3's trace lines a check reads (three_level_life.py: the ids of
# what QEMU allocated and freed), always kept
QTRACE_KEEP = re.compile(r"iommufd_backend_alloc_vdev|smmuv3_accel_translate_ste|"
                         r"iommufd_backend_free_id|smmuv3_accel_unset_iommu_device")


def trim_serial(lines, kernel=30, qtrace=4):
    """L0's serial log: all but most of L1's kernel and QEMU trace lines."""
    out, nk, nq = [], 0, 0
    for ln in lines:
        if ln.startswith("l1: qtrace ") and not QTRACE_KEEP.search(ln):
            nq += 1
            if nq > qtrace:
                continue
        elif ln.startswith("["):
            nk += 1
            if nk > kernel and not protocol.is_splat(ln):
                continue
        out.append(ln)
    return out


WALKS = ("smmuv3_translate_success", "smmuv3_translate_abort", "smmu_ptw_page_pte",
         "smmu_ptw_block_pte")


def trim_trace(lines, walks=300, events=12):
    """L0's trace: marks, commands, and the first walks and events of each
    stretch between two marks."""
    out, pending, con = [], [], protocol.Pl011()
    n = {"walk": 0, "event": 0}
    for ln in lines:
        ev = ln.split(" ", 1)[0].split(":")[-1]
        if ev == "pl011_write":
            if "reg DR" not in ln:
                out.append(ln)
                continue
            pending.append(ln)
            text = con.write(ln.split(" ", 1)[1].strip())
            if text is not None:
                if protocol.l1_marks(text):
                    out += pending
                    n = {"walk": 0, "event": 0}
                pending = []
            continue
        kind = "walk" if ev in WALKS else "event" if ev == "smmuv3_record_event" else None
        if kind:
            n[kind] += 1
            if n[kind] > (walks if kind == "walk" else events):
                continue
        out.append(ln)
    return out


def main(argv):
    if len(argv) not in (2, 3) or argv[0] not in ("boot", "serial", "trace") or \
            (len(argv) == 3 and argv[0] != "trace"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8", errors="replace", newline="") as f:
        lines = f.readlines()
    if len(argv) == 3:
        sys.stdout.write("".join(trim_trace(lines, events=int(argv[2]))))
        return 0
    trim = {"boot": trim_boot, "serial": trim_serial, "trace": trim_trace}[argv[0]]
    sys.stdout.write("".join(trim(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
