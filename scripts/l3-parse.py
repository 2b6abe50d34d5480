#!/usr/bin/env python3
"""Results of one three-level run (scripts/run-l3.sh): reads L0's serial log
(which carries L1's kernel log, L1's "l1: ..." lines and each L2 console as
"L2[RUN]| ..."), L0's QEMU trace and the disk image, and prints one line per
result, "PASS|FAIL|SKIP l3:<name> [-- why]". Raw figures (seconds, MiB/s,
counts) go to --measured; the result lines give timings as ratios only.
"""
import argparse
import collections
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parse import SPLAT_RE, Results  # noqa: E402

L2_RE = re.compile(r"^L2\[([^\]]+)\]\| ?(.*)$")
TRACE_RE = re.compile(r"^(?:\d+@[\d.]+:)?(\w+) ?(.*)$")
KV_RE = re.compile(r"(\w[\w.-]*)=(\S*)")
TARGET_WALL = 180.0


def kv(line):
    return dict(KV_RE.findall(line))


def sid_of(bdf):
    m = re.match(r"(?:[0-9a-f]{4}:)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$", bdf or "")
    if not m:
        return None
    return int(m.group(1), 16) << 8 | int(m.group(2), 16) << 3 | int(m.group(3))


class Log:
    def __init__(self, path, direct=False):
        self.l1 = []        # "l1: ..." lines
        self.kernel = []    # L1's kernel log and anything else on L1's console
        self.l2 = collections.defaultdict(list)   # run -> L2 console lines
        with open(path, errors="replace") as f:
            for raw in f:
                line = raw.rstrip("\r\n").replace("\r", "")
                if direct:
                    # L2 on L0: it is the only level; fake L1's run bookkeeping
                    line = "L2[direct]| " + line
                m = L2_RE.match(line)
                if m:
                    text = m.group(2)
                    # UEFI's screen escapes may precede /init's first line
                    at = text.find("l2: ")
                    if at > 0:
                        text = text[at:]
                    self.l2[m.group(1)].append(text)
                elif line.startswith("l1: "):
                    self.l1.append(line[4:])
                else:
                    self.kernel.append(line)

    def l1_lines(self, word, **match):
        out = []
        for line in self.l1:
            if not line.startswith(word + " "):
                continue
            d = kv(line)
            if all(d.get(k) == v for k, v in match.items()):
                out.append((line, d))
        return out

    def l2_lines(self, run, word):
        pre = "l2: " + word + " "
        return [(ln, kv(ln)) for ln in self.l2.get(run, []) if ln.startswith(pre)]


def trace_stats(path):
    st = {
        "opcodes": collections.Counter(),
        "translations": collections.Counter(),   # (sid, stage)
        "aborts": collections.Counter(),          # sid
        "events": collections.Counter(),          # (type, sid)
        "inval_vmid": collections.Counter(),      # vmid from range/asid/vmid invalidations
        "example": {},                            # (sid, stage) -> first translation
        "walk": collections.Counter(),            # stage of page-table leaves read
        "leaf": {1: {}, 2: {}},                   # stage -> input page -> output page
        "nested": [],                             # (sid, iova, translated), first ones
    }
    if not os.path.exists(path):
        return st
    with open(path, errors="replace") as f:
        for line in f:
            m = TRACE_RE.match(line.strip())
            if not m:
                continue
            ev, rest = m.groups()
            if ev == "smmuv3_cmdq_opcode":
                st["opcodes"][rest.replace("<---", "").strip()] += 1
            elif ev == "smmuv3_translate_success":
                d = kv(rest)
                key = (int(d.get("sid", "0"), 16), int(d.get("stage", "0")))
                st["translations"][key] += 1
                st["example"].setdefault(key, (d.get("iova"), d.get("translated")))
                if key[1] == 3 and len(st["nested"]) < 4096:
                    st["nested"].append((key[0], int(d["iova"], 16), int(d["translated"], 16)))
            elif ev == "smmuv3_translate_abort":
                st["aborts"][int(kv(rest).get("sid", "0"), 16)] += 1
            elif ev == "smmuv3_record_event":
                parts = rest.split()
                st["events"][(parts[0] if parts else "?",
                              int(kv(rest).get("sid", "0"), 16))] += 1
            elif ev in ("smmuv3_range_inval", "smmu_iotlb_inv_asid_vmid",
                        "smmuv3_cmdq_tlbi_nh", "smmuv3_cmdq_tlbi_s12_vmid",
                        "smmu_iotlb_inv_vmid", "smmu_iotlb_inv_vmid_s1"):
                d = kv(rest)
                if "vmid" in d:
                    st["inval_vmid"][(ev, d["vmid"])] += 1
            elif ev == "smmu_ptw_page_pte":
                d = kv(rest)
                st["walk"][d.get("stage", "?")] += 1
                m2 = re.search(r"page address = (0x[0-9a-f]+)", rest)
                stage = int(d.get("stage", "0"))
                if m2 and stage in (1, 2) and len(st["leaf"][stage]) < 200000:
                    st["leaf"][stage][int(d["iova"], 16) >> 12] = int(m2.group(1), 16) >> 12
    return st


