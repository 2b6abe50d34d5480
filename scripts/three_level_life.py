"""Checks of the three-level machine's runs of a host's life for its guests
(guest/three-level/l1-init.sh: crash, life, two), for three_level_parse.py,
which calls CHECKS[mode](t, k, run) with its ThreeLevel (t: the log, L0's
trace windows, the result writer and the figures).

  crash  QEMU killed (kill -9) during L2's disk I/O: L2 was mid-workload,
         QEMU gone, both devices back with vfio-pci, L0 translated nothing
         for the NVMe after the kill, edu's DMA after it reached nothing.
  life   L2 rebooted itself, was reset by QMP system_reset, had its NVMe
         unplugged (device_del) and plugged back (device_add): each boot
         came up behind the vSMMU and read back what the boots before it
         wrote; QEMU freed the NVMe's vDEVICE and nested HWPT at the
         unplug; L0 translated the NVMe through both stages after each
         reset again, through stage 2 alone only where the vSMMU was in its
         reset state (QEMU's bypass vSTE) and never after L2's own STE.
  two    two VMs at once (two-a, two-b), each with its own vSMMU, NVMe
         and edu, then a third (two-c) on two-a's freed devices: every
         VM's data, distinct VMIDs, each VM's invalidations under its own
         VMID only, each VM's faults to its own guest only, two-b going on
         after two-a has gone, two-a's VMID invalidated before two-c.
"""
import collections
import re

import protocol
import three_level_parse as tl

kv = protocol.kv


def first(lines):
    return lines[0][1] if lines else None


def l2_done(t, vm):
    """L2's last "l2: done" fields, or None."""
    d = t.log.l2_lines(vm, "done")
    return d[-1][1] if d else None


def vm_basics(t, vm):
    """One VM's L2: booted (returns True), its IOMMU, QEMU's exit."""
    q = t.log.l1_lines("qemu", run=vm)
    state = tl.check_l2_boot(t, vm, q)
    if q:
        t.meas.append(f"{vm} l1_qemu_seconds={q[0][1].get('seconds')} rc={q[0][1].get('rc')}")
    if state != "up":
        return False
    tl.check_l2_iommu(t, 0, vm)
    tl.check_l2_splat(t, 0, vm)
    return True


# --- crash -------------------------------------------------------------------


def check_crash(t, k, run):
    """kill -9 of QEMU with L2's disk I/O in flight."""
    up = vm_basics(t, run)
    kill = first([x for x in t.log.l1_lines("crash") if x[0].startswith("crash kill ")])
    killed = [d for ln, d in t.log.l1_lines("crash") if ln.startswith("crash killed")]
    q = first(t.log.l1_lines("qemu", run=run))
    work = t.log.l2_lines(run, "disk")
    inflight = (up and kill is not None and kill.get("workload_seen") == "1"
                and l2_done(t, run) is None)
    why = "L1 killed nothing" if kill is None else (
        f"kill -9 of QEMU (pid {kill.get('pid')}) once L2's workload ran "
        f"(workload_seen={kill.get('workload_seen')}, {kill.get('loops_done')} of its "
        f"loops read back before, {killed[0].get('loops_done') if killed else '?'} after); "
        f"L2's last disk line: {work[-1][0] if work else 'none'}; L2 "
        f"{'never finished' if l2_done(t, run) is None else 'finished: not in flight'}")
    t.res.add("PASS" if inflight else "FAIL", f"{run}.killed-in-flight", why)
    rc = q.get("rc") if q else None
    t.res.add("PASS" if rc == "137" else "FAIL", f"{run}.qemu-killed",
              f"QEMU 11.1.3's exit status {rc} (137: killed by SIGKILL)")
    tl.check_devices_back(t, run)
    w = t.wins.get(f"after-kill:{run}")
    sid = t.sids.get("nvme")
    if w is None or sid is None:
        t.res.add("FAIL", f"{run}.l0.nvme-after-kill", "no window after the kill in L0's trace")
    else:
        tr = sum(n for (s_, _), n in w.translations.items() if s_ == sid)
        t.res.add("PASS" if tr == 0 else "FAIL", f"{run}.l0.nvme-after-kill",
                  f"after QEMU was reaped, L0 translated {tr} DMAs of the NVMe's stream "
                  f"0x{sid:x} (its aborts: {w.aborts.get(sid, 0)})")
    tl.teardown_check(t.res, t.log, t.wins.get(f"teardown:{run}"), run, t.sids.get("edu"))
    # the next run on the same devices works
    if k + 1 < len(t.runs):
        nxt = t.runs[k + 1]
        r = tl.l2_disk(t, nxt).get("readback")
        ok = r is not None and r.get("mismatches") == "0"
        t.res.add("PASS" if ok else "FAIL", f"{run}.next-run",
                  f"the next run ({nxt}) on the same devices read back "
                  f"{r.get('bytes')} bytes, {r.get('mismatches')} mismatches" if r else
                  f"the next run ({nxt}) moved no data")
    else:
        t.res.add("FAIL", f"{run}.next-run", "no run after the crash on the same devices")


