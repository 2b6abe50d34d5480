# SMMUv3 nested stage translation for Linux 6.12: the patch queue's workbench.
# The two commands users need: `make demo` and `make check`. See README.md.

S := scripts

.PHONY: help demo check bench coverage setup tree export build run run-debug repeat rebase drift check-patches \
	check-checker test-workbench clean distclean three-level three-level-direct three-level-fetch

# make run's boot: BOOT=NAME, any boot of configs/plan.conf (default: the
# boot of its role "run"); boots, machines and test lists are named there.

help:
	@echo "make demo           boot the patched kernel under QEMU's nested SMMUv3 and tell what it does; then three levels"
	@echo "make check          everything: build, boot tests (KUnit, kselftests), three levels, per-patch checks"
	@echo "make bench          a guest's invalidation costs; three-level ratios; ours vs upstream; base vs series DMA (build/runs/bench/)"
	@echo "make coverage       gcov kernel: which lines the series adds to drivers/iommu run (build/runs/coverage/)"
	@echo "make setup          install what the workbench needs (Debian packages, QEMU >= 10, the base)"
	@echo "make tree           build/linux = base + patches/ (git repo, tag 'base'); never destroys work"
	@echo "make export         regenerate patches/ from build/linux (base..HEAD)"
	@echo "make build          the arm64 test kernel, kselftests and initramfs"
	@echo "make run            boot the nested machine and run the in-guest tests (BOOT=a boot of configs/plan.conf)"
	@echo "make run-debug      the same on the debug kernel (configs/debug.config: KASAN, lockdep...)"
	@echo "make repeat         TESTS=PROG:CASE,... N=20 [BOOT=NAME]: run chosen cases N times on a boot's machine"
	@echo "make test-workbench the workbench's own tests (unit tests, shellcheck, pyflakes): no setup, < 1 min"
	@echo "make rebase         VERSION=...: move the queue onto another linux-source-6.12, check it"
	@echo "make drift          does Debian serve a newer 6.12.y than BASE? does the queue apply to it? (never fails)"
	@echo "make check-patches  only the per-patch checks"
	@echo "make check-checker  show that each per-patch check fails on a generated broken patch"
	@echo "make three-level    L0 QEMU 10 -> L1 this kernel + KVM + QEMU 11.1.3 -> L2 Debian kernel with an NVMe"
	@echo "make three-level-direct  the L2 half alone on L0 (no L1): Debian's kernel behind one SMMUv3"
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
	@$(S)/build.sh initramfs

run: build
	@WB_CMD=run $(S)/run.sh $${BOOT:-$$($(S)/plan.py role run)}

run-debug: build
	@$(S)/build.sh kernel debug
	@WB_CMD=run-debug $(S)/run.sh $$($(S)/plan.py role run-debug)

# make repeat TESTS=iommufd_nested_dma:fault_storm N=20 [BOOT=nested-debug] [SEED=...]
repeat: tree
	@WB_CMD=repeat $(S)/repeat.sh

# make rebase VERSION=6.12.95-1~bpo12+1: the queue on another linux-source-6.12
rebase: setup
	@WB_CMD=rebase $(S)/rebase.sh "$(VERSION)"

# make drift [STRICT=1]: a warning, not a failure, unless STRICT=1
drift:
	@WB_CMD=drift $(S)/drift.sh $(if $(STRICT),--strict)

check-patches: tree
	@WB_CMD=check-patches $(S)/check-patches.sh

check-checker: tree
	@WB_CMD=check-checker $(S)/check-checker.sh

# The three-level machine. L1_KSRC: the L1 kernel's source (default
# build/linux, the patched tree).
three-level-fetch:
	@$(S)/three-level-fetch.sh

three-level: three-level-fetch
	@WB_CMD=three-level $(S)/three-level-build.sh all
	@WB_CMD=three-level $(S)/three-level.sh $(L3_RUNS)

three-level-direct: three-level-fetch
	@$(S)/three-level-build.sh progs
	@$(S)/three-level-build.sh l2-initramfs
	@WB_CMD=three-level-direct $(S)/three-level.sh --direct

# No setup, no tree, no network
test-workbench:
	@$(S)/test-workbench.sh

# Every build output but the work tree build/linux (and its lock)
clean:
	[ ! -d build ] || find build -mindepth 1 -maxdepth 1 ! -name linux ! -name .lock -exec rm -rf {} +
	-git -C build/linux worktree prune 2>/dev/null

distclean:
	@$(S)/tree.sh --check-only
	rm -rf build
