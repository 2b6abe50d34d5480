#!/usr/bin/env python3
"""Parse a test machine's serial log into results.

Prints one line per result, "PASS|FAIL|SKIP <name> [-- why]", and "INFO"
lines (the seed a program used) that are not results:
- boot checks: the guest reached "wb: done" within its limit and QEMU then
  exited cleanly, the SMMU came up with the stages the machine has, the
  edu devices are bound to vfio-pci and /dev/iommu exists;
- KUnit's KTAP at boot, parsed by the tree's own
  tools/testing/kunit/kunit_parser.py: every case, and a suite whose own
  result fails. Counted on the boots plan.conf names ("kunit" lines); on
  the others (the same kernel) only what fails is reported;
- every kselftest case (TAP between "wb: run" and "wb: end"), plus a check
  that each program printed a plan, ran it (no fewer, no more results) and
  exited cleanly. A skip is a failure unless plan.conf expects it;
- every kernel splat in the kernel log, named after the test that was
  running: /init copies the kernel log as "kmsg:" lines, in order with the
  programs' output; console lines of the kernel count when no "kmsg:" line
  holds them (before /init, or after it could no longer copy);
- on the debug kernel, the kmemleak scan after the tests.
"""
import argparse
import contextlib
import io
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plan as wbplan  # noqa: E402

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
# The timestamp of a kernel line, on the console or copied by /init
STAMP_RE = re.compile(r"^(?:kmsg: )?\[\s*\d+\.\d+\]\s?")
# A kernel console line, or a kernel message that the console put in the
# middle of a line of user space's
CONSOLE_RE = re.compile(r"\[\s*(\d+\.\d+)\] ?(.*)$")
KMSG_RE = re.compile(r"^kmsg: \[\s*(\d+\.\d+)\] ?(.*)$")
RESULT_RE = re.compile(
    r"^(not ok|ok) (\d+) (.*?)(?:\s+#\s*(SKIP|TODO|XFAIL)\b\s*(.*))?$")


def machine_features(machine):
    """The SMMUv3 features a machine of plan.conf must show: its stages,
    and nesting where it has both."""
    s1, s2 = machine.has_stage(1), machine.has_stage(2)
    return {"TRANS_S1": s1, "TRANS_S2": s2, "NESTING": s1 and s2}


class Results:
    def __init__(self, prefix, plan, boot):
        self.prefix = prefix
        self.plan = plan
        self.boot = boot
        self.lines = []
        self.seen = set()

    def add(self, verdict, name, why=""):
        name = re.sub(r"\s+", "_", name.strip())
        line = f"{verdict} {self.prefix}:{name}"
        if why:
            line += " -- " + why.strip()
        if line in self.seen:
            return
        self.seen.add(line)
        self.lines.append(line)

    def skip(self, name, why):
        """A skip: expected (plan.conf) or a failure."""
        key = re.sub(r"\s+", "_", re.sub(r"#\d+(?=\.|$)", "", name.strip()))
        reason = self.plan.expected_skip(self.boot, key, why or "")
        if reason:
            self.add("SKIP", name, why or reason)
        else:
            self.add("FAIL", name, f"unexpected skip: {why or 'no reason given'}"
                     " (not in configs/plan.conf's expected skips)")


def feature_bits(header):
    bits = {}
    with open(header, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"#define ARM_SMMU_FEAT_(\w+)\s+\(1 << (\d+)\)", line)
            if m:
                bits[m.group(1)] = 1 << int(m.group(2))
    return bits


