#!/usr/bin/env python3
"""Results of one three-level run (scripts/three-level.sh): reads L0's serial log
(which carries L1's kernel log, L1's "l1: ..." lines and each L2 console as
"L2[RUN]| ...", read by scripts/protocol.py), L0's QEMU trace and the disk
image, and prints one line per result, "PASS|FAIL|SKIP three-level:<name>
[-- why]" (scripts/results.py). Raw figures (seconds, MiB/s, counts) go to
--measured; the result lines give timings as ratios only. One check a
function, run in the order of the tables CHECKS, RUN_CHECKS and L2_CHECKS
(which is the order of the lines).
"""
import argparse
import collections
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plan as planconf  # noqa: E402
import protocol  # noqa: E402
import results  # noqa: E402

TRACE_RE = re.compile(r"^(?:\d+@[\d.]+:)?(\w+) ?(.*)$")
kv = protocol.kv


def sid_of(bdf):
    m = re.match(r"(?:[0-9a-f]{4}:)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$", bdf or "")
    if not m:
        return None
    return int(m.group(1), 16) << 8 | int(m.group(2), 16) << 3 | int(m.group(3))


class Window:
    """What L0's SMMU did during one stretch of the run."""

    def __init__(self):
        self.opcodes = collections.Counter()
        self.cmds = []                                # [opcode, {detail}], in order
        self.translations = collections.Counter()     # (sid, stage)
        self.example = {}                             # (sid, stage) -> first (iova, out)
        self.aborts = collections.Counter()           # sid
        self.events = collections.Counter()           # (type, sid)
        self.inval_vmid = collections.Counter()       # (event, vmid)
        self.nested = []                              # (sid, iova, out), first ones
        self.walk = collections.Counter()             # stage -> leaves read
        self.leaf = {1: {}, 2: {}}                    # stage -> input page -> output page
        self.blocks = {1: [], 2: []}                  # stage -> (input base, output base, size)
        self.stage_runs = collections.defaultdict(list)  # sid -> [[stage, count]...], in order

    def out_page(self, stage, page):
        """The output page of an input page at a stage, from the leaves read."""
        if page in self.leaf[stage]:
            return self.leaf[stage][page]
        for base, out, size in self.blocks[stage]:
            if base <= page << 12 < base + size:
                return (out + (page << 12) - base) >> 12
        return None


# The trace events that say what a command did, with the fields kept.
CMD_DETAIL = {
    "smmuv3_range_inval": ("vmid", "asid", "addr", "num_pages", "stage"),
    "smmu_iotlb_inv_asid_vmid": ("asid", "vmid"),
    "smmuv3_cmdq_tlbi_nh": ("vmid",),
    "smmuv3_cmdq_tlbi_s12_vmid": ("vmid",),
    "smmuv3_cmdq_cfgi_cd": ("sid",),
}


def on_opcode(ws, ev, rest):
    op = rest.replace("<---", "").strip()
    for w in ws:
        w.opcodes[op] += 1
        w.cmds.append([op, {}])


def on_cmd_detail(ws, ev, rest):
    """A command's fields (its VMID, ASID, range, stream), on the command."""
    d = kv(rest)
    det = {k: d[k] for k in CMD_DETAIL[ev] if k in d}
    if "streamid" in d:
        det["sid"] = d["streamid"]
    for w in ws:
        if w.cmds:
            w.cmds[-1][1].update(det)
        if "vmid" in d:
            w.inval_vmid[(ev, d["vmid"])] += 1


def on_cfgi_ste(ws, ev, rest):
    sid = rest.split("=")[-1].strip()
    for w in ws:
        if w.cmds:
            w.cmds[-1][1]["sid"] = sid


def on_translate(ws, ev, rest):
    d = kv(rest)
    key = (int(d.get("sid", "0"), 16), int(d.get("stage", "0")))
    for w in ws:
        w.translations[key] += 1
        sr = w.stage_runs[key[0]]
        if sr and sr[-1][0] == key[1]:
            sr[-1][1] += 1
        else:
            sr.append([key[1], 1])
        w.example.setdefault(key, (d.get("iova"), d.get("translated")))
        if key[1] == 3 and len(w.nested) < 4096:
            w.nested.append((key[0], int(d["iova"], 16), int(d["translated"], 16)))


def on_abort(ws, ev, rest):
    sid = int(kv(rest).get("sid", "0"), 16)
    for w in ws:
        w.aborts[sid] += 1


def on_event(ws, ev, rest):
    parts = rest.split()
    key = (parts[0] if parts else "?", int(kv(rest).get("sid", "0"), 16))
    for w in ws:
        w.events[key] += 1


def on_walk(ws, ev, rest):
    """A leaf of a page-table walk: input page -> output page (or block)."""
    d = kv(rest)
    stage = int(d.get("stage", "0"))
    # a nested STE's stage-1 walk is traced as stage 3 (the
    # config's stage); its stage-2 walks as stage 2
    if stage == 3:
        stage = 1
    m2 = re.search(r"(page|block) address = (0x[0-9a-f]+)", rest)
    m3 = re.search(r"block size = (\d+) MiB", rest)
    for w in ws:
        w.walk[d.get("stage", "?")] += 1
        if not m2 or stage not in (1, 2) or "iova" not in d:
            continue
        iova, out = int(d["iova"], 16), int(m2.group(2), 16)
        if m2.group(1) == "page" and len(w.leaf[stage]) < 200000:
            w.leaf[stage][iova >> 12] = out >> 12
        elif m3 and len(w.blocks[stage]) < 20000:
            size = int(m3.group(1)) << 20
            w.blocks[stage].append((iova & ~(size - 1), out & ~(size - 1), size))


