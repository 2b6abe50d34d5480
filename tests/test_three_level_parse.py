#!/usr/bin/env python3
"""Unit tests of scripts/three_level_parse.py on a synthetic three-level run: the
checks must pass on a good run and each must be able to fail.

Run: python3 -m unittest discover -s tests -p 'test_*.py'
"""
import os
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import three_level_parse  # noqa: E402
MIB = 2

L1 = """\
[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x000f0510]
l1: boot kernel=6.12.117+ uptime=3.06 cpus=2 mem_kib=3076324
l1: kvm dev=1 el2=1 vhe=1
l1: iommu dev_iommu=1 smmu_devices=2
l1: vfio name=nvme bdf=0000:00:01.0 driver=vfio-pci group=0 cdev=vfio0
l1: vfio name=edu bdf=0000:00:02.0 driver=vfio-pci group=1 cdev=vfio1
l1: edu bound bdf=0000:00:02.0 group=1 id=0x010000ed
l1: edu mapped src_iova=0x100000 dst_iova=0x200000 bytes=4096 landed=1 seconds=0.104
l1: edu stale iova=0x300000 bytes=4096 before_unmap_landed=1 after_unmap_reached=0
l1: edu result=pass
l1: edu smmu_events=10
{l1_extra}"""

RUN = """\
l1: run name={run} index={k} mode={mode} uptime=10.27
l1: cmdline run={run} | qemu-system-aarch64 -device vfio-pci,host=0000:00:01.0 -append "console=ttyAMA0 iommu.strict=1 l3.run={run} l3.off={off} l3.seed=0x5eed0{k} l3.edu={edu_on}"
l1: qemu run={run} rc=0 seconds=40 limit=100 busy_cs=1234
L2[{run}]| UEFI firmware
L2[{run}]| \x1b[2Jl2: boot run={run} kernel=6.12.117+deb13-cloud-arm64 uptime=11.69 cpus=1
L2[{run}]| l2: iommu smmu_devices={smmus} strict=1
L2[{run}]| l2: nvme bdf=0000:00:01.0 group={group} domain={domain} size_mib=196
L2[{run}]| l2: disk host-seeded offset_mib={host_off} bytes=4194304 mismatches=0 first_bad=-1 seconds=0.04 mib_s=92.4
L2[{run}]| l2: disk write offset_mib={off} bytes={bytes} seed=0x5eed0{k} seconds=0.8 mib_s={wr}
L2[{run}]| l2: disk readback offset_mib={off} bytes={bytes} mismatches={bad} first_bad=-1 seconds=0.8 mib_s={rd}
L2[{run}]| l2: irq name=nvme0q0 count=10 chip=ITS-PCI-MSIX-0000:00:01.0
L2[{run}]| l2: irq name=nvme0q1 count=179 chip=ITS-PCI-MSIX-0000:00:01.0
{edu}L2[{run}]| l2: done rc=0 uptime=16.70
{cmds}l1: run-end name={run} uptime=50 l1_smmu_events=0
l1: after run={run} bdf=0000:00:01.0 driver=vfio-pci
l1: after run={run} bdf=0000:00:02.0 driver=vfio-pci
{teardown}"""

CMDS = """l1: guest-cmd run={run} phase=boot opcode=SMMU_CMD_TLBI_NSNH_ALL count=1
l1: guest-cmd run={run} phase=boot opcode=SMMU_CMD_CFGI_STE count=2
l1: guest-cmd run={run} phase=boot opcode=SMMU_CMD_CFGI_CD count=1
l1: guest-cmd run={run} phase=workload opcode=SMMU_CMD_TLBI_NH_VA count={nh_va}
l1: guest-cmd run={run} phase=after opcode=SMMU_CMD_TLBI_NH_ASID count=1
l1: guest-cmd run={run} phase=workload opcode=SMMU_CMD_SYNC count={nh_va}
l1: guest-inv run={run} phase=boot calls=2 entries=2 done=2 rc=0
l1: guest-inv run={run} phase=workload calls={nh_va} entries={nh_va} done={nh_va} rc=0
l1: guest-event run={run} phase=after type=SMMU_EVT_F_TRANSLATION sid=0x108 count=16
"""

