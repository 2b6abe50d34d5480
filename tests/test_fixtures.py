#!/usr/bin/env python3
"""The parsers on real serial logs (tests/data/logs/, see its README): the
verdicts of every boot kind and of the three-level machine, and a
corrupted copy of a good log must fail: a kernel WARNING inside a case,
one glued into the middle of a line, a missing "wb: done".

Run: python3 -m unittest discover -s tests -p 'test_*.py'
No kernel tree, no build directory, no network: the logs are all there is.
"""
import collections
import functools
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(TOP, "tests", "data", "logs")
sys.path.insert(0, os.path.join(TOP, "scripts"))
import parse as parse_py  # noqa: E402
import protocol  # noqa: E402
import results  # noqa: E402
import three_level_parse  # noqa: E402

# KUnit's cases, on the boots plan.conf counts them on: arm-smmu-v3-kunit-test
# (64 that day, 60 on the older debug build) and io-pgtable-arm's 6
KUNIT_CASES = {"nested-test": 70, "coverage": 70, "nested-debug": 66}
PROGRAMS = ("iommufd", "iommufd_fail_nth", "iommufd_smmuv3", "iommufd_nested_dma")
# boot -> (passed, failed, skipped), the failures by name
BOOTS = {
    "nested-test": ((97, 0, 0), []),
    "coverage": ((97, 0, 0), []),
    "nested-debug": ((92, 5, 0), [
        "kselftest.iommufd.iommufd_dirty_tracking.domain_dirty128M.get_dirty_bitmap",
        "kselftest.iommufd.iommufd_dirty_tracking.domain_dirty128M.get_dirty_bitmap_no_clear",
        "kselftest.iommufd.finished",
        "kselftest.iommufd_nested_dma.nested_dma.fault_storm_teardown",
        "kselftest.iommufd_nested_dma.finished"]),
    "s1only-test": ((8, 0, 37), []),
    "s2only-test": ((8, 0, 37), []),
    "nested-nocanwbs-test": ((8, 0, 37), []),
    "wb-faults": ((4, 3, 0), ["splat.kselftest.wb_faults.wb_faults.warning_inside_output",
                              "kselftest.wb_faults.wb_faults.unexpected_skip",
                              "kselftest.wb_faults.finished"]),
}
STAGES = {"s1only-test": "TRANS_S1", "s2only-test": "TRANS_S2"}


def read(name):
    with open(os.path.join(DATA, name), encoding="utf-8", newline="") as f:
        return f.read()


@functools.lru_cache(maxsize=None)
def parse(boot, log=None, qemu_rc=0):
    """parse.py on a fixture (or a changed copy of it): {NAME: Result}
    (each once: the checks only read it)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "boot.log")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(read(f"{boot}.log") if log is None else log)
        out = parse_py.run(["--boot", boot, "--qemu-rc", str(qemu_rc), "--tree", d, path])
    rs = [r for r in map(results.parse, out.splitlines()) if r]
    return {r.name.split(":", 1)[1]: r for r in rs}


def fails(rs):
    return sorted(n for n, r in rs.items() if r.verdict == "FAIL")


class BootFixtures(unittest.TestCase):
    """Every boot kind's verdicts, as that day's run gave them."""

    def test_verdicts(self):
        for boot, (count, failed) in BOOTS.items():
            with self.subTest(boot=boot):
                rs = parse(boot)
                c = results.counts(list(rs.values()))
                self.assertEqual((c["PASS"], c["FAIL"], c["SKIP"]), count)
                self.assertEqual(fails(rs), sorted(failed))
                self.assertEqual(rs["boot.finished"].verdict, "PASS")

    def test_kunit_counted_where_plan_says(self):
        for boot in BOOTS:
            with self.subTest(boot=boot):
                kunit = [n for n in parse(boot) if n.startswith("kunit.")]
                self.assertEqual(len(kunit), KUNIT_CASES.get(boot, 0), kunit[:3])

    def test_command_line(self):
        # parse.py as run.sh runs it: the same lines
        path = os.path.join(DATA, "wb-faults.log")
        out = subprocess.run([sys.executable, os.path.join(TOP, "scripts", "parse.py"),
                              "--boot", "wb-faults", "--qemu-rc", "0", "--tree", DATA, path],
                             check=True, capture_output=True, text=True).stdout
        self.assertEqual(out, parse_py.run(["--boot", "wb-faults", "--qemu-rc", "0",
                                            "--tree", DATA, path]))

    def test_every_program_finished(self):
        rs = parse("nested-test")
        for prog in PROGRAMS:
            self.assertEqual(rs[f"kselftest.{prog}.finished"].verdict, "PASS", prog)
        self.assertIn("kselftest.iommufd_nested_dma.nested_dma.copy", rs)

    def test_stages_of_the_machine(self):
        for boot, feature in STAGES.items():
            with self.subTest(boot=boot):
                why = parse(boot)["boot.smmu_stages"].why
                self.assertTrue(why.endswith(": " + feature), why)
        self.assertIn("TRANS_S1+TRANS_S2+NESTING", parse("nested-test")["boot.smmu_stages"].why)

    def test_expected_skips_say_why(self):
        rs = parse("nested-nocanwbs-test")
        skip = rs["kselftest.iommufd_nested_dma.nested_dma.copy"]
        self.assertEqual(skip.verdict, "SKIP")
        self.assertIn("EOPNOTSUPP", skip.why)

    def test_kmemleak_scan_on_debug(self):
        self.assertEqual(parse("nested-debug")["kmemleak"].verdict, "PASS")
        self.assertNotIn("kmemleak", parse("nested-test"))

    def test_wb_faults_named(self):
        rs = parse("wb-faults")
        self.assertIn("WARNING: CPU: 0 PID: 1 at wb_faults.c:1",
                      rs["splat.kselftest.wb_faults.wb_faults.warning_inside_output"].why)
        self.assertIn("deadline", rs["kselftest.wb_faults.finished"].why)


def case_lines(log, case):
    """The start of a case's "#  RUN" line and of its result line in a log."""
    run = log.index(f"#  RUN           {case} ...")
    ok = log.index("ok ", log.index(f"#            OK  {case}", run))
    return run, ok