# --- life --------------------------------------------------------------------

LIFE_MIB = 8


def qmp_rc(t, run, what):
    d = first(t.log.l1_lines("qmp-rc", run=run, what=what))
    return d.get("rc") if d else None


def qmp_said(t, run, what):
    return [ln.split("| ", 1)[1] for ln in t.log.l1 if ln.startswith(f"qmp run={run} what={what} |")]


def events(t, run):
    """The QMP events of the VM's event log: [(name, data-text)]."""
    out = []
    for ln in t.log.l1:
        if not ln.startswith(f"qmp-event run={run} |"):
            continue
        m = re.search(r'"event": "(\w+)"(.*)$', ln)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def check_life(t, k, run):
    """A guest's reboot, a reset by the host, a hot-unplug and re-plug."""
    if not vm_basics(t, run):
        return
    steps = "full"
    boots = t.log.l2_lines(run, "life")
    gens = [d.get("gen") for ln, d in boots if ln.startswith("l2: life boot ")]
    if any("steps=reboot" in ln for ln, _ in boots):
        steps = "reboot"
    want = ["0", "1", "2"] if steps == "full" else ["0", "1"]
    t.res.add("PASS" if gens == want else "FAIL", f"{run}.boots",
              f"L2 booted {len(gens)} times (boot numbers from the disk: {', '.join(gens)}; "
              f"want {', '.join(want)})")
    ev = events(t, run)
    resets = [d for e, d in ev if e == "RESET"]
    t.meas.append(f"{run} qmp_events " + " ".join(e for e, _ in ev))
    # boot 1: after L2's own reboot
    gr = [d for d in resets if '"guest": true' in d and "guest-reset" in d]
    check_boot(t, run, "1", "reboot",
               f"QMP RESET events with guest-reset: {len(gr)}", bool(gr) and len(gr) == 1)
    hr = [d for d in resets if "host-qmp-system-reset" in d]
    if steps == "full":
        check_boot(t, run, "2", "system-reset",
                   f"system_reset rc={qmp_rc(t, run, 'system_reset')}, RESET events with "
                   f"host-qmp-system-reset: {len(hr)}",
                   qmp_rc(t, run, "system_reset") == "0" and len(hr) == 1)
    nres = 2 if steps == "full" else 1
    t.res.add("PASS" if len(resets) == nres else "FAIL", f"{run}.resets-accounted",
              f"{len(resets)} RESET events in QEMU's event log (want {nres}: L2's reboot" +
              (" and L1's system_reset" if steps == "full" else "") +
              "; any other is a reset nobody asked for)")
    if steps == "full":
        check_unplug(t, run)
    done = l2_done(t, run)
    t.res.add("PASS" if done and done.get("rc") == "0" else "FAIL", f"{run}.poweroff",
              f"L2's last boot: done rc={done.get('rc')}" if done else "L2 did not finish")
    q = first(t.log.l1_lines("qemu", run=run))
    tl.check_qemu_exit(t, run, q.get("rc") if q else None)
    tl.check_devices_back(t, run)
    check_life_image(t, run, 4 if steps == "full" else 2)
    check_life_stages(t, run, steps)


