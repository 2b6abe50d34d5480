#!/usr/bin/env python3
"""Tests of scripts/demo.py: it tells only what passed, and fails loudly."""
import os
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(TOP, "scripts", "demo.py")

HEADER = """\
#define ARM_SMMU_FEAT_TRANS_S1		(1 << 9)
#define ARM_SMMU_FEAT_TRANS_S2		(1 << 10)
#define ARM_SMMU_FEAT_NESTING		(1 << 19)
"""

CONF = """\
program prog
intro The program plays a VMM.
case *.copy   DMA copies
case *.fault  faults
verdict it works: every case passed.
"""

LOG = """\
kmsg: [    1.000000] arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit (features 0x00080601)
wb: init up
wb: edu 0000:00:01.0 bound to vfio-pci (/dev/vfio/devices/vfio0)
wb: 1 edu device(s); /dev/iommu present
wb: run prog
#  RUN           fix.copy ...
# story: copied 64 bytes through IOVA 0x1000
ok 1 fix.copy
#  RUN           fix.fault ...
# story: fault received at 0x2000
not ok 2 fix.fault
wb: end prog rc=1
wb: done
"""

RESULTS = """\
PASS demo:boot.finished
PASS demo:kunit.suite.case_one
PASS demo:kselftest.prog.fix.copy
{fault} demo:kselftest.prog.fix.fault
{fin} demo:kselftest.prog.finished -- 2 results
"""


def run(results, log=LOG):
    with tempfile.TemporaryDirectory() as d:
        paths = {}
        for name, text in (("h", HEADER), ("conf", CONF), ("res", results), ("log", log)):
            paths[name] = os.path.join(d, name)
            with open(paths[name], "w", encoding="utf-8") as f:
                f.write(text)
        r = subprocess.run(
            [sys.executable, DEMO, "--header", paths["h"], "--base", "linux-source-6.12 6.12.117",
             "--patches", "28", "--qemu", "QEMU 10", "--machine", "virt", "--results",
             paths["res"], "--conf", paths["conf"], paths["log"]],
            capture_output=True, text=True, check=False)
    return r.returncode, r.stdout


class DemoTest(unittest.TestCase):
    def test_all_passed(self):
        rc, out = run(RESULTS.format(fault="PASS", fin="PASS"))
        self.assertEqual(rc, 0, out)
        self.assertIn("Verdict: it works: every case passed.", out)
        self.assertIn("fault received at 0x2000", out)
        self.assertIn("linux-source-6.12 6.12.117", out)

    def test_failed_case_not_told(self):
        rc, out = run(RESULTS.format(fault="FAIL", fin="FAIL"))
        self.assertEqual(rc, 1)
        self.assertNotIn("fault received at 0x2000", out)
        self.assertIn("copied 64 bytes", out)
        self.assertIn("[FAILED] fix.fault", out)
        self.assertIn("Verdict: FAILED", out)
        self.assertNotIn("it works", out)

    def test_splat_fails_the_verdict(self):
        res = RESULTS.format(fault="PASS", fin="PASS") + \
            "FAIL demo:splat.kselftest.prog.fix.copy -- WARNING: CPU: 0 PID: 1 at x.c:1\n"
        rc, out = run(res)
        self.assertEqual(rc, 1)
        self.assertIn("splat.kselftest.prog.fix.copy: WARNING", out)

    def test_hung_guest_fails_the_verdict(self):
        res = ("FAIL demo:boot.finished -- guest hung: killed at its wall-clock limit of 300s\n"
               "PASS demo:kselftest.prog.fix.copy\n"
               "FAIL demo:kselftest.prog.finished -- killed after its 240s deadline while in"
               " kselftest.prog.fix.fault (1 results)\n")
        rc, out = run(res)
        self.assertEqual(rc, 1)
        self.assertIn("guest hung", out)
        self.assertIn("did not finish cleanly", out)

    def test_only_results_are_read(self):
        """INFO lines and NA results (nothing tested) are not told, and do
        not fail the verdict."""
        res = ("INFO seed prog 42\nNA demo:kselftest.prog.fix.other -- nothing to test\n" +
               RESULTS.format(fault="PASS", fin="PASS"))
        rc, out = run(res)
        self.assertEqual(rc, 0, out)
        self.assertNotIn("fix.other", out)
        self.assertIn("2 of 2 reported cases passed", out)

    def test_no_results(self):
        rc, out = run("")
        self.assertEqual(rc, 1)
        self.assertIn("no result", out)


if __name__ == "__main__":
    unittest.main()
