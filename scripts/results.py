#!/usr/bin/env python3
"""Result lines: the one reader, writer and counter of the workbench.

Every check writes one line per result to a file of its command's results
directory (build/runs/COMMAND/results/NAME.txt):

  VERDICT PREFIX:NAME [-- WHY]

VERDICT is PASS, FAIL, SKIP (an expected skip, with its reason) or NA (a
check that had nothing to test: not counted as passed). Lines that start
otherwise (INFO ...) are not results.

As a library: Result, parse(), read(), counts(), Writer (dedupes, and turns
a skip plan.conf does not expect into a failure), to_ktap(), to_json(),
replays(). As a command, for the shell scripts:
  results.py add FILE VERDICT NAME [WHY...]   append one result to FILE
  results.py add FILE -                       append those of stdin, one
                                              "VERDICT<TAB>NAME[<TAB>WHY]"
                                              a line
  results.py brief FILE...                    "N passed, N failed, N skipped"
                                              and each failure; exit 1 on one
  results.py failed FILE...                   exit 0 if a FILE has a failure
  results.py expect FILE PREFIX NAME=REGEX... failures FILE must have: one
                                              result each, and nothing_else
  results.py unittest PREFIX TESTDIR LOG      run TESTDIR's unit tests: results
  results.py summary [ELAPSED]                the summary of a results dir
  results.py passes FILE                      passes per case of make repeat
  results.py export ktap|json FILE...         the results as KTAP or JSON
"""
import collections
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plan as wbplan  # noqa: E402

VERDICTS = ("PASS", "FAIL", "SKIP", "NA")
LINE_RE = re.compile(r"^(PASS|FAIL|SKIP|NA) (\S+?)(?: -- (.*))?$")

Result = collections.namedtuple("Result", "verdict name why")


def parse(line):
    """A Result of one line, or None for a line that is not a result."""
    m = LINE_RE.match(line.rstrip("\n"))
    return Result(m.group(1), m.group(2), m.group(3) or "") if m else None


def format_line(verdict, name, why=""):
    if verdict not in VERDICTS:
        raise ValueError(f"verdict '{verdict}' is none of {', '.join(VERDICTS)}")
    name = re.sub(r"\s+", "_", name.strip())
    why = " ".join(why.split())
    return f"{verdict} {name}" + (f" -- {why}" if why else "")


def read(*paths):
    """Every result of the files (a missing file has none)."""
    out = []
    for p in paths:
        try:
            with open(p, encoding="utf-8", errors="replace") as f:
                out.extend(r for r in map(parse, f) if r)
        except FileNotFoundError:
            pass
    return out


def counts(results):
    c = collections.Counter(r.verdict for r in results)
    return {v: c.get(v, 0) for v in VERDICTS}


def brief(results):
    c = counts(results)
    return f"{c['PASS']} passed, {c['FAIL']} failed, {c['SKIP']} skipped"


class Writer:
    """Results of one prefix (a boot, a three-level run...), in order, each
    line once. A skip is a failure unless plan.conf expects it of BOOT."""

    def __init__(self, prefix, plan=None, boot=None):
        self.prefix = prefix
        self.plan = plan
        self.boot = boot
        self.lines = []
        self.seen = set()

    def add(self, verdict, name, why=""):
        line = format_line(verdict, f"{self.prefix}:{name.strip()}", why)
        if line not in self.seen:
            self.seen.add(line)
            self.lines.append(line)

    def skip(self, name, why):
        key = re.sub(r"\s+", "_", re.sub(r"#\d+(?=\.|$)", "", name.strip()))
        reason = self.plan.expected_skip(self.boot, key, why or "") if self.plan else None
        if reason:
            self.add("SKIP", name, why or reason)
        else:
            self.add("FAIL", name, f"unexpected skip: {why or 'no reason given'}"
                     " (not in configs/plan.conf's expected skips)")

    def failed(self):
        return any(line.startswith("FAIL ") for line in self.lines)

    def text(self):
        return "".join(line + "\n" for line in self.lines)


def add_lines(path, stream):
    """Append to PATH the results of STREAM, one VERDICT<TAB>NAME[<TAB>WHY]
    a line (blank lines skipped): many results for one start of Python."""
    out = []
    for line in stream:
        if line.strip():
            verdict, name, why = (line.rstrip("\n").split("\t", 2) + ["", ""])[:3]
            out.append(format_line(verdict, name, why) + "\n")
    with open(path, "a", encoding="utf-8") as f:
        f.writelines(out)


