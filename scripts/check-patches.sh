#!/usr/bin/env bash
# Check every patch of patches/series in order, on its own:
#   apply        it applies with git am on the base plus the patches before it
#   checkpatch   scripts/checkpatch.pl --strict: 0 errors, 0 warnings, and no
#                CHECK that configs/checkpatch-exceptions does not explain
#   build        the test kernel builds after it (the series is bisectable);
#                the test config has CONFIG_UAPI_HEADER_TEST, so every uAPI
#                header is compile-tested by this step
#   build-x86    drivers/iommu builds for x86_64 (configs/x86_64.config: Intel
#                VT-d and iommufd), for a patch that touches drivers/iommu or
#                include
#   build-distro drivers/iommu and drivers/vfio build with Debian's arm64
#                kernel config (KUnit off, IOMMUFD=m, VFIO_DEVICE_CDEV=y),
#                for a patch that touches drivers/iommu, drivers/vfio or
#                include
#   selftests    tools/testing/selftests/iommu builds, with no new warning,
#                for a patch that touches it or include/uapi
#   warnings     W=1 and sparse (C=2) add no warning in the .c files it
#                touches (arm64, or x86_64 for those only x86_64 builds)
#   kernel-doc   scripts/kernel-doc -Wall adds no warning in the files it touches
#   coccicheck   make coccicheck MODE=report adds no finding versus the base
# A check that has nothing to test for a patch (a build-x86 for a patch
# that touches no drivers/iommu...) is "NA", not a pass.
# Warnings are compared without line numbers, against the same files just
# before the patch. Coccinelle, which costs ~1 minute a directory, runs once
# on the drivers/iommu directories the series touches, at its head, against
# the base (cached per base and spatch version); each new finding is then
# traced to the patch that introduced it by running it again just before the
# patches that touched its file, newest first.
# Results, one "PASS|FAIL|NA name [-- why]" line per patch and check, go to
# $RES ($RESULTS/patches.txt); logs to $LOGS/patches/.
# SERIES_DIR (default patches/) and RES may be set to check another series.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SERIES_DIR=${SERIES_DIR:-$TOP/patches}
WT=$BUILD/check/linux
OUT=$BUILD/check/out/test
OUT_X86=$BUILD/check/out/x86
OUT_DISTRO=$BUILD/check/out/distro
OUT_ST=$BUILD/check/out/selftests
PLOGS=$LOGS/patches
RES=${RES:-$RESULTS/patches.txt}
CACHE=$WB_CACHE
EXCEPTIONS=${CHECKPATCH_EXCEPTIONS:-$TOP/configs/checkpatch-exceptions}
CHECKS=(apply checkpatch build build-x86 build-distro selftests warnings kernel-doc coccicheck)

mkdir -p "$PLOGS" "$CACHE" "$(dirname "$RES")"
: >"$RES"


# Seconds each check took, per patch, in $PLOGS/timing.txt (a check's time
# runs from the previous result to its own: the "before" builds of the
# warnings go to apply).
TIMING=$PLOGS/timing.txt
: >"$TIMING"
last_result=$SECONDS

result() {	# result VERDICT PATCH CHECK [WHY]
	local line="$1 patch:$2:$3"
	printf '%s %s %d\n' "$2" "$3" $((SECONDS - last_result)) >>"$TIMING"
	last_result=$SECONDS
	[ -n "${4:-}" ] && line="$line -- $4"
	printf '%s\n' "$line" >>"$RES"
	[ "$1" = FAIL ] && printf '    %s\n' "$line"
	return 0
}

# Warning lines without line and column numbers, sorted, so that they can be
# compared across a patch that moves code.
# Paths come absolute (sparse), relative to the build directory (gcc via
# ccache's CCACHE_BASEDIR: ../../linux/...) or to the source tree.
normalize() {
	sed -E "s#(^|[ ])($WT|$BUILD/cocci-wt)/#\\1#g; s#^\./##; s#^(\.\./)+linux/##" |
		sed -nE 's#^([^: ]+):[0-9]+(:[0-9]+)?(-[0-9]+)?:? *#\1: #p' |
		sed -E 's/ +/ /g; s/line [0-9]+/line N/g' | sort
}

