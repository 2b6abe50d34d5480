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
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conf as wbconf  # noqa: E402
import results as wbresults  # noqa: E402
from parse import feature_bits, split_log  # noqa: E402

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
    bits = feature_bits(a.header)
    try:
        with open(a.log, encoding="utf-8", errors="replace") as f:
            entries = split_log(f)
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

    probe = [t for t in kernel if re.search(r"arm-smmu-v3 \S+: ias", t)]
    m = probe and re.search(r"arm-smmu-v3 (\S+): ias (\d+)-bit, oas (\d+)-bit "
                            r"\(features (0x[0-9a-f]+)\)", probe[0])
    if m:
        feats = int(m.group(4), 16)
        print(f"The SMMU ({m.group(1)}) came up: input addresses {m.group(2)} bits, "
              f"output addresses {m.group(3)} bits, features {m.group(4)}:")
        for name, words in FEATURES:
            if name in bits:
                print(f"  [{'x' if feats & bits[name] else ' '}] {words}")
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

    for l in user:
        m = re.match(r"wb: edu (\S+) bound to vfio-pci \((\S+)\)", l)
        if m:
            print(f"The edu DMA device (PCI 1234:11e8) at {m.group(1)} is bound to "
                  f"vfio-pci: its VFIO cdev is {m.group(2)}.")
    for t in kernel:
        if re.match(r"vfio-pci \S+: Adding to iommu group", t):
            print(f"  kernel: {t}")
    if any(re.match(r"wb: \d+ edu device\(s\); /dev/iommu present", l) for l in user):
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
        m = re.match(r"wb: run (\S+)", text)
        if m:
            inside = m.group(1) == prog
            continue
        if not inside:
            continue
        m = re.match(r"#\s+RUN\s+(\S+) \.\.\.", text)
        if m:
            case = m.group(1)
            continue
        m = re.match(r"# story: (.*)", text)
        if m and case:
            stories.setdefault(case, []).append(m.group(1))

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
