#!/usr/bin/env python3
"""Unit tests of scripts/bench_dma.py: the DMA API benchmark's latencies on
the base and the series, from boot logs.

Run: python3 -m unittest tests/test_bench_dma.py
"""
import os
import sys
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(TOP, "scripts", "bench_dma.py")
sys.path.insert(0, os.path.join(TOP, "tests"))
import test_bench_upstream  # noqa: E402


def log(maps, unmaps):
    return "wb: run dma_bench\n" + "".join(
        f"# dma_bench: round={i} granule=1 map_100ns={m} map_stddev=3 unmap_100ns={u} unmap_stddev=4\n"
        for i, (m, u) in enumerate(zip(maps, unmaps), 1))


class BenchDma(unittest.TestCase):
    def run_tool(self, files, args=()):
        return test_bench_upstream.run_tool(TOOL, files, args)

    def test_pairs(self):
        # a boot's figure is the median of its runs; round 2's machine is
        # slower for both kernels, the pair's ratio does not move
        rc, out, rows = self.run_tool({
            "dmabench-1.log": log([20, 22, 21], [40, 40, 41]),
            "dmabench-base-1.log": log([20, 20, 20], [40, 40, 40]),
            "dmabench-2.log": log([42, 42, 42], [80, 80, 80]),
            "dmabench-base-2.log": log([40, 40, 40], [80, 80, 80])})
        self.assertEqual(rc, 0, out)
        want = ["  map       series 3.15 (2.10-4.20), base 3.00 (2.00-4.00); series/base 1.050 (1.050-1.050)",
                "  unmap     series 6.00 (4.00-8.00), base 6.00 (4.00-8.00); series/base 1.000 (1.000-1.000)"]
        self.assertEqual([ln for ln in out.splitlines() if ln.startswith(("  map ", "  unmap "))], want)
        self.assertIn("dma,map,series/base,1.050,1.050,1.050,2", rows)

    def test_icount_instructions(self):
        # shift 7: 128 ns per instruction, 1.28 per unit of 100 ns; the
        # boots are named insns-KERNEL-ROUND.log by bench-dma.sh
        rc, out, rows = self.run_tool({
            "insns-dmabench-1.log": log([1280, 1281, 1283], [3200, 3264, 3206]),
            "insns-dmabench-base-1.log": log([1280, 1280, 1280], [3136, 3136, 3137])},
            ("--icount", "7"))
        self.assertEqual(rc, 0, out)
        self.assertIn("shift=7", out)
        want = ["  map       series 1001 (1001-1001), base 1000 (1000-1000); series/base 1.001 (1.001-1.001)",
                "  unmap     series 2505 (2505-2505), base 2450 (2450-2450); series/base 1.022 (1.022-1.022)"]
        self.assertEqual([ln for ln in out.splitlines() if ln.startswith(("  map ", "  unmap "))], want)
        self.assertIn("dma-insns,unmap,series/base,1.022,1.022,1.022,1", rows)
        self.assertIn("dma-insns,map+unmap,base,3450.000,3450.000,3450.000,1", rows)

    def test_icount_shift_bounds(self):
        rc, _, _ = self.run_tool({"dmabench-1.log": log([20], [40])}, ("--icount", "11"))
        self.assertEqual(rc, 2)

    def test_no_figure_fails(self):
        rc, out, _ = self.run_tool({"dmabench-1.log": log([20], [40]),
                                    "dmabench-base-1.log": "wb: run dma_bench\nnot ok 1 x\n"})
        self.assertEqual(rc, 1)
        self.assertIn("no figure of the base", out)


if __name__ == "__main__":
    unittest.main()
