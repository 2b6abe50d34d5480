#!/usr/bin/env python3
"""Unit tests of scripts/parse.py: the harness must be able to fail.

Run: python3 -m unittest discover -s tests -p 'test_*.py'
"""
import os
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARSE = os.path.join(TOP, "scripts", "parse.py")

HEADER = """\
#define ARM_SMMU_FEAT_2_LVL_STRTAB	(1 << 0)
#define ARM_SMMU_FEAT_TRANS_S1		(1 << 9)
#define ARM_SMMU_FEAT_TRANS_S2		(1 << 10)
#define ARM_SMMU_FEAT_NESTING		(1 << 19)
"""

SMMU_NESTED = ("arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit "
               "(features 0x00080601)")
SMMU_S1 = ("arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit "
           "(features 0x00000201)")

KUNIT = """\
KTAP version 1
1..1
    KTAP version 1
    # Subtest: arm-smmu-v3-kunit-test
    # module: arm_smmu_v3_test
    1..3
    ok 1 case_one
{kunit_middle}    not ok 2 case_two
    ok 3 case_three # SKIP not here
# arm-smmu-v3-kunit-test: pass:1 fail:1 skip:1 total:3
not ok 1 arm-smmu-v3-kunit-test
"""

GUEST = """\
wb: init up
wb: edu 0000:00:01.0 bound to vfio-pci (/dev/vfio/devices/vfio0)
wb: 1 edu device(s); /dev/iommu present
wb: run iommufd
TAP version 13
1..3
# Starting 3 tests from 1 test cases.
#  RUN           fix.var.first ...
#            OK  fix.var.first
ok 1 fix.var.first
#  RUN           fix.var.second ...
{st_middle}#            FAIL  fix.var.second
not ok 2 fix.var.second
{third}wb: end iommufd rc={rc}
{done}"""

THIRD = """\
#  RUN           fix.var.third ...
ok 3 fix.var.third # SKIP no hugepages
"""


def run(log, machine="nested", qemu_rc=0, tests="iommufd"):
    with tempfile.TemporaryDirectory() as d:
        h = os.path.join(d, "arm-smmu-v3.h")
        l = os.path.join(d, "log")
        with open(h, "w", encoding="utf-8") as f:
            f.write(HEADER)
        with open(l, "w", encoding="utf-8") as f:
            f.write(log)
        out = subprocess.run(
            [sys.executable, PARSE, "--machine", machine, "--name", "m",
             "--qemu-rc", str(qemu_rc), "--tests", tests, "--header", h, l],
            check=True, capture_output=True, text=True).stdout
    return out.splitlines()


def make_log(smmu=SMMU_NESTED, kunit_middle="", st_middle="", third=THIRD,
             rc=1, done="wb: done\n"):
    return (smmu + "\n" + KUNIT.format(kunit_middle=kunit_middle) +
            GUEST.format(st_middle=st_middle, third=third, rc=rc, done=done))


def verdicts(lines):
    return {l.split(" -- ")[0].split(" ", 1)[1]: l.split(" ", 1)[0]
            for l in lines}


