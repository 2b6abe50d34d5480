#!/usr/bin/env python3
"""Ours against upstream on the three-level machine (make bench; the runs:
scripts/bench-upstream.sh): the same L2 work with L1 = this series and
L1 = upstream Linux (with the workbench's one change,
configs/upstream-nesting_canwbs.patch), interleaved rounds.

Reads each round's figures (three_level_parse.py's measured files, named
bench-KERNEL-ROUND-measured.txt) and prints, per L2 run behind the
accelerated vSMMU (accel, accel-lazy):
  - throughput against plain assignment (accel/plain) for each kernel and
    workload (l3_disk's write and read, each fio job): median and range
    over the rounds;
  - ours/upstream of that ratio, per round (the rounds are interleaved, so
    each pair saw the same machine), median and range: the comparison that
    cancels the machine's load;
  - each kernel's own throughput, ours/upstream in the same round, plain
    and behind the vSMMU: the ratio above is also smaller where upstream's
    plain assignment, which owes nothing to the series, is faster;
  - guest commands per MiB the workload moved, the commands L0's SMMU
    consumed per guest command (the run's whole window), and L1's own time
    per IOMMU_HWPT_INVALIDATE call (a kprobe and a kretprobe in L1: median
    and 99th percentile of each run, then their median and range), and
    how much of it the driver's function took (a second pair of probes in
    the same calls: bench-upstream.sh's L3_INV_INNER) and the rest; and
    the calls' number times that median over L1 QEMU's time for the run
    (l1_qemu_seconds): at most how much of the run the calls can explain.
With --percall LOG (repeated: the boot logs of guest/nest_bench.c on the
single-level machine, percall-bench-KERNEL-ROUND.log), also L1's time per
call without any probe: nest_bench's own timings in user space (a trivial
ioctl, one command per call, 64 commands per call, interleaved), each
kernel's median over the rounds and ours/upstream per round, of the
calls and of the calls less the trivial ioctl (the ioctl path that owes
nothing to either driver); and, as the machine's speed changes from boot
to boot, the same in trivial ioctls of that boot: (one command - trivial)
/ trivial, and each further command of the 64, (64 - one) / 63 / trivial.
With --percall-insns LOG (the same boots under QEMU's -icount
shift=SHIFT, --icount SHIFT; insns-percall-bench-KERNEL-ROUND.log): the
same calls counted in instructions, which the machine's speed does not
move (CSV rows "one-level-insns").
With --three-level-insns MEASURED (repeated; --three-level-icount SHIFT):
the same report of three-level rounds run under L0's -icount shift=SHIFT
(three-level.sh L0_ICOUNT): the clocks of L1 and L2, and so every
throughput and time above, count the instructions L1 and L2 executed, not
this machine's time (CSV runs ending in "-insns").
Every report of three-level rounds ends with L1's CPU time over each
whole L2 run (l1_busy_seconds: boot, workloads, power-off), per kernel
and ours/upstream, and for the runs behind the vSMMU what they took
beyond plain assignment's.
Timings are ratios, never a verdict. Also writes a CSV (--csv), and with
--chart DIR adds the ours/upstream medians (bars from the smallest to the
largest round; timed, and counted in instructions) under make bench's
commands chart in DIR/bench.png.
  bench_upstream.py [--csv FILE] [--chart DIR] [--percall LOG]...
                    [--icount SHIFT --percall-insns LOG...]
                    [--three-level-icount SHIFT --three-level-insns MEASURED...]
                    MEASURED...
Exits 1 if a kernel has no round with both throughputs.
"""
import argparse
import collections
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

CSV_HEADER = ("run", "what", "kernel", "median", "min", "max", "rounds")
NAME_RE = re.compile(r"bench-(ours|upstream)-(\d+)-measured\.txt$")
PERCALL_RE = re.compile(r"percall-bench-(ours|upstream)-(\d+)\.log$")
KERNELS = ("ours", "upstream")