def to_ktap(results):
    """KTAP version 1: one test per result; NA and SKIP are skips."""
    out = ["KTAP version 1", f"1..{len(results)}"]
    for n, r in enumerate(results, 1):
        ok = "ok" if r.verdict != "FAIL" else "not ok"
        line = f"{ok} {n} {r.name}"
        if r.verdict in ("SKIP", "NA"):
            line += f" # SKIP {r.why}".rstrip()
        out.append(line)
        if r.verdict == "FAIL" and r.why:
            out.append(f"# {r.why}")
    return "\n".join(out) + "\n"


def to_json(results):
    return json.dumps({"counts": counts(results),
                       "results": [r._asdict() for r in results]}, indent=1) + "\n"


# A failed case of a guest program's kselftest harness: PROG, CASE
CASE_RE = re.compile(r"^(?:splat\.)?kselftest\.([^.# ]+)(?:#\d+)?\.(\S+)$")
SEED_RE = re.compile(r"^INFO seed ([^# ]+)(?:#\d+)? (\S+)")


def replay(boot, prog, case, seed=""):
    """The make command that runs one case again on its boot's machine and kernel."""
    return f"make repeat BOOT={boot} TESTS={prog}:{case} N=1" + (f" SEED={seed}" if seed else "")


def replays(path, plan, seed=""):
    """make repeat commands for the failed guest cases of one boot's results."""
    boot = os.path.basename(path)[:-len(".txt")]
    if boot not in plan.boots or not plan.boot(boot).programs:
        return []
    seeds = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = SEED_RE.match(line)
            if m:
                seeds.setdefault(m.group(1), m.group(2))
    out = set()
    for r in read(path):
        if r.verdict != "FAIL" or not r.name.startswith(boot + ":"):
            continue
        m = CASE_RE.match(r.name[len(boot) + 1:])
        if m and m.group(2) != "finished":
            out.add(replay(boot, m.group(1), m.group(2), seed or seeds.get(m.group(1), "")))
    return sorted(out)


def expect(path, prefix, patterns):
    """Results PREFIX:NAME for failures that must be there (a verdict must be
    able to fail): one per "NAME=REGEX" pattern, matched against the FAIL
    lines of PATH; then PREFIX:nothing_else, that no other failure is."""
    w = Writer(prefix)
    fails = [format_line(*r) for r in read(path) if r.verdict == "FAIL"]
    matched = set()
    for pat in patterns:
        name, rx = pat.split("=", 1)
        hits = [line for line in fails if re.search(rx, line)]
        matched.update(hits)
        if hits:
            w.add("PASS", name)
        else:
            w.add("FAIL", name, f"no failure matching '{rx}' in {path}")
    other = [line for line in fails if line not in matched]
    if other:
        w.add("FAIL", "nothing_else", "other failures: " + "; ".join(other[:3]))
    else:
        w.add("PASS", "nothing_else")
    return w.text()


def run_unittests(prefix, testdir, log):
    """Run the unit tests of TESTDIR (test_*.py); their verdicts as results,
    one per test (MODULE.CLASS.TEST, without the "test_" of the module), its
    output in LOG. A module that cannot be imported, a failing setUpClass
    and an unexpected success are failures; no test run is one too."""
    import unittest  # pylint: disable=import-outside-toplevel
    w = Writer(prefix)

    def name(test):
        m = re.match(r"^(\w+) \((\S+)\)$", test.id())   # setUpClass (mod.Class)
        tid = f"{m.group(2)}.{m.group(1)}" if m else test.id()
        return re.sub(r"^test_", "", tid.replace("unittest.loader._FailedTest.", ""))

    def first(err):
        return str(err[1]).strip().splitlines()[0][:200] if str(err[1]).strip() else err[0].__name__

    class Result(unittest.TextTestResult):
        def addSuccess(self, test):
            super().addSuccess(test)
            w.add("PASS", name(test))

        def addFailure(self, test, err):
            super().addFailure(test, err)
            w.add("FAIL", name(test), f"{first(err)}; see {log}")

        def addError(self, test, err):
            super().addError(test, err)
            w.add("FAIL", name(test), f"error: {first(err)}; see {log}")

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            w.add("SKIP", name(test), reason)

        def addUnexpectedSuccess(self, test):
            super().addUnexpectedSuccess(test)
            w.add("FAIL", name(test), "an expected failure passed")

    sys.path.insert(0, testdir)
    with open(log, "w", encoding="utf-8") as f:
        suite = unittest.TestLoader().discover(testdir, pattern="test_*.py", top_level_dir=testdir)
        res = unittest.TextTestRunner(stream=f, verbosity=2, resultclass=Result).run(suite)
    if res.testsRun == 0:
        w.add("FAIL", "unittest", f"no test ran; see {log}")
    return w.text()