class ParseTest(unittest.TestCase):
    def test_cases_counted(self):
        v = verdicts(run(make_log()))
        self.assertEqual(v["m:boot.finished"], "PASS")
        self.assertEqual(v["m:boot.smmu_stages"], "PASS")
        self.assertEqual(v["m:boot.edu_vfio"], "PASS")
        self.assertEqual(v["m:kunit.arm-smmu-v3-kunit-test.case_one"], "PASS")
        self.assertEqual(v["m:kunit.arm-smmu-v3-kunit-test.case_two"], "FAIL")
        self.assertEqual(v["m:kunit.arm-smmu-v3-kunit-test.case_three"], "SKIP")
        self.assertEqual(v["m:kselftest.iommufd.fix.var.first"], "PASS")
        self.assertEqual(v["m:kselftest.iommufd.fix.var.second"], "FAIL")
        self.assertEqual(v["m:kselftest.iommufd.fix.var.third"], "SKIP")
        # rc=1 after a failed case: the program's run is a failure too.
        self.assertEqual(v["m:kselftest.iommufd.finished"], "FAIL")
        self.assertEqual(len(v), 10)

    def test_kmemleak_clean(self):
        log = make_log(rc=0, done="wb: kmemleak: 0 unreferenced object(s) after the tests\nwb: done\n")
        v = verdicts(run(log))
        self.assertEqual(v["m:kmemleak"], "PASS")

    def test_kmemleak_leak_fails(self):
        report = ("unreferenced object 0xffff000012345600 (size 64):\n"
                  "  comm \"iommufd\", pid 80, jiffies 4294901234\n"
                  "wb: kmemleak: 1 unreferenced object(s) after the tests\nwb: done\n")
        v = verdicts(run(make_log(rc=0, done=report)))
        self.assertEqual(v["m:kmemleak"], "FAIL")
        self.assertEqual(v["m:splat.init"], "FAIL")

    def test_clean_exit(self):
        v = verdicts(run(make_log(rc=0)))
        self.assertEqual(v["m:kselftest.iommufd.finished"], "PASS")

    def test_splat_in_kselftest_named(self):
        lines = run(make_log(st_middle="WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0\n"))
        fails = [l for l in lines if l.startswith("FAIL m:splat.")]
        self.assertEqual(len(fails), 1)
        self.assertIn("splat.kselftest.iommufd.fix.var.second", fails[0])

    def test_splat_in_kunit_named(self):
        lines = run(make_log(kunit_middle="BUG: KASAN: slab-out-of-bounds\n"))
        fails = [l for l in lines if l.startswith("FAIL m:splat.")]
        self.assertEqual(len(fails), 1)
        self.assertIn("splat.kunit.arm-smmu-v3-kunit-test.case2", fails[0])

    def test_other_splats(self):
        for s in ("unreferenced object 0xffff000012345678 (size 64):",
                  "UBSAN: shift-out-of-bounds in x.c:1:2",
                  "Internal error: Oops: 0000000096000004 [#1] SMP",
                  "Kernel panic - not syncing: Fatal exception",
                  "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
                  "arm-smmu-v3 9050000.smmuv3: CMDQ error (cons 0x01000004): Illegal command",
                  "arm-smmu-v3 9050000.smmuv3: unexpected global error reported (0x00000001), this could be serious"):
            lines = run(make_log(st_middle=s + "\n", rc=0))
            self.assertTrue(any(l.startswith("FAIL m:splat.") for l in lines), s)

    def test_truncated_plan(self):
        v = verdicts(run(make_log(third="", rc=0)))
        self.assertEqual(v["m:kselftest.iommufd.finished"], "FAIL")

    def test_test_timeout(self):
        log = make_log().replace("wb: end iommufd rc=1",
                                 "wb: end iommufd timeout=60")
        lines = run(log)
        fin = [l for l in lines if "kselftest.iommufd.finished" in l]
        self.assertTrue(fin[0].startswith("FAIL"))
        self.assertIn("deadline", fin[0])

    def test_hung_guest(self):
        v = verdicts(run(make_log(done=""), qemu_rc=124))
        self.assertEqual(v["m:boot.finished"], "FAIL")

    def test_crashed_guest(self):
        log = make_log(rc=0).split("wb: run iommufd")[0]
        v = verdicts(run(log, qemu_rc=0))
        self.assertEqual(v["m:boot.finished"], "FAIL")
        self.assertEqual(v["m:kselftest.iommufd.finished"], "FAIL")

    def test_stages(self):
        v = verdicts(run(make_log(smmu=SMMU_S1)))
        self.assertEqual(v["m:boot.smmu_stages"], "FAIL")
        v = verdicts(run(make_log(smmu=SMMU_S1), machine="s1only"))
        self.assertEqual(v["m:boot.smmu_stages"], "PASS")
        v = verdicts(run(make_log(smmu="")))
        self.assertEqual(v["m:boot.smmu_stages"], "FAIL")

    def test_edu_missing(self):
        log = make_log().replace("/dev/iommu present", "/dev/iommu missing")
        v = verdicts(run(log))
        self.assertEqual(v["m:boot.edu_vfio"], "FAIL")

    def test_timestamps_stripped(self):
        log = "\n".join("[    1.000000] " + l if not l.startswith("wb:") else l
                        for l in make_log(rc=0).splitlines())
        v = verdicts(run(log))
        self.assertEqual(v["m:kunit.arm-smmu-v3-kunit-test.case_one"], "PASS")


if __name__ == "__main__":
    unittest.main()
