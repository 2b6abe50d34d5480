#!/usr/bin/env python3
"""Unit tests of scripts/parse.py: the harness must be able to fail.

Run: python3 -m unittest discover -s tests -p 'test_*.py'
No kernel tree needed: KUnit's KTAP is parsed by scripts/protocol.py, and
the tree given to --tree holds only a made-up arm-smmu-v3.h.
"""
import os
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import parse  # noqa: E402

HEADER = """\
#define ARM_SMMU_FEAT_2_LVL_STRTAB	(1 << 0)
#define ARM_SMMU_FEAT_TRANS_S1		(1 << 9)
#define ARM_SMMU_FEAT_TRANS_S2		(1 << 10)
#define ARM_SMMU_FEAT_NESTING		(1 << 19)
"""

PLAN = """\
machine nested 12 -M virt
machine s1only 1 -M virt-9.1 -global arm-smmuv3.stage=1
boot m      nested test  300 iommufd
boot other  nested test  300 iommufd
boot dbg    nested debug 300 iommufd
boot s1     s1only test  300 iommufd
boot twice  nested test  300 iommufd,iommufd
kunit m dbg twice s1
skip m kselftest.iommufd.fix.var.third no hugepages
skip * kunit.arm-smmu-v3-kunit-test.case_three *
seedline ^# seed: (0x[0-9a-f]+)
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

KUNIT_OK = KUNIT.replace("    not ok 2 case_two", "    ok 2 case_two")

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


def kmsg(text, t=[0]):  # pylint: disable=dangerous-default-value
    """Kernel lines as /init copies them, with increasing timestamps."""
    out = []
    for line in text.splitlines():
        t[0] += 1
        out.append(f"kmsg: [{t[0]:5d}.000000] {line}")
    return "\n".join(out) + "\n" if out else ""


def run(log, boot="m", qemu_rc=0, tests=None, plan=PLAN):
    with tempfile.TemporaryDirectory() as d:
        hdir = os.path.join(d, "drivers/iommu/arm/arm-smmu-v3")
        os.makedirs(hdir)
        with open(os.path.join(hdir, "arm-smmu-v3.h"), "w", encoding="utf-8") as f:
            f.write(HEADER)
        conf = os.path.join(d, "plan.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(plan)
        l = os.path.join(d, "log")
        with open(l, "w", encoding="utf-8") as f:
            f.write(log)
        argv = ["--boot", boot, "--qemu-rc", str(qemu_rc), "--tree", d, "--plan", conf, l]
        if tests is not None:
            argv[:0] = ["--tests", tests]
        out = parse.run(argv)
    return out.splitlines()


def make_log(smmu=SMMU_NESTED, kunit=KUNIT, kunit_middle="", st_middle="",
             third=THIRD, rc=1, done="wb: done\n"):
    """A log of the new /init: the kernel's lines as "kmsg:" copies."""
    return (kmsg(smmu + "\n" + kunit.format(kunit_middle=kunit_middle)) +
            GUEST.format(st_middle=st_middle, third=third, rc=rc, done=done))


def console_log(**kw):
    """A log of an /init that does not copy the kernel log: the kernel's
    lines on the console, with timestamps."""
    log = make_log(**kw)
    return "\n".join("[    1.000000] " + l[len("kmsg: [    1.000000] "):]
                     if l.startswith("kmsg: ") else l for l in log.splitlines()) + "\n"


def verdicts(lines):
    return {l.split(" -- ")[0].split(" ", 1)[1]: l.split(" ", 1)[0]
            for l in lines if not l.startswith("INFO ")}


