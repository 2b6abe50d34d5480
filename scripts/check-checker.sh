#!/usr/bin/env bash
# The per-patch checks' own test: each must be able to fail, name the
# patch that broke it, and say "not applicable" (NA) rather than pass when
# it had nothing to test. Generates a throw-away series on the base (never
# written by hand, never in patches/), one patch per check it must trip:
#   1 a build break           -> build, build-x86, build-distro (and
#                                warnings: the file does not compile)
#   2 trailing whitespace     -> checkpatch
#   3 an undeclared global    -> warnings (sparse)
#   4 a wrong kernel-doc      -> kernel-doc
#   5 "x ? \"true\" : \"false\"" -> coccicheck (str_true_false)
#   6 an unused variable in a kselftest only -> selftests; the kernel's
#                                checks are NA (a selftest-only patch passed
#                                them vacuously before)
#   7 two blank lines in a row (a CHECK of checkpatch --strict) -> checkpatch
# then runs check-patches.sh on it (logs in $RUNDIR/checker/) and compares
# each patch's failing and not-applicable checks with these. The series is
# the same byte for byte each time: check-patches.sh's results on it are
# cached, and reused while the series, the base and the checker are the same
# ("cached" in the why of a failure; WB_RECHECK=1 checks again). Results go
# to $RESULTS/checker.txt.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

DIR=$BUILD/checker-test
GEN=$BUILD/checker-gen
FILE=drivers/iommu/iommufd/ioas.c
STFILE=tools/testing/selftests/iommu/iommufd_fail_nth.c
OUTRES=$RESULTS/checker.txt

rm -rf "$DIR" "$GEN" "$RUNDIR/checker"
mkdir -p "$DIR/patches" "$(dirname "$OUTRES")" "$LOGS"
: >"$OUTRES"

# Generate the series on the base without checking it out: the two files it
# edits are taken into a scratch directory, and each commit is made from
# them with an index of its own (build/linux's index, refs and files are
# not touched). Names and dates are fixed, so the same base and script give
# the same patches, byte for byte.
mkdir -p "$GEN/${FILE%/*}" "$GEN/${STFILE%/*}"
git -C "$TREE" show "base:$FILE" >"$GEN/$FILE"
git -C "$TREE" show "base:$STFILE" >"$GEN/$STFILE"
export GIT_INDEX_FILE=$GEN/.index
export GIT_AUTHOR_NAME="Checker Selftest" GIT_AUTHOR_EMAIL="checker@localhost"
export GIT_COMMITTER_NAME="Checker Selftest" GIT_COMMITTER_EMAIL="checker@localhost"
export GIT_AUTHOR_DATE="2000-01-01T00:00:00+0000" GIT_COMMITTER_DATE="2000-01-01T00:00:00+0000"
git -C "$TREE" read-tree base
tip=$(git -C "$TREE" rev-parse base)
commit() {	# commit SUBJECT: commit the two files with a message checkpatch accepts
	local f
	for f in "$FILE" "$STFILE"; do
		git -C "$TREE" update-index --cacheinfo "100644,$(git -C "$TREE" hash-object -w "$GEN/$f"),$f"
	done
	tip=$(printf '%s\n\n%s\n\nSigned-off-by: %s <%s>\n' "$1" \
		"A patch of the checker's own test; never applied for real." \
		"$GIT_AUTHOR_NAME" "$GIT_AUTHOR_EMAIL" |
		git -C "$TREE" commit-tree "$(git -C "$TREE" write-tree)" -p "$tip")
}

printf '\nint wb_check_broken(void)\n{\n\treturn wb_check_undefined;\n}\n' >>"$GEN/$FILE"
commit "iommufd: Break the build"

# Replace patch 1's function: the build is fixed, a line ends in a space.
head -n -5 "$GEN/$FILE" >"$GEN/$FILE.new" && mv "$GEN/$FILE.new" "$GEN/$FILE"
printf '\nstatic int __maybe_unused wb_check_style(void)\n{\n\treturn 1; \n}\n' >>"$GEN/$FILE"
commit "iommufd: Add trailing whitespace"

printf '\nint wb_check_global;\n' >>"$GEN/$FILE"
commit "iommufd: Add a global that is declared nowhere"

cat >>"$GEN/$FILE" <<'EOF'

/**
 * wb_check_doc() - Add one.
 * @wrong: not a parameter of this function
 *
 * Return: @value plus one.
 */