# x86_64 build of drivers/iommu, with the host's compiler.
x86_make() {
	make -C "$WT" O="$OUT_X86" ARCH=x86_64 CROSS_COMPILE= CC="ccache gcc" \
		-j"$JOBS" "$@"
}

# Lines of $2 that are not in $1 (both sorted; multiset difference).
added() {
	comm -13 "$1" "$2"
}

touched_files() {	# files a patch modifies or adds (new names)
	sed -n 's#^diff --git a/[^ ]* b/##p' "$1" | sort -u
}

# Every file that patch $1 adds is covered by a MAINTAINERS section other than
# THE REST (run once the patch is applied).
all_maintained() {
	local f
	while read -r f; do
		(cd "$WT" && ./scripts/get_maintainer.pl --nogit --nogit-fallback --nol -f "$f") 2>/dev/null |
			grep -E '\((maintainer|supporter):' | grep -vq '(maintainer:THE REST)' || return 1
	done < <(awk '/^diff --git/ { f = $4; sub(/^b\//, "", f) } /^new file mode/ { print f }' "$1")
	return 0
}

existing() {	# the files of stdin that exist in the worktree now
	local f
	while read -r f; do
		[ -f "$WT/$f" ] && printf '%s\n' "$f"
	done
	return 0
}

# The .c files of the arguments that a build compiles: "arm64 FILE" for the
# test kernel's, "x86 FILE" for those only the x86_64 build compiles
# (drivers/iommu/intel...).
compiled() {
	local f
	for f in "$@"; do
		case "$f" in *.c) ;; *) continue ;; esac
		if [ -f "$OUT/${f%.c}.o" ]; then
			printf 'arm64 %s\n' "$f"
		elif [ -f "$OUT_X86/${f%.c}.o" ]; then
			printf 'x86 %s\n' "$f"
		fi
	done
	return 0
}

# W=1 and sparse on the given .c files that the test config (or else the
# x86_64 config) builds. The objects are removed first, or make would not
# compile them again. Kbuild's W=1 also runs kernel-doc; its warnings (no
# column number) are left to the kernel-doc check.
warnings_of() {
	local arch f arm=() x86=()
	while read -r arch f; do
		if [ "$arch" = arm64 ]; then arm+=("${f%.c}.o"); else x86+=("${f%.c}.o"); fi
	done < <(compiled "$@")
	{
		if [ "${#arm[@]}" -gt 0 ]; then
			for f in "${arm[@]}"; do rm -f "$OUT/$f"; done
			kmake "$WT" "$OUT" W=1 C=2 "${arm[@]}" 2>&1
		fi
		if [ "${#x86[@]}" -gt 0 ]; then
			for f in "${x86[@]}"; do rm -f "$OUT_X86/$f"; done
			x86_make W=1 C=2 "${x86[@]}" 2>&1
		fi
	} | grep -vE '^[^: ]+:[0-9]+: warning: ' | normalize | only_in "$@"
}

