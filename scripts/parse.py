#!/usr/bin/env python3
"""Parse a test machine's serial log into results.

Prints one line per result, "PASS|FAIL|SKIP <name> [-- why]", and "INFO"
lines (the seed a program used) that are not results. One check a
function, run in the order of CHECKS (which is the order of the lines):
- boot checks: the guest reached "wb: done" within its limit and QEMU then
  exited cleanly, the SMMU came up with the stages the machine has, the
  edu devices are bound to vfio-pci and /dev/iommu exists;
- KUnit's KTAP at boot (scripts/protocol.py's parser): every case, and a
  suite whose own result fails. Counted on the boots plan.conf names
  ("kunit" lines); on the others (the same kernel) only what fails is
  reported;
- every kselftest case (TAP between "wb: run" and "wb: end"), plus a check
  that each program printed a plan, ran it (no fewer, no more results) and
  exited cleanly. A skip is a failure unless plan.conf expects it;
- every kernel splat in the kernel log, named after the test that was
  running: /init copies the kernel log as "kmsg:" lines, in order with the
  programs' output; console lines of the kernel count when no "kmsg:" line
  holds them (before /init, or after it could no longer copy);
- on the debug kernel, the kmemleak scan after the tests.
What the guest prints is read by scripts/protocol.py; the results are
written by scripts/results.py. --tree is needed only to cross-check the
SMMU feature bits of protocol.py against the tree's arm-smmu-v3.h (a tree
without it is fine).
"""
import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plan as wbplan  # noqa: E402
import protocol  # noqa: E402
import results  # noqa: E402

HEADER = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h"
# A test's status that is no failure
OK = ("success", "skipped")


def machine_features(machine):
    """The SMMUv3 features a machine of plan.conf must show: its stages,
    and nesting where it has both."""
    s1, s2 = machine.has_stage(1), machine.has_stage(2)
    return {"TRANS_S1": s1, "TRANS_S2": s2, "NESTING": s1 and s2}


class Boot:
    """What every check of one boot reads, and the results it writes."""

    def __init__(self, args):
        self.plan = wbplan.load(args.plan)
        self.boot = self.plan.boot(args.boot)
        self.tests = self.boot.programs if args.tests is None else \
            [t for t in args.tests.split(",") if t]
        self.qemu_rc = args.qemu_rc
        self.header = os.path.join(args.tree, HEADER)
        with open(args.log, encoding="utf-8", errors="replace") as f:
            self.entries = protocol.split_log(f)
        self.kernel = [e.text for e in self.entries if e.kind == "k"]
        self.user = [e.text for e in self.entries if e.kind == "u"]
        self.res = results.Writer(args.name or self.boot.name, self.plan, self.boot.name)
        self.info = []
        self.ended = []

    def wb(self, kind):
        return protocol.wb_lines(self.user, kind)

    @property
    def done(self):
        return bool(self.wb("done"))


def check_finished(b):
    """The guest must finish on its own, and QEMU exit cleanly."""
    if b.qemu_rc in (124, 137):
        limit = os.environ.get("WB_LIMIT", b.boot.limit)
        b.res.add("FAIL", "boot.finished", "guest hung: killed at its wall-clock limit"
                  f" of {limit}s")
    elif not b.done:
        b.res.add("FAIL", "boot.finished",
                  f"guest stopped (qemu rc {b.qemu_rc}) before 'wb: done'")
    elif b.qemu_rc != 0:
        b.res.add("FAIL", "boot.finished", f"qemu exited with rc {b.qemu_rc} after 'wb: done'")
    else:
        b.res.add("PASS", "boot.finished")


def feature_bits(header):
    """protocol.py's feature bits, and those the tree's header numbers
    otherwise (a stale table), if the header is there."""
    bits = protocol.feature_bits()
    try:
        tree = protocol.feature_bits(header)
    except OSError:
        return bits, []
    return bits, [f"{k} is bit {tree[k].bit_length() - 1} in {header}, "
                  f"{bits[k].bit_length() - 1} in scripts/protocol.py"
                  for k in bits if k in tree and tree[k] != bits[k]]


def check_smmu(b):
    """The SMMU's features: the stages of the machine, no more, no less."""
    probes = protocol.smmu_probes(b.kernel)
    if not probes:
        b.res.add("FAIL", "boot.smmu_stages", "no arm-smmu-v3 probe line")
        return
    feats = probes[-1].features
    bits, stale = feature_bits(b.header)
    machine = b.plan.machine(b.boot.machine)
    want = machine_features(machine)
    wrong = [f"{k}={'yes' if feats & bits[k] else 'no'}"
             for k, v in want.items() if bool(feats & bits[k]) != v]
    have = [k for k in want if feats & bits[k]]
    if stale:
        b.res.add("FAIL", "boot.smmu_stages", "; ".join(stale))
    elif wrong:
        b.res.add("FAIL", "boot.smmu_stages",
                  f"features 0x{feats:08x}: {' '.join(wrong)} on {machine.name}")
    else:
        b.res.add("PASS", "boot.smmu_stages",
                  f"features 0x{feats:08x}: {'+'.join(have) or 'none'}")


