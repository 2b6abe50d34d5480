#!/usr/bin/env python3
"""Tests of scripts/three_level_pkgs.py's knowledge of Debian's kernel package
layouts, on tiny fake unpacked trees and .debs (no network): every layout
the three-level machine's L2 kernel may come in must give its image and
modules, and a kernel of several packages must be fetched whole. The pins
file (its wants and pins), its rewrite by resolve, and the used file as
the shell scripts read it (unpacked).

Run: python3 -m unittest discover -s tests -p 'test_*.py'
"""
import argparse
import contextlib
import hashlib
import io
import lzma
import os
import re
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(TOP, "scripts", "three_level_pkgs.py")
sys.path.insert(0, os.path.join(TOP, "scripts"))
import three_level_pkgs as l3  # noqa: E402  pylint: disable=wrong-import-position

V612 = "6.12.117+deb13-cloud-arm64"
V7 = "7.2.13+deb14-cloud-arm64"


def put(root, rel, data=b"x"):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def module(name, deps=()):
    """A .ko.xz whose modinfo names its dependencies, as modinfo() reads it."""
    info = b"\0name=" + name.encode() + b"\0depends=" + ",".join(deps).encode() + b"\0"
    return lzma.compress(b"\x7fELF" + info)


def vfio_modules(root, moddir):
    kdir = os.path.join(moddir, "kernel/drivers/vfio")
    put(root, kdir + "/vfio.ko.xz", module("vfio"))
    put(root, kdir + "/vfio_iommu_type1.ko.xz", module("vfio_iommu_type1", ["vfio"]))
    put(root, kdir + "/pci/vfio-pci-core.ko.xz", module("vfio-pci-core", ["vfio"]))
    put(root, kdir + "/pci/vfio-pci.ko.xz", module("vfio-pci", ["vfio-pci-core", "vfio"]))


