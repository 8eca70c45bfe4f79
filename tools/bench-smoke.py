#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Smoke test of ipmi-bench: `ipmi-bench --quick --json` completes in time
# and prints sane JSON: the machine and settings, every topology measured
# (or, for D-Bus only, skipped with a reason), each figure with
# min <= median <= max, positive latencies in order (p50 <= p99 <= p999),
# positive throughput, no wrong answers, and the scale rows with the
# broker's peak RSS. Speed is not judged, only reported.
import json
import math
import subprocess
import sys
import time

def fail(msg):
    print("not ok: " + msg)
    sys.exit(1)

def stat(fig, name, where):
    s = fig.get(name)
    if not isinstance(s, dict):
        fail("%s: no %s" % (where, name))
    lo, med, hi = s.get("min"), s.get("median"), s.get("max")
    for v in (lo, med, hi):
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            fail("%s %s: bad value %r" % (where, name, s))
    if not lo <= med <= hi:
        fail("%s %s: min/median/max out of order %r" % (where, name, s))
    return med

def figure(fig, where):
    if not isinstance(fig, dict):
        fail("%s: not measured" % where)
    p50 = stat(fig, "p50_us", where)
    p99 = stat(fig, "p99_us", where)
    p999 = stat(fig, "p999_us", where)
    stat(fig, "rps", where)
    if not p50 <= p99 <= p999:
        fail("%s: percentiles out of order" % where)
    if fig.get("errors") != 0:
        fail("%s: %r wrong answers" % (where, fig.get("errors")))
    if fig.get("repetitions", 0) < 3:
        fail("%s: fewer than 3 repetitions" % where)

def main():
    bench = sys.argv[1]
    start = time.monotonic()
    run = subprocess.run([bench, "--quick", "--json"], capture_output=True,
                         text=True, timeout=110)
    took = time.monotonic() - start
    sys.stderr.write(run.stderr)
    if run.returncode != 0:
        fail("exit status %d" % run.returncode)
    try:
        doc = json.loads(run.stdout)
    except ValueError as e:
        fail("JSON does not parse: %s\n%s" % (e, run.stdout[:2000]))
    if doc.get("tool") != "ipmi-bench" or doc.get("schema") != 1:
        fail("not an ipmi-bench schema 1 document")
    m = doc.get("machine", {})
    if not isinstance(m.get("nproc"), int) or m["nproc"] < 1 or \
            not m.get("kernel"):
        fail("machine facts missing: %r" % m)
    st = doc.get("settings", {})
    if st.get("quick") is not True or st.get("inflight") != [1, 8, 64]:
        fail("settings: %r" % st)
    passes = doc.get("passes")
    if not passes or [p.get("pinned") for p in passes] != [True, False]:
        fail("expected a pinned and an unpinned pass")
    for p in passes:
        name = "pinned" if p["pinned"] else "unpinned"
        topo = p.get("topologies", {})
        for t in ("product", "floor_blocking", "floor_drain", "dbus"):
            v = topo.get(t)
            if t == "dbus" and isinstance(v, dict) and "skipped" in v:
                print("# %s: dbus skipped: %s" % (name, v["skipped"]))
                continue
            if not isinstance(v, dict):
                fail("%s: no %s" % (name, t))
            for n in (1, 8, 64):
                figure(v.get("inflight_%d" % n), "%s %s %d in flight" %
                       (name, t, n))
        rows = p.get("scale", [])
        if [r.get("handlers") for r in rows] != [1, 10, 100, 1000]:
            fail("%s: scale rows %r" % (name, rows))
        for r in rows:
            where = "%s scale %d handlers" % (name, r["handlers"])
            figure(r.get("inflight_1"), where + " @1")
            figure(r.get("inflight_64"), where + " @64")
            if not r.get("broker_hwm_kib", 0) > 0:
                fail(where + ": no broker peak RSS")
        names = [t.get("name") for t in p.get("targets", [])]
        if "p50_vs_floor_1" not in names or "broker_rss_mib_1000" not in names:
            fail("%s: targets missing: %r" % (name, names))
    # The time is reported, not judged: sanitizer builds and busy CI
    # machines are slower than the 30 s --quick aims at.
    print("ok - ipmi-bench --quick --json ran in %.1f s and its JSON is "
          "sane" % took)

main()