def check_edu(b):
    """The edu devices bound to vfio-pci, and /dev/iommu there."""
    edu, errs = b.wb("edu"), b.wb("error")
    if edu and b.wb("iommu") and not any(e.fields[0] == "edu" for e in errs):
        b.res.add("PASS", "boot.edu_vfio", edu[0].text)
    else:
        b.res.add("FAIL", "boot.edu_vfio",
                  "wb: " + errs[0].text if errs else "no edu device bound to vfio-pci, or no /dev/iommu")


def check_init(b):
    """/init started, and said no error (but of edu and kmemleak: theirs)."""
    if not b.wb("init"):
        b.res.add("FAIL", "boot.init", "/init never started")
    for e in b.wb("error"):
        if e.fields[0] not in ("edu", "kmemleak"):
            b.res.add("FAIL", "boot.init", e.text)


def check_kernel_log(b):
    """/init lost no kernel record: a splat could be among them."""
    for e in b.wb("lost"):
        b.res.add("FAIL", "boot.kernel_log", e.text + ": splats may be missed")


def check_kunit(b):
    """KUnit's KTAP: every case, and a suite that fails on its own."""
    top = protocol.ktap(b.kernel)
    if top is None or not top.subtests:
        b.res.add("FAIL", "kunit", "no KUnit result in the kernel log")
        return
    counted = b.boot.name in b.plan.kunit
    for suite in top.subtests:
        report_suite(b.res, suite, counted)
    errors = top.error_count()
    if errors and not b.res.failed():
        first = next(e for t in top.walk() for e in t.errors)
        b.res.add("FAIL", "kunit", f"{errors} KTAP parse error(s), first: {first}")


def report_suite(res, suite, counted):
    """A suite's cases; the suite itself if it failed but none of them."""
    failed = 0
    for case in suite.subtests:
        report_case(res, f"kunit.{suite.name}.{case.name}", case, counted)
        failed += case.status not in OK
    n = len(suite.subtests)
    if failed:
        return
    if suite.errors:
        res.add("FAIL", f"kunit.{suite.name}", f"{'; '.join(suite.errors)} "
                f"({n} cases, none failed; its own result: {suite.status})")
    elif suite.status not in OK:
        res.add("FAIL", f"kunit.{suite.name}",
                f"the suite's own result is {suite.status} ({n} cases, none failed)")


def report_case(res, name, case, counted):
    """One KUnit case. Not counted (a boot of a kernel already counted):
    only what fails."""
    if case.status == "success":
        if counted:
            res.add("PASS", name)
    elif case.status == "skipped":
        why = case.reason or "skipped"
        if counted or not res.plan.expected_skip(res.boot, name, why):
            res.skip(name, why)
    else:
        res.add("FAIL", name, "test crashed" if case.status == "crashed" else "failure")


class Program:
    """One run of a kselftest program between "wb: run" and "wb: end"."""

    def __init__(self, name, res):
        self.name = name
        self.res = res
        self.tap = protocol.TapParser()
        self.context = f"kselftest.{name}"

    def line(self, text):
        ln = self.tap.feed(text)
        case = protocol.case_started(text)
        if case:
            self.context = f"kselftest.{self.name}.{case}"
        elif ln.kind == "result" and ln.depth == 0:
            self.result(self.tap.root.subtests[-1])
        # A kernel message copied after the case's result line is most
        # likely the case's own: the context stays until the next case.

    def result(self, t):
        name = f"kselftest.{self.name}.{t.name}"
        if t.directive == "SKIP":
            self.res.skip(name, t.reason)
        elif t.directive in ("XFAIL", "TODO"):
            if t.ok and t.directive == "XFAIL":
                self.res.add("PASS", name, "expected failure (XFAIL)")
            else:
                self.res.add("FAIL", name, f"'{'ok' if t.ok else 'not ok'}' with # {t.directive}"
                             f"{': ' + t.reason if t.reason else ''}")
        else:
            self.res.add("PASS" if t.ok else "FAIL", name)

    def end(self, how, val):
        """Its end: in time, its plan run whole, a clean exit."""
        root = self.tap.root
        plan, seen = root.plan, len(root.subtests)
        plan_skip = root.plan_skip or ("empty plan (1..0)" if plan == 0 else None)
        name = f"kselftest.{self.name}.finished"
        if how == "timeout":
            self.res.add("FAIL", name, f"killed after its {val}s deadline while in "
                         f"{self.context} ({seen} results)")
        elif plan is None:
            self.res.add("FAIL", name, f"no TAP plan (1..N); ended with {how} {val}")
        elif plan_skip is not None:
            self.res.skip(f"kselftest.{self.name}", plan_skip)
        elif how != "rc" or val not in (0, 4):
            self.res.add("FAIL", name, f"ended with {how} {val} ({seen} of "
                         f"{plan} results)")
        elif seen < plan:
            self.res.add("FAIL", name, f"{seen} of {plan} planned results")
        elif seen > plan:
            self.res.add("FAIL", name, f"{seen} results, more than the {plan} planned")
        else:
            self.res.add("PASS", name, f"{seen} results")