class CorruptedCopies(unittest.TestCase):
    """A good log, broken on purpose: the verdict must fail, by name."""

    CASE = "nested_dma.copy"

    def test_missing_done(self):
        log = read("nested-test.log").replace("wb: done\r\n", "")
        rs = parse("nested-test", log)
        self.assertEqual(fails(rs), ["boot.finished"])
        self.assertIn("before 'wb: done'", rs["boot.finished"].why)

    def test_warning_inside_a_case(self):
        log = read("nested-test.log")
        _, ok = case_lines(log, self.CASE)
        warn = "kmsg: [   50.000000] WARNING: CPU: 1 PID: 90 at drivers/iommu/x.c:1 f+0x0\r\n"
        rs = parse("nested-test", log[:ok] + warn + log[ok:])
        self.assertEqual(fails(rs), [f"splat.kselftest.iommufd_nested_dma.{self.CASE}"])

    def test_warning_glued_into_a_line(self):
        # The console printed a kernel message in the middle of the case's
        # result line: the warning is the case's, and the line, joined
        # again, still says the case passed.
        log = read("nested-test.log")
        _, ok = case_lines(log, self.CASE)
        cut = ok + len("ok 1 nested_dma.")
        glued = log[:cut] + "[  999.000000] WARNING: CPU: 0 PID: 1 at x.c:1 f\r\n" + log[cut:]
        self.assertIn("ok 1 nested_dma.[  999.000000] WARNING", glued)
        rs = parse("nested-test", glued)
        self.assertEqual(fails(rs), [f"splat.kselftest.iommufd_nested_dma.{self.CASE}"])
        self.assertEqual(rs[f"kselftest.iommufd_nested_dma.{self.CASE}"].verdict, "PASS")
        self.assertEqual(rs["kselftest.iommufd_nested_dma.finished"].verdict, "PASS")

    def test_hung_guest(self):
        log = read("nested-test.log")
        rs = parse("nested-test", log[:log.index("wb: run iommufd_smmuv3")], qemu_rc=124)
        self.assertEqual(fails(rs), ["boot.finished", "kselftest.iommufd_nested_dma.finished",
                                     "kselftest.iommufd_smmuv3.finished"])


class GluedKmsg(unittest.TestCase):
    """A real capture: the console printed a kernel message (line 5, at
    111.650300) in the middle of /init's copy of another (111.628339),
    the rest of /init's line (only its end) two lines later."""

    def entries(self):
        with open(os.path.join(DATA, "glued-kmsg.log"), encoding="utf-8", newline="") as f:
            return protocol.split_log(f)

    def test_split_and_joined(self):
        es = self.entries()
        self.assertEqual([e.kind for e in es], ["k"] * 6)
        self.assertEqual([e.ts for e in es], [111.547179, 111.627521, 111.628339,
                                              111.650300, 111.651036, 111.735444])
        self.assertEqual(es[2].text, "arm-smmu-v3 9050000.smmuv3: EVTQ write aborted -- "
                         "events may have been lost")
        self.assertFalse([e for e in es if "[" in e.text])

    def test_console_copy_counted_once(self):
        # each message once: /init's copies, and the console's line that
        # came after the last copy
        texts = [e.text for e in self.entries()]
        self.assertEqual(collections.Counter(map(protocol.is_splat, texts))[True], 3)


