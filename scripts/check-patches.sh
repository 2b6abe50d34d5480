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
#                in the drivers/iommu files the series touches
# A check that has nothing to test for a patch (a build-x86 for a patch
# that touches no drivers/iommu...) is "NA", not a pass. The checks from
# checkpatch to kernel-doc are one function each, in the table CHECK_TABLE
# with the test that says whether they apply; they run at once (the
# warnings after the builds), their verdicts are written in the table's
# order.
# Warnings are compared without line numbers, against the same files just
# before the patch. Coccinelle, which costs minutes, runs once on the
# drivers/iommu files the series touches, at its head, against the base
# (cached per tree, files and spatch version), in the background beside
# the per-patch loop; each new finding is then
# traced to the patch that introduced it by running it again just before the
# patches that touched its file, newest first.
# Every patch is first applied (git am), which gives its tree. Its verdicts
# from checkpatch to kernel-doc are cached (with its logs) in $WB_CACHE,
# under a hash of the tree before it, its own tree, its author and message
# (checkpatch reads them) and checker_inputs (lib.sh: this script, what it
# runs, the exceptions, the config fragments, the Debian config's pin, the
# compilers): a patch whose key is there is not checked again, its verdicts
# are written as they were ("cached" in timing.txt, and in the why of a
# FAIL). The base is built only when some patch is not cached. WB_RECHECK=1
# checks every patch again (and caches the new verdicts).
# Results, one "PASS|FAIL|NA name [-- why]" line per patch and check, go to
# $RES ($RESULTS/patches.txt) through scripts/results.py; logs to
# $LOGS/patches/.
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
CWT=$BUILD/cocci-wt
PLOGS=$LOGS/patches
RES=${RES:-$RESULTS/patches.txt}
CACHE=$WB_CACHE
EXCEPTIONS=${CHECKPATCH_EXCEPTIONS:-$TOP/configs/checkpatch-exceptions}

mkdir -p "$PLOGS" "$CACHE" "$(dirname "$RES")"
: >"$RES"

# Seconds each check took, per patch, in $PLOGS/timing.txt, with "cached"
# after those whose verdict came from the cache (apply's time runs from the
# previous result: applying the patch and the "before" builds of the
# warnings; the checks of CHECK_TABLE, which run at once, have their own).
TIMING=$PLOGS/timing.txt
: >"$TIMING"
last_result=$SECONDS

# result VERDICT PATCH CHECK [WHY [CACHED]]: one result, printed at once if
# it is a failure, written to $RES by flush_results (one results.py a
# patch: it costs a third of a second). CACHED, where the verdict came from
# the cache, says so after a failure's why.
PENDING=()
CACHED_VERDICT="cached: the verdict of an earlier run on the same trees with the same checker; WB_RECHECK=1 checks again"
result() {
	local why=${4:-} mark=
	if [ -n "${5:-}" ]; then
		mark=" cached"
		[ "$1" = FAIL ] && why+=" ($5)"
	fi
	printf '%s %s %d%s\n' "$2" "$3" $((SECONDS - last_result)) "$mark" >>"$TIMING"
	last_result=$SECONDS
	PENDING+=("$1"$'\t'"patch:$2:$3"$'\t'"$why")
	[ "$1" = FAIL ] && printf '    %s\n' "$1 patch:$2:$3 -- $why"
	return 0
}
flush_results() {
	[ "${#PENDING[@]}" -gt 0 ] || return 0
	printf '%s\n' "${PENDING[@]}" | python3 "$TOP/scripts/results.py" add "$RES" -
	PENDING=()
}