def summary(results_dir, logs_dir, base, elapsed=""):
    """The summary of a command: counts per file, each failure, how to replay
    a failed guest case, and as its last line "N passed, N failed, N skipped"."""
    files = sorted(os.path.join(results_dir, f) for f in os.listdir(results_dir)
                   if f.endswith(".txt")) if os.path.isdir(results_dir) else []
    out = ["", f"==> summary{' after ' + elapsed if elapsed else ''} (base {base}; "
               f"results in {results_dir}, logs in {logs_dir})"]
    every = []
    for f in files:
        rs = read(f)
        every += rs
        c = counts(rs)
        out.append(f"    {os.path.basename(f)[:-4]:<22} {c['PASS']:4d} passed, {c['FAIL']:3d} failed,"
                   f" {c['SKIP']:3d} skipped, {c['NA']:3d} not applicable")
    c = counts(every)
    if c["FAIL"]:
        out.append("Failures:")
        out += [f"    {format_line(*r)}" for r in every if r.verdict == "FAIL"]
        plan = wbplan.load(os.environ.get("WB_PLAN", wbplan.CONF))
        rep = sorted({cmd for f in files for cmd in replays(f, plan, os.environ.get("SEED", ""))})
        if rep:
            out.append("To replay a failed case:")
            out += [f"    {cmd}" for cmd in rep]
    if c["NA"]:
        out.append(f"{c['NA']} not applicable (checks that had nothing to test; not counted)")
    out.append(brief(every))
    return "\n".join(out), c["FAIL"] == 0


def passes(path):
    """make repeat: how often each case passed, failed, was skipped."""
    per = collections.Counter()
    for r in read(path):
        m = CASE_RE.match(r.name.split(":", 1)[-1])
        if m and m.group(2) != "finished":
            per[(f"{m.group(1)}.{m.group(2)}", r.verdict)] += 1
    return "".join(f"    {case:<60} {v} {n}\n" for (case, v), n in sorted(per.items()))


def main(argv):
    cmd, args = (argv[0], argv[1:]) if argv else ("", [])
    if cmd == "add" and args[1:] == ["-"]:
        add_lines(args[0], sys.stdin)
    elif cmd == "add" and len(args) >= 3:
        with open(args[0], "a", encoding="utf-8") as f:
            f.write(format_line(args[1], args[2], " ".join(args[3:])) + "\n")
    elif cmd == "brief" and args:
        rs = read(*args)
        print(f"    {brief(rs)}")
        for r in rs:
            if r.verdict == "FAIL":
                print(f"    {format_line(*r)}")
        return 1 if counts(rs)["FAIL"] else 0
    elif cmd == "failed" and args:
        return 0 if counts(read(*args))["FAIL"] else 1
    elif cmd == "expect" and len(args) >= 3:
        sys.stdout.write(expect(args[0], args[1], args[2:]))
    elif cmd == "unittest" and len(args) == 3:
        sys.stdout.write(run_unittests(*args))
    elif cmd == "summary" and len(args) <= 1:
        text, ok = summary(os.environ["RESULTS"], os.environ["LOGS"],
                           f"{os.environ.get('BASE_PACKAGE', '?')} {os.environ.get('BASE_USED_VERSION', '?')}",
                           args[0] if args else "")
        print(text)
        return 0 if ok else 1
    elif cmd == "passes" and len(args) == 1:
        sys.stdout.write(passes(args[0]))
    elif cmd == "export" and len(args) >= 2 and args[0] in ("ktap", "json"):
        rs = read(*args[1:])
        sys.stdout.write(to_ktap(rs) if args[0] == "ktap" else to_json(rs))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
