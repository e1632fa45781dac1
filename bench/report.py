#!/usr/bin/env python3
"""
bench/report.py -- turn a results directory of bench/matrix.py
(results.json, build.txt) into report.md and PNG plots (gnuplot).

    bench/report.py DIR

Safe to run again at any time (bench/run.sh --report DIR does); works on
partial results of an interrupted run.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys

NPROC = os.cpu_count()


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
        self.cfg = self.d["configs"]
        self.groups = {g["id"]: g for g in self.d["groups"]}
        self.by = {}
        for r in self.d["results"]:
            self.by.setdefault((r["group"], r["config"]), []).append(r)
        self.plots = []
        self.plotdir = os.path.join(out, "plot-data")
        self.gnuplot = shutil.which("gnuplot")
        self.md = []

    # -- statistics of one case --
    def case(self, gid, cid):
        runs = self.by.get((gid, cid))
        if not runs:
            return None
        ms = [r["ms"] for r in runs]
        g = self.groups[gid]
        n = g["clients"]
        par = min(n, NPROC)
        be = [r["backend_cpu_s"] / (r["ms"] / 1000 * par) for r in runs
              if r.get("backend_cpu_s") is not None and r["ms"] > 0]
        ot = [r["server_other_cpu_s"] / (r["ms"] / 1000) for r in runs
              if r.get("server_other_cpu_s") is not None and r["ms"] > 0]
        med = statistics.median(ms)
        return dict(n=len(ms), med=med, min=min(ms), max=max(ms), q1=pct(ms, 25),
                    q3=pct(ms, 75), tput=n / (med / 1000),
                    lat=statistics.median([x for r in runs for x in r["lat_ms"]]),
                    be=statistics.median(be) if be else None,
                    other=statistics.median(ot) if ot else None,
                    load=statistics.median([r["load1"] for r in runs]))

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

    def overlap(self, gid, a, b):
        x, y = self.case(gid, a), self.case(gid, b)
        return bool(x and y and x["q1"] <= y["q3"] and y["q1"] <= x["q3"])

    def ratio(self, gid, cid, base):
        a, b = self.case(gid, cid), self.case(gid, base)
        if not a or not b:
            return None
        return a["med"] / b["med"]

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

    def w(self, line=""):
        self.md.append(line)

    # -- sections --
    def label(self, cid):
        return self.cfg[cid]["label"] if cid in self.cfg else cid

    def is_async(self, cid):
        """an AsyncSeqScan configuration (pg_asyncscan), on any version"""
        c = self.cfg.get(cid)
        return bool(c and c.get("node") == "Custom Scan (AsyncSeqScan)")

    def seqscan_of(self, cid, gid):
        """the Seq Scan an AsyncSeqScan configuration replaces: PG15's,
        PG17's, or PG18's, on the same server io_method if the group has
        it"""
        c = self.cfg.get(cid, {})
        if c.get("cluster") == "pg17":
            return "pg17_seqscan"
        if c.get("cluster") == "pg18":
            m = c.get("start", {}).get("io_method", "worker")
            for base in (f"pg18_{m.replace('io_', '')}", "pg18_uring", "pg18_worker",
                         "pg18_sync"):
                if base in self.groups[gid]["configs"]:
                    return base
            return None
        return "pg15_seqscan"

    def color(self, cid):
        """bar colour (as an integer 0xRRGGBB) by family of configuration"""
        if cid == "pg15_seqscan":
            return 0x888888
        if cid == "pg17_seqscan":
            return 0xB07AA1
        if cid.startswith("pg17"):
            return 0x6A3D9A
        tuned = self.cfg.get(cid, {}).get("tuned")
        if cid.startswith("pg18") and self.is_async(cid):
            return 0x1B6E2A if tuned else 0x3AA655
        if cid.startswith("pg18"):
            return 0xE08A2C
        if tuned:
            return 0x1F4E79
        return 0x3B75AF

    def short(self, cid):
        return self.cfg[cid]["short"] if cid in self.cfg else cid

    def group_ids(self, kind):
        return [g["id"] for g in self.d["groups"] if g["kind"] == kind]

    def table_size(self, kind):
        for v in self.d["extra"].get("tables", {}).values():
            if v["kind"] == kind and v["cluster"] == "pg15":
                return v
        return None

    def header(self):
        d, ex = self.d, self.d["extra"]
        m = ex.get("machine", {})
        w = self.w
        w(f"# pg_asyncscan benchmark report ({d['mode']} mode)")
        w()
        w(f"Run started {ex.get('started', '?')}, took "
          f"{(ex.get('t_end') or (d['results'][-1]['t'] if d['results'] else 0)) / 60:.0f} min "
          f"({len(d['results'])} timed runs). Command: `{self.build.get('command', '?')}`.")
        if not ex.get("t_end"):
            w()
            w("**This run did not finish: the report covers the runs that were made.**")
        w()
        w("Ratios are **time ratios** of medians: below 1.00x is faster than the baseline "
          "(0.50x = twice as fast).")
        w()

    def environment(self):
        d, ex = self.d, self.d["extra"]
        m = ex.get("machine", {})
        st = ex.get("settings", {})
        w = self.w
        loads = [r["load1"] for r in d["results"] if "load1" in r]
        w("## Machine, versions, settings")
        w()
        w("| | |")
        w("|---|---|")
        w(f"| machine | {m.get('nproc')} vCPUs ({m.get('cpu_model', '?')}), "
          f"{m.get('mem_total_gb')} GB RAM, systemd-detect-virt: "
          + (f"vm {m.get('virt_vm')}, container {m.get('virt_container')}"
             if "virt_vm" in m else f"{m.get('virt')}") + ", "
          f"{m.get('os')} ({m.get('debian_version')}), kernel {m.get('kernel')} |")
        w(f"| disk | {m.get('workdir_fs')} on `/dev/{m.get('disk')}` ({m.get('disk_lsblk')}); "
          f"read_ahead_kb={m.get('disk_read_ahead_kb')}, max_sectors_kb="
          f"{m.get('disk_max_sectors_kb')}, nr_requests={m.get('disk_nr_requests')}, "
          f"scheduler {m.get('disk_scheduler')}, rotational={m.get('disk_rotational')} |")
        if loads:
            w(f"| load | shared machine (other sessions build and test): 1-min load average "
              f"{min(loads):.2f}–{max(loads):.2f} during the runs, median "
              f"{statistics.median(loads):.2f} (start {' '.join(m.get('loadavg_start', []))}, "
              f"end {' '.join(ex.get('loadavg_end', []))}) |")
        p15, p17, p18 = st.get("pg15", {}), st.get("pg17", {}), st.get("pg18", {})
        w(f"| PostgreSQL 15 | {p15.get('server_version')}, Debian's package |")
        if p17:
            w(f"| PostgreSQL 17 | {p17.get('server_version')}, Debian 13 (trixie)'s package, "
              f"run in a trixie root file system made by test/debian_chroot.sh: "
              f"{self.build.get('pg17_chroot', '?')} |")
        if p18:
            w(f"| PostgreSQL 18 | {p18.get('server_version')}, built from Debian's source package: "
              f"{self.build.get('pg18_build', '?')} |")
        w(f"| pg_asyncscan | {self.build.get('pg_asyncscan_source', '?')} "
          f"`{self.build.get('pg_asyncscan_describe', '?')}` (commit "
          f"{self.build.get('pg_asyncscan_commit', '?')[:12]}"
          + (f"; uncommitted changes in: {self.build['pg_asyncscan_dirty_files']}"
             if self.build.get("pg_asyncscan_dirty_files", "").strip() else "")
          + f"), .so sha256 {self.build.get('pg_asyncscan_so_sha256', '?')[:16]}…"
          + (f" (for PostgreSQL 18: {self.build['pg_asyncscan_pg18_so_sha256'][:16]}…, built "
             f"from the same tree)" if self.build.get("pg_asyncscan_pg18_so_sha256") else "")
          + (f" (for PostgreSQL 17: {self.build['pg_asyncscan_pg17_so_sha256'][:16]}…, built "
             f"from the same tree in the trixie root, gcc {self.build.get('pg17_gcc', '?')}, "
             f"liburing {self.build.get('pg17_liburing', '?')})"
             if self.build.get("pg_asyncscan_pg17_so_sha256") else "")
          + f", liburing "
          f"{self.build.get('liburing', '?')}, gcc {self.build.get('gcc', '?')} |")
        w()
        w("Settings as the servers reported them. Set by the benchmark, the same for both: "
          "shared_buffers, max_parallel_workers_per_gather, jit, autovacuum, data "
          "checksums; the rest are each version's defaults:")
        w()
        keys = ["shared_buffers", "max_parallel_workers_per_gather", "jit",
                "effective_io_concurrency", "maintenance_io_concurrency",
                "synchronize_seqscans", "data_checksums", "autovacuum", "fsync", "huge_pages"]
        # a PostgreSQL 17 column when the run had it
        def c17(v):
            return f" {v} |" if p17 else ""
        w("| setting | PostgreSQL 15 | PostgreSQL 18 |" + c17("PostgreSQL 17"))
        w("|---|---|---|" + c17("---"))
        for k in keys + (["io_combine_limit"] if p17 else []):
            w(f"| {k} | {p15.get(k, '–')} | {p18.get(k, '–')} |" + c17(p17.get(k, '–')))
        for k in ["io_method", "io_workers", "io_combine_limit", "io_max_combine_limit",
                  "io_max_concurrency"]:
            if k in p18 and not (p17 and k == "io_combine_limit"):  # a row above
                v = p18[k] if k != "io_method" else "sync / worker / io_uring (one restart each)"
                w((f"| {k} | – | {v} (default) |" if k != "io_method" else f"| {k} | – | {v} |")
                  + c17("–"))
        for k, v in p15.items():
            if k.startswith("pg_asyncscan.") and k != "pg_asyncscan.io_method":
                v18, v17 = p18.get(k), p17.get(k)
                w(f"| {k} | {v} (default unless a configuration sets it) | "
                  + (f"{v18} (default unless a configuration sets it)" if v18 else "–") + " |"
                  + c17(v17 or "–"))
        w(f"| shared_preload_libraries | {p15.get('shared_preload_libraries')} | "
          f"{p18.get('shared_preload_libraries') or '–'} |"
          + c17(p17.get('shared_preload_libraries') or '–'))
        w()
        if any(self.is_async(c) and c.startswith("pg18") for c in self.cfg):
            w("PostgreSQL 18 + pg_asyncscan rows (\"PG18 AsyncSeqScan ...\") run on the "
              "PostgreSQL 18 server with its `io_method` at the default, `worker`. "
              "`pg_asyncscan.io_method` carries AsyncSeqScan's direct reads (all-visible "
              "pages not in shared buffers: nearly all here, the tables are frozen); the "
              "few pages it reads through shared buffers go through the server's "
              "`io_method` (EXPLAIN: `buffered-by=server io_method=worker`). "
              "PostgreSQL 18's own Seq Scan rows run with "
              "pg_asyncscan loaded and `pg_asyncscan.enabled = off`, as PostgreSQL 15's.")
            w()
        if p17:
            w("PostgreSQL 17 rows: its own Seq Scan (a read stream with combined reads, "
              "issued synchronously) with pg_asyncscan loaded and `pg_asyncscan.enabled = "
              "off`, and AsyncSeqScan with the extension's defaults (\"PG17 AsyncSeqScan "
              "(defaults)\"). The server runs from Debian 13's package in a chroot, on the "
              "same disk, with the same settings and its own data directory.")
            w()
        w("Also: `max_wal_size = 8GB`, `checkpoint_timeout = 1h` (no checkpoint during "
          "a run), autovacuum off (tables are `VACUUM (FREEZE, ANALYZE)`d before every "
          "run and after each mixed-workload run: all pages all-visible), data checksums "
          "on in both (18's initdb default; `initdb -k` for 15). PostgreSQL 18 is run "
          "with its defaults for `effective_io_concurrency` (16), `io_combine_limit` "
          "(128kB), `io_workers` (3). jit is off in both (18 is built without LLVM).")
        w()
        tables = ex.get("tables", {})
        if tables:
            w("Data, generated with each version's own `pgbench -i` (data directories are "
              "per version):")
            w()
            w("| cluster / database | use | scale | pgbench_accounts | rows | tablespace |")
            w("|---|---|---:|---:|---:|---|")
            use = {"main": "cold, warm, multi-client, mixed", "hot": "shared-buffer-hot",
                   "slow": "slow storage (slowfs)"}
            for k, v in sorted(tables.items()):
                w(f"| {k} | {use.get(v['kind'], v['kind'])} | {v['scale']} | "
                  f"{v['bytes'] / 2**20:,.0f} MB | {v['scale'] * 100000:,} | {v['tablespace']} |")
            w()

    def method(self):
        d = self.d
        w = self.w
        w("## How it was measured")
        w()
        w(f"- The query: `SELECT sum(abalance) FROM pgbench_accounts` "
          f"(bench/sql/scan.sql), run as a pgbench custom script: "
          f"`pgbench -n -f bench/sql/scan.sql -c N -j N -t 1` (N = 1, 2, 4 clients, each "
          f"scanning the whole table once, all at the same time). The time of a run is "
          f"the makespan from pgbench's per-transaction log (`-l`): first start to last "
          f"end; connection set-up is not included. Throughput = N / makespan.")
        w("- The configuration comes in through `PGOPTIONS` (`pg_asyncscan.*` settings), "
          "so the script is the same for all; PostgreSQL 18's `io_method` is "
          "PGC_POSTMASTER and is set by restarting the server with `-c io_method=...`. "
          "Each configuration's plan is checked once before measuring (AsyncSeqScan or "
          "Seq Scan as expected, and for AsyncSeqScan its `pg_asyncscan.io_method`). "
          "pg_asyncscan is built from the same tree for both versions and preloaded on "
          "both servers.")
        more = {g["id"]: g.get("runs", d["runs"]) for g in d["groups"]
                if g.get("runs", d["runs"]) != d["runs"]}
        runs_txt = f"{d['runs']} times" + (
            " (" + ", ".join(f"{v} in {k}" for k, v in more.items()) + ": the groups the "
            "targets are judged on)" if more else "")
        w(f"- Every case is run {runs_txt}, in rounds: each round runs every "
          f"configuration of the group once, in an order rotated from round to round, so "
          f"slow drifts of the shared machine hit all configurations alike. Tables give "
          f"the median, min–max and the inter-quartile range.")
        w("- **cold**: the server is stopped, `sync; echo 3 > /proc/sys/vm/drop_caches`, "
          "the server started (shared buffers empty), the query planned once (catalogs "
          "cached, table not touched), then the timed run.")
        w("- **warm** (OS-warm): the table's files are in the OS page cache (checked with "
          "`fincore` before and after each run; a run during which another session "
          "dropped the page cache is discarded and repeated), shared buffers do not "
          "hold the table (it is far larger than shared_buffers; Seq Scan uses the "
          "bulk-read ring).")
        w(f"- **hot** (shared-buffer-hot): a small table (scale {d['hot_scale']}), loaded "
          f"into shared buffers with `pg_prewarm` and scanned twice with the "
          f"configuration before the timed run (`pg_prewarm` because a Seq Scan of a table "
          f"larger than shared_buffers/4 uses a ring and never fills shared buffers).")
        w("- **CPU-bound or IO-bound**: for every run the backends' CPU time (user+system) "
          "is read from the postmaster's `cutime+cstime` in /proc (a backend's CPU is "
          "added to its parent's when the postmaster reaps it), the other server "
          "processes' (IO workers, checkpointer, ...) from their own /proc/PID/stat. "
          "*backend CPU* = backend CPU / (time x min(clients, vCPUs)); near 100% means "
          "CPU-bound, well below means the backend waited for IO. Column *bound*: CPU "
          ">= 80%, IO < 50%, IO+CPU between. *other CPU* is the other server processes' "
          "CPU per second of run (for `worker` methods that is where the reads and copies "
          "happen).")
        w()

    def local_table(self, gid):
        g = self.groups[gid]
        w = self.w
        base18 = "pg18_uring"
        has18 = any(c == base18 for c in g["configs"])
        has17 = "pg17_seqscan" in g["configs"]
        w("| configuration | median ms | min–max ms | IQR ms | vs PG15 Seq Scan | "
          "vs PG18 io_uring | " + ("vs PG17 Seq Scan | " if has17 else "")
          + "backend CPU | other CPU | bound |")
        w("|---|---:|---:|---:|---:|---:|" + ("---:|" if has17 else "") + "---:|---:|---|")
        for cid in g["configs"]:
            c = self.case(gid, cid)
            if not c:
                continue
            r1 = self.ratio(gid, cid, "pg15_seqscan")
            r2 = self.ratio(gid, cid, base18) if has18 else None
            r3 = f"{fratio(self.ratio(gid, cid, 'pg17_seqscan'))} | " if has17 else ""
            name = self.label(cid)
            if cid in ("pg15_seqscan", base18, "pg17_seqscan"):
                name = f"**{name}**"
            w(f"| {name} | {fnum(c['med'])} | {fnum(c['min'])}–{fnum(c['max'])} | "
              f"{fnum(c['q3'] - c['q1'])} | {fratio(r1)} | {fratio(r2)} | {r3}"
              f"{fnum(c['be'] * 100 if c['be'] is not None else None)}% | "
              f"{fnum(c['other'] * 100 if c['other'] is not None else None)}% | "
              f"{self.bound(c)} |")
        if has18 and not any(self.is_async(c) and c.startswith("pg18")
                             for c in g["configs"]):
            w("| PG18 AsyncSeqScan (pg_asyncscan on PostgreSQL 18) | not in this run | | | "
              "| | | | |" + (" |" if has17 else ""))
        w()

    def bar_plot(self, gid, title, ylabel="ms"):
        g = self.groups[gid]
        rows = []
        for cid in g["configs"]:
            c = self.case(gid, cid)
            if c:
                rows.append(f"\"{self.short(cid)}\" {c['med']:.1f} {c['min']:.1f} "
                            f"{c['max']:.1f} {self.color(cid)}")
        if not rows:
            return None
        base = self.case(gid, "pg15_seqscan")
        baseline = (f"set arrow from graph 0, first {base['med']:.1f} to graph 1, first "
                    f"{base['med']:.1f} nohead dt 2 lc rgb '#444444'\n"
                    f"set label 'PG15 Seq Scan' at graph 0.99, first {base['med']:.1f} right "
                    f"offset 0,0.6 textcolor rgb '#444444'\n") if base else ""
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

    def local_section(self):
        w = self.w
        for kind, title in (("cold", "Cold cache (local disk)"),
                            ("warm", "OS-warm (page cache warm, shared buffers not holding the table)"),
                            ("hot", "Shared-buffer-hot")):
            gids = self.group_ids(kind)
            if not gids:
                continue
            t = self.table_size("hot" if kind == "hot" else "main")
            w(f"## {title}")
            w()
            if t:
                w(f"pgbench_accounts: {t['bytes'] / 2**20:,.0f} MB, {t['scale'] * 100000:,} rows "
                  f"(scale {t['scale']}).")
                w()
            for gid in gids:
                g = self.groups[gid]
                w(f"### {kind}, {g['clients']} client{'s' if g['clients'] > 1 else ''} "
                  f"(`{gid}`)")
                w()
                self.local_table(gid)
                if g["clients"] == 1:
                    png = self.bar_plot(gid, f"{title}, 1 client: time per scan")
                    if png:
                        w(f"![{gid}]({png})")
                        w()
            self.clients_table(kind)

    def clients_table(self, kind):
        gids = sorted(self.group_ids(kind), key=lambda x: self.groups[x]["clients"])
        if len(gids) < 2:
            return
        w = self.w
        cl = [self.groups[g]["clients"] for g in gids]
        cfgs = [c for c in self.groups[gids[0]]["configs"]
                if all(c in self.groups[g]["configs"] for g in gids)]
        w(f"#### {kind}: throughput by number of clients (scans per second; ratio of "
          f"times vs PG15 Seq Scan in brackets)")
        w()
        w("| configuration | " + " | ".join(f"{n} client{'s' if n > 1 else ''}" for n in cl) + " |")
        w("|---|" + "---:|" * len(cl))
        rows = []
        for cid in cfgs:
            cells, vals = [], []
            for gid in gids:
                c = self.case(gid, cid)
                r = self.ratio(gid, cid, "pg15_seqscan")
                cells.append(f"{c['tput']:.2f} ({fratio(r)})" if c else "–")
                vals.append(f"{c['tput']:.3f}" if c else "?")
            w(f"| {self.label(cid)} | " + " | ".join(cells) + " |")
            rows.append(vals)
        w()
        # plot: throughput vs clients
        data = "# clients " + " ".join(cfgs) + "\n"
        for i, n in enumerate(cl):
            data += f"{n} " + " ".join(rows[j][i] for j in range(len(cfgs))) + "\n"
        palette = ["#555555", "#1f77b4", "#2ca02c", "#9467bd", "#17becf", "#8c564b",
                   "#d62728", "#ff7f0e", "#e377c2", "#bcbd22", "#7f7f7f", "#000080"]
        plots = ", ".join(
            f"'{kind}-clients.dat' using 1:{j + 2} with linespoints lw 2 pt {j + 4} "
            f"lc rgb '{palette[j % len(palette)]}' "
            f"title \"{self.short(cid)}\"" for j, cid in enumerate(cfgs))
        script = f"""set title "{kind}: scans per second (all clients together) vs. clients"
