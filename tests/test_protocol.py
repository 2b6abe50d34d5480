#!/usr/bin/env python3
"""Unit tests of scripts/protocol.py, the one reader of what guests print:
its TAP/KTAP parser, the kernel/console split, /init's lines and the
three-level machine's.

Run: python3 -m unittest discover -s tests -p 'test_*.py'
"""
import os
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import protocol  # noqa: E402

KTAP = """\
KTAP version 1
1..2
    KTAP version 1
    # Subtest: suite-a
    # module: a
    1..3
    ok 1 case_one
    # case_two: something went wrong
    not ok 2 case_two
        KTAP version 1
        # Subtest: case_param
        ok 1 param-0
        ok 2 param-1 # SKIP no such thing
    ok 3 case_param
# suite-a: pass:2 fail:1 skip:0 total:3
not ok 1 suite-a
    KTAP version 1
    # Subtest: suite-b
    1..1
    ok 1 - only # SKIP not on this machine
ok 2 suite-b
"""


def tree(text):
    return protocol.ktap(text.splitlines())


def summary(t):
    return [(x.depth, x.name, x.status) for x in t.walk()][1:]


class Tap(unittest.TestCase):
    def test_nested_ktap(self):
        t = tree(KTAP)
        self.assertEqual(summary(t), [
            (1, "suite-a", "failure"), (2, "case_one", "success"), (2, "case_two", "failure"),
            (2, "case_param", "success"), (3, "param-0", "success"), (3, "param-1", "skipped"),
            (1, "suite-b", "success"), (2, "only", "skipped")])
        self.assertEqual(t.error_count(), 0)
        self.assertEqual(t.subtests[1].subtests[0].reason, "not on this machine")
        self.assertEqual(t.subtests[0].plan, 3)
        self.assertIn("# case_two: something went wrong", t.subtests[0].log)

    def test_prefix_and_kernel_lines_around(self):
        # KTAP among other kernel messages, indented as its first line
        lines = ["Booting Linux", "  KTAP version 1"] + \
            ["  " + ln for ln in KTAP.splitlines()[1:]] + ["Run /init as init process",
                                                          "ok 3 not KUnit's"]
        t = protocol.ktap(lines)
        self.assertEqual([s.name for s in t.subtests], ["suite-a", "suite-b"])

    def test_stops_after_its_plan(self):
        t = tree(KTAP + "    ok 9 stray\nKTAP version 1\n1..1\nok 1 other\n")
        self.assertEqual(len(t.subtests), 2)
        self.assertEqual(t.error_count(), 0)

    def test_missing_case_and_result(self):
        # the suite planned 3 cases, printed 2, never its own result
        text = "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..3\n" \
               "    ok 1 a\n    ok 2 b\n"
        s = tree(text).subtests[0]
        self.assertEqual((s.name, s.status), ("s", "crashed"))
        self.assertIn("2 of 3 planned subtests", s.errors)
        self.assertTrue(any("no result line" in e for e in s.errors), s.errors)

    def test_numbering(self):
        t = tree("KTAP version 1\n1..2\nok 1 a\nok 3 b\n")
        self.assertEqual(t.subtests[1].errors, ["test number 3, expected 2"])

    def test_none(self):
        self.assertIsNone(tree("Booting Linux\nok 1 not a report\n"))

    def test_kselftest_stream(self):
        p = protocol.TapParser()
        kinds = [p.feed(ln).kind for ln in (
            "TAP version 13", "1..3", "# Starting 3 tests from 1 test cases.",
            "#  RUN           f.a ...", "ok 1 f.a", "not ok 2 f.b # XFAIL known",
            "ok 3 f.c # SKIP no hugepages")]
        self.assertEqual(kinds, ["version", "plan", "diag", "diag", "result", "result", "result"])
        r = p.root
        self.assertEqual((r.plan, len(r.subtests)), (3, 3))
        self.assertEqual([(t.name, t.ok, t.directive, t.reason) for t in r.subtests], [
            ("f.a", True, None, ""), ("f.b", False, "XFAIL", "known"),
            ("f.c", True, "SKIP", "no hugepages")])

    def test_empty_plan_skip(self):
        p = protocol.TapParser()
        p.feed("1..0 # SKIP no device")
        self.assertEqual((p.root.plan, p.root.plan_skip), (0, "no device"))

    def test_passed_subtests(self):
        self.assertEqual(protocol.passed_subtests(KTAP.splitlines()),
                         {"case_one", "case_param", "param-0"})