def load(path):
    """{run: {key: value}} of one measured file: throughputs (write_mib_s,
    read_mib_s), workload guest commands (workload_cmds) and the guest's
    and L0's command totals (guest_cmds, l0_cmds)."""
    runs = collections.defaultdict(dict)
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if len(words) < 2:
                continue
            run = words[0]
            kv = dict(w.split("=", 1) for w in words[1:] if "=" in w)
            if words[1] == "workload_guest_commands":
                runs[run]["workload_cmds"] = sum(int(v) for v in kv.values())
            elif words[1] == "guest_commands":
                runs[run]["guest_cmds"] = sum(int(v) for v in kv.values())
            elif words[1] == "l0_commands_by_cause":
                runs[run]["l0_cmds"] = sum(int(v) for v in kv.values())
            elif words[1].startswith("fio_") and kv.get("rc") == "0":
                bw = max(float(kv.get("read_kib_s") or 0), float(kv.get("write_kib_s") or 0))
                runs[run][words[1]] = bw
            elif words[1].startswith("l1_qemu_seconds="):
                runs[run]["l1_qemu_s"] = float(words[1].split("=", 1)[1])
                if "l1_busy_seconds" in kv:
                    runs[run]["l1_busy_s"] = float(kv["l1_busy_seconds"])
            elif words[1] == "inv_timing" and "median_us" in kv:
                runs[run]["inv_calls"] = int(kv["calls"])
                runs[run]["inv_median"] = float(kv["median_us"])
                runs[run]["inv_p99"] = float(kv["p99_us"])
                if "inner" in kv:
                    runs[run]["inv_inner"] = kv["inner"]
                    runs[run]["inv_inner_median"] = float(kv["inner_median_us"])
                    runs[run]["inv_outside_median"] = float(kv["outside_median_us"])
            elif "write_mib_s" in kv and "read_mib_s" in kv:
                runs[run]["write"] = float(kv["write_mib_s"])
                runs[run]["read"] = float(kv["read_mib_s"])
    return runs


def rounds(paths):
    """{kernel: {round: runs}} of the measured files."""
    out = collections.defaultdict(dict)
    for p in paths:
        m = NAME_RE.search(os.path.basename(p))
        if m:
            out[m.group(1)][int(m.group(2))] = load(p)
    return out


def spread(xs, fmt="{:.2f}"):
    if not xs:
        return "-"
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"


def row(run, what, kernel, xs):
    """A CSV row: median, min, max and count of XS."""
    return (run, what, kernel, f"{statistics.median(xs):.3f}", f"{min(xs):.3f}",
            f"{max(xs):.3f}", str(len(xs)))


def write_csv(path, rows):
    if path:
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(",".join(r) + "\n" for r in rows)


def vs_plain(runs, run, what):
    r, p = runs.get(run, {}), runs.get("plain", {})
    if what in r and what in p and p[what]:
        return r[what] / p[what]
    return None


def workload(what):
    """A figure's workload as printed: "l3_disk write", "fio seqread"..."""
    return what.replace("fio_", "fio ") if what.startswith("fio_") else "l3_disk " + what


def same_round(data, common, run, what):
    """Throughput of RUN's WHAT, ours/upstream, per round."""
    return [data["ours"][i][run][what] / data["upstream"][i][run][what] for i in common
            if data["ours"][i].get(run, {}).get(what) and data["upstream"][i].get(run, {}).get(what)]


