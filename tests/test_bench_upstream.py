#!/usr/bin/env python3
"""Unit tests of scripts/bench_upstream.py: ours against upstream from
interleaved rounds of the three-level machine's measured figures.

Run: python3 -m unittest tests/test_bench_upstream.py
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(TOP, "scripts", "bench_upstream.py")


def measured(plain, accel, cmds=1024, l0=1100, guest=1090, inv=40, busy=None):
    """A measured file's lines; BUSY: L1's CPU seconds of (plain, accel)."""
    cpu = ("", "") if busy is None else tuple(f" l1_busy_seconds={b}" for b in busy)
    return (f"plain l1_qemu_seconds=3 rc=0{cpu[0]}\n"
            f"plain write_mib_s={plain} read_mib_s={plain} write_seconds=1 read_seconds=1\n"
            f"plain fio_seqread read_kib_s={plain * 1024} write_kib_s=0 rc=0\n"
            f"accel fio_seqread read_kib_s={accel * 512} write_kib_s=0 rc=0\n"
            f"accel write_mib_s={accel} read_mib_s={accel / 2} write_seconds=2 read_seconds=2\n"
            f"accel workload_guest_commands SYNC={cmds // 2} TLBI_NH_VA={cmds // 2}\n"
            f"accel guest_commands SYNC={guest}\n"
            f"accel l0_commands_by_cause SYNC={l0}\n"
            "accel ratio_vs=plain write=0.50 read=0.25\n"
            f"accel l1_qemu_seconds=4 rc=0{cpu[1]}\n"
            f"accel inv_timing calls=1000 median_us={inv} p99_us={inv * 3}\n")


def run_tool(tool, files, args=()):
    """TOOL (a bench_*.py) on FILES ({name: text}, written to a temporary
    directory) with --csv: (exit status, stdout, CSV lines)."""
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for name, text in files.items():
            paths.append(os.path.join(d, name))
            with open(paths[-1], "w", encoding="utf-8") as f:
                f.write(text)
        csv = os.path.join(d, "out.csv")
        p = subprocess.run([sys.executable, tool, "--csv", csv, *args] + paths,
                           capture_output=True, text=True, check=False)
        rows = []
        if os.path.exists(csv):
            with open(csv, encoding="utf-8") as f:
                rows = f.read().splitlines()
        return p.returncode, p.stdout, rows


def one_round():
    """A round's measured files of both kernels, data behind the vSMMU."""
    return {"bench-ours-1-measured.txt": measured(100, 50),
            "bench-upstream-1-measured.txt": measured(100, 40)}


def nest_bench_log(trivial, inv1, inv64):
    """nest_bench's timings of one boot, ns per call."""
    return "".join(f"bench: time {k} calls=2000 ns={v}\n"
                   for k, v in (("trivial", trivial), ("inv_1", inv1), ("inv_64", inv64)))


