#!/usr/bin/env python3
"""The CHECK-level findings of checkpatch --strict that no written exception
explains.

  checkpatch_checks.py EXCEPTIONS PATCH LOG
EXCEPTIONS is configs/checkpatch-exceptions ("subject", "check" and "why"
records, scripts/conf.py); PATCH the patch file (for its subject); LOG checkpatch's
output on it. Prints each unexplained CHECK ("CHECK: text (where)"), and
exits 1 if there is one; an exception without a reason is an error.
"""
import email
import email.policy
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conf  # noqa: E402


def subject_of(patch):
    with open(patch, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    return re.sub(r"^\[PATCH[^\]]*\]\s*", "", str(msg["subject"] or "")).strip()


def load_exceptions(path):
    """[{subject, check, why}]: a "subject" record starts an exception."""
    out = []
    for r in conf.records(path, missing_ok=True):
        if r.kind not in ("subject", "check", "why"):
            raise SystemExit(str(r.error("not subject, check or why")))
        if r.kind == "subject":
            out.append({})
        elif not out:
            raise SystemExit(str(r.error("an exception starts with its subject")))
        out[-1][r.kind] = r.rest
    for e in out:
        if not all(e.get(k) for k in ("subject", "check", "why")):
            raise SystemExit(f"{path}: an exception needs subject, check and why: {e}")
    return out


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    exceptions = load_exceptions(argv[0])
    subject = subject_of(argv[1])
    allowed = {e["check"] for e in exceptions if e["subject"] == subject}
    with open(argv[2], encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    bad = []
    for i, line in enumerate(lines):
        m = re.match(r"^CHECK: (.*)$", line)
        if not m or m.group(1).strip() in allowed:
            continue
        where = lines[i + 1].strip() if i + 1 < len(lines) else ""
        m2 = re.search(r"FILE: (\S+)", where)
        bad.append(f"CHECK: {m.group(1).strip()}" + (f" ({m2.group(1)})" if m2 else ""))
    if bad:
        print("\n".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
