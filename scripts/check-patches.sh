#!/usr/bin/env bash
# Check every patch of patches/series in order, on its own:
#   apply       it applies with git am on the base plus the patches before it
#   checkpatch  scripts/checkpatch.pl --strict: 0 errors, 0 warnings
#   build       the test kernel builds after it (the series is bisectable);
#               the test config has CONFIG_UAPI_HEADER_TEST, so every uAPI
#               header is compile-tested by this step
#   warnings    W=1 and sparse (C=2) add no warning in the .c files it touches
#   kernel-doc  scripts/kernel-doc -Wall adds no warning in the files it touches
#   coccicheck  make coccicheck MODE=report adds no finding versus the base in
#               the drivers/iommu directories it touches
# Warnings are compared without line numbers, against the same files just
# before the patch (coccicheck: against the base, cached per base and spatch).
# Results, one "PASS|FAIL name [-- why]" line per patch and check, go to
# build/results/patches.txt; logs to build/logs/patches/.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

WT=$BUILD/check
OUT=$BUILD/out/check
PLOGS=$LOGS/patches
RES=$BUILD/results/patches.txt
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/smmuv3-nesting
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export KBUILD_BUILD_TIMESTAMP="2000-01-01" KBUILD_BUILD_USER=workbench
export KBUILD_BUILD_HOST=workbench

mkdir -p "$PLOGS" "$CACHE" "$(dirname "$RES")"
: >"$RES"

kmake() {
	make -C "$WT" O="$OUT" ARCH="$ARCH" CROSS_COMPILE="$CROSS_COMPILE" \
		CC="ccache ${CROSS_COMPILE}gcc" -j"$JOBS" "$@"
}

result() {	# result VERDICT PATCH CHECK [WHY]
	local line="$1 patch:$2:$3"
	[ -n "${4:-}" ] && line="$line -- $4"
	printf '%s\n' "$line" >>"$RES"
	[ "$1" = FAIL ] && printf '    %s\n' "$line"
	return 0
}

# Warning lines without line and column numbers, sorted, so that they can be
# compared across a patch that moves code.
normalize() {
	sed -nE 's#^(/[^:]*/)?([^: ]+):[0-9]+(:[0-9]+)?(-[0-9]+)?:? *(warning|error|note)?:?#\2: \5:#p' |
		sed -E 's/ +/ /g; s/line [0-9]+/line N/g' | sort
}

# Lines of $2 that are not in $1 (both sorted; multiset difference).
added() {
	comm -13 "$1" "$2"
}

touched_files() {	# files a patch modifies or adds (new names)
	sed -n 's#^diff --git a/[^ ]* b/##p' "$1" | sort -u
}

existing() {	# the files of stdin that exist in the worktree now
	local f
	while read -r f; do
		[ -f "$WT/$f" ] && printf '%s\n' "$f"
	done
	return 0
}

# W=1 and sparse on the given .c files that the test config builds.
warnings_of() {
	local f objs=()
	for f in "$@"; do
		case "$f" in *.c) ;; *) continue ;; esac
		[ -f "$OUT/${f%.c}.o" ] && objs+=("${f%.c}.o")
	done
	[ "${#objs[@]}" -gt 0 ] || return 0
	kmake W=1 C=2 "${objs[@]}" 2>&1 | normalize
}