TRACE_EVENTS = dict({ev: on_cmd_detail for ev in CMD_DETAIL}, **{
    "smmuv3_cmdq_opcode": on_opcode,
    "smmuv3_cmdq_cfgi_ste": on_cfgi_ste,
    "smmuv3_translate_success": on_translate,
    "smmuv3_translate_abort": on_abort,
    "smmuv3_record_event": on_event,
    "smmu_ptw_page_pte": on_walk,
    "smmu_ptw_block_pte": on_walk,
})


def trace_stats(path):
    """L0's trace: the whole of it ("all") and one Window per stretch that
    L1's console lines mark ("run:R", "vm:NAME", "teardown:R"...;
    protocol.MARKS)."""
    wins = collections.defaultdict(Window)
    active = {"all"}
    con = protocol.Pl011()
    if not os.path.exists(path):
        return wins
    with open(path, errors="replace") as f:
        for line in f:
            m = TRACE_RE.match(line.strip())
            if not m:
                continue
            ev, rest = m.groups()
            if ev == "pl011_write":
                for name, opens in protocol.l1_marks(con.write(rest) or ""):
                    if opens:
                        active.add(name)
                        wins[name]  # a stretch without any event is empty, not missing
                    else:
                        active.discard(name)
                continue
            ws = [wins[n] for n in active]
            if ev in TRACE_EVENTS:
                TRACE_EVENTS[ev](ws, ev, rest)
    return wins


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



def chain_check(res, w, sid, run):
    """One NVMe IOVA resolved through both stages, from L0's walk trace in
    the run's window: a stage-1 leaf IOVA -> IPA (L2's tables) and a stage-2
    leaf IPA -> PA (L1's), ending where L0 says the translation went, with
    IOVA, IPA and PA all different."""
    name = f"{run}.l0.nvme-two-stage-walk"
    if not w.walk:
        res.skip(name, "no page-table-walk trace (run with L0_TRACE_WALK=1)")
        return
    same = None
    for s_, iova, out in w.nested:
        if s_ != sid:
            continue
        ipa = w.out_page(1, iova >> 12)
        if ipa is None:
            continue
        pa = w.out_page(2, ipa)
        if pa is None or pa != out >> 12:
            continue
        if len({iova >> 12, ipa, pa}) < 3:
            same = same or (iova, ipa, pa)
            continue
        res.add("PASS", name,
                f"stream 0x{sid:x}: IOVA 0x{iova:x} -> IPA 0x{ipa << 12:x} (L2's stage 1) "
                f"-> PA 0x{pa << 12:x} (L1's stage 2), as L0 translated it (0x{out:x})")
        return
    if same:
        res.add("FAIL", name, f"stream 0x{sid:x}: IOVA 0x{same[0]:x} -> IPA 0x{same[1] << 12:x} "
                f"-> PA 0x{same[2] << 12:x}: not three different addresses")
        return
    res.add("FAIL", name,
            f"no nested translation of stream 0x{sid:x} matched a stage-1 and a stage-2 leaf")


# A guest's invalidation commands (as QEMU's trace names them) and what the
# host must send L0's SMMU for each, always for the nest parent's VMID.
GUEST_TO_L0 = [
    ("TLBI_NH_VA", ["SMMU_CMD_TLBI_NH_VA"], "SMMU_CMD_TLBI_NH_VA"),
    ("TLBI_NH_VAA", ["SMMU_CMD_TLBI_NH_VAA"], "SMMU_CMD_TLBI_NH_VAA"),
    ("TLBI_NH_ASID", ["SMMU_CMD_TLBI_NH_ASID"], "SMMU_CMD_TLBI_NH_ASID"),
    # "all" of a guest is all of its VMID, never all of the SMMU
    ("TLBI_NH_ALL", ["SMMU_CMD_TLBI_NH_ALL", "SMMU_CMD_TLBI_NSNH_ALL"], "SMMU_CMD_TLBI_NH_ALL"),
    ("CFGI_CD", ["SMMU_CMD_CFGI_CD", "SMMU_CMD_CFGI_CD_ALL"], None),
]


