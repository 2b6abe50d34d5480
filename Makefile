# SMMUv3 nested stage translation for Linux 6.12: the patch queue's workbench.
# The two commands users need: `make demo` and `make check`. See README.md.

S := scripts

.PHONY: help demo check bench setup tree export build run run-debug check-patches check-checker selftest \
	shellcheck clean distclean

help:
	@echo "make demo           boot the patched kernel under QEMU's nested SMMUv3 and tell what it does"
	@echo "make check          everything: build, boot tests (KUnit, kselftests), per-patch checks"
	@echo "make bench          count a guest's invalidation and STE-switch commands (build/bench/)"
	@echo "make setup          install what the workbench needs (Debian packages, QEMU >= 10, the base)"
	@echo "make tree           build/linux = base + patches/ (git repo, tag 'base'); never destroys work"
	@echo "make export         regenerate patches/ from build/linux (base..HEAD)"
	@echo "make build          the arm64 test kernel, kselftests and initramfs"
	@echo "make run            boot the nested machine and run the in-guest tests"
	@echo "make run-debug      the same on the debug kernel (configs/debug.config: KASAN, lockdep...)"
	@echo "make check-patches  only the per-patch checks"
	@echo "make check-checker  show that each per-patch check fails on a generated broken patch"
	@echo "make clean          remove build outputs, keep build/linux"

demo:
	@$(S)/demo.sh

check:
	@$(S)/check.sh

bench:
	@$(S)/bench.sh

setup:
	@$(S)/setup.sh

tree: setup
	@$(S)/tree.sh

export:
	@$(S)/export.sh

build: tree
	@$(S)/build.sh kernel test
	@$(S)/build.sh selftests
	@$(S)/build.sh initramfs test

run: build
	@$(S)/run.sh nested test iommufd,iommufd_fail_nth,iommufd_smmuv3,iommufd_nested_dma 900

run-debug: build
	@$(S)/build.sh kernel debug
	@$(S)/run.sh nested debug iommufd,iommufd_fail_nth,iommufd_smmuv3,iommufd_nested_dma 2400

check-patches: tree
	@$(S)/check-patches.sh

check-checker: tree
	@$(S)/check-checker.sh

selftest:
	@python3 -m unittest discover -s tests -p 'test_*.py'

shellcheck:
	@shellcheck $(S)/*.sh .ci/run

clean:
	rm -rf build/out build/selftests build/results build/logs build/check build/cocci-wt build/bench \
		build/checker-selftest \
		build/init build/nest_bench build/initramfs.cpio build/initramfs.list
	-git -C build/linux worktree prune 2>/dev/null

distclean:
	@$(S)/tree.sh --check-only
	rm -rf build