def check_boot(t, run, gen, name, how, ok):
    """Boot GEN of a life run: what started it (HOW, OK), its IOMMU and the
    regions of the boots before it read back."""
    b = [d for ln, d in t.log.l2_lines(run, "life") if ln.startswith("l2: life boot ")
         and d.get("gen") == gen]
    chk = [d for ln, d in t.log.l2_lines(run, "disk") if ln.startswith("l2: disk check ")]
    # the boot's own end: "l2: life step=NEXT gen=GEN rc=RC"
    nxt = [d for ln, d in t.log.l2_lines(run, "life") if ln.startswith("l2: life step=")
           and d.get("gen") == gen and "rc" in d]
    if not b:
        t.res.add("FAIL", f"{run}.{name}", f"{how}; L2 never booted a boot {gen}")
        return
    dom = b[0].get("domain")
    ok = ok and dom == "DMA" and bool(nxt) and nxt[0].get("rc") == "0"
    t.res.add("PASS" if ok else "FAIL", f"{run}.{name}",
              f"{how}; boot {gen} came up behind the vSMMU (NVMe domain {dom}), read back "
              f"the regions of the boots before it and wrote its own: "
              f"rc={nxt[0].get('rc') if nxt else '?'} ({len(chk)} region checks in all, "
              f"{sum(1 for d in chk if d.get('mismatches') != '0')} with mismatches)")


def check_unplug(t, run):
    """device_del and device_add of the NVMe behind the accelerated vSMMU."""
    dd = qmp_rc(t, run, "device_del")
    deleted = [d for e, d in events(t, run) if e == "DEVICE_DELETED" and "nvme0" in d]
    un = first([x for x in t.log.l1_lines("life") if x[0].startswith("life unplugged ")])
    gone = t.log.l2_lines(run, "life")
    l2gone = [d for ln, d in gone if ln.startswith("l2: life step=unplugged ")]
    ok = dd == "0" and bool(deleted) and un is not None and un.get("driver") == "vfio-pci" \
        and bool(l2gone)
    err = [s for s in qmp_said(t, run, "device_del") if s.startswith("qmp: error")]
    t.res.add("PASS" if ok else "FAIL", f"{run}.unplug",
              f"QMP device_del rc={dd}" + (f" ({err[0]})" if err else "") +
              f", DEVICE_DELETED events: {len(deleted)}; L1's driver of the NVMe then: "
              f"{un.get('driver') if un else '?'}; L2 saw it go: {'yes' if l2gone else 'no'}")
    check_unplug_frees(t, run)
    da = qmp_rc(t, run, "device_add")
    rp = [d for ln, d in gone if ln.startswith("l2: life step=replugged ")]
    dn = [d for ln, d in gone if ln.startswith("l2: life step=done ")]
    ok = da == "0" and bool(rp) and rp[0].get("domain") == "DMA" and bool(dn) \
        and dn[0].get("rc") == "0"
    err = [s for s in qmp_said(t, run, "device_add") if s.startswith("qmp: error")]
    t.res.add("PASS" if ok else "FAIL", f"{run}.replug",
              f"QMP device_add rc={da}" + (f" ({err[0]})" if err else "") +
              (f"; L2 found it again at {rp[0].get('bdf')} (domain {rp[0].get('domain')}), "
               f"read back the three regions before and wrote a fourth: "
               f"rc={dn[0].get('rc') if dn else '?'}" if rp else "; L2 never found it again"))


QTRACE_ID = {
    "vdev": re.compile(r"iommufd_backend_alloc_vdev .*dev_id=(\d+) .*virt_id=(0x[0-9a-f]+) "
                       r"vdev_id=(\d+) \(0\)"),
    "nested": re.compile(r"smmuv3_accel_translate_ste vSID=(0x[0-9a-f]+) hwpt_id=(0x[0-9a-f]+)"),
    "free": re.compile(r"iommufd_backend_free_id .*id=(\d+)"),
    "unset": re.compile(r"smmuv3_accel_unset_iommu_device .*idev devid=(0x[0-9a-f]+)"),
}


def check_unplug_frees(t, run):
    """QEMU's trace: the unplugged NVMe's vDEVICE and its last nested HWPT
    freed after device_del (before device_add)."""
    name = f"{run}.unplug-frees"
    lines = [ln.split("| ", 1)[1] for ln in t.log.l1 if ln.startswith(f"qtrace run={run} |")]
    vdevs, nested, freed, unset = {}, {}, [], []
    for ln in lines:
        m = QTRACE_ID["vdev"].search(ln)
        if m:
            vdevs[int(m.group(2), 16)] = int(m.group(3))
        m = QTRACE_ID["nested"].search(ln)
        if m:
            nested[int(m.group(1), 16)] = int(m.group(2), 16)
        m = QTRACE_ID["free"].search(ln)
        if m:
            freed.append(int(m.group(1)))
        m = QTRACE_ID["unset"].search(ln)
        if m:
            unset.append(m.group(1))
    sid = tl.sid_of(first(t.log.l2_lines(run, "nvme")).get("bdf")) \
        if t.log.l2_lines(run, "nvme") else None
    if sid is None or sid not in vdevs:
        t.res.add("FAIL", name, f"no vDEVICE of the NVMe's vSID in QEMU's trace "
                  f"({len(lines)} lines; vDEVICEs: {vdevs})")
        return
    v = vdevs[sid]
    ok = v in freed and bool(unset)
    t.res.add("PASS" if ok else "FAIL", name,
              f"QEMU freed the NVMe's vDEVICE {v} (vSID 0x{sid:x}): {'yes' if v in freed else 'no'}"
              f"; nested HWPTs of vSID 0x{sid:x} freed: "
              f"{'yes' if nested.get(sid) in freed else 'no'} (last {nested.get(sid)}); "
              f"smmuv3_accel_unset_iommu_device: {', '.join(unset) or 'none'}")