def classify_l0(w, sids):
    """L0's commands in a run's window, by what caused them: for the nest
    parent's VMID (vmid != 0: L1's own stage-1 domains use VMID 0), the
    guest's forwarded TLBIs, and the TLBI_NH_ALL that the host adds to each
    of its own stage-2 changes (after TLBI_S2_IPA, in the same batch); CD
    invalidations of the assigned streams; and the rest by opcode. Returns
    (by cause, commands per VMID, forwarded guest TLBIs per (VMID, opcode))."""
    cls = collections.Counter()
    vmids = collections.Counter()
    fwd = collections.Counter()
    prev = None
    for op, d in w.cmds:
        vmid = d.get("vmid")
        if op == "SMMU_CMD_SYNC":
            cls["SYNC"] += 1
            continue
        if vmid is not None and vmid != "0":
            vmids[vmid] += 1
            if op == "SMMU_CMD_TLBI_NH_ALL" and prev == "SMMU_CMD_TLBI_S2_IPA":
                cls["host:NH_ALL-after-S2_IPA"] += 1
            elif op in ("SMMU_CMD_TLBI_NH_VA", "SMMU_CMD_TLBI_NH_VAA",
                        "SMMU_CMD_TLBI_NH_ASID", "SMMU_CMD_TLBI_NH_ALL"):
                cls["vmid:" + op] += 1
                fwd[(vmid, op)] += 1
            else:
                cls["host:" + op[9:]] += 1
        elif op in ("SMMU_CMD_CFGI_CD", "SMMU_CMD_CFGI_CD_ALL") and \
                d.get("sid") is not None and int(d["sid"], 16) in sids:
            cls["sid:" + op] += 1
        elif op == "SMMU_CMD_TLBI_NSNH_ALL":
            cls["NSNH_ALL"] += 1
        else:
            cls["other:" + op[9:] + ("" if vmid is None else f"(vmid {vmid})")] += 1
        prev = op
    return cls, vmids, fwd


def guest_commands(log, run):
    """What L2's driver queued in a run (QEMU 11.1.3's trace in L1): every
    command, those of the disk workload, and QEMU's invalidate calls."""
    guest = collections.Counter()
    work = collections.Counter()
    for _, d in log.l1_lines("guest-cmd", run=run):
        guest[d["opcode"]] += int(d["count"])
        if d.get("phase") == "workload":
            work[d["opcode"]] += int(d["count"])
    inv = collections.Counter()
    for _, d in log.l1_lines("guest-inv", run=run):
        for k in ("calls", "entries", "done"):
            inv[(d.get("phase"), d.get("rc"), k)] += int(d.get(k, 0))
    return guest, work, inv


def command_check(res, log, w, run, sids, mib, meas):
    """Every invalidation L2's driver queued (QEMU 11.1.3's trace in L1)
    reached L0's SMMU (its trace in the run's window) once, scoped to the
    nest parent's VMID or to the device's own stream, and whatever else L0
    consumed is accounted for."""
    guest, work, inv = guest_commands(log, run)
    calls = sum(n for (p, rc, k), n in inv.items() if k == "calls")
    failed = {(p, rc): n for (p, rc, k), n in inv.items() if k == "calls" and rc != "0"}
    cls, vmids, _ = classify_l0(w, sids)
    meas.append(f"{run} l0_commands_by_cause " + " ".join(f"{k}={n}" for k, n in sorted(cls.items())))
    meas.append(f"{run} guest_commands " + " ".join(f"{k[9:]}={n}" for k, n in sorted(guest.items())))
    meas.append(f"{run} guest_invalidate_calls={calls} " +
                " ".join(f"{p}:{k}={n}" for (p, rc, k), n in sorted(inv.items()) if rc == "0"))
    if not guest:
        res.add("FAIL", f"{run}.commands.guest", "no guest command in QEMU's trace")
        return
    res.add("PASS" if len(vmids) == 1 else "FAIL", f"{run}.commands.one-vmid",
            "L0's TLBIs of this run for VMID(s) " +
            (", ".join(f"{v} ({n})" for v, n in sorted(vmids.items())) or "none") +
            " (one nest parent for both devices)")
    res.add("PASS" if not failed else "FAIL", f"{run}.commands.invalidate-calls",
            f"{calls} IOMMU_HWPT_INVALIDATE calls" +
            ("" if not failed else ", failed: " + ", ".join(
                f"{p}: {n} with {rc}" for (p, rc), n in failed.items())))
    forwarded_check(res, run, guest, cls, vmids)
    nsnh = cls.get("NSNH_ALL", 0)
    res.add("PASS" if not nsnh else "FAIL", f"{run}.commands.no-nsnh",
            f"L0's SMMU consumed {nsnh} TLBI_NSNH_ALL during the run (L2's driver sent "
            f"{guest.get('SMMU_CMD_TLBI_NSNH_ALL', 0)})")
    accounting_check(res, run, guest, cls, calls)
    per_mib_check(res, run, work, mib, meas)


# The guest invalidations every run behind the vSMMU must exercise: a
# strict guest's unmaps (TLBI_NH_VA) and its domains' CD writes (CFGI_CD).
# One that does not is a failure; the others, when the guest sent none,
# are "not exercised" skips that configs/plan.conf must expect, with the
# reason (Linux 6.12's driver never sends them in this run).
# A lazy guest (iommu.strict=0) flushes its flush queue by ASID instead of
# by address: there TLBI_NH_ASID is the must, TLBI_NH_VA not exercised.
MUST_EXERCISE = {"TLBI_NH_VA", "CFGI_CD"}
MUST_EXERCISE_LAZY = {"TLBI_NH_ASID", "CFGI_CD"}


