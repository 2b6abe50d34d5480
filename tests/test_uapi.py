"""The uAPI conformance check must be able to fail.

Runs scripts/uapi_conformance.py with upstream's header as both sides (all
pass), then with "ours" a copy of it broken in each way that matters: an ioctl
number, an enum value, a field moved, a struct grown, and a private symbol
upstream does not have. Needs upstream's header: UAPI_UPSTREAM_INCLUDE names
its usr/include (make check fetches it).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(TOP, "scripts", "uapi_conformance.py")
UPSTREAM = os.environ.get("UAPI_UPSTREAM_INCLUDE", "")


class TestConformance(unittest.TestCase):
    def setUp(self):
        header = os.path.join(UPSTREAM, "linux", "iommufd.h")
        self.assertTrue(os.path.isfile(header),
                        "UAPI_UPSTREAM_INCLUDE must name upstream's usr/include")
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


if __name__ == "__main__":
    unittest.main()