def table(data, mib, icount=None):
    """The report's lines and CSV rows; with ICOUNT (L0's -icount shift),
    of the rounds counted in instructions (CSV runs then end in -insns)."""
    lines, rows = [], []
    runs = sorted({r for k in KERNELS for rs in data[k].values() for r in rs
                   if r != "plain" and r.startswith("accel")})
    common = sorted(set(data["ours"]) & set(data["upstream"]))
    how = "" if icount is None else (
        f", counted in instructions (L0's QEMU -icount shift={icount}, one L1 vCPU: "
        f"the clocks of L1 and L2 count {1 << icount} ns per instruction, "
        "idle time at this machine's speed)")
    lines.append(f"ours/upstream on the three-level machine{how}: {len(common)} interleaved round(s); "
                 "L1 = this series, or upstream with configs/upstream-nesting_canwbs.patch")
    for run in runs:
        fio = sorted({w for k in KERNELS for rs in data[k].values() for w in rs.get(run, {})
                      if w.startswith("fio_")})
        for what in ["write", "read"] + fio:
            per = {k: [v for v in (vs_plain(rs, run, what) for rs in data[k].values()) if v]
                   for k in KERNELS}
            pair = [vs_plain(data["ours"][i], run, what) / vs_plain(data["upstream"][i], run, what)
                    for i in common if vs_plain(data["ours"][i], run, what)
                    and vs_plain(data["upstream"][i], run, what)]
            # each kernel's own throughput, ours/upstream in the same round:
            # plain assignment (nothing of the series) and behind the vSMMU
            thr = {r: same_round(data, common, r, what) for r in ("plain", run)}
            lines.append(f"  {run:<11} {workload(what):<21} accel/plain: ours {spread(per['ours'])}, "
                         f"upstream {spread(per['upstream'])}; ours/upstream {spread(pair)}; "
                         f"throughput ours/upstream: plain {spread(thr['plain'])}, {run} {spread(thr[run])}")
            rows += [row(run, what, k, xs) for k, xs in list(per.items()) + [("ours/upstream", pair)]
                     if xs]
            rows += [row(r, what, "ours/upstream throughput", xs) for r, xs in thr.items()
                     if xs and (r != "plain" or run == runs[0])]
        for k in KERNELS:
            cm = [rs[run]["workload_cmds"] / (2 * mib) for rs in data[k].values()
                  if "workload_cmds" in rs.get(run, {})]
            l0 = [rs[run]["l0_cmds"] / rs[run]["guest_cmds"] for rs in data[k].values()
                  if rs.get(run, {}).get("guest_cmds")]
            inv = [rs[run]["inv_median"] for rs in data[k].values() if "inv_median" in rs.get(run, {})]
            p99 = [rs[run]["inv_p99"] for rs in data[k].values() if "inv_p99" in rs.get(run, {})]
            inner = [rs[run]["inv_inner_median"] for rs in data[k].values()
                     if "inv_inner_median" in rs.get(run, {})]
            outside = [rs[run]["inv_outside_median"] for rs in data[k].values()
                       if "inv_outside_median" in rs.get(run, {})]
            names = sorted({rs[run]["inv_inner"] for rs in data[k].values()
                            if "inv_inner" in rs.get(run, {})})
            split = (f"; in {'/'.join(names)} {spread(inner, '{:.0f}')}, outside it "
                     f"{spread(outside, '{:.0f}')}" if inner else "")
            # how much of the run those calls can explain: calls x median
            # over L1 QEMU's wall-clock time for the run
            share = [rs[run]["inv_calls"] * rs[run]["inv_median"] / 1e6 / rs[run]["l1_qemu_s"]
                     for rs in data[k].values()
                     if rs.get(run, {}).get("l1_qemu_s") and "inv_calls" in rs[run]]
            if share:
                split += f"; calls x median over L1 QEMU's run {spread(share, '{:.1%}')}"
            lines.append(f"  {run:<11} {k:<8} guest commands per MiB {spread(cm)}, "
                         f"L0 commands per guest command {spread(l0)}, L1 us per "
                         f"IOMMU_HWPT_INVALIDATE median {spread(inv, '{:.0f}')} p99 {spread(p99, '{:.0f}')}"
                         + split)
            rows += [row(run, what, k, xs) for what, xs in
                     (("guest_cmds_per_mib", cm), ("l0_per_guest_cmd", l0),
                      ("inv_median_us", inv), ("inv_p99_us", p99),
                      ("inv_inner_median_us", inner), ("inv_outside_median_us", outside)) if xs]
    busy_lines, busy_rows = busy(data, common, runs)
    rows += busy_rows
    if icount is not None:
        rows = [(r[0] + "-insns",) + tuple(r[1:]) for r in rows]
    return lines + busy_lines, rows