def forwarded_check(res, run, guest, cls, vmids):
    """Each kind of guest invalidation, as many at L0 (GUEST_TO_L0); none
    left out silently."""
    for name, gops, l0op in GUEST_TO_L0:
        g = sum(guest.get(o, 0) for o in gops)
        got = cls.get("vmid:" + l0op, 0) if l0op else \
            cls.get("sid:SMMU_CMD_CFGI_CD", 0) + cls.get("sid:SMMU_CMD_CFGI_CD_ALL", 0)
        if not g and not got:
            why = f"not exercised: L2's driver queued no {'/'.join(o[9:] for o in gops)}"
            if name in (MUST_EXERCISE_LAZY if "-lazy" in run else MUST_EXERCISE):
                res.add("FAIL", f"{run}.commands.{name}", why + " (every run must)")
            else:
                res.skip(f"{run}.commands.{name}", why)
            continue
        what = (f"VMID {'/'.join(vmids)} {l0op[9:]}" if l0op else "CFGI_CD(_ALL) of the assigned streams")
        # A CD invalidation names a stream, not a VMID: any CD write of L1's
        # own for the same streams counts there too, so CFGI_CD may only
        # add up; the surplus is printed.
        ok = got == g if l0op else got >= g
        extra = "" if l0op or got == g else f" ({got - g} more than the guest's, not forwarded by QEMU)"
        res.add("PASS" if ok else "FAIL", f"{run}.commands.{name}",
                f"L2's driver queued {g} ({', '.join(f'{o[9:]}={guest[o]}' for o in gops if guest.get(o))}); "
                f"L0's SMMU consumed {got} {what}{extra}")


def accounting_check(res, run, guest, cls, calls):
    """The rest of what L0 consumed: syncs, the STE installs of the guest's
    CFGI_STEs and the host's own stage-2 changes."""
    fwd = sum(cls[k] for k in cls if k.startswith(("vmid:", "sid:")))
    total = sum(cls.values())
    extra = {k: n for k, n in cls.items() if not k.startswith(("vmid:", "sid:"))}
    res.add("PASS", f"{run}.commands.accounting",
            f"L0 consumed {total} commands in the run: {fwd} forwarded guest invalidations, "
            f"and {', '.join(f'{k}={n}' for k, n in sorted(extra.items()))}; "
            f"QEMU made {calls} IOMMU_HWPT_INVALIDATE calls for the guest's "
            f"{sum(guest.values())} commands ({guest.get('SMMU_CMD_SYNC', 0)} CMD_SYNC, "
            f"{guest.get('SMMU_CMD_CFGI_STE', 0) + guest.get('SMMU_CMD_CFGI_STE_RANGE', 0)} CFGI_STE(_RANGE))")


def per_mib_check(res, run, work, mib, meas):
    """The guest's commands per MiB the disk workload moved."""
    inval = sum(n for o, n in work.items() if o.startswith(("SMMU_CMD_TLBI", "SMMU_CMD_CFGI")))
    if not work:
        res.add("FAIL", f"{run}.commands.per-mib", "no guest command during the disk workload "
                "(QEMU's trace between L2's workload-start and readback lines)")
    else:
        meas.append(f"{run} workload_guest_commands " +
                    " ".join(f"{o[9:]}={n}" for o, n in sorted(work.items())))
        res.add("PASS", f"{run}.commands.per-mib",
                f"workload ({2 * mib} MiB written and read): {inval / (2 * mib):.2f} guest "
                f"TLBI/CFGI per MiB, {sum(work.values()) / (2 * mib):.2f} guest commands per MiB "
                f"with CMD_SYNC")


def teardown_check(res, log, w, run, sid):
    """After L2's VMM is gone, edu (driven in L1 through its sysfs BAR, no
    VFIO) DMAs to the IOVA where L2's mapping had landed its data: L0's SMMU
    must translate nothing for its stream in that window, and fault."""
    name = f"{run}.teardown.dma-reaches-nothing"
    lines = [ln for ln, d in log.l1_lines("edu") if ln.startswith("edu bar ")]
    end = [d for _, d in log.l1_lines("teardown-dma", run=run) if "l1_smmu_events" in d]
    if not lines or w is None or sid is None:
        res.add("FAIL", name, "no DMA after teardown" + ("" if w else " (no window in L0's trace)"))
        return
    tr = sum(n for (s_, _), n in w.translations.items() if s_ == sid)
    evs = {t: n for (t, s_), n in w.events.items() if s_ == sid}
    ok = "done=1" in lines[-1] and tr == 0 and bool(evs)
    res.add("PASS" if ok else "FAIL", name,
            f"{lines[-1]}; L0 for stream 0x{sid:x}: {tr} translations, events " +
            (", ".join(f"{t} x{n}" for t, n in evs.items()) or "none") +
            f"; L1's driver logged {end[0].get('l1_smmu_events') if end else '?'} events")


class ThreeLevel:
    """What every check of one three-level run reads, and what it writes:
    the result lines (a skip is a failure unless configs/plan.conf expects
    it of the boot named by --prefix) and the measured figures."""

    def __init__(self, a):
        self.a = a
        self.direct = a.direct
        plan = planconf.load(os.environ.get("WB_PLAN", planconf.CONF))
        self.res = results.Writer(a.prefix, plan=plan, boot=a.prefix)
        self.meas = []
        self.log = protocol.ThreeLevelLog(a.log, direct=a.direct)
        self.runs = [r for r in a.runs.split(",") if r]
        self.bdf = {}
        self.edu1 = []
        self.wins = collections.defaultdict(Window)
        self.tput = {}
        self.sids = {}

    def vm_params(self, vm):
        """A VM's L2 kernel parameters (the last of each, as the kernel
        takes them), from L1's "cmdline run=VM" line; its devices as
        "hosts" (a list)."""
        for ln, _ in self.log.l1_lines("cmdline", run=vm):
            app = ln.split(" -append ", 1)[1] if " -append " in ln else ""
            d = kv(app.strip().strip('"'))
            d["hosts"] = re.findall(r"host=([0-9a-f:.]+)", ln)
            return d
        return {"hosts": []}