def disk_check(tool, disk, off, mib, seed):
    p = subprocess.run([tool, "verify", disk, str(off), str(mib), seed],
                       capture_output=True, text=True)
    return p.returncode == 0, (p.stdout + p.stderr).strip()


def check_l1(log, res):
    """L1's own checks; returns its edu lines."""
    boot = log.l1_lines("boot")
    res.add("PASS" if boot else "FAIL", "l1.boot",
            boot[0][0] if boot else "L1's /init never ran")
    kvm = log.l1_lines("kvm")
    if kvm and kvm[0][1].get("dev") == "1" and kvm[0][1].get("el2") not in (None, "0"):
        res.add("PASS", "l1.kvm", kvm[0][0])
    else:
        res.add("FAIL", "l1.kvm", kvm[0][0] if kvm else "no kvm line")
    io = log.l1_lines("iommu")
    res.add("PASS" if io and io[0][1].get("dev_iommu") == "1" else "FAIL", "l1.iommufd",
            io[0][0] if io else "no iommu line")
    for name in ("nvme", "edu"):
        v = log.l1_lines("vfio", name=name)
        ok = bool(v) and v[0][1].get("driver") == "vfio-pci"
        res.add("PASS" if ok else "FAIL", f"l1.vfio.{name}", v[0][0] if v else "not bound")
    edu1 = [ln for ln, _ in log.l1_lines("edu")]
    if edu1:
        ok = any("result=pass" in ln for ln in edu1)
        res.add("PASS" if ok else "FAIL", "l1.edu.dma",
                "edu DMA over VFIO type1 in L1 (L0's SMMU): " + "; ".join(edu1[1:4]))
        ev = log.l1_lines("edu", )
        nev = [d.get("smmu_events") for _, d in ev if "smmu_events" in d]
        ok = bool(nev) and nev[0] not in ("0", None)
        res.add("PASS" if ok else "FAIL", "l1.edu.fault",
                f"L1's SMMU driver logged {nev[0] if nev else '?'} events for the unmapped DMA")

    return edu1


def chain_check(res, st, sid, walked):
    """One NVMe IOVA resolved through both stages, from L0's walk trace:
    a stage-1 leaf IOVA -> IPA (the guest's tables) and a stage-2 leaf
    IPA -> PA (L1's), ending where L0 says the translation went, with
    IOVA, IPA and PA all different."""
    if not walked:
        res.add("SKIP", "l0.nvme-two-stage-walk",
                "no page-table-walk trace (run with L0_TRACE_WALK=1)")
        return
    for s_, iova, out in st["nested"]:
        if s_ != sid:
            continue
        ipa = st["leaf"][1].get(iova >> 12)
        if ipa is None:
            continue
        pa = st["leaf"][2].get(ipa)
        if pa is None or pa != out >> 12:
            continue
        ok = len({iova >> 12, ipa, pa}) == 3
        res.add("PASS" if ok else "FAIL", "l0.nvme-two-stage-walk",
                f"stream 0x{sid:x}: IOVA 0x{iova:x} -> IPA 0x{ipa << 12:x} (L2's stage 1) "
                f"-> PA 0x{pa << 12:x} (L1's stage 2)")
        return
    res.add("FAIL", "l0.nvme-two-stage-walk",
            f"no nested translation of stream 0x{sid:x} matched a stage-1 and a stage-2 leaf")


