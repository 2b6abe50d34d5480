#!/usr/bin/env python3
"""What the guests print, and how to read it: the one module that knows.

Every pattern of a line a test machine prints lives here, so that a change
of what a guest says is made in one place (and tested in
tests/test_protocol.py), and the checks (parse.py, three_level_parse.py,
demo.py, bench.py, run.sh) only say what the lines mean:
- the kernel/console split: a kernel message on the console ("[ SECONDS]
  TEXT"), the copies /init makes of the kernel log ("kmsg: [SECONDS]
  TEXT"), and a kernel message the console put in the middle of a line of
  user space's (the line's two halves are joined again);
- what counts as a kernel splat, and the SMMU's probe line;
- /init's own lines ("wb: ..."), and the kselftest harness's "#  RUN"
  lines and the seed a program prints;
- TAP and KTAP (kselftest's and KUnit's): a small parser of its own, with
  nested subtests by indentation, "# Subtest:", plans, directives;
- the three-level machine: L1's "l1: ..." lines, each L2 console as
  "L2[RUN]| ...", L2's "l2: ..." lines, their key=value fields, and L1's
  console rebuilt from L0's pl011_write trace.

As a command:
  protocol.py progress LOG   "PROGRAM RESULTS" of a boot still running:
                             the program /init runs ("-" before the first)
                             and the TAP result lines so far (run.sh)
  protocol.py wb KIND LOG    /init's lines of one KIND (init, edu, iommu,
                             run, end, lost, kmemleak, error, gcov, seed,
                             done), without "wb: "; exit 1 if none
"""
import collections
import re
import sys

# --- Kernel lines ------------------------------------------------------------

# A kernel message's timestamp, as the console and /init print it
STAMP = r"\[\s*(\d+\.\d+)\] ?"
STAMP_RE = re.compile(STAMP)
# A kernel line, on the console or copied by /init: its timestamp
LEADING_STAMP_RE = re.compile(r"^(?:kmsg: )?\[\s*\d+\.\d+\]\s?")
# A kernel record /init copied from /dev/kmsg
KMSG_RE = re.compile(r"^kmsg: " + STAMP + r"(.*)$")
KMSG_QUOTE = re.compile(r"kmsg: ")

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
# The SMMUv3 driver's probe line, and its count of events (faults) received
SMMU_PROBE_RE = re.compile(r"arm-smmu-v3 (\S+): ias (\d+)-bit, oas (\d+)-bit "
                           r"\(features (0x[0-9a-f]+)\)")
SMMU_EVENT_RE = re.compile(r"event 0x\w\w received")
VFIO_GROUP_RE = re.compile(r"vfio-pci \S+: Adding to iommu group")

# The SMMUv3 feature bits of the probe line's "features" (ARM_SMMU_FEAT_* of
# drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h, which parse.py reads to
# cross-check this table when it has the tree).
SMMU_FEATURES = {
    "2_LVL_STRTAB": 0, "2_LVL_CDTAB": 1, "PRI": 4, "ATS": 5, "MSI": 7,
    "COHERENCY": 8, "TRANS_S1": 9, "TRANS_S2": 10, "RANGE_INV": 15,
    "NESTING": 19, "S2FWB": 23,
}
FEATURE_DEFINE_RE = re.compile(r"#define ARM_SMMU_FEAT_(\w+)\s+\(1 << (\d+)\)")

Entry = collections.namedtuple("Entry", "kind ts text")
# A line of a console: RAW, a kernel message's as printed (its stamp too)
ConsoleLine = collections.namedtuple("ConsoleLine", "kind ts text raw")
Probe = collections.namedtuple("Probe", "device ias oas features")


def is_splat(text):
    return bool(SPLAT_RE.search(text))


def strip_stamp(line):
    """A line without the timestamp of a kernel line (for readers that care
    only about the text, kernel's or not)."""
    return LEADING_STAMP_RE.sub("", line.rstrip("\r\n"))