def mode_of(run):
    """A run's mode: plain, legacy, accel (or direct), without -memfd or +strace."""
    return re.split(r"[-+]", run)[0]


def check_l0_exit(t):
    """L0 powered off within its limit."""
    a = t.a
    t.meas.append(f"l0 wall_seconds={a.wall} limit={a.limit} qemu_rc={a.qemu_rc}")
    if a.initrd and os.path.exists(a.initrd):
        t.meas.append(f"{'l2' if a.direct else 'l1'} initramfs_bytes={os.path.getsize(a.initrd)}")
    if a.qemu_rc == 0:
        t.res.add("PASS", "l0.exit", f"L0 powered off after {a.wall:.0f} s, "
                  f"{a.wall / a.limit:.2f}x its {a.limit} s limit")
    elif a.qemu_rc in (124, 137):
        t.res.add("FAIL", "l0.exit", f"hung: killed after the {a.limit} s limit")
    else:
        t.res.add("FAIL", "l0.exit", f"QEMU (L0) exited with {a.qemu_rc}")


def check_l1_side(t):
    """L1 (or, --direct, the run bookkeeping L1 would have printed)."""
    if t.direct:
        t.log.l1 += ["run name=direct", "qemu run=direct rc=%d" % t.a.qemu_rc]
        t.log.l1 += ["after run=direct bdf=- driver=vfio-pci"] * 2
        return
    t.edu1 = check_l1(t.log, t.res)
    t.bdf = {name: d.get("bdf") for name in ("nvme", "edu", "nvme2", "edu2")
             for _, d in t.log.l1_lines("vfio", name=name)[:1]}


def check_runs(t):
    """Each L2 run, in order (with L0's trace windows and the streams of
    the NVMe and edu)."""
    if t.direct:
        for name in ("nvme", "edu"):
            ln = t.log.l2_lines("direct", name)
            if ln:
                t.bdf[name] = ln[0][1].get("bdf")
    sids = {name: sid_of(t.bdf.get(name)) for name in ("nvme", "edu", "nvme2", "edu2")}
    t.sids = {n: s_ for n, s_ in sids.items() if s_ is not None}
    t.wins = trace_stats(t.a.trace)
    for k, run in enumerate(t.runs):
        check_run(t, k, run)


def check_run(t, k, run):
    """One L2 run: its boot, its checks if it booted, QEMU's exit, and the
    devices back in L1."""
    if not t.log.l1_lines("run", name=run):
        t.res.add("FAIL", f"{run}.started", "L1 never started this run")
        return
    if mode_of(run) in life.CHECKS:
        life.CHECKS[mode_of(run)](t, k, run)
        return
    q = t.log.l1_lines("qemu", run=run)
    state = check_l2_boot(t, run, q)
    if q and not t.direct:
        busy = q[0][1].get("busy_cs")
        # L1's CPU time over the run (l1-init.sh's busy_cs), in seconds
        t.meas.append(f"{run} l1_qemu_seconds={q[0][1].get('seconds')} rc={q[0][1].get('rc')}"
                      + (f" l1_busy_seconds={int(busy) / 100:.2f}" if busy else ""))
    for _, d in t.log.l1_lines("inv-timing", run=run):
        # L1's own time per IOMMU_HWPT_INVALIDATE (make bench's l3.inv_timing)
        t.meas.append(f"{run} inv_timing " + " ".join(f"{k}={d[k]}" for k in
                                                      ("calls", "median_us", "p99_us", "inner",
                                                       "inner_median_us", "outside_median_us")
                                                      if k in d))
    if state == "down":
        for name in ("disk", "msix", "poweroff"):
            t.res.add("SKIP", f"{run}.{name}", "L2 did not boot")
    elif state == "up":
        for check in L2_CHECKS:
            check(t, k, run)
    if q and not t.direct:
        check_qemu_exit(t, run, q[0][1].get("rc"))
    if not t.direct:
        check_devices_back(t, run)


def check_l2_boot(t, run, q):
    """L2 reached its /init: "up"; "down" if not; "stopped" for a strace
    run (stopped once the guest ran)."""
    says = [ln.split("| ", 1)[1] for ln in t.log.l1 if ln.startswith(f"qemu-says run={run} |")]
    b = t.log.l2_lines(run, "boot")
    if q and q[0][1].get("rc") == "stopped":
        t.res.skip(f"{run}.l2", "strace run: stopped once the guest ran")
        return "stopped"
    if not b:
        why = "L2 never reached /init"
        if q:
            why += f"; QEMU 11.1.3 rc={q[0][1].get('rc')}"
        if says:
            why += "; it said: " + " / ".join(s.strip() for s in says[:4])
        t.res.add("FAIL", f"{run}.l2-boot", why)
        return "down"
    t.res.add("PASS", f"{run}.l2-boot", b[0][0])
    t.meas.append(f"{run} l2_boot_uptime={b[0][1].get('uptime')}")
    return "up"


