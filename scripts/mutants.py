#!/usr/bin/env python3
"""Planted bugs the tests must catch (issue 16, item 7).

Each mutant is a small plausible bug, applied to a copy of the working tree
one at a time; the named tests of its package must then FAIL. A mutant whose
text no longer matches the code is reported STALE (update it here).

    python3 scripts/mutants.py            # all mutants
    python3 scripts/mutants.py owner-clamp # those whose name contains it
    MUTANTS_FULL=1 python3 scripts/mutants.py  # run each package's whole suite

Not run by scripts/test.sh (it builds and tests once per mutant); run it
after changing a rule these mutants touch. Exit 1 if any mutant survives
or is stale.
"""
import os, re, shutil, subprocess, sys, tempfile

# name, file, old text (regex), new text, package, tests (-run regex)
MUTANTS = [
    ("hpa-owner-before-ceiling", "actuator/hpa/decide.go",
     r"(\tif w\.Ceiling > 0 && d\.MinReplicas > w\.Ceiling \{\n.*?\n\t\}\n)(\tif d\.MinReplicas < owner\.MinReplicas \{\n.*?\n\t\}\n)",
     r"\2\1", "./actuator/hpa/", "TestDecide"),
    ("policy-no-final-owner-clamp", "policy/engine.go",
     r"\twant = max\(want, ownerMin\)\n", "", "./policy/", "TestPlanNeverBelowOwner|TestPlanOwnerFloorWalk"),
    ("budget-ignores-fraction", "policy/engine.go",
     r"budget := int\(math\.Floor\(b\.Fraction \* float64\(tier\.MaxConnections\)\)\)", "budget := tier.MaxConnections",
     "./policy/", "TestConnectionBudget"),
    ("budget-not-split", "policy/engine.go",
     r"share := maxPods \* tp\.ceiling / sumCeil", "share := maxPods", "./policy/", "TestConnectionBudget"),
    ("thanksgiving-last-thursday", "policy/calendar/xnys.go",
     r"nthWeekday\(year, time\.November, time\.Thursday, 4\)", "nthWeekday(year, time.November, time.Thursday, -1)",
     "./policy/calendar/", "TestNYSE"),
    ("sim-missing-full-on-scale-up", "sim/hpa.go",
     r"\tif ratio < 1 \{\n\t\tsum \+= float64\(m\.Missing\) // 100% of target each\n\t\tn \+= m\.Missing\n\t\} else \{\n\t\tn \+= m\.Missing // 0% each\n\t\}\n",
     "\tsum += float64(m.Missing)\n\tn += m.Missing\n", "./sim/", "TestDesiredReplicas|TestHPA"),
    ("sim-percent-scale-up-truncated", "sim/hpa.go",
     r"proposed = int32\(math\.Ceil\(float64\(start\) \* \(1 \+ float64\(p\.Value\)/100\)\)\)",
     "proposed = int32(float64(start) * (1 + float64(p.Value)/100))", "./sim/", "TestDesiredReplicas|TestHPA"),
    ("calibration-no-widening", "forecast/intervals.go",
     r"\t\t\t\ts \*= math\.Sqrt\(float64\(k\+1\) / float64\(hv\)\)\n", "\t\t\t\t_ = math.Sqrt\n",
     "./forecast/", "TestCalibrate"),
    ("calibration-global-scale", "forecast/intervals.go",
     r"scale\[k\] = \(s \+ prior\*global\) / \(n \+ prior\)", "scale[k] = global; _, _ = s, n",
     "./forecast/", "TestCalibrate"),
    ("calibration-no-prior", "forecast/intervals.go",
     r"const prior = 8\.0", "const prior = 0.0", "./forecast/", "TestCalibrate"),
    ("calibration-band-1.5x", "forecast/intervals.go",
     r"vals\[k\] = mean\[k\] \+ zk\*s", "vals[k] = mean[k] + 1.5*zk*s", "./forecast/", "TestCalibrate"),
]


def main():
    repo = subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip()
    want = sys.argv[1:]
    full = os.environ.get("MUTANTS_FULL") == "1"
    files = subprocess.check_output(["git", "ls-files", "-co", "--exclude-standard"], cwd=repo, text=True).split("\n")
    bad = 0
    for name, path, old, new, pkg, tests in MUTANTS:
        if want and not any(w in name for w in want):
            continue
        tmp = tempfile.mkdtemp(prefix="mutant-")
        try:
            for f in files:
                if f and os.path.isfile(os.path.join(repo, f)):
                    os.makedirs(os.path.join(tmp, os.path.dirname(f)), exist_ok=True)
                    shutil.copy2(os.path.join(repo, f), os.path.join(tmp, f))
            src = open(os.path.join(tmp, path)).read()
            mut, n = re.subn(old, new, src, flags=re.S)
            if n == 0:
                print(f"STALE    {name}: {path} no longer has the text to mutate")
                bad += 1
                continue
            open(os.path.join(tmp, path), "w").write(mut)
            cmd = ["go", "test", "-count=1", pkg] + ([] if full else ["-run", tests])
            r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
            out = r.stdout + r.stderr
            if r.returncode == 0:
                print(f"SURVIVED {name}: {' '.join(cmd)} passed")
                bad += 1
            elif "build failed" in out or "[setup failed]" in out:
                print(f"BROKEN   {name}: the mutant does not build\n{out}")
                bad += 1
            else:
                failed = sorted(set(re.findall(r"--- FAIL: (\S+)", out)))
                print(f"KILLED   {name}: {', '.join(failed) or out.strip().splitlines()[-1]}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