# The iommu kselftests, built from the worktree against its uAPI headers,
# into a fresh directory; their compiler's warnings, normalized, on stdout.
# False if they do not build.
# The uAPI headers are installed again only when $1 is set (a patch that
# touches include/uapi) or when none are installed yet. The result (the
# log, whether it built) is kept in the cache under a hash of everything
# that goes into the build: the sources, the installed headers, the
# compiler's version; the same inputs again reuse it (the programs compile
# and link in one step, which ccache does not cache).
selftests_of() {
	local rc=0 key
	mkdir -p "$OUT_ST/hdr" "$CACHE/selftests"
	: >"$OUT_ST/log"
	if [ -n "${1:-}" ] || ! [ -f "$OUT_ST/hdr/usr/include/linux/iommufd.h" ]; then
		make -C "$WT" O="$OUT_ST/hdr" ARCH="$ARCH" -s headers >"$OUT_ST/log" 2>&1 || rc=1
	fi
	key=$( {
		"${CROSS_COMPILE}gcc" --version | head -1
		(cd "$WT" && git ls-files -s tools/testing/selftests/iommu tools/testing/selftests/kselftest_harness.h \
			tools/testing/selftests/kselftest.h tools/testing/selftests/lib.mk tools/include)
		find "$OUT_ST/hdr/usr/include" -type f -print0 | sort -z | xargs -0 sha256sum
	} | sha256sum | cut -c1-32)
	if [ "$rc" -eq 0 ] && [ -f "$CACHE/selftests/$key.log" ]; then
		sed "s#@WT@#$WT#g" "$CACHE/selftests/$key.log" >>"$OUT_ST/log"
		rc=$(cat "$CACHE/selftests/$key.rc")
	elif [ "$rc" -eq 0 ]; then
		rm -rf "${OUT_ST:?}/bin"
		mkdir -p "$OUT_ST/bin"
		make -C "$WT/tools/testing/selftests/iommu" \
			CC="${CROSS_COMPILE}gcc" ARCH="$ARCH" \
			KHDR_INCLUDES="-isystem $OUT_ST/hdr/usr/include" \
			OUTPUT="$OUT_ST/bin" -k -j"$JOBS" >"$OUT_ST/st.log" 2>&1 || rc=1
		cat "$OUT_ST/st.log" >>"$OUT_ST/log"
		sed "s#$WT#@WT@#g" "$OUT_ST/st.log" >"$CACHE/selftests/$key.log"
		echo "$rc" >"$CACHE/selftests/$key.rc"
	fi
	sed -E "s#(^|[ ])$WT/tools/testing/selftests/iommu/#\\1tools/testing/selftests/iommu/#g" \
		"$OUT_ST/log" | grep -E ': (warning|error): ' | normalize
	return "$rc"
}

# Debian's arm64 config, from the pinned linux-config-6.12 (else the newest,
# with a warning), with KUnit off and what the series needs on.
distro_config() {
	local deb dir
	dir=$BUILD/check/distro-config
	rm -rf "$dir"
	mkdir -p "$dir"
	mapfile -t deb < <("$TOP/scripts/debpkg.sh" "$DISTRO_CONFIG_PACKAGE" arm64 \
		"$DISTRO_CONFIG_VERSION" "$CACHE/debs" "$DISTRO_CONFIG_SHA256") || return 1
	say "patches: distro config: $DISTRO_CONFIG_PACKAGE ${deb[1]} (arm64)"
	dpkg-deb -x "${deb[0]}" "$dir/x" && xz -dc "$dir/x/$DISTRO_CONFIG_FILE" >"$dir/config" ||
		return 1
	mkdir -p "$OUT_DISTRO"
	cp "$dir/config" "$OUT_DISTRO/.config"
	"$WT/scripts/config" --file "$OUT_DISTRO/.config" -d KUNIT -m IOMMUFD \
		-e VFIO_DEVICE_CDEV -d DEBUG_INFO_BTF -d DEBUG_INFO_DWARF5 \
		-d DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT -e DEBUG_INFO_NONE \
		--set-str SYSTEM_TRUSTED_KEYS "" --set-str SYSTEM_REVOCATION_KEYS "" \
		-d MODULE_SIG_ALL --set-str MODULE_SIG_KEY ""
	distro_make olddefconfig || return 1
	local o
	for o in "CONFIG_IOMMUFD=m" "CONFIG_VFIO_DEVICE_CDEV=y"; do
		grep -qx "$o" "$OUT_DISTRO/.config" || { warn "distro config: no $o"; return 1; }
	done
	grep -q '^CONFIG_KUNIT=y' "$OUT_DISTRO/.config" && { warn "distro config: KUnit is on"; return 1; }
	return 0
}
distro_make() {
	make -C "$WT" O="$OUT_DISTRO" ARCH="$ARCH" CROSS_COMPILE="$CROSS_COMPILE" \
		CC="ccache ${CROSS_COMPILE}gcc" -j"$JOBS" "$@"
}