def check_l2_iommu(t, k, run):
    """L2's NVMe behind the vSMMU (DMA domain) or behind none (plain, legacy)."""
    nv = t.log.l2_lines(run, "nvme")
    io2 = t.log.l2_lines(run, "iommu")
    if not nv:
        t.res.add("FAIL", f"{run}.l2-nvme", "L2 found no NVMe")
        return
    d = nv[0][1]
    want = "none" if mode_of(run) in ("plain", "legacy") else \
        "DMA-FQ" if t.vm_params(run).get("iommu.strict") == "0" else "DMA"
    t.res.add("PASS" if d.get("domain") == want else "FAIL", f"{run}.l2-iommu",
              f"NVMe at {d.get('bdf')}: group={d.get('group')} domain={d.get('domain')} "
              f"(want {want}); {io2[0][0] if io2 else ''}")


def l2_disk(t, run):
    """L2's disk lines of a run, by what they say (write, readback...)."""
    return {ln.split()[2]: d for ln, d in t.log.l2_lines(run, "disk")}


def check_l2_disk(t, k, run):
    """What the host seeded read in L2; what L2 wrote read back."""
    disk = l2_disk(t, run)
    if t.a.host_mib and t.vm_params(run).get("l3.host_mib") != "0":
        h = disk.get("host-seeded")
        ok = h is not None and h.get("mismatches") == "0"
        t.res.add("PASS" if ok else "FAIL", f"{run}.disk.host-seeded",
                  f"{h.get('bytes')} bytes seeded by the host read in L2, "
                  f"{h.get('mismatches')} mismatches" if h else "no result")
    w, r = disk.get("write"), disk.get("readback")
    ok = (w is not None and r is not None and r.get("mismatches") == "0"
          and int(r.get("bytes", 0)) >= t.a.mib << 20)
    t.res.add("PASS" if ok else "FAIL", f"{run}.disk.readback",
              f"{r.get('bytes')} bytes written and read back, {r.get('mismatches')} mismatches"
              if r else "; ".join(ln for ln, _ in t.log.l2_lines(run, "disk")) or "no result")
    if w and r:
        t.tput[run] = (float(w["mib_s"]), float(r["mib_s"]))
        t.meas.append(f"{run} write_mib_s={w['mib_s']} read_mib_s={r['mib_s']} "
                      f"write_seconds={w['seconds']} read_seconds={r['seconds']}")


def check_msix(t, k, run):
    """The NVMe's I/O queues interrupted L2 by MSI-X."""
    irqs = [d for _, d in t.log.l2_lines(run, "irq")]
    ioq = [d for d in irqs if re.match(r"nvme\d+q[1-9]", d.get("name", ""))
           and int(d.get("count", 0)) > 0]
    msix = [d for d in ioq if "MSI" in d.get("chip", "")]
    t.res.add("PASS" if msix else "FAIL", f"{run}.msix",
              ", ".join(f"{d['name']}={d['count']} ({d.get('chip')})" for d in irqs)
              or "no NVMe interrupt")
    t.meas.append(f"{run} irqs " + " ".join(f"{d['name']}={d['count']}" for d in irqs))


def check_l2_edu(t, k, run):
    """Behind the vSMMU: edu's DMA over VFIO in L2, and its fault seen by
    L2's own driver (QEMU propagated it from the vEVENTQ)."""
    if not t.direct and t.vm_params(run).get("l3.edu") != "1":
        return
    e = [ln for ln, _ in t.log.l2_lines(run, "edu")]
    ok = any("result=pass" in ln for ln in e)
    refused = [ln for ln in e if "step=set-container errno=22" in ln]
    rmr = [ln for ln in e if "kernel-says" in ln and "1:1 IOMMU mapping" in ln]
    if not ok and refused and rmr:
        # L2's kernel refused VFIO the group, and said why: the
        # firmware (QEMU's IORT RMR for the host's MSI window)
        # asks for a 1:1 mapping, which forbids the blocking
        # domain VFIO puts the group in. Not the host's doing.
        t.res.skip(f"{run}.edu.dma",
                   "L2's VFIO could not take edu: " + refused[0][4:] + "; L2's kernel: " +
                   rmr[0].split("kernel-says", 1)[1].strip()[:200])
    else:
        t.res.add("PASS" if ok else "FAIL", f"{run}.edu.dma", "; ".join(e[1:4]) or "no edu result")
    ev = t.log.l2_lines(run, "smmu")
    n = ev[0][1].get("events") if ev else None
    klog = [ln[len("l2: klog "):] for ln in t.log.l2_klog(run) if protocol.SMMU_EVENT_RE.search(ln)]
    prop = [f"{d.get('type')} {d.get('sid')} x{d.get('count')} ({d.get('phase')})"
            for _, d in t.log.l1_lines("guest-event", run=run)]
    ok = n not in (None, "0") and (t.direct or bool(prop))
    t.res.add("PASS" if ok else "FAIL", f"{run}.edu.fault-in-l2",
              f"L2's own SMMUv3 driver logged {n} events" +
              (f", first: {klog[0].strip()}" if klog else "") +
              ("" if t.direct else "; QEMU 11.1.3 propagated from the vEVENTQ: " +
               (", ".join(prop) or "nothing")))


