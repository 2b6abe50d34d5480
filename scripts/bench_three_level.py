#!/usr/bin/env python3
"""The three-level machine's figures as make bench reports them.

Reads the figures scripts/three_level_parse.py measured (build/runs/COMMAND/logs/
three-level-measured.txt) and prints, for one L0 run: each L2 run's disk throughput,
its ratio to the vIOMMU-less run ("plain", the base three_level_parse.py chose), and
for runs behind the accelerated vSMMUv3 the guest's commands per MiB moved
and QEMU's IOMMU_HWPT_INVALIDATE calls per MiB. Timings are ratios of runs
made in the same L0 boot, never compared to a threshold.
  bench_three_level.py MEASURED MIB
Exits 1 if the file has no run with both throughputs.
"""
import sys


def load(path):
    runs = {}
    order = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if len(words) < 2 or "." in words[0] or words[0] in ("l0", "l1"):
                continue
            run = words[0]
            if run not in runs:
                runs[run] = {}
                order.append(run)
            kv = dict(w.split("=", 1) for w in words[1:] if "=" in w)
            if words[1].startswith("ratio_vs="):
                # the first: against the vIOMMU-less run (a lazy run's
                # ratio to its strict run comes after)
                runs[run].setdefault("ratio", (kv["ratio_vs"], kv["write"], kv["read"]))
            elif words[1] == "workload_guest_commands":
                runs[run]["workload_cmds"] = sum(int(v) for v in kv.values())
            elif words[1].startswith("guest_invalidate_calls="):
                runs[run]["workload_calls"] = int(kv.get("workload:calls", 0))
            else:
                for k in ("write_mib_s", "read_mib_s"):
                    if k in kv:
                        runs[run][k] = float(kv[k])
    return order, runs


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    order, runs = load(argv[0])
    mib = int(argv[1])
    moved = [r for r in order if "write_mib_s" in runs[r] and "read_mib_s" in runs[r]]
    if not moved:
        print(f"three levels: no run moved data ({argv[0]})")
        return 1
    bases = {runs[r]["ratio"][0] for r in moved if "ratio" in runs[r]}
    print(f"three levels: L2's {mib} MiB written then read on its NVMe, per run of one L0 boot")
    print(f"  {'run':<14} {'write MiB/s':>11} {'read MiB/s':>10} {'write ratio':>11} "
          f"{'read ratio':>10} {'guest cmds/MiB':>14} {'inv calls/MiB':>13}")
    for r in moved:
        f = runs[r]
        wr = rr = "-"
        if "ratio" in f:
            wr, rr = f"{f['ratio'][1]}x", f"{f['ratio'][2]}x"
        cmds = f"{f['workload_cmds'] / (2 * mib):.2f}" if "workload_cmds" in f else "-"
        calls = f"{f['workload_calls'] / (2 * mib):.2f}" if "workload_calls" in f else "-"
        print(f"  {r:<14} {f['write_mib_s']:>11.1f} {f['read_mib_s']:>10.1f} {wr:>11} {rr:>10} "
              f"{cmds:>14} {calls:>13}")
    if bases:
        print(f"  (ratios: each run's throughput over run {', '.join(sorted(bases))}'s in the same L0 boot; "
              "TCG under load moves the absolute figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