def feature_bits(header=None):
    """Each SMMUv3 feature's bit: this module's table, or the header's."""
    if header is None:
        return {k: 1 << v for k, v in SMMU_FEATURES.items()}
    bits = {}
    with open(header, encoding="utf-8") as f:
        for line in f:
            m = FEATURE_DEFINE_RE.match(line)
            if m:
                bits[m.group(1)] = 1 << int(m.group(2))
    return bits


def smmu_probes(kernel):
    """Each SMMUv3 probe line of kernel messages, as a Probe."""
    return [Probe(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4), 16))
            for m in map(SMMU_PROBE_RE.search, kernel) if m]


def _clean(line):
    return line.rstrip("\r\n").replace("\r", "")


def _quoted_end(line, quoting):
    """Where a line may first hold a glued kernel message: after what the
    QUOTING regex matches at its start (a line that quotes a kernel line by
    design: "kmsg: [ 5.1] ...", "l2: klog [ 5.1] ...") and the stamp right
    after that."""
    m = quoting.match(line) if quoting else None
    if not m:
        return 0
    s = STAMP_RE.match(line, m.end())
    return s.end() if s else m.end()


def console(lines, quoting=None):
    """A serial console as ConsoleLine("c", SECONDS, TEXT, RAW) for each
    kernel message and ConsoleLine("u", None, TEXT, TEXT) for each line of
    user space's, in order.

    The console prints a kernel message whole, wherever user space's line
    is: a message in the middle of a user line cuts it in two, the second
    half on the line after the message. The halves are joined again (the
    user line comes after the message). A line that quotes a kernel line
    by design (QUOTING, a regex, matches its start) is split only after the
    quote's own stamp."""
    cut = ""
    for raw in lines:
        line = _clean(raw)
        m = STAMP_RE.search(line, _quoted_end(line, quoting))
        if not m:
            yield ConsoleLine("u", None, cut + line, cut + line)
            cut = ""
            continue
        cut += line[:m.start()]
        yield ConsoleLine("c", float(m.group(1)), line[m.end():], line[m.start():])
    if cut:
        yield ConsoleLine("u", None, cut, cut)


def split_log(raw):
    """A test machine's log as Entry("k", SECONDS, TEXT) for each kernel
    message and Entry("u", None, TEXT) for each line of user space's (/init,
    the programs), in order.

    Kernel messages are the "kmsg:" lines /init copied (from the kernel
    log's first record on), and the console's own kernel lines that no
    "kmsg:" line holds: those later than the last copied record (/init could
    not copy any more: a panic, a hang), or all of them if nothing was
    copied. A console message in the middle of a "kmsg:" line (it happens:
    tests/data/logs/glued-kmsg.log) is split out of it too."""
    entries = []
    last_kmsg = None
    for c in console(raw, KMSG_QUOTE):
        m = KMSG_RE.match(c.text) if c.kind == "u" else None
        e = Entry(c.kind, c.ts, c.text)
        if m:
            e = Entry("k", float(m.group(1)), m.group(2))
            last_kmsg = e.ts if last_kmsg is None else max(last_kmsg, e.ts)
        entries.append(e)
    return [Entry("k", e.ts, e.text) if e.kind == "c" else e for e in entries
            if e.kind != "c" or last_kmsg is None or e.ts > last_kmsg]


# --- /init's lines -------------------------------------------------------------