def check_l2_splat(t, k, run):
    for ln in t.log.l2_klog(run):
        if protocol.is_splat(ln):
            t.res.add("FAIL", f"{run}.l2-splat", ln[:160])


def check_poweroff(t, k, run):
    done = t.log.l2_lines(run, "done")
    ok = bool(done) and done[0][1].get("rc") == "0"
    t.res.add("PASS" if ok else "FAIL", f"{run}.poweroff",
              done[0][0] if done else "L2 did not finish")


def check_host_image(t, k, run):
    """The image on the x86 side holds what L2 wrote."""
    if l2_disk(t, run).get("write"):
        a = t.a
        p = t.vm_params(run)
        off, seed = int(p.get("l3.off", k * a.mib)), p.get("l3.seed", hex(0x5eed00 + k))
        img = a.disk2 if t.bdf.get("nvme2") in p["hosts"] else a.disk
        ok, out = disk_check(a.disk_tool, img, off, a.mib, hex(int(str(seed), 0)))
        t.res.add("PASS" if ok else "FAIL", f"{run}.host-image", out)


def check_fio(t, k, run):
    """make bench's fio jobs (if the run had them): each finished without
    error, its verify included; bandwidths to the figures."""
    jobs = t.log.l2_lines(run, "fio")
    if not jobs:
        return
    for _, d in jobs:
        t.meas.append(f"{run} fio_{d.get('job')} read_kib_s={d.get('read_kib_s')} "
                      f"write_kib_s={d.get('write_kib_s')} rc={d.get('rc')}")
    bad = [d.get("job") for _, d in jobs if d.get("rc") != "0" or d.get("errors") not in ("0", None)]
    t.res.add("PASS" if not bad else "FAIL", f"{run}.fio",
              f"{len(jobs)} fio jobs, " + (f"failed: {', '.join(bad)}" if bad else "all without error "
                                            "(the random writes verified)"))


L2_CHECKS = [check_l2_iommu, check_l2_disk, check_msix, check_l2_edu, check_l2_splat,
             check_poweroff, check_host_image, check_fio]


def check_qemu_exit(t, run, qrc):
    if qrc == "stopped":
        t.res.add("PASS", f"{run}.qemu-exit",
                  "strace run: stopped once the guest ran (its setup is in the log)")
    else:
        t.res.add("PASS" if qrc == "0" else "FAIL", f"{run}.qemu-exit",
                  "QEMU 11.1.3 " + ("hung: killed at the run's limit" if qrc == "killed"
                                    else f"exited with {qrc}"))


def check_devices_back(t, run):
    """QEMU gone, L1 holds both devices with vfio-pci again."""
    back = [d for _, d in t.log.l1_lines("after", run=run)]
    ok = len(back) == 2 and all(d.get("driver") == "vfio-pci" and
                                d.get("qemu_alive", "0") == "0" for d in back)
    t.res.add("PASS" if ok else "FAIL", f"{run}.devices-back",
              "QEMU gone, both devices back with vfio-pci in L1" if ok else str(back))


def check_host_seeded(t):
    """The host's own seeded region of the image, untouched."""
    a = t.a
    if a.host_mib:
        ok, out = disk_check(a.disk_tool, a.disk, a.host_off_mib, a.host_mib, a.host_seed)
        t.res.add("PASS" if ok else "FAIL", "host-image.host-seeded", out)


def check_ratios(t):
    """Ratios between runs (plain and accel, if both moved data)."""
    base = next((r for r in t.runs if r in t.tput and r.startswith("plain") and "+strace" not in r),
                None)
    pairs = [(r, base) for r in t.runs if base and r != base]
    # a lazy guest against the same run strict (iommu.strict=0 vs 1)
    pairs += [(r, r.replace("-lazy", "")) for r in t.runs if "-lazy" in r]
    for r, b in pairs:
        if r in t.tput and b in t.tput:
            wr, rr = t.tput[r][0] / t.tput[b][0], t.tput[r][1] / t.tput[b][1]
            t.res.add("PASS", f"ratio.{r}-vs-{b}", f"write {wr:.2f}x, read {rr:.2f}x")
            t.meas.append(f"{r} ratio_vs={b} write={wr:.2f} read={rr:.2f}")
        elif "-lazy" in r:
            t.res.add("FAIL", f"ratio.{r}-vs-{b}", "no throughput of both runs")


def check_l1_splat(t):
    """L1's kernel: no splat."""
    if t.direct:
        return
    splats = [ln for ln in t.log.kernel if protocol.is_splat(ln)]
    # the debug kernel's kmemleak report, copied by L1's /init after the runs
    splats += [ln.split("| ", 1)[1] for ln in t.log.l1 if ln.startswith("kmemleak |")
               and protocol.is_splat(ln)]
    for ln in splats:
        t.res.add("FAIL", "l1.splat", ln.strip()[:160])
    km = [d["objects"] for _, d in t.log.l1_lines("kmemleak") if "objects" in d]
    if not splats:
        t.res.add("PASS", "l1.no-splat", f"{len(t.log.kernel)} lines of L1's kernel log, no warning"
                  + (f"; kmemleak after the runs: {km[0]} unreferenced objects" if km else ""))


