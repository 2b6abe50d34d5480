#!/usr/bin/env python3
"""Unit tests of scripts/bench.py: its count checks must be able to fail.

Run: python3 -m unittest discover -s tests -p 'test_*.py'
"""
import os
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import bench  # noqa: E402

KUNIT_SRC = """\
static void arm_smmu_v3_write_ste_test_s2_to_nested(struct kunit *test)
{
	foo(test, NUM_EXPECTED_SYNCS(2));
}
"""


def marker(k):
    """The trace lines of marker K: TLBI_S2_IPA, NH_ALL, CMD_SYNC."""
    return [
        "smmuv3_cmdq_opcode <--- SMMU_CMD_TLBI_S2_IPA",
        f"smmuv3_range_inval vmid=1 asid=-1 addr=0x{0x10000000 + k * 0x1000:x} tg=1 "
        "num_pages=0x1 ttl=3 leaf=1 stage=2",
        "smmuv3_cmdq_opcode <--- SMMU_CMD_TLBI_NH_ALL",
        "smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC",
    ]


def va(pages):
    return [
        "smmuv3_cmdq_opcode <--- SMMU_CMD_TLBI_NH_VA",
        f"smmuv3_range_inval vmid=1 asid=1 addr=0x40000000 tg=1 num_pages=0x{pages:x} "
        "ttl=3 leaf=1 stage=1",
    ]


SYNC = ["smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC"]


class BenchTest(unittest.TestCase):
    def run_bench(self, log, trace):
        with tempfile.TemporaryDirectory() as d:
            paths = {n: os.path.join(d, n) for n in ("log", "trace", "src", "res")}
            for n, text in (("log", log), ("trace", trace), ("src", KUNIT_SRC)):
                with open(paths[n], "w") as f:
                    f.write("\n".join(text) + "\n" if isinstance(text, list) else text)
            rc = subprocess.run(
                [sys.executable, os.path.join(TOP, "scripts", "bench.py"),
                 "--log", paths["log"], "--trace", paths["trace"],
                 "--kunit-src", paths["src"], "--out", os.path.join(d, "out"),
                 "--results", paths["res"]],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
            with open(paths["res"]) as f:
                return rc, f.read().splitlines()

    def test_ril_commands(self):
        self.assertEqual(1, bench.ril_commands(1))
        self.assertEqual(1, bench.ril_commands(262144))
        self.assertEqual(2, bench.ril_commands(1000))
        self.assertEqual(4, bench.ril_commands(262143))

    def test_segments_skip_markers(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("\n".join(marker(0) + va(16) + SYNC + marker(1)) + "\n")
        segs, errors = bench.parse_trace(f.name)
        os.unlink(f.name)
        self.assertEqual([], errors)
        self.assertEqual(["SMMU_CMD_TLBI_NH_VA", "SMMU_CMD_SYNC"], segs[0]["ops"])
        self.assertEqual(16, segs[0]["pages"])
        self.assertEqual([], segs[1]["ops"])

    def test_good_range_passes(self):
        log = ["bench: mark 0 pages_16",
               "bench: count pages_16 kind=range pages=16 granules=16 entries=1 calls=1 kcmds=1 ksyncs=1",
               "bench: mark 1 end"]
        rc, res = self.run_bench(log, marker(0) + va(16) + SYNC + marker(1))
        self.assertIn("PASS bench:pages_16.commands", res)
        self.assertIn("PASS bench:pages_16.trace_is_driver", res)
        self.assertEqual(0, rc)

    def test_range_per_page_fails(self):
        log = ["bench: mark 0 pages_16",
               "bench: count pages_16 kind=range pages=16 granules=16 entries=1 calls=1 kcmds=16 ksyncs=1",
               "bench: mark 1 end"]
        rc, res = self.run_bench(log, marker(0) + va(1) * 16 + SYNC + marker(1))
        self.assertTrue(any(r.startswith("FAIL bench:pages_16.commands") for r in res))
        self.assertEqual(1, rc)

    def test_driver_count_mismatch_fails(self):
        log = ["bench: mark 0 pages_16",
               "bench: count pages_16 kind=range pages=16 granules=16 entries=1 calls=1 kcmds=2 ksyncs=1",
               "bench: mark 1 end"]
        rc, res = self.run_bench(log, marker(0) + va(16) + SYNC + marker(1))
        self.assertTrue(any(r.startswith("FAIL bench:pages_16.trace_is_driver") for r in res))

    def test_uncovered_range_fails(self):
        log = ["bench: mark 0 pages_16",
               "bench: count pages_16 kind=range pages=16 granules=16 entries=1 calls=1 kcmds=1 ksyncs=1",
               "bench: mark 1 end"]
        rc, res = self.run_bench(log, marker(0) + va(8) + SYNC + marker(1))
        self.assertTrue(any(r.startswith("FAIL bench:pages_16.commands") for r in res))

    def test_transition_against_kunit(self):
        log = ["    ok 1 arm_smmu_v3_write_ste_test_s2_to_nested",
               "bench: mark 0 s2_to_nested",
               "bench: count s2_to_nested kind=transition pages=0 granules=0 entries=0 calls=3 kcmds=3 ksyncs=3",
               "bench: mark 1 end"]
        ste = ["smmuv3_cmdq_opcode <--- SMMU_CMD_CFGI_STE"] + SYNC
        rc, res = self.run_bench(log, marker(0) + ste * 3 + marker(1))
        self.assertTrue(any(r.startswith("FAIL bench:s2_to_nested.hitless") for r in res))
        log[2] = log[2].replace("kcmds=3 ksyncs=3", "kcmds=2 ksyncs=2")
        rc, res = self.run_bench(log, marker(0) + ste * 2 + marker(1))
        self.assertIn("PASS bench:s2_to_nested.hitless", res)

    def test_cmdq_error_fails(self):
        log = ["bench: mark 0 all",
               "bench: count all kind=type pages=0 granules=0 entries=1 calls=1 kcmds=1 ksyncs=1"]
        trace = marker(0) + ["smmuv3_cmdq_opcode <--- SMMU_CMD_TLBI_NH_ALL",
                             "smmuv3_cmdq_consume_error Error on SMMU_CMD_TLBI_NH_ALL command execution: 1"] + SYNC
        rc, res = self.run_bench(log, trace)
        self.assertTrue(any(r.startswith("FAIL bench:no_cmdq_error") for r in res))

    def test_no_output_fails(self):
        rc, res = self.run_bench(["wb: done"], [])
        self.assertEqual(["FAIL bench:ran -- no 'bench: count' line in the guest log"], res)


if __name__ == "__main__":
    unittest.main()