def check_life_image(t, run, n):
    """The host's image holds every boot's region."""
    cmd = t.vm_params(run)
    off, seed = int(cmd.get("l3.off", "0")), int(cmd.get("l3.seed", "0"), 0)
    bad = []
    for p in range(n):
        ok, out = tl.disk_check(t.a.disk_tool, t.a.disk, off + p * LIFE_MIB, LIFE_MIB,
                                hex(seed + 16 * p))
        if not ok:
            bad.append(out)
    t.res.add("PASS" if not bad else "FAIL", f"{run}.host-image",
              f"{n} regions of {LIFE_MIB} MiB (one per boot) verified on the host's image"
              if not bad else "; ".join(bad))


LIFE_WINDOWS = [
    ("boot0", "the first boot"),
    ("boot1", "after L2's reboot"),
    ("boot2", "after QMP system_reset"),
    ("unplugged", "while the NVMe was unplugged"),
    ("replugged", "after the re-plug"),
]


def check_life_stages(t, run, steps):
    """L0's trace of the NVMe's stream in each stretch of the life run
    (protocol.MARKS "life:..."): through both stages in every boot and
    after the re-plug; nothing while unplugged; stage 2 alone (QEMU's
    bypass vSTE of a vSMMU in its reset state) never after L2's own STE
    within a boot."""
    sid = t.sids.get("nvme")
    for win, what in LIFE_WINDOWS:
        if steps != "full" and win in ("boot2", "unplugged", "replugged"):
            continue
        name = f"{run}.l0.{win}"
        w = t.wins.get(f"life:{win}")
        if w is None or sid is None:
            t.res.add("FAIL", name, f"no stretch '{win}' of the run in L0's trace")
            continue
        runs = w.stage_runs.get(sid, [])
        nested = sum(n for s_, n in runs if s_ == 3)
        alone = sum(n for s_, n in runs if s_ != 3)
        t.meas.append(f"{run} l0 {win} nvme_stage_runs " + " ".join(f"s{s_}x{n}" for s_, n in runs))
        seq = ", ".join(f"{'both stages' if s_ == 3 else f'stage {s_} alone'} x{n}"
                        for s_, n in runs[:6]) or "nothing"
        if win == "unplugged":
            t.res.add("PASS" if not runs else "FAIL", name,
                      f"{what}: L0 translated for stream 0x{sid:x}: {seq}")
            continue
        # stage 2 alone after a nested stretch: wider than the guest asked
        wider = any(s_ != 3 and any(p == 3 for p, _ in runs[:i]) for i, (s_, _) in enumerate(runs))
        ok = nested > 0 and not wider
        t.res.add("PASS" if ok else "FAIL", name,
                  f"{what}: stream 0x{sid:x} in order: {seq}; {nested} through both stages, "
                  f"{alone} through stage 2 alone" +
                  (" (the guest's firmware did no DMA with the NVMe)" if not alone else
                   " (before L2's driver installed its STE: QEMU's bypass vSTE)") +
                  (" -- stage 2 alone AFTER L2's own STE" if wider else ""))


# --- two VMs -----------------------------------------------------------------

VMS = ("two-a", "two-b", "two-c")


def vmids_in(w):
    """The VMIDs (non-zero) of L0's commands in a window, with counts."""
    return tl.classify_l0(w, set())[1] if w else collections.Counter()


