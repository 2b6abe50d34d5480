#!/usr/bin/env python3
"""Tell, in plain words, what a boot of the test machine showed.

Every sentence comes from the boot's log or its parsed results: the base
and QEMU actually used, the SMMU's features line, the edu binding, the
results of KUnit and of each case. A case's "# story:" lines are told only
if that case passed; otherwise the demo says what failed. What to tell is
data (configs/demo.conf). Exits 1 if anything failed.
"""
import argparse
import fnmatch
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conf as wbconf  # noqa: E402
import protocol  # noqa: E402
import results as wbresults  # noqa: E402

DEMO_CONF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "configs", "demo.conf")

# What a VMM developer cares about, in the order worth telling.
FEATURES = [
    ("TRANS_S1", "stage-1 translation (the guest's page tables)"),
    ("TRANS_S2", "stage-2 translation (the host's, per VM)"),
    ("NESTING", "both at once: nested stage-1 over stage-2"),
    ("RANGE_INV", "range invalidation (one TLBI per range)"),
    ("2_LVL_STRTAB", "two-level stream table"),
    ("2_LVL_CDTAB", "two-level context-descriptor table"),
    ("COHERENCY", "coherent table walks"),
    ("ATS", "PCIe ATS (device IOTLBs)"),
    ("PRI", "PCIe PRI (page requests)"),
    ("MSI", "MSI-signalled interrupts"),
]


def load_conf(path):
    conf = {"program": None, "intro": [], "cases": [], "verdict": ""}
    for r in wbconf.records(path):
        if r.kind == "program":
            conf["program"] = r.rest
        elif r.kind == "intro":
            conf["intro"].append(r.rest)
        elif r.kind == "case":
            glob, _, what = r.rest.partition(" ")
            conf["cases"].append((glob, what.strip()))
        elif r.kind == "verdict":
            conf["verdict"] = r.rest
        else:
            raise r.error("not program, intro, case or verdict")
    return conf


def read_results(path):
    """(verdict, name without the boot's prefix, why) of each result of PATH
    that tested something (not NA); none if PATH is missing."""
    return [(r.verdict, r.name.split(":", 1)[-1], r.why)
            for r in wbresults.read(path) if r.verdict != "NA"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--header", required=True)
    ap.add_argument("--base", required=True, help="the base actually used")
    ap.add_argument("--pinned", default="", help="the pinned base, if another")
    ap.add_argument("--patches", required=True)
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--machine", required=True, help="QEMU's -M")
    ap.add_argument("--results", required=True)
    ap.add_argument("--conf", default=DEMO_CONF)
    ap.add_argument("log")
    a = ap.parse_args()

    conf = load_conf(a.conf)
    bits = protocol.feature_bits(a.header)
    try:
        with open(a.log, encoding="utf-8", errors="replace") as f:
            entries = protocol.split_log(f)
    except OSError:
        entries = []
    kernel = [t for k, _, t in entries if k == "k"]
    user = [t for k, _, t in entries if k == "u"]
    results = read_results(a.results)
    failed = [(n, w) for v, n, w in results if v == "FAIL"]

    print("SMMUv3 nested stage translation for Linux 6.12: demo")
    print(f"  kernel:  {a.base} + {a.patches} patch(es) of this series, arm64")
    if a.pinned:
        print(f"  WARNING: the base is not the pinned one ({a.pinned}): "
              "the pinned release is no longer served")
    print(f"  machine: {a.qemu}, -M {a.machine}, edu DMA device")
    print()

    probes = protocol.smmu_probes(kernel)
    if probes:
        p = probes[0]
        print(f"The SMMU ({p.device}) came up: input addresses {p.ias} bits, "
              f"output addresses {p.oas} bits, features 0x{p.features:08x}:")
        for name, words in FEATURES:
            if name in bits:
                print(f"  [{'x' if p.features & bits[name] else ' '}] {words}")
    else:
        print("The SMMU did not probe: no arm-smmu-v3 features line in the kernel log.")
    print()

    kunit = [(v, n) for v, n, _ in results if n.startswith("kunit.") and n.count(".") >= 2]
    if kunit:
        suites = sorted({n.split(".")[1] for _, n in kunit})
        kpass = sum(v == "PASS" for v, _ in kunit)
        print(f"KUnit at boot ({', '.join(suites)}): {kpass} of {len(kunit)} cases passed.")
    else:
        print("KUnit reported no case.")
    print()

    for w in protocol.wb_lines(user, "edu"):
        print(f"The edu DMA device (PCI 1234:11e8) at {w.fields[0]} is bound to "
              f"vfio-pci: its VFIO cdev is {w.fields[1]}.")
    for t in kernel:
        if protocol.VFIO_GROUP_RE.match(t):
            print(f"  kernel: {t}")
    if protocol.wb_lines(user, "iommu"):
        print("/dev/iommu (iommufd) is present.")
    else:
        print("/dev/iommu is missing, or no edu device was found.")
    print()

    tell_cases(conf, entries, results)
    print()
    if results and not failed:
        print("Verdict: " + conf["verdict"])
        return 0
    if not results:
        print(f"Verdict: FAILED: the boot gave no result ({a.results} is missing or empty).")
        return 1
    print(f"Verdict: FAILED: {len(failed)} failure(s):")
    for n, w in failed:
        print(f"  - {n}" + (f": {w}" if w else ""))
    print(f"The guest's log: {a.log}")
    return 1


def tell_cases(conf, entries, results):
    """The story of the demo's program, case by case, from its results."""
    prog = conf["program"]
    prefix = f"kselftest.{prog}."
    cases = [(v, n[len(prefix):], w) for v, n, w in results
             if n.startswith(prefix) and n != prefix + "finished"]
    fin = [(v, w) for v, n, w in results if n == prefix + "finished"]
    if not cases and not fin:
        print(f"{prog} did not run.")
        return
    print(f"{prog}:")
    for l in conf["intro"]:
        print(f"  {l}")
    # The story lines of each case, from its "#  RUN" line on.
    stories = {}
    case = None
    inside = False
    for kind, _, text in entries:
        if kind != "u":
            continue
        w = protocol.wb(text)
        if w and w.kind == "run":
            inside = w.fields[0] == prog
            continue
        if not inside:
            continue
        if protocol.case_started(text):
            case = protocol.case_started(text)
            continue
        told = protocol.story(text)
        if told is not None and case:
            stories.setdefault(case, []).append(told)

    def order(c):
        for i, (glob, _) in enumerate(conf["cases"]):
            if fnmatch.fnmatchcase(c[1], glob):
                return i
        return len(conf["cases"])

    told_layout = set()
    for v, name, why in sorted(cases, key=order):
        i = order((v, name, why))
        what = conf["cases"][i][1] if i < len(conf["cases"]) else "other"
        if v == "PASS":
            print(f"  [passed] {name} ({what})")
            for s in stories.get(name, []):
                if s.startswith("layout:"):
                    if s in told_layout:
                        continue
                    told_layout.add(s)
                print(f"      - {s}")
        elif v == "SKIP":
            print(f"  [skipped] {name} ({what}): {why}")
        else:
            print(f"  [FAILED] {name} ({what})" + (f": {why}" if why else ""))
    passed = sum(v == "PASS" for v, _, _ in cases)
    print(f"  {passed} of {len(cases)} reported cases passed.")
    for v, w in fin:
        if v != "PASS":
            print(f"  The program did not finish cleanly: {w}")


if __name__ == "__main__":
    sys.exit(main())