def check_windows(t):
    """L0's trace: the NVMe's and edu's streams, per run where L1's console
    marked the runs (the whole trace otherwise, and for --direct)."""
    for run in (["all"] if t.direct else t.runs):
        w = t.wins["all"] if run == "all" else t.wins.get(f"run:{run}")
        label = "" if run == "all" else f"{run}."
        if w is None:
            t.res.add("FAIL", f"{label}l0.window", "L0's trace has no mark of this run "
                      "(L1's console lines, from pl011_write)")
            continue
        check_window(t, run, w, label)


def check_window(t, run, w, label):
    """One run's window of L0's trace: its streams, its commands, what the
    DMA after teardown reached; the figures measured."""
    accel = run.startswith("accel")
    for name, sid in ((n, t.sids[n]) for n in ("nvme", "edu") if n in t.sids):
        by_stage = {stg: n for (s_, stg), n in w.translations.items() if s_ == sid}
        t.meas.append(f"{label}l0 sid=0x{sid:x} ({name}) translations " +
                      " ".join(f"stage{stg}={n}" for stg, n in sorted(by_stage.items())) +
                      f" aborts={w.aborts.get(sid, 0)}")
        if name == "nvme":
            check_nvme_window(t, run, w, label, sid, by_stage)
        elif accel or t.direct:
            evs = {ty: n for (ty, s_), n in w.events.items() if s_ == sid}
            t.res.add("PASS" if evs else "FAIL", f"{label}l0.edu-fault",
                      f"L0's SMMU recorded for stream 0x{sid:x}: " +
                      (", ".join(f"{ty} x{n}" for ty, n in evs.items()) or "nothing"))
    if accel:
        command_check(t.res, t.log, w, run, set(t.sids.values()), t.a.mib, t.meas)
        teardown_check(t.res, t.log, t.wins.get(f"teardown:{run}"), run, t.sids.get("edu"))
    t.meas.append(f"{label}l0 commands " + " ".join(f"{o}={n}" for o, n in sorted(w.opcodes.items())))
    t.meas.append(f"{label}l0 invalidations_by_vmid " +
                  " ".join(f"{ev}:vmid{v}={n}" for (ev, v), n in sorted(w.inval_vmid.items())))
    if w.walk:
        t.meas.append(f"{label}l0 walk_leaves " +
                      " ".join(f"stage{s_}={n}" for s_, n in sorted(w.walk.items())))


def check_nvme_window(t, run, w, label, sid, by_stage):
    """The NVMe's DMA translated by L0; behind the vSMMU, through both
    stages, and one IOVA followed through both."""
    ok = sum(by_stage.values()) > 0
    ex = {stg: w.example[(sid, stg)] for stg in by_stage}
    t.res.add("PASS" if ok else "FAIL", f"{label}l0.nvme-translated",
              f"stream 0x{sid:x}: " + ", ".join(
                  f"stage {stg}: {n} (e.g. iova {ex[stg][0]} -> {ex[stg][1]})"
                  for stg, n in sorted(by_stage.items())) if ok else "no translation")
    if run.startswith("accel"):
        nested = by_stage.get(3, 0)
        other = sum(n for stg, n in by_stage.items() if stg != 3)
        t.res.add("PASS" if nested else "FAIL", f"{label}l0.nvme-nested",
                  f"{nested} translations of stream 0x{sid:x} through both stages"
                  f" (stage 3), {other} through one")
        chain_check(t.res, w, sid, run)


def check_l0_edu_fault(t):
    """L1's own edu test, before the runs: its faults at L0."""
    if t.edu1 and "edu" in t.sids:
        sid = t.sids["edu"]
        evs = {ty: n for (ty, s_), n in t.wins["all"].events.items() if s_ == sid}
        t.res.add("PASS" if evs else "FAIL", "l0.edu-fault",
                  f"L0's SMMU recorded for stream 0x{sid:x} over the whole run: " +
                  (", ".join(f"{ty} x{n}" for ty, n in evs.items()) or "nothing"))


CHECKS = [check_l0_exit, check_l1_side, check_runs, check_host_seeded, check_ratios,
          check_l1_splat, check_windows, check_l0_edu_fault]


def arguments():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--log", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--disk", required=True)
    ap.add_argument("--disk2", help="the second NVMe's image (the two run's second VM)")
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
    ap.add_argument("--prefix", default="three-level", help="the results' prefix, and their boot in plan.conf")
    ap.add_argument("--direct", action="store_true",
                    help="L2 booted by L0 itself (no L1): its console is the serial log")
    return ap


def run(argv):
    """What three_level_parse.py prints for a command line (the figures go
    to --measured); the tests call it as is."""
    t = ThreeLevel(arguments().parse_args(argv))
    for check in CHECKS:
        check(t)
    with open(t.a.measured, "w") as f:
        f.write("\n".join(t.meas) + "\n")
    return t.res.text()


def main():
    sys.stdout.write(run(sys.argv[1:]))


import three_level_life as life  # noqa: E402  (its checks use this module's)


if __name__ == "__main__":
    main()
