#!/usr/bin/env python3
"""Parse a test machine's serial log into results.

Prints one line per result, "PASS|FAIL|SKIP <name> [-- why]":
- boot checks: the guest reached "wb: done" within its limit, the SMMU came
  up with the stages the machine has, the edu devices are bound to vfio-pci
  and /dev/iommu exists;
- every KUnit case (KTAP at boot);
- every kselftest case (TAP between "wb: run" and "wb: end"), plus a check
  that each program ran its whole plan and exited cleanly;
- every kernel splat, named after the test that was running.
"""
import argparse
import re
import sys

# What counts as a kernel splat. Lockdep and might_sleep reports start with
# "WARNING:" or "BUG:". The SMMU's global errors count too: a command the
# CMDQ refused (CERROR_ILL...), a CMD_SYNC that never completed, any GERROR.
SPLATS = [
    r"BUG:", r"WARNING:", r"KASAN:", r"UBSAN:", r"unreferenced object 0x",
    r"Oops", r"Kernel panic", r"Internal error:", r"Unable to handle kernel",
    r"rcu: INFO: .* detected stalls", r"INFO: task .* blocked for more than",
    r"kernel BUG at", r"general protection fault",
    r"arm-smmu-v3 .*: (CMDQ error|CMD_SYNC timeout|unexpected global error"
    r"|device has entered Service Failure Mode)",
]
SPLAT_RE = re.compile("|".join(SPLATS))
STAMP_RE = re.compile(r"^\[\s*\d+\.\d+\]\s?")
RESULT_RE = re.compile(r"^(not ok|ok) (\d+) (.*?)(?:\s+#\s*(SKIP|TODO|XFAIL)\b(.*))?$")

# Which SMMUv3 translation stages each QEMU machine has.
MACHINE_STAGES = {
    "nested": {"TRANS_S1": True, "TRANS_S2": True, "NESTING": True},
    "s1only": {"TRANS_S1": True, "TRANS_S2": False, "NESTING": False},
    "s2only": {"TRANS_S1": False, "TRANS_S2": True, "NESTING": False},
}


class Results:
    def __init__(self, prefix):
        self.prefix = prefix
        self.lines = []

    def add(self, verdict, name, why=""):
        name = re.sub(r"\s+", "_", name.strip())
        line = f"{verdict} {self.prefix}:{name}"
        if why:
            line += " -- " + why.strip()
        self.lines.append(line)


def feature_bits(header):
    bits = {}
    with open(header, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"#define ARM_SMMU_FEAT_(\w+)\s+\(1 << (\d+)\)", line)
            if m:
                bits[m.group(1)] = 1 << int(m.group(2))
    return bits


