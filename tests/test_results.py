"""scripts/results.py, the one reader, writer and counter of result lines:
each verdict it gives must be able to fail."""
import io
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import results  # noqa: E402


class ResultsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def file(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))
        return path

    def test_lines(self):
        self.assertEqual(results.parse("FAIL b:x.y -- why  not"), ("FAIL", "b:x.y", "why  not"))
        self.assertIsNone(results.parse("INFO seed x 0x1"))
        self.assertIsNone(results.parse("PASSED b:x"))
        self.assertEqual(results.format_line("NA", "b: a b", " two  words "), "NA b:_a_b -- two words")
        with self.assertRaises(ValueError):
            results.format_line("OK", "b:x")

    def test_counts_and_brief(self):
        p = self.file("r.txt", """\
            PASS a:1
            FAIL a:2 -- no
            SKIP a:3 -- expected
            NA a:4 -- nothing to test
            INFO not a result
            """)
        rs = results.read(p, os.path.join(self.tmp.name, "missing.txt"))
        self.assertEqual(results.counts(rs), {"PASS": 1, "FAIL": 1, "SKIP": 1, "NA": 1})
        out = subprocess.run([sys.executable, os.path.join(TOP, "scripts", "results.py"), "brief", p],
                             capture_output=True, text=True, check=False)
        self.assertEqual(out.returncode, 1)
        self.assertIn("1 passed, 1 failed, 1 skipped", out.stdout)
        self.assertIn("FAIL a:2 -- no", out.stdout)

    def test_writer_dedupes_and_judges_skips(self):
        w = results.Writer("b")
        w.add("PASS", "x")
        w.add("PASS", "x")
        w.skip("y", "no device")
        self.assertEqual(w.lines[0], "PASS b:x")
        self.assertEqual(len(w.lines), 2)
        self.assertTrue(w.lines[1].startswith("FAIL b:y -- unexpected skip: no device"))

    def test_add_lines(self):
        p = self.file("r.txt", "PASS patch:a:apply\n")
        results.add_lines(p, io.StringIO(
            "PASS\tpatch:a:build\t\n\nFAIL\tpatch:a:warnings\t2  new:\tx.c\nNA\tpatch:a:selftests\n"))
        with open(p, encoding="utf-8") as f:
            self.assertEqual(f.read().splitlines(), [
                "PASS patch:a:apply", "PASS patch:a:build",
                "FAIL patch:a:warnings -- 2 new: x.c", "NA patch:a:selftests"])
        out = subprocess.run([sys.executable, os.path.join(TOP, "scripts", "results.py"), "add", p, "-"],
                             input="NA\tpatch:b:build\tdocs only\n", capture_output=True, text=True,
                             check=False)
        self.assertEqual(out.returncode, 0)
        self.assertEqual(results.counts(results.read(p)), {"PASS": 2, "FAIL": 1, "SKIP": 0, "NA": 2})
        with self.assertRaises(ValueError):
            results.add_lines(p, io.StringIO("OK\tpatch:a:b\n"))

    def test_expect(self):
        p = self.file("got.txt", "FAIL e:one -- WARNING: x\nFAIL e:two -- hung\n")
        out = results.expect(p, "wb:e", ["one=^FAIL e:one -- WARNING:", "two=hung"])
        self.assertEqual(out.split("\n")[:3], ["PASS wb:e:one", "PASS wb:e:two", "PASS wb:e:nothing_else"])
        out = results.expect(p, "wb:e", ["one=^FAIL e:one -- WARNING:", "three=missing"])
        self.assertIn("FAIL wb:e:three", out)
        self.assertIn("FAIL wb:e:nothing_else -- other failures: FAIL e:two -- hung", out)

    def test_export(self):
        rs = [results.Result("PASS", "a:1", ""), results.Result("FAIL", "a:2", "no"),
              results.Result("SKIP", "a:3", "why")]
        self.assertEqual(results.to_ktap(rs).splitlines(),
                         ["KTAP version 1", "1..3", "ok 1 a:1", "not ok 2 a:2", "# no", "ok 3 a:3 # SKIP why"])
        self.assertIn('"FAIL": 1', results.to_json(rs))

    def test_unittest_runner_fails(self):
        d = os.path.join(self.tmp.name, "t")
        os.mkdir(d)
        with open(os.path.join(d, "test_a.py"), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent("""\
                import unittest
                class A(unittest.TestCase):
                    def test_ok(self):
                        '''a docstring does not hide a test'''
                    def test_bad(self):
                        self.assertEqual(1, 2)
                class B(unittest.TestCase):
                    @classmethod
                    def setUpClass(cls):
                        raise RuntimeError("no tree")
                    def test_never(self):
                        pass
                """))
        with open(os.path.join(d, "test_b.py"), "w", encoding="utf-8") as f:
            f.write("import no_such_module\n")
        got = results.run_unittests("wb", d, os.path.join(self.tmp.name, "log"))
        verdicts = {line.split(" -- ")[0] for line in got.splitlines()}
        self.assertIn("PASS wb:a.A.test_ok", verdicts)
        self.assertIn("FAIL wb:a.A.test_bad", verdicts)
        self.assertIn("FAIL wb:a.B.setUpClass", verdicts)
        self.assertTrue(any(v.startswith("FAIL wb:") and "test_b" in v for v in verdicts), verdicts)
        empty = os.path.join(self.tmp.name, "e")
        os.mkdir(empty)
        self.assertIn("FAIL wb:unittest -- no test ran",
                      results.run_unittests("wb", empty, os.path.join(self.tmp.name, "log2")))


if __name__ == "__main__":
    unittest.main()