def busy(data, common, runs):
    """L1's CPU time over each whole L2 run (l1-init.sh's busy_cs: boot,
    workloads, power-off), per kernel and ours/upstream per round; for the
    runs behind the vSMMU also what they took beyond plain assignment's."""
    def cpu(rs, run):
        return rs.get(run, {}).get("l1_busy_s")

    def beyond(rs, run):
        a, p = cpu(rs, run), cpu(rs, "plain")
        return a - p if a is not None and p is not None else None

    lines, rows = [], []
    figs = [(run, run, cpu, "l1_busy_s") for run in ["plain"] + runs] + \
        [(run, f"{run} - plain", beyond, "l1_busy_s_beyond_plain") for run in runs]
    for run, label, fn, what in figs:
        per = {k: [v for v in (fn(rs, run) for rs in data[k].values()) if v is not None]
               for k in KERNELS}
        if not per["ours"] or not per["upstream"]:
            continue
        pair = [fn(data["ours"][i], run) / fn(data["upstream"][i], run) for i in common
                if fn(data["ours"][i], run) is not None and fn(data["upstream"][i], run)]
        if not lines:
            lines.append("  L1 CPU seconds over the whole L2 run (boot, workloads, power-off):")
        lines.append(f"    {label:<20} ours {spread(per['ours'])}, upstream "
                     f"{spread(per['upstream'])}; ours/upstream {spread(pair)}")
        rows += [row(run, what, k, xs) for k, xs in list(per.items()) +
                 [("ours/upstream", pair)] if xs]
    return lines, rows


