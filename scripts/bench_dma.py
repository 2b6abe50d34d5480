#!/usr/bin/env python3
"""The DMA API's map/unmap latency on the base and on the series (make
bench; the boots: scripts/bench-dma.sh, the guest: guest/dma_bench.c).

Reads boot logs named dmabench-ROUND.log (the series) and
dmabench-base-ROUND.log (the base); each holds "# dma_bench: round=R ...
map_100ns=M ... unmap_100ns=U ..." lines, averages of one run in units of
100 ns. A boot's figure is the median of its runs; the report gives, for
map, unmap and their sum, each kernel's median and range over the boots,
and series/base per round (the boots of a round are next to each other:
the same machine), median and range. Ratios, never a verdict.

With --icount SHIFT, the boots ran under QEMU's -icount shift=SHIFT (run.sh
WB_ICOUNT): the guest's clock advanced 2^SHIFT ns per instruction, and the
figures are instructions per map or unmap, which the machine's speed does
not move (CSV rows "dma-insns").
  bench_dma.py [--csv FILE] [--icount SHIFT] LOG...
Exits 1 if a kernel has no figure.
"""
import argparse
import collections
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_upstream import row, spread, write_csv  # noqa: E402

NAME_RE = re.compile(r"(dmabench(?:-base)?)-(\d+)\.log$")
LINE_RE = re.compile(r"# dma_bench: round=\d+ .*map_100ns=(\d+) .*unmap_100ns=(\d+)")
KERNELS = {"dmabench": "series", "dmabench-base": "base"}


def boot_figures(path):
    """(map, unmap) medians of a boot's runs, in 100 ns; None if none."""
    maps, unmaps = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE_RE.search(line)
            if m:
                maps.append(int(m.group(1)))
                unmaps.append(int(m.group(2)))
    if not maps:
        return None
    return statistics.median(maps), statistics.median(unmaps)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--csv")
    ap.add_argument("--icount", type=int, choices=range(11), metavar="SHIFT")
    ap.add_argument("logs", nargs="+")
    a = ap.parse_args(argv)
    data = collections.defaultdict(dict)
    for p in a.logs:
        m = NAME_RE.search(os.path.basename(p))
        fig = boot_figures(p) if m else None
        if fig:
            data[KERNELS[m.group(1)]][int(m.group(2))] = fig
    for k in ("series", "base"):
        if not data[k]:
            print(f"DMA API benchmark: no figure of the {k}")
            return 1
    common = sorted(set(data["series"]) & set(data["base"]))
    rows = [("run", "what", "kernel", "median", "min", "max", "boots")]
    if a.icount is None:
        run, unit, fmt = "dma", 10, "{:.2f}"
        print(f"DMA API map/unmap latency, one page, strict, through QEMU's SMMUv3 "
              f"(kernel/dma/map_benchmark.c): {len(common)} interleaved round(s); us")
    else:
        # 100 ns per unit of the kernel's averages, 2^SHIFT ns per instruction
        run, unit, fmt = "dma-insns", (1 << a.icount) / 100, "{:.0f}"
        print(f"DMA API map/unmap, the same benchmark counted in instructions "
              f"(QEMU -icount shift={a.icount}: the guest's clock counts them): "
              f"{len(common)} interleaved round(s); instructions")
    for i, what in enumerate(("map", "unmap", "map+unmap")):
        def val(f):
            return (f[0] + f[1] if what == "map+unmap" else f[i]) / unit
        per = {k: [val(f) for f in data[k].values()] for k in ("series", "base")}
        ratio = [val(data["series"][r]) / val(data["base"][r]) for r in common
                 if val(data["base"][r])]
        print(f"  {what:<9} series {spread(per['series'], fmt)}, base {spread(per['base'], fmt)}; "
              f"series/base {spread(ratio, '{:.3f}')}")
        rows += [row(run, what, k, xs) for k, xs in list(per.items()) + [("series/base", ratio)]
                 if xs]
    write_csv(a.csv, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
