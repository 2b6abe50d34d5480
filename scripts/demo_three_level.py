#!/usr/bin/env python3
"""Tell, in plain words, what the three-level machine showed.

Who runs where comes from the run itself (L0's QEMU version, the kernels
L1 and L2 reported, the packages actually used); each check is told with
what the parser measured (build/runs/COMMAND/results/three-level.txt), grouped and ordered by
configs/demo-three-level.conf. A failed or skipped check is told as such. Exits 1 if a
check failed or nothing was measured.
"""
import argparse
import fnmatch
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conf as wbconf  # noqa: E402
import results as wbresults  # noqa: E402
import three_level_pkgs as l3  # noqa: E402

CONF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "configs", "demo-three-level.conf")


def load_conf(path):
    """([(GLOB, WORDS)] of the check lines, [(GLOB, WORDS)] of the story
    lines)."""
    groups, stories = [], []
    for r in wbconf.records(path):
        if r.kind not in ("check", "story") or len(r.args) < 2:
            raise r.error("not check|story GLOB WORDS")
        (groups if r.kind == "check" else stories).append((r.args[0], r.rest.split(None, 1)[1]))
    return groups, stories


def tell_stories(results, stories):
    """One sentence per story line whose results exist: its WORDS if every
    one of them passed (or was an expected skip), else what failed."""
    for glob, words in stories:
        mine = [(v, n) for v, n, _ in results if fnmatch.fnmatchcase(n, glob)]
        if not mine:
            continue
        bad = [n for v, n in mine if v not in ("PASS", "SKIP")]
        if bad:
            print(f"  - FAILED ({len(bad)} of {len(mine)} checks, e.g. {bad[0]}): {words}")
        else:
            print(f"  - {words} ({len(mine)} checks).")


def parse_results(path):
    """(verdict, name without the prefix three-level:, why) of each result of
    PATH that tested something (not NA); none if PATH is missing."""
    return [(r.verdict, r.name.split(":", 1)[-1], r.why)
            for r in wbresults.read(path) if r.verdict != "NA"]


def field(results, name, key):
    """KEY=VALUE from the measured text of result NAME, or None."""
    for _, n, why in results:
        if n == name:
            for w in why.replace(";", " ").split():
                if w.startswith(key + "="):
                    return w.split("=", 1)[1]
    return None


def package(used, name):
    """'PACKAGE VERSION' of the package used whose name matches the regular
    expression NAME; None if there is none, or no used file."""
    try:
        f = l3.used_package(used, name)
    except (OSError, wbconf.ConfError):
        return None
    return f"{f[1]} {f[3]}" if f else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--used", required=True, help="build/three-level/packages-used.txt")
    ap.add_argument("--l0-qemu", required=True, help="L0's qemu-system-aarch64 --version")
    ap.add_argument("--conf", default=CONF)
    a = ap.parse_args()

    results = parse_results(a.results)
    groups, stories = load_conf(a.conf)
    print("Three levels: a real VMM and a stock guest on this kernel")
    if not results:
        print(f"Verdict: FAILED: the three-level machine gave no result ({a.results}).")
        return 1

    l1k = field(results, "l1.boot", "kernel")
    l2k = next((field(results, n, "kernel") for _, n, _ in results if n.endswith(".l2-boot")), None)
    qemu11 = package(a.used, "qemu-system-arm")
    print(f"  L0: {a.l0_qemu} on this machine (TCG): arm64 virt at EL2 with an SMMUv3, "
          "two NVMe disks and two edu DMA devices")
    print(f"  L1: {'kernel ' + l1k if l1k else 'the kernel (it did not report a version)'} "
          f"(this series) with KVM, running Debian's {qemu11 or 'QEMU (package unknown)'}, unmodified")
    print(f"  L2: {'Debian kernel ' + l2k if l2k else 'Debian kernel (it did not boot)'}, "
          "UEFI and ACPI, its own arm-smmu-v3 driver in strict mode")
    print()

    told = set()
    for glob, words in groups + [("*", "other checks")]:
        mine = [(i, r) for i, r in enumerate(results) if i not in told and fnmatch.fnmatchcase(r[1], glob)]
        if not mine:
            continue
        print(f"{words}:")
        for i, (verdict, name, why) in mine:
            told.add(i)
            tag = {"PASS": "passed", "SKIP": "skipped"}.get(verdict, "FAILED")
            print(f"  [{tag}] {name}" + (f": {why}" if why else ""))
    print()

    if stories:
        print("A host's life for its guests, in short:")
        tell_stories(results, stories)
        print()

    failed = [(n, w) for v, n, w in results if v == "FAIL"]
    passed = sum(v == "PASS" for v, _, _ in results)
    skipped = sum(v == "SKIP" for v, _, _ in results)
    if failed:
        print(f"Verdict (three levels): FAILED: {len(failed)} failure(s):")
        for n, w in failed:
            print(f"  - {n}" + (f": {w}" if w else ""))
        return 1
    print(f"Verdict (three levels): {passed} checks passed, {skipped} skipped for the reason "
          "given above, none failed: an unmodified QEMU 11.1 ran a stock Linux guest with an "
          "assigned NVMe behind its accelerated vSMMUv3 on this kernel." if qemu11 else
          f"Verdict (three levels): {passed} checks passed, {skipped} skipped, none failed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
