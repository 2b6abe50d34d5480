#!/usr/bin/env bash
# Self-test of the per-patch checks: each must be able to fail, name the
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
# each patch's failing and not-applicable checks with these. Results go to
# $RESULTS/checker.txt.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

DIR=$BUILD/checker-selftest
GEN=$BUILD/checker-gen
FILE=drivers/iommu/iommufd/ioas.c
STFILE=tools/testing/selftests/iommu/iommufd_fail_nth.c
OUTRES=$RESULTS/checker.txt

rm -rf "$DIR" "$RUNDIR/checker"
mkdir -p "$DIR/patches" "$(dirname "$OUTRES")" "$LOGS"
: >"$OUTRES"

# Generate the series in a scratch worktree.
worktree_at "$GEN" base
export GIT_AUTHOR_NAME="Checker Selftest" GIT_AUTHOR_EMAIL="checker@localhost"
export GIT_COMMITTER_NAME="Checker Selftest" GIT_COMMITTER_EMAIL="checker@localhost"
commit() {	# commit SUBJECT: commit the changes with a message checkpatch accepts
	git -C "$GEN" commit -q -s -a -m "$1" \
		-m "A patch of the checker's self-test; never applied for real."
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

git -C "$GEN" format-patch -q --zero-commit -o "$DIR/patches" base..HEAD
for f in "$DIR"/patches/*.patch; do printf '%s\n' "${f##*/}"; done >"$DIR/patches/series"
unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
git -C "$TREE" worktree remove --force "$GEN"

say "checker self-test: checking a generated series of 7 broken patches (logs in $RUNDIR/checker)"
RUNDIR=$RUNDIR/checker SERIES_DIR=$DIR/patches RES=$DIR/results.txt \
	"$TOP/scripts/check-patches.sh" >"$LOGS/checker-selftest.log" 2>&1 || true

# What each patch must fail, what must be not applicable; the rest passes.
fails=("build build-x86 build-distro warnings" "checkpatch" "warnings" "kernel-doc"
	"coccicheck" "selftests" "checkpatch")
kernel_na="build build-x86 build-distro warnings kernel-doc coccicheck"
nas=(selftests selftests selftests selftests selftests "$kernel_na" selftests)
mapfile -t series <"$DIR/patches/series"
[ "${#series[@]}" -eq "${#fails[@]}" ] ||
	die "checker self-test: generated ${#series[@]} patches, not ${#fails[@]}"
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
		echo "PASS workbench:checker.patch$((i + 1))_fails_${want// /+}" >>"$OUTRES"
	else
		echo "FAIL workbench:checker.patch$((i + 1)) -- want failing '$want' and not applicable '$want_na', got '$got' and '$got_na' ($n results); see $DIR/results.txt" >>"$OUTRES"
	fi
done
cat "$OUTRES"
! grep -q '^FAIL' "$OUTRES"