def command_check(res, log, st, runs):
    """Every invalidation L2's driver queued reached L0's SMMU, scoped to a
    nest parent's VMID (non-zero: L1's own stage-1 domains use VMID 0)."""
    guest = collections.Counter()
    for run in runs:
        if run.startswith("accel"):
            for _, d in log.l1_lines("guest-cmd", run=run):
                guest[d["opcode"]] += int(d["count"])
    tlbi = {o: n for o, n in guest.items() if o.startswith("SMMU_CMD_TLBI")}
    if not tlbi:
        res.add("SKIP", "commands.guest-to-l0", "no accelerated run queued a TLBI")
        return
    l0 = collections.Counter()
    for (ev, vmid), n in st["inval_vmid"].items():
        if vmid != "0":
            l0[vmid] += n
    total = sum(tlbi.values())
    got = sum(l0.values())
    res.add("PASS" if got >= total else "FAIL", "commands.guest-to-l0",
            f"L2's driver queued {total} TLBIs (" +
            ", ".join(f"{o[9:]}={n}" for o, n in sorted(tlbi.items())) +
            f"); L0's SMMU invalidated {got} times for VMIDs " +
            (", ".join(f"{v}: {n}" for v, n in sorted(l0.items())) or "none") +
            (f" ({got / total:.2f}x)" if total else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--log", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--disk", required=True)
    ap.add_argument("--disk-tool", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--mib", type=int, required=True)
    ap.add_argument("--host-off-mib", type=int, required=True)
    ap.add_argument("--host-mib", type=int, required=True)
    ap.add_argument("--host-seed", required=True)
    ap.add_argument("--qemu-rc", type=int, required=True)
    ap.add_argument("--wall", type=float, required=True)
    ap.add_argument("--limit", type=int, required=True)
    ap.add_argument("--initrd")
    ap.add_argument("--measured", required=True)
    ap.add_argument("--direct", action="store_true",
                    help="L2 booted by L0 itself (no L1): its console is the serial log")
    a = ap.parse_args()

    # no plan.conf for this machine: every check says PASS or FAIL itself
    res = Results("l3", plan=None, boot="l3")
    meas = []
    log = Log(a.log, direct=a.direct)
    runs = [r for r in a.runs.split(",") if r]

    # L0
    meas.append(f"l0 wall_seconds={a.wall} limit={a.limit} qemu_rc={a.qemu_rc}")
    if a.initrd and os.path.exists(a.initrd):
        meas.append(f"{'l2' if a.direct else 'l1'} initramfs_bytes={os.path.getsize(a.initrd)}")
    if a.qemu_rc == 0:
        res.add("PASS", "l0.exit", f"L0 powered off; wall time {a.wall / TARGET_WALL:.2f}x "
                f"the {TARGET_WALL:.0f} s target")
    elif a.qemu_rc in (124, 137):
        res.add("FAIL", "l0.exit", f"hung: killed after the {a.limit} s limit")
    else:
        res.add("FAIL", "l0.exit", f"QEMU (L0) exited with {a.qemu_rc}")

    bdf = {}
    edu1 = []
    if a.direct:
        log.l1 += ["run name=direct", "qemu run=direct rc=%d" % a.qemu_rc]
        log.l1 += ["after run=direct bdf=- driver=vfio-pci"] * 2
    else:
        edu1 = check_l1(log, res)
        bdf = {name: d.get("bdf") for name in ("nvme", "edu")
               for _, d in log.l1_lines("vfio", name=name)[:1]}
    # Each L2 run
    st = trace_stats(a.trace)
    tput = {}
    for k, run in enumerate(runs):
        mode = re.split(r"[-+]", run)[0]
        started = log.l1_lines("run", name=run)
        if not started:
            res.add("FAIL", f"{run}.started", "L1 never started this run")
            continue
        q = log.l1_lines("qemu", run=run)
        says = [ln.split("| ", 1)[1] for ln in log.l1 if ln.startswith(f"qemu-says run={run} |")]
        b = log.l2_lines(run, "boot")
        stopped = bool(q) and q[0][1].get("rc") == "stopped"
        if stopped:
            res.add("SKIP", f"{run}.l2", "strace run: stopped once the guest ran")
        elif not b:
            why = "L2 never reached /init"
            if q:
                why += f"; QEMU 11.1.3 rc={q[0][1].get('rc')}"
            if says:
                why += "; it said: " + " / ".join(s.strip() for s in says[:4])
            res.add("FAIL", f"{run}.l2-boot", why)
        else:
            res.add("PASS", f"{run}.l2-boot", b[0][0])
            meas.append(f"{run} l2_boot_uptime={b[0][1].get('uptime')}")
        if q and not a.direct:
            meas.append(f"{run} l1_qemu_seconds={q[0][1].get('seconds')} rc={q[0][1].get('rc')}")
        if stopped:
            pass
        elif not b:
            for name in ("disk", "msix", "poweroff"):
                res.add("SKIP", f"{run}.{name}", "L2 did not boot")
        else:
            nv = log.l2_lines(run, "nvme")
            io2 = log.l2_lines(run, "iommu")
            if nv:
                d = nv[0][1]
                want = "none" if mode in ("plain", "legacy") else "DMA"
                ok = d.get("domain") == want
                res.add("PASS" if ok else "FAIL", f"{run}.l2-iommu",
                        f"NVMe at {d.get('bdf')}: group={d.get('group')} domain={d.get('domain')} "
                        f"(want {want}); {io2[0][0] if io2 else ''}")
            else:
                res.add("FAIL", f"{run}.l2-nvme", "L2 found no NVMe")
            disk = {w: d for ln, d in log.l2_lines(run, "disk")
                    for w in [ln.split()[2]]}
            if a.host_mib:
                h = disk.get("host-seeded")
                ok = h is not None and h.get("mismatches") == "0"
                res.add("PASS" if ok else "FAIL", f"{run}.disk.host-seeded",
                        f"{h.get('bytes')} bytes seeded by the host read in L2, "
                        f"{h.get('mismatches')} mismatches" if h else "no result")
            w, r = disk.get("write"), disk.get("readback")
            ok = (w is not None and r is not None and r.get("mismatches") == "0"
                  and int(r.get("bytes", 0)) >= a.mib << 20)
            res.add("PASS" if ok else "FAIL", f"{run}.disk.readback",
                    f"{r.get('bytes')} bytes written and read back, {r.get('mismatches')} mismatches"
                    if r else "; ".join(ln for ln, _ in log.l2_lines(run, "disk")) or "no result")
            if w and r:
                tput[run] = (float(w["mib_s"]), float(r["mib_s"]))
                meas.append(f"{run} write_mib_s={w['mib_s']} read_mib_s={r['mib_s']} "
                            f"write_seconds={w['seconds']} read_seconds={r['seconds']}")
            irqs = [d for _, d in log.l2_lines(run, "irq")]
            ioq = [d for d in irqs if re.match(r"nvme\d+q[1-9]", d.get("name", ""))
                   and int(d.get("count", 0)) > 0]
            msix = [d for d in ioq if "MSI" in d.get("chip", "")]
            res.add("PASS" if msix else "FAIL", f"{run}.msix",
                    ", ".join(f"{d['name']}={d['count']} ({d.get('chip')})" for d in irqs)
                    or "no NVMe interrupt")
            meas.append(f"{run} irqs " + " ".join(f"{d['name']}={d['count']}" for d in irqs))
            if mode in ("accel", "direct"):
                e = [ln for ln, _ in log.l2_lines(run, "edu")]
                ok = any("result=pass" in ln for ln in e)
                res.add("PASS" if ok else "FAIL", f"{run}.edu.dma", "; ".join(e[1:4]) or "no edu result")
                ev = log.l2_lines(run, "smmu")
                n = ev[0][1].get("events") if ev else None
                res.add("PASS" if n not in (None, "0") else "FAIL", f"{run}.edu.fault-in-l2",
                        f"L2's own SMMUv3 driver logged {n} events" +
                        ("" if a.direct else " (through QEMU 11.1.3's vEVENTQ)"))
            for ln in log.l2.get(run, []):
                if ln.startswith("l2: klog") and SPLAT_RE.search(ln):
                    res.add("FAIL", f"{run}.l2-splat", ln[:160])
            done = log.l2_lines(run, "done")
            ok = bool(done) and done[0][1].get("rc") == "0"
            res.add("PASS" if ok else "FAIL", f"{run}.poweroff",
                    done[0][0] if done else "L2 did not finish")
            # The image on the x86 side holds what L2 wrote.
            if w:
                ok, out = disk_check(a.disk_tool, a.disk, k * a.mib, a.mib, hex(0x5eed00 + k))
                res.add("PASS" if ok else "FAIL", f"{run}.host-image", out)
        if q and not a.direct:
            qrc = q[0][1].get("rc")
            if qrc == "stopped":
                res.add("PASS", f"{run}.qemu-exit",
                        "strace run: stopped once the guest ran (its setup is in the log)")
            else:
                res.add("PASS" if qrc == "0" else "FAIL", f"{run}.qemu-exit",
                        "QEMU 11.1.3 " + ("hung: killed at the run's limit" if qrc == "killed"
                                          else f"exited with {qrc}"))
        back = [d for _, d in log.l1_lines("after", run=run)]
        if a.direct:
            continue
        ok = len(back) == 2 and all(d.get("driver") == "vfio-pci" and
                                    d.get("qemu_alive", "0") == "0" for d in back)
        res.add("PASS" if ok else "FAIL", f"{run}.devices-back",
                "QEMU gone, both devices back with vfio-pci in L1" if ok else str(back))
        cmds = {d["opcode"]: int(d["count"]) for _, d in log.l1_lines("guest-cmd", run=run)}
        if any(cmds.values()):
            meas.append(f"{run} guest_commands " +
                        " ".join(f"{o}={c}" for o, c in sorted(cmds.items())))

    if a.host_mib:
        ok, out = disk_check(a.disk_tool, a.disk, a.host_off_mib, a.host_mib, a.host_seed)
        res.add("PASS" if ok else "FAIL", "host-image.host-seeded", out)

    # Ratios between runs (plain and accel, if both moved data).
    base = next((r for r in runs if r in tput and r.startswith("plain") and "+strace" not in r), None)
    for r in runs:
        if r in tput and base and r != base:
            res.add("PASS", f"ratio.{r}-vs-{base}",
                    f"write {tput[r][0] / tput[base][0]:.2f}x, read {tput[r][1] / tput[base][1]:.2f}x")

    # L1's kernel: no splat.
    splats = [] if a.direct else [ln for ln in log.kernel if SPLAT_RE.search(ln)]
    for ln in splats:
        res.add("FAIL", "l1.splat", ln.strip()[:160])
    if not splats and not a.direct:
        res.add("PASS", "l1.no-splat", f"{len(log.kernel)} lines of L1's kernel log, no warning")

    if a.direct:
        for name in ("nvme", "edu"):
            ln = log.l2_lines("direct", name)
            if ln:
                bdf[name] = ln[0][1].get("bdf")
    # L0's trace: the NVMe's and edu's streams.
    for name in ("nvme", "edu"):
        sid = sid_of(bdf.get(name))
        if sid is None:
            continue
        by_stage = {stg: n for (s, stg), n in st["translations"].items() if s == sid}
        meas.append(f"l0 sid=0x{sid:x} ({name}) translations " +
                    " ".join(f"stage{stg}={n}" for stg, n in sorted(by_stage.items())) +
                    f" aborts={st['aborts'].get(sid, 0)}")
        if name == "nvme":
            ok = sum(by_stage.values()) > 0
            ex = {stg: st["example"][(sid, stg)] for stg in by_stage}
            res.add("PASS" if ok else "FAIL", "l0.nvme-translated",
                    f"stream 0x{sid:x}: " + ", ".join(
                        f"stage {stg}: {n} (e.g. iova {ex[stg][0]} -> {ex[stg][1]})"
                        for stg, n in sorted(by_stage.items())) if ok else "no translation")
            if any(r.startswith("accel") for r in runs):
                nested = by_stage.get(3, 0)
                res.add("PASS" if nested else "FAIL", "l0.nvme-nested",
                        f"{nested} translations of stream 0x{sid:x} through both stages")
                chain_check(res, st, sid, bool(st["walk"]))
        else:
            evs = {t: n for (t, s), n in st["events"].items() if s == sid}
            if edu1 or a.direct:
                res.add("PASS" if evs else "FAIL", "l0.edu-fault",
                        f"L0's SMMU recorded for stream 0x{sid:x}: " +
                        (", ".join(f"{t} x{n}" for t, n in evs.items()) or "nothing"))
    command_check(res, log, st, runs)
    meas.append("l0 commands " + " ".join(f"{o}={n}" for o, n in sorted(st["opcodes"].items())))
    meas.append("l0 invalidations_by_vmid " +
                " ".join(f"{ev}:vmid{v}={n}" for (ev, v), n in sorted(st["inval_vmid"].items())))
    if st["walk"]:
        meas.append("l0 walk_leaves " + " ".join(f"stage{s}={n}" for s, n in sorted(st["walk"].items())))

    with open(a.measured, "w") as f:
        f.write("\n".join(meas) + "\n")
    print("\n".join(res.lines))


if __name__ == "__main__":
    main()