def percall_times(path):
    """{kind: ns per call} of one nest_bench boot log (trivial, inv_1, inv_64)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return {m.group(1): int(m.group(3)) for m in map(bench.TIME_RE.search, f) if m}


def percall(paths, icount=None):
    """The lines and CSV rows of L1's time per call without probes; with
    ICOUNT (the boots' -icount shift), in instructions."""
    data = collections.defaultdict(dict)
    for p in paths:
        m = PERCALL_RE.search(os.path.basename(p))
        t = percall_times(p) if m and os.path.exists(p) else {}
        if {"trivial", "inv_1", "inv_64"} <= set(t) and t["trivial"] > 0:
            data[m.group(1)][int(m.group(2))] = t
    common = sorted(set(data["ours"]) & set(data["upstream"]))
    what = "counted in instructions" if icount is not None else "timed"
    if not common:
        return [f"per call on one level, {what}: no round with nest_bench's figures on both "
                f"kernels (ours {len(data['ours'])}, upstream {len(data['upstream'])})"], []
    rows = []
    if icount is not None:
        # 2^SHIFT ns of the guest's clock per instruction
        run, unit = "one-level-insns", (1 << icount, "{:.0f}")
        lines = [f"per call on one level, counted in instructions (QEMU -icount shift={icount}: "
                 f"the guest's clock counts them): {len(common)} interleaved round(s)"]
    else:
        run, unit = "one-level", (1000, "{:.1f}")
        lines = [f"per call on one level (guest/nest_bench.c, user space, no probes; us): "
                 f"{len(common)} interleaved round(s)"]
    figs = [("trivial", "a trivial ioctl (IOMMU_OPTION)", lambda t: t["trivial"], unit),
            ("inv_1", "one command per call", lambda t: t["inv_1"], unit),
            ("inv_1_less_trivial", "one command, less the trivial ioctl",
             lambda t: t["inv_1"] - t["trivial"], unit)]
    if icount is not None:
        figs.append(("extra_cmd", "each further command of 64",
                     lambda t: (t["inv_64"] - t["inv_1"]) / 63, unit))
    else:
        # us per command of 64; then in the boot's own trivial ioctls, which
        # cancels how fast the machine ran that boot (a figure per boot)
        trivials = (1, "{:.3f}")
        figs += [("inv_64_per_cmd", "64 commands per call, per command",
                  lambda t: t["inv_64"] / 64, unit),
                 ("inv_1_in_trivials", "(one command - trivial) / trivial",
                  lambda t: (t["inv_1"] - t["trivial"]) / t["trivial"], trivials),
                 ("extra_cmd_in_trivials", "(64 cmds - one) / 63 / trivial",
                  lambda t: (t["inv_64"] - t["inv_1"]) / 63 / t["trivial"], trivials)]
    for key, label, fn, (scale, fmt) in figs:
        per = {k: [fn(data[k][i]) / scale for i in common] for k in KERNELS}
        pair = [fn(data["ours"][i]) / fn(data["upstream"][i]) for i in common
                if fn(data["upstream"][i]) > 0]
        lines.append(f"  {label:<36} ours {spread(per['ours'], fmt)}, upstream "
                     f"{spread(per['upstream'], fmt)}; ours/upstream {spread(pair)}")
        rows += [row(run, key, k, xs) for k, xs in list(per.items()) +
                 [("ours/upstream", pair)] if xs]
    return lines, rows


def chart(out_dir, rows):
    """DIR/bench.png: make bench's commands chart (if bench.py drew it in
    DIR) and under it ours/upstream of accel/plain per run and workload,
    timed, and counted in instructions if ROWS have those (runs -insns).
    Why gnuplot could not draw it, or None."""
    panels = []
    for tag, how in (("", "timed"), ("-insns", "counted in instructions")):
        dat = os.path.join(out_dir, f"bench-upstream{tag}.dat")
        bars = [f'"{run[:len(run) - len(tag)]} {workload(what)}" {med} {lo} {hi}\n'
                for run, what, kernel, med, lo, hi, _ in rows[1:]
                if kernel == "ours/upstream" and not what.startswith("l1_busy")
                and run.endswith("-insns") == bool(tag)]
        if not bars:
            continue
        with open(dat, "w", encoding="utf-8") as f:
            f.writelines(bars)
        panels.append(f"""set title 'ours/upstream of accel/plain throughput, {how} (median, range); 1 = as fast'
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set yrange [0:*]
set ylabel 'ours/upstream'
set xtics rotate by -30
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2
plot '{dat}' using 2:3:4:xtic(1) title 'ours/upstream'
""")
    commands = os.path.join(out_dir, bench.COMMANDS_DAT)
    if os.path.exists(commands):
        panels.insert(0, bench.commands_panel(commands))
    return bench.draw(out_dir, panels)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--csv")
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--chart", metavar="DIR")
    ap.add_argument("--percall", action="append", default=[], metavar="LOG")
    ap.add_argument("--percall-insns", action="append", default=[], metavar="LOG")
    ap.add_argument("--icount", type=int, choices=range(11), metavar="SHIFT")
    ap.add_argument("--three-level-insns", action="append", default=[], metavar="MEASURED",
                    help="a three-level round under L0's -icount (--three-level-icount)")
    ap.add_argument("--three-level-icount", type=int, choices=range(11), metavar="SHIFT")
    ap.add_argument("measured", nargs="*")
    a = ap.parse_args(argv)
    if a.percall_insns and a.icount is None:
        ap.error("--percall-insns needs --icount")
    if a.three_level_insns and a.three_level_icount is None:
        ap.error("--three-level-insns needs --three-level-icount")
    if not (a.measured or a.three_level_insns or a.percall or a.percall_insns):
        ap.error("nothing to report: no measured file, no --percall log")
    lines, rows = [], [CSV_HEADER]
    for paths, icount in ((a.measured, None), (a.three_level_insns, a.three_level_icount)):
        if not paths:
            continue
        data = rounds(paths)
        for k in KERNELS:
            if not any("write" in rs.get("accel", {}) for rs in data[k].values()):
                print(f"ours/upstream: no round of {k} moved data behind the vSMMU")
                return 1
        tl, trows = table(data, a.mib, icount)
        lines += tl
        rows += trows
    if not lines:
        lines = ["ours/upstream: no three-level round (bench-upstream.sh 0): per call only"]
    pl, prows = percall(a.percall) if a.percall else ([], [])
    il, irows = percall(a.percall_insns, a.icount) if a.percall_insns else ([], [])
    print("\n".join(lines + pl + il))
    write_csv(a.csv, rows + prows + irows)
    if a.chart and (a.measured or a.three_level_insns):
        why = chart(a.chart, rows)
        if why:
            print(f"ours/upstream: no chart ({why})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