TEARDOWN = """l1: teardown-dma run={run} start bdf=0000:00:02.0 group_type=DMA-FQ driver=vfio-pci
l1: edu bar bdf=0000:00:02.0 id=0x010000ed iova=0x200000 bytes=64 done=1 seconds=0.101
l1: teardown-dma run={run} end l1_smmu_events=16
"""

EDU = """\
L2[{run}]| l2: edu bound bdf=0000:01:00.0 group=1 id=0x010000ed
L2[{run}]| l2: edu result=pass
L2[{run}]| l2: smmu events=10
"""

# L2's kernel refuses VFIO edu behind QEMU's IORT RMR; edu's DMA is then
# driven through its sysfs BAR and faults
EDU_RMR = """\
L2[{run}]| l2: edu result=fail step=set-container errno=22
L2[{run}]| l2: edu kernel-says [   31.2] vfio-pci 0000:03:00.0: Firmware has requested this device have a 1:1 IOMMU mapping, rejecting configuring the device without a 1:1 mapping. Contact your platform vendor.
L2[{run}]| l2: smmu events=10
"""

def con(text):
    """L1's console line as L0's pl011_write trace shows it."""
    return "".join(f"pl011_write addr 0x000 value 0x{ord(c):08x} reg DR\n" for c in text + "\n")


TRACE = """\
smmuv3_record_event SMMU_EVT_F_TRANSLATION sid=0x10
{plain_start}smmuv3_translate_success smmuv3-iommu-memory-region-8-1 sid=0x8 iova=0x40a13000 translated=0x4a813000 perm=0x3 stage=1
{plain_end}{accel_start}smmuv3_cmdq_opcode <--- SMMU_CMD_CFGI_STE
smmuv3_cmdq_cfgi_ste streamid= 0x8
smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC
smmuv3_cmdq_opcode <--- SMMU_CMD_TLBI_NH_ALL
smmuv3_cmdq_tlbi_nh vmid={vmid}
smmu_iotlb_inv_vmid_s1 IOTLB invalidate vmid={vmid}
smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC
smmuv3_cmdq_opcode <--- SMMU_CMD_CFGI_CD
smmuv3_cmdq_cfgi_cd sid=0x8
smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC
smmu_ptw_page_pte stage=3 level=3 iova=0xfffff000 base@=0x1000 pte@=0x1008 pte=0x443 page address = 0x{ipa:x}
smmu_ptw_block_pte stage=2 level=2 base@=0x2000 pte@=0x2008 pte=0x4b000401 iova=0x{ipa:x} block address = 0x4b000000 block size = 2 MiB
smmuv3_translate_success smmuv3-iommu-memory-region-8-1 sid=0x8 iova=0xfffff000 translated=0x4b000000 perm=0x3 stage=3
smmuv3_record_event SMMU_EVT_F_TRANSLATION sid=0x10
smmuv3_cmdq_opcode <--- SMMU_CMD_TLBI_NH_ASID
smmu_iotlb_inv_asid_vmid IOTLB invalidate asid=3 vmid={vmid}
smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC
{inval}{accel_end}{teardown_start}{leak}smmuv3_record_event SMMU_EVT_F_TRANSLATION sid=0x10
{teardown_end}"""

L0_NH_VA = """\
smmuv3_cmdq_opcode <--- SMMU_CMD_TLBI_NH_VA
smmuv3_range_inval vmid={vmid} asid=3 addr=0x0 tg=1 num_pages=0x1 ttl=3 leaf=1 stage=1
smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC
"""


def disk_tool(d):
    """guest/three-level/l3_disk.c built for this host in directory D (the
    image's writer and checker); its path."""
    tool = os.path.join(d, "l3_disk-host")
    subprocess.run(["gcc", "-O2", "-o", tool,
                    os.path.join(TOP, "guest", "three-level", "l3_disk.c")], check=True)
    return tool


