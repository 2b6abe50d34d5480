# SMMUv3 nested stage translation for Linux 6.12: the patch queue's workbench.
# The two commands users need: `make demo` and `make check`. See README.md.

S := scripts

.PHONY: help demo check bench coverage setup tree export build run run-debug repeat rebase check-patches \
	check-checker selftest shellcheck clean distclean l3 l3-direct l3-fetch

# The boot `make run` runs (a boot of tests/plan.conf, where the test lists
# and time limits are)
BOOT ?= nested-test

help:
	@echo "make demo           boot the patched kernel under QEMU's nested SMMUv3 and tell what it does; then three levels"
	@echo "make check          everything: build, boot tests (KUnit, kselftests), three levels, per-patch checks"
	@echo "make bench          count a guest's invalidation and STE-switch commands; three-level ratios (build/bench/)"
	@echo "make coverage       gcov kernel: which lines the series adds to drivers/iommu run (build/runs/coverage/)"
	@echo "make setup          install what the workbench needs (Debian packages, QEMU >= 10, the base)"
	@echo "make tree           build/linux = base + patches/ (git repo, tag 'base'); never destroys work"
	@echo "make export         regenerate patches/ from build/linux (base..HEAD)"
	@echo "make build          the arm64 test kernel, kselftests and initramfs"
	@echo "make run            boot the nested machine and run the in-guest tests (BOOT=a boot of tests/plan.conf)"
	@echo "make run-debug      the same on the debug kernel (configs/debug.config: KASAN, lockdep...)"
	@echo "make repeat         TESTS=PROG:CASE,... N=20 VARIANT=test|debug: run chosen cases N times"
	@echo "make rebase         VERSION=...: move the queue onto another linux-source-6.12, check it"
	@echo "make check-patches  only the per-patch checks"
	@echo "make check-checker  show that each per-patch check fails on a generated broken patch"
	@echo "make l3             three levels: L0 QEMU 10 -> L1 kernel + KVM + QEMU 11.1.3 -> L2 Debian kernel (build/l3/)"
	@echo "make l3-direct      the L2 half alone on L0 (no L1): Debian's kernel behind one SMMUv3"
	@echo "make clean          remove build outputs, keep build/linux"

demo:
	@WB_CMD=demo $(S)/demo.sh

check:
	@WB_CMD=check $(S)/check.sh

bench:
	@WB_CMD=bench $(S)/bench.sh

# make coverage [COVERAGE_DOC=1] [COVERAGE_DIRS="drivers/iommu ..."]: not
# part of make check (docs/coverage.md says what it costs)
coverage: setup
	@WB_CMD=coverage $(S)/coverage.sh

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
	@WB_CMD=run $(S)/run.sh $(BOOT)

run-debug: build
	@$(S)/build.sh kernel debug
	@WB_CMD=run $(S)/run.sh nested-debug

# make repeat TESTS=iommufd_nested_dma:fault_storm N=20 VARIANT=debug [SEED=...]
repeat: tree
	@WB_CMD=repeat $(S)/repeat.sh

# make rebase VERSION=6.12.95-1~bpo12+1: the queue on another linux-source-6.12
rebase: setup
	@WB_CMD=rebase $(S)/rebase.sh "$(VERSION)"

check-patches: tree
	@WB_CMD=check-patches $(S)/check-patches.sh

check-checker: tree
	@WB_CMD=check-checker $(S)/check-checker.sh

# The three-level machine. L1_KSRC: the L1 kernel's source (default
# build/linux, the patched tree).
l3-fetch:
	@$(S)/l3-fetch.sh

l3: l3-fetch
	@$(S)/l3-build.sh all
	@$(S)/run-l3.sh $(L3_RUNS)

l3-direct: l3-fetch
	@$(S)/l3-build.sh progs
	@$(S)/l3-build.sh l2-initramfs
	@$(S)/run-l3.sh --direct

# The parser's tests use the tree's own KUnit parser (build/linux).
selftest: tree
	@python3 -m unittest discover -s tests -p 'test_*.py'

shellcheck:
	@shellcheck -x $(S)/*.sh tests/*.sh .ci/run

clean:
	rm -rf build/out build/selftests build/runs build/check build/cocci-wt build/bench \
		build/checker-selftest build/rebase \
		build/init build/nest_bench build/wb_faults build/initramfs.cpio build/initramfs.list
	-git -C build/linux worktree prune 2>/dev/null

distclean:
	@$(S)/tree.sh --check-only
	rm -rf build