class Console(unittest.TestCase):
    def test_glued_and_joined(self):
        es = list(protocol.console([
            "#            OK  fix[   12.000000] WARNING: CPU: 1 PID: 7 at x.c:1 f\r\n",
            "[   12.000100] second message\r\n", ".var.first\r\n"]))
        self.assertEqual([(e.kind, e.text) for e in es], [
            ("c", "WARNING: CPU: 1 PID: 7 at x.c:1 f"), ("c", "second message"),
            ("u", "#            OK  fix.var.first")])
        self.assertEqual(es[0].raw, "[   12.000000] WARNING: CPU: 1 PID: 7 at x.c:1 f")

    def test_quoted_kernel_line_is_not_glued(self):
        line = "l2: klog [    6.70] arm-smmu-v3 x: ias 44-bit"
        es = list(protocol.console([line], protocol.L2_KLOG_QUOTE))
        self.assertEqual([(e.kind, e.text) for e in es], [("u", line)])

    def test_split_log_prefers_kmsg(self):
        es = protocol.split_log(["[    1.000000] early\n", "kmsg: [    1.000000] early\n",
                                 "wb: init up\n", "[    9.000000] Kernel panic - not syncing\n"])
        self.assertEqual([tuple(e) for e in es], [("k", 1.0, "early"), ("u", None, "wb: init up"),
                                                  ("k", 9.0, "Kernel panic - not syncing")])

    def test_splats_and_probe(self):
        self.assertTrue(protocol.is_splat("arm-smmu-v3 9050000.smmuv3: CMDQ error (cons 0x1)"))
        self.assertFalse(protocol.is_splat("arm-smmu-v3 9050000.smmuv3: EVTQ write aborted"))
        p = protocol.smmu_probes(["arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit "
                                  "(features 0x00088705)"])[0]
        bits = protocol.feature_bits()
        self.assertTrue(p.features & bits["NESTING"] and p.features & bits["TRANS_S2"])
        self.assertEqual(p.device, "9050000.smmuv3")


class Init(unittest.TestCase):
    def test_wb_lines(self):
        self.assertEqual(protocol.wb("wb: end iommufd timeout=240"),
                         protocol.Wb("end", ("iommufd", "timeout", "240"), "end iommufd timeout=240"))
        self.assertEqual(protocol.wb("wb: error: edu 0000:00:01.0: no driver bound").fields,
                         ("edu",))
        self.assertEqual(protocol.wb("wb: frobnicated").kind, "other")
        self.assertIsNone(protocol.wb("# wb: run x"))
        self.assertEqual(protocol.end_value("-11"), -11)
        self.assertEqual(protocol.end_value("fork"), "fork")

    def test_case_seed_story(self):
        self.assertEqual(protocol.case_started("#  RUN           nested_dma.copy ..."),
                         "nested_dma.copy")
        self.assertEqual(protocol.seed("# seed: 0x5eed (NESTED_DMA_SEED)"), "0x5eed")
        self.assertEqual(protocol.seed("# seed=7", r"^# seed=(\d+)"), "7")
        self.assertEqual(protocol.story("# story: DMA: 256 bytes"), "DMA: 256 bytes")

    def test_progress_command(self):
        with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
            f.write("kmsg: [    1.0]     ok 1 kunit_case\nwb: run iommufd\nTAP version 13\n"
                    "1..2\nok 1 a\nnot ok 2 b\nwb: end iommufd rc=1\nwb: run iommufd_smmuv3\n")
            f.flush()
            out = subprocess.run([sys.executable, os.path.join(TOP, "scripts", "protocol.py"),
                                  "progress", f.name], capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout, "iommufd_smmuv3 2\n")


class ThreeLevel(unittest.TestCase):
    def test_log(self):
        with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
            f.write("[    0.0] Booting\nl1: run name=accel index=1\n"
                    "L2[accel]| \x1b[2Jl2: boot run=accel uptime=7.5\n"
                    "L2[accel]| [   14.0] reboot: Power down\n"
                    "L2[accel]| l2: klog [    6.7] arm-smmu-v3 x: event 0x10 received:\n"
                    "L2[accel]| l2: disk wri[   15.0] nvme nvme0: glued\n"
                    "L2[accel]| te offset_mib=64\n")
            f.flush()
            log = protocol.ThreeLevelLog(f.name)
        self.assertEqual(log.l1_lines("run", name="accel"),
                         [("run name=accel index=1", {"name": "accel", "index": "1"})])
        self.assertEqual(log.l2["accel"], ["l2: boot run=accel uptime=7.5",
                                           "l2: klog [    6.7] arm-smmu-v3 x: event 0x10 received:",
                                           "l2: disk write offset_mib=64"])
        self.assertEqual(log.kernel, ["[    0.0] Booting"])
        self.assertEqual(log.l2_lines("accel", "disk")[0][1], {"offset_mib": "64"})

    def test_marks_from_pl011(self):
        con = protocol.Pl011()
        lines = [con.write(f"addr 0x000 value 0x{ord(c):08x} reg DR") for c in "l1: run name=accel\n"]
        self.assertEqual(lines[-1], "l1: run name=accel")
        self.assertEqual(protocol.l1_marks(lines[-1]), [("run:accel", True)])
        self.assertEqual(protocol.l1_marks("l1: teardown-dma run=accel end x=1"),
                         [("teardown:accel", False)])
        self.assertEqual(protocol.l1_marks("l1: after run=accel"), [])
        self.assertEqual(protocol.l1_marks("l1: vm name=two-b start uptime=9"),
                         [("vm:two-b", True), ("alone:two-a", False)])


if __name__ == "__main__":
    unittest.main()