# Warning lines without line and column numbers, sorted, so that they can be
# compared across a patch that moves code.
# Paths come absolute (sparse), relative to the build directory (gcc via
# ccache's CCACHE_BASEDIR: ../../linux/...) or to the source tree.
normalize() {
	sed -E "s#(^|[ ])($WT|$CWT)/#\\1#g; s#^\./##; s#^(\.\./)+linux/##" |
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
# The uAPI headers are installed again when the worktree's include/uapi and
# arm64's are not those they were installed from (a patch that touches them,
# or the first one checked after patches whose verdicts were cached). The
# result (the log, whether it built) is cached under a hash of everything
# that goes into the build: the sources, the installed headers, the
# compiler's version; the same inputs again reuse it (the programs compile
# and link in one step, which ccache does not cache).
selftests_of() {
	local rc=0 key uapi
	mkdir -p "$OUT_ST/hdr"
	: >"$OUT_ST/log"
	uapi=$(git -C "$WT" rev-parse HEAD:include/uapi "HEAD:arch/$ARCH/include/uapi" | xargs)
	if [ "$(cat "$OUT_ST/hdr/.uapi" 2>/dev/null)" != "$uapi" ] ||
		! [ -f "$OUT_ST/hdr/usr/include/linux/iommufd.h" ]; then
		rm -f "$OUT_ST/hdr/.uapi"
		if make -C "$WT" O="$OUT_ST/hdr" ARCH="$ARCH" -s headers >"$OUT_ST/log" 2>&1; then
			echo "$uapi" >"$OUT_ST/hdr/.uapi"
		else
			rc=1
		fi
	fi
	key=$( {
		"${CROSS_COMPILE}gcc" --version | head -1
		(cd "$WT" && git ls-files -s tools/testing/selftests/iommu tools/testing/selftests/kselftest_harness.h \
			tools/testing/selftests/kselftest.h tools/testing/selftests/lib.mk tools/include)
		find "$OUT_ST/hdr/usr/include" -type f -print0 | sort -z | xargs -0 sha256sum
	} | sha256sum | cut -c1-32)
	if [ "$rc" -eq 0 ] && cache_has "selftests/$key"; then
		sed "s#@WT@#$WT#g" "$CACHE/selftests/$key/log" >>"$OUT_ST/log"
		rc=$(cat "$CACHE/selftests/$key/rc")
	elif [ "$rc" -eq 0 ]; then
		rm -rf "${OUT_ST:?}/bin" "${OUT_ST:?}/entry"
		mkdir -p "$OUT_ST/bin" "$OUT_ST/entry"
		make -C "$WT/tools/testing/selftests/iommu" \
			CC="${CROSS_COMPILE}gcc" ARCH="$ARCH" \
			KHDR_INCLUDES="-isystem $OUT_ST/hdr/usr/include" \
			OUTPUT="$OUT_ST/bin" -k -j"$JOBS" >"$OUT_ST/st.log" 2>&1 || rc=1
		cat "$OUT_ST/st.log" >>"$OUT_ST/log"
		sed "s#$WT#@WT@#g" "$OUT_ST/st.log" >"$OUT_ST/entry/log"
		echo "$rc" >"$OUT_ST/entry/rc"
		cache_put "selftests/$key" "$OUT_ST/entry"
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
	mapfile -t deb < <(python3 "$TOP/scripts/debian.py" fetch "$DISTRO_CONFIG_PACKAGE" arm64 \
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

# coccicheck findings in one directory of drivers/iommu, in the files of it
# that the series touches (listed in $PLOGS/cocci-files): spatch ignores
# the others (--ignore), which are most of drivers/iommu and most of
# coccinelle's time. It resolves M= against O=, so it runs in the source
# tree, where some semantic patches leave temporary files: only ever in
# the checker's own worktrees.
cocci_of() {
	local f ignore=()
	while read -r f; do
		grep -qxF -- "$f" "$PLOGS/cocci-files" || ignore+=(--ignore "$f")
	done < <(git -C "$WT" ls-files -- "$1" | grep -E '\.[ch]$')
	make -C "$WT" ARCH="$ARCH" -j"$JOBS" coccicheck MODE=report M="$1" \
		SPFLAGS="${ignore[*]}" 2>/dev/null | normalize
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
# gives the same findings), the files looked at and spatch's version: the
# base's, and a series'
# head that did not change since the last run (the checker's own test
# generates the same trees each time), cost nothing. The worktree is made
# (or reset) only when coccicheck has to run.
cocci_ready=
cocci_at() {
	local wt=$1 d=$2 rev=$3 name tmp
	tmp=$PLOGS/cocci-${d//\//_}.tmp
	name=cocci-tree-$(git -C "$WT" rev-parse "$rev^{tree}")-$spatch_v-${d//\//_}-$(sha256sum <"$PLOGS/cocci-files" | cut -c1-16).txt
	if cache_has "$name"; then
		cat "$CACHE/$name"
		return
	fi
	[ -n "$cocci_ready" ] || worktree_at "$wt" base
	cocci_ready=1
	git -C "$wt" checkout -q --detach "$rev"
	git -C "$wt" clean -qfdx
	(WT=$wt cocci_of "$d") >"$tmp"
	cache_put "$name" "$tmp"
	cat "$tmp"
}

# coccicheck_heads: coccinelle's findings at the base and at the series'
# head, for each directory of $dirs, in $PLOGS/cocci-{base,head}-DIR;
# $PLOGS/cocci-ran if coccinelle ran (some came not from the cache).
# It runs in the background beside the per-patch loop, in its own worktree:
# that loop leaves a core idle much of the time (checkpatch, sparse and
# kernel-doc are one process each).
coccicheck_heads() {
	local d
	for d in "${dirs[@]}"; do
		cocci_at "$CWT" "$d" base >"$PLOGS/cocci-base-${d//\//_}"
		cocci_at "$CWT" "$d" "$head" >"$PLOGS/cocci-head-${d//\//_}"
	done
	[ -z "$cocci_ready" ] || : >"$PLOGS/cocci-ran"
}

# The base's builds, on which each patch's builds are incremental: the test
# kernel, drivers/iommu for x86_64, Debian's config (if the base itself does
# not build there, build-distro cannot tell a patch's breakage: it fails,
# naming the base), the kselftests (their warnings at the base).
distro=ok
build_base() {
	local o
	git -C "$WT" checkout -q --detach base
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

	say "patches: Debian arm64 config build of drivers/iommu, drivers/vfio at the base (log $PLOGS/base-build-distro.log)"
	{ distro_config && distro_make drivers/iommu/ drivers/vfio/; } >"$PLOGS/base-build-distro.log" 2>&1 ||
		distro="the base does not build with Debian's config; log $PLOGS/base-build-distro.log"
	grep -E '^(WARNING|==>)' "$PLOGS/base-build-distro.log" || true

	say "patches: iommu kselftests at the base"
	rm -rf "${OUT_ST:?}/hdr"
	selftests_of >"$PLOGS/base-selftests.warnings" ||
		echo "(the base's kselftests do not build)" >>"$PLOGS/base-selftests.warnings"
}

# Whether a check applies, from the files the patch touches ($files) or
# those of them that exist once it is applied ($after).
always() { return 0; }
touches() { printf '%s\n' "${files[@]}" | grep -qE "$1"; }
touches_kernel() { printf '%s\n' "${files[@]}" | grep -qvE '^(Documentation/|tools/|MAINTAINERS$)'; }
touches_iommu() { touches '^(drivers/iommu|include)/'; }
touches_iommu_vfio() { touches '^(drivers/iommu|drivers/vfio|include)/'; }
touches_selftests() { touches '^(tools/testing/selftests/iommu/|include/uapi/)'; }
kernel_sources() {
	printf '%s\n' "${after[@]}" | grep -vE '^(tools|Documentation|scripts|samples)/' | grep -qE '\.[ch]$'
}

# The checks, run in the worktree with patch $p ($pf) applied; logs at
# $log.*. Each says its verdict with: verdict PASS|FAIL|NA [WHY]
verdict() { V=$1 W=${2:-}; }

# errors and warnings, and CHECKs without a written exception
check_checkpatch() {
	local total maint unexplained
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
		verdict FAIL "${total:-no verdict}; log $log.checkpatch.log"
	elif [ -n "$unexplained" ]; then
		printf '%s\n' "$unexplained" >"$log.checkpatch-checks"
		verdict FAIL "$(wc -l <"$log.checkpatch-checks") CHECK(s) not explained in configs/checkpatch-exceptions: $(head -1 "$log.checkpatch-checks"); all in $log.checkpatch-checks"
	else
		verdict PASS
	fi
}

check_build() {
	if kmake "$WT" "$OUT" Image >"$log.build.log" 2>&1; then
		verdict PASS
	else
		verdict FAIL "the kernel does not build; log $log.build.log"
	fi
}

check_build_x86() {
	if x86_make drivers/iommu/ >"$log.build-x86.log" 2>&1; then
		verdict PASS
	else
		verdict FAIL "drivers/iommu does not build for x86_64; log $log.build-x86.log"
	fi
}

check_build_distro() {
	if [ "$distro" != ok ]; then
		verdict FAIL "$distro"
	elif distro_make drivers/iommu/ drivers/vfio/ >"$log.build-distro.log" 2>&1; then
		verdict PASS
	else
		verdict FAIL "drivers/iommu or drivers/vfio does not build with Debian's arm64 config: $(grep -m1 -E ': error: ' "$log.build-distro.log" | normalize | head -1); log $log.build-distro.log"
	fi
}

# they build, with no warning that the last build of them did not have (the
# last patch's that touched them, or the base's)
check_selftests() {
	local built=1 new
	cp "$PLOGS/last-selftests.warnings" "$log.selftests-before" 2>/dev/null ||
		cp "$PLOGS/base-selftests.warnings" "$log.selftests-before"
	selftests_of >"$log.selftests-after" || built=0
	cp "$OUT_ST/log" "$log.selftests.log"
	new=$(added <(grep -v '^(' "$log.selftests-before" || true) "$log.selftests-after")
	[ "$built" -eq 1 ] || echo "(the kselftests do not build)" >>"$log.selftests-after"
	cp "$log.selftests-after" "$PLOGS/last-selftests.warnings"
	if [ -n "$new" ]; then
		printf '%s\n' "$new" >"$log.selftests-new"
		verdict FAIL "$(wc -l <"$log.selftests-new") new warning(s) or error(s) (-Werror): $(head -1 "$log.selftests-new"); all in $log.selftests-new"
	elif [ "$built" -eq 0 ]; then
		verdict FAIL "tools/testing/selftests/iommu does not build$(grep -q '^(' "$log.selftests-before" && echo ', nor did it before'): $(grep -m1 ': error: ' "$log.selftests-after" || true); log $log.selftests.log"
	else
		verdict PASS
	fi
}

# fail_if_new NAME: FAIL, with the new lines in $log.NAME-new, when
# $log.NAME-after has lines that $log.NAME-before (just before the patch)
# has not; else false
fail_if_new() {
	local new
	new=$(added "$log.$1-before" "$log.$1-after")
	[ -n "$new" ] || return 1
	printf '%s\n' "$new" >"$log.$1-new"
	verdict FAIL "$(wc -l <"$log.$1-new") new: $(head -1 "$log.$1-new"); all in $log.$1-new"
}

# W=1 and sparse
check_warnings() {
	warnings_of "${after[@]}" >"$log.warnings-after" || true
	if fail_if_new warnings; then
		return 0
	elif [ -z "$(compiled "${after[@]}")" ]; then
		verdict NA "no .c file it touches is compiled by the test or x86_64 config"
	else
		verdict PASS "$(compiled "${after[@]}" | awk '{print $2 " (" $1 ")"}' | xargs)"
	fi
}

check_kerneldoc() {
	kerneldoc_of "${after[@]}" >"$log.kdoc-after" || true
	fail_if_new kdoc || verdict PASS
}

# A patch's checks after apply, in order: NAME|APPLIES|NA WHY|FUNCTION|STAGE.
# When the test APPLIES is false the check is NA with that why; else
# FUNCTION gives the verdict (NA too, when it finds nothing to test).
# The checks of a stage run at once, each in a subshell (most of them are
# one process for most of their time: checkpatch, a build's link); stage 2
# after stage 1, as the warnings compile again in the builds' directories.
CHECK_TABLE=(
	"checkpatch|always||check_checkpatch|1"
	"build|touches_kernel|touches only Documentation/, tools/ or MAINTAINERS|check_build|1"
	"build-x86|touches_iommu|touches no drivers/iommu or include|check_build_x86|1"
	"build-distro|touches_iommu_vfio|touches no drivers/iommu, drivers/vfio or include|check_build_distro|1"
	"selftests|touches_selftests|touches no tools/testing/selftests/iommu or include/uapi|check_selftests|1"
	"warnings|always||check_warnings|2"
	"kernel-doc|kernel_sources|no kernel .c or .h file|check_kerneldoc|1"
)
CHECKS=(apply)
for row in "${CHECK_TABLE[@]}"; do CHECKS+=("${row%%|*}"); done
CHECKS+=(coccicheck)

# check_patch PREV: check patch $p, whose commit is ${commit_of[$p]} and
# that of the patch before it PREV; then cache its verdicts and logs (unless
# the base's Debian config build failed: that may be the network's doing).
# When the build directories are not at PREV (the patches before were
# cached) they are built there first, so that "before" means PREV.
check_patch() {
	local prev=$1 row name applies na fn stage V W secs record='' f entry=$PLOGS/entry pid
	local -a before after pids
	git -C "$WT" checkout -q --detach "$prev"
	if [ -n "$stale" ]; then
		{ kmake "$WT" "$OUT" Image; x86_make drivers/iommu/; } >"$log.build-before.log" 2>&1 || true
	fi
	mapfile -t before < <(printf '%s\n' "${files[@]}" | existing)
	kerneldoc_of "${before[@]}" >"$log.kdoc-before" &
	pid=$!
	warnings_of "${before[@]}" >"$log.warnings-before" || true
	wait "$pid" || true
	git -C "$WT" checkout -q --detach "${commit_of[$p]}"
	result PASS "$p" apply
	mapfile -t after < <(printf '%s\n' "${files[@]}" | existing)
	for stage in 1 2; do
		pids=()
		for row in "${CHECK_TABLE[@]}"; do
			IFS='|' read -r name applies na fn f <<<"$row"
			[ "$f" = "$stage" ] || continue
			if "$applies"; then
				run_check "$name" "$fn" &
				pids+=("$!")
			else
				printf 'NA\t0\t%s\n' "$na" >"$log.verdict-$name"
			fi
		done
		for pid in "${pids[@]}"; do wait "$pid" || true; done
	done
	for row in "${CHECK_TABLE[@]}"; do
		name=${row%%|*}
		IFS=$'\t' read -r V secs W <"$log.verdict-$name" ||
			V=FAIL secs=0 W="the check stopped without a verdict; see $LOGS/check-patches.log"
		rm -f "$log.verdict-$name"
		last_result=$((SECONDS - secs))
		result "$V" "$p" "$name" "$W"
		record+="$V"$'\t'"$name"$'\t'"${W//"$log"/@LOG@}"$'\n'
	done
	[ "$distro" = ok ] || return 0
	rm -rf "$entry"
	mkdir -p "$entry/logs"
	printf '%s' "$record" >"$entry/results"
	for f in "$log".*; do
		[ "$f" = "$log.apply.log" ] || cp "$f" "$entry/logs/${f#"$log".}"
	done
	cache_put "patch-checks/${key_of[$p]}" "$entry"
	rm -rf "$entry"
}

# run_check NAME FUNCTION: FUNCTION's verdict, and the seconds it took, in
# $log.verdict-NAME (as "VERDICT<tab>SECONDS<tab>WHY"); none if it stopped.
run_check() {
	local t0=$SECONDS V=FAIL W="$2 said no verdict"
	rm -f "$log.verdict-$1"
	"$2"
	printf '%s\t%d\t%s\n' "$V" $((SECONDS - t0)) "$W" >"$log.verdict-$1"
}

# replay_patch ENTRY: patch $p's verdicts and logs from the cache entry
replay_patch() {
	local f v name why
	for f in "$1"/logs/*; do
		[ -e "$f" ] && cp "$f" "$log.${f##*/}"
	done
	while IFS=$'\t' read -r v name why; do
		result "$v" "$p" "$name" "${why//@LOG@/$log}" "$CACHED_VERDICT"
	done <"$1/results"
	# what the next patch that touches the kselftests compares with
	if [ -f "$1/logs/selftests-after" ]; then
		cp "$1/logs/selftests-after" "$PLOGS/last-selftests.warnings"
	fi
	return 0
}

mapfile -t series < <(grep -v '^[[:space:]]*\(#\|$\)' "$SERIES_DIR/series" 2>/dev/null || true)
if [ "${#series[@]}" -eq 0 ]; then
	say "patches: the series is empty; nothing to check"
	exit 0
fi
[ -d "$TREE/.git" ] || die "no work tree: run 'make tree'"
spatch_v=$(spatch --version 2>/dev/null | head -1 | awk '{print $3}')
rm -f "$PLOGS/last-selftests.warnings"

# 1. Every patch applied in turn, in a worktree of build/linux with its own
# build directories: its commit, and the key of its verdicts in the cache.
say "patches: applying the series in $WT"
worktree_at "$WT" base
inputs=$(checker_inputs)
prev_tree=$(git -C "$WT" rev-parse "base^{tree}")
declare -A commit_of=() touched_by=() key_of=() cached=()
not_applied=
for p in "${series[@]}"; do
	pf=$SERIES_DIR/$p
	log=$PLOGS/${p%.patch}
	rm -f "$log".*
	mapfile -t files < <(touched_files "$pf")
	touched_by[$p]=" ${files[*]} "
	if ! git -C "$WT" am -q "$pf" >"$log.apply.log" 2>&1; then
		git -C "$WT" am --abort >/dev/null 2>&1 || true
		not_applied=$p
		break
	fi
	commit_of[$p]=$(git -C "$WT" rev-parse HEAD)
	tree=$(git -C "$WT" rev-parse "HEAD^{tree}")
	key_of[$p]=$( {
		echo "$inputs $prev_tree $tree"
		git -C "$WT" log -1 --format='%an <%ae>%n%B' HEAD
	} | sha256sum | cut -c1-32)
	prev_tree=$tree
	if [ -z "${WB_RECHECK:-}" ] && cache_has "patch-checks/${key_of[$p]}"; then
		cached[$p]=1
	fi
done

# 2. coccicheck, once, at the series' head against the base, in the
# background (its verdicts come after the loop); the base's builds, if a
# patch is to be checked.
applied_patches=()
all_files=()
for p in "${series[@]}"; do
	[ -n "${commit_of[$p]:-}" ] || continue
	applied_patches+=("$p")
	read -ra f <<<"${touched_by[$p]}"
	all_files+=("${f[@]}")
done
mapfile -t dirs < <(cocci_dirs "${all_files[@]}")
printf '%s\n' "${all_files[@]}" | sort -u >"$PLOGS/cocci-files"
rm -f "$PLOGS/cocci-ran"
cocci_pid=
if [ "${#dirs[@]}" -gt 0 ]; then
	head=${commit_of[${applied_patches[-1]}]}
	say "patches: coccicheck over ${dirs[*]} (base, then the series' head), in the background (log $PLOGS/cocci.log)"
	coccicheck_heads >"$PLOGS/cocci.log" 2>&1 &
	cocci_pid=$!
fi
if [ "${#cached[@]}" -lt "${#commit_of[@]}" ]; then
	say "patches: $((${#commit_of[@]} - ${#cached[@]})) patch(es) to check, ${#cached[@]} with verdicts in the cache"
	build_base
else
	say "patches: the verdicts of all ${#cached[@]} applied patches are in the cache"
fi

# 3. Each patch's checks, or its cached verdicts.
i=0
prev=base
stale=
for p in "${series[@]}"; do
	i=$((i + 1))
	pf=$SERIES_DIR/$p
	log=$PLOGS/${p%.patch}
	last_result=$SECONDS
	if [ -z "${commit_of[$p]:-}" ]; then
		say "patch $i/${#series[@]}: $p"
		if [ "$p" = "$not_applied" ]; then
			result FAIL "$p" apply "git am failed; log $log.apply.log"
			for c in "${CHECKS[@]:1}"; do
				result FAIL "$p" "$c" "not checked: the patch does not apply"
			done
		else
			for c in "${CHECKS[@]}"; do
				result FAIL "$p" "$c" "not checked: an earlier patch does not apply"
			done
		fi
	elif [ -n "${cached[$p]:-}" ]; then
		say "patch $i/${#series[@]}: $p (cached)"
		result PASS "$p" apply
		replay_patch "$CACHE/patch-checks/${key_of[$p]}"
		stale=1
	else
		say "patch $i/${#series[@]}: $p"
		mapfile -t files < <(touched_files "$pf")
		check_patch "$prev"
		stale=
	fi
	flush_results
	prev=${commit_of[$p]:-$prev}
done

# coccicheck's verdicts: each finding new at the head is traced to the
# patch that brought it.
declare -A cocci_fail=()
cocci_broken=
if [ -n "$cocci_pid" ] && ! wait "$cocci_pid"; then
	cocci_broken="coccicheck did not run to its end; see $PLOGS/cocci.log"
	say "patches: $cocci_broken"
	tail -n 20 "$PLOGS/cocci.log"
fi
[ -e "$PLOGS/cocci-ran" ] && cocci_ready=1
for d in "${dirs[@]}"; do
	[ -z "$cocci_broken" ] || break
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
			cocci_at "$CWT" "$d" "${commit_of[$p]}~1" >"$PLOGS/cocci-before"
			grep -qxF -- "$finding" "$PLOGS/cocci-before" || break
		done
		[ -n "$culprit" ] || culprit=${applied_patches[-1]}
		cocci_fail[$culprit]+="$finding; "
	done < <(added "$PLOGS/cocci-base-${d//\//_}" "$PLOGS/cocci-head-${d//\//_}")
done
# when all of coccinelle's findings came from the cache, so do these verdicts
cocci_cached=
[ "${#dirs[@]}" -eq 0 ] || [ -n "$cocci_ready" ] ||
	cocci_cached="cached: coccinelle's findings on the same trees in an earlier run"
for p in "${applied_patches[@]}"; do
	read -ra f <<<"${touched_by[$p]}"
	if [ -n "$cocci_broken" ] && [ -n "$(cocci_dirs "${f[@]}")" ]; then
		result FAIL "$p" coccicheck "$cocci_broken"
	elif [ -n "${cocci_fail[$p]:-}" ]; then
		result FAIL "$p" coccicheck "new findings: ${cocci_fail[$p]}" "$cocci_cached"
	elif [ -z "$(cocci_dirs "${f[@]}")" ]; then
		result NA "$p" coccicheck "touches no .c or .h file of drivers/iommu" "$cocci_cached"
	else
		result PASS "$p" coccicheck "" "$cocci_cached"
	fi
done
flush_results

say "patches: $(grep -c '^PASS' "$RES") passed, $(grep -c '^FAIL' "$RES") failed, $(grep -c '^NA' "$RES") not applicable; ${#cached[@]} of ${#series[@]} patches' verdicts from the cache"
! grep -q '^FAIL' "$RES"