set xlabel "clients (each scans the whole table once, all at the same time)"
set ylabel "scans / s"
set xtics ({", ".join(str(n) for n in cl)})
set grid
set yrange [0:*]
set key outside right
plot {plots}
"""
        png = self.plot(f"clients-{kind}", script, {f"{kind}-clients.dat": data})
        if png:
            w(f"![clients-{kind}]({png})")
            w()

    def slow_section(self):
        gids = self.group_ids("slow")
        if not gids:
            return
        w = self.w
        t = self.table_size("slow")
        ra = self.d.get("slowfs_read_ahead_kb")
        w("## Slow storage (tablespace on slowfs, cold)")
        w()
        w(f"A tablespace on test/tools/slowfs, a FUSE passthrough that sleeps a fixed time "
          f"in every read request that reaches it, backed by a directory on the same "
          f"local disk. Table: pgbench_accounts "
          + (f"{t['bytes'] / 2**20:,.0f} MB, {t['scale'] * 100000:,} rows (scale {t['scale']})"
             if t else "") + f". Cold runs (restart + drop caches, which empties the FUSE "
          f"page cache too).")
        w()
        w(f"**Readahead, honestly:** the FUSE mount's bdi (`{self.d.get('slowfs_devno')}`) "
          f"has read_ahead_kb = **{ra}** (the kernel default, left as is). PostgreSQL 15's "
          f"Seq Scan reads 8 kB at a time through the page cache, so its reads reach "
          f"slowfs as kernel readahead requests of up to {ra} kB: it pays the added "
          f"latency once per {ra} kB (16 blocks), not once per block, and the kernel's "
          f"asynchronous readahead overlaps part of that with the scan. So the Seq Scan "
          f"baseline here is *not* the worst case of one latency per 8 kB page (that "
          f"would be read_ahead_kb = 0, which no real system uses); a larger "
          f"read_ahead_kb would make the baseline faster still. Direct reads "
          f"(direct_io = on) bypass the page cache and readahead: each read of "
          f"io_combine_limit blocks is one request, and up to io_depth of them are in "
          f"flight. PostgreSQL 18's buffered reads also go through the page cache "
          f"(readahead applies; io_uring buffered reads on FUSE are punted to kernel "
          f"worker threads).")
        w()
        for gid in gids:
            g = self.groups[gid]
            w(f"### +{g['latency_us'] / 1000:g} ms per read request (`{gid}`)")
            w()
            w("| configuration | median ms | min–max ms | speed-up vs PG15 Seq Scan | "
              "vs PG18 io_uring | backend CPU | bound |")
            w("|---|---:|---:|---:|---:|---:|---|")
            for cid in g["configs"]:
                c = self.case(gid, cid)
                if not c:
                    continue
                r1 = self.ratio(gid, cid, "pg15_seqscan")
                r2 = self.ratio(gid, cid, "pg18_uring")
                if not r1:
                    w(f"| {self.label(cid)} | {fnum(c['med'])} | | | | | |")
                    continue
                speed = f"{1 / r1:.1f}x faster" if r1 <= 1 else f"{r1:.1f}x slower"
                be = fnum(c['be'] * 100 if c['be'] is not None else None)
                w(f"| {self.label(cid)} | {fnum(c['med'])} | {fnum(c['min'])}–{fnum(c['max'])} | "
                  f"{speed} ({fratio(r1)} time) | {fratio(r2)} | {be}% | {self.bound(c)} |")
            if "pg18_uring" in g["configs"] and not any(
                    self.is_async(c) and c.startswith("pg18") for c in g["configs"]):
                w("| PG18 AsyncSeqScan (pg_asyncscan on PostgreSQL 18) | not in this run "
                  "| | | | | |")
            w()
        # clustered bar plot: configs x latency
        cfgs = self.groups[gids[0]]["configs"]
        rows = []
        for cid in cfgs:
            vals = []
            for gid in gids:
                c = self.case(gid, cid)
                vals.append(f"{c['med'] / 1000:.3f}" if c else "0")
            rows.append(f"\"{self.short(cid)}\" " + " ".join(vals))
        cols = ", ".join(
            f"'' using {i + 2} title '+{self.groups[gid]['latency_us'] / 1000:g} ms per request'"
            if i else f"'slow.dat' using 2:xtic(1) title '+{self.groups[gid]['latency_us'] / 1000:g} ms per request'"
            for i, gid in enumerate(gids))
        script = f"""set title "Slow storage (slowfs), cold: time per scan"
