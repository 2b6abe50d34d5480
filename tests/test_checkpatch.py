#!/usr/bin/env python3
"""Tests of scripts/checkpatch_checks.py: a CHECK fails unless explained."""
import os
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(TOP, "scripts", "checkpatch_checks.py")

PATCH = """\
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: A <a@b.c>
Subject: [PATCH 03/28] iommu/arm-smmu: Tell whether a domain is a nest
 parent

diff --git a/x.c b/x.c
"""

LOG = """\
CHECK: Alignment should match open parenthesis
#41: FILE: drivers/iommu/x.c:12:
+	foo(a,

CHECK: Please don't use multiple blank lines
#50: FILE: drivers/iommu/x.c:20:
+

total: 0 errors, 0 warnings, 2 checks, 30 lines checked
"""


def run(exceptions):
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for name, text in (("exc", exceptions), ("p.patch", PATCH), ("log", LOG)):
            paths.append(os.path.join(d, name))
            with open(paths[-1], "w", encoding="utf-8") as f:
                f.write(text)
        r = subprocess.run([sys.executable, TOOL] + paths, capture_output=True, text=True,
                           check=False)
    return r.returncode, r.stdout.splitlines(), r.stderr


class CheckpatchTest(unittest.TestCase):
    def test_unexplained_checks_fail(self):
        rc, out, _ = run("# none\n")
        self.assertEqual(rc, 1)
        self.assertEqual(out, ["CHECK: Alignment should match open parenthesis (drivers/iommu/x.c:12:)",
                               "CHECK: Please don't use multiple blank lines (drivers/iommu/x.c:20:)"])

    def test_exception_explains_one(self):
        rc, out, _ = run("subject iommu/arm-smmu: Tell whether a domain is a nest parent\n"
                         "check Alignment should match open parenthesis\n"
                         "why the macro's arguments line up\n")
        self.assertEqual(rc, 1)
        self.assertEqual(len(out), 1)
        self.assertIn("multiple blank lines", out[0])

    def test_exception_of_another_patch(self):
        rc, _, _ = run("subject another patch\ncheck Alignment should match open parenthesis\n"
                       "why x\n")
        self.assertEqual(rc, 1)

    def test_all_explained(self):
        rc, out, _ = run(
            "subject iommu/arm-smmu: Tell whether a domain is a nest parent\n"
            "check Alignment should match open parenthesis\nwhy a\n\n"
            "subject iommu/arm-smmu: Tell whether a domain is a nest parent\n"
            "check Please don't use multiple blank lines\nwhy b\n")
        self.assertEqual((rc, out), (0, []))

    def test_exception_needs_a_reason(self):
        rc, _, err = run("subject iommu/arm-smmu: Tell whether a domain is a nest parent\n"
                         "check Please don't use multiple blank lines\n")
        self.assertNotEqual(rc, 0)
        self.assertIn("why:", err)


if __name__ == "__main__":
    unittest.main()