kerneldoc_of() {
	local f files=()
	for f in "$@"; do
		case "$f" in
		tools/* | Documentation/* | scripts/* | samples/*) continue ;;
		*.c | *.h) files+=("$f") ;;
		esac
	done
	[ "${#files[@]}" -gt 0 ] || return 0
	(cd "$WT" && ./scripts/kernel-doc -Wall -none "${files[@]}" 2>&1) | normalize
}

# coccicheck findings in one directory of drivers/iommu.
# (coccicheck resolves M= against O=, so it runs in the source tree; in
# report mode it writes nothing there.)
cocci_of() {
	make -C "$WT" ARCH="$ARCH" -j"$JOBS" coccicheck MODE=report M="$1" \
		2>/dev/null | normalize
}

cocci_dirs() {	# drivers/iommu directories holding the given files
	local f
	for f in "$@"; do
		case "$f" in drivers/iommu/*.[ch]) dirname "$f" ;; esac
	done | sort -u
}

mapfile -t series < <(grep -v '^[[:space:]]*\(#\|$\)' "$TOP/patches/series" 2>/dev/null || true)
if [ "${#series[@]}" -eq 0 ]; then
	say "patches: the series is empty; nothing to check"
	exit 0
fi

# A worktree of build/linux at the base, and its own build directory.
[ -d "$TREE/.git" ] || die "no work tree: run 'make tree'"
if [ -d "$WT" ] && git -C "$WT" rev-parse -q --verify HEAD >/dev/null 2>&1; then
	git -C "$WT" am --abort >/dev/null 2>&1 || true
	git -C "$WT" reset -q --hard base
	git -C "$WT" clean -qfdx
else
	rm -rf "$WT"
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$WT" base
fi

say "patches: building the base for the checks (log $PLOGS/base-build.log)"
mkdir -p "$OUT"
kmake -s allnoconfig >"$PLOGS/base-build.log" 2>&1
"$WT/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" \
	"$TOP/configs/test.config" >>"$PLOGS/base-build.log" 2>&1
kmake -s olddefconfig >>"$PLOGS/base-build.log" 2>&1
kmake Image >>"$PLOGS/base-build.log" 2>&1 ||
	die "the base does not build; see $PLOGS/base-build.log"

spatch_v=$(spatch --version 2>/dev/null | head -1 | awk '{print $3}')
applied=1
i=0
for p in "${series[@]}"; do
	i=$((i + 1))
	pf=$TOP/patches/$p
	log=$PLOGS/${p%.patch}
	say "patch $i/${#series[@]}: $p"
	if [ "$applied" -eq 0 ]; then
		for c in apply checkpatch build warnings kernel-doc coccicheck; do
			result FAIL "$p" "$c" "not checked: an earlier patch does not apply"
		done
		continue
	fi
	mapfile -t files < <(touched_files "$pf")
	mapfile -t before < <(printf '%s\n' "${files[@]}" | existing)
	warnings_of "${before[@]}" >"$log.warnings-before" || true
	kerneldoc_of "${before[@]}" >"$log.kdoc-before" || true

	# apply
	if git -C "$WT" am -q "$pf" >"$log.apply.log" 2>&1; then
		result PASS "$p" apply
	else
		git -C "$WT" am --abort >/dev/null 2>&1 || true
		result FAIL "$p" apply "git am failed; log $log.apply.log"
		applied=0
		for c in checkpatch build warnings kernel-doc coccicheck; do
			result FAIL "$p" "$c" "not checked: the patch does not apply"
		done
		continue
	fi

	# checkpatch
	(cd "$WT" && ./scripts/checkpatch.pl --strict "$pf") >"$log.checkpatch.log" 2>&1 || true
	total=$(grep -E '^total: [0-9]+ errors, [0-9]+ warnings' "$log.checkpatch.log" || true)
	if [[ $total =~ ^total:\ 0\ errors,\ 0\ warnings ]]; then
		result PASS "$p" checkpatch
	else
		result FAIL "$p" checkpatch "${total:-no verdict}; log $log.checkpatch.log"
	fi

	# build
	if kmake Image >"$log.build.log" 2>&1; then
		result PASS "$p" build
	else
		result FAIL "$p" build "the kernel does not build; log $log.build.log"
	fi

	# warnings (W=1, sparse) and kernel-doc, versus just before the patch
	mapfile -t after < <(printf '%s\n' "${files[@]}" | existing)
	warnings_of "${after[@]}" >"$log.warnings-after" || true
	new=$(added "$log.warnings-before" "$log.warnings-after")
	if [ -z "$new" ]; then
		result PASS "$p" warnings
	else
		printf '%s\n' "$new" >"$log.warnings-new"
		result FAIL "$p" warnings "$(wc -l <"$log.warnings-new") new: $(head -1 "$log.warnings-new"); all in $log.warnings-new"
	fi
	kerneldoc_of "${after[@]}" >"$log.kdoc-after" || true
	new=$(added "$log.kdoc-before" "$log.kdoc-after")
	if [ -z "$new" ]; then
		result PASS "$p" kernel-doc
	else
		printf '%s\n' "$new" >"$log.kdoc-new"
		result FAIL "$p" kernel-doc "$(wc -l <"$log.kdoc-new") new: $(head -1 "$log.kdoc-new"); all in $log.kdoc-new"
	fi

	# coccicheck, versus the base, per drivers/iommu directory touched
	cnew=
	while read -r d; do
		[ -n "$d" ] || continue
		base_cache=$CACHE/cocci-$BASE_SHA256-$spatch_v-${d//\//_}.txt
		if [ ! -f "$base_cache" ]; then
			tmpwt=$BUILD/cocci-base
			rm -rf "$tmpwt"
			git -C "$TREE" worktree add -q --detach "$tmpwt" base
			(WT=$tmpwt cocci_of "$d") >"$base_cache.tmp"
			git -C "$TREE" worktree remove --force "$tmpwt"
			mv "$base_cache.tmp" "$base_cache"
		fi
		cocci_of "$d" >"$log.cocci-${d//\//_}"
		cnew+=$(added "$base_cache" "$log.cocci-${d//\//_}")
	done < <(cocci_dirs "${after[@]}")
	if [ -z "$cnew" ]; then
		result PASS "$p" coccicheck
	else
		printf '%s\n' "$cnew" >"$log.cocci-new"
		result FAIL "$p" coccicheck "new findings: $(head -1 "$log.cocci-new"); all in $log.cocci-new"
	fi
done

say "patches: $(grep -c '^PASS' "$RES") passed, $(grep -c '^FAIL' "$RES") failed"