# "wb: KIND ...": what /init says (guest/init.c), by kind; group 1... are
# the line's fields.
WB = {
    "init": re.compile(r"^wb: init up"),
    "edu": re.compile(r"^wb: edu (\S+) bound to vfio-pci \((\S+)\)"),
    "iommu": re.compile(r"^wb: (\d+) edu device\(s\); /dev/iommu present"),
    "run": re.compile(r"^wb: run (\S+)"),
    "end": re.compile(r"^wb: end (\S+) (\w+)=(-?\w+)"),
    "lost": re.compile(r"^wb: kmsg: (\d+) record\(s\) lost"),
    "kmemleak": re.compile(r"^wb: kmemleak: (\d+) unreferenced"),
    "error": re.compile(r"^wb: error(?::\s*(\w+))?"),
    "gcov": re.compile(r"^wb: gcov: "),
    "seed": re.compile(r"^wb: seed (\S+)"),
    "done": re.compile(r"^wb: done$"),
}
# The kselftest harness's line as a case starts, and a case's story (demo)
CASE_RE = re.compile(r"^#\s+RUN\s+(\S+)")
STORY_RE = re.compile(r"^# story: (.*)")
# How a program prints the random seed it used (plan.conf may give another)
SEED_LINE = r"^# seed: (0x[0-9a-fA-F]+)"

Wb = collections.namedtuple("Wb", "kind fields text")


def wb(line):
    """/init's line as Wb(KIND, FIELDS, TEXT after "wb: "), or None."""
    if not line.startswith("wb: "):
        return None
    for kind, rx in WB.items():
        m = rx.match(line)
        if m:
            return Wb(kind, m.groups(), line[4:])
    return Wb("other", (), line[4:])


def wb_lines(lines, kind):
    """Every /init line of one kind."""
    return [w for w in map(wb, lines) if w and w.kind == kind]


def end_value(val):
    """A "wb: end" line's value: rc and signal numbers as ints."""
    return int(val) if re.match(r"-?\d+$", val) else val


def case_started(text):
    """The kselftest harness case a "#  RUN" line starts, or None."""
    m = CASE_RE.match(text)
    return m.group(1) if m else None


def story(text):
    m = STORY_RE.match(text)
    return m.group(1) if m else None


def seed(text, rx=None):
    """The seed a program's line says it used, or None."""
    m = re.search(rx or SEED_LINE, text)
    return m.group(1) if m else None


# --- TAP and KTAP --------------------------------------------------------------

VERSION_RE = re.compile(r"^(K?TAP) version (\d+)$")
SUBTEST_RE = re.compile(r"^# Subtest: (.*)$")
PLAN_RE = re.compile(r"^1\.\.(\d+)(?:\s+#\s*(SKIP\b)?\s*(.*))?$")
RESULT_RE = re.compile(r"^(not ok|ok) (\d+)(?:$| (?:- )?(.*?)"
                       r"(?:\s+#\s*(SKIP|TODO|XFAIL)\b\s*(.*))?$)")
INDENT = 4

TapLine = collections.namedtuple("TapLine", "kind depth text match")


def tap_line(line):
    """One line of TAP or KTAP: TapLine(KIND, DEPTH, TEXT, MATCH), KIND one
    of version, subtest, plan, result, diag; DEPTH its nesting (four spaces
    a level); TEXT without the indentation."""
    text = line.rstrip()
    body = text.lstrip(" ")
    depth = (len(text) - len(body)) // INDENT
    for kind, rx in (("version", VERSION_RE), ("subtest", SUBTEST_RE),
                     ("plan", PLAN_RE), ("result", RESULT_RE)):
        m = rx.match(body)
        if m:
            return TapLine(kind, depth, body, m)
    return TapLine("diag", depth, body, None)


class Test:
    """One test of a TAP report: a case, or a suite (its subtests). ok is
    None until its result line; errors are what its report got wrong."""

    def __init__(self, name="", depth=0):
        self.name = name
        self.depth = depth
        self.number = None
        self.ok = None
        self.directive = None
        self.reason = ""
        self.plan = None
        self.plan_skip = None
        self.subtests = []
        self.log = []
        self.errors = []

    @property
    def status(self):
        """success, failure, skipped, or crashed: no result line."""
        if self.ok is None:
            return "crashed"
        if self.directive == "SKIP":
            return "skipped"
        return "success" if self.ok else "failure"

    def fresh(self):
        """Opened (by a version line) but nothing said of it yet."""
        return not (self.name or self.plan is not None or self.subtests)

    def walk(self):
        yield self
        for t in self.subtests:
            yield from t.walk()

    def error_count(self):
        return sum(len(t.errors) for t in self.walk())