def check_smmu(lines, machine, header, res):
    feats = None
    for line in lines:
        m = re.search(r"arm-smmu-v3 \S+: ias \d+-bit, oas \d+-bit "
                      r"\(features (0x[0-9a-f]+)\)", line)
        if m:
            feats = int(m.group(1), 16)
    if feats is None:
        res.add("FAIL", "boot.smmu_stages", "no arm-smmu-v3 probe line")
        return
    bits = feature_bits(header)
    want = MACHINE_STAGES[machine]
    wrong = [f"{k}={'yes' if feats & bits[k] else 'no'}"
             for k, v in want.items() if bool(feats & bits[k]) != v]
    have = [k for k in want if feats & bits[k]]
    if wrong:
        res.add("FAIL", "boot.smmu_stages",
                f"features 0x{feats:08x}: {' '.join(wrong)} on {machine}")
    else:
        res.add("PASS", "boot.smmu_stages",
                f"features 0x{feats:08x}: {'+'.join(have) or 'none'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--machine", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--qemu-rc", type=int, required=True)
    ap.add_argument("--tests", default="")
    ap.add_argument("--header", required=True)
    ap.add_argument("log")
    args = ap.parse_args()

    with open(args.log, encoding="utf-8", errors="replace") as f:
        lines = [STAMP_RE.sub("", l.rstrip("\r\n")) for l in f]
    res = Results(args.name)

    # Boot: the guest must finish on its own.
    done = any(l == "wb: done" for l in lines)
    if args.qemu_rc == 124 or args.qemu_rc == 137:
        res.add("FAIL", "boot.finished", "guest hung: killed at its wall-clock limit")
    elif not done:
        res.add("FAIL", "boot.finished",
                f"guest stopped (qemu rc {args.qemu_rc}) before 'wb: done'")
    else:
        res.add("PASS", "boot.finished")
    check_smmu(lines, args.machine, args.header, res)

    edu = [l for l in lines if re.match(r"wb: edu \S+ bound to vfio-pci", l)]
    iommu = [l for l in lines if re.match(r"wb: \d+ edu device\(s\); /dev/iommu present", l)]
    if edu and iommu and not any(l.startswith("wb: error: edu") for l in lines):
        res.add("PASS", "boot.edu_vfio", edu[0][4:])
    else:
        errs = [l for l in lines if l.startswith("wb: error")]
        res.add("FAIL", "boot.edu_vfio", (errs or ["no edu device bound to vfio-pci, or no /dev/iommu"])[0])

    # Walk the log once, tracking what is running for splat attribution.
    context = "boot"
    kunit_suite = None
    kunit_last = 0
    prog = None
    plan = None
    seen = 0
    ended = set()
    for line in lines:
        if SPLAT_RE.search(line) and not line.startswith(("wb: ", "#", "ok ", "not ok ")):
            res.add("FAIL", f"splat.{context}", line.strip()[:160])
            continue

        m = re.match(r"wb: run (\S+)", line)
        if m:
            prog, plan, seen = m.group(1), None, 0
            context = f"kselftest.{prog}"
            continue
        m = re.match(r"wb: end (\S+) (\w+)=(-?\d+)", line)
        if m and prog:
            how, val = m.group(2), int(m.group(3))
            ended.add(prog)
            if how == "timeout":
                res.add("FAIL", f"kselftest.{prog}.finished",
                        f"killed after its {val}s deadline while in {context}")
            elif how != "rc" or val not in (0, 4):
                res.add("FAIL", f"kselftest.{prog}.finished", f"ended with {how} {val}")
            elif plan is not None and seen < plan:
                res.add("FAIL", f"kselftest.{prog}.finished",
                        f"{seen} of {plan} planned results")
            else:
                res.add("PASS", f"kselftest.{prog}.finished", f"{seen} results")
            prog = None
            context = "init"
            continue

        if prog:
            m = re.match(r"^1\.\.(\d+)$", line)
            if m:
                plan = int(m.group(1))
                continue
            m = re.match(r"^#\s+RUN\s+(\S+)", line)
            if m:
                context = f"kselftest.{prog}.{m.group(1)}"
                continue
            m = RESULT_RE.match(line)
            if m:
                seen += 1
                name = f"kselftest.{prog}.{m.group(3)}"
                if m.group(4) == "SKIP":
                    res.add("SKIP", name, m.group(5) or "")
                elif m.group(1) == "ok" or m.group(4) == "XFAIL":
                    res.add("PASS", name)
                else:
                    res.add("FAIL", name)
                context = f"kselftest.{prog}"
            continue

        # KUnit's KTAP, printed at boot: a suite's cases are indented once.
        m = re.match(r"^\s+# Subtest: (\S+)", line)
        if m and line.startswith("    # Subtest:") and not line.startswith("        "):
            kunit_suite, kunit_last = m.group(1), 0
            context = f"kunit.{kunit_suite}.case{kunit_last + 1}"
            continue
        if kunit_suite and line.startswith("    ") and not line.startswith("        "):
            m = RESULT_RE.match(line.strip())
            if m:
                kunit_last = int(m.group(2))
                name = f"kunit.{kunit_suite}.{m.group(3)}"
                if m.group(4) == "SKIP":
                    res.add("SKIP", name, m.group(5) or "")
                elif m.group(1) == "ok":
                    res.add("PASS", name)
                else:
                    res.add("FAIL", name)
                context = f"kunit.{kunit_suite}.case{kunit_last + 1}"
                continue
        if kunit_suite and RESULT_RE.match(line) and not line.startswith(" "):
            kunit_suite = None
            context = "boot"
        if line.startswith("wb: init up"):
            context = "init"

    # The debug kernel's leak scan after the tests (init prints the report).
    for line in lines:
        m = re.match(r"wb: kmemleak: (\d+) unreferenced", line)
        if m:
            res.add("PASS" if m.group(1) == "0" else "FAIL", "kmemleak",
                    f"{m.group(1)} unreferenced object(s) after the tests")
        elif line.startswith("wb: error: kmemleak"):
            res.add("FAIL", "kmemleak", line[4:])

    # A program that was asked for but never ended.
    for t in filter(None, args.tests.split(",")):
        t = t.split(":")[0]
        if t not in ended:
            res.add("FAIL", f"kselftest.{t}.finished", "never ran to its end")

    print("\n".join(res.lines))


if __name__ == "__main__":
    sys.exit(main())
