#!/usr/bin/env python3
"""Tests of scripts/debian.py, the workbench's one client of Debian's
archive, on a fake private apt directory (lists written here, .debs built
here, apt-get never run: no network).

Run: python3 -m unittest discover -s tests -p 'test_*.py'
"""
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(TOP, "scripts", "debian.py")
sys.path.insert(0, os.path.join(TOP, "scripts"))
import debian  # noqa: E402  pylint: disable=wrong-import-position

LISTS = "state/lists/deb.debian.org_debian%s_dists_%s_main_binary-%s_Packages"


def record(pkg, version, arch="arm64", sha="0" * 64, depends=None):
    text = "Package: %s\nVersion: %s\nArchitecture: %s\n" % (pkg, version, arch)
    if depends:
        text += "Depends: %s\n" % depends
    return text + ("Description: a test\n multi-line\nFilename: pool/%s.deb\nSHA256: %s\n"
                   % (pkg, sha))


def fake_apt(top, suites, lists, arch="arm64", fresh=True):
    """An Apt under TOP whose Packages indexes are LISTS ({suite: [record
    text]}) and whose stamp is fresh (or a week old)."""
    apt = debian.Apt(top, debian.suites_of(suites), arch, mirror="http://deb.debian.org",
                     label=suites)
    for suite, recs in lists.items():
        sec = "-security" if suite.endswith("-security") else ""
        with open(os.path.join(top, LISTS % (sec, suite, arch)), "w", encoding="utf-8") as f:
            f.write("\n".join(recs))
    with open(apt.stamp, "w", encoding="utf-8") as f:
        f.write(apt.sources)
    if not fresh:
        week = time.time() - 7 * debian.DAY
        os.utime(apt.stamp, (week, week))
    return apt


def build_deb(dest, pkg, version, arch="arm64"):
    """A real .deb, named as apt-get download names it; its sha256."""
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "DEBIAN"))
        with open(os.path.join(d, "DEBIAN/control"), "w", encoding="utf-8") as f:
            f.write("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: t <t@t>\n"
                    "Description: test\n" % (pkg, version, arch))
        path = os.path.join(dest, debian.deb_name(pkg, version, arch))
        subprocess.run(["dpkg-deb", "--root-owner-group", "--build", d, path],
                       check=True, capture_output=True)
    return path, debian.sha256(path)


class VersionTest(unittest.TestCase):
    """vercmp is dpkg's order."""

    VERSIONS = ["1.0", "1.0-1", "1.0~rc1", "1:0.9", "1.0+b1", "1.0-1+b1", "1.0-1~bpo12+1",
                "6.12.118-1~deb12u1", "6.12.118-1", "6.12.118-1~deb12u2", "6.12.9-1",
                "2.43-7", "2.43-10", "1.0a", "1.0.a", "1.0-1.1", "0", "1:1.38.0-3+b1",
                "1:11.1.3+ds-1", "7.2+ds-1", "1.0~~", "1.0~~a", "1.0~"]

    def test_as_dpkg(self):
        for a in self.VERSIONS:
            for b in self.VERSIONS:
                gt = subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0
                eq = subprocess.run(["dpkg", "--compare-versions", a, "eq", b]).returncode == 0
                want = 1 if gt else 0 if eq else -1
                self.assertEqual(debian.vercmp(a, b), want, (a, b))


class SourcesTest(unittest.TestCase):
    def test_suites(self):
        text = debian.sources(debian.suites_of("bookworm+unstable"), "http://m")
        self.assertEqual([line.split()[2:4] for line in text.splitlines()], [
            ["http://m/debian", "bookworm"], ["http://m/debian", "bookworm-updates"],
            ["http://m/debian-security", "bookworm-security"],
            ["http://m/debian", "bookworm-backports"], ["http://m/debian", "unstable"]])
        # the three-level machine's own suites
        self.assertEqual(debian.sources(["unstable", "trixie-security"], "http://m").split("\n")[1],
                         "deb [signed-by=%s] http://m/debian-security trixie-security main"
                         % debian.KEYRING)
        self.assertTrue(all(line.startswith("deb [signed-by=%s] " % debian.KEYRING)
                            and line.endswith(" main") for line in text.splitlines()))
        with self.assertRaisesRegex(debian.AptError, "DEBPKG_SUITE=sid: bookworm, trixie"):
            debian.suites_of("sid")


class AptTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.top = os.path.join(self.dir, "apt-arm64-bookworm+trixie")
        self.apt = fake_apt(self.top, "bookworm+trixie", {
            "bookworm": [record("linux-source-6.12", "6.12.9-1~bpo12+1"),
                         record("other", "1")],
            "bookworm-security": [record("linux-source-6.12", "6.12.118-1~deb12u1")],
            "trixie": [record("linux-source-6.12", "6.12.118-1"),
                       record("linux-source-6.12", "6.12.118-1", arch="amd64"),
                       record("data", "2", arch="all")],
            "trixie-security": [record("linux-source-6.12", "6.12.118-1")],
        })
        self.downloads = []
        self.apt.apt_get = self.no_apt_get

    def tearDown(self):
        self.tmp.cleanup()

    def no_apt_get(self, *args, cwd=None):
        self.downloads.append(args)
        return False

    def versions(self, apt, name):
        return [(r["Version"], r["Suite"]) for r in apt.served(name)]

    def test_versions_newest_first_in_sources_order(self):
        self.assertEqual(self.versions(self.apt, "linux-source-6.12"), [
            ("6.12.118-1", "trixie"), ("6.12.118-1", "trixie-security"),
            ("6.12.118-1~deb12u1", "bookworm-security"), ("6.12.9-1~bpo12+1", "bookworm")])
        self.assertEqual(self.versions(self.apt, "data"), [("2", "trixie")])
        with self.assertRaisesRegex(debian.AptError, r"none \(arm64\) is not served by "
                                    r"Debian bookworm\+trixie"):
            self.apt.served("none")
        # the whole index, loaded, says the same
        self.assertEqual(self.apt.newest("linux-source-6.12", "arm64")["Version"], "6.12.118-1")
        self.assertEqual(self.apt.names("linux-.*"), ["linux-source-6.12"])
        self.assertEqual(self.versions(self.apt, "linux-source-6.12")[2],
                         ("6.12.118-1~deb12u1", "bookworm-security"))

    def test_fetch_a_deb_already_there(self):
        dest = os.path.join(self.dir, "debs")
        os.makedirs(dest)
        path, sha = build_deb(dest, "pkg", "1:2.0-1")
        apt = fake_apt(self.top, "bookworm+trixie", {"bookworm": [record("pkg", "1:2.0-1", sha=sha)],
                                                     "trixie": [record("pkg", "1.0", sha="1" * 64)]})
        apt.apt_get = self.no_apt_get
        self.assertEqual(apt.fetch("pkg", "1:2.0-1", dest, sha), (path, "1:2.0-1"))
        self.assertEqual(apt.fetch("pkg", "newest", dest), (path, "1:2.0-1"))
        with self.assertRaisesRegex(debian.AptError, "sha256 %s, not the pinned %s" % (sha, "2" * 64)):
            apt.fetch("pkg", "1:2.0-1", dest, "2" * 64)
        self.assertEqual(self.downloads, [])
        # a version gone: the newest, with a warning, whatever the pinned sha256
        with contextlib.redirect_stderr(io.StringIO()) as err:
            self.assertEqual(apt.fetch("pkg", "0.5", dest, "2" * 64), (path, "1:2.0-1"))
        self.assertEqual(err.getvalue(), "WARNING: pkg 0.5 (arm64) is no longer served; "
                                         "using the newest, 1:2.0-1\n")
        # one not there is downloaded (here, apt-get fails)
        with self.assertRaisesRegex(debian.AptError, r"apt-get download pkg:arm64=1.0 failed"):
            apt.fetch("pkg", "1.0", dest)
        self.assertEqual(self.downloads, [("download", "pkg:arm64=1.0")])

    def test_refresh(self):
        # fresh lists of these sources: no update
        self.apt.refresh()
        self.assertEqual(self.downloads, [])
        # a day old, update failed: a warning naming the lists' date
        old = fake_apt(self.top, "bookworm+trixie", {}, fresh=False)
        old.apt_get = self.no_apt_get
        with contextlib.redirect_stderr(io.StringIO()) as err:
            old.refresh()
        self.assertEqual(self.downloads, [("update", "--error-on=any")])
        day = time.strftime("%Y-%m-%d", time.localtime(os.path.getmtime(old.stamp)))
        self.assertRegex(err.getvalue(), r"WARNING: apt-get update \(private, arm64, "
                         r"bookworm\+trixie\) failed: using the package lists of %s \d\d:\d\d\n"
                         % day)
        # lists of another mirror: no lists at all
        other = debian.Apt(self.top, debian.suites_of("bookworm+trixie"), "arm64",
                           mirror="http://other", label="bookworm+trixie")
        other.apt_get = self.no_apt_get
        with self.assertRaisesRegex(debian.AptError, "apt-get update .* failed$"):
            with contextlib.redirect_stderr(io.StringIO()):
                other.refresh()
        # an update that works stamps the lists with their sources
        other.apt_get = lambda *a, cwd=None: True
        with contextlib.redirect_stderr(io.StringIO()):
            other.refresh()
        with open(other.stamp, encoding="utf-8") as f:
            self.assertEqual(f.read(), other.sources)

    def test_first_load_updates_the_lists(self):
        # a new cache: no lists; the first lookup updates them, then loads
        # the whole index (once failed: the update dropped the index being
        # built)
        top = os.path.join(self.dir, "new")
        apt = debian.Apt(top, debian.suites_of("bookworm"), "arm64",
                         mirror="http://deb.debian.org", label="bookworm")

        def update(*args, cwd=None):
            self.downloads.append(args)
            with open(os.path.join(top, LISTS % ("", "bookworm", "arm64")), "w",
                      encoding="utf-8") as f:
                f.write(record("pkg", "1.0"))
            return True
        apt.apt_get = update
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(apt.record("pkg", "arm64", "1.0")["Version"], "1.0")
        self.assertEqual(self.downloads, [("update", "--error-on=any")])
        self.assertEqual(apt.names("p.*"), ["pkg"])

    def test_cli(self):
        # versions and fetch as the shell scripts call them, on fresh lists
        env = dict(os.environ, WB_CACHE=self.dir, DEBPKG_SUITE="bookworm+trixie")
        env.pop("DEBPKG_MIRROR", None)
        p = subprocess.run(["python3", SCRIPT, "versions", "linux-source-6.12", "arm64"],
                           capture_output=True, text=True, env=env, check=False)
        self.assertEqual((p.returncode, p.stdout), (0, "6.12.118-1 trixie\n6.12.118-1 trixie-security\n"
                                                    "6.12.118-1~deb12u1 bookworm-security\n"
                                                    "6.12.9-1~bpo12+1 bookworm\n"), p.stderr)
        p = subprocess.run(["python3", SCRIPT, "versions", "none", "arm64"],
                           capture_output=True, text=True, env=env, check=False)
        self.assertEqual((p.returncode, p.stderr),
                         (1, "ERROR: none (arm64) is not served by Debian bookworm+trixie\n"))
        dest = os.path.join(self.dir, "debs")
        os.makedirs(dest)
        path, sha = build_deb(dest, "data", "2", arch="all")
        fake_apt(self.top, "bookworm+trixie", {"trixie": [record("data", "2", arch="all", sha=sha)]})
        p = subprocess.run(["python3", SCRIPT, "fetch", "data", "arm64", "2", dest, sha],
                           capture_output=True, text=True, env=env, check=False)
        self.assertEqual((p.returncode, p.stdout), (0, "%s\n2\n" % path), p.stderr)
        p = subprocess.run(["python3", SCRIPT, "fetch", "data", "arm64"],
                           capture_output=True, text=True, env=env, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("usage: debian.py fetch NAME ARCH", p.stderr)


if __name__ == "__main__":
    unittest.main()
