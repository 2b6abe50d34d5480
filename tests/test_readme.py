#!/usr/bin/env python3
"""README.md's claims that can be checked mechanically: it stays short, and
every make target, repository path, docs/ link, build/ output path and knob
it names exists. check_readme() returns the problems of a README text; the
tests feed it the real README and deliberately wrong ones (each check must
be able to fail)."""
import glob
import os
import re
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_LINES = 200

# Placeholders the README writes in capitals: guest/NAME.c, build/out/VARIANT
PLACEHOLDER_RE = re.compile(r"\b[A-Z]{2,}\b")
REPO_PATH_RE = re.compile(r"(?<![\w./~$-])((?:scripts|configs|guest|tests|docs)/[\w./*-]*)")
BUILD_PATH_RE = re.compile(r"(?<![\w./~$-])(build/[\w./*-]*)")
DOC_LINK_RE = re.compile(r"\]\(([^)#\s]+)\)")
MAKE_RE = re.compile(r"\bmake ([a-z][a-z0-9-]*)")
KNOB_RE = re.compile(r"`([A-Z][A-Z0-9_]+)=")


def read(path):
    with open(os.path.join(TOP, path), encoding="utf-8") as f:
        return f.read()


def make_targets(makefile):
    """The targets a Makefile's rules define (not variables, not .PHONY)."""
    out = set()
    for line in makefile.splitlines():
        m = re.match(r"^([A-Za-z0-9_.-][A-Za-z0-9_. -]*?)\s*:(?![=:])", line)
        if m and not line.startswith((".", "\t")):
            out.update(m.group(1).split())
    return out


def scripts_text(top=TOP):
    """What the scripts and the Makefile say: where build/ paths must appear."""
    parts = [read("Makefile")]
    for path in sorted(glob.glob(os.path.join(top, "scripts", "*"))):
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                parts.append(f.read())
    return "\n".join(parts)


def code(text):
    """The README's code: `spans` and indented code-block lines."""
    spans = re.findall(r"`([^`\n]+)`", text)
    blocks = [ln for ln in text.splitlines() if ln.startswith("    ")]
    return spans + blocks


def clean(path):
    return path.rstrip(".,:;")


def repo_path_exists(path, top=TOP):
    """A repository path exists; with a placeholder (guest/NAME.c), the
    directory it is in does; with a glob, at least one file matches."""
    if PLACEHOLDER_RE.search(path):
        path = path[:path.rfind("/", 0, PLACEHOLDER_RE.search(path).start()) + 1]
    if "*" in path:
        return bool(glob.glob(os.path.join(top, path)))
    return os.path.exists(os.path.join(top, path))


def build_path_known(path, corpus, targets):
    """A build/ output path appears in the scripts: as written, as $BUILD/...,
    or, under build/runs/COMMAND (COMMAND a make target or the placeholder),
    as $RUNDIR/..., $LOGS/..., $RESULTS/... or build/runs/COMMAND/..."""
    path = path.rstrip("/")
    forms = {path, "$BUILD" + path[len("build"):]}
    m = re.match(r"^build/runs/([^/]+)(/.*)?$", path)
    if m and (m.group(1) == "COMMAND" or m.group(1) in targets):
        rest = m.group(2) or ""
        forms |= {"build/runs/COMMAND" + rest, "$RUNDIR" + rest}
        for sub, var in (("/logs", "$LOGS"), ("/results", "$RESULTS")):
            if rest.startswith(sub):
                forms.add(var + rest[len(sub):])
    return any(f in corpus for f in forms)


def section(text, title):
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    return m.group(1) if m else ""


def check_readme(text, top=TOP, targets=None, corpus=None, measured=None):
    """Every mechanically checkable claim of a README text; the problems found."""
    targets = make_targets(read("Makefile")) if targets is None else targets
    corpus = scripts_text(top) if corpus is None else corpus
    measured = read("docs/measured.md") if measured is None else measured
    problems = []
    n = len(text.splitlines())
    if n > MAX_LINES:
        problems.append(f"{n} lines, more than {MAX_LINES}")
    snippets = code(text)
    for s in snippets:
        for t in MAKE_RE.findall(s):
            if t not in targets:
                problems.append(f"make {t}: no such target in the Makefile")
    for p in {clean(p) for p in REPO_PATH_RE.findall(text)}:
        if not repo_path_exists(p, top):
            problems.append(f"{p}: no such file or directory")
    for link in DOC_LINK_RE.findall(text):
        if not link.startswith(("http:", "https:")) and not os.path.exists(os.path.join(top, link)):
            problems.append(f"link {link}: no such file")
    for p in {clean(p) for s in snippets for p in BUILD_PATH_RE.findall(s)}:
        if not build_path_known(p, corpus, targets):
            problems.append(f"{p}: no script names this output path")
    for knob in KNOB_RE.findall(section(text, "Knobs")):
        if not re.search(rf"\b{knob}\b", corpus):
            problems.append(f"{knob}=: no script or Makefile reads it")
    for fig in re.findall(r"\b\d+m\d+s\b|\b\d+ passed\b|\b\d+ failed\b", section(text, "Measured")):
        if fig not in measured:
            problems.append(f"measured figure '{fig}' is not in docs/measured.md")
    return sorted(set(problems))