class TapParser:
    """TAP or KTAP, a line at a time (a boot is read as it goes: parse.py
    names a splat after the case that runs). Nesting is by indentation:
    the lines of a test's subtests are one level deeper than its own
    result line; "KTAP version" and "# Subtest: NAME" open a nested test,
    its result line closes it. feed() returns the line's TapLine."""

    def __init__(self):
        self.root = Test("main", 0)
        self.stack = [self.root]

    def feed(self, line):
        ln = tap_line(line)
        handler = getattr(self, "_" + ln.kind)
        handler(ln)
        return ln

    def _open(self, depth):
        """The test whose lines are at DEPTH, opened if need be."""
        while len(self.stack) > depth + 1:
            self._close_crashed()
        while len(self.stack) <= depth:
            self.stack.append(Test(depth=len(self.stack)))
        return self.stack[depth]

    def _close_crashed(self):
        t = self.stack.pop()
        t.errors.append(f"no result line for {t.name or 'a subtest'}")
        self._attach(t)

    def _attach(self, t):
        parent = self.stack[-1]
        parent.subtests.append(t)
        want = len(parent.subtests)
        if t.number is not None and t.number != want:
            t.errors.append(f"test number {t.number}, expected {want}")

    def _version(self, ln):
        if ln.depth == 0:
            return
        if len(self.stack) > ln.depth and not self.stack[ln.depth].fresh():
            self._open(ln.depth - 1)
        self._open(ln.depth)

    def _subtest(self, ln):
        if ln.depth == 0:
            self._diag(ln)
            return
        if len(self.stack) > ln.depth and not self.stack[ln.depth].fresh():
            self._open(ln.depth - 1)
        self._open(ln.depth).name = ln.match.group(1)

    def _plan(self, ln):
        t = self._open(ln.depth) if len(self.stack) <= ln.depth else self.stack[ln.depth]
        if t.plan is None:
            t.plan = int(ln.match.group(1))
            t.plan_skip = ln.match.group(3) if ln.match.group(2) else None
        else:
            t.errors.append(f"a second plan: {ln.text}")

    def _result(self, ln):
        if len(self.stack) > ln.depth + 1:
            self._open(ln.depth + 1)
            t = self.stack.pop()
        else:
            self._open(ln.depth)
            t = Test(depth=ln.depth + 1)
        m = ln.match
        name = (m.group(3) or "").strip()
        if t.name and name and name != t.name:
            t.errors.append(f"result '{name}' closes subtest '{t.name}'")
        t.name = t.name or name
        t.ok = m.group(1) == "ok"
        t.number = int(m.group(2))
        t.directive, t.reason = m.group(4), (m.group(5) or "").strip()
        self._attach(t)

    def _diag(self, ln):
        self.stack[-1].log.append(ln.text)

    def planned(self):
        """The top level's plan is fulfilled and no subtest is open."""
        r = self.root
        return len(self.stack) == 1 and r.plan is not None and len(r.subtests) >= r.plan

    def finish(self):
        """The report as a tree (its root: the top level); every test
        still open has no result line, every plan is checked."""
        while len(self.stack) > 1:
            self._close_crashed()
        for t in self.root.walk():
            if t.plan is not None and len(t.subtests) != t.plan:
                t.errors.append(f"{len(t.subtests)} of {t.plan} planned subtests")
        return self.root


def passed_subtests(lines):
    """The names of the nested tests (KUnit's cases) that passed, wherever
    their result lines are."""
    out = set()
    for ln in map(tap_line, lines):
        if ln.kind == "result" and ln.depth >= 1 and ln.match.group(1) == "ok" \
                and ln.match.group(4) != "SKIP" and ln.match.group(3):
            out.add(ln.match.group(3).split()[0])
    return out


