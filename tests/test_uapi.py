"""The uAPI conformance check must be able to fail, and its fixture is upstream's.

Runs scripts/uapi_conformance.py with upstream's header as both sides (all
pass), then with "ours" a copy of it broken in each way that matters: an ioctl
number, an enum value, a field moved, a struct grown, and a private symbol
upstream does not have. Upstream's header is the copy in tests/data/vendor/uapi
(tests/data/README says where it comes from); UAPI_UPSTREAM_INCLUDE, an
upstream usr/include, overrides it. TestFixture checks that the copy is the
pinned package's file, when that package is in the workbench's cache.
"""
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(TOP, "scripts", "uapi_conformance.py")
DATA = os.path.join(TOP, "tests", "data")
VENDORED = os.path.join(DATA, "vendor", "uapi")
UPSTREAM = os.environ.get("UAPI_UPSTREAM_INCLUDE") or VENDORED
MEMBER = "./usr/include/linux/iommufd.h"
sys.path.insert(0, os.path.join(TOP, "scripts"))
import results  # noqa: E402


def base():
    """BASE's KEY=VALUE settings."""
    out = {}
    with open(os.path.join(TOP, "BASE"), encoding="utf-8") as f:
        for line in f:
            key, eq, value = line.strip().partition("=")
            if eq and not key.startswith("#"):
                out[key] = value
    return out


def cache_dir():
    """The workbench's cache, as scripts/lib.sh finds it."""
    return os.environ.get("WB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "smmuv3-nesting")


def deb_member(blob, member):
    """The bytes of MEMBER of a .deb's data (an ar archive holding data.tar.*)."""
    if not blob.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive")
    i = 8
    while i + 60 <= len(blob):
        name = blob[i:i + 16].decode().strip().rstrip("/")
        size = int(blob[i + 48:i + 58])
        if name.startswith("data.tar"):
            with tarfile.open(fileobj=io.BytesIO(blob[i + 60:i + 60 + size])) as tar:
                return tar.extractfile(member).read()
        i += 60 + size + (size & 1)
    raise ValueError("no data.tar member")


class TestFixture(unittest.TestCase):
    def test_readme_names_the_pin(self):
        pin = base()
        with open(os.path.join(DATA, "README"), encoding="utf-8") as f:
            text = f.read()
        for key in ("UAPI_UPSTREAM_PACKAGE", "UAPI_UPSTREAM_VERSION", "UAPI_UPSTREAM_SHA256"):
            self.assertIn(pin[key], text, f"tests/data/README does not name BASE's {key}")

    def test_vendored_is_the_pinned_packages(self):
        pin = base()
        pkg, version = pin["UAPI_UPSTREAM_PACKAGE"], pin["UAPI_UPSTREAM_VERSION"]
        debs = os.path.join(cache_dir(), "uapi", "debs")
        prefix = f"{pkg}_{version.replace(':', '%3a')}_"
        found = sorted(f for f in os.listdir(debs) if f.startswith(prefix) and f.endswith(".deb")) \
            if os.path.isdir(debs) else []
        if not found:
            self.skipTest(f"no {pkg} {version} .deb in {debs} (scripts/fetch-uapi.sh fetches it)")
        with open(os.path.join(debs, found[0]), "rb") as f:
            blob = f.read()
        self.assertEqual(pin["UAPI_UPSTREAM_SHA256"], hashlib.sha256(blob).hexdigest(),
                         f"{found[0]} in the cache is not the pinned package")
        with open(os.path.join(VENDORED, "linux", "iommufd.h"), "rb") as f:
            vendored = f.read()
        self.assertTrue(deb_member(blob, MEMBER) == vendored,
                        f"tests/data/vendor/uapi/linux/iommufd.h differs from {MEMBER} of {found[0]}")


class TestConformance(unittest.TestCase):
    def setUp(self):
        header = os.path.join(UPSTREAM, "linux", "iommufd.h")
        self.assertTrue(os.path.isfile(header),
                        f"no {header}: UAPI_UPSTREAM_INCLUDE must name an upstream usr/include")
        self.tmp = tempfile.mkdtemp()
        os.makedirs(os.path.join(self.tmp, "linux"))
        with open(header, encoding="utf-8") as f:
            self.text = f.read()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_with(self, text):
        with open(os.path.join(self.tmp, "linux", "iommufd.h"), "w",
                  encoding="utf-8") as f:
            f.write(text)
        res = subprocess.run([sys.executable, SCRIPT, "--ours", self.tmp,
                              "--upstream", UPSTREAM],
                             capture_output=True, text=True)
        # Every line is a result of scripts/results.py's
        self.assertEqual([], [l for l in res.stdout.splitlines() if not results.parse(l)])
        return res.returncode, res.stdout

    def assert_fails_on(self, text, name):
        rc, out = self.run_with(text)
        self.assertNotEqual(rc, 0)
        self.assertRegex(out, r"(?m)^FAIL uapi:" + re.escape(name) + r"\b")

    def test_identical_passes(self):
        rc, out = self.run_with(self.text)
        self.assertEqual(rc, 0, out)
        self.assertNotIn("FAIL", out)
        self.assertIn("PASS uapi:IOMMU_VIOMMU_ALLOC", out)

    def test_ioctl_number(self):
        text = self.text.replace("IOMMUFD_CMD_VIOMMU_ALLOC = 0x90",
                                 "IOMMUFD_CMD_VIOMMU_ALLOC = 0x8f")
        self.assertNotEqual(text, self.text)
        self.assert_fails_on(text, "IOMMUFD_CMD_VIOMMU_ALLOC")

    def test_enum_value(self):
        text = self.text.replace("IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1",
                                 "IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 3")
        self.assertNotEqual(text, self.text)
        self.assert_fails_on(text, "IOMMU_VIOMMU_TYPE_ARM_SMMUV3")

    def test_field_moved(self):
        text = re.sub(r"(struct iommu_vdevice_alloc \{\s*__u32 size;\s*)"
                      r"__u32 viommu_id;\s*__u32 dev_id;",
                      r"\1__u32 dev_id;\n\t__u32 viommu_id;", self.text)
        self.assertNotEqual(text, self.text)
        self.assert_fails_on(text, "iommu_vdevice_alloc.viommu_id")

    def test_struct_grown(self):
        text = self.text.replace("struct iommu_hwpt_arm_smmuv3 {\n"
                                 "\t__aligned_le64 ste[2];",
                                 "struct iommu_hwpt_arm_smmuv3 {\n"
                                 "\t__aligned_le64 ste[3];")
        self.assertNotEqual(text, self.text)
        self.assert_fails_on(text, "iommu_hwpt_arm_smmuv3")

    def test_private_symbol(self):
        text = self.text.replace("#define IOMMU_DESTROY",
                                 "#define IOMMU_HWPT_SET_PASID_TABLE 0x8f\n"
                                 "#define IOMMU_DESTROY")
        self.assert_fails_on(text, "IOMMU_HWPT_SET_PASID_TABLE")

    def test_private_struct(self):
        text = self.text.replace("struct iommu_destroy {",
                                 "struct iommu_hwpt_set_pasid_table {\n\t__u32 size;\n};\n\n"
                                 "struct iommu_destroy {")
        self.assertNotEqual(text, self.text)
        self.assert_fails_on(text, "struct_iommu_hwpt_set_pasid_table")


if __name__ == "__main__":
    unittest.main()
