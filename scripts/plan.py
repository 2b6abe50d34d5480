#!/usr/bin/env python3
"""Read configs/plan.conf: machines, boots, roles, test lists, deadlines and
expected skips.

As a library: load() gives a Plan. As a command, for the shell scripts:
  plan.py machine NAME              three lines: its STAGES, its QEMU
                                    arguments, its kernel parameters
  plan.py role ROLE                 the boot that ROLE means
  plan.py boot NAME                 MACHINE VARIANT LIMIT PROGRAMS (one line)
  plan.py boot-for MACHINE VARIANT  the first boot of that machine and variant
  plan.py programs VARIANT PROG,... the programs with their deadlines,
                                    PROG[:ARG...]@SECONDS,...
  plan.py check                     the boots make check runs, one a line
  plan.py boot-overhead             seconds a boot needs besides its programs
  plan.py boots                     every boot's name, one a line
  plan.py three-level               the three-level runs make check makes:
                                    NAME VARIANT RUNS LIMIT, one a line
  plan.py three-level NAME          RUNS LIMIT of one of them
"""
import fnmatch
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conf  # noqa: E402

CONF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "configs", "plan.conf")


class PlanError(Exception):
    pass


class Machine:
    def __init__(self, name, stages, qemu, kernel):
        self.name = name
        self.stages = stages
        self.qemu = qemu
        self.kernel = kernel

    def has_stage(self, n):
        return str(n) in self.stages


class Boot:
    def __init__(self, name, machine, variant, limit, programs):
        self.name = name
        self.machine = machine
        self.variant = variant
        self.limit = limit
        self.programs = programs


class Plan:
    def __init__(self):
        self.machines = {}
        self.boots = {}
        self.roles = {}
        self.check = []
        self.boot_overhead = 0
        self.kunit = set()
        self.deadlines = []
        self.skips = []
        self.seedline = None
        self.three_level = {}

    def machine(self, name):
        if name not in self.machines:
            raise PlanError(f"no machine named '{name}' in {CONF}")
        return self.machines[name]

    def boot(self, name):
        if name not in self.boots:
            raise PlanError(f"no boot named '{name}' in {CONF}")
        return self.boots[name]

    def role(self, role):
        if role not in self.roles:
            raise PlanError(f"no role '{role}' in {CONF}")
        return self.boot(self.roles[role])

    def boot_for(self, machine, variant):
        """The first boot of MACHINE on the VARIANT kernel."""
        for b in self.boots.values():
            if b.machine == machine and b.variant == variant:
                return b
        raise PlanError(f"no boot of machine '{machine}' on the {variant} kernel in {CONF}")

    def deadline(self, program, variant):
        """Seconds one program may run in the guest, or None."""
        prog = program.split(":")[0]
        for pglob, vglob, secs in self.deadlines:
            if fnmatch.fnmatchcase(prog, pglob) and fnmatch.fnmatchcase(variant, vglob):
                return secs
        return None

    def programs(self, variant, programs):
        """PROG[:ARG...]@SECONDS for each program, for /init's wb.tests=."""
        out = []
        for p in programs:
            secs = self.deadline(p, variant)
            out.append(f"{p}@{secs}" if secs else p)
        return out

    def expected_skip(self, boot, result, why):
        """The reason a skip is expected, or None if it is not."""
        for bglob, rglob, reason in self.skips:
            if (fnmatch.fnmatchcase(boot, bglob) and fnmatch.fnmatchcase(result, rglob)
                    and fnmatch.fnmatchcase(why.strip(), reason)):
                return reason
        return None


def load(path=CONF):
    plan = Plan()
    for r in conf.records(path):
        kind, args = r.kind, r.args
        try:
            if kind == "machine":
                name, stages, *rest = args
                if stages not in ("1", "2", "12"):
                    raise ValueError(f"stages '{stages}': 1, 2 or 12")
                cut = rest.index("--") if "--" in rest else len(rest)
                plan.machines[name] = Machine(name, stages, rest[:cut], rest[cut + 1:])
            elif kind == "role":
                role, boot = args
                plan.roles[role] = boot
            elif kind == "boot":
                name, machine, variant, limit, progs = args
                plan.boots[name] = Boot(name, machine, variant, int(limit),
                                        [p for p in progs.split(",") if p not in ("", "-")])
            elif kind == "boot-overhead":
                plan.boot_overhead = int(args[0])
            elif kind == "check":
                plan.check = args
            elif kind == "kunit":
                plan.kunit = set(args)
            elif kind == "deadline":
                prog, variant, secs = args
                plan.deadlines.append((prog, variant, int(secs)))
            elif kind == "skip":
                if len(args) < 3:
                    raise ValueError("skip BOOT RESULT REASON...")
                plan.skips.append((args[0], args[1], " ".join(args[2:])))
            elif kind == "three-level":
                name, variant, runs, limit = args
                plan.three_level[name] = (variant, runs, int(limit))
            elif kind == "seedline":
                plan.seedline = r.rest
            else:
                raise ValueError(f"unknown kind '{kind}'")
        except ValueError as e:
            raise PlanError(str(r.error(e))) from e
    for name in plan.check + sorted(plan.kunit) + sorted(plan.roles.values()):
        plan.boot(name)
    for b in plan.boots.values():
        plan.machine(b.machine)
    return plan


def main(argv):
    plan = load(os.environ.get("WB_PLAN", CONF))
    if argv[:1] == ["machine"] and len(argv) == 2:
        m = plan.machine(argv[1])
        print(m.stages)
        print(" ".join(m.qemu))
        print(" ".join(m.kernel))
    elif argv[:1] == ["role"] and len(argv) == 2:
        print(plan.role(argv[1]).name)
    elif argv[:1] == ["boot-for"] and len(argv) == 3:
        print(plan.boot_for(argv[1], argv[2]).name)
    elif argv[:1] == ["boot"] and len(argv) == 2:
        b = plan.boot(argv[1])
        print(b.machine, b.variant, b.limit, ",".join(b.programs))
    elif argv[:1] == ["programs"] and len(argv) == 3:
        print(",".join(plan.programs(argv[1], [p for p in argv[2].split(",") if p])))
    elif argv == ["boot-overhead"]:
        print(plan.boot_overhead)
    elif argv == ["check"]:
        print("\n".join(plan.check))
    elif argv == ["boots"]:
        print("\n".join(plan.boots))
    elif argv == ["three-level"]:
        for name, (variant, runs, limit) in plan.three_level.items():
            print(name, variant, runs, limit)
    elif argv[:1] == ["three-level"] and len(argv) == 2:
        if argv[1] not in plan.three_level:
            raise PlanError(f"no three-level run named '{argv[1]}' in {CONF}")
        variant, runs, limit = plan.three_level[argv[1]]
        print(runs, limit)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except PlanError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        sys.exit(1)