static int __maybe_unused wb_check_doc(int value)
{
	return value + 1;
}
EOF
commit "iommufd: Add a function with wrong kernel-doc"

cat >>"$GEN/$FILE" <<'EOF'

static __maybe_unused const char *wb_check_cocci(bool on)
{
	return on ? "true" : "false";
}
EOF
commit "iommufd: Add a string choice coccinelle knows a helper for"

printf '\nstatic void wb_check_warn(void)\n{\n\tint wb_unused;\n}\n' >>"$GEN/$STFILE"
commit "selftests/iommu: Add an unused variable"

printf '\n\nstatic int __maybe_unused wb_check_blank;\n' >>"$GEN/$FILE"
commit "iommufd: Add two blank lines in a row"

git -C "$TREE" format-patch -q --zero-commit -o "$DIR/patches" "base..$tip"
for f in "$DIR"/patches/*.patch; do printf '%s\n' "${f##*/}"; done >"$DIR/patches/series"
unset GIT_INDEX_FILE GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
unset GIT_AUTHOR_DATE GIT_COMMITTER_DATE
rm -rf "$GEN"

# check-patches.sh's results on this series are cached under a hash of the
# series, its base, the checker's inputs (lib.sh: checker_inputs) and this
# script: the same again are not checked again (WB_RECHECK=1 checks anyway).
key=$( {
	patches_hash "$DIR/patches"
	git -C "$TREE" rev-parse "base^{tree}"
	checker_inputs
	sha256sum <"$TOP/scripts/check-checker.sh"
} | sha256sum | cut -c1-32)
cached=
if [ -z "${WB_RECHECK:-}" ] && cache_has "checker/$key"; then
	say "the checker's own test: check-patches.sh's results on the generated series of 7 broken patches are cached"
	cp "$WB_CACHE/checker/$key" "$DIR/results.txt"
	cached=" (cached: check-patches.sh's results on the same series with the same checker; WB_RECHECK=1 checks again)"
else
	say "the checker's own test: checking a generated series of 7 broken patches (logs in $RUNDIR/checker)"
	RUNDIR=$RUNDIR/checker SERIES_DIR=$DIR/patches RES=$DIR/results.txt \
		"$TOP/scripts/check-patches.sh" >"$LOGS/checker-test.log" 2>&1 || true
	# kept only when it went to the end: 9 results a patch
	n=$(grep -c '^[A-Z]* patch:' "$DIR/results.txt" 2>/dev/null) || true
	if [ "${n:-0}" -eq 63 ]; then
		cache_put "checker/$key" "$DIR/results.txt"
	fi
fi

# What each patch must fail, what must be not applicable; the rest passes.
fails=("build build-x86 build-distro warnings" "checkpatch" "warnings" "kernel-doc"
	"coccicheck" "selftests" "checkpatch")
kernel_na="build build-x86 build-distro warnings kernel-doc coccicheck"
nas=(selftests selftests selftests selftests selftests "$kernel_na" selftests)
mapfile -t series <"$DIR/patches/series"
[ "${#series[@]}" -eq "${#fails[@]}" ] ||
	die "the checker's own test: generated ${#series[@]} patches, not ${#fails[@]}"
words() { printf '%s\n' "$@" | sort | xargs; }
for i in "${!series[@]}"; do
	p=${series[$i]}
	got=$(sed -n "s/^FAIL patch:$p:\([a-z0-9-]*\).*/\1/p" "$DIR/results.txt" | sort | xargs)
	got_na=$(sed -n "s/^NA patch:$p:\([a-z0-9-]*\).*/\1/p" "$DIR/results.txt" | sort | xargs)
	read -ra w <<<"${fails[$i]}"
	want=$(words "${w[@]}")
	read -ra w <<<"${nas[$i]}"
	want_na=$(words "${w[@]}")
	n=$(grep -c "^[A-Z]* patch:$p:" "$DIR/results.txt" || true)
	if [ "$got" = "$want" ] && [ "$got_na" = "$want_na" ] && [ "$n" -eq 9 ]; then
		python3 "$TOP/scripts/results.py" add "$OUTRES" PASS "workbench:checker.patch$((i + 1))_fails_${want// /+}"
	else
		python3 "$TOP/scripts/results.py" add "$OUTRES" FAIL "workbench:checker.patch$((i + 1))" \
			"want failing '$want' and not applicable '$want_na', got '$got' and '$got_na' ($n results); see $DIR/results.txt$cached"
	fi
done
cat "$OUTRES"
! grep -q '^FAIL' "$OUTRES"