class ThreeLevelFixture(unittest.TestCase):
    """three_level_parse.py on a real run (plain,accel), its image checks
    by a stand-in of l3_disk-host (the 132 MiB image is not kept)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.trace = os.path.join(d, "trace.log")
        with gzip.open(os.path.join(DATA, "three-level-trace.log.gz"), "rb") as src, \
                open(cls.trace, "wb") as dst:
            shutil.copyfileobj(src, dst)
        cls.tool = os.path.join(d, "l3_disk-host")
        with open(cls.tool, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\necho \"host: disk verify offset_mib=$3 (stand-in)\"\n")
        os.chmod(cls.tool, 0o755)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def parse(self, serial=None):
        d = tempfile.mkdtemp(dir=self.tmp.name)
        log = os.path.join(d, "serial.log")
        with open(log, "w", encoding="utf-8", newline="") as f:
            f.write(read("three-level-serial.log") if serial is None else serial)
        argv = ["--log", log, "--trace", self.trace, "--disk", os.path.join(d, "disk.img"),
                "--disk-tool", self.tool, "--runs", "plain,accel", "--mib", "64",
                "--host-off-mib", "128", "--host-mib", "4", "--host-seed", "0x4057",
                "--qemu-rc", "0", "--wall", "98.8", "--limit", "240",
                "--measured", os.path.join(d, "measured.txt")]
        if serial is None:
            # as three-level.sh runs it, on the log as it is
            out = subprocess.run([sys.executable, os.path.join(TOP, "scripts",
                                                               "three_level_parse.py")] + argv,
                                 check=True, capture_output=True, text=True).stdout
        else:
            out = three_level_parse.run(argv)
        return {r.name.split(":", 1)[1]: r for r in map(results.parse, out.splitlines()) if r}

    def test_verdicts(self):
        rs = self.parse()
        c = results.counts(list(rs.values()))
        # the skips: edu's DMA over L2's VFIO (QEMU's RMR), and TLBI_NH_VAA,
        # which L2's driver never sends ("not exercised")
        self.assertEqual((c["PASS"], c["FAIL"], c["SKIP"]), (46, 0, 2))
        self.assertEqual(rs["accel.edu.dma"].verdict, "SKIP")
        self.assertIn("1:1 IOMMU mapping", rs["accel.edu.dma"].why)
        for name in ("accel.l0.nvme-two-stage-walk", "accel.commands.TLBI_NH_VA",
                     "accel.teardown.dma-reaches-nothing", "plain.disk.readback",
                     "l1.no-splat", "ratio.accel-vs-plain"):
            self.assertEqual(rs[name].verdict, "PASS", name)
        self.assertIn("1067 VMID 1 TLBI_NH_VA", rs["accel.commands.TLBI_NH_VA"].why)

    def test_warning_in_l1(self):
        serial = read("three-level-serial.log").replace(
            "l1: done", "[  95.000000] WARNING: CPU: 1 PID: 7 at x.c:1 f\r\nl1: done", 1)
        self.assertEqual(fails(self.parse(serial)), ["l1.splat"])

    def test_warning_glued_into_an_l1_line(self):
        # L1's kernel message in the middle of one of its /init's lines:
        # a splat, and the line still read whole
        serial = read("three-level-serial.log")
        at = serial.index("l1: after run=accel ") + len("l1: after run=acc")
        serial = serial[:at] + "[  95.000000] WARNING: CPU: 1 PID: 7 at x.c:1 f\r\n" + serial[at:]
        rs = self.parse(serial)
        self.assertEqual(fails(rs), ["l1.splat"])
        self.assertEqual(rs["accel.devices-back"].verdict, "PASS")

    def test_l2_did_not_finish(self):
        serial = read("three-level-serial.log").replace("L2[accel]| l2: done", "L2[accel]| l2: gone")
        self.assertEqual(fails(self.parse(serial)), ["accel.poweroff"])


if __name__ == "__main__":
    unittest.main()