# The lines of stdin (normalized) that are about one of the given files:
# building an object can rebuild prerequisites (the vDSO...) with warnings of
# their own.
only_in() {
	awk -F': ' 'NR == FNR { want[$0]; next } ($1 in want)' \
		<(printf '%s\n' "$@") -
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

# coccicheck findings in one directory of drivers/iommu. It resolves M=
# against O=, so it runs in the source tree, where some semantic patches
# leave temporary files: only ever in the checker's own worktrees.
cocci_of() {
	make -C "$WT" ARCH="$ARCH" -j"$JOBS" coccicheck MODE=report M="$1" \
		2>/dev/null | normalize
}

# drivers/iommu directories holding the given files; a directory inside
# another one listed is covered by it (coccicheck recurses).
cocci_dirs() {
	local f d last=
	for f in "$@"; do
		case "$f" in drivers/iommu/*.[ch]) dirname "$f" ;; esac
	done | sort -u | while read -r d; do
		if [ -n "$last" ] && [ "${d#"$last"/}" != "$d" ]; then continue; fi
		printf '%s\n' "$d"
		last=$d
	done
}

# Findings of coccicheck over directory $2 with the worktree $1 at commit $3,
# cached by the commit's tree (sources and semantic patches: the same tree
# gives the same findings) and spatch's version: the base's, and a series'
# head that did not change since the last run (the checker's self-test
# generates the same trees each time), cost nothing.
cocci_at() {
	local wt=$1 d=$2 rev=$3 cache tree
	tree=$(git -C "$wt" rev-parse "$rev^{tree}")
	cache=$CACHE/cocci-tree-$tree-$spatch_v-${d//\//_}.txt
	if [ -f "$cache" ]; then
		cat "$cache"
		return
	fi
	git -C "$wt" checkout -q --detach "$rev"
	git -C "$wt" clean -qfdx
	(WT=$wt cocci_of "$d") >"$PLOGS/cocci.tmp"
	cp "$PLOGS/cocci.tmp" "$cache.tmp" && mv "$cache.tmp" "$cache"
	cat "$PLOGS/cocci.tmp"
}

mapfile -t series < <(grep -v '^[[:space:]]*\(#\|$\)' "$SERIES_DIR/series" 2>/dev/null || true)
if [ "${#series[@]}" -eq 0 ]; then
	say "patches: the series is empty; nothing to check"
	exit 0
fi

# A worktree of build/linux at the base, and its own build directory.
[ -d "$TREE/.git" ] || die "no work tree: run 'make tree'"
worktree_at "$WT" base

say "patches: building the base for the checks (log $PLOGS/base-build.log)"
KCONFIG_PARTIAL=1 KSRC=$WT KOUT=$OUT "$TOP/scripts/build.sh" kernel test >"$PLOGS/base-build.log" 2>&1 ||
	die "the base does not build; see $PLOGS/base-build.log"

say "patches: x86_64 build of drivers/iommu at the base (log $PLOGS/base-build-x86.log)"
{
	x86_make KCONFIG_ALLCONFIG="$TOP/configs/x86_64.config" allnoconfig &&
		x86_make drivers/iommu/
} >"$PLOGS/base-build-x86.log" 2>&1 ||
	die "the base does not build for x86_64; see $PLOGS/base-build-x86.log"
for o in CONFIG_INTEL_IOMMU CONFIG_IOMMUFD; do
	grep -q "^$o=y" "$OUT_X86/.config" || die "x86_64 config: $o is not set"
done

# The distribution-like build at the base: if the base itself does not
# build there, the check cannot tell a patch's breakage (it fails, naming
# the base).
say "patches: Debian arm64 config build of drivers/iommu, drivers/vfio at the base (log $PLOGS/base-build-distro.log)"
distro=ok
{ distro_config && distro_make drivers/iommu/ drivers/vfio/; } >"$PLOGS/base-build-distro.log" 2>&1 ||
	distro="the base does not build with Debian's config; log $PLOGS/base-build-distro.log"
grep -E '^(WARNING|==>)' "$PLOGS/base-build-distro.log" || true

# The kselftests at the base: their warnings, or that they do not build
say "patches: iommu kselftests at the base"
rm -rf "${OUT_ST:?}/hdr"
selftests_of 1 >"$PLOGS/base-selftests.warnings" || echo "(the base's kselftests do not build)" >>"$PLOGS/base-selftests.warnings"

spatch_v=$(spatch --version 2>/dev/null | head -1 | awk '{print $3}')
applied=1
i=0
declare -A commit_of touched_by
for p in "${series[@]}"; do
	i=$((i + 1))
	pf=$SERIES_DIR/$p
	log=$PLOGS/${p%.patch}
	say "patch $i/${#series[@]}: $p"
	last_result=$SECONDS
	if [ "$applied" -eq 0 ]; then
		for c in "${CHECKS[@]}"; do
			result FAIL "$p" "$c" "not checked: an earlier patch does not apply"
		done
		continue
	fi
	mapfile -t files < <(touched_files "$pf")
	touched_by[$p]=" ${files[*]} "
	mapfile -t before < <(printf '%s\n' "${files[@]}" | existing)
	warnings_of "${before[@]}" >"$log.warnings-before" || true
	kerneldoc_of "${before[@]}" >"$log.kdoc-before" || true
	touches() { printf '%s\n' "${files[@]}" | grep -qE "$1"; }
	st_touched=
	if touches '^(tools/testing/selftests/iommu/|include/uapi/)'; then
		st_touched=1
		# Just before the patch: the previous patch's build, or the base's
		cp "$PLOGS/last-selftests.warnings" "$log.selftests-before" 2>/dev/null ||
			cp "$PLOGS/base-selftests.warnings" "$log.selftests-before"
	fi

	# apply
	if git -C "$WT" am -q "$pf" >"$log.apply.log" 2>&1; then
		result PASS "$p" apply
		commit_of[$p]=$(git -C "$WT" rev-parse HEAD)
	else
		git -C "$WT" am --abort >/dev/null 2>&1 || true
		result FAIL "$p" apply "git am failed; log $log.apply.log"
		applied=0
		for c in "${CHECKS[@]:1}"; do
			result FAIL "$p" "$c" "not checked: the patch does not apply"
		done
		continue
	fi

	# checkpatch: errors and warnings, and CHECKs without a written exception
	# Debian's python3 first: spdxcheck.py needs its python3-ply
	(cd "$WT" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict "$pf") >"$log.checkpatch.log" 2>&1 || true
	total=$(grep -E '^total: [0-9]+ errors, [0-9]+ warnings' "$log.checkpatch.log" || true)
	# "does MAINTAINERS need updating?" on a new file is answered when a
	# MAINTAINERS entry other than THE REST already covers it
	maint=$(grep -c '^WARNING: added, moved or deleted file(s), does MAINTAINERS need updating' \
		"$log.checkpatch.log" || true)
	if [ "$maint" -gt 0 ] && all_maintained "$pf"; then
		total=$(awk -v m="$maint" '{ $4 = $4 - m; print }' <<<"$total")
		echo "(MAINTAINERS warning answered: every added file has a maintainer)" >>"$log.checkpatch.log"
	fi
	unexplained=$(python3 "$TOP/scripts/checkpatch_checks.py" "$EXCEPTIONS" "$pf" \
		"$log.checkpatch.log" 2>&1) || true
	if ! [[ $total =~ ^total:\ 0\ errors,\ 0\ warnings ]]; then
		result FAIL "$p" checkpatch "${total:-no verdict}; log $log.checkpatch.log"
	elif [ -n "$unexplained" ]; then
		printf '%s\n' "$unexplained" >"$log.checkpatch-checks"
		result FAIL "$p" checkpatch "$(wc -l <"$log.checkpatch-checks") CHECK(s) not explained in configs/checkpatch-exceptions: $(head -1 "$log.checkpatch-checks"); all in $log.checkpatch-checks"
	else
		result PASS "$p" checkpatch
	fi

	# build
	if ! printf '%s\n' "${files[@]}" | grep -qvE '^(Documentation/|tools/|MAINTAINERS$)'; then
		result NA "$p" build "touches only Documentation/, tools/ or MAINTAINERS"
	elif kmake "$WT" "$OUT" Image >"$log.build.log" 2>&1; then
		result PASS "$p" build
	else
		result FAIL "$p" build "the kernel does not build; log $log.build.log"
	fi

	# build-x86
	if ! touches '^(drivers/iommu|include)/'; then
		result NA "$p" build-x86 "touches no drivers/iommu or include"
	elif x86_make drivers/iommu/ >"$log.build-x86.log" 2>&1; then
		result PASS "$p" build-x86
	else
		result FAIL "$p" build-x86 "drivers/iommu does not build for x86_64; log $log.build-x86.log"
	fi

	# build-distro
	if ! touches '^(drivers/iommu|drivers/vfio|include)/'; then
		result NA "$p" build-distro "touches no drivers/iommu, drivers/vfio or include"
	elif [ "$distro" != ok ]; then
		result FAIL "$p" build-distro "$distro"
	elif distro_make drivers/iommu/ drivers/vfio/ >"$log.build-distro.log" 2>&1; then
		result PASS "$p" build-distro
	else
		result FAIL "$p" build-distro "drivers/iommu or drivers/vfio does not build with Debian's arm64 config: $(grep -m1 -E ': error: ' "$log.build-distro.log" | normalize | head -1); log $log.build-distro.log"
	fi

	# selftests: they build, with no warning that was not there before
	if [ -z "$st_touched" ]; then
		result NA "$p" selftests "touches no tools/testing/selftests/iommu or include/uapi"
	else
		st_built=1
		uapi=
		touches '^include/uapi/' && uapi=1
		selftests_of "$uapi" >"$log.selftests-after" || st_built=0
		cp "$OUT_ST/log" "$log.selftests.log"
		new=$(added <(grep -v '^(' "$log.selftests-before" || true) "$log.selftests-after")
		[ "$st_built" -eq 1 ] || echo "(the kselftests do not build)" >>"$log.selftests-after"
		cp "$log.selftests-after" "$PLOGS/last-selftests.warnings"
		if [ -n "$new" ]; then
			printf '%s\n' "$new" >"$log.selftests-new"
			result FAIL "$p" selftests "$(wc -l <"$log.selftests-new") new warning(s) or error(s) (-Werror): $(head -1 "$log.selftests-new"); all in $log.selftests-new"
		elif [ "$st_built" -eq 0 ]; then
			result FAIL "$p" selftests "tools/testing/selftests/iommu does not build$(grep -q '^(' "$log.selftests-before" && echo ', nor did it before'): $(grep -m1 ': error: ' "$log.selftests-after" || true); log $log.selftests.log"
		else
			result PASS "$p" selftests
		fi
	fi

	# warnings (W=1, sparse) and kernel-doc, versus just before the patch
	mapfile -t after < <(printf '%s\n' "${files[@]}" | existing)
	warnings_of "${after[@]}" >"$log.warnings-after" || true
	new=$(added "$log.warnings-before" "$log.warnings-after")
	if [ -n "$new" ]; then
		printf '%s\n' "$new" >"$log.warnings-new"
		result FAIL "$p" warnings "$(wc -l <"$log.warnings-new") new: $(head -1 "$log.warnings-new"); all in $log.warnings-new"
	elif [ -z "$(compiled "${after[@]}")" ]; then
		result NA "$p" warnings "no .c file it touches is compiled by the test or x86_64 config"
	else
		result PASS "$p" warnings "$(compiled "${after[@]}" | awk '{print $2 " (" $1 ")"}' | xargs)"
	fi
	kerneldoc_of "${after[@]}" >"$log.kdoc-after" || true
	new=$(added "$log.kdoc-before" "$log.kdoc-after")
	if [ -n "$new" ]; then
		printf '%s\n' "$new" >"$log.kdoc-new"
		result FAIL "$p" kernel-doc "$(wc -l <"$log.kdoc-new") new: $(head -1 "$log.kdoc-new"); all in $log.kdoc-new"
	elif ! printf '%s\n' "${after[@]}" | grep -vE '^(tools|Documentation|scripts|samples)/' | grep -qE '\.[ch]$'; then
		result NA "$p" kernel-doc "no kernel .c or .h file"
	else
		result PASS "$p" kernel-doc
	fi

done

# coccicheck: once at the head of the series, against the base.
declare -A cocci_fail
applied_patches=()
for p in "${series[@]}"; do
	[ -n "${commit_of[$p]:-}" ] && applied_patches+=("$p")
done
all_files=()
for p in "${applied_patches[@]}"; do
	read -ra f <<<"${touched_by[$p]}"
	all_files+=("${f[@]}")
done
mapfile -t dirs < <(cocci_dirs "${all_files[@]}")
if [ "${#dirs[@]}" -gt 0 ]; then
	cwt=$BUILD/cocci-wt
	worktree_at "$cwt" base
	head=${commit_of[${applied_patches[-1]}]}
	for d in "${dirs[@]}"; do
		say "patches: coccicheck over $d (base, then the series' head)"
		cocci_at "$cwt" "$d" base >"$PLOGS/cocci-base-${d//\//_}"
		cocci_at "$cwt" "$d" "$head" >"$PLOGS/cocci-head-${d//\//_}"
		while IFS= read -r finding; do
			[ -n "$finding" ] || continue
			file=${finding%%: *}
			# Newest patch touching the file first: the finding came with
			# the first one before which it is absent.
			culprit=
			for ((k = ${#applied_patches[@]} - 1; k >= 0; k--)); do
				p=${applied_patches[$k]}
				[[ ${touched_by[$p]} == *" $file "* ]] || continue
				culprit=$p
				if ! cocci_at "$cwt" "$d" "${commit_of[$p]}~1" |
					grep -qxF -- "$finding"; then
					break
				fi
			done
			[ -n "$culprit" ] || culprit=${applied_patches[-1]}
			cocci_fail[$culprit]+="$finding; "
		done < <(added "$PLOGS/cocci-base-${d//\//_}" "$PLOGS/cocci-head-${d//\//_}")
	done
fi
for p in "${series[@]}"; do
	[ -n "${commit_of[$p]:-}" ] || continue
	read -ra f <<<"${touched_by[$p]}"
	if [ -n "${cocci_fail[$p]:-}" ]; then
		result FAIL "$p" coccicheck "new findings: ${cocci_fail[$p]}"
	elif [ -z "$(cocci_dirs "${f[@]}")" ]; then
		result NA "$p" coccicheck "touches no .c or .h file of drivers/iommu"
	else
		result PASS "$p" coccicheck
	fi
done

say "patches: $(grep -c '^PASS' "$RES") passed, $(grep -c '^FAIL' "$RES") failed, $(grep -c '^NA' "$RES") not applicable"
! grep -q '^FAIL' "$RES"