def check_two(t, k, run):
    """Two VMs at once, then a third on the first one's devices."""
    up = {}
    for vm in VMS:
        if not t.log.l1_lines("vm", name=vm):
            t.res.add("FAIL", f"{vm}.started", "L1 never started this VM")
            continue
        up[vm] = vm_basics(t, vm)
        if up[vm]:
            for check in (tl.check_l2_disk, tl.check_l2_edu, tl.check_poweroff,
                          tl.check_host_image):
                check(t, k, vm)
        q = first(t.log.l1_lines("qemu", run=vm))
        tl.check_qemu_exit(t, vm, q.get("rc") if q else None)
        tl.check_devices_back(t, vm)
    ends = {d.get("name"): d for _, d in t.log.l1_lines("vm-end")}
    a_end, b_end = ends.get("two-a", {}), ends.get("two-b", {})
    order = [ln for ln in t.log.l1 if ln.startswith(("vm name=two-b start", "vm-end name=two-a"))]
    conc = bool(order) and order[0].startswith("vm name=two-b") and a_end.get("two_b_alive") == "1"
    t.res.add("PASS" if conc else "FAIL", f"{run}.concurrent",
              "two-b started while two-a ran and still ran when two-a exited"
              if conc else f"not concurrent: {order} {a_end}")
    reads = [d for ln, d in t.log.l2_lines("two-b", "disk") if ln.startswith("l2: disk readback ")]
    before, after = int(a_end.get("two_b_loops_done", -1)), int(b_end.get("two_b_loops_done", -1))
    ok = after > before >= 0 and all(d.get("mismatches") == "0" for d in reads)
    t.res.add("PASS" if ok else "FAIL", f"{run}.b-after-a",
              f"two-b had read back {before} of its loops when two-a exited, {after} in all, "
              f"{sum(1 for d in reads if d.get('mismatches') != '0')} with mismatches")
    check_two_vmids(t, run)


def check_two_vmids(t, run):
    """L0's trace: a VMID per VM, each VM's invalidations under its own."""
    wa, wb = t.wins.get("alone:two-a"), t.wins.get("alone:two-b")
    va, vb_all = vmids_in(wa), vmids_in(t.wins.get("vm:two-b"))
    vb = collections.Counter({v: n for v, n in vb_all.items() if v not in va})
    vc_all = vmids_in(t.wins.get("vm:two-c"))
    t.meas.append(f"{run} l0_vmids a_alone={dict(va)} b={dict(vb_all)} b_alone={dict(vmids_in(wb))} "
                  f"c={dict(vc_all)}")
    ok = len(va) == 1 and len(vb) == 1
    vmid = {"two-a": next(iter(va), None), "two-b": next(iter(vb), None)}
    t.res.add("PASS" if ok else "FAIL", f"{run}.l0.two-vmids",
              f"two-a alone: VMID(s) {dict(va)}; two-b's window adds {dict(vb)}" +
              ("" if ok else " (want one each, distinct)"))
    b_alone = vmids_in(wb)
    ok = bool(b_alone) and set(b_alone) <= {vmid["two-b"]}
    t.res.add("PASS" if ok else "FAIL", f"{run}.l0.b-alone",
              f"after two-a exited, L0's TLBIs named VMID(s) {dict(b_alone)} (two-b's: "
              f"{vmid['two-b']})")
    check_two_forwarded(t, run, vmid)
    check_two_faults(t, run)
    check_two_old_iova(t, run)
    # two-c: a VMID of its own or two-a's, invalidated whole when two-a went
    vc = [v for v in vc_all if v != vmid["two-b"]]
    s12 = [d.get("vmid") for op, d in (t.wins.get("vm:two-a").cmds if t.wins.get("vm:two-a") else [])
           if op == "SMMU_CMD_TLBI_S12_VMALL"]
    ok = len(vc) == 1 and (vc[0] != vmid["two-a"] or vmid["two-a"] in s12)
    t.res.add("PASS" if ok else "FAIL", f"{run}.l0.c-vmid",
              f"two-c's VMID {vc}; two-a's {vmid['two-a']}" +
              (f", invalidated whole (TLBI_S12_VMALL) when two-a's VMM exited: "
               f"{s12.count(vmid['two-a'])} times" if vc and vc[0] == vmid["two-a"] else ""))


