#!/usr/bin/env python3
"""Unit tests of scripts/bench.py: its checks must pass a run that is right
and fail each kind of wrong run, naming the measurement and the check.

A run is synthesized from bench.MEASUREMENTS as the driver and QEMU should
produce it (the guest's log and QEMU's trace); each negative case changes
one thing in it.

Run: python3 -m unittest discover -s tests -p 'test_*.py'
"""
import os
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import bench  # noqa: E402
import results  # noqa: E402

VMID = 1
SID = 0x8
KUNIT_SRC = """\
static void arm_smmu_v3_write_ste_test_s2_to_nested(struct kunit *test)
{
	foo(test, NUM_EXPECTED_SYNCS(2));
}

static void arm_smmu_v3_write_ste_test_nested_to_abort(struct kunit *test)
{
	foo(test, NUM_EXPECTED_SYNCS(2));
}

static void arm_smmu_v3_write_ste_test_nested_change(struct kunit *test)
{
	foo(test, NUM_EXPECTED_SYNCS(1));
	foo(test, NUM_EXPECTED_SYNCS(3));
}
"""
KUNIT_OK = ["    ok 1 arm_smmu_v3_write_ste_test_s2_to_nested",
            "    ok 2 arm_smmu_v3_write_ste_test_nested_to_abort",
            "    ok 3 arm_smmu_v3_write_ste_test_nested_change"]


def op(name):
    return f"smmuv3_cmdq_opcode <--- SMMU_CMD_{name}"


SYNC = [op("SYNC")]


def rng(addr, pages, asid=1, tg=1, stage=1, vmid=VMID):
    return (f"smmuv3_range_inval vmid={vmid} asid={asid} addr=0x{addr:x} tg={tg} "
            f"num_pages=0x{pages:x} ttl=0 leaf=1 stage={stage}")


def marker(k):
    """The trace of marker K: TLBI_S2_IPA, the nest parent's NH_ALL, SYNC."""
    return [op("TLBI_S2_IPA"), rng(bench.MARK_IPA + k * 0x1000, 1, -1, 1, 2),
            op("TLBI_NH_ALL"), f"smmuv3_cmdq_tlbi_nh vmid={VMID}"] + SYNC


def nh_va(addr, pages, asid=1, tg=1, vmid=VMID):
    return [op("TLBI_NH_VA"), rng(addr, pages, asid, tg, vmid=vmid)]


def driver_range(addr, pages, asid=1):
    """The driver's commands for a range: one per 5-bit run, one page more
    when the count is 1 modulo 32"""
    if pages & 31 == 1:
        pages += 1
    out = []
    while pages:
        scale = (pages & -pages).bit_length() - 1
        n = ((pages >> scale) & 31) << scale
        out += nh_va(addr, n, asid)
        addr += n * 0x1000
        pages -= n
    return out


def nh_asid(asid=1, vmid=VMID):
    return [op("TLBI_NH_ASID"), f"smmuv3_cmdq_tlbi_nh_asid asid={asid}",
            f"smmu_iotlb_inv_asid_vmid IOTLB invalidate asid={asid} vmid={vmid}"]


def nh_all(vmid=VMID):
    return [op("TLBI_NH_ALL"), f"smmuv3_cmdq_tlbi_nh vmid={vmid}"]


def cfgi_cd(name="CFGI_CD", sid=SID):
    return [op(name), f"smmuv3_cmdq_cfgi_cd sid=0x{sid:x}"]


def good_commands(name, spec):
    """What the SMMU should consume for a measurement"""
    kind = spec["kind"]
    if kind == "transition":
        syncs = bench.kunit_syncs_text(KUNIT_SRC, spec["kunit"])
        return ([op("CFGI_STE")] + SYNC) * syncs
    if kind == "va":
        return nh_va(spec["addr"], 1, tg=0) + SYNC
    if kind == "vaa":
        return [op("TLBI_NH_VAA"), rng(spec["addr"], 1, -1, 0)] + SYNC
    if kind == "range" and spec["pages"] >= bench.RANGE_MAX_PAGES:
        return nh_asid() + SYNC
    if kind == "range":
        return driver_range(spec["addr"], spec["pages"]) + SYNC
    if kind == "asid":
        return nh_asid() + SYNC
    if kind == "all":
        return nh_all() + SYNC
    if kind == "cd":
        return cfgi_cd() + SYNC
    if kind == "cd_all":
        return cfgi_cd("CFGI_CD_ALL") + SYNC
    if kind == "atc":
        return SYNC
    if kind == "batch":
        out = []
        for i in range(spec["entries"]):
            out += nh_va(spec["addr"] + 2 * i * 0x1000, 1, tg=0)
            if i % bench.CHUNK == bench.CHUNK - 1 or i == spec["entries"] - 1:
                out += SYNC
        return out
    if kind == "mixed":
        return (nh_va(0x40000000, 1, tg=0) + nh_asid() + cfgi_cd() +
                [op("TLBI_NH_VAA"), rng(0x40000000, 1, -1, 0)] + nh_all() +
                cfgi_cd("CFGI_CD_ALL") + nh_all() + SYNC)
    raise ValueError(kind)