def why(lines, name):
    return [l for l in lines if l.split(" -- ")[0].split(" ", 1)[1] == name][0]


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

    def test_kunit_counted_once_per_kernel(self):
        # "other" is not a kunit boot: its passes are not counted again, its
        # failures are.
        v = verdicts(run(make_log(), boot="other"))
        self.assertNotIn("other:kunit.arm-smmu-v3-kunit-test.case_one", v)
        self.assertNotIn("other:kunit.arm-smmu-v3-kunit-test.case_three", v)
        self.assertEqual(v["other:kunit.arm-smmu-v3-kunit-test.case_two"], "FAIL")

    def test_kunit_suite_fails_at_top_level(self):
        log = make_log(kunit=KUNIT_OK)
        v = verdicts(run(log))
        self.assertEqual(v["m:kunit.arm-smmu-v3-kunit-test.case_two"], "PASS")
        self.assertEqual(v["m:kunit.arm-smmu-v3-kunit-test"], "FAIL")
        ok = log.replace("not ok 1 arm-smmu-v3-kunit-test", "ok 1 arm-smmu-v3-kunit-test")
        self.assertNotIn("m:kunit.arm-smmu-v3-kunit-test", verdicts(run(ok)))

    def test_kunit_missing(self):
        log = make_log().replace("KTAP version 1", "nothing")
        self.assertEqual(verdicts(run(log))["m:kunit"], "FAIL")

    def test_kunit_short_of_its_plan(self):
        log = make_log(kunit=KUNIT_OK).replace(
            "ok 3 case_three # SKIP not here", "other message")
        lines = run(log)
        self.assertTrue(any(l.startswith("FAIL m:kunit") for l in lines), lines)

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

    def test_debug_without_kmemleak_scan(self):
        v = verdicts(run(make_log(rc=0), boot="dbg"))
        self.assertEqual(v["dbg:kmemleak"], "FAIL")
        log = make_log(rc=0, done="wb: kmemleak: 0 unreferenced object(s) after the tests\nwb: done\n")
        self.assertEqual(verdicts(run(log, boot="dbg"))["dbg:kmemleak"], "PASS")

    def test_clean_exit(self):
        v = verdicts(run(make_log(rc=0)))
        self.assertEqual(v["m:kselftest.iommufd.finished"], "PASS")

    def test_splat_in_kselftest_named(self):
        lines = run(make_log(st_middle=kmsg("WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0")))
        fails = [l for l in lines if l.startswith("FAIL m:splat.")]
        self.assertEqual(len(fails), 1)
        self.assertIn("splat.kselftest.iommufd.fix.var.second", fails[0])

    def test_splat_after_the_result_line_is_the_cases(self):
        log = make_log(rc=0).replace(
            "ok 1 fix.var.first\n",
            "ok 1 fix.var.first\n" + kmsg("WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0"))
        fails = [l for l in run(log) if l.startswith("FAIL m:splat.")]
        self.assertEqual(len(fails), 1)
        self.assertIn("splat.kselftest.iommufd.fix.var.first", fails[0])

    def test_splat_inside_a_test_line(self):
        # The old console: a kernel message lands in the middle of a line
        # of the test's output, which begins with "#".
        log = console_log(rc=0).replace(
            "#            OK  fix.var.first",
            "#            OK  fix[   12.000000] WARNING: CPU: 1 PID: 7 at x.c:1 f\n.var.first")
        lines = run(log)
        fails = [l for l in lines if l.startswith("FAIL m:splat.")]
        self.assertEqual(len(fails), 1, lines)
        self.assertIn("splat.kselftest.iommufd.fix.var.first", fails[0])

    def test_splat_only_in_console_copy_counted_once(self):
        # The same message on the console and copied by /init: one failure.
        log = make_log(rc=0, st_middle=kmsg("WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0"))
        stamp = [l for l in log.splitlines() if "WARNING" in l][0][len("kmsg: "):]
        log = stamp + "\n" + log
        fails = [l for l in run(log) if l.startswith("FAIL m:splat.")]
        self.assertEqual(len(fails), 1, fails)

    def test_console_after_copy_stopped(self):
        # The kernel panics after /init's last copy: the console's line counts.
        log = make_log(rc=0) + "[99999.000000] Kernel panic - not syncing: Fatal\n"
        self.assertTrue(any(l.startswith("FAIL m:splat.") for l in run(log)))

    def test_splat_in_kunit_named(self):
        lines = run(make_log(kunit_middle="BUG: KASAN: slab-out-of-bounds\n"))
        fails = [l for l in lines if l.startswith("FAIL m:splat.")]
        self.assertEqual(len(fails), 1)
        self.assertIn("splat.kunit.arm-smmu-v3-kunit-test", fails[0])

    def test_other_splats(self):
        for s in ("unreferenced object 0xffff000012345678 (size 64):",
                  "UBSAN: shift-out-of-bounds in x.c:1:2",
                  "Internal error: Oops: 0000000096000004 [#1] SMP",
                  "Kernel panic - not syncing: Fatal exception",
                  "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
                  "INFO: task iommufd_nested:93 blocked for more than 60 seconds.",
                  "arm-smmu-v3 9050000.smmuv3: CMDQ error (cons 0x01000004): Illegal command",
                  "arm-smmu-v3 9050000.smmuv3: unexpected global error reported (0x00000001), this could be serious"):
            lines = run(make_log(st_middle=kmsg(s), rc=0))
            self.assertTrue(any(l.startswith("FAIL m:splat.") for l in lines), s)

    def test_truncated_plan(self):
        v = verdicts(run(make_log(third="", rc=0)))
        self.assertEqual(v["m:kselftest.iommufd.finished"], "FAIL")

    def test_more_results_than_planned(self):
        extra = THIRD + "ok 4 fix.var.fourth\n"
        v = verdicts(run(make_log(third=extra, rc=0)))
        self.assertEqual(v["m:kselftest.iommufd.finished"], "FAIL")

    def test_no_plan(self):
        log = make_log(rc=0).replace("\n1..3\n", "\n")  # the program's plan only
        lines = run(log)
        self.assertIn("no TAP plan", why(lines, "m:kselftest.iommufd.finished"))
        self.assertTrue(why(lines, "m:kselftest.iommufd.finished").startswith("FAIL"))

    def test_empty_plan_skip(self):
        guest = GUEST.split("TAP version 13")[0] + (
            "TAP version 13\n1..0 # SKIP no device\nwb: end iommufd rc=4\nwb: done\n")
        log = kmsg(SMMU_NESTED + "\n" + KUNIT_OK) + guest
        lines = run(log)
        self.assertTrue(why(lines, "m:kselftest.iommufd").startswith("FAIL"), lines)
        plan = PLAN + "skip m kselftest.iommufd no device\n"
        self.assertTrue(why(run(log, plan=plan), "m:kselftest.iommufd").startswith("SKIP"))

    def test_unexpected_skip(self):
        third = THIRD.replace("no hugepages", "no VFIO device cdev")
        lines = run(make_log(third=third, rc=0))
        line = why(lines, "m:kselftest.iommufd.fix.var.third")
        self.assertTrue(line.startswith("FAIL"), line)
        self.assertIn("unexpected skip: no VFIO device cdev", line)
        # The same skip on a boot that does not expect it
        v = verdicts(run(make_log(rc=0), boot="other"))
        self.assertEqual(v["other:kselftest.iommufd.fix.var.third"], "FAIL")

    def test_xfail(self):
        third = "#  RUN           fix.var.third ...\nnot ok 3 fix.var.third # XFAIL known\n"
        v = verdicts(run(make_log(third=third, rc=0)))
        self.assertEqual(v["m:kselftest.iommufd.fix.var.third"], "FAIL")
        third = "#  RUN           fix.var.third ...\nok 3 fix.var.third # XFAIL known\n"
        v = verdicts(run(make_log(third=third, rc=0)))
        self.assertEqual(v["m:kselftest.iommufd.fix.var.third"], "PASS")

    def test_hung_case(self):
        # The third case never ends: /init kills the program at its deadline
        log = make_log(third="#  RUN           fix.var.third ...\n").replace(
            "wb: end iommufd rc=1", "wb: end iommufd timeout=60")
        lines = run(log)
        fin = [l for l in lines if "kselftest.iommufd.finished" in l]
        self.assertTrue(fin[0].startswith("FAIL"))
        self.assertIn("deadline", fin[0])
        self.assertIn("fix.var.third", fin[0])

    def test_hung_guest(self):
        v = verdicts(run(make_log(done=""), qemu_rc=124))
        self.assertEqual(v["m:boot.finished"], "FAIL")

    def test_qemu_fails_after_done(self):
        v = verdicts(run(make_log(rc=0), qemu_rc=1))
        self.assertEqual(v["m:boot.finished"], "FAIL")

    def test_crashed_guest(self):
        log = make_log(rc=0).split("wb: run iommufd")[0]
        v = verdicts(run(log, qemu_rc=0))
        self.assertEqual(v["m:boot.finished"], "FAIL")
        self.assertEqual(v["m:kselftest.iommufd.finished"], "FAIL")

    def test_stages(self):
        v = verdicts(run(make_log(smmu=SMMU_S1)))
        self.assertEqual(v["m:boot.smmu_stages"], "FAIL")
        v = verdicts(run(make_log(smmu=SMMU_S1), boot="s1"))
        self.assertEqual(v["s1:boot.smmu_stages"], "PASS")
        v = verdicts(run(make_log(smmu="")))
        self.assertEqual(v["m:boot.smmu_stages"], "FAIL")

    def test_edu_missing(self):
        log = make_log().replace("/dev/iommu present", "/dev/iommu missing")
        v = verdicts(run(log))
        self.assertEqual(v["m:boot.edu_vfio"], "FAIL")

    def test_kmsg_lost(self):
        log = make_log(rc=0).replace("wb: init up", "wb: init up\nwb: kmsg: 3 record(s) lost")
        self.assertEqual(verdicts(run(log))["m:boot.kernel_log"], "FAIL")

    def test_console_log(self):
        v = verdicts(run(console_log(rc=0)))
        self.assertEqual(v["m:kunit.arm-smmu-v3-kunit-test.case_one"], "PASS")
        self.assertEqual(v["m:boot.smmu_stages"], "PASS")

    def test_repeated_program(self):
        log = make_log(rc=0)
        run1 = log[log.index("wb: run iommufd"):log.index("wb: done")]
        log = log.replace("wb: done", run1 + "wb: done")
        v = verdicts(run(log, boot="twice"))
        self.assertEqual(v["twice:kselftest.iommufd#1.fix.var.first"], "PASS")
        self.assertEqual(v["twice:kselftest.iommufd#2.fix.var.first"], "PASS")
        self.assertEqual(v["twice:kselftest.iommufd#2.finished"], "PASS")
        v = verdicts(run(make_log(rc=0), boot="twice"))
        self.assertEqual(v["twice:kselftest.iommufd.finished"], "FAIL")

    def test_seed_reported(self):
        log = make_log(rc=0).replace("TAP version 13", "TAP version 13\n# seed: 0x1234 (replay)")
        self.assertIn("INFO seed iommufd 0x1234", run(log))


if __name__ == "__main__":
    unittest.main()