def write_logs(d, logs, flag):
    """LOGS ({name: text}) written in D: the arguments FLAG PATH of each."""
    args = []
    for name, text in logs.items():
        path = os.path.join(d, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        args += [flag, path]
    return args


class BenchUpstream(unittest.TestCase):
    def run_tool(self, files):
        return run_tool(TOOL, files, ("--mib", "64"))

    def test_ratio_of_ratios(self):
        # round 1: ours 50/100, upstream 40/100; round 2: the machine twice
        # as slow for both: the pair's ratio stays 1.25
        rc, out, rows = self.run_tool({
            "bench-ours-1-measured.txt": measured(100, 50),
            "bench-upstream-1-measured.txt": measured(100, 40),
            "bench-ours-2-measured.txt": measured(50, 25),
            "bench-upstream-2-measured.txt": measured(50, 20)})
        self.assertEqual(rc, 0, out)
        self.assertIn("accel       l3_disk write         accel/plain: ours 0.50 (0.50-0.50), "
                      "upstream 0.40 (0.40-0.40); ours/upstream 1.25 (1.25-1.25)", out)
        self.assertIn("accel       fio seqread           accel/plain: ours 0.25 (0.25-0.25), "
                      "upstream 0.20 (0.20-0.20); ours/upstream 1.25 (1.25-1.25)", out)
        self.assertIn("2 interleaved round(s)", out)
        self.assertIn("guest commands per MiB 8.00 (8.00-8.00)", out)
        self.assertIn("L1 us per IOMMU_HWPT_INVALIDATE median 40 (40-40) p99 120 (120-120)", out)
        # 1000 calls of 40 us in a run of 4 s
        self.assertIn("p99 120 (120-120); calls x median over L1 QEMU's run 1.0% (1.0%-1.0%)", out)
        self.assertIn("accel,write,ours/upstream,1.250,1.250,1.250,2", rows)
        # each kernel's own throughput in the same round
        self.assertIn("ours/upstream 1.25 (1.25-1.25); throughput ours/upstream: "
                      "plain 1.00 (1.00-1.00), accel 1.25 (1.25-1.25)", out)
        self.assertIn("plain,write,ours/upstream throughput,1.000,1.000,1.000,2", rows)
        self.assertIn("accel,write,ours/upstream throughput,1.250,1.250,1.250,2", rows)

    def test_inner_split(self):
        # the driver's part of each call (L3_INV_INNER) and the rest, per kernel
        ours = measured(100, 50).replace("p99_us=120\n", "p99_us=120 inner=arm_smmu_cache_invalidate "
                                         "inner_median_us=30 outside_median_us=10\n")
        up = measured(100, 40).replace("p99_us=120\n", "p99_us=120 inner=arm_vsmmu_cache_invalidate "
                                       "inner_median_us=35 outside_median_us=5\n")
        rc, out, rows = self.run_tool({"bench-ours-1-measured.txt": ours,
                                       "bench-upstream-1-measured.txt": up})
        self.assertEqual(rc, 0, out)
        self.assertIn("p99 120 (120-120); in arm_smmu_cache_invalidate 30 (30-30), "
                      "outside it 10 (10-10)", out)
        self.assertIn("; in arm_vsmmu_cache_invalidate 35 (35-35), outside it 5 (5-5)", out)
        self.assertIn("accel,inv_outside_median_us,upstream,5.000,5.000,5.000,1", rows)

    @unittest.skipUnless(shutil.which("gnuplot"), "no gnuplot (make setup installs it)")
    def test_chart_under_the_commands(self):
        # the ours/upstream panel goes under bench.py's commands chart
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "bench.dat"), "w", encoding="utf-8") as f:
                f.write("1-page 2 2\n16-pages 2 17\n")
            files = one_round()
            rc, out, _ = run_tool(TOOL, files, ("--chart", d))
            self.assertEqual(rc, 0, out)
            self.assertNotIn("no chart", out)
            with open(os.path.join(d, "bench-upstream.dat"), encoding="utf-8") as f:
                self.assertIn('"accel l3_disk write" 1.250 1.250 1.250', f.read())
            with open(os.path.join(d, "bench.png"), "rb") as f:
                png = f.read()
            self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
            # two panels: twice the height of one (900x480)
            self.assertEqual(int.from_bytes(png[20:24], "big"), 960)
            # with rounds counted in instructions, a third panel, theirs
            args = ["--chart", d, "--three-level-icount", "0"] + write_logs(
                d, {"three-level-insns-bench-ours-1-measured.txt": measured(100, 80),
                    "three-level-insns-bench-upstream-1-measured.txt": measured(100, 40)},
                "--three-level-insns")
            rc, out, _ = run_tool(TOOL, files, args)
            self.assertEqual(rc, 0, out)
            with open(os.path.join(d, "bench-upstream-insns.dat"), encoding="utf-8") as f:
                self.assertIn('"accel l3_disk write" 2.000 2.000 2.000', f.read())
            with open(os.path.join(d, "bench-upstream.dat"), encoding="utf-8") as f:
                self.assertNotIn("2.000", f.read())
            with open(os.path.join(d, "bench.png"), "rb") as f:
                self.assertEqual(int.from_bytes(f.read()[20:24], "big"), 1440)

    def test_per_call_on_one_level(self):
        # nest_bench's timings (ns per call) from the single-level boots:
        # round 2 on a machine twice as slow, same ratios
        log = nest_bench_log
        with tempfile.TemporaryDirectory() as d:
            logs = {"percall-bench-ours-1.log": log(7000, 27000, 128000),
                    "percall-bench-upstream-1.log": log(6000, 22000, 192000),
                    "percall-bench-ours-2.log": log(14000, 54000, 256000),
                    "percall-bench-upstream-2.log": log(12000, 44000, 384000),
                    # a boot whose nest_bench stopped early: left out
                    "percall-bench-upstream-3.log": "bench: time trivial calls=2000 ns=1\n"}
            args = write_logs(d, logs, "--percall")
            files = one_round()
            rc, out, rows = run_tool(TOOL, files, args)
        self.assertEqual(rc, 0, out)
        self.assertIn("no probes; us): 2 interleaved round(s)", out)
        self.assertIn("one command per call                 ours 40.5 (27.0-54.0), "
                      "upstream 33.0 (22.0-44.0); ours/upstream 1.23 (1.23-1.23)", out)
        self.assertIn("one command, less the trivial ioctl  ours 30.0 (20.0-40.0), "
                      "upstream 24.0 (16.0-32.0); ours/upstream 1.25 (1.25-1.25)", out)
        self.assertIn("64 commands per call, per command    ours 3.0 (2.0-4.0), "
                      "upstream 4.5 (3.0-6.0); ours/upstream 0.67 (0.67-0.67)", out)
        # in the boot's trivial ioctls: the same on both rounds
        self.assertIn("(one command - trivial) / trivial    ours 2.857 (2.857-2.857), "
                      "upstream 2.667 (2.667-2.667); ours/upstream 1.07 (1.07-1.07)", out)
        self.assertIn("(64 cmds - one) / 63 / trivial       ours 0.229 (0.229-0.229), "
                      "upstream 0.450 (0.450-0.450); ours/upstream 0.51 (0.51-0.51)", out)
        self.assertIn("one-level,inv_1_less_trivial,ours/upstream,1.250,1.250,1.250,2", rows)

    def test_per_call_without_both_kernels(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "percall-bench-ours-1.log")
            with open(path, "w", encoding="utf-8") as f:
                f.write("bench: time trivial calls=1 ns=1\nbench: time inv_1 calls=1 ns=2\n"
                        "bench: time inv_64 calls=1 ns=3\n")
            files = one_round()
            rc, out, _ = run_tool(TOOL, files, ("--percall", path))
        self.assertEqual(rc, 0, out)
        self.assertIn("timed: no round with nest_bench's figures on both kernels (ours 1, upstream 0)",
                      out)

    def test_per_call_in_instructions(self):
        # the same calls under -icount shift=7: 128 ns per instruction
        def log(trivial, inv1, inv64):
            return nest_bench_log(trivial * 128, inv1 * 128, inv64 * 128)
        with tempfile.TemporaryDirectory() as d:
            args = ["--icount", "7"] + write_logs(
                d, {"insns-percall-bench-ours-1.log": log(580, 1960, 18860),
                    "insns-percall-bench-upstream-1.log": log(530, 1580, 4730)},
                "--percall-insns")
            files = one_round()
            rc, out, rows = run_tool(TOOL, files, args)
            self.assertEqual(rc, 0, out)
            self.assertIn("counted in instructions (QEMU -icount shift=7", out)
            self.assertIn("one command per call                 ours 1960 (1960-1960), "
                          "upstream 1580 (1580-1580); ours/upstream 1.24 (1.24-1.24)", out)
            self.assertIn("one command, less the trivial ioctl  ours 1380 (1380-1380), "
                          "upstream 1050 (1050-1050); ours/upstream 1.31 (1.31-1.31)", out)
            # (18860 - 1960) / 63 against (4730 - 1580) / 63
            self.assertIn("each further command of 64           ours 268 (268-268), "
                          "upstream 50 (50-50); ours/upstream 5.37 (5.37-5.37)", out)
            self.assertIn("one-level-insns,inv_1,ours,1960.000,1960.000,1960.000,1", rows)
            # instructions need the shift
            rc, out, _ = run_tool(TOOL, files, args[2:])
            self.assertEqual(rc, 2, out)
            # no three-level round (bench-upstream.sh 0): the per-call
            # figures alone, with the CSV's header
            rc, out, rows = run_tool(TOOL, {}, args)
            self.assertEqual(rc, 0, out)
            self.assertIn("no three-level round", out)
            self.assertIn("ours/upstream 5.37 (5.37-5.37)", out)
            self.assertEqual(rows[0], "run,what,kernel,median,min,max,rounds")
            self.assertIn("one-level-insns,inv_1,ours,1960.000,1960.000,1960.000,1", rows)
            # and with nothing at all, a usage error
            rc, out, _ = run_tool(TOOL, {})
            self.assertEqual(rc, 2, out)

    def test_l1_cpu_time(self):
        # L1's CPU seconds over each run: ours 10 plain, 14 accel; upstream
        # 12 and 15; beyond plain 4 against 3
        rc, out, rows = self.run_tool({
            "bench-ours-1-measured.txt": measured(100, 50, busy=(10, 14)),
            "bench-upstream-1-measured.txt": measured(100, 40, busy=(12, 15))})
        self.assertEqual(rc, 0, out)
        self.assertIn("L1 CPU seconds over the whole L2 run (boot, workloads, power-off):", out)
        self.assertIn("    plain                ours 10.00 (10.00-10.00), upstream 12.00 "
                      "(12.00-12.00); ours/upstream 0.83 (0.83-0.83)", out)
        self.assertIn("    accel - plain        ours 4.00 (4.00-4.00), upstream 3.00 "
                      "(3.00-3.00); ours/upstream 1.33 (1.33-1.33)", out)
        self.assertIn("accel,l1_busy_s_beyond_plain,ours/upstream,1.333,1.333,1.333,1", rows)
        # without the figure (an older L1 initramfs), no such lines
        rc, out, _ = self.run_tool(one_round())
        self.assertEqual(rc, 0, out)
        self.assertNotIn("L1 CPU seconds", out)

    def test_three_level_in_instructions(self):
        # the rounds under L0's -icount: a second report, CSV runs -insns
        with tempfile.TemporaryDirectory() as d:
            args = ["--three-level-icount", "0"] + write_logs(
                d, {"three-level-insns-bench-ours-1-measured.txt": measured(100, 80, busy=(10, 11)),
                    "three-level-insns-bench-upstream-1-measured.txt":
                    measured(100, 40, busy=(10, 12))},
                "--three-level-insns")
            rc, out, rows = run_tool(TOOL, one_round(), args)
            self.assertEqual(rc, 0, out)
            self.assertIn("three-level machine: 1 interleaved round(s)", out)
            self.assertIn("three-level machine, counted in instructions (L0's QEMU -icount shift=0, "
                          "one L1 vCPU: the clocks of L1 and L2 count 1 ns per instruction", out)
            # timed 50/40, counted 80/40
            self.assertIn("accel,write,ours/upstream,1.250,1.250,1.250,1", rows)
            self.assertIn("accel-insns,write,ours/upstream,2.000,2.000,2.000,1", rows)
            self.assertIn("accel-insns,l1_busy_s_beyond_plain,ours/upstream,0.500,0.500,0.500,1",
                          rows)
            # only those rounds: no timed report
            rc, out, rows = run_tool(TOOL, {}, args)
            self.assertEqual(rc, 0, out)
            self.assertNotIn("no three-level round", out)
            self.assertNotIn("accel,write,ours/upstream,1.250,1.250,1.250,1", rows)
            self.assertIn("accel-insns,write,ours/upstream,2.000,2.000,2.000,1", rows)
            # they need the shift
            rc, out, _ = run_tool(TOOL, {}, args[2:])
            self.assertEqual(rc, 2, out)

    def test_missing_kernel_fails(self):
        rc, out, _ = self.run_tool({"bench-ours-1-measured.txt": measured(100, 50)})
        self.assertEqual(rc, 1)
        self.assertIn("no round of upstream moved data", out)


if __name__ == "__main__":
    unittest.main()
