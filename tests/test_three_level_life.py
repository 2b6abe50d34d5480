#!/usr/bin/env python3
"""Unit tests of scripts/three_level_life.py (the crash, life and two runs of
the three-level machine) on a real run, trimmed (tests/data/logs/
three-level-life-*: tests/trim_logs.py): every check passes on it, and
each guard fails, by name, when the run is broken by hand the way a faulty
kernel or VMM would break it (an invalidation under the wrong VMID, a
VMID reused without its invalidation, a fault sent to the other guest, DMA
after the kill, stage 2 alone after the guest's own STE...).

Run: python3 -m unittest tests/test_three_level_life.py
"""
import gzip
import os
import re
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import protocol  # noqa: E402
import three_level_parse  # noqa: E402
sys.path.insert(0, os.path.join(TOP, "tests"))
import test_three_level_parse  # noqa: E402

DATA = os.path.join(TOP, "tests", "data", "logs")
RUNS = "plain,crash,accel,life,two,accel-lazy"
MIB = 64


def read(name):
    path = os.path.join(DATA, name)
    if name.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return f.read().splitlines(True)
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines(True)


def mark_index(trace, text):
    """The index of the trace line after the pl011_write that ends L1's
    console line starting with TEXT."""
    con = protocol.Pl011()
    for i, ln in enumerate(trace):
        if ln.split(" ", 1)[0].split(":")[-1] != "pl011_write":
            continue
        line = con.write(ln.split(" ", 1)[1].strip())
        if line is not None and line.startswith(text):
            return i + 1
    raise AssertionError(f"no mark {text!r} in the trace")


def translation(sid, iova, stage):
    return (f"smmuv3_translate_success smmuv3-iommu-memory-region-{sid}-0 sid=0x{sid:x} "
            f"iova=0x{iova:x} translated=0x4a000000 perm=0x3 stage={stage}\n")


class LifeRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.tool = test_three_level_parse.disk_tool(cls.tmp.name)
        cls.serial = read("three-level-life-serial.log")
        cls.trace = read("three-level-life-trace.log.gz")
        # the images: what the L2s wrote (every region of the runs, with
        # the seeds their command lines name), and the host's own region
        cls.disk = os.path.join(cls.tmp.name, "disk.img")
        cls.disk2 = os.path.join(cls.tmp.name, "disk2.img")
        nregions = len(RUNS.split(",")) + 1
        with open(cls.disk, "wb") as f:
            f.truncate((nregions * MIB + 4) << 20)
        with open(cls.disk2, "wb") as f:
            f.truncate(MIB << 20)
        w = [cls.tool, "write"]
        subprocess.run(w + [cls.disk, str(nregions * MIB), "4", "0x4057"], check=True,
                       capture_output=True)
        for ln in cls.serial:
            m = re.match(r"l1: cmdline run=(\S+) \|.*host=(\S+?),.*l3\.off=(\d+) .*l3\.seed=(\d+)", ln)
            if not m:
                continue
            run, host, off, seed = m.groups()
            img = cls.disk2 if run == "two-b" else cls.disk
            if run.startswith("life"):
                for p in range(4):
                    subprocess.run(w + [img, str(int(off) + 8 * p), "8", hex(int(seed) + 16 * p)],
                                   check=True, capture_output=True)
            elif run not in ("crash",):
                subprocess.run(w + [img, off, str(MIB), hex(int(seed))], check=True,
                               capture_output=True)

    def parse(self, serial=None, trace=None):
        d = tempfile.mkdtemp(dir=self.tmp.name)
        paths = {}
        for name, lines in (("serial.log", serial or self.serial), ("trace.log", trace or self.trace)):
            paths[name] = os.path.join(d, name)
            with open(paths[name], "w", encoding="utf-8") as f:
                f.writelines(lines)
        out = three_level_parse.run(
            ["--log", paths["serial.log"], "--trace", paths["trace.log"],
             "--disk", self.disk, "--disk2", self.disk2, "--disk-tool", self.tool,
             "--runs", RUNS, "--mib", str(MIB), "--host-off-mib", str(7 * MIB),
             "--host-mib", "4", "--host-seed", "0x4057", "--qemu-rc", "0", "--wall", "400",
             "--limit", "540", "--measured", os.path.join(d, "measured.txt")])
        return out.splitlines()

    @staticmethod
    def fails(lines):
        return [ln.split()[1].split(":", 1)[1] for ln in lines if ln.startswith("FAIL")]

    def trace_with(self, before_mark, line):
        t = list(self.trace)
        i = mark_index(t, before_mark)
        return t[:i] + [line] + t[i:]

    def test_real_run_passes(self):
        lines = self.parse()
        self.assertEqual(self.fails(lines), [])
        names = {ln.split()[1].split(":", 1)[1] for ln in lines if ln.startswith("PASS")}
        for n in ("crash.killed-in-flight", "crash.l0.nvme-after-kill", "crash.next-run",
                  "life.reboot", "life.system-reset", "life.unplug", "life.unplug-frees",
                  "life.replug", "life.l0.boot1", "life.l0.boot2", "life.l0.replugged",
                  "two.concurrent", "two.b-after-a", "two.l0.two-vmids", "two.l0.c-vmid",
                  "two.a.commands.own-vmid", "two.b.commands.own-vmid", "two-a.faults-own",
                  "two-b.faults-own", "two-c.old-iova", "ratio.accel-lazy-vs-accel"):
            self.assertIn(n, names)

    def test_dma_after_the_kill_fails(self):
        nvme = three_level_parse.sid_of(re.search(r"name=nvme bdf=(\S+)", "".join(self.serial)).group(1))
        t = self.trace_with("l1: crash killed", translation(nvme, 0xfffff000, 3))
        self.assertIn("crash.l0.nvme-after-kill", self.fails(self.parse(trace=t)))

    def test_stage2_alone_after_the_guests_ste_fails(self):
        # within the boot after the reboot, stage 2 alone once the guest's
        # STE (both stages) was in: wider access than the guest asked for
        nvme = three_level_parse.sid_of(re.search(r"name=nvme bdf=(\S+)", "".join(self.serial)).group(1))
        t = list(self.trace)
        # just before the last byte of L1's line that ends the stretch
        t.insert(mark_index(t, "l1: life op=system_reset") - 1, translation(nvme, 0xfffff000, 2))
        self.assertIn("life.l0.boot1", self.fails(self.parse(trace=t)))

    def test_unrequested_reset_fails(self):
        s = [ln for ln in self.serial if not ("qmp-event run=life" in ln and "guest-reset" in ln)]
        f = self.fails(self.parse(serial=s))
        self.assertIn("life.reboot", f)
        self.assertIn("life.resets-accounted", f)

    def test_vdevice_not_freed_fails(self):
        vdev = re.search(r"qtrace run=life \| iommufd_backend_alloc_vdev .*virt_id=0x200 vdev_id=(\d+)",
                         "".join(self.serial)).group(1)
        s = [ln for ln in self.serial if not re.search(
            rf"qtrace run=life \| iommufd_backend_free_id .*id={vdev}\b", ln)]
        self.assertIn("life.unplug-frees", self.fails(self.parse(serial=s)))

    def test_invalidation_under_the_other_vmid_fails(self):
        # one of two-b's TLBIs reaches L0 under two-a's VMID
        t = list(self.trace)
        i = mark_index(t, "l1: vm-end name=two-a")
        j = next(k for k in range(i, len(t)) if t[k].startswith("smmuv3_range_inval vmid=2 "))
        t[j] = t[j].replace("vmid=2 ", "vmid=1 ", 1)
        f = self.fails(self.parse(trace=t))
        self.assertIn("two.b.commands.own-vmid", f)
        self.assertIn("two.l0.b-alone", f)

    def test_reused_vmid_not_invalidated_fails(self):
        t = [ln for ln in self.trace if not ln.startswith(("smmuv3_cmdq_tlbi_s12_vmid",))]
        t = [ln for ln in t if "SMMU_CMD_TLBI_S12_VMALL" not in ln]
        self.assertIn("two.l0.c-vmid", self.fails(self.parse(trace=t)))

    def test_fault_to_the_other_guest_fails(self):
        # two-b's QEMU is handed one of two-a's events
        s = [re.sub(r"(guest-event run=two-b .* count=)(\d+)", lambda m: m.group(1) + str(int(m.group(2)) + 1), ln)
             for ln in self.serial]
        self.assertIn("two-b.faults-own", self.fails(self.parse(serial=s)))

    def test_old_iova_reached_fails(self):
        edu = three_level_parse.sid_of(re.search(r"name=edu bdf=(\S+)", "".join(self.serial)).group(1))
        t = self.trace_with("l1: vm name=two-c start", translation(edu, 0xfffff000, 3))
        self.assertIn("two-c.old-iova", self.fails(self.parse(trace=t)))


if __name__ == "__main__":
    unittest.main()