set ylabel "seconds (median), log scale"
set logscale y
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -35 scale 0 nomirror
set grid ytics
set key top right
set bmargin 7
plot {cols}
"""
        png = self.plot("slow", script, {"slow.dat": "\n".join(rows) + "\n"})
        if png:
            w(f"![slow]({png})")
            w()
        st = self.d["extra"].get("slowfs_status")
        if st:
            w("slowfs counters at the end of the run (all phases): `"
              + " ".join(l for l in st.splitlines() if l.startswith("#")).lstrip("# ") + "`")
            w()

    def mixed_section(self):
        gids = self.group_ids("mixed")
        if not gids:
            return
        gid = gids[0]
        g = self.groups[gid]
        w = self.w
        w("## Mixed workload: OLTP at a fixed rate next to a scanning client")
        w()
        w(f"`pgbench -n -b tpcb-like -R {self.d['oltp_rate']} -c 4 -j 2 -T "
          f"{self.d['mixed_secs']}` on the main database, and at the same time one client "
          f"running the scan in a loop (`pgbench -f bench/sql/scan.sql -c 1 -T "
          f"{self.d['mixed_secs']}`) with the configuration given, OS page cache warm. "
          f"OLTP latency is per transaction from pgbench's log, measured from the "
          f"scheduled start (so it includes schedule lag), median over {g.get('runs', self.d['runs'])} "
          f"runs of each run's statistic (min–max of p99 in brackets). The OLTP UPDATEs "
          f"clear all-visible bits; the tables are vacuumed after each run.")
        w()
        w("| configuration | OLTP tps | avg ms | p95 ms | p99 ms (min–max) | max ms | "
          "scans per run | scan median ms |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        series = {}
        for cid in g["configs"]:
            runs = self.by.get((gid, cid))
            if not runs:
                continue
            med = lambda k: statistics.median([r[k] for r in runs if r.get(k) is not None]) \
                if any(r.get(k) is not None for r in runs) else None
            p99 = [r["oltp_p99_ms"] for r in runs]
            w(f"| {self.label(cid)} | {fnum(med('oltp_tps'), 1)} | {fnum(med('oltp_avg_ms'), 2)} | "
              f"{fnum(med('oltp_p95_ms'), 2)} | {fnum(med('oltp_p99_ms'), 2)} "
              f"({fnum(min(p99), 1)}–{fnum(max(p99), 1)}) | {fnum(med('oltp_max_ms'), 1)} | "
              f"{fnum(med('scans'), 1)} | {fnum(med('scan_ms'))} |")
            series[cid] = runs[-1]["per_sec"]
        w()
        # bars: avg, p95, p99
        rows = []
        for cid in g["configs"]:
            runs = self.by.get((gid, cid))
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
        data = {}
        plots = []
        for j, (cid, ps) in enumerate(series.items()):
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

    def targets(self):
        w = self.w
        w("## Targets")
        w()
        w("| target | measured | met? |")
        w("|---|---|---|")
        gid = "cold-c1"
        if gid in self.groups:
            for cid in [c for c in self.groups[gid]["configs"]
                        if c.startswith(("pg15_uring_dio", "pg18_async_uring_dio"))]:
                r1 = self.ratio(gid, cid, "pg15_seqscan")
                r2 = self.ratio(gid, cid, "pg18_uring")
                if r1 is None:
                    continue
                ok1 = r1 <= 0.75
                ok2 = r2 is None or r2 <= 1.0
                w(f"| cold, local disk, 1 client: {self.label(cid)} ≤ 0.75x PG15 Seq Scan "
                  f"and ≤ 1.00x PG18 io_uring | {fratio(r1)} of Seq Scan, "
                  f"{fratio(r2)} of PG18 io_uring | "
                  f"{'**met**' if ok1 and ok2 else '**not met**'}"
                  f"{'' if ok1 else ' (vs Seq Scan)'}{'' if ok2 else ' (vs PG18)'}"
                  f"{' — IQRs overlap with PG18 io_uring: within the spread' if not ok2 and self.overlap(gid, cid, 'pg18_uring') else ''} |")
        for gid in self.group_ids("slow"):
            g = self.groups[gid]
            if g["latency_us"] != 2000:
                continue
            best = None
            for cid in g["configs"]:
                if not self.is_async(cid):
                    continue
                r = self.ratio(gid, cid, "pg15_seqscan")
                if r is None:
                    continue
                if best is None or r < best[1]:
                    best = (cid, r)
                if cid in ("pg15_uring_dio", "pg18_async_uring_dio"):
                    w(f"| +2 ms per read: {self.label(cid)} (defaults) ≥ 8x faster than PG15 "
                      f"Seq Scan | {1 / r:.1f}x faster"
                      + (f" ({fratio(self.ratio(gid, cid, 'pg18_uring'))} the time of PG18 "
                         f"io_uring)" if self.ratio(gid, cid, "pg18_uring") else "")
                      + f" | {'**met**' if 1 / r >= 8 else '**not met**'} |")
            if best:
                w(f"| +2 ms per read: best AsyncSeqScan configuration ≥ 8x faster than PG15 "
                  f"Seq Scan | {self.label(best[0])}: {1 / best[1]:.1f}x faster | "
                  f"{'**met**' if 1 / best[1] >= 8 else '**not met**'} |")
        # warm: each AsyncSeqScan against the Seq Scan it replaces, on the
        # same server (PG15's; PG18's with the same io_method, worker)
        noisy = []
        for ver in ("pg15", "pg17", "pg18"):
            worst = None
            viol = []
            bases = set()
            for kind in ("warm", "hot"):
                for gid in self.group_ids(kind):
                    for cid in self.groups[gid]["configs"]:
                        if not (self.is_async(cid) and cid.startswith(ver + "_")):
                            continue
                        base = self.seqscan_of(cid, gid)
                        r = self.ratio(gid, cid, base) if base else None
                        if r is None:
                            continue
                        bases.add(base)
                        if worst is None or r > worst[2]:
                            worst = (gid, cid, r)
                        if r > 1.03:
                            viol.append(f"{gid} {self.short(cid)} {r:.2f}x")
                            if self.overlap(gid, cid, base):
                                noisy.append(f"{gid} {self.short(cid)} (vs {self.short(base)})")
            if worst:
                vs = " / ".join(self.label(b) for b in sorted(bases))
                w(f"| cache warm (OS-warm and shared-buffer-hot, every client count): no "
                  f"{ver.upper()} AsyncSeqScan configuration more than 3% slower than {vs} "
                  f"(≤ 1.03x) | worst: {self.label(worst[1])} in {worst[0]}: {worst[2]:.2f}x"
                  + (f"; over 1.03x: {', '.join(viol)}" if viol else "") + " | "
                  + ("**met**" if not viol else "**not met**") + " |")
        w()
        if noisy:
            w(f"Of the cases over 1.03x, the inter-quartile ranges of AsyncSeqScan and Seq "
              f"Scan overlap for: {', '.join(noisy)} — the difference is within this "
              f"machine's run-to-run spread there.")
            w()
        w("Cold results on this VM: `drop_caches` empties the guest's page cache, but the "
          "virtual disk's backing store on the host may cache too, so \"cold\" reads run "
          "at anything from real-device to host-memory speed (see the min–max columns).")
        w()

    def headline(self):
        """A few numbers for the top of the report."""
        w = self.w
        lines = []
        for gid, what in (("cold-c1", "cold"), ("warm-c1", "OS-warm"), ("hot-c1", "hot")):
            if gid not in self.groups:
                continue
            parts = []
            for cid in ("pg15_uring_dio", "pg15_uring_dio_d32c64", "pg15_uring", "pg18_uring",
                        "pg18_async_uring", "pg18_async_uring_dio"):
                r = self.ratio(gid, cid, "pg15_seqscan")
                if r is not None:
                    parts.append(f"{self.short(cid)} {r:.2f}x")
            # PostgreSQL 17's rows against 17's own Seq Scan
            r17 = self.ratio(gid, "pg17_async", "pg17_seqscan")
            if r17 is not None:
                parts.append(f"{self.short('pg17_async')} {r17:.2f}x of 17 Seq Scan")
            b = self.case(gid, "pg15_seqscan")
            if parts and b:
                lines.append(f"- {what}, 1 client (PG15 Seq Scan {b['med']:,.0f} ms): "
                             + ", ".join(parts))
        for gid in self.group_ids("slow"):
            g = self.groups[gid]
            parts = []
            for cid in g["configs"]:
                r = self.ratio(gid, cid, "pg15_seqscan")
                if r is not None and cid != "pg15_seqscan" and (
                        cid.startswith(("pg15_uring_dio", "pg18_async_uring_dio"))
                        or cid == "pg18_uring"):
                    parts.append(f"{self.short(cid)} {1 / r:.1f}x faster")
            b = self.case(gid, "pg15_seqscan")
            if parts and b:
                lines.append(f"- slow storage +{g['latency_us'] / 1000:g} ms/request "
                             f"(PG15 Seq Scan {b['med']:,.0f} ms): " + ", ".join(parts))
        if lines:
            w("## Headline (time ratio vs PG15 Seq Scan, medians)")
            w()
            for l in lines:
                w(l)
            w()

    def explains(self):
        ex = self.d["extra"].get("explain") or {}
        if not ex:
            return
        w = self.w
        w("## Appendix: EXPLAIN (ANALYZE, BUFFERS) of one extra cold run per configuration")
        w()
        w("Untimed runs after the measurements (TIMING OFF, track_io_timing on). The "
          "`IO:` and `Reads:` lines are pg_asyncscan's own statistics (on PostgreSQL 18 "
          "shown through its `ASYNCIO` EXPLAIN option, which the harness adds there).")
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
        d = self.d
        ex = d["extra"]
        w("## Notes")
        w()
        w("- `synchronize_seqscans` is on (the default): concurrent Seq Scans of one "
          "table on PostgreSQL 15 and 18 join each other and share one pass of reads, "
          "so with 2 and 4 clients cold the Seq Scan rows read the table about once. "
          "AsyncSeqScan does not synchronise: each of its scans reads the table itself "
          "(with direct_io, bypassing the page cache, so nothing is shared).")
        w("- The machine is shared with other sessions (builds, tests, other benchmarks "
          "that also drop the page cache): that is why configurations alternate within "
          "each round and medians are reported. Warm runs disturbed by a page cache "
          f"drop were repeated: {ex.get('disturbed', 0)} times.")
        w("- *backend CPU* above 100% (PostgreSQL 18 io_uring, and buffered io_uring "
          "reads of pg_asyncscan): the kernel's io_uring worker threads, which do "
          "buffered reads that would block, are threads of the backend and count as "
          "its CPU time.")
        rs = ", ".join(f"PostgreSQL {k[2:]}: {v}" for k, v in (d.get("restarts") or {}).items())
        w(f"- Server restarts: {rs}. pg_asyncscan was loaded from a private "
          "copy per version (`dynamic_library_path`), so a `make install` elsewhere on "
          "the machine during the run could not swap the library under test.")
        w("- Raw data: `results.json` (every run: makespan, each client's latency, "
          "backend and other server CPU, load average), `run.log` (the console "
          "output), `plot-data/` (gnuplot scripts and data; rerun `bash bench/run.sh "
          "--report DIR` to rebuild report and plots).")
        w()

    def write(self):
        self.header()
        self.headline()
        self.targets()
        self.environment()
        self.method()
        self.local_section()
        self.slow_section()
        self.mixed_section()
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
