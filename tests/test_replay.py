"""The replay command the summary prints for a failed guest case must be
accepted by make repeat, for every boot of configs/plan.conf, and name that
boot's own machine and kernel (scripts/results.py, scripts/repeat.sh)."""
import os
import shlex
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import plan as wbplan  # noqa: E402
import results  # noqa: E402


def dry_run(cmd, build):
    """scripts/repeat.sh --dry-run with the variables of a 'make repeat ...' line."""
    words = shlex.split(cmd)
    assert words[:2] == ["make", "repeat"], cmd
    env = dict(os.environ, BUILD=build, WB_LOCKED="1", RUNDIR=os.path.join(build, "r"))
    for k in ("BOOT", "TESTS", "N", "SEED", "VARIANT"):
        env.pop(k, None)
    env.update(w.split("=", 1) for w in words[2:])
    return subprocess.run([os.path.join(TOP, "scripts", "repeat.sh"), "--dry-run"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


class ReplayTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.plan = wbplan.load()

    def tearDown(self):
        self.tmp.cleanup()

    def replays_of(self, boot, lines):
        path = os.path.join(self.tmp.name, f"{boot}.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
        return results.replays(path, self.plan)

    def test_every_boot(self):
        for b in self.plan.boots.values():
            prog = b.programs[0].split(":")[0]
            with self.subTest(boot=b.name):
                cmds = self.replays_of(b.name, [
                    f"INFO seed {prog} 0x1234",
                    f"FAIL {b.name}:kselftest.{prog}.fix.case -- a failure",
                    f"FAIL {b.name}:kselftest.{prog}.finished -- not a case"])
                self.assertEqual(cmds, [f"make repeat BOOT={b.name} TESTS={prog}:fix.case N=1 SEED=0x1234"])
                out = dry_run(cmds[0], self.tmp.name)
                self.assertEqual(out.returncode, 0, out.stderr + out.stdout)
                self.assertIn(f"boot {b.name} ({b.machine} machine, {b.variant} kernel)", out.stdout)

    def test_splat_and_run_number(self):
        cmds = self.replays_of("nested-debug", [
            "FAIL nested-debug:splat.kselftest.iommufd_nested_dma#2.nested_dma.fault_storm -- WARNING:"])
        self.assertEqual(cmds, ["make repeat BOOT=nested-debug TESTS=iommufd_nested_dma:nested_dma.fault_storm N=1"])

    def test_refused(self):
        # the dry run itself can fail: an unknown boot, a bad count
        self.assertNotEqual(dry_run("make repeat BOOT=nope TESTS=iommufd N=1", self.tmp.name).returncode, 0)
        self.assertNotEqual(dry_run("make repeat TESTS=iommufd N=0", self.tmp.name).returncode, 0)

    def test_variant_alone(self):
        out = dry_run("make repeat TESTS=iommufd N=2 VARIANT=debug", self.tmp.name)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("debug kernel", out.stdout)


if __name__ == "__main__":
    unittest.main()