class ReadmeTest(unittest.TestCase):
    def test_readme_claims_hold(self):
        self.assertEqual(check_readme(read("README.md")), [])

    def test_readme_names_what_a_newcomer_needs(self):
        text = read("README.md")
        for t in ("make test-workbench", "make demo", "make check", "configs/plan.conf",
                  "build/runs/COMMAND", "## Glossary", "## Knobs", "docs/measured.md"):
            self.assertIn(t, text)

    # Each docs/*.md is linked from the README or from a doc it links
    # (no docstrings on tests: results.py reads unittest -v's one-line form)
    def test_every_docs_file_is_reachable(self):
        linked = {os.path.normpath(link) for link in DOC_LINK_RE.findall(read("README.md"))}
        for doc in sorted(linked):
            if doc.startswith("docs/") and doc.endswith(".md") and os.path.exists(os.path.join(TOP, doc)):
                linked |= {os.path.normpath(os.path.join("docs", link))
                           for link in DOC_LINK_RE.findall(read(doc))}
        for path in glob.glob(os.path.join(TOP, "docs", "*.md")):
            self.assertIn(os.path.relpath(path, TOP), linked)


class CheckerFailsTest(unittest.TestCase):
    """The same checking function, fed a deliberately wrong README."""
    TARGETS = {"demo", "check", "bench"}
    CORPUS = 'out=$BUILD/out/test\nres=$RESULTS/x.txt\nJOBS=${JOBS:-1}\n'

    def problems(self, text, measured="61m18s, 2189 passed, 0 failed"):
        return check_readme(text, targets=self.TARGETS, corpus=self.CORPUS, measured=measured)

    def test_a_good_text_passes(self):
        text = ("Run `make demo` or `make check`; see `scripts/` and [x](docs/measured.md).\n"
                "Kernels in `build/out/test`, results in `build/runs/check/results/x.txt`.\n"
                "## Knobs\n- `JOBS=N`: jobs\n## Measured\n61m18s: 2189 passed, 0 failed.\n")
        self.assertEqual(self.problems(text), [])

    def test_too_long(self):
        self.assertEqual(self.problems("line\n" * (MAX_LINES + 1)),
                         [f"{MAX_LINES + 1} lines, more than {MAX_LINES}"])

    # A text, and each problem the checker must find in it
    BROKEN = [
        ("    make l3   # three levels\n", ["make l3: no such target in the Makefile"]),
        ("See `tests/plan.conf` and `guest/NAME.c`.\n",
         ["tests/plan.conf: no such file or directory"]),
        ("`tests/test_nothing_*.py`\n", ["tests/test_nothing_*.py: no such file or directory"]),
        ("[the old notes](docs/lab-notebook.md)\n",
         ["docs/lab-notebook.md: no such file or directory",
          "link docs/lab-notebook.md: no such file"]),
        ("Figures in `build/bench/bench.txt`.\n",
         ["build/bench/bench.txt: no script names this output path"]),
        # build/runs/NAME holds for a make target only
        ("`build/runs/nosuch/results/x.txt`\n",
         ["build/runs/nosuch/results/x.txt: no script names this output path"]),
        ("## Knobs\n- `FAST=1`: go faster\n", ["FAST=: no script or Makefile reads it"]),
        ("## Measured\n59m59s: 2189 passed, 0 failed.\n",
         ["measured figure '59m59s' is not in docs/measured.md"]),
    ]

    def test_each_problem_found(self):
        for text, want in self.BROKEN:
            with self.subTest(text=text):
                self.assertEqual(self.problems(text), want)


if __name__ == "__main__":
    unittest.main()