def check_two_forwarded(t, run, vmid):
    """Each VM's guest TLBIs (its QEMU's trace) against L0's under its
    VMID, in the VM's own window (its start to its exit: the other VM's
    commands there are under the other VMID)."""
    for vm in ("two-a", "two-b"):
        w = t.wins.get(f"vm:{vm}")
        per = tl.classify_l0(w, set())[2] if w else collections.Counter()
        guest, _, _ = tl.guest_commands(t.log, vm)
        v = vmid.get(vm)
        rows, ok = [], v is not None
        for op in ("SMMU_CMD_TLBI_NH_VA", "SMMU_CMD_TLBI_NH_VAA", "SMMU_CMD_TLBI_NH_ASID"):
            g, got = guest.get(op, 0), per.get((v, op), 0)
            rows.append(f"{op[14:]} {g}/{got}")
            ok = ok and g == got
        ok = ok and guest.get("SMMU_CMD_TLBI_NH_VA", 0) > 0
        t.res.add("PASS" if ok else "FAIL", f"{run}.{vm[4:]}.commands.own-vmid",
                  f"{vm}'s guest TLBIs / L0's under its VMID {v}: " + ", ".join(rows))


def check_two_faults(t, run):
    """Each VM's faults (its edu's DMA to an unmapped IOVA) reached its own
    guest only: its QEMU propagated (from its vEVENTQ) as many events as
    L0's SMMU recorded for its own edu's stream while it ran, only for its
    own device's vSID, and its L2 logged them."""
    for vm in VMS:
        prop = [d for _, d in t.log.l1_lines("guest-event", run=vm)]
        n_prop = sum(int(d.get("count", 0)) for d in prop)
        vsids = {int(d.get("sid", "0"), 16) for d in prop if d.get("sid")}
        edu = next((d.get("bdf") for ln, d in t.log.l2_lines(vm, "edu") if "bdf" in d), None)
        own = tl.sid_of(edu)
        phys = t.sids.get("edu2" if t.bdf.get("edu2") in t.vm_params(vm)["hosts"] else "edu")
        w = t.wins.get(f"vm:{vm}")
        n_l0 = sum(n for (_, s_), n in w.events.items() if s_ == phys) if w and phys is not None else 0
        ev = first(t.log.l2_lines(vm, "smmu"))
        n = ev.get("events") if ev else None
        ok = n_prop > 0 and n_prop == n_l0 and own is not None and vsids <= {own} \
            and n not in (None, "0")
        hx = (lambda v: "?" if v is None else hex(v))
        why = (f"L0 recorded {n_l0} events for its edu's stream {hx(phys)} while it ran; its QEMU "
               f"propagated {n_prop}, for vSID(s) {', '.join(map(hex, sorted(vsids))) or 'none'} "
               f"(its edu: {hx(own)}); its L2 logged {n}")
        t.res.add("PASS" if ok else "FAIL", f"{vm}.faults-own", why)


def check_two_old_iova(t, run):
    """two-c's edu DMA to the IOVAs two-a's NVMe used (in two-c's own DMA
    domain, where nothing is mapped there) reached nothing: L0 translated
    nothing for edu's stream while two-c ran, and recorded its faults."""
    name = "two-c.old-iova"
    bars = [d for ln, d in t.log.l2_lines("two-c", "edu") if ln.startswith("l2: edu bar ")]
    iovas = [int(d["iova"], 16) for d in bars if "iova" in d]
    wa, wc = t.wins.get("vm:two-a"), t.wins.get("vm:two-c")
    nv, edu = t.sids.get("nvme"), t.sids.get("edu")
    if not iovas or wa is None or wc is None or nv is None or edu is None:
        t.res.add("FAIL", name, f"no DMA of two-c to old IOVAs ({len(bars)} lines) or no window")
        return
    used = {iova: out for s_, iova, out in wa.nested if s_ == nv}
    old = [i for i in iovas if (i & ~0xfff) in {u & ~0xfff for u in used}]
    tr = sum(n for (s_, _), n in wc.translations.items() if s_ == edu)
    evs = sum(n for (_, s_), n in wc.events.items() if s_ == edu)
    ok = bool(old) and tr == 0 and evs > 0 and all(d.get("done") == "1" for d in bars)
    t.res.add("PASS" if ok else "FAIL", name,
              f"two-c's edu DMA'd to {', '.join(hex(i) for i in iovas)}; two-a's NVMe had used "
              f"{', '.join(hex(i) for i in old) or 'none of them'} (two-a's window of L0's trace); "
              f"L0 translated {tr} DMAs of edu's stream 0x{edu:x} while two-c ran and recorded "
              f"{evs} events for it")


CHECKS = {"crash": check_crash, "life": check_life, "two": check_two}