def split_log(raw):
    """The log as entries in order: ("k", ts, text) for a kernel message,
    ("u", None, text) for a line of user space (/init, the programs).

    Kernel messages are the "kmsg:" lines /init copied (from the kernel
    log's first record on), and the console's own kernel lines that no
    "kmsg:" line holds: those later than the last copied record (/init could
    not copy any more: a panic, a hang), or all of them if nothing was
    copied. A kernel message in the middle of a line of user space's (the
    console's) is split out of it."""
    entries = []
    last_kmsg = None
    for line in raw:
        line = line.rstrip("\r\n").replace("\r", "")
        m = KMSG_RE.match(line)
        if m:
            ts = float(m.group(1))
            entries.append(("k", ts, m.group(2)))
            last_kmsg = ts if last_kmsg is None else max(last_kmsg, ts)
            continue
        m = CONSOLE_RE.search(line)
        if m:
            before = line[:m.start()]
            if before:
                entries.append(("u", None, before))
            entries.append(("c", float(m.group(1)), m.group(2)))
            continue
        entries.append(("u", None, line))
    out = []
    for kind, ts, text in entries:
        if kind == "c":
            if last_kmsg is not None and ts <= last_kmsg:
                continue
            kind = "k"
        out.append((kind, ts, text))
    return out


def check_smmu(kernel, machine, header, res):
    feats = None
    for text in kernel:
        m = re.search(r"arm-smmu-v3 \S+: ias \d+-bit, oas \d+-bit "
                      r"\(features (0x[0-9a-f]+)\)", text)
        if m:
            feats = int(m.group(1), 16)
    if feats is None:
        res.add("FAIL", "boot.smmu_stages", "no arm-smmu-v3 probe line")
        return
    bits = feature_bits(header)
    want = machine_features(machine)
    wrong = [f"{k}={'yes' if feats & bits[k] else 'no'}"
             for k, v in want.items() if bool(feats & bits[k]) != v]
    have = [k for k in want if feats & bits[k]]
    if wrong:
        res.add("FAIL", "boot.smmu_stages",
                f"features 0x{feats:08x}: {' '.join(wrong)} on {machine.name}")
    else:
        res.add("PASS", "boot.smmu_stages",
                f"features 0x{feats:08x}: {'+'.join(have) or 'none'}")


def load_kunit_parser(kunit_dir):
    """The tree's tools/testing/kunit/kunit_parser, its printing silenced."""
    if not os.path.isfile(os.path.join(kunit_dir, "kunit_parser.py")):
        return None
    sys.path.insert(0, kunit_dir)
    with contextlib.redirect_stdout(io.StringIO()):
        import kunit_parser  # pylint: disable=import-outside-toplevel
        import kunit_printer  # pylint: disable=import-outside-toplevel
    kunit_printer.stdout._output = io.StringIO()  # pylint: disable=protected-access
    kunit_parser.stdout._output = kunit_printer.stdout._output  # pylint: disable=protected-access
    return kunit_parser


def check_kunit(kernel, kunit_dir, counted, res):
    """KUnit's KTAP, by the kernel's own parser."""
    kp = load_kunit_parser(kunit_dir)
    if kp is None:
        res.add("FAIL", "kunit", f"no kunit_parser.py in {kunit_dir}")
        return
    top = kp.parse_run_tests(kernel)
    status = kp.TestStatus
    if top.status in (status.FAILURE_TO_PARSE_TESTS, status.NO_TESTS) or not top.subtests:
        res.add("FAIL", "kunit", "no KUnit result in the kernel log")
        return

    def report(name, test):
        if test.status == status.SUCCESS:
            if counted:
                res.add("PASS", name)
        elif test.status == status.SKIPPED:
            if counted:
                res.skip(name, (test.log[-1] if test.log else "") or "skipped")
            elif not res.plan.expected_skip(res.boot, name, "skipped"):
                res.skip(name, "skipped")
        else:
            res.add("FAIL", name, test.status.name.lower().replace("_", " "))

    for suite in top.subtests:
        failed_cases = 0
        for case in suite.subtests:
            report(f"kunit.{suite.name}.{case.name}", case)
            failed_cases += case.status not in (status.SUCCESS, status.SKIPPED)
        errors = suite.counts.errors
        if suite.status not in (status.SUCCESS, status.SKIPPED) and not failed_cases:
            res.add("FAIL", f"kunit.{suite.name}",
                    f"the suite's own result is {suite.status.name.lower()}"
                    f" ({len(suite.subtests)} cases, none failed"
                    f"{f', {errors} parse error(s)' if errors else ''})")
    if top.counts.errors and not any(l.startswith("FAIL") for l in res.lines):
        res.add("FAIL", "kunit", f"{top.counts.errors} KTAP parse error(s)")