class Walk:
    """The log once, in order, tracking what runs: a program's cases, and
    a kernel splat named after the test that was running then."""

    def __init__(self, b):
        self.b = b
        self.context = "boot"
        self.prog = None
        self.runs = collections.Counter()
        names = [t.split(":")[0] for t in b.tests]
        self.dups = {t for t in names if names.count(t) > 1}

    def kernel(self, text):
        ln = protocol.tap_line(text)
        if ln.kind == "subtest" and ln.depth == 1 and self.context.startswith(("boot", "kunit")):
            self.context = f"kunit.{ln.match.group(1)}"
        elif self.context.startswith("kunit.") and ln.kind == "result" and ln.depth == 0:
            self.context = "boot"
        elif protocol.is_splat(text):
            where = self.prog.context if self.prog else self.context
            self.b.res.add("FAIL", f"splat.{where}", text.strip()[:160])

    def user(self, text):
        w = protocol.wb(text)
        if w and w.kind == "run":
            name = w.fields[0]
            self.runs[name] += 1
            self.prog = Program(f"{name}#{self.runs[name]}" if name in self.dups else name,
                                self.b.res)
        elif w and w.kind == "end" and self.prog:
            self.prog.end(w.fields[1], protocol.end_value(w.fields[2]))
            self.b.ended.append(w.fields[0])
            self.prog = None
            self.context = "init"
        elif self.prog:
            seed = protocol.seed(text, self.b.plan.seedline)
            if seed:
                self.b.info.append(f"INFO seed {self.prog.name} {seed}")
            self.prog.line(text)
        elif w and w.kind == "init":
            self.context = "init"


def check_programs(b):
    """Every program's cases and end, and every splat, in the log's order."""
    walk = Walk(b)
    for e in b.entries:
        (walk.kernel if e.kind == "k" else walk.user)(e.text)


def check_kmemleak(b):
    """The debug kernel's leak scan after the tests (/init prints it)."""
    scans = 0
    for e in filter(None, map(protocol.wb, b.user)):
        if e.kind == "kmemleak":
            scans += 1
            n = e.fields[0]
            b.res.add("PASS" if n == "0" else "FAIL", "kmemleak",
                      f"{n} unreferenced object(s) after the tests")
        elif e.kind == "error" and e.fields[0] == "kmemleak":
            scans += 1
            b.res.add("FAIL", "kmemleak", e.text)
    if b.boot.variant == "debug" and not scans and b.done:
        b.res.add("FAIL", "kmemleak", "no kmemleak scan after the tests on the debug kernel")


def check_unfinished(b):
    """A program that was asked for but never ended."""
    ended = list(b.ended)
    for t in b.tests:
        t = t.split(":")[0]
        if t in ended:
            ended.remove(t)
        else:
            b.res.add("FAIL", f"kselftest.{t}.finished", "never ran to its end")


CHECKS = [check_finished, check_smmu, check_edu, check_init, check_kernel_log,
          check_kunit, check_programs, check_kmemleak, check_unfinished]


def arguments():
    ap = argparse.ArgumentParser()
    ap.add_argument("--boot", required=True, help="a boot of configs/plan.conf")
    ap.add_argument("--name", help="results' prefix (default: the boot's name)")
    ap.add_argument("--qemu-rc", type=int, required=True)
    ap.add_argument("--tests", help="programs run (default: the boot's)")
    ap.add_argument("--tree", required=True,
                    help="the kernel tree it was built from (its arm-smmu-v3.h cross-checks "
                    "protocol.py's feature bits; need not exist)")
    ap.add_argument("--plan", default=wbplan.CONF)
    ap.add_argument("log")
    return ap


def run(argv):
    """What parse.py prints for a command line (the tests call it as is)."""
    b = Boot(arguments().parse_args(argv))
    for check in CHECKS:
        check(b)
    return "".join(line + "\n" for line in b.info) + b.res.text()


def main():
    sys.stdout.write(run(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