def count(cmds):
    ops = [l for l in cmds if "cmdq_opcode" in l]
    syncs = sum(l.endswith("SMMU_CMD_SYNC") for l in ops)
    return len(ops) - syncs, syncs


def run_of(change=None, drop=()):
    """(log, trace) of a whole run; @change: {name: commands} replacing a
    measurement's commands (the driver's count follows them); @drop: names
    the guest never printed."""
    change = change or {}
    log = KUNIT_OK + ["wb: run nest_bench", "TAP version 13",
                      f"bench: device SID=0x{SID:x} vsid=0x300"]
    trace, k = [], 0
    for name, spec in bench.MEASUREMENTS.items():
        if name in drop:
            continue
        cmds = change.get(name, good_commands(name, spec))
        kcmds, ksyncs = count(cmds)
        trace += marker(k) + cmds
        log.append(f"bench: mark {k} {name}")
        log.append(f"bench: count {name} kind={spec['kind']} asid={spec.get('asid', 0)} "
                   f"addr={spec.get('addr', 0):#x} pages={spec.get('pages', 0)} "
                   f"entries={spec.get('entries', 1)} calls=1 kcmds={kcmds} ksyncs={ksyncs}")
        k += 1
        log.append(f"ok {k} {name}")
    trace += marker(k)
    log += [f"bench: mark {k} timings"] + [f"bench: time {t} calls=500 ns={100 * (i + 1)}"
                                            for i, t in enumerate(bench.TIMINGS)]
    log += [f"ok {k + 1} timings", f"1..{k + 1}", "wb: end nest_bench rc=0"]
    trace += marker(k + 1)
    return log, trace


