#!/usr/bin/env python3
"""Unit tests of scripts/bench_dma.py: the DMA API benchmark's latencies on
the base and the series, from boot logs.

Run: python3 -m unittest tests/test_bench_dma.py
"""
import os
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(TOP, "scripts", "bench_dma.py")


def log(maps, unmaps):
    return "wb: run dma_bench\n" + "".join(
        f"# dma_bench: round={i} granule=1 map_100ns={m} map_stddev=3 unmap_100ns={u} unmap_stddev=4\n"
        for i, (m, u) in enumerate(zip(maps, unmaps), 1))


class BenchDma(unittest.TestCase):
    def run_tool(self, files):
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for name, text in files.items():
                paths.append(os.path.join(d, name))
                with open(paths[-1], "w", encoding="utf-8") as f:
                    f.write(text)
            csv = os.path.join(d, "out.csv")
            p = subprocess.run([sys.executable, TOOL, "--csv", csv] + paths,
                               capture_output=True, text=True, check=False)
            rows = open(csv, encoding="utf-8").read().splitlines() if os.path.exists(csv) else []
            return p.returncode, p.stdout, rows

    def test_pairs(self):
        # a boot's figure is the median of its runs; round 2's machine is
        # slower for both kernels, the pair's ratio does not move
        rc, out, rows = self.run_tool({
            "dmabench-1.log": log([20, 22, 21], [40, 40, 41]),
            "dmabench-base-1.log": log([20, 20, 20], [40, 40, 40]),
            "dmabench-2.log": log([42, 42, 42], [80, 80, 80]),
            "dmabench-base-2.log": log([40, 40, 40], [80, 80, 80])})
        self.assertEqual(rc, 0, out)
        self.assertIn("map       series 3.15 (2.10-4.20), base 3.00 (2.00-4.00); "
                      "series/base 1.050 (1.050-1.050)", out)
        self.assertIn("unmap     series 6.00 (4.00-8.00), base 6.00 (4.00-8.00); "
                      "series/base 1.000 (1.000-1.000)", out)
        self.assertIn("map,series/base,1.050,1.050,1.050,2", rows)

    def test_no_figure_fails(self):
        rc, out, _ = self.run_tool({"dmabench-1.log": log([20], [40]),
                                    "dmabench-base-1.log": "wb: run dma_bench\nnot ok 1 x\n"})
        self.assertEqual(rc, 1)
        self.assertIn("no figure of the base", out)


if __name__ == "__main__":
    unittest.main()