def ktap(lines):
    """KUnit's report in kernel messages: the tree of the first KTAP (or
    TAP) report, from its version line to its plan's last result (other
    kernel messages in between are diagnostics); None if there is none."""
    parser = None
    indent = 0
    for line in lines:
        if parser is None:
            ln = tap_line(line)
            if ln.kind != "version":
                continue
            indent = len(line) - len(line.lstrip(" "))
            parser = TapParser()
            continue
        if line[:indent].strip() == "":
            line = line[indent:]
        ln = tap_line(line)
        if ln.kind == "version" and ln.depth == 0:
            break
        parser.feed(line)
        if parser.planned():
            break
    return parser.finish() if parser else None


# --- The three-level machine ---------------------------------------------------

L2_RE = re.compile(r"^L2\[([^\]]+)\]\| ?(.*)$")
KV_RE = re.compile(r"(\w[\w.-]*)=(\S*)")
# On L0's console, an L2 line quotes L2's console, kernel lines and all
# (split on L2's side); L2 lines that quote L2's kernel log by design
L2_QUOTE = re.compile(r"L2\[[^\]]+\]\|.*")
L2_KLOG_QUOTE = re.compile(r"l2: (?:klog|edu kernel-says) ")
# The L1 console lines (rebuilt from L0's pl011_write trace) that open and
# close the trace's windows: "l1: run name=R", "l1: run-end name=R",
# "l1: teardown-dma run=R start|end".
MARKS = [
    (re.compile(r"^l1: run name=(\S+)"), "run:{}", True),
    (re.compile(r"^l1: run-end name=(\S+)"), "run:{}", False),
    # one VM of a run, from its start until L1 saw QEMU exit
    (re.compile(r"^l1: vm name=(\S+) start"), "vm:{}", True),
    (re.compile(r"^l1: qemu run=(\S+) rc="), "vm:{}", False),
    # the two run: its first VM alone (until the second starts), the
    # second alone (after the first has exited)
    (re.compile(r"^l1: vm name=(two)-a start"), "alone:{}-a", True),
    (re.compile(r"^l1: vm name=(two)-b start"), "alone:{}-a", False),
    (re.compile(r"^l1: vm-end name=(two)-a"), "alone:{}-b", True),
    (re.compile(r"^l1: vm-end name=(two)-b"), "alone:{}-b", False),
    # the life run's stretches: each boot, the NVMe unplugged, plugged back
    (re.compile(r"^l1: vm name=(life)\S* start"), "{}:boot0", True),
    (re.compile(r"^l1: (life) op=guest-reboot"), "{}:boot0", False),
    (re.compile(r"^l1: (life) op=guest-reboot"), "{}:boot1", True),
    (re.compile(r"^l1: (life) op=system_reset"), "{}:boot1", False),
    (re.compile(r"^l1: (life) op=system_reset"), "{}:boot2", True),
    (re.compile(r"^l1: (life) op=device_del"), "{}:boot2", False),
    (re.compile(r"^l1: (life) unplugged "), "{}:unplugged", True),
    (re.compile(r"^l1: (life) op=device_add"), "{}:unplugged", False),
    (re.compile(r"^l1: (life) op=device_add"), "{}:replugged", True),
    (re.compile(r"^l1: qemu run=(life)\S* rc="), "{}:boot1", False),
    (re.compile(r"^l1: qemu run=(life)\S* rc="), "{}:boot2", False),
    (re.compile(r"^l1: qemu run=(life)\S* rc="), "{}:replugged", False),
    # the crash run after QEMU was killed
    (re.compile(r"^l1: (crash) killed"), "after-kill:{}", True),
    (re.compile(r"^l1: run-end name=(crash)"), "after-kill:{}", False),
    (re.compile(r"^l1: teardown-dma run=(\S+) start"), "teardown:{}", True),
    (re.compile(r"^l1: teardown-dma run=(\S+) end"), "teardown:{}", False),
]
PL011_DR_RE = re.compile(r"value 0x([0-9a-f]+) reg DR$")


def kv(line):
    """The key=value fields of a line."""
    return dict(KV_RE.findall(line))