class BenchTest(unittest.TestCase):
    def run_bench(self, log, trace):
        with tempfile.TemporaryDirectory() as d:
            paths = {n: os.path.join(d, n) for n in ("log", "trace", "src", "res")}
            for n, text in (("log", log), ("trace", trace), ("src", KUNIT_SRC)):
                with open(paths[n], "w") as f:
                    f.write("\n".join(text) + "\n" if isinstance(text, list) else text)
            rc = subprocess.run(
                [sys.executable, os.path.join(TOP, "scripts", "bench.py"),
                 "--log", paths["log"], "--trace", paths["trace"],
                 "--kunit-src", paths["src"], "--out", os.path.join(d, "out"),
                 "--results", paths["res"], "--no-chart"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
            with open(paths["res"]) as f:
                res = f.read().splitlines()
        # Every line is a result of scripts/results.py's
        self.assertEqual([], [r for r in res if not results.parse(r)])
        return rc, res

    def assert_fails(self, res, check, also=()):
        fails = [r for r in res if r.startswith("FAIL")]
        self.assertTrue(any(r.startswith(f"FAIL bench:{check}") for r in fails),
                        f"no FAIL bench:{check} in {fails}")
        # Nothing else failed: the check names what was wrong
        others = [r for r in fails if not r.startswith(f"FAIL bench:{check}")
                  and not any(r.startswith(f"FAIL bench:{a}") for a in also)]
        self.assertEqual([], others)

    def test_ril_commands(self):
        self.assertEqual(1, bench.ril_commands(1))
        self.assertEqual(1, bench.ril_commands(262144))
        self.assertEqual(2, bench.ril_commands(1000))
        self.assertEqual(4, bench.ril_commands(262143))

    def test_segments_skip_markers(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("\n".join(marker(0) + nh_va(0x40000000, 16) + SYNC + marker(1)) + "\n")
        segs, errors = bench.parse_trace(f.name)
        os.unlink(f.name)
        self.assertEqual([], errors)
        self.assertEqual(["TLBI_NH_VA", "SYNC"], [o["op"] for o in segs[0]["ops"]])
        self.assertEqual([(VMID, 1, 0x40000000, 1, 16)], segs[0]["ops"][0]["ranges"])
        self.assertEqual(VMID, segs[0]["vmid"])
        self.assertEqual([], segs[1]["ops"])

    def test_good_run_passes(self):
        rc, res = self.run_bench(*run_of())
        fails = [r for r in res if r.startswith("FAIL")]
        self.assertEqual([], fails)
        self.assertEqual(0, rc)
        self.assertIn("PASS bench:pages_992.commands", res)
        self.assertIn("PASS bench:batch_512.commands", res)
        self.assertIn("PASS bench:measurements", res)

    def test_range_per_page_fails(self):
        cmds = []
        for i in range(16):
            cmds += nh_va(0x40000000 + i * 0x1000, 1)
        rc, res = self.run_bench(*run_of({"pages_16": cmds + SYNC}))
        self.assert_fails(res, "pages_16.commands")
        self.assertEqual(1, rc)

    def test_range_wrong_address_fails(self):
        rc, res = self.run_bench(*run_of({"pages_16": nh_va(0x40010000, 16) + SYNC}))
        self.assert_fails(res, "pages_16.commands")

    def test_range_wrong_asid_fails(self):
        rc, res = self.run_bench(*run_of({"pages_16": nh_va(0x40000000, 16, asid=2) + SYNC}))
        self.assert_fails(res, "pages_16.commands")

    def test_range_wrong_vmid_fails(self):
        rc, res = self.run_bench(*run_of({"pages_16": nh_va(0x40000000, 16, vmid=2) + SYNC}))
        self.assert_fails(res, "pages_16.commands")

    def test_uncovered_range_fails(self):
        rc, res = self.run_bench(*run_of({"pages_16": nh_va(0x40000000, 8) + SYNC}))
        self.assert_fails(res, "pages_16.commands")

    def test_batch_without_sync_fails(self):
        cmds = [l for l in good_commands("batch_8", bench.MEASUREMENTS["batch_8"])
                if not l.endswith("SMMU_CMD_SYNC")]
        rc, res = self.run_bench(*run_of({"batch_8": cmds}))
        self.assert_fails(res, "batch_8.commands")

    def test_batch_one_sync_for_512_fails(self):
        cmds = [l for l in good_commands("batch_512", bench.MEASUREMENTS["batch_512"])
                if not l.endswith("SMMU_CMD_SYNC")] + SYNC
        rc, res = self.run_bench(*run_of({"batch_512": cmds}))
        self.assert_fails(res, "batch_512.commands")

    def test_asid_done_as_all_fails(self):
        rc, res = self.run_bench(*run_of({"asid": nh_all() + SYNC}))
        self.assert_fails(res, "asid.commands")

    def test_asid_of_another_asid_fails(self):
        rc, res = self.run_bench(*run_of({"asid": nh_asid(asid=2) + SYNC}))
        self.assert_fails(res, "asid.commands")

    def test_nsnh_all_passed_through_fails(self):
        rc, res = self.run_bench(*run_of({"nsnh_all": [op("TLBI_NSNH_ALL")] + SYNC}))
        self.assert_fails(res, "nsnh_all.commands")

    def test_cfgi_cd_of_another_stream_fails(self):
        rc, res = self.run_bench(*run_of({"cd": cfgi_cd(sid=0x300) + SYNC}))
        self.assert_fails(res, "cd.commands")

    def test_missing_measurements_fail(self):
        names = list(bench.MEASUREMENTS)
        rc, res = self.run_bench(*run_of(drop=names[1:]))
        self.assert_fails(res, "measurements", also=("plan",))
        self.assertIn("1 of", [r for r in res if r.startswith("FAIL bench:measurements")][0])
        self.assertEqual(1, rc)

    def test_plan_short_fails(self):
        log, trace = run_of()
        log = [l for l in log if not l.startswith("1..")] + ["1..3"]
        rc, res = self.run_bench(log, trace)
        self.assert_fails(res, "plan")

    def test_driver_count_mismatch_fails(self):
        log, trace = run_of()
        log = [l.replace("kcmds=1 ksyncs=1", "kcmds=2 ksyncs=1") if "count pages_16 " in l else l
               for l in log]
        rc, res = self.run_bench(log, trace)
        self.assert_fails(res, "pages_16.trace_is_driver")

    def test_transition_against_kunit(self):
        ste = [op("CFGI_STE")] + SYNC
        rc, res = self.run_bench(*run_of({"s2_to_nested": ste * 3}))
        self.assert_fails(res, "s2_to_nested.hitless")

    def test_cmdq_error_fails(self):
        log, trace = run_of()
        trace.insert(-3, "smmuv3_cmdq_consume_error Error on SMMU_CMD_TLBI_NH_ALL command execution: 1")
        rc, res = self.run_bench(log, trace)
        self.assert_fails(res, "no_cmdq_error")

    def test_no_output_fails(self):
        rc, res = self.run_bench(["wb: done"], [])
        self.assertEqual(["FAIL bench:ran -- no 'bench: count' line in the guest log"], res)


if __name__ == "__main__":
    unittest.main()