class LayoutTest(unittest.TestCase):
    """kernel_files() on each layout: the image, the release, the modules."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def root(self, name):
        path = os.path.join(self.dir, name)
        os.makedirs(path, exist_ok=True)
        return path

    def check(self, roots, image, rel, moddirs):
        got = l3.kernel_files(roots)
        self.assertEqual(got, (image, rel, moddirs))

    def test_612_bookworm_boot_and_lib_modules(self):
        # 6.12 on bookworm: boot/vmlinuz-V and lib/modules/V, one package.
        r = self.root("linux-image-" + V612)
        image = put(r, "boot/vmlinuz-" + V612)
        put(r, "boot/config-" + V612)
        vfio_modules(r, "lib/modules/" + V612)
        self.check([r], image, V612, [os.path.join(r, "lib/modules", V612)])

    def test_612_trixie_boot_and_usr_lib_modules(self):
        # 6.12 on trixie (merged /usr): boot/vmlinuz-V, usr/lib/modules/V.
        r = self.root("linux-image-" + V612)
        image = put(r, "boot/vmlinuz-" + V612)
        vfio_modules(r, "usr/lib/modules/" + V612)
        self.check([r], image, V612, [os.path.join(r, "usr/lib/modules", V612)])

    def test_7x_one_package_image_under_modules(self):
        # usr/lib/modules/V/vmlinuz beside usr/lib/modules/V/kernel/.
        r = self.root("linux-image-" + V7)
        image = put(r, "usr/lib/modules/%s/vmlinuz" % V7)
        vfio_modules(r, "usr/lib/modules/" + V7)
        self.check([r], image, V7, [os.path.join(r, "usr/lib/modules", V7)])

    def test_7x_split_packages(self):
        # Unstable's 7.x: linux-image-V is a meta package; the image is in
        # linux-binary-V, the modules in linux-modules-V, config and
        # modules.order in linux-base-V (no modules: not a module dir).
        meta = self.root("linux-image-" + V7)
        put(meta, "usr/share/doc/linux-image-%s/copyright" % V7)
        binary = self.root("linux-binary-" + V7)
        image = put(binary, "usr/lib/modules/%s/vmlinuz" % V7)
        modules = self.root("linux-modules-" + V7)
        vfio_modules(modules, "usr/lib/modules/" + V7)
        base = self.root("linux-base-" + V7)
        put(base, "usr/lib/modules/%s/modules.order" % V7)
        put(base, "usr/lib/modules/%s/config" % V7)
        self.check([meta, base, binary, modules], image, V7,
                   [os.path.join(modules, "usr/lib/modules", V7)])

    def test_lib_modules_image(self):
        # An image under lib/modules/V (unmerged /usr) is accepted too.
        r = self.root("k")
        image = put(r, "lib/modules/%s/vmlinuz" % V7)
        vfio_modules(r, "lib/modules/" + V7)
        self.check([r], image, V7, [os.path.join(r, "lib/modules", V7)])

    def test_signed_and_unsigned_are_one_kernel(self):
        a, b = self.root("linux-binary-" + V7), self.root("linux-binary-unsigned-" + V7)
        image = put(a, "usr/lib/modules/%s/vmlinuz" % V7)
        put(b, "usr/lib/modules/%s/vmlinuz" % V7)
        self.assertEqual(l3.kernel_files([a, b])[:2], (image, V7))

    def test_no_image_is_refused(self):
        r = self.root("linux-modules-" + V7)
        vfio_modules(r, "usr/lib/modules/" + V7)
        with self.assertRaises(l3.LayoutError):
            l3.kernel_files([r])

    def test_two_kernels_are_refused(self):
        a, b = self.root("a"), self.root("b")
        put(a, "boot/vmlinuz-" + V612)
        put(b, "usr/lib/modules/%s/vmlinuz" % V7)
        with self.assertRaises(l3.LayoutError):
            l3.kernel_files([a, b])

    def test_commands_on_a_used_file(self):
        # three_level_pkgs.py kernel and modules find the L2 kernel of a used file
        # whatever its layout, among other packages of the role.
        for split in (False, True):
            with self.subTest(split=split):
                d = os.path.join(self.dir, "split" if split else "one")
                busybox = os.path.join(d, "busybox")
                put(busybox, "usr/bin/busybox")
                if split:
                    pkgs = {p + V7: os.path.join(d, p) for p in
                            ("linux-image-", "linux-binary-", "linux-modules-", "linux-base-")}
                    image = put(pkgs["linux-binary-" + V7], "usr/lib/modules/%s/vmlinuz" % V7)
                    vfio_modules(pkgs["linux-modules-" + V7], "usr/lib/modules/" + V7)
                    moddir = os.path.join(pkgs["linux-modules-" + V7], "usr/lib/modules", V7)
                    rel = V7
                else:
                    pkgs = {"linux-image-" + V612: os.path.join(d, "img")}
                    image = put(pkgs["linux-image-" + V612], "boot/vmlinuz-" + V612)
                    vfio_modules(pkgs["linux-image-" + V612], "usr/lib/modules/" + V612)
                    moddir = os.path.join(pkgs["linux-image-" + V612], "usr/lib/modules", V612)
                    rel = V612
                for p in pkgs.values():
                    os.makedirs(p, exist_ok=True)
                used = os.path.join(d, "used.txt")
                with open(used, "w") as f:
                    f.write("# ROLE PACKAGE ARCH VERSION SHA256 UNPACKED\n")
                    f.write("l1+l2 busybox-static arm64 1 0 %s\n" % busybox)
                    for name, root in pkgs.items():
                        f.write("l2 %s arm64 1 0 %s\n" % (name, root))
                out = subprocess.run(["python3", SCRIPT, "kernel", "--used", used, "--role", "l2"],
                                     capture_output=True, text=True, check=True).stdout
                self.assertEqual(out.split("\n")[:2], [image, rel])
                out = subprocess.run(["python3", SCRIPT, "modules", "--used", used, "--role", "l2",
                                      "vfio-pci", "vfio_iommu_type1"],
                                     capture_output=True, text=True, check=True).stdout
                names = [os.path.basename(p) for p in out.split()]
                self.assertEqual(names, ["vfio.ko.xz", "vfio-pci-core.ko.xz", "vfio-pci.ko.xz",
                                         "vfio_iommu_type1.ko.xz"])
                self.assertTrue(all(p.startswith(moddir) for p in out.split()))


class PackagesTest(unittest.TestCase):
    """Which packages one kernel is made of."""

    def test_kernel_release(self):
        self.assertEqual(l3.kernel_release("linux-image-" + V612), V612)
        self.assertEqual(l3.kernel_release("linux-modules-" + V7), V7)
        self.assertEqual(l3.kernel_release("linux-binary-unsigned-" + V7), V7)
        for other in ("linux-image-cloud-arm64", "linux-base", "busybox-static",
                      "linux-base-cloud-arm64"):
            self.assertIsNone(l3.kernel_release(other), other)
        self.assertTrue(l3.is_kernel_image("linux-image-" + V7))
        self.assertFalse(l3.is_kernel_image("linux-binary-" + V7))
        self.assertFalse(l3.is_kernel_image("linux-image-cloud-arm64"))

    def test_parts_of_a_split_kernel(self):
        rec = {"Package": "linux-image-" + V7, "Pre-Depends": "linux-base (>= 4.17~)",
               "Depends": "dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, "
                          "linux-base-{v} (= 7.2.13-1), linux-binary-{v} (= 7.2.13-1), "
                          "linux-modules-{v} (= 7.2.13-1)".format(v=V7)}
        self.assertEqual(l3.kernel_parts(rec), ["linux-base-" + V7, "linux-binary-" + V7,
                                                "linux-modules-" + V7])

    def test_612_is_one_package(self):
        rec = {"Package": "linux-image-" + V612, "Pre-Depends": "linux-base (>= 4.1)",
               "Depends": "kmod, linux-base (>= 4.3~), initramfs-tools (>= 0.120+deb8u2) "
                          "| linux-initramfs-tool"}
        self.assertEqual(l3.kernel_parts(rec), [])


def build_deb(dest, pkg, version, files, depends=""):
    """A real .deb of FILES ({path: bytes}); its path and sha256."""
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "DEBIAN"))
        with open(os.path.join(d, "DEBIAN/control"), "w") as f:
            f.write("Package: %s\nVersion: %s\nArchitecture: arm64\nMaintainer: t <t@t>\n"
                    "Description: test\n%s" % (pkg, version,
                                               "Depends: %s\n" % depends if depends else ""))
        for rel, data in files.items():
            put(d, rel, data)
        path = os.path.join(dest, l3.deb_name(pkg, version, "arm64"))
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", d, path],
                       check=True, capture_output=True)
    with open(path, "rb") as f:
        return path, hashlib.sha256(f.read()).hexdigest()


def split_kernel_debs(dest, rel, version):
    """The four packages of a 7.x-style kernel: {pkg: (path, sha256)}, and
    the image's Depends."""
    mods = "usr/lib/modules/%s/kernel/drivers/vfio/" % rel
    debs = {
        "linux-binary-" + rel: {"usr/lib/modules/%s/vmlinuz" % rel: b"Image"},
        "linux-modules-" + rel: {mods + "vfio.ko.xz": module("vfio"),
                                 mods + "vfio_iommu_type1.ko.xz": module("vfio_iommu_type1", ["vfio"])},
        "linux-base-" + rel: {"usr/lib/modules/%s/modules.order" % rel: b""},
    }
    deps = ", ".join("%s (= %s)" % (p, version) for p in sorted(debs))
    out = {p: build_deb(dest, p, version, files) for p, files in debs.items()}
    out["linux-image-" + rel] = build_deb(dest, "linux-image-" + rel, version,
                                          {"usr/share/doc/x/copyright": b""}, deps)
    return out, deps