def l1_marks(text):
    """[(WINDOW, OPENS)...] for an L1 console line that marks windows of
    L0's trace (one line may open or close several), or []."""
    out = []
    for rx, name, opens in MARKS:
        m = rx.match(text)
        if m:
            out.append((name.format(m.group(1)), opens))
    return out


class Pl011:
    """L1's console rebuilt from L0's pl011_write trace, a byte at a time."""

    def __init__(self):
        self.chars = []

    def write(self, rest):
        """One pl011_write event's text: the line it ends, or None."""
        m = PL011_DR_RE.search(rest)
        if not m:
            return None
        c = int(m.group(1), 16) & 0xff
        if c != 10:
            if 32 <= c < 127:
                self.chars.append(chr(c))
            return None
        line, self.chars = "".join(self.chars), []
        return line


class ThreeLevelLog:
    """L0's serial log of the three-level machine: L1's kernel log and
    other console lines (kernel, with their stamps), L1's "l1: ..." lines
    (l1, without "l1: "), and each L2 run's console (l2[RUN]: its lines,
    kernel messages split out of them). direct: L2 booted by L0 itself, its
    console the whole log."""

    def __init__(self, path, direct=False):
        self.l1 = []
        self.kernel = []
        self.l2 = collections.defaultdict(list)
        l2raw = collections.defaultdict(list)
        with open(path, errors="replace") as f:
            raw = list(f)
        if direct:
            l2raw["direct"] = raw
            raw = []
        for e in console(raw, L2_QUOTE):
            m = L2_RE.match(e.text) if e.kind == "u" else None
            if e.kind == "c":
                self.kernel.append(e.raw)
            elif m:
                l2raw[m.group(1)].append(m.group(2))
            elif e.text.startswith("l1: "):
                self.l1.append(e.text[4:])
            else:
                self.kernel.append(e.text)
        for run, lines in l2raw.items():
            self.l2[run] = [self._l2_text(e.text) for e in console(lines, L2_KLOG_QUOTE)
                            if e.kind == "u"]

    @staticmethod
    def _l2_text(text):
        # UEFI's screen escapes may precede /init's first line
        at = text.find("l2: ")
        return text[at:] if at > 0 else text

    def l1_lines(self, word, **match):
        """(LINE, FIELDS) of each "l1: WORD ..." line whose fields match."""
        out = []
        for line in self.l1:
            if not line.startswith(word + " "):
                continue
            d = kv(line)
            if all(d.get(k) == v for k, v in match.items()):
                out.append((line, d))
        return out

    def l2_lines(self, run, word):
        """(LINE, FIELDS) of each "l2: WORD ..." line of a run."""
        pre = "l2: " + word + " "
        return [(ln, kv(ln)) for ln in self.l2.get(run, []) if ln.startswith(pre)]

    def l2_klog(self, run):
        """The kernel lines L2's /init quoted ("l2: klog ...")."""
        return [ln for ln in self.l2.get(run, []) if ln.startswith("l2: klog")]


# --- Command -------------------------------------------------------------------

def progress(path):
    """"PROGRAM RESULTS": what /init runs now and the TAP results so far."""
    running, results = "-", 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for e in split_log(f):
            if e.kind != "u":
                continue
            w = wb(e.text)
            ln = tap_line(e.text)
            if w and w.kind == "run":
                running = w.fields[0]
            elif ln.kind == "result" and ln.depth == 0:
                results += 1
    return f"{running} {results}"


def main(argv):
    if len(argv) == 2 and argv[0] == "progress":
        try:
            print(progress(argv[1]))
        except FileNotFoundError:
            print("- 0")
        return 0
    if len(argv) == 3 and argv[0] == "wb" and argv[1] in WB:
        with open(argv[2], encoding="utf-8", errors="replace") as f:
            found = wb_lines((e.text for e in split_log(f) if e.kind == "u"), argv[1])
        for w in found:
            print(w.text)
        return 0 if found else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
