#!/usr/bin/env python3
"""Unit tests of scripts/demo_three_level.py (make demo's three-level story) and
scripts/bench_three_level.py (make bench's three-level ratios): a failed check makes
the story fail and is named; a skip is told as a skip; the ratios come
from the figures given.

Run: python3 -m unittest discover -s tests -p 'test_*.py'
"""
import os
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(TOP, "scripts", "demo_three_level.py")
BENCH = os.path.join(TOP, "scripts", "bench_three_level.py")

GOOD = """\
PASS three-level:l1.boot -- boot kernel=6.12.117+ uptime=3.29 cpus=2
PASS three-level:accel.l2-boot -- l2: boot run=accel kernel=6.12.117+deb13-cloud-arm64 uptime=14.22 cpus=1
PASS three-level:accel.disk.readback -- 67108864 bytes written and read back, 0 mismatches
SKIP three-level:accel.edu.dma -- L2's VFIO could not take edu
PASS three-level:accel.commands.TLBI_NH_VA -- L2's driver queued 1067; L0's SMMU consumed 1067 VMID 1 TLBI_NH_VA
"""
USED = "# ROLE PACKAGE ARCH VERSION SHA256 UNPACKED\nl1 qemu-system-arm arm64 1:11.1.3+ds-1 x /x\n"

MEASURED = """\
l0 wall_seconds=90.0 limit=240 qemu_rc=0
plain write_mib_s=80.0 read_mib_s=60.0 write_seconds=0.8 read_seconds=1.0
accel write_mib_s=20.0 read_mib_s=30.0 write_seconds=3.2 read_seconds=2.1
accel ratio_vs=plain write=0.25 read=0.50
accel guest_invalidate_calls=1076 workload:calls=1024 workload:done=1024
accel workload_guest_commands SYNC=1024 TLBI_NH_VA=1024
accel.l0 commands SMMU_CMD_SYNC=1363
"""


class TestDemoL3(unittest.TestCase):
    def run_demo(self, results):
        with tempfile.TemporaryDirectory() as d:
            r = os.path.join(d, "three-level.txt")
            u = os.path.join(d, "used.txt")
            with open(r, "w", encoding="utf-8") as f:
                f.write(results)
            with open(u, "w", encoding="utf-8") as f:
                f.write(USED)
            p = subprocess.run(["python3", DEMO, "--results", r, "--used", u,
                                "--l0-qemu", "QEMU emulator version 10.0.2"],
                               capture_output=True, text=True, check=False)
            return p.returncode, p.stdout

    def test_good_run(self):
        rc, out = self.run_demo(GOOD)
        self.assertEqual(rc, 0, out)
        self.assertIn("L1: kernel 6.12.117+ (this series)", out)
        self.assertIn("qemu-system-arm 1:11.1.3+ds-1", out)
        self.assertIn("[skipped] accel.edu.dma", out)
        self.assertIn("4 checks passed, 1 skipped", out)

    def test_failure_named(self):
        rc, out = self.run_demo(GOOD.replace("PASS three-level:accel.disk.readback -- 67108864 bytes written and read back, 0 mismatches",
                                             "FAIL three-level:accel.disk.readback -- 3 mismatches"))
        self.assertEqual(rc, 1, out)
        self.assertIn("[FAILED] accel.disk.readback: 3 mismatches", out)
        self.assertIn("Verdict (three levels): FAILED: 1 failure(s)", out)
        self.assertNotIn("none failed", out)

    def test_stories_from_results(self):
        # a story is told only from its own results: as it is when they
        # passed, as a failure when one did not, not at all without any
        life = ("PASS three-level:life.reboot -- boot 1 came up\n"
                "PASS three-level:life.unplug -- DEVICE_DELETED events: 1\n")
        rc, out = self.run_demo(GOOD + life)
        self.assertEqual(rc, 0, out)
        self.assertIn("  - the guest rebooted itself", out)
        self.assertIn("(2 checks).", out)
        self.assertNotIn("killed (kill -9)", out)
        rc, out = self.run_demo(GOOD + life.replace("PASS three-level:life.unplug", "FAIL three-level:life.unplug"))
        self.assertEqual(rc, 1, out)
        self.assertIn("  - FAILED (1 of 2 checks, e.g. life.unplug): the guest rebooted itself", out)

    def test_only_results_are_read(self):
        rc, out = self.run_demo("INFO a note\nNA three-level:accel.nothing -- no device\n" + GOOD)
        self.assertEqual(rc, 0, out)
        self.assertNotIn("accel.nothing", out)
        self.assertIn("4 checks passed, 1 skipped", out)

    def test_no_results(self):
        rc, out = self.run_demo("")
        self.assertEqual(rc, 1, out)
        self.assertIn("FAILED: the three-level machine gave no result", out)


class TestL3Bench(unittest.TestCase):
    def run_bench(self, text):
        with tempfile.TemporaryDirectory() as d:
            m = os.path.join(d, "m.txt")
            with open(m, "w", encoding="utf-8") as f:
                f.write(text)
            p = subprocess.run(["python3", BENCH, m, "64"], capture_output=True, text=True, check=False)
            return p.returncode, p.stdout

    def test_ratios_and_counts(self):
        rc, out = self.run_bench(MEASURED)
        self.assertEqual(rc, 0, out)
        accel = next(l for l in out.splitlines() if l.strip().startswith("accel"))
        self.assertEqual(accel.split()[1:], ["20.0", "30.0", "0.25x", "0.50x", "16.00", "8.00"])

    def test_no_data(self):
        rc, out = self.run_bench("l0 wall_seconds=90.0\n")
        self.assertEqual(rc, 1, out)
        self.assertIn("no run moved data", out)


if __name__ == "__main__":
    unittest.main()
