#!/usr/bin/env python3
"""Unit tests of scripts/coverage.py (make coverage's host half) and of
/init's gcov archive (guest/init.c, built for the host here).

Run: python3 -m unittest discover -s tests -p 'test_*.py'
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import coverage as cov  # noqa: E402  pylint: disable=wrong-import-position

DIFF = """\
diff --git a/d/a.c b/d/a.c
index 1111111..2222222 100644
--- a/d/a.c
+++ b/d/a.c
@@ -3,0 +4,2 @@ int f(void)
+	x = 1;
+	y = 2;
@@ -10 +12 @@ int g(void)
-	old();
+	new();
diff --git a/d/gone.c b/d/gone.c
deleted file mode 100644
--- a/d/gone.c
+++ /dev/null
@@ -1,2 +0,0 @@
-int gone;
-int gone2;
diff --git a/d/new.h b/d/new.h
new file mode 100644
--- /dev/null
+++ b/d/new.h
@@ -0,0 +1,3 @@
+#define A 1
+
+#define B 2
"""

SHA1 = "1" * 40
SHA2 = "2" * 40
BASE = "b" * 40
BLAME = f"""\
{BASE} 1 1 3
author X
boundary
filename d/a.c
{SHA1} 4 4 2
author Y
summary first
filename d/a.c
{SHA2} 12 12 1
author Z
summary second
filename d/a.c
{BASE} 10 13 2
filename d/a.c
"""


def git(repo, *args):
    subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


class DiffBlameTest(unittest.TestCase):
    def test_added_lines_in_the_new_files_numbers(self):
        added = cov.parse_diff(DIFF)
        self.assertEqual(added, {"d/a.c": {4, 5, 12}, "d/new.h": {1, 2, 3}})

    def test_blame_boundary_lines_are_the_bases(self):
        owner = cov.parse_blame(BLAME)
        self.assertEqual([owner[n] for n in (1, 3, 4, 5, 12, 13, 14)],
                         [None, None, SHA1, SHA1, SHA2, None, None])


class InfoTest(unittest.TestCase):
    def test_records_of_one_file_merge(self):
        with tempfile.TemporaryDirectory() as tree:
            info = (f"TN:\nSF:{tree}/d/a.c\nFN:3,f\nFNDA:0,f\nDA:4,0\nDA:5,2\nend_of_record\n"
                    f"SF:{tree}/d/a.c\nFN:3,f\nDA:4,3\nDA:6,0\nend_of_record\n"
                    "SF:/usr/include/x.h\nDA:1,1\nend_of_record\n")
            files = cov.parse_info(info, tree)
        self.assertEqual(files["d/a.c"]["lines"], {4: 3, 5: 2, 6: 0})
        self.assertEqual(files["d/a.c"]["fns"], {3: "f"})
        self.assertIn("/usr/include/x.h", files)

    def test_blocks_split_at_executed_lines_and_functions(self):
        fns = {1: "f", 20: "g"}
        lines = {2: 1, 3: 0, 4: 0, 5: 0, 6: 1, 7: 0, 9: 0, 21: 0, 22: 0}
        added = {3, 5, 7, 9, 21, 22}      # 4: the base's, never run: no split
        self.assertEqual(cov.blocks_of(lines, added, fns),
                         [(3, 5, "f", [3, 5]), (7, 9, "f", [7, 9]), (21, 22, "g", [21, 22])])
        self.assertEqual(cov.function_at(fns, 19), "f")
        self.assertEqual(cov.function_at({5: "h"}, 2), "?")


class CpioTest(unittest.TestCase):
    def test_newc_members_stop_at_the_trailer(self):
        def member(name, data, mode=0o100644):
            hdr = "070701" + "".join(f"{v:08X}" for v in
                                     (1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0,
                                      len(name) + 1, 0))
            raw = hdr.encode() + name.encode() + b"\0"
            raw += b"\0" * ((4 - len(raw) % 4) % 4) + data
            return raw + b"\0" * ((4 - len(raw) % 4) % 4)
        disk = member("a/x.gcda", b"abcde") + member("TRAILER!!!", b"", 0) + b"\0" * 512
        self.assertEqual(cov.cpio_members(disk), [("a/x.gcda", 0o100644, b"abcde")])
        with self.assertRaises(cov.CpioError):
            cov.cpio_members(member("a/x.gcda", b"abcde"))      # no trailer
        with self.assertRaises(cov.CpioError):
            cov.cpio_members(b"\0" * 512)                       # nothing written

    @unittest.skipUnless(shutil.which("gcc"), "no host gcc")
    def test_init_writes_what_the_host_reads(self):
        """guest/init.c's gcov_dump(), built for the host with its own
        GCOV_DIR, writes the .gcda files (not the .gcno links, not other
        files) so that coverage.py gcda puts them beside the .gcno files of
        the build directory they came from."""
        with tempfile.TemporaryDirectory() as tmp:
            gdir = os.path.join(tmp, "debugfs-gcov")
            obj = os.path.join(gdir, "w", "build", "out", "coverage", "drivers", "iommu")
            os.makedirs(os.path.join(obj, "iommufd"))
            big = bytes(range(256)) * 700                      # > 64 KiB: grows the buffer
            with open(os.path.join(obj, "iommu.gcda"), "wb") as f:
                f.write(big)
            with open(os.path.join(obj, "iommufd", "main.gcda"), "wb") as f:
                f.write(b"xyz")
            with open(os.path.join(obj, "notes.txt"), "wb") as f:
                f.write(b"not a gcda")
            os.symlink("/nowhere/iommu.gcno", os.path.join(obj, "iommu.gcno"))
            harness = os.path.join(tmp, "h.c")
            with open(harness, "w", encoding="utf-8") as f:
                f.write('#define main wb_init_main\n#include "init.c"\n#undef main\n'
                        "int main(int argc, char **argv)\n{\n\t(void)argc;\n"
                        "\tgcov_dump(argv[1]);\n\treturn 0;\n}\n")
            exe = os.path.join(tmp, "h")
            subprocess.run(["gcc", "-O1", "-w", f'-DGCOV_DIR="{gdir}"', "-I",
                            os.path.join(TOP, "guest"), "-o", exe, harness], check=True)
            disk = os.path.join(tmp, "disk.img")
            with open(disk, "wb") as f:
                f.truncate(1 << 20)
            out = subprocess.run([exe, disk], check=True, capture_output=True,
                                 text=True).stdout
            self.assertIn("wb: gcov: 2 file(s)", out)
            self.assertNotIn("error", out)
            with open(disk, "rb") as f:
                members = {n: d for n, _, d in cov.cpio_members(f.read())}
            self.assertEqual(members, {
                "w/build/out/coverage/drivers/iommu/iommu.gcda": big,
                "w/build/out/coverage/drivers/iommu/iommufd/main.gcda": b"xyz"})
            # the host's build directory: another path, the same objects
            objtree = os.path.join(tmp, "host", "out", "coverage")
            os.makedirs(os.path.join(objtree, "drivers", "iommu", "iommufd"))
            for rel in ("drivers/iommu/iommu.gcno", "drivers/iommu/iommufd/main.gcno"):
                with open(os.path.join(objtree, rel), "wb") as f:
                    f.write(b"gcno " + rel.encode())
            dest = os.path.join(tmp, "dest")
            with open(os.devnull, "w", encoding="utf-8") as null:
                sys.stdout, saved = null, sys.stdout
                try:
                    rc = cov.main(["gcda", disk, objtree, dest])
                finally:
                    sys.stdout = saved
            self.assertEqual(rc, 0)
            with open(os.path.join(dest, "drivers/iommu/iommufd/main.gcda"), "rb") as f:
                self.assertEqual(f.read(), b"xyz")
            with open(os.path.join(dest, "drivers/iommu/iommu.gcno"), "rb") as f:
                self.assertEqual(f.read(), b"gcno drivers/iommu/iommu.gcno")


class ReportTest(unittest.TestCase):
    """A two-patch series on a small git tree, with lcov data made up."""

    def setUp(self):
        self.tree = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tree)
        t = self.tree
        git(t, "init", "-q")
        os.makedirs(os.path.join(t, "drivers/iommu"))
        os.makedirs(os.path.join(t, "mm"))
        self.write("drivers/iommu/a.c", ["int f(void)", "{", "\treturn 0;", "}"])
        self.write("mm/m.c", ["int m;"])
        git(t, "add", "-A")
        git(t, "commit", "-qm", "base")
        git(t, "tag", "base")
        # patch 1: g() (lines 5-10), and a line in mm/
        self.write("drivers/iommu/a.c", ["int f(void)", "{", "\treturn 0;", "}",
                                         "int g(int x)", "{", "\tif (x)", "\t\treturn -1;",
                                         "\treturn 1;", "}"])
        self.write("mm/m.c", ["int m;", "int m2(void) { return 2; }"])
        git(t, "commit", "-qam", "iommu: add g")
        # patch 2: h() with an error path (lines 11-17), and test code
        self.write("drivers/iommu/a.c", ["int f(void)", "{", "\treturn 0;", "}",
                                         "int g(int x)", "{", "\tif (x)", "\t\treturn -1;",
                                         "\treturn 1;", "}",
                                         "int h(int x)", "{", "\tif (x < 0)", "\t\treturn -22;",
                                         "\tif (x > 9)", "\t\treturn -7;", "\treturn g(x);",
                                         "}"])
        self.write("drivers/iommu/a-test.c", ["void t(void)", "{", "\th(1);", "}"])
        git(t, "add", "-A")
        git(t, "commit", "-qm", "iommu: add h")
        self.info = (f"SF:{t}/drivers/iommu/a.c\nFN:1,f\nFN:5,g\nFN:11,h\n"
                     "DA:3,5\nDA:7,4\nDA:8,0\nDA:9,4\nDA:13,4\nDA:14,0\nDA:15,4\n"
                     "DA:16,0\nDA:17,4\nend_of_record\n"
                     f"SF:{t}/drivers/iommu/a-test.c\nFN:1,t\nDA:3,1\nend_of_record\n")
        self.conf = cov.Conf()
        self.conf.testcode = ["drivers/iommu/*-test.c"]

    def write(self, rel, lines):
        with open(os.path.join(self.tree, rel), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    def test_per_file_per_patch_and_blocks(self):
        self.conf.reasons = [("*", "g", "error", "case_g", "x is never set"),
                             ("drivers/iommu/a.c", "h", "hw", "-", "QEMU has no such thing")]
        rep = cov.report(self.tree, "base", self.info, self.conf)
        self.assertEqual(rep["per_file"], {"drivers/iommu/a.c": (8, 5),
                                           "drivers/iommu/a-test.c": (1, 1)})
        byn = {n: t for (n, _), t in rep["per_patch"].items()}
        self.assertEqual(byn[1], {"drivers/iommu/a.c": (3, 2)})
        self.assertEqual(byn[2], {"drivers/iommu/a.c": (5, 3), "drivers/iommu/a-test.c": (1, 1)})
        self.assertEqual([(b["first"], b["last"], b["function"], b["patches"])
                          for b in rep["blocks"]],
                         [(8, 8, "g", [1]), (14, 14, "h", [2]), (16, 16, "h", [2])])
        self.assertEqual(rep["unmeasured"], ["mm/m.c"])
        text, md, results, summary = cov.render(rep, self.conf)
        # 5 of 8 driver lines: below 85%, the test file aside
        self.assertEqual(results[0].split()[:2], ["FAIL", "coverage:target"])
        self.assertIn("5/8", results[0])
        self.assertIn("6/9", results[1])
        self.assertEqual([r.split()[0] for r in results[2:]], ["PASS"] * 3)
        self.assertIn("| `h` | `drivers/iommu/a.c:14, 16` (2) | 0002 | hw: QEMU has no such thing | - |", md)
        self.assertIn("| `g` | `drivers/iommu/a.c:8` (1) | 0001 | error: x is never set | `case_g` |", md)
        self.assertIn("| 0002 iommu: add h | 6 | 4 | 66.7% |", md)
        self.assertIn("| `drivers/iommu/a.c` | 8 | 5 | 62.5% |", md)
        self.assertIn("0001 iommu: add g", text)
        self.assertIn("0 without a reason", summary[1])
        info = cov.added_info(rep)
        self.assertIn("SF:drivers/iommu/a.c\nDA:7,4\nDA:8,0\nDA:9,4\nDA:13,4", info)

    def test_a_block_without_a_reason_fails_and_the_target_can_pass(self):
        self.conf.target = 50
        self.conf.reasons = [("*", "g", "error", "-", "x"), ("*", "gone_fn", "error", "-", "y")]
        rep = cov.report(self.tree, "base", self.info, self.conf)
        text, md, results, summary = cov.render(rep, self.conf)
        self.assertTrue(results[0].startswith("PASS coverage:target"))
        fails = [r for r in results if r.startswith("FAIL")]
        self.assertEqual(len(fails), 2)
        self.assertTrue(all("h() never executed" in r for r in fails))
        self.assertIn("**unexplained**", md)
        self.assertIn("UNEXPLAINED", text)
        self.assertIn("no block needs now:\n    *:gone_fn", text)


class ConfTest(unittest.TestCase):
    def test_the_projects_conf_loads(self):
        conf = cov.load_conf(os.path.join(TOP, "configs", "coverage.conf"))
        self.assertEqual(conf.dirs, ["drivers/iommu"])
        self.assertGreaterEqual(conf.target, 85)
        kinds = {"ats", "stall", "s2fwb", "hw", "error", "config", "test"}
        for fglob, func, kind, kunit, text in conf.reasons:
            self.assertIn(kind, kinds, func)
            self.assertTrue(text and kunit, func)

    def test_doc_table_is_replaced_between_its_markers(self):
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
            f.write(f"intro\n{cov.DOC_BEGIN}\nold\n{cov.DOC_END}\nafter\n")
        try:
            cov.update_doc(f.name, "| new |\n")
            with open(f.name, encoding="utf-8") as g:
                self.assertEqual(g.read(), f"intro\n{cov.DOC_BEGIN}\n| new |\n{cov.DOC_END}\nafter\n")
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