class Program:
    """One run of a kselftest program between "wb: run" and "wb: end"."""

    def __init__(self, name, res):
        self.name = name
        self.res = res
        self.plan = None
        self.plan_skip = None
        self.seen = 0
        self.context = f"kselftest.{name}"

    def line(self, text):
        m = re.match(r"^1\.\.(\d+)(?:\s+#\s*SKIP\b\s*(.*))?$", text)
        if m and self.plan is None:
            self.plan = int(m.group(1))
            if m.group(2) is not None or self.plan == 0:
                self.plan_skip = m.group(2) or "empty plan (1..0)"
            return
        m = re.match(r"^#\s+RUN\s+(\S+)", text)
        if m:
            self.context = f"kselftest.{self.name}.{m.group(1)}"
            return
        m = RESULT_RE.match(text)
        if not m:
            return
        self.seen += 1
        name = f"kselftest.{self.name}.{m.group(3)}"
        ok, directive, why = m.group(1) == "ok", m.group(4), m.group(5) or ""
        if directive == "SKIP":
            self.res.skip(name, why)
        elif directive in ("XFAIL", "TODO"):
            if ok and directive == "XFAIL":
                self.res.add("PASS", name, "expected failure (XFAIL)")
            else:
                self.res.add("FAIL", name, f"'{m.group(1)}' with # {directive}"
                             f"{': ' + why if why else ''}")
        elif ok:
            self.res.add("PASS", name)
        else:
            self.res.add("FAIL", name)
        # A kernel message copied after the case's result line is most
        # likely the case's own: the context stays until the next case.

    def end(self, how, val):
        name = f"kselftest.{self.name}.finished"
        if how == "timeout":
            self.res.add("FAIL", name, f"killed after its {val}s deadline while in "
                         f"{self.context} ({self.seen} results)")
        elif self.plan is None:
            self.res.add("FAIL", name, f"no TAP plan (1..N); ended with {how} {val}")
        elif self.plan_skip is not None:
            self.res.skip(f"kselftest.{self.name}", self.plan_skip)
        elif how != "rc" or val not in (0, 4):
            self.res.add("FAIL", name, f"ended with {how} {val} ({self.seen} of "
                         f"{self.plan} results)")
        elif self.seen < self.plan:
            self.res.add("FAIL", name, f"{self.seen} of {self.plan} planned results")
        elif self.seen > self.plan:
            self.res.add("FAIL", name, f"{self.seen} results, more than the {self.plan} planned")
        else:
            self.res.add("PASS", name, f"{self.seen} results")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--boot", required=True, help="a boot of configs/plan.conf")
    ap.add_argument("--name", help="results' prefix (default: the boot's name)")
    ap.add_argument("--qemu-rc", type=int, required=True)
    ap.add_argument("--tests", help="programs run (default: the boot's)")
    ap.add_argument("--tree", required=True, help="the kernel tree it was built from")
    ap.add_argument("--plan", default=wbplan.CONF)
    ap.add_argument("log")
    args = ap.parse_args()

    plan = wbplan.load(args.plan)
    boot = plan.boot(args.boot)
    tests = boot.programs if args.tests is None else \
        [t for t in args.tests.split(",") if t]
    header = os.path.join(args.tree, "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h")
    with open(args.log, encoding="utf-8", errors="replace") as f:
        entries = split_log(f)
    res = Results(args.name or boot.name, plan, boot.name)
    kernel = [text for kind, _, text in entries if kind == "k"]
    user = [text for kind, _, text in entries if kind == "u"]

    # Boot: the guest must finish on its own, and QEMU exit cleanly.
    done = "wb: done" in user
    if args.qemu_rc in (124, 137):
        limit = os.environ.get("WB_LIMIT", boot.limit)
        res.add("FAIL", "boot.finished", "guest hung: killed at its wall-clock limit"
                f" of {limit}s")
    elif not done:
        res.add("FAIL", "boot.finished",
                f"guest stopped (qemu rc {args.qemu_rc}) before 'wb: done'")
    elif args.qemu_rc != 0:
        res.add("FAIL", "boot.finished", f"qemu exited with rc {args.qemu_rc} after 'wb: done'")
    else:
        res.add("PASS", "boot.finished")
    check_smmu(kernel, plan.machine(boot.machine), header, res)

    edu = [l for l in user if re.match(r"wb: edu \S+ bound to vfio-pci", l)]
    iommu = [l for l in user if re.match(r"wb: \d+ edu device\(s\); /dev/iommu present", l)]
    errs = [l for l in user if l.startswith("wb: error")]
    if edu and iommu and not any(l.startswith("wb: error: edu") for l in user):
        res.add("PASS", "boot.edu_vfio", edu[0][4:])
    else:
        res.add("FAIL", "boot.edu_vfio",
                (errs or ["no edu device bound to vfio-pci, or no /dev/iommu"])[0])
    if not any(l.startswith("wb: init up") for l in user):
        res.add("FAIL", "boot.init", "/init never started")
    for l in errs:
        if not l.startswith(("wb: error: edu", "wb: error: kmemleak")):
            res.add("FAIL", "boot.init", l[4:])
    for l in user:
        if re.match(r"wb: kmsg: \d+ record\(s\) lost", l):
            res.add("FAIL", "boot.kernel_log", l[4:] + ": splats may be missed")

    check_kunit(kernel, os.path.join(args.tree, "tools/testing/kunit"),
                boot.name in plan.kunit, res)

    # Walk the log once, tracking what is running for splat attribution.
    context = "boot"
    runs = {}
    dups = {t.split(":")[0] for t in tests
            if sum(u.split(":")[0] == t.split(":")[0] for u in tests) > 1}
    prog = None
    ended = []
    seed_re = re.compile(plan.seedline) if plan.seedline else None
    for kind, _, text in entries:
        if kind == "k":
            m = re.match(r"\s*# Subtest: (\S+)", text)
            if m and text.startswith("    #") and context.startswith(("boot", "kunit")):
                context = f"kunit.{m.group(1)}"
            elif context.startswith("kunit.") and RESULT_RE.match(text):
                context = "boot"
            elif SPLAT_RE.search(text):
                res.add("FAIL", f"splat.{prog.context if prog else context}",
                        text.strip()[:160])
            continue
        m = re.match(r"wb: run (\S+)", text)
        if m:
            name = m.group(1)
            runs[name] = runs.get(name, 0) + 1
            prog = Program(f"{name}#{runs[name]}" if name in dups else name, res)
            continue
        m = re.match(r"wb: end (\S+) (\w+)=(-?\w+)", text)
        if m and prog:
            how, val = m.group(2), m.group(3)
            prog.end(how, int(val) if re.match(r"-?\d+$", val) else val)
            ended.append(m.group(1))
            prog = None
            context = "init"
            continue
        if prog:
            if seed_re:
                m = seed_re.search(text)
                if m:
                    print(f"INFO seed {prog.name} {m.group(1)}")
            prog.line(text)
            continue
        if text.startswith("wb: init up"):
            context = "init"

    # The debug kernel's leak scan after the tests (init prints the report).
    scans = 0
    for text in user:
        m = re.match(r"wb: kmemleak: (\d+) unreferenced", text)
        if m:
            scans += 1
            res.add("PASS" if m.group(1) == "0" else "FAIL", "kmemleak",
                    f"{m.group(1)} unreferenced object(s) after the tests")
        elif text.startswith("wb: error: kmemleak"):
            scans += 1
            res.add("FAIL", "kmemleak", text[4:])
    if boot.variant == "debug" and not scans and done:
        res.add("FAIL", "kmemleak", "no kmemleak scan after the tests on the debug kernel")

    # A program that was asked for but never ended.
    for t in tests:
        t = t.split(":")[0]
        if t in ended:
            ended.remove(t)
        else:
            res.add("FAIL", f"kselftest.{t}.finished", "never ran to its end")

    print("\n".join(res.lines))


if __name__ == "__main__":
    sys.exit(main())
