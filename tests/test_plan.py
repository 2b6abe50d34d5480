#!/usr/bin/env python3
"""Tests of configs/plan.conf and scripts/plan.py: the one data place parses,
and what it says holds together."""
import os
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import plan  # noqa: E402  pylint: disable=wrong-import-position


class PlanTest(unittest.TestCase):
    def test_plan_conf_holds_together(self):
        p = plan.load()
        self.assertTrue(p.check)
        for name in p.check:
            b = p.boot(name)
            self.assertGreater(b.limit, 0, name)
            for prog in b.programs:
                d = p.deadline(prog, b.variant)
                self.assertIsNotNone(d, f"{name}: no deadline for {prog}")
                self.assertLess(d, b.limit, f"{name}: {prog}'s deadline >= the boot's limit")
        self.assertTrue(p.kunit <= set(p.boots))

    def test_coverage_runs_the_nested_boot(self):
        """make coverage measures what make check's nested boot runs."""
        p = plan.load()
        cov, nested = p.boot("coverage"), p.boot("nested-test")
        self.assertIn("nested-test", p.check)
        self.assertEqual((cov.machine, cov.programs), (nested.machine, nested.programs))
        self.assertEqual(cov.variant, "coverage")
        self.assertIn("coverage", p.kunit)
        for prog in cov.programs:
            self.assertLess(p.deadline(prog, "coverage"), cov.limit, prog)

    def test_deadlines_and_specs(self):
        p = plan.load()
        self.assertEqual(p.programs("test", ["wb_faults"]), ["wb_faults@20"])
        spec = p.programs("debug", ["iommufd_nested_dma:-t:fault_storm"])[0]
        self.assertRegex(spec, r"^iommufd_nested_dma:-t:fault_storm@\d+$")

    def test_expected_skip_needs_its_reason(self):
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write("machine nested 12 -M virt\nboot b nested test 10 x\nskip b kselftest.x.* no device here\n")
        try:
            p = plan.load(f.name)
        finally:
            os.unlink(f.name)
        self.assertTrue(p.expected_skip("b", "kselftest.x.case", "no device here"))
        self.assertFalse(p.expected_skip("b", "kselftest.x.case", "another reason"))
        self.assertFalse(p.expected_skip("c", "kselftest.x.case", "no device here"))

    def test_errors_name_the_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write("machine nested 12 -M virt\nboot b nested test ten x\n")
        try:
            with self.assertRaisesRegex(plan.PlanError, r":2: "):
                plan.load(f.name)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