class L3ParseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.tool = disk_tool(cls.tmp.name)

    def run_parse(self, bad=0, l1_extra="", ipa=0x5a000000, l0_inval=3,
                  nh_va=3, rc=0, write_image=True, vmid=1, nsnh=False, leak=False,
                  edu=None, plan=None):
        d = tempfile.mkdtemp(dir=self.tmp.name)
        disk = os.path.join(d, "disk.img")
        with open(disk, "wb") as f:
            f.truncate((2 * MIB + 4) << 20)
        tool = [self.tool]
        subprocess.run(tool + ["write", disk, str(2 * MIB), "4", "0x4057"],
                       check=True, capture_output=True)
        for k in range(2):
            if write_image:
                subprocess.run(tool + ["write", disk, str(k * MIB), str(MIB),
                                       hex(0x5eed00 + k)], check=True, capture_output=True)
        log = L1.format(l1_extra=l1_extra)
        for k, run in enumerate(("plain", "accel")):
            plain = run == "plain"
            log += RUN.format(run=run, k=k, mode=run, smmus=0 if plain else 1,
                              group="none" if plain else "0",
                              domain="none" if plain else "DMA",
                              host_off=2 * MIB, off=k * MIB, bytes=MIB << 20,
                              edu_on=0 if plain else 1,
                              bad=bad if run == "accel" else 0,
                              wr=80.0 if plain else 40.0, rd=100.0 if plain else 25.0,
                              edu="" if plain else (edu or EDU).format(run=run),
                              cmds="" if plain else CMDS.format(run=run, nh_va=nh_va),
                              teardown="" if plain else TEARDOWN.format(run=run))
        log += "l1: done rc=0 uptime=200\n"
        inval = L0_NH_VA.format(vmid=vmid) * l0_inval
        if nsnh:
            inval += "smmuv3_cmdq_opcode <--- SMMU_CMD_TLBI_NSNH_ALL\nsmmuv3_cmdq_tlbi_nsnh \n"
        leak = ("smmuv3_translate_success smmuv3-iommu-memory-region-16-2 sid=0x10 "
                "iova=0x200000 translated=0x4c200000 perm=0x3 stage=1\n") if leak else ""
        trace = TRACE.format(ipa=ipa, vmid=vmid, inval=inval, leak=leak,
                             plain_start=con("l1: run name=plain index=0 mode=plain uptime=1"),
                             plain_end=con("l1: run-end name=plain uptime=2 l1_smmu_events=0"),
                             accel_start=con("l1: run name=accel index=1 mode=accel uptime=3"),
                             accel_end=con("l1: run-end name=accel uptime=4 l1_smmu_events=0"),
                             teardown_start=con("l1: teardown-dma run=accel start bdf=0000:00:02.0"),
                             teardown_end=con("l1: teardown-dma run=accel end l1_smmu_events=16"))
        paths = {}
        for name, text in (("serial.log", log), ("trace.log", trace)):
            paths[name] = os.path.join(d, name)
            with open(paths[name], "w") as f:
                f.write(text)
        with mock.patch.dict(os.environ, {"WB_PLAN": plan} if plan else {}):
            out = three_level_parse.run(
                ["--log", paths["serial.log"], "--trace", paths["trace.log"],
                 "--disk", disk, "--disk-tool", self.tool, "--runs", "plain,accel",
                 "--mib", str(MIB), "--host-off-mib", str(2 * MIB), "--host-mib", "4",
                 "--host-seed", "0x4057", "--qemu-rc", str(rc), "--wall", "60",
                 "--limit", "240", "--measured", os.path.join(d, "measured.txt")])
        with open(os.path.join(d, "measured.txt"), encoding="utf-8") as f:
            self.measured = f.read().splitlines()
        return out.splitlines()

    def fails(self, lines):
        return [ln.split()[1] for ln in lines if ln.startswith("FAIL")]

    def test_good_run_passes(self):
        lines = self.run_parse()
        self.assertEqual(self.fails(lines), [])
        self.assertIn("PASS three-level:accel.l0.nvme-two-stage-walk -- stream 0x8: IOVA 0xfffff000 -> "
                      "IPA 0x5a000000 (L2's stage 1) -> PA 0x4b000000 (L1's stage 2), "
                      "as L0 translated it (0x4b000000)", lines)
        for name in ("TLBI_NH_VA", "TLBI_NH_ALL", "CFGI_CD", "no-nsnh", "one-vmid"):
            self.assertIn(f"three-level:accel.commands.{name}", [ln.split()[1] for ln in lines
                                                         if ln.startswith("PASS")], lines)
        self.assertIn("three-level:accel.teardown.dma-reaches-nothing",
                      [ln.split()[1] for ln in lines if ln.startswith("PASS")], lines)
        self.assertTrue(any(ln.startswith("PASS three-level:ratio.accel-vs-plain -- write 0.50x, read 0.25x")
                            for ln in lines), lines)
        self.assertIn("PASS three-level:l0.exit -- L0 powered off after 60 s, 0.25x its 240 s limit", lines)
        # make bench's table (bench_three_level.py) takes the ratio from here
        self.assertIn("accel ratio_vs=plain write=0.50 read=0.25", self.measured)
        # and L1's CPU time over the run (l1-init.sh's busy_cs), in seconds
        self.assertIn("accel l1_qemu_seconds=40 rc=0 l1_busy_seconds=12.34", self.measured)

    def test_mismatch_fails(self):
        self.assertIn("three-level:accel.disk.readback", self.fails(self.run_parse(bad=7)))

    def test_image_not_written_fails(self):
        f = self.fails(self.run_parse(write_image=False))
        self.assertIn("three-level:plain.host-image", f)
        self.assertIn("three-level:accel.host-image", f)

    def test_l1_warning_fails(self):
        f = self.fails(self.run_parse(l1_extra="[   9.1] WARNING: CPU: 0 PID: 1 at x.c:1\n"))
        self.assertIn("three-level:l1.splat", f)

    def test_one_stage_only_fails(self):
        # the "IPA" is the IOVA itself: the guest's stage 1 did nothing
        self.assertIn("three-level:accel.l0.nvme-two-stage-walk", self.fails(self.run_parse(ipa=0xfffff000)))

    def test_lost_guest_command_fails(self):
        self.assertIn("three-level:accel.commands.TLBI_NH_VA", self.fails(self.run_parse(l0_inval=2)))

    def test_amplified_guest_command_fails(self):
        self.assertIn("three-level:accel.commands.TLBI_NH_VA", self.fails(self.run_parse(l0_inval=4)))

    def test_unscoped_command_fails(self):
        # VMID 0 is L1's own: the guest's TLBIs did not carry the nest parent's
        f = self.fails(self.run_parse(vmid=0))
        self.assertIn("three-level:accel.commands.TLBI_NH_VA", f)
        self.assertIn("three-level:accel.commands.one-vmid", f)
        self.assertIn("three-level:accel.commands.no-nsnh", self.fails(self.run_parse(nsnh=True)))

    def test_dma_after_teardown_fails(self):
        self.assertIn("three-level:accel.teardown.dma-reaches-nothing", self.fails(self.run_parse(leak=True)))

    def test_expected_skip_only(self):
        # L2's VFIO refused edu because of QEMU's RMR: a skip plan.conf
        # expects; with a plan that does not expect it, a failure
        lines = self.run_parse(edu=EDU_RMR)
        self.assertEqual(self.fails(lines), [])
        self.assertTrue(any(ln.startswith("SKIP three-level:accel.edu.dma -- L2's VFIO could not take edu")
                            for ln in lines), lines)
        with tempfile.NamedTemporaryFile("w", suffix=".conf", dir=self.tmp.name,
                                         delete=False) as f:
            f.write("machine nested 12 -M virt\nboot x nested test 60 -\n")
        f = self.fails(self.run_parse(edu=EDU_RMR, plan=f.name))
        # ...and a command L2's driver never sent is "not exercised", a
        # skip that must be expected too, never a check left out
        self.assertEqual(f, ["three-level:accel.edu.dma", "three-level:accel.commands.TLBI_NH_VAA"])

    def test_command_not_exercised(self):
        # a guest that sends no TLBI_NH_VA (a strict guest must) fails
        # that check by name, even though nothing reached L0 either
        lines = self.run_parse(nh_va=0, l0_inval=0)
        self.assertIn("FAIL three-level:accel.commands.TLBI_NH_VA -- not exercised: L2's driver "
                      "queued no TLBI_NH_VA (every run must)", lines)
        self.assertTrue(any(ln.startswith("SKIP three-level:accel.commands.TLBI_NH_VAA -- not exercised")
                            for ln in lines), lines)

    def test_hang_fails(self):
        self.assertIn("three-level:l0.exit", self.fails(self.run_parse(rc=124)))


if __name__ == "__main__":
    unittest.main()
