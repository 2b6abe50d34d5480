#!/usr/bin/env python3
"""Tell, in plain words, what a boot of the test machine showed."""
import argparse
import re
import sys

from parse import STAMP_RE, feature_bits
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--header", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--patches", required=True)
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("log")
    a = ap.parse_args()

    bits = feature_bits(a.header)
    with open(a.log, encoding="utf-8", errors="replace") as f:
        lines = [STAMP_RE.sub("", l.rstrip("\r\n")) for l in f]
    try:
        with open(a.results, encoding="utf-8") as f:
            results = f.read().splitlines()
    except OSError:
        results = []

    print("SMMUv3 nested stage translation for Linux 6.12: demo")
    print(f"  kernel:  {a.base} + {a.patches} patch(es) of this series, arm64")
    print(f"  machine: {a.qemu}, -M virt,iommu=smmuv3 (SMMUv3 with both stages), edu DMA device")
    print()

    ok = True
    probe = [l for l in lines if re.search(r"arm-smmu-v3 \S+: ias", l)]
    if probe:
        m = re.search(r"arm-smmu-v3 (\S+): ias (\d+)-bit, oas (\d+)-bit \(features (0x[0-9a-f]+)\)",
                      probe[0])
        feats = int(m.group(4), 16)
        print(f"The SMMU ({m.group(1)}) came up: input addresses {m.group(2)} bits, "
              f"output addresses {m.group(3)} bits, features {m.group(4)}:")
        for name, words in FEATURES:
            if name in bits:
                print(f"  [{'x' if feats & bits[name] else ' '}] {words}")
        if not (feats & bits["TRANS_S1"] and feats & bits["TRANS_S2"]):
            print("  This SMMU cannot nest: it lacks a stage.")
            ok = False
    else:
        print("The SMMU did not probe: no arm-smmu-v3 line in the kernel log.")
        ok = False
    print()

    kunit = [r for r in results if ":kunit." in r]
    kpass = sum(r.startswith("PASS") for r in kunit)
    if kunit:
        suites = sorted({r.split(":kunit.")[1].split(".")[0] for r in kunit})
        print(f"KUnit at boot ({', '.join(suites)}): {kpass} of {len(kunit)} cases passed "
              "(the driver's STE/CD builders and hitless entry writer).")
        ok &= kpass == len(kunit)
    else:
        print("KUnit did not report any case.")
        ok = False
    print()

    edu = [l for l in lines if l.startswith("wb: edu ")]
    grp = [l for l in lines if re.match(r"vfio-pci \S+: Adding to iommu group", l)]
    for l in edu:
        m = re.match(r"wb: edu (\S+) bound to vfio-pci \((\S+)\)", l)
        print(f"The edu DMA device (PCI 1234:11e8) at {m.group(1)} sits behind the SMMU "
              f"and is bound to vfio-pci: its VFIO cdev is {m.group(2)}.")
    for l in grp:
        print(f"  kernel: {l}")
    if any("/dev/iommu present" in l for l in lines):
        print("/dev/iommu (iommufd) is there: a VMM can open it, bind the device's cdev,")
        print("and allocate I/O page tables for it.")
    else:
        print("/dev/iommu is missing.")
        ok = False
    if not edu:
        print("No edu device was bound to vfio-pci.")
        ok = False
    print()

    ok &= tell_nested_dma(lines, results)
    print()
    print("Verdict: " + ("nested translation works: the guest's stage 1 over the host's"
                         " stage 2, with invalidations and faults, on a real DMA engine."
                         if ok else "something is wrong; see the log: " + a.log))
    return 0 if ok else 1


# A kernel message that landed inside a line of the test's output
KMSG_RE = re.compile(r"(arm-smmu-v3|vfio-pci|iommufd\w*) [0-9a-f:.]+\w*: .*$")


def tell_nested_dma(lines, results):
    """The story of iommufd_nested_dma: its "# story:" lines, test by test."""
    cases = [r for r in results if ":kselftest.iommufd_nested_dma." in r
             and not r.split(":kselftest.iommufd_nested_dma.")[1].startswith("finished")]
    if not cases:
        print("The nested DMA test (iommufd_nested_dma) did not run.")
        return False
    print("Nested DMA (iommufd_nested_dma): user space plays the VMM (stage 2, through")
    print("/dev/iommu) and the guest (a CD and stage-1 tables in guest RAM, IPAs only),")
    print("and the edu device copies RAM -> device -> RAM with stage-1 IOVAs.")
    seen = set()
    test = None
    for l in lines:
        m = re.match(r"#\s+RUN\s+(\S+) \.\.\.", l)
        if m:
            test = m.group(1)
            continue
        m = re.match(r"# story: (.*)", l)
        if m and test:
            # The console may have put a kernel message in the middle
            text = KMSG_RE.sub("", m.group(1))
            if text.startswith("layout:"):
                if text in seen:
                    continue
                seen.add(text)
            print(f"  - {text}")
    passed = sum(r.startswith("PASS") for r in cases)
    skipped = sum(r.startswith("SKIP") for r in cases)
    print(f"  {passed} of {len(cases)} cases passed" +
          (f", {skipped} skipped" if skipped else "") + "; every case checked that "
          "the guard pages around guest RAM were untouched.")
    for r in cases:
        if not r.startswith("PASS"):
            print(f"  {r}")
    return passed == len(cases)


if __name__ == "__main__":
    sys.exit(main())
