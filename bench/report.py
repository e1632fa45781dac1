#!/usr/bin/env python3
"""
bench/report.py -- turn a results directory of bench/matrix.py
(results.json, build.txt) into report.md and PNG plots (gnuplot).

    bench/report.py DIR

Safe to run again at any time (bench/run.sh --report DIR does); works on
partial results of an interrupted run (the groups and cells not measured
are shown as such).

The report: the targets of issue 14, each with the measured values and met
or not; the headline table (first row: AsyncSeqScan with its defaults); the
"never slower" grid; the patched storage hooks (issue 15: its target met or
not, the never-vacuumed table and a Bitmap Heap Scan on stock and patched
PostgreSQL 15); then every group in detail (median, IQR, min-max,
ratios against the Seq Scan of the same group and run, CPU- or IO-bound),
the slow device with its limit, parallel query, the mixed workload, the
machine, versions and settings, and the EXPLAIN ANALYZE appendix.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys

# a case is "not slower" when its median is at most this many times the
# Seq Scan's, or when the inter-quartile ranges overlap (issue 14, target 1)
NOT_SLOWER = 1.02
# the share of the slow device's limit the defaults must reach (issue 14,
# target 5)
SLOW_DEVICE_SHARE = 0.85
HOT_MIN_RUNS = 15
# issue 15: the never-vacuumed table cold on the patched server within 10%
# of the all-visible table's AsyncSeqScan time, and at least 3x faster than
# the stock Seq Scan on the slow device (2 ms per request)
HOOKS_WITHIN = 1.10
HOOKS_SPEEDUP = 3.0


def pct(values, p):
    """p-th percentile, linear interpolation (like numpy's default)."""
    v = sorted(values)
    if not v:
        return None
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def fnum(x, nd=0):
    if x is None:
        return "–"
    return f"{x:,.{nd}f}"


def fratio(x):
    return "–" if x is None else f"{x:.2f}x"


def stats(values):
    if not values:
        return None
    return dict(n=len(values), med=statistics.median(values), min=min(values),
                max=max(values), q1=pct(values, 25), q3=pct(values, 75))


def fiqr(s, scale=1.0):
    """'q1–q3' of a stats dict"""
    if not s:
        return "–"
    return f"{s['q1'] * scale:,.0f}–{s['q3'] * scale:,.0f}"


def verdict(ok):
    return "**met**" if ok else "**not met**"


class Report:
    def __init__(self, out):
        self.out = out
        with open(os.path.join(out, "results.json")) as f:
            self.d = json.load(f)
        self.build = {}
        try:
            with open(os.path.join(out, "build.txt")) as f:
                for line in f:
                    if "=" in line:
                        k, v = line.rstrip("\n").split("=", 1)
                        self.build.setdefault(k, v)
                        if k == "pg18_build" and v != self.build[k]:
                            self.build[k] += "; " + v
        except OSError:
            pass
        self.ex = self.d.get("extra", {})
        self.nproc = self.ex.get("machine", {}).get("nproc") or os.cpu_count()
        self.cfg = self.d["configs"]
        self.groups = {g["id"]: g for g in self.d["groups"]}
        self.by = {}
        for r in self.d["results"]:
            self.by.setdefault((r["group"], r["config"]), []).append(r)
        self.plots = []
        self.plotdir = os.path.join(out, "plot-data")
        self.gnuplot = shutil.which("gnuplot")
        self.md = []

    def w(self, line=""):
        self.md.append(line)

    # -- statistics --
    def case(self, gid, cid):
        """Statistics of one (group, configuration): time (ms), backend CPU
        (ms), CPU shares; None if it has no successful run."""
        runs = [r for r in self.by.get((gid, cid), [])
                if r.get("ms") is not None and not r.get("warm_lost")]
        if not runs:
            return None
        g = self.groups[gid]
        par = min(g["clients"] + (2 if self.cfg.get(cid, {}).get("parallel") else 0),
                  self.nproc)
        ms = [r["ms"] for r in runs]
        cpu = [r["backend_cpu_s"] * 1000 for r in runs if r.get("backend_cpu_s") is not None]
        be = [r["backend_cpu_s"] / (r["ms"] / 1000 * par) for r in runs
              if r.get("backend_cpu_s") is not None and r["ms"] > 0]
        ot = [r["server_other_cpu_s"] / (r["ms"] / 1000) for r in runs
              if r.get("server_other_cpu_s") is not None and r["ms"] > 0]
        t = stats(ms)
        lat = [x for r in runs for x in r.get("lat_ms", [])]
        return dict(t, time=t, cpu=stats(cpu), tput=g["clients"] / (t["med"] / 1000),
                    lat=statistics.median(lat) if lat else None,
                    be=statistics.median(be) if be else None,
                    other=statistics.median(ot) if ot else None,
                    load=statistics.median([r["load1"] for r in runs]),
                    failed=len(self.by.get((gid, cid), [])) - len(runs))

    def wrong(self, gid, cid):
        """runs of (group, configuration) that returned a wrong result"""
        return sum(1 for r in self.by.get((gid, cid), []) if r.get("error") == "wrong result")

    def declined(self, gid, cid):
        """did the planner keep the Seq Scan for this AsyncSeqScan row?"""
        g = self.groups[gid]
        key = f"{g['dbname']}/{g['table']}/{g['query']}/{cid}"
        return key in (self.ex.get("plan_declined") or [])

    def metric(self, gid):
        """what a group is judged on: 'cpu' (shared-buffer-hot) or 'time'"""
        return self.groups[gid].get("judge", "time")

    def compare(self, gid, cid, base, metric=None):
        """cid against base in the same group: ratio of medians, whether the
        IQRs overlap, and 'not slower' (ratio <= 1.02 or overlapping);
        None if the run has no such group or either side has no result."""
        if gid not in self.groups:
            return None
        metric = metric or self.metric(gid)
        a, b = self.case(gid, cid), self.case(gid, base)
        if not a or not b or not a[metric] or not b[metric]:
            return None
        x, y = a[metric], b[metric]
        ratio = x["med"] / y["med"] if y["med"] else None
        overlap = x["q1"] <= y["q3"] and y["q1"] <= x["q3"]
        # a wrong result disqualifies the comparison, whatever the times
        wrong = self.wrong(gid, cid) + self.wrong(gid, base)
        return dict(ratio=ratio, a=x, b=y, overlap=overlap, wrong=wrong,
                    ok=not wrong and ratio is not None and (ratio <= NOT_SLOWER or overlap),
                    metric=metric, n=min(x["n"], y["n"]))

    def ratio(self, gid, cid, base, metric="time"):
        c = self.compare(gid, cid, base, metric)
        return c["ratio"] if c else None

    @staticmethod
    def bound(c):
        if c is None or c["be"] is None:
            return "–"
        u = c["be"]
        if u >= 0.8:
            return "CPU"
        if u < 0.5:
            return "IO"
        return "IO+CPU"

    # -- names --
    def label(self, cid):
        return self.cfg[cid]["label"] if cid in self.cfg else cid

    def short(self, cid):
        return self.cfg[cid]["short"] if cid in self.cfg else cid

    def is_async(self, cid):
        return self.cfg.get(cid, {}).get("role") == "async"

    def seqscan_of(self, cid):
        """the Seq Scan configuration an AsyncSeqScan one is compared with on
        its own server: PG15's, PG17's, PG18's with io_method=worker"""
        return self.cfg.get(cid, {}).get("base")

    def tlabel(self, t):
        return self.d.get("tables", {}).get(t, {}).get("label", t)

    def qlabel(self, q):
        return {"noqual": "no qual", "cheap": "cheap qual", "expensive": "expensive qual",
                "bitmap": "Bitmap Heap Scan query"}.get(q, q)

    def glabel(self, gid):
        g = self.groups[gid]
        if g.get("latency_us") is not None:
            return (f"slow device +{g['latency_us'] / 1000:g} ms, {self.tlabel(g['table'])}, "
                    + ("" if g["query"] == "noqual" else f"{self.qlabel(g['query'])}, ")
                    + "cold")
        cache = {"cold": "cold", "warm": "OS-warm", "hot": "shared-buffer-hot"}[g["cache"]]
        s = f"{cache}, {self.tlabel(g['table'])}, {self.qlabel(g['query'])}, " \
            f"{g['clients']} client{'s' if g['clients'] > 1 else ''}"
        if g["section"] == "parallel":
            s = "parallel (Gather, 2 workers), " + s
        return s

    def gids(self, section, **attrs):
        return [g["id"] for g in self.d["groups"] if g["section"] == section
                and all(g.get(k) == v for k, v in attrs.items())]

    def table_state(self, cluster, db, table):
        rel = self.d.get("tables", {}).get(table, {}).get("name", table)
        return self.ex.get("table_state", {}).get(f"{cluster}/{db}/{rel}")

    def mb(self, gid, cid="pg15_seqscan"):
        """MiB of the table cid scans in group gid"""
        g = self.groups[gid]
        cl = self.cfg.get(cid, {}).get("cluster", "pg15")
        table = self.cfg.get(cid, {}).get("table") or g["table"]
        t = self.table_state(cl, g["dbname"], table) or \
            self.table_state("pg15", g["dbname"], table)
        return t["bytes"] / 2**20 if t else None

    # -- gnuplot --
    def plot(self, name, script, data):
        """data: {filename: text}; script uses those names."""
        os.makedirs(self.plotdir, exist_ok=True)
        for fn, text in data.items():
            with open(os.path.join(self.plotdir, fn), "w") as f:
                f.write(text)
        head = (f"set terminal pngcairo size 1100,620 font 'DejaVu Sans,10' noenhanced\n"
                f"set output '../{name}.png'\n")
        path = os.path.join(self.plotdir, f"{name}.gp")
        with open(path, "w") as f:
            f.write(head + script)
        if not self.gnuplot:
            return None
        r = subprocess.run([self.gnuplot, f"{name}.gp"], cwd=self.plotdir, text=True,
                           capture_output=True)
        if r.returncode != 0:
            sys.stderr.write(f"gnuplot {name}: {r.stderr}\n")
            return None
        self.plots.append(name)
        return f"{name}.png"

    def color(self, cid):
        """bar colour (0xRRGGBB) by family of configuration"""
        c = self.cfg.get(cid, {})
        if c.get("role") in ("seq", "bitmap"):
            return {"pg15": 0x888888, "pg15p": 0x4D8C8A, "pg17": 0xB07AA1,
                    "pg18": 0xE08A2C}.get(c.get("cluster"), 0x888888)
        if c.get("cluster") == "pg15p":
            return 0x17A398 if c.get("defaults") else 0x6CC5BD
        if c.get("cluster") == "pg17":
            return 0x6A3D9A
        if c.get("cluster") == "pg18":
            return 0x3AA655
        if c.get("defaults"):
            return 0x1F4E79
        return 0x3B75AF

    def bar_plot(self, gid, title, metric="time", base="pg15_seqscan"):
        g = self.groups[gid]
        rows = []
        for cid in g["configs"]:
            c = self.case(gid, cid)
            if c and c[metric]:
                s = c[metric]
                rows.append(f"\"{self.short(cid)}\" {s['med']:.1f} {s['min']:.1f} "
                            f"{s['max']:.1f} {self.color(cid)}")
        if not rows:
            return None
        bc = self.case(gid, base)
        baseline = ""
        if bc and bc[metric]:
            v = bc[metric]["med"]
            baseline = (f"set arrow from graph 0, first {v:.1f} to graph 1, first {v:.1f} "
                        f"nohead dt 2 lc rgb '#444444'\n"
                        f"set label '{self.label(base)}' at graph 0.99, first {v:.1f} right "
                        f"offset 0,0.6 textcolor rgb '#444444'\n")
        ylabel = "backend CPU ms" if metric == "cpu" else "ms"
        script = f"""set title "{title}"
set ylabel "{ylabel} (median; bars: min-max)"
set style fill solid 0.8 border -1
set boxwidth 0.7
set xtics rotate by -35 scale 0 nomirror
set grid ytics
set yrange [0:*]
set xrange [-0.6:{len(rows) - 0.4}]
set key off
set bmargin 7
{baseline}plot '{gid}.dat' using 0:2:5:xtic(1) with boxes lc rgb variable, \\
     '' using 0:2:3:4 with yerrorbars lc rgb '#222222' pt 0 lw 1.5, \\
     '' using 0:4:(sprintf('%.0f', $2)) with labels offset 0,0.8 font ',9'
"""
        return self.plot(f"times-{gid}", script, {f"{gid}.dat": "\n".join(rows) + "\n"})

    # -- the grid --
    GRID_TABLES = ("av", "nv", "part")
    GRID_CACHES = ("cold", "warm", "hot")
    GRID_QUERIES = ("noqual", "cheap", "expensive")
    GRID_CLIENTS = (1, 2, 4)

    def grid_dbname(self, cache):
        if cache == "hot":
            return f"hot{self.d.get('hot_scale')}"
        return f"s{self.d.get('grid_scale', self.d.get('scale'))}"

    def grid_cell(self, cache, table, query, clients):
        """the group measuring this cell of the grid (the grid's own, or a
        headline group on the same database that has both configurations)"""
        db = self.grid_dbname(cache)
        for g in self.d["groups"]:
            if g["section"] in ("grid", "headline") and g["cache"] == cache and \
                    g["table"] == table and g["query"] == query and \
                    g["clients"] == clients and g["dbname"] == db and \
                    "pg15_seqscan" in g["configs"] and "pg15_async" in g["configs"]:
                return g["id"]
        return None

    def grid_cells(self):
        """[(cache, table, query, clients, gid or None, compare or None)] of
        all 81 cells"""
        out = []
        for cache in self.GRID_CACHES:
            for table in self.GRID_TABLES:
                for query in self.GRID_QUERIES:
                    for n in self.GRID_CLIENTS:
                        gid = self.grid_cell(cache, table, query, n)
                        cmp = self.compare(gid, "pg15_async", "pg15_seqscan") if gid else None
                        out.append((cache, table, query, n, gid, cmp))
        return out

    @staticmethod
    def cell_ok(cache, cmp):
        """'ok', 'SLOWER', 'WRONG RESULT', 'few runs' (hot with fewer than
        15) or None"""
        if not cmp:
            return None
        if cmp["wrong"]:
            return "WRONG RESULT"
        if cache == "hot" and cmp["n"] < HOT_MIN_RUNS:
            return "few runs" if cmp["ok"] else "SLOWER"
        return "ok" if cmp["ok"] else "SLOWER"

    # -- sections --
    def header(self):
        d, ex = self.d, self.ex
        w = self.w
        w(f"# pg_asyncscan benchmark report ({d['mode']} mode)")
        w()
        took = ex.get("t_end") or (d["results"][-1]["t"] if d["results"] else 0)
        w(f"Run started {ex.get('started', '?')}, took {took / 60:.0f} min "
          f"({len(d['results'])} timed runs; estimated at the start: "
          f"{(ex.get('estimate_s') or 0) / 60:.0f} min). "
          f"Command: `{self.build.get('command', '?')}`.")
        if not ex.get("t_end"):
            w()
            w("**This run did not finish: the report covers the runs that were made.**")
        if ex.get("aborted"):
            w()
            w(f"**The measurements were stopped early: {ex['aborted']}.**")
        w()
        w("Ratios are **time ratios** of medians against the Seq Scan of the same group, "
          "measured in the same run, configurations interleaved: below 1.00x is faster "
          "(0.50x = twice as fast). Shared-buffer-hot groups are judged on the backends' "
          "CPU time (ratios of CPU medians). *Not slower* = ratio ≤ "
          f"{NOT_SLOWER:.2f}x, or the inter-quartile ranges (IQR) of the two overlap.")
        w()

    def failures(self):
        fails = self.ex.get("failures") or []
        if not fails:
            return
        w = self.w
        wrong = [f for f in fails if f["error"] == "wrong result"]
        w("## Failed runs")
        w()
        w(f"**{len(fails)} timed runs failed, {len(wrong)} of them with a wrong result** "
          "(the query's result differed from the Seq Scan's: rows or pages not read, or "
          "read wrongly). A failed run has no time and its case is judged on the other "
          "runs; a wrong result is a correctness bug, whatever the timings say.")
        w()
        w("| group | configuration | round | error |")
        w("|---|---|---:|---|")
        for f in fails:
            w(f"| {f['group']} | {self.label(f['config'])} | {f['round']} | "
              f"{f['error']}: `{f['msg'][:300]}` |")
        w()

    def targets(self):
        w = self.w
        w("## Targets (issue 14)")
        w()
        w("| # | target | measured (medians; IQR in brackets) | |")
        w("|---|---|---|---|")
        self.target1()
        self.target2()
        self.target3()
        self.target4()
        self.target5()
        self.target6()
        self.target7()
        self.target8()
        w()
        w("Details: the grid below for 1, the headline table and its groups for 2–4 and 7, "
          "the slow device section for 5, the parallel section for 6.")
        w()

    def row(self, num, target, measured, status):
        self.w(f"| {num} | {target} | {measured} | {status} |")

    def fmt_cmp(self, cmp, unit="ms"):
        if not cmp:
            return "not measured"
        return (("**WRONG RESULT** in " + str(cmp["wrong"]) + " runs; " if cmp["wrong"] else "")
                + f"{cmp['ratio']:.2f}x ({fnum(cmp['a']['med'])} vs "
                f"{fnum(cmp['b']['med'])} {unit}; "
                f"IQR {fiqr(cmp['a'])} vs {fiqr(cmp['b'])})")

    def target1(self):
        cells = self.grid_cells()
        measured = [c for c in cells if c[5]]
        bad = [c for c in measured if self.cell_ok(c[0], c[5]) in ("SLOWER", "WRONG RESULT")]
        few = [c for c in measured if self.cell_ok(c[0], c[5]) == "few runs"]
        worst = max(measured, key=lambda c: c[5]["ratio"]) if measured else None
        txt = f"{len(measured) - len(bad) - len(few)} of {len(cells)} cells not slower"
        if bad:
            txt += "; slower or wrong: " + ", ".join(
                f"{c[0]} {c[1]} {c[2]} c{c[3]} "
                + ("**wrong result**" if c[5]["wrong"] else f"{c[5]['ratio']:.2f}x")
                for c in bad[:12])
            if len(bad) > 12:
                txt += f", … ({len(bad)} in all)"
        if few:
            txt += f"; {len(few)} hot cells with fewer than {HOT_MIN_RUNS} runs (not judged)"
        dec = [c for c in measured if self.declined(c[4], "pg15_async")]
        if dec:
            txt += (f"; in {len(dec)} cells the planner kept the Seq Scan: "
                    + ", ".join(f"{c[0]} {c[1]} {c[2]} c{c[3]}" for c in dec[:8])
                    + (", …" if len(dec) > 8 else ""))
        if worst:
            txt += (f"; highest ratio {worst[5]['ratio']:.2f}x ({worst[0]} {worst[1]} {worst[2]} "
                    f"c{worst[3]})")
        if bad:
            status = "**not met**"
        elif len(measured) - len(few) < len(cells):
            status = f"not judged: {len(cells) - len(measured) + len(few)} cells not measured" \
                     + (" (quick mode measures a subset)" if self.d["mode"] == "quick" else "")
        else:
            status = "**met**"
        self.row(1, "never slower than Seq Scan with defaults (≤ 1.02x or IQRs overlapping) "
                 "for every table state × cache state × qual × 1, 2, 4 clients; "
                 "shared-buffer-hot on backend CPU time over ≥ 15 runs", txt, status)

    def target2(self):
        gid = "head-cold-nv-c1"
        cmp = self.compare(gid, "pg15_async", "pg15_seqscan") if gid in self.groups else None
        self.row(2, "never-vacuumed table, cold: defaults ≤ 0.80x of Seq Scan",
                 self.fmt_cmp(cmp), verdict(cmp["ratio"] <= 0.80 and not cmp["wrong"])
                 if cmp else "not measured")

    def target3(self):
        gid = "head-cold-av-c1"
        cmp = self.compare(gid, "pg15_async", "pg15_seqscan") if gid in self.groups else None
        if not cmp:
            self.row(3, "all-visible, cold, defaults ≤ 0.60x of Seq Scan and faster than "
                     "PG18's io_uring and worker", "not measured", "not measured")
            return
        parts = [self.fmt_cmp(cmp)]
        ok = cmp["ratio"] <= 0.60 and not cmp["wrong"]
        a = cmp["a"]["med"]
        for base in ("pg18_uring", "pg18_worker"):
            c = self.case(gid, base)
            if c:
                faster = a < c["med"]
                ok = ok and faster
                parts.append(f"{self.short(base)} {fnum(c['med'])} ms (IQR {fiqr(c)}): "
                             f"defaults {'faster' if faster else '**not faster**'} "
                             f"({a / c['med']:.2f}x)")
            else:
                ok = False
                parts.append(f"{self.short(base)} not measured")
        self.row(3, "all-visible, cold, defaults ≤ 0.60x of Seq Scan and faster than "
                 "both of PG18's methods (io_uring, worker) in the same run",
                 "; ".join(parts), verdict(ok))

    def target4(self):
        gid = "head-warm-av-c1"
        cmp = self.compare(gid, "pg15_async", "pg15_seqscan") if gid in self.groups else None
        if not cmp:
            self.row(4, "OS-warm, defaults ≤ 0.75x of Seq Scan, faster than PG18 worker",
                     "not measured", "not measured")
            return
        ok = cmp["ratio"] <= 0.75 and not cmp["wrong"]
        parts = [self.fmt_cmp(cmp)]
        c = self.case(gid, "pg18_worker")
        if c:
            r18 = self.ratio(gid, "pg18_worker", "pg15_seqscan")
            faster = cmp["a"]["med"] < c["med"]
            ok = ok and faster
            parts.append(f"PG18 worker Seq Scan {fnum(c['med'])} ms = {fratio(r18)} of PG15 "
                         f"Seq Scan: defaults {'faster' if faster else '**not faster**'}")
        else:
            ok = False
            parts.append("PG18 worker not measured")
        self.row(4, "OS-warm, defaults ≤ 0.75x of Seq Scan and faster than PG18's worker "
                 "method", "; ".join(parts), verdict(ok))

    def device_limit(self, gid):
        fio = self.ex.get("fio", {}).get(gid, {})
        v = fio.get("dio_512k_qd64", {}).get("mib_s")
        return statistics.median(v) if v else None

    def target5(self):
        gids = [g for g in self.gids("slow", table="av") if self.groups[g]["latency_us"] == 2000]
        if not gids:
            self.row(5, "slow device: defaults within 15% of the device's limit; every IO "
                     "method ≥ 4x faster than Seq Scan", "not measured", "not measured")
            return
        gid = gids[0]
        if not any(self.case(gid, c) for c in self.groups[gid]["configs"]):
            self.row(5, "slow device: defaults within 15% of the device's limit; every IO "
                     "method ≥ 4x faster than Seq Scan", "not measured", "not measured")
            return
        parts, ok = [], True
        lim = self.device_limit(gid)
        c = self.case(gid, "pg15_async")
        size = self.mb(gid)
        if c and lim and size:
            mbs = size / (c["med"] / 1000)
            frac = mbs / lim
            ok = ok and frac >= SLOW_DEVICE_SHARE
            parts.append(f"defaults {mbs:,.0f} MiB/s = {frac * 100:.0f}% of the device's "
                         f"{lim:,.0f} MiB/s (fio, O_DIRECT 512 kB × 64)")
        else:
            ok = False
            parts.append("defaults or the device limit not measured")
        for cid in ("pg15_sync", "pg15_uring", "pg15_worker"):
            r = self.ratio(gid, cid, "pg15_seqscan")
            if r is None:
                ok = False
                parts.append(f"{self.short(cid)} not measured")
                continue
            ok = ok and r <= 0.25
            parts.append(f"{self.short(cid)} {1 / r:.1f}x faster")
        r = self.ratio(gid, "pg15_async", "pg15_seqscan")
        if r:
            parts.append(f"(defaults {1 / r:.1f}x faster)")
        nwrong = sum(self.wrong(gid, c) for c in self.groups[gid]["configs"])
        if nwrong:
            ok = False
            parts.insert(0, f"**WRONG RESULT** in {nwrong} runs")
        if not ok and not nwrong:
            parts.append(self.target5_cause(gid, lim, size))
        self.row(5, "slow block device (+2 ms per request, all-visible): defaults within 15% "
                 "of the device's limit, and every IO method (sync, io_uring, worker) ≥ 4x "
                 "faster than Seq Scan", "; ".join(parts), verdict(ok))

    def target5_cause(self, gid, lim, size):
        """Why the defaults miss the device's limit, from the same run: the
        CPU their scan needs against the time the limit allows, and what the
        setting that reaches it costs on the local disk."""
        d, seq, dio = (self.case(gid, c) for c in ("pg15_async", "pg15_seqscan", "pg15_dio"))
        if not (d and d["cpu"] and seq and seq["cpu"] and lim and size):
            return "cause: not measured"
        allowed = size / (lim * SLOW_DEVICE_SHARE) * 1000
        why = (f"cause: CPU. The defaults' scan takes {fnum(d['cpu']['med'])} ms of backend "
               f"CPU (the Seq Scan's {fnum(seq['cpu']['med'])} ms spread over its "
               f"{fnum(seq['med'])}; buffered reads fill the page cache and copy from it on "
               f"the backend's CPU, in its io_uring worker threads too) where "
               f"{SLOW_DEVICE_SHARE * 100:.0f}% of the limit "
               f"allows {fnum(allowed)} ms in all ({d['cpu']['med'] / allowed * 100:.0f}% of "
               f"it), on {self.nproc} vCPUs shared with the device's own loop and FUSE "
               f"threads; it is "
               f"busy {d['be'] * 100:.0f}% of its time")
        fio = self.ex.get("fio", {}).get(gid, {}).get("buf_128k_qd16", {}).get("mib_s")
        if fio:
            buf = statistics.median(fio)
            why += (f"; for comparison, fio's buffered reads (128 kB × 16) get "
                    f"{fnum(buf)} MiB/s, {buf / lim * 100:.0f}% of the limit")
        if dio and dio["cpu"]:
            why += (f". direct_io=on ({fnum(dio['cpu']['med'])} ms CPU) reaches "
                    f"{size / (dio['med'] / 1000) / lim * 100:.0f}% of the limit")
            local = self.compare("head-cold-av-c1", "pg15_uring_dio", "pg15_seqscan")
            dflt = self.compare("head-cold-av-c1", "pg15_async", "pg15_seqscan")
            if local and dflt:
                why += (f", but is not the default: on the local disk, cold, it is "
                        f"{local['ratio']:.2f}x of the Seq Scan against the defaults' "
                        f"{dflt['ratio']:.2f}x")
        return why

    def target6_cause(self):
        """Why the parallel cold case misses 0.65x, from the same run: both
        plans use every vCPU, and the CPU the page-cache fill costs (cold
        minus warm, Parallel Seq Scan) added to the warm AsyncSeqScan's CPU
        already needs more than 0.65x of the Parallel Seq Scan's time."""
        cs, ca, ws, wa = (self.case(f"par-{cache}-av-c1", cid)
                          for cache in ("cold", "warm")
                          for cid in ("pg15_par_seqscan", "pg15_par_async"))
        if not all(c and c["cpu"] and c["be"] for c in (cs, ws, ca, wa)):
            return "cause: not measured"
        ncpu = min(3, self.nproc)
        fill = cs["cpu"]["med"] - ws["cpu"]["med"]
        floor = (wa["cpu"]["med"] + fill) / ncpu
        why = (f"cause: CPU. Cold, both plans keep the {ncpu} vCPUs busy ({cs['be'] * 100:.0f}% "
               f"and {ca['be'] * 100:.0f}%); filling the page cache costs the Parallel Seq "
               f"Scan {fnum(fill)} ms of CPU over its warm run; the warm AsyncSeqScan's "
               f"{fnum(wa['cpu']['med'])} ms plus that fill, on {ncpu} vCPUs, take at least "
               f"{fnum(floor)} ms = {floor / cs['med']:.2f}x")
        dio, dflt = self.case("head-cold-av-c1", "pg15_uring_dio"), \
            self.case("head-cold-av-c1", "pg15_async")
        if dio and dflt and dio["cpu"] and dflt["cpu"]:
            why += (f"; reading past the page cache (direct_io=on) costs more CPU here, not "
                    f"less (1 client, cold: {fnum(dio['cpu']['med'])} against "
                    f"{fnum(dflt['cpu']['med'])} ms)")
        return why

    def target6(self):
        parts, ok, any_ = [], True, False
        for cache, lim in (("cold", 0.65), ("warm", 0.85)):
            gid = f"par-{cache}-av-c1"
            cmp = self.compare(gid, "pg15_par_async", "pg15_par_seqscan") \
                if gid in self.groups else None
            if not cmp:
                ok = False
                parts.append(f"{cache}: not measured")
                continue
            any_ = True
            ok = ok and cmp["ratio"] <= lim and not cmp["wrong"]
            parts.append(f"{cache}: {self.fmt_cmp(cmp)} (≤ {lim:.2f}x: "
                         f"{'yes' if cmp['ratio'] <= lim else '**no**'})")
            if cache == "cold" and cmp["ratio"] > lim and not cmp["wrong"]:
                parts.append(self.target6_cause())
        self.row(6, "parallel query (Gather, 2 workers): cold ≤ 0.65x, warm ≤ 0.85x of "
                 "Parallel Seq Scan", "; ".join(parts),
                 verdict(ok) if any_ else "not measured")

    def major_checks(self):
        """[(gid, cid, base, compare)] of AsyncSeqScan on 17 and 18 against
        its own version's Seq Scans, in every group that has both"""
        out = []
        for g in self.d["groups"]:
            for cid, bases in (("pg18_async", ("pg18_worker", "pg18_uring")),
                               ("pg17_async", ("pg17_seqscan",))):
                if cid not in g["configs"]:
                    continue
                for base in bases:
                    if base in g["configs"]:
                        out.append((g["id"], cid, base, self.compare(g["id"], cid, base)))
        return out

    def target7(self):
        planned = self.major_checks()
        checks = [c for c in planned if c[3]]
        if not checks:
            self.row(7, "every tested major against its own Seq Scan (18: worker and "
                     "io_uring; 17)", "not measured", "not measured")
            return
        bad = [c for c in checks if not c[3]["ok"]]
        txt = f"{len(checks) - len(bad)} of {len(checks)} comparisons not slower"
        if bad:
            txt += "; slower or wrong: " + ", ".join(
                f"{self.short(c[1])} vs {self.short(c[2])} in {c[0]} "
                + ("**wrong result**" if c[3]["wrong"] else f"{c[3]['ratio']:.2f}x")
                for c in bad)
        wins = [c for c in checks if c[3]["ok"] and c[3]["ratio"] < 0.9]
        if wins:
            txt += f"; {len(wins)} faster than 0.90x, best: " + ", ".join(
                f"{self.short(c[1])} vs {self.short(c[2])} in {c[0]} {c[3]['ratio']:.2f}x"
                for c in sorted(wins, key=lambda c: c[3]["ratio"])[:4])
        missing = len(planned) - len(checks)
        if missing:
            txt += f"; {missing} comparisons not measured"
        self.row(7, "every tested major against its own Seq Scan, never slower (PG18: its "
                 "Seq Scan with io_method worker and with io_uring; PG17: its Seq Scan)",
                 txt, verdict(False) if bad else
                 (f"not judged: {missing} not measured" if missing else verdict(True)))

    def target8(self):
        head = [g for g in self.d["groups"] if g["section"] == "headline"]
        first = head[0]["configs"][0] if head else None
        c = self.cfg.get(first or "", {})
        ok = bool(c.get("defaults")) and all(
            not k.startswith("pg_asyncscan.") or k == "pg_asyncscan.enabled"
            for k in c.get("gucs", {}))
        st = self.ex.get("settings", {}).get("pg15", {}).get("pg_asyncscan (all, defaults)", "?")
        self.row(8, "the defaults are the ones README recommends; the headline row is "
                 "\"defaults\", not a tuned configuration",
                 f"headline's first row: {self.label(first) if first else '–'}, which sets "
                 f"no pg_asyncscan setting; in effect: `{st}`",
                 ("**met** for the report; compare the settings with README's "
                  "recommendation") if ok else "**not met**")

    # -- headline --
    HEAD_COLS = [("head-cold-av-c1", "cold"), ("head-warm-av-c1", "OS-warm"),
                 ("head-hot-av-c1", "hot (CPU)"), ("head-cold-nv-c1", "never-vacuumed, cold"),
                 ("head-warm-nv-c1", "never-vacuumed, OS-warm")]

    def headline(self):
        cols = [(gid, t) for gid, t in self.HEAD_COLS if gid in self.groups]
        if not cols:
            return
        w = self.w
        g0 = self.groups[cols[0][0]]
        t = self.table_state("pg15", g0["dbname"], "av")
        w("## Headline: 1 client, no qual")
        w()
        w("Each cell: ratio of medians against PG15 Seq Scan of the same group, then the "
          "median (ms; backend CPU ms for hot); for AsyncSeqScan on 17 and 18, in "
          "brackets, the ratio against that version's own Seq Scan (18: io_method=worker). "
          + (f"Table: pgbench_accounts and its never-vacuumed copy, "
             f"{t['bytes'] / 2**20:,.0f} MB (scale {t['scale']}); hot: scale "
             f"{self.d.get('hot_scale')}." if t else ""))
        w()
        w("| configuration | " + " | ".join(t for _, t in cols) + " |")
        w("|---|" + "---:|" * len(cols))
        cfgs = []
        for gid, _ in cols:
            for cid in self.groups[gid]["configs"]:
                if cid not in cfgs:
                    cfgs.append(cid)
        for cid in cfgs:
            cells = []
            for gid, _ in cols:
                m = self.metric(gid)
                c = self.case(gid, cid)
                if not c or not c[m]:
                    cells.append("–")
                    continue
                r = self.ratio(gid, cid, "pg15_seqscan", m)
                cell = f"{fratio(r)} · {fnum(c[m]['med'])}"
                base = self.seqscan_of(cid)
                if base and base != "pg15_seqscan":
                    rb = self.ratio(gid, cid, base, m)
                    if rb is not None:
                        cell += f" ({rb:.2f}x)"
                cells.append(cell)
            name = self.label(cid)
            if self.cfg.get(cid, {}).get("defaults") or cid == "pg15_seqscan":
                name = f"**{name}**"
            w(f"| {name} | " + " | ".join(cells) + " |")
        w()

    # -- grid --
    def grid(self):
        cells = self.grid_cells()
        if not any(c[4] for c in cells):
            return
        w = self.w
        w("## \"Never slower\" grid: Seq Scan vs AsyncSeqScan defaults (PostgreSQL 15)")
        w()
        w(f"Each cell: ratio of medians AsyncSeqScan defaults / Seq Scan (time; hot: backend "
          f"CPU time), and *ok* when ≤ {NOT_SLOWER:.2f}x or the IQRs overlap, **SLOWER** "
          f"otherwise; – not measured. Tables of scale {self.d.get('grid_scale')} "
          f"(hot: scale {self.d.get('hot_scale')}, in shared buffers). IQRs and medians "
          f"of every cell in the detail table after it.")
        w()
        for cache in self.GRID_CACHES:
            if not any(c[4] for c in cells if c[0] == cache):
                continue
            title = {"cold": "cold", "warm": "OS-warm",
                     "hot": "shared-buffer-hot (backend CPU time)"}[cache]
            w(f"**{title}**")
            w()
            w("| table | query | 1 client | 2 clients | 4 clients |")
            w("|---|---|---:|---:|---:|")
            for table in self.GRID_TABLES:
                for query in self.GRID_QUERIES:
                    row = []
                    for n in self.GRID_CLIENTS:
                        c = next(x for x in cells if x[:4] == (cache, table, query, n))
                        v = self.cell_ok(cache, c[5])
                        if v is None:
                            row.append("–")
                        elif v in ("SLOWER", "WRONG RESULT"):
                            row.append(f"**{c[5]['ratio']:.2f}x {v}**")
                        else:
                            row.append(f"{c[5]['ratio']:.2f}x {v}"
                                       + (" (Seq Scan planned)"
                                          if self.declined(c[4], "pg15_async") else ""))
                    w(f"| {self.tlabel(table)} | {self.qlabel(query)} | " + " | ".join(row) + " |")
            w()
        w("<details><summary>Every cell: medians and IQRs</summary>")
        w()
        w("| cache | table | query | clients | runs | Seq Scan median (IQR) | defaults median "
          "(IQR) | ratio | time ratio | verdict |")
        w("|---|---|---|---:|---:|---:|---:|---:|---:|---|")
        for cache, table, query, n, gid, cmp in cells:
            if not cmp:
                continue
            unit = "CPU ms" if cmp["metric"] == "cpu" else "ms"
            tr = self.ratio(gid, "pg15_async", "pg15_seqscan", "time")
            w(f"| {cache} | {self.tlabel(table)} | {self.qlabel(query)} | {n} | {cmp['n']} | "
              f"{fnum(cmp['b']['med'])} {unit} ({fiqr(cmp['b'])}) | "
              f"{fnum(cmp['a']['med'])} {unit} ({fiqr(cmp['a'])}) | {cmp['ratio']:.2f}x | "
              f"{fratio(tr)} | {self.cell_ok(cache, cmp)} |")
        w()
        w("</details>")
        w()
        self.grid_clients_plot(cells)

    def grid_clients_plot(self, cells):
        """throughput against clients, no qual, per cache state and table"""
        for cache in ("cold", "warm"):
            series = {}
            for table in self.GRID_TABLES:
                for cid in ("pg15_seqscan", "pg15_async"):
                    pts = []
                    for n in self.GRID_CLIENTS:
                        gid = self.grid_cell(cache, table, "noqual", n)
                        c = self.case(gid, cid) if gid else None
                        if c:
                            pts.append((n, c["tput"]))
                    if len(pts) >= 2:
                        series[(table, cid)] = pts
            if not series:
                continue
            data, plots = {}, []
            palette = {"av": "#1f77b4", "nv": "#d62728", "part": "#2ca02c"}
            for j, ((table, cid), pts) in enumerate(series.items()):
                fn = f"clients-{cache}-{table}-{cid}.dat"
                data[fn] = "\n".join(f"{n} {t:.4f}" for n, t in pts) + "\n"
                dt = 2 if cid == "pg15_seqscan" else 1
                plots.append(f"'{fn}' using 1:2 with linespoints lw 2 dt {dt} pt {j + 4} "
                             f"lc rgb '{palette[table]}' title \"{self.tlabel(table)}: "
                             f"{self.short(cid)}\"")
            script = f"""set title "{cache}, no qual: scans per second (all clients together) vs. clients"
set xlabel "clients (each scans the whole table once, all at the same time)"
set ylabel "scans / s"
set xtics (1, 2, 4)
set grid
set yrange [0:*]
set key outside right
plot {", ".join(plots)}
"""
            png = self.plot(f"clients-{cache}", script, data)
            if png:
                self.w(f"![clients-{cache}]({png})")
                self.w()

    # -- detail tables --
    def group_table(self, gid):
        g = self.groups[gid]
        w = self.w
        cpu_judged = self.metric(gid) == "cpu"
        has17 = "pg17_seqscan" in g["configs"]
        has18 = "pg18_worker" in g["configs"]
        head = ["configuration", "runs", "median ms", "IQR ms", "min–max ms"]
        if cpu_judged:
            head += ["backend CPU ms (IQR)", "CPU vs PG15 Seq Scan"]
        head += ["vs PG15 Parallel Seq Scan" if g["section"] == "parallel"
                 else "vs PG15 Seq Scan"]
        if has18:
            head += ["vs PG18 worker"]
        if has17:
            head += ["vs PG17 Seq Scan"]
        if g["section"] == "slow":
            head += ["MiB/s"]
        head += ["backend CPU", "other CPU", "bound"]
        w("| " + " | ".join(head) + " |")
        w("|---|" + "---:|" * (len(head) - 2) + "---|")
        base15 = "pg15_par_seqscan" if g["section"] == "parallel" else "pg15_seqscan"
        size = self.mb(gid)
        for cid in g["configs"]:
            c = self.case(gid, cid)
            if not c:
                w(f"| {self.label(cid)} | 0 | not measured |" + " |" * (len(head) - 3))
                continue
            cells = [self.label(cid), f"{c['n']}" + (f" ({c['failed']} failed)" if c["failed"]
                                                     else ""),
                     fnum(c["med"]), fiqr(c), f"{fnum(c['min'])}–{fnum(c['max'])}"]
            if cpu_judged:
                cells += [f"{fnum(c['cpu']['med']) if c['cpu'] else '–'} ({fiqr(c['cpu'])})",
                          fratio(self.ratio(gid, cid, base15, "cpu"))]
            cells.append(fratio(self.ratio(gid, cid, base15)))
            if has18:
                cells.append(fratio(self.ratio(gid, cid, "pg18_worker"))
                             if self.cfg[cid]["cluster"] == "pg18" else "")
            if has17:
                cells.append(fratio(self.ratio(gid, cid, "pg17_seqscan"))
                             if self.cfg[cid]["cluster"] == "pg17" else "")
            if g["section"] == "slow":
                cells.append(fnum(size / (c["med"] / 1000)) if size else "–")
            cells += [f"{fnum(c['be'] * 100 if c['be'] is not None else None)}%",
                      f"{fnum(c['other'] * 100 if c['other'] is not None else None)}%",
                      self.bound(c)]
            if cid in ("pg15_seqscan", "pg15_par_seqscan") or self.cfg[cid].get("defaults"):
                cells[0] = f"**{cells[0]}**"
            if self.declined(gid, cid):
                cells[0] += " (planned a Seq Scan: pg_asyncscan stepped aside)"
            w("| " + " | ".join(cells) + " |")
        w()

    def headline_details(self):
        gids = [g["id"] for g in self.d["groups"] if g["section"] == "headline"]
        if not gids:
            return
        w = self.w
        w("## Headline groups in detail")
        w()
        for gid in gids:
            g = self.groups[gid]
            t = self.table_state("pg15", g["dbname"], g["table"])
            w(f"### {self.glabel(gid)} (`{gid}`)")
            w()
            if t:
                w(f"{t['rel']} in {g['dbname']}: {t['bytes'] / 2**20:,.0f} MB, "
                  f"{t['all_visible_frac'] * 100:.0f}% of its pages all-visible.")
                w()
            self.group_table(gid)
            png = self.bar_plot(gid, f"{self.glabel(gid)}: "
                                + ("backend CPU per scan" if self.metric(gid) == "cpu"
                                   else "time per scan"), self.metric(gid))
            if png:
                w(f"![{gid}]({png})")
                w()

    def parallel_section(self):
        gids = self.gids("parallel")
        if not gids:
            return
        w = self.w
        w("## Parallel query (Gather, 2 workers)")
        w()
        w("`max_parallel_workers_per_gather = 2` for these rows only: the plan the planner "
          "picks for this table, Finalize Aggregate over Gather over Partial Aggregate over "
          "Parallel Seq Scan / Parallel Custom Scan (AsyncSeqScan), checked before measuring "
          "(Workers Planned: 2, and an EXPLAIN ANALYZE with Workers Launched: 2, below). "
          "Backend CPU here is the CPU of the leader and its workers (from the postmaster's "
          "reaped children, connection start-up included), per second and per "
          f"min(3, {self.nproc}) vCPUs.")
        w()
        for gid in gids:
            w(f"### {self.glabel(gid)} (`{gid}`)")
            w()
            self.group_table(gid)
        chk = self.ex.get("parallel_checks", {})
        for k, v in chk.items():
            w(f"<details><summary>EXPLAIN ANALYZE before measuring: {k}</summary>")
            w()
            w("```")
            w(v)
            w("```")
            w()
            w("</details>")
            w()

    def slow_section(self):
        gids = self.gids("slow")
        if not gids:
            return
        w = self.w
        dev = self.ex.get("slowdev", {})
        w("## Slow block device")
        w()
        w(f"ext4 on a loop device (`losetup --direct-io=on`, {dev.get('loop', '?')}) whose "
          f"backing file ({dev.get('image_gb', '?'):g} GB, sparse) is on test/tools/slowfs, "
          f"a FUSE passthrough that sleeps a set time in every read request that reaches it "
          f"(the backing file itself is on the local disk). The tables are in a tablespace "
          f"on that ext4. Page cache, readahead and O_DIRECT work on it as on a real disk: "
          f"the loop device's **read_ahead_kb = {dev.get('read_ahead_kb', '?')}** (set, and "
          f"read back), max_sectors_kb = {dev.get('max_sectors_kb', '?')}, scheduler "
          f"{dev.get('scheduler', '?')}, file system `{dev.get('fs', '?')}`. PostgreSQL 15's "
          f"Seq Scan reads 8 kB at a time through the page cache, which reaches the device "
          f"as readahead requests of up to read_ahead_kb: the baseline pays the latency per "
          f"{dev.get('read_ahead_kb', '?')} kB, not per block. Cold runs (restart + drop "
          f"caches).")
        w()
        w("**The device's limit**, measured in the same run with fio right before each "
          "group, at that group's latency, reading the table's own file (read-only; the "
          "PostgreSQL 15 cluster's copy):")
        w()
        w("| group | fio job | MiB/s (median of runs) | runs |")
        w("|---|---|---:|---|")
        for gid in gids:
            fio = self.ex.get("fio", {}).get(gid, {})
            for k, v in fio.items():
                if not isinstance(v, dict):
                    continue
                vals = v.get("mib_s") or []
                w(f"| {gid} | {v.get('desc')} | "
                  f"{fnum(statistics.median(vals)) if vals else '–'} | "
                  f"{', '.join(f'{x:,.0f}' for x in vals)} |")
        w()
        cmds = {k: v.get("cmd") for f in self.ex.get("fio", {}).values()
                for k, v in f.items() if isinstance(v, dict)}
        if cmds:
            w("<details><summary>fio command lines</summary>")
            w()
            w("```")
            for k, v in cmds.items():
                w(v)
            w("```")
            w()
            w("</details>")
            w()
        for gid in gids:
            g = self.groups[gid]
            lim = self.device_limit(gid)
            w(f"### {self.glabel(gid)} (`{gid}`)")
            w()
            size = self.mb(gid)
            if size:
                w(f"Table: {size:,.0f} MiB"
                  + (f"; device limit {lim:,.0f} MiB/s (fio, O_DIRECT 512 kB × 64)" if lim
                     else "") + ".")
                w()
            self.group_table(gid)
            rows = []
            for cid in g["configs"]:
                c = self.case(gid, cid)
                r = self.ratio(gid, cid, "pg15_seqscan")
                if c and r:
                    mbs = size / (c["med"] / 1000) if size else None
                    rows.append(f"| {self.label(cid)} | {1 / r:.1f}x | "
                                + (f"{mbs:,.0f} | " if mbs else "– | ")
                                + (f"{mbs / lim * 100:.0f}% |" if mbs and lim else "– |"))
            if rows:
                w("| configuration | speed-up vs PG15 Seq Scan | MiB/s | of the device's limit |")
                w("|---|---:|---:|---:|")
                for r in rows:
                    w(r)
                w()
            png = self.bar_plot(gid, f"{self.glabel(gid)}: time per scan")
            if png:
                w(f"![{gid}]({png})")
                w()
        st = self.ex.get("slowfs_status")
        if st:
            w("slowfs counters at the end of the run (all phases): `"
              + " ".join(l for l in st.splitlines() if l.startswith("#")).lstrip("# ") + "`")
            w()

    # -- the patched storage hooks (issue 15) --
    def hooks_groups(self):
        """(the never-vacuumed group on the local disk, the one on the slow
        device, the Bitmap Heap Scan group): ids or None"""
        nv = self.gids("hooks", query="noqual")
        return (next((g for g in nv if self.groups[g]["latency_us"] is None), None),
                next((g for g in nv if self.groups[g]["latency_us"] is not None), None),
                next(iter(self.gids("hooks", query="bitmap")), None))

    def counterpart(self, gid, cid):
        """the stock server's row (pg15_X) of a patched row (pg15p_X) in the
        same group, or None"""
        if not cid.startswith("pg15p_"):
            return None
        other = "pg15_" + cid[len("pg15p_"):]
        return other if other in self.groups[gid]["configs"] else None

    def hooks_targets(self, cold, slow):
        """issue 15's target, part by part, and the same numbers for
        direct_reads = off; returns the verdict"""
        w = self.w
        parts = []
        for gid, where in ((cold, "local disk"), (slow, "slow device, +2 ms per request")):
            cmp = self.compare(gid, "pg15p_async", "pg15p_async_av", "time") if gid else None
            parts.append((f"never-vacuumed table cold on patched 15 (defaults) within 10% "
                          f"of the all-visible table's AsyncSeqScan (patched 15, defaults), "
                          f"{where}", cmp, cmp and cmp["ratio"] <= HOOKS_WITHIN,
                          self.fmt_cmp(cmp)))
        cmp = self.compare(slow, "pg15p_async", "pg15_seqscan", "time") if slow else None
        parts.append(("never-vacuumed table cold on patched 15 (defaults) at least "
                      f"{HOOKS_SPEEDUP:g}x faster than stock PG15 Seq Scan, slow device "
                      "(+2 ms per request)", cmp,
                      cmp and cmp["ratio"] <= 1 / HOOKS_SPEEDUP,
                      (f"{1 / cmp['ratio']:.1f}x faster: " if cmp else "") + self.fmt_cmp(cmp)))
        w("| part of the target | measured: ratio of medians (medians; IQR) | |")
        w("|---|---|---|")
        for text, cmp, ok, measured in parts:
            if cmp:
                measured += f"; {cmp['n']} run{'s' if cmp['n'] != 1 else ''} each"
            w(f"| {text} | {measured} | "
              + (verdict(ok and not cmp["wrong"]) if cmp else "not measured") + " |")
        w()
        if all(p[1] for p in parts):
            met = all(p[2] and not p[1]["wrong"] for p in parts)
        else:
            met = None
        w("**Issue 15's target: " + ("met" if met else "not met" if met is False else
                                     "not judged (not every part was measured)") + ".**")
        w()
        # the same with every page read through shared buffers
        lines = []
        for gid, where in ((cold, "local disk"), (slow, "slow device")):
            if not gid:
                continue
            bits = []
            for cid in ("pg15p_async_nodr", "pg15_async_nodr"):
                c = self.compare(gid, cid, "pg15p_async_av", "time")
                s = self.compare(gid, cid, "pg15_seqscan", "time")
                if c and s:
                    bits.append(f"{self.label(cid)}: {fnum(c['a']['med'])} ms, "
                                f"{c['ratio']:.2f}x the all-visible table's time, "
                                f"{s['ratio']:.2f}x the stock Seq Scan's"
                                + (f" ({1 / s['ratio']:.1f}x faster)" if s["ratio"] < 0.95
                                   else ""))
            h = self.compare(gid, "pg15p_async_nodr", "pg15_async_nodr", "time")
            if h:
                bits.append(f"patched / stock with direct_reads = off: {h['ratio']:.2f}x")
            if bits:
                lines.append(f"- {where}: " + "; ".join(bits) + ".")
        if lines:
            w("The same measures for `pg_asyncscan.direct_reads = off` (every page through "
              "shared buffers: the path whose reads the hooks make asynchronous; not part "
              "of the target, which is about the defaults):")
            w()
            for line in lines:
                w(line)
            w()
        return met

    def hooks_table(self, gid, base, ref=None):
        g = self.groups[gid]
        w = self.w
        mibs = g["latency_us"] is not None and g["query"] != "bitmap"
        head = ["configuration", "runs", "median ms", "IQR ms", "min–max ms",
                f"vs {self.short(base)}"]
        if ref:
            head.append(f"vs {self.short(ref)}")
        head.append("patched vs stock")
        if mibs:
            head.append("MiB/s")
        head += ["backend CPU", "other CPU", "bound"]
        w("| " + " | ".join(head) + " |")
        w("|---|" + "---:|" * (len(head) - 2) + "---|")
        for cid in g["configs"]:
            c = self.case(gid, cid)
            if not c:
                w(f"| {self.label(cid)} | 0 | not measured |" + " |" * (len(head) - 3))
                continue
            cells = [self.label(cid), f"{c['n']}" + (f" ({c['failed']} failed)"
                                                     if c["failed"] else ""),
                     fnum(c["med"]), fiqr(c), f"{fnum(c['min'])}–{fnum(c['max'])}",
                     fratio(self.ratio(gid, cid, base))]
            if ref:
                cells.append(fratio(self.ratio(gid, cid, ref)))
            other = self.counterpart(gid, cid)
            cells.append(fratio(self.ratio(gid, cid, other)) if other else "")
            if mibs:
                size = self.mb(gid, cid)
                cells.append(fnum(size / (c["med"] / 1000)) if size else "–")
            cells += [f"{fnum(c['be'] * 100 if c['be'] is not None else None)}%",
                      f"{fnum(c['other'] * 100 if c['other'] is not None else None)}%",
                      self.bound(c)]
            if cid in (base, ref) or self.cfg[cid].get("defaults"):
                cells[0] = f"**{cells[0]}**"
            if self.declined(gid, cid):
                cells[0] += " (planned a Seq Scan: pg_asyncscan stepped aside)"
            w("| " + " | ".join(cells) + " |")
        w()

    def hooks_section(self):
        cold, slow, bitmap = self.hooks_groups()
        if not (cold or slow or bitmap):
            return
        w = self.w
        st = self.ex.get("settings", {})
        w("## Patched storage hooks (issue 15)")
        w()
        w("PostgreSQL 15 built from Debian's bookworm source with `patches/15/` applied "
          "(README, \"Patched storage hooks\"; `test/build_pg.sh 15 --patched --flavor "
          f"bench`: {self.build.get('pg15p_build', '?')}), server "
          f"{st.get('pg15p', {}).get('server_version', '?')}, next to the stock PostgreSQL "
          f"15 (Debian's package, {st.get('pg15', {}).get('server_version', '?')}): a "
          "cluster of its own with the same settings, the same pgbench data and table "
          "states, pg_asyncscan built against it and preloaded from a private directory. "
          "\"patched\" rows run there, the others on the stock server (and PG18). Before "
          "measuring, every AsyncSeqScan row's plan was checked and its `EXPLAIN VERBOSE` "
          "showed `Storage Hooks: on` on the patched server and not on the stock one; for "
          "the Bitmap Heap Scan rows an AsyncSeqScan of the same table with the same "
          "settings showed the same. Column *patched vs stock*: a patched row's median "
          "over the same row's on the stock server.")
        w()
        w("With its defaults pg_asyncscan reads the never-vacuumed table's pages directly "
          "on either server (their tuples judged one by one), so there the hooks matter "
          "little; `pg_asyncscan.direct_reads = off` reads every page through shared "
          "buffers, the path that direct reads cannot take (SERIALIZABLE, a hot standby) "
          "and whose prefetches the hooks turn into asynchronous reads through "
          "`pg_asyncscan.io_method` (without them: `posix_fadvise`). The "
          "\"ALL-VISIBLE table\" rows scan pgbench_accounts in the same rounds as the "
          "never-vacuumed copy acc_nv (same rows, same size).")
        w()
        self.hooks_targets(cold, slow)
        for gid in (cold, slow):
            if not gid:
                continue
            g = self.groups[gid]
            nv = self.mb(gid, "pg15_seqscan")
            av = self.mb(gid, "pg15p_async_av")
            w(f"### Never-vacuumed table, cold, "
              + ("local disk" if g["latency_us"] is None else
                 f"slow device +{g['latency_us'] / 1000:g} ms per request")
              + f" (`{gid}`)")
            w()
            if nv:
                w(f"acc_nv in {g['dbname']}: {nv:,.0f} MiB, not all-visible"
                  + (f"; pgbench_accounts (all-visible): {av:,.0f} MiB" if av else "") + ".")
                w()
            self.hooks_table(gid, "pg15_seqscan", "pg15p_async_av")
            png = self.bar_plot(gid, f"{self.glabel(gid)}, stock and patched PostgreSQL 15: "
                                "time per scan")
            if png:
                w(f"![{gid}]({png})")
                w()
        if bitmap:
            self.hooks_bitmap(bitmap)
        chk = {k: v for k, v in (self.ex.get("hooks_checks") or {}).items()
               if k.split("/")[-1].startswith("pg15p_")}
        if chk:
            w("<details><summary>EXPLAIN (VERBOSE) of the patched rows before measuring "
              "(the storage hook check)</summary>")
            w()
            for k, v in chk.items():
                w(f"`{k}`:")
                w()
                w("```")
                w(v)
                w("```")
                w()
            w("</details>")
            w()

    def hooks_bitmap(self, gid):
        w = self.w
        g = self.groups[gid]
        st = self.ex.get("settings", {})
        eic = st.get("pg15", {}).get("effective_io_concurrency", "?")
        exp = (self.ex.get("expected") or {}).get(f"pg15/{g['dbname']}/av/bitmap")
        t = self.table_state("pg15", g["dbname"], "av")
        w(f"### Bitmap Heap Scan, slow device +{(g['latency_us'] or 0) / 1000:g} ms per "
          f"request, cold (`{gid}`)")
        w()
        q = self.d.get("queries", {}).get("bitmap", {})
        w(f"`{q.get('sql', '?').replace(':tbl', 'pgbench_accounts')}` through the index "
          "`acc_scatter` on `(aid % 1000)` (bench/sql/bitmap.sql), with `enable_seqscan`, "
          "`enable_indexscan` and `enable_indexonlyscan` off; the plan (Bitmap Heap Scan "
          "over a Bitmap Index Scan on acc_scatter) checked before measuring, the result "
          "checked against a Seq Scan's in every run"
          + (f": {exp[0]:,} rows, one per heap page, on {exp[0]:,} of the table's "
             f"{t['pages']:,} pages ({exp[0] / t['pages'] * 100:.0f}%), about "
             f"{t['pages'] / exp[0]:.1f} pages apart" if exp and t and t["pages"] else "")
          + f". effective_io_concurrency: the server's default ({eic}) and 32. PostgreSQL "
          "15's Bitmap Heap Scan prefetches that many heap pages ahead with "
          "`PrefetchBuffer`: on the stock server a `posix_fadvise(WILLNEED)` per page; "
          "on the patched one, with pg_asyncscan preloaded, an asynchronous read into "
          "pg_asyncscan's staging memory that the next `ReadBuffer` of that page takes.")
        w()
        self.hooks_table(gid, "pg15_bitmap")
        png = self.bar_plot(gid, f"{self.glabel(gid)}: stock and patched PostgreSQL 15",
                            base="pg15_bitmap")
        if png:
            w(f"![{gid}]({png})")
            w()
        plan = (self.ex.get("plan_checks") or {}).get(f"{g['dbname']}/av/bitmap/pg15p_bitmap")
        if plan:
            w("<details><summary>The plan (patched server, checked before measuring)"
              "</summary>")
            w()
            w("```")
            w(plan)
            w("```")
            w()
            w("</details>")
            w()

    def mixed_section(self):
        gids = self.gids("mixed")
        if not gids:
            return
        gid = gids[0]
        g = self.groups[gid]
        w = self.w
        w("## Mixed workload: OLTP at a fixed rate next to a scanning client")
        w()
        w(f"`pgbench -n -b tpcb-like -R {self.d['oltp_rate']} -c 4 -j 2 -T "
          f"{self.d['mixed_secs']}` on a database of its own ({g['dbname']}, so the other "
          f"groups' tables never see these updates), and at the same time one client "
          f"running bench/sql/noqual.sql on pgbench_accounts in a loop (`pgbench -f "
          f"bench/sql/noqual.sql -c 1 -T {self.d['mixed_secs']}`, checking count(*) and "
          f"sum(aid): the OLTP changes abalance) with the configuration given, OS page "
          f"cache warm. OLTP latency is per transaction from pgbench's log, measured from "
          f"the scheduled start (so it includes schedule lag), median over "
          f"{g.get('runs')} runs of each run's statistic (min–max of p99 in brackets). "
          f"pgbench_history is truncated before and the tables vacuumed after each run.")
        w()
        w("| configuration | OLTP tps | avg ms | p95 ms | p99 ms (min–max) | max ms | "
          "scans per run | scan median ms |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        series = {}
        for cid in g["configs"]:
            runs = [r for r in self.by.get((gid, cid), []) if r.get("oltp_tps") is not None]
            if not runs:
                continue

            def med(k):
                v = [r[k] for r in runs if r.get(k) is not None]
                return statistics.median(v) if v else None
            p99 = [r["oltp_p99_ms"] for r in runs if r.get("oltp_p99_ms") is not None]
            w(f"| {self.label(cid)} | {fnum(med('oltp_tps'), 1)} | {fnum(med('oltp_avg_ms'), 2)} | "
              f"{fnum(med('oltp_p95_ms'), 2)} | {fnum(med('oltp_p99_ms'), 2)} "
              f"({fnum(min(p99) if p99 else None, 1)}–{fnum(max(p99) if p99 else None, 1)}) | "
              f"{fnum(med('oltp_max_ms'), 1)} | {fnum(med('scans'), 1)} | {fnum(med('scan_ms'))} |")
            series[cid] = runs[-1]["per_sec"]
        w()
        rows = []
        for cid in g["configs"]:
            runs = [r for r in self.by.get((gid, cid), []) if r.get("oltp_avg_ms") is not None]
            if runs:
                rows.append(f"\"{self.short(cid)}\" " + " ".join(
                    f"{statistics.median([r[k] for r in runs]):.2f}"
                    for k in ("oltp_avg_ms", "oltp_p95_ms", "oltp_p99_ms")))
        script = """set title "OLTP latency (tpcb-like at a fixed rate) next to one scanning client"
set ylabel "ms (median over runs)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30 scale 0 nomirror
set grid ytics
set yrange [0:*]
set key top left
set bmargin 6
plot 'mixed.dat' using 2:xtic(1) title 'avg', '' using 3 title 'p95', '' using 4 title 'p99'
"""
        png = self.plot("mixed", script, {"mixed.dat": "\n".join(rows) + "\n"}) if rows else None
        if png:
            w(f"![mixed]({png})")
            w()
        data, plots = {}, []
        for cid, ps in series.items():
            fn = f"mixed-{cid}.dat"
            data[fn] = "\n".join(f"{s} {a:.3f} {mx:.3f} {n}" for s, a, mx, n in ps) + "\n"
            plots.append(f"'{fn}' using 1:2 with lines lw 2 title \"{self.short(cid)}\"")
        script = f"""set title "OLTP latency over time, last run of each configuration (per-second average)"
set xlabel "seconds"
set ylabel "ms"
set grid
set key outside right
set yrange [0:*]
plot {", ".join(plots)}
"""
        png = self.plot("mixed-timeline", script, data) if plots else None
        if png:
            w(f"![mixed-timeline]({png})")
            w()

    def grid_details(self):
        gids = self.gids("grid")
        if not gids:
            return
        w = self.w
        w("## Grid groups in detail")
        w()
        w("<details><summary>Every grid group: medians, IQR, min–max, ratios, CPU</summary>")
        w()
        for gid in gids:
            w(f"#### {self.glabel(gid)} (`{gid}`)")
            w()
            self.group_table(gid)
        w("</details>")
        w()

    def environment(self):
        d, ex = self.d, self.ex
        m = ex.get("machine", {})
        st = ex.get("settings", {})
        w = self.w
        loads = [r["load1"] for r in d["results"] if "load1" in r]
        w("## Machine, versions, settings")
        w()
        w("| | |")
        w("|---|---|")
        w(f"| machine | {m.get('nproc')} vCPUs ({m.get('cpu_model', '?')}), "
          f"{m.get('mem_total_gb')} GB RAM, systemd-detect-virt: vm {m.get('virt_vm')}, "
          f"container {m.get('virt_container')}, {m.get('os')} ({m.get('debian_version')}), "
          f"kernel {m.get('kernel')} |")
        w(f"| disk | {m.get('workdir_fs')} on `/dev/{m.get('disk')}` ({m.get('disk_lsblk')}); "
          f"read_ahead_kb={m.get('disk_read_ahead_kb')}, max_sectors_kb="
          f"{m.get('disk_max_sectors_kb')}, nr_requests={m.get('disk_nr_requests')}, "
          f"scheduler {m.get('disk_scheduler')}, rotational={m.get('disk_rotational')} |")
        pr = m.get("page_reporting")
        if pr:
            w(f"| free page reporting | {pr} (bench/run.sh; see *cold* below) |")
        if loads:
            w(f"| load | shared machine: 1-min load average {min(loads):.2f}–{max(loads):.2f} "
              f"during the runs, median {statistics.median(loads):.2f} (start "
              f"{' '.join(m.get('loadavg_start', []))}, end "
              f"{' '.join(ex.get('loadavg_end', []))}) |")
        p15, p17, p18 = st.get("pg15", {}), st.get("pg17", {}), st.get("pg18", {})
        p15p = st.get("pg15p", {})
        w(f"| PostgreSQL 15 | {p15.get('server_version')}, Debian's package |")
        if p15p:
            w(f"| PostgreSQL 15 patched | {p15p.get('server_version')}, built from Debian's "
              f"source package with patches/15 ({self.build.get('pg15p_patches', '?')}): "
              f"{self.build.get('pg15p_build', '?')} |")
        if p17:
            w(f"| PostgreSQL 17 | {p17.get('server_version')}, Debian 13 (trixie)'s package, "
              f"run in a trixie root file system made by test/debian_chroot.sh: "
              f"{self.build.get('pg17_chroot', '?')} |")
        if p18:
            w(f"| PostgreSQL 18 | {p18.get('server_version')}, built from Debian's source "
              f"package: {self.build.get('pg18_build', '?')} |")
        b = self.build
        w(f"| pg_asyncscan | {b.get('pg_asyncscan_source', '?')} "
          f"`{b.get('pg_asyncscan_describe', '?')}` (commit "
          f"{b.get('pg_asyncscan_commit', '?')[:12]}"
          + (f"; uncommitted changes in: {b['pg_asyncscan_dirty_files']}"
             if b.get("pg_asyncscan_dirty_files", "").strip() else "")
          + f"), .so sha256 {b.get('pg_asyncscan_so_sha256', '?')[:16]}…"
          + (f" (18: {b['pg_asyncscan_pg18_so_sha256'][:16]}…)"
             if b.get("pg_asyncscan_pg18_so_sha256") else "")
          + (f" (patched 15: {b['pg_asyncscan_pg15p_so_sha256'][:16]}…)"
             if b.get("pg_asyncscan_pg15p_so_sha256") else "")
          + (f" (17: {b['pg_asyncscan_pg17_so_sha256'][:16]}…, gcc {b.get('pg17_gcc', '?')}, "
             f"liburing {b.get('pg17_liburing', '?')})"
             if b.get("pg_asyncscan_pg17_so_sha256") else "")
          + f", liburing {b.get('liburing', '?')}, gcc {b.get('gcc', '?')} |")
        w(f"| tools | {m.get('fio', '?')}; bench commit {b.get('bench_commit', '?')[:12]} |")
        w()
        w("Settings as the servers reported them. Set by the benchmark, the same for all: "
          "shared_buffers, max_parallel_workers_per_gather (2 only in the parallel rows), "
          "jit, autovacuum, data checksums; the rest are each version's defaults:")
        w()
        keys = ["shared_buffers", "max_parallel_workers_per_gather", "jit",
                "effective_io_concurrency", "maintenance_io_concurrency",
                "synchronize_seqscans", "data_checksums", "autovacuum", "fsync", "huge_pages",
                "max_worker_processes", "io_combine_limit", "io_method", "io_workers",
                "io_max_combine_limit", "io_max_concurrency", "pg_asyncscan.io_method",
                "pg_asyncscan.io_depth", "pg_asyncscan.io_combine_limit",
                "pg_asyncscan.direct_reads", "pg_asyncscan.direct_io",
                "pg_asyncscan.io_workers", "pg_asyncscan.min_relation_size",
                "pg_asyncscan.worker_arena_size", "pg_asyncscan.storage_hooks",
                "shared_preload_libraries"]
        vers = [(n, s) for n, s in (("PostgreSQL 15", p15), ("PostgreSQL 15 patched", p15p),
                                    ("PostgreSQL 18", p18), ("PostgreSQL 17", p17)) if s]
        w("| setting | " + " | ".join(n for n, _ in vers) + " |")
        w("|---|" + "---|" * len(vers))
        for k in keys:
            vals = []
            for _, s in vers:
                v = s.get(k)
                if k == "io_method" and v:
                    v = "worker (the default; sync / io_uring in their own rows, one " \
                        "restart each)"
                vals.append(v if v else "–")
            if any(v != "–" for v in vals):
                w(f"| {k} | " + " | ".join(vals) + " |")
        w()
        w("pg_asyncscan settings are its defaults unless a configuration sets one (the "
          "configuration's name says which). Also: `max_wal_size = 8GB`, "
          "`checkpoint_timeout = 1h` (no checkpoint during a run), autovacuum off (the "
          "never-vacuumed tables stay so), data checksums on (18's initdb default; "
          "`initdb -k` for 15, the patched 15 and 17). jit is off (18 is built without LLVM).")
        w()
        self.tables_section()

    def tables_section(self):
        ts, te = self.ex.get("table_state", {}), self.ex.get("table_state_end", {})
        if not ts:
            return
        w = self.w
        w("Tables, generated with each version's own `pgbench -i` (the same rows in all "
          "versions) and copied with CREATE TABLE AS: all-visible = pgbench_accounts after "
          "`VACUUM (FREEZE, ANALYZE)`; never-vacuumed = acc_nv (CREATE TABLE AS, ANALYZE, "
          "one Seq Scan to set the hint bits, CHECKPOINT, never vacuumed); partly "
          "all-visible = acc_part (CREATE TABLE AS, `VACUUM (FREEZE, ANALYZE)`, an UPDATE of "
          "the first row of every other page, two Seq Scans to prune and set hint bits, "
          "CHECKPOINT). States read with pg_visibility before and after the run:")
        w()
        w("| cluster / database / table | state | MB | pages | all-visible before | after | "
          "tablespace |")
        w("|---|---|---:|---:|---:|---:|---|")
        for k, v in sorted(ts.items()):
            e = te.get(k)
            w(f"| {k} | {self.tlabel(v['table'])} | {v['bytes'] / 2**20:,.0f} | {v['pages']:,} | "
              f"{v['all_visible_frac'] * 100:.1f}% | "
              + (f"{e['all_visible_frac'] * 100:.1f}%" if e else "–")
              + f" | {v['tablespace']} |")
        w()
        mm = self.ex.get("expected_mismatch") or []
        if mm:
            w("**Note:** the clusters' copies of a table gave different Seq Scan results: "
              + "; ".join(mm))
            w()

    def method(self):
        d = self.d
        w = self.w
        w("## How it was measured")
        w()
        qs = d.get("queries", {})
        w("- Queries (bench/sql/), each a pgbench custom script run as `pgbench -n -M simple "
          "-f bench/sql/Q.sql -D tbl=TABLE -D exp_n=… -c N -j N -t 1` (N clients, each "
          "scanning the whole table once, all at the same time):")
        for k, q in qs.items():
            w(f"  - {q['label']}: `{q['sql']}` ({q['file']})")
        w("- **Every timed run's result is checked**: each script compares count(*), "
          "sum(aid) and sum(abalance) with the Seq Scan's result on the same table, computed "
          "once per cluster and database before measuring, and aborts the client with "
          "\"wrong result\" when they differ; such a run counts as failed, not as fast. "
          "count(*) and sum(aid) without a qual prove every row was read; with the quals "
          "(aid % 50 = 7 matches at least one row on each page) that every page was read.")
        w("- The time of a run is the makespan from pgbench's per-transaction log (`-l`): "
          "first start to last end; connection set-up is not included. The configuration "
          "comes in through `PGOPTIONS`; PostgreSQL 18's `io_method` (PGC_POSTMASTER) by "
          "restarting its server. Before measuring, each configuration's plan is checked "
          "for every table and query: a Custom Scan (AsyncSeqScan) for every AsyncSeqScan "
          "row, a Seq Scan for every Seq Scan row (Parallel ones under a Gather with 2 "
          "workers for the parallel rows), a Bitmap Heap Scan over the index acc_scatter "
          "for the bitmap rows, and the pg_asyncscan settings it sets are in effect; on the "
          "patched PostgreSQL 15 `EXPLAIN VERBOSE` must show `Storage Hooks: on` (see the "
          "section on the storage hooks). The expected results are a plain Seq Scan's "
          "(pg_asyncscan, bitmap, index and index-only scans off; its plan checked too).")
        runs = sorted({g["runs"] for g in d["groups"]})
        w(f"- Every group is run in rounds ({', '.join(map(str, runs))} per group, see each "
          "table's *runs*): each round runs every configuration of the group once, in an "
          "order rotated from round to round, so slow drifts of the shared machine hit all "
          "configurations alike.")
        w("- **cold**: the server is stopped, `sync; echo 3 > /proc/sys/vm/drop_caches`, the "
          "server started (shared buffers empty), the query planned once (catalogs cached, "
          "table not read), then the timed run.")
        pr = self.ex.get("machine", {}).get("page_reporting") or ""
        if pr.startswith("page_reporting_order="):
            w("- The virtual machine reports free memory to its host (virtio-balloon free page "
              "reporting), which discards it: after `drop_caches` the next reads' page cache "
              "then lands in memory the host must fault in again, ~1 s of kernel time more for "
              "a cold 1.9 GB scan in whichever run it hits (measured before this run: the same "
              "scan's backend system time 150 or 1,150 ms; Seq Scan and AsyncSeqScan alike). "
              "A physical server has no such cost, so for this run the harness raised "
              f"`page_reporting_order` ({pr}; restored afterwards); `--keep-page-reporting` "
              "leaves it.")
        elif pr.startswith("kept"):
            w(f"- Free page reporting was left on ({pr}, `--keep-page-reporting`): cold runs "
              "include, at random, the host faulting in the memory `drop_caches` freed.")
        w("- **OS-warm**: the table's files are in the OS page cache (checked with `fincore` "
          "before and after each run; a run during which another session dropped the page "
          "cache is repeated), shared buffers do not hold the table (it is far larger than "
          "shared_buffers).")
        w(f"- **shared-buffer-hot**: a small table (scale {d.get('hot_scale')}) loaded into "
          f"shared buffers with `pg_prewarm` and scanned once with the configuration (its "
          f"result checked too) before each timed run; judged on the backends' CPU time "
          f"(`log_statement_stats`), at least {HOT_MIN_RUNS} runs.")
        w("- **CPU**: `log_statement_stats = on` (in `PGOPTIONS`) makes each backend log "
          "getrusage() user+system time of the statement itself; the other server processes' "
          "(IO workers, checkpointer, ...) CPU comes from /proc/PID/stat. *backend CPU* = "
          "backend CPU time / (time × min(processes, vCPUs)); column *bound*: CPU ≥ 80%, "
          "IO < 50%, IO+CPU between. *other CPU* is the other server processes' CPU per "
          "second of run (for the worker method, where the reads and copies happen).")
        w()

    def explains(self):
        ex = self.ex.get("explain") or {}
        if not ex:
            return
        w = self.w
        w("## Appendix: EXPLAIN (ANALYZE, BUFFERS) of one extra cold run per configuration")
        w()
        w("Untimed runs after the measurements (TIMING OFF, track_io_timing on). The `IO:` "
          "and `Reads:` lines are pg_asyncscan's own statistics (on PostgreSQL 18 shown "
          "through its `ASYNCIO` EXPLAIN option, which the harness adds there); `direct=N "
          "(tuples checked=M)` counts pages read directly, M of them not all-visible.")
        w()
        for k, v in ex.items():
            gid, cid = k.split("/", 1)
            w(f"<details><summary>{gid}: {self.label(cid)}</summary>")
            w()
            w("```")
            w(v)
            w("```")
            w()
            w("</details>")
            w()

    def notes(self):
        w = self.w
        d, ex = self.d, self.ex
        w("## Notes")
        w()
        w("- `synchronize_seqscans` is on (the default): concurrent Seq Scans of one table "
          "join each other and share one pass of reads, so with 2 and 4 clients cold the "
          "Seq Scan reads the table about once. AsyncSeqScan does not synchronise.")
        w("- Cold on this VM: `drop_caches` empties the guest's page cache, but the virtual "
          "disk's backing store on the host may cache too, so \"cold\" reads run at "
          "anything from real-device to host-memory speed (see min–max).")
        lost = sum(1 for r in d["results"] if r.get("warm_lost"))
        w("- The machine is shared with other sessions: configurations alternate within "
          "each round and medians are reported. Warm runs disturbed by a page cache drop "
          f"(another session's) were repeated: {ex.get('disturbed', 0)} times"
          + (f"; {lost} runs lost the page cache four times in a row and are left out"
             if lost else "") + ".")
        w("- *backend CPU* above 100%: the kernel's io_uring worker threads, which do "
          "buffered reads that would block, are threads of the backend and count as its "
          "CPU time.")
        rs = ", ".join(f"PostgreSQL {k[2:]}: {v}" for k, v in (d.get("restarts") or {}).items())
        w(f"- Server restarts: {rs}. pg_asyncscan was loaded from a private copy per "
          "version (`dynamic_library_path`), so a `make install` elsewhere on the machine "
          "during the run could not swap the library under test.")
        w("- Raw data: `results.json` (every run: makespan, each client's latency, "
          "backend and other server CPU, load average; plans, expected results, table "
          "states, fio), `run.log`, `plot-data/`; `bash bench/run.sh --report DIR` "
          "rebuilds report and plots.")
        w()

    def write(self):
        self.header()
        self.failures()
        self.targets()
        self.headline()
        self.grid()
        self.hooks_section()
        self.headline_details()
        self.parallel_section()
        self.slow_section()
        self.mixed_section()
        self.grid_details()
        self.environment()
        self.method()
        self.notes()
        self.explains()
        with open(os.path.join(self.out, "report.md"), "w") as f:
            f.write("\n".join(self.md) + "\n")
        print(f"wrote {os.path.join(self.out, 'report.md')} and {len(self.plots)} plots")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench/report.py RESULTS_DIR")
    Report(sys.argv[1]).write()


if __name__ == "__main__":
    main()