class FakeApt:
    """Apt's index and download, for the records given."""

    def __init__(self, records, debs):
        self.records = records
        self.debs = debs

    def update(self):
        pass

    def refresh(self):
        pass

    def record(self, pkg, arch, version):
        return next((r for r in self.records if r["Package"] == pkg
                     and r["Version"] == version), None)

    def newest(self, pkg, arch):
        return next((r for r in self.records if r["Package"] == pkg), None)

    def names(self, regex):
        return sorted({r["Package"] for r in self.records if re.fullmatch(regex, r["Package"])})

    def download(self, specs, dest):
        for pkg, _, version in specs:
            src = self.debs[(pkg, version)]
            os.link(src, os.path.join(dest, os.path.basename(src)))
        return True


class FetchTest(unittest.TestCase):
    """cmd_fetch takes a kernel whole: its parts' pins with the image, and the
    parts of a newer kernel that replaces a pinned one gone from the mirror."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.cache = os.path.join(self.dir, "cache")
        os.makedirs(os.path.join(self.cache, "debs"))
        self.saved_apt = l3.open_apt

    def tearDown(self):
        l3.open_apt = self.saved_apt
        self.tmp.cleanup()

    def fetch(self, pins):
        pinfile = os.path.join(self.dir, "pins.txt")
        with open(pinfile, "w") as f:
            f.write("\n".join(pins) + "\n")
        used = os.path.join(self.dir, "used.txt")
        args = argparse.Namespace(apt=os.path.join(self.dir, "apt"), cache=self.cache,
                                  pins=pinfile, used=used)
        with contextlib.redirect_stdout(io.StringIO()) as out, \
                contextlib.redirect_stderr(io.StringIO()):
            l3.cmd_fetch(args)
        return l3.read_used(used, "l2"), out.getvalue()

    def test_pinned_split_kernel_offline(self):
        # All four pins cached: no index is read, all four are used.
        debs, _ = split_kernel_debs(os.path.join(self.cache, "debs"), V7, "7.2.13-1")

        class NoApt:
            def __init__(self, _):
                pass

            def __getattr__(self, name):
                raise AssertionError("apt used (%s) although every .deb is cached" % name)
        l3.open_apt = NoApt
        pins = ["l2 %s arm64 7.2.13-1 %s" % (p, sha) for p, (_, sha) in sorted(debs.items())]
        used, _ = self.fetch(pins)
        self.assertEqual(sorted(f[1] for f in used), sorted(debs))
        image, rel, moddirs = l3.kernel_files(l3.kernel_roots(self.used_path(), "l2"))
        self.assertEqual(rel, V7)
        self.assertTrue(image.endswith("usr/lib/modules/%s/vmlinuz" % V7))
        self.assertEqual(len(moddirs), 1)

    def used_path(self):
        return os.path.join(self.dir, "used.txt")

    def test_gone_612_replaced_by_a_split_kernel(self):
        # The pinned one-package 6.12 has left the mirror; ALT matches a newer
        # kernel of the split layout: its parts come with it.
        rel = "6.12.130+deb13-cloud-arm64"
        store = os.path.join(self.dir, "mirror")
        os.makedirs(store)
        debs, deps = split_kernel_debs(store, rel, "6.12.130-1")
        records = [{"Package": p, "Version": "6.12.130-1", "Architecture": "arm64",
                    "SHA256": sha, "Depends": deps if p.startswith("linux-image-") else ""}
                   for p, (_, sha) in debs.items()]
        l3.open_apt = lambda _: FakeApt(records, {(p, "6.12.130-1"): path
                                                  for p, (path, _) in debs.items()})
        alt = r"linux-image-6\.12\.[0-9]+\+deb13(\.[0-9]+)?-cloud-arm64"
        used, out = self.fetch(["want l2 linux-image-%s! %s" % (V612, alt),
                                "l2 linux-image-%s arm64 6.12.117-1 %s" % (V612, "0" * 64)])
        self.assertIn("has left the mirror: using linux-image-" + rel, out)
        self.assertEqual(sorted(f[1] for f in used), sorted(debs))
        image, got_rel, moddirs = l3.kernel_files(l3.kernel_roots(self.used_path(), "l2"))
        self.assertEqual(got_rel, rel)
        self.assertEqual(len(moddirs), 1)


PINS = os.path.join(TOP, "configs", "three-level-packages.txt")


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


class PinsTest(unittest.TestCase):
    """The pins file is the one place of what the machine needs (its wants,
    with the L2 kernel's ALT) and of the pins; conf.records reads it and the
    used file."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.saved_apt = l3.open_apt

    def tearDown(self):
        l3.open_apt = self.saved_apt
        self.tmp.cleanup()

    def test_the_pins_file(self):
        wants, pins = l3.load_pins(PINS)
        pinned = {f[1] for f in pins}
        for role, pkg, _, _ in wants:
            self.assertIn(pkg, pinned, "want %s %s has no pin" % (role, pkg))
        kernels = [w for w in wants if l3.is_kernel_image(w[1])]
        self.assertEqual(len(kernels), 1)
        role, pkg, walk, alt = kernels[0]
        self.assertEqual((role, walk), ("l2", False))
        self.assertTrue(re.fullmatch(alt, pkg))
        self.assertTrue(re.fullmatch(alt, "linux-image-6.12.130+deb13-cloud-arm64"))
        self.assertTrue(re.fullmatch(alt, "linux-image-6.12.130+deb13.1-cloud-arm64"))
        self.assertFalse(re.fullmatch(alt, "linux-image-" + V7))
        self.assertTrue(all(len(f) == 5 for f in pins))

    def test_bad_lines_are_named(self):
        path = write(os.path.join(self.dir, "pins.txt"),
                     "# c\nwant l1 a\nl1 a arm64 1\n")
        with self.assertRaisesRegex(l3.conf.ConfError, "pins.txt:3: "):
            l3.load_pins(path)
        write(path, "want l1\n")
        with self.assertRaisesRegex(l3.conf.ConfError, "pins.txt:1: "):
            l3.load_pins(path)
        used = write(os.path.join(self.dir, "used.txt"), "l1 a arm64 1 0\n")
        with self.assertRaisesRegex(l3.conf.ConfError, "used.txt:1: "):
            l3.read_used(used)

    def test_resolve_rewrites_the_pins_after_the_wants(self):
        records = [
            {"Package": "prog", "Version": "2", "Architecture": "arm64", "SHA256": "p2",
             "Depends": "libfoo1 (>= 1), debconf | debconf-2.0"},
            {"Package": "libfoo1", "Version": "1.5", "Architecture": "arm64", "SHA256": "f",
             "Pre-Depends": "libc6"},
            {"Package": "libc6", "Version": "2.43", "Architecture": "arm64", "SHA256": "c"},
            {"Package": "data", "Version": "3", "Architecture": "all", "SHA256": "d",
             "Depends": "libbar1"},
            {"Package": "linux-image-" + V7, "Version": "7.2.13-1", "Architecture": "arm64",
             "SHA256": "i", "Depends": "linux-modules-%s (= 7.2.13-1), kmod" % V7},
            {"Package": "linux-modules-" + V7, "Version": "7.2.13-1",
             "Architecture": "arm64", "SHA256": "m"},
        ]
        l3.open_apt = lambda _: FakeApt(records, {})
        head = ("# the header\nwant l1 prog\n# between\nwant l1 data!\n"
                "want l2 libc6\nwant l2 linux-image-%s! linux-image-7.*\n" % V7)
        path = write(os.path.join(self.dir, "pins.txt"),
                     head + "# not walked: old\nl1 prog arm64 1 p1\n")
        with contextlib.redirect_stderr(io.StringIO()):
            l3.cmd_resolve(argparse.Namespace(apt=self.dir, pins=path))
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(text, head + "\n".join([
            "# not walked (maintainer scripts, other programs): debconf",
            "l1 prog arm64 2 p2",
            "l1 data all 3 d",
            "l1+l2 libc6 arm64 2.43 c",
            "l2 linux-image-%s arm64 7.2.13-1 i" % V7,
            "l2 linux-modules-%s arm64 7.2.13-1 m" % V7,
            "l1 libfoo1 arm64 1.5 f"]) + "\n")
        wants, pins = l3.load_pins(path)
        self.assertEqual(wants[3], ("l2", "linux-image-" + V7, False, "linux-image-7.*"))
        self.assertEqual(len(pins), 6)

    def test_a_want_without_pin_is_refused(self):
        path = write(os.path.join(self.dir, "pins.txt"), "want l1 prog\nwant l1 other\n"
                     "l1 prog arm64 1 %s\n" % ("0" * 64))
        args = argparse.Namespace(apt=self.dir, cache=self.dir, pins=path,
                                  used=os.path.join(self.dir, "used.txt"))
        with self.assertRaisesRegex(SystemExit, "no pin for other: run"):
            l3.cmd_fetch(args)

    def test_unpacked(self):
        used = write(os.path.join(self.dir, "used.txt"),
                     "# ROLE PACKAGE ARCH VERSION SHA256 UNPACKED\n"
                     "l1+l2 busybox-static arm64 1 0 /r/busybox\n"
                     "l1 qemu-efi-aarch64 all 2 0 /r/efi\n"
                     "l2 linux-image-%s arm64 3 0 /r/kernel\n" % V612)

        def run(*args):
            return subprocess.run(["python3", SCRIPT, "unpacked", "--used"] + list(args),
                                  capture_output=True, text=True, check=False)
        p = run(used, "qemu-efi-aarch64")
        self.assertEqual((p.returncode, p.stdout), (0, "/r/efi\n"))
        p = run(used, r"linux-image-6\.12\..*")
        self.assertEqual((p.returncode, p.stdout), (0, "/r/kernel\n"))
        p = run(used, "busybox")     # a whole name, not a part of one
        self.assertEqual(p.returncode, 1)
        self.assertIn("ERROR: no package busybox in " + used, p.stderr)
        p = run(os.path.join(self.dir, "none.txt"), "busybox-static")
        self.assertEqual(p.returncode, 1)
        self.assertIn("ERROR: no %s" % os.path.join(self.dir, "none.txt"), p.stderr)
        self.assertEqual(l3.used_package(used, "busybox-static")[0], "l1+l2")
        self.assertEqual([f[1] for f in l3.read_used(used, "l2")],
                         ["busybox-static", "linux-image-" + V612])


if __name__ == "__main__":
    unittest.main()
