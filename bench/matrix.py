#!/usr/bin/env python3
"""
bench/matrix.py -- run the pg_asyncscan benchmark matrix and write
results.json (every timed run, the machine, versions, settings, table
states, plans, device limits) into an output directory.  bench/run.sh calls
it (after installing packages, building the extension, PostgreSQL 18 and
the PostgreSQL 17 root); bench/report.py turns results.json into report.md
and the plots.

    bench/matrix.py --mode quick|full --out DIR --lib DIR [--pg18 DIR]
                    [--lib18 DIR] [--pg17-cache DIR --lib17 DIR]
                    [--pg15p DIR --lib15p DIR] [--slowfs BIN]
                    [--runs N] [--scale N] [--grid-scale N] [--only GROUPS]
                    [--skip pg15p,pg17,pg18,slow,mixed,grid,parallel,headline,hooks]
                    [--configs IDS] [--fresh-data]
    bench/matrix.py --mode quick|full --dry-run [...]   # the plan and its estimate
    bench/matrix.py --list                               # the configurations

What is measured (bench/README.md says why):

  * three queries (bench/sql/noqual.sql, cheap.sql, expensive.sql), run as
    pgbench custom scripts (-c N -j N -t 1: N clients scan the table once
    each, at the same time); each script compares its result with the
    Seq Scan's result on the same table (computed once per cluster and
    database before measuring), so a scan that skipped rows or pages fails
    the run instead of looking fast;
  * three table states: all-visible (pgbench_accounts after VACUUM
    FREEZE), never-vacuumed (acc_nv: CREATE TABLE AS, hint bits set by one
    Seq Scan, never vacuumed), partly all-visible (acc_part: a frozen copy
    in which every other page then lost all-visible to an UPDATE);
  * cache states: cold (server restarted and OS page cache dropped before
    every run), warm (table in the OS page cache, not in shared buffers),
    hot (a small table in shared buffers: pg_prewarm and one scan before
    each run; judged on the backends' CPU time);
  * groups: the headline (1 client, no qual, every configuration: PG15
    Seq Scan, AsyncSeqScan defaults, each io_method, direct_io, PG18's own
    Seq Scan with worker and io_uring, AsyncSeqScan on 18 and 17, 17's Seq
    Scan); the "never slower" grid (Seq Scan vs AsyncSeqScan defaults over
    table state x cache state x query x 1, 2, 4 clients); a slow block
    device (ext4 on a loop device whose backing file is on slowfs, with its
    limit measured by fio in the same run); parallel query (Gather, 2
    workers); OLTP at a fixed rate next to a scanning client; the patched
    storage hooks (issue 15): a PostgreSQL 15 server built with
    patches/15 (cluster pg15p, the same data as the stock one) next to the
    stock server, the never-vacuumed table cold on the local disk and on
    the slow device (with the all-visible table's AsyncSeqScan in the same
    rounds), and a Bitmap Heap Scan (bench/sql/bitmap.sql) on the slow
    device, stock vs patched.

Every group is run in rounds: a round runs each configuration of the group
once, in an order rotated from round to round.  Per run we keep the
makespan (first start to last end, from pgbench's per-transaction log),
each client's latency, the statement CPU time of each backend
(log_statement_stats), the CPU of the backends as reaped by the postmaster
and of the other server processes (/proc), and the load average.
results.json is rewritten after every run.
"""

import argparse
import glob
import json
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
from report import pct  # noqa: E402  bench/report.py: one percentile for both

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SQL_DIR = os.path.join(HERE, "sql")
PG15_BIN = "/usr/lib/postgresql/15/bin"
PG17_BIN = "/usr/lib/postgresql/17/bin"   # inside the chroot
CHROOT_SH = os.path.join(ROOT, "test", "debian_chroot.sh")
CLK = os.sysconf("SC_CLK_TCK")
NPROC = os.cpu_count()
LAYOUT = "pg_asyncscan-bench layout 2"     # of the work directory
DB_TAG = "pg_asyncscan-bench v2"           # COMMENT ON DATABASE / TABLE

# ---------------------------------------------------------------------------
# queries and tables
# ---------------------------------------------------------------------------


def _script_query(fn):
    """The measured SELECT of a pgbench script (the line ending in \\gset),
    with :tbl left in; EXPLAIN and the expected results use the same text."""
    with open(os.path.join(SQL_DIR, fn)) as f:
        for line in f:
            line = line.strip()
            if line.startswith("SELECT") and line.endswith("\\gset"):
                return line[:-len("\\gset")].strip()
    raise RuntimeError(f"no SELECT ... \\gset in bench/sql/{fn}")


QUERIES = {
    "noqual": dict(label="no qual", file="noqual.sql"),
    "cheap": dict(label="cheap qual (aid % 50 = 7)", file="cheap.sql"),
    "expensive": dict(label="expensive qual (filler LIKE '%xyz%' OR aid % 50 = 7)",
                      file="expensive.sql"),
    # the hooks groups' Bitmap Heap Scan (index acc_scatter: Bench.ensure_scatter_index)
    "bitmap": dict(label="bitmap (aid % 1000 = 7, index on aid % 1000)", file="bitmap.sql"),
}
# the queries of the "never slower" grid
GRID_QUERIES = ("noqual", "cheap", "expensive")
for _q in QUERIES.values():
    _q["sql"] = _script_query(_q["file"])

TABLES = {
    "av": dict(name="pgbench_accounts", label="all-visible"),
    "nv": dict(name="acc_nv", label="never-vacuumed"),
    "part": dict(name="acc_part", label="partly all-visible"),
}


def query_text(qid, table):
    return QUERIES[qid]["sql"].replace(":tbl", TABLES[table]["name"])


# ---------------------------------------------------------------------------
# configurations
# ---------------------------------------------------------------------------
#
# id -> dict(label, short, cluster, gucs (session settings through
# PGOPTIONS), start (server start options), node (the scan node its plan
# must have), parallel (a Gather with 2 workers above it), role (seq, async,
# bitmap, oltp), base (the Seq Scan configuration it is compared with),
# defaults (AsyncSeqScan with no pg_asyncscan setting changed), table (the
# table state it scans whatever its group's table is: the hooks groups run
# the all-visible table's AsyncSeqScan in the same rounds as the
# never-vacuumed table's scans)

CONFIGS = {}
SEQ = "Seq Scan"
ASYNC = "Custom Scan (AsyncSeqScan)"
BITMAP = "Bitmap Heap Scan"


def _add(cid, label, short, cluster, gucs=None, start=None, node=None, role="async",
         base=None, parallel=False, defaults=False, table=None):
    CONFIGS[cid] = dict(id=cid, label=label, short=short, cluster=cluster,
                        gucs=gucs or {}, start=start or {}, node=node, role=role,
                        base=base, parallel=parallel, defaults=defaults, table=table)


# PostgreSQL 18's io_method is PGC_POSTMASTER: the rows on 18 that do not
# compare its methods run with its default (worker), named explicitly so that
# going from one such row to another needs no restart
PG18_DEFAULT_START = {"io_method": "worker"}

_add("pg15_seqscan", "PG15 Seq Scan", "15 Seq Scan", "pg15",
     {"pg_asyncscan.enabled": "off"}, node=SEQ, role="seq")
_add("pg15_async", "PG15 AsyncSeqScan defaults", "15 defaults", "pg15",
     {"pg_asyncscan.enabled": "on"}, node=ASYNC, base="pg15_seqscan", defaults=True)
for _m, _s in (("sync", "sync"), ("io_uring", "uring"), ("worker", "worker")):
    _add(f"pg15_{_s}", f"PG15 AsyncSeqScan io_method={_m}", f"15 {_m}", "pg15",
         {"pg_asyncscan.enabled": "on", "pg_asyncscan.io_method": _m}, node=ASYNC,
         base="pg15_seqscan")
    _add(f"pg15_{_s}_dio", f"PG15 AsyncSeqScan io_method={_m}, direct_io=on",
         f"15 {_m} dio", "pg15",
         {"pg_asyncscan.enabled": "on", "pg_asyncscan.io_method": _m,
          "pg_asyncscan.direct_io": "on"}, node=ASYNC, base="pg15_seqscan")
_add("pg15_dio", "PG15 AsyncSeqScan defaults + direct_io=on", "15 defaults dio", "pg15",
     {"pg_asyncscan.enabled": "on", "pg_asyncscan.direct_io": "on"}, node=ASYNC,
     base="pg15_seqscan")

_add("pg15_par_seqscan", "PG15 Parallel Seq Scan (Gather, 2 workers)", "15 par Seq Scan",
     "pg15", {"pg_asyncscan.enabled": "off", "max_parallel_workers_per_gather": "2"},
     node="Parallel " + SEQ, role="seq", parallel=True)
_add("pg15_par_async", "PG15 Parallel AsyncSeqScan defaults (Gather, 2 workers)",
     "15 par defaults", "pg15",
     {"pg_asyncscan.enabled": "on", "max_parallel_workers_per_gather": "2"},
     node="Parallel " + ASYNC, base="pg15_par_seqscan", parallel=True, defaults=True)

# PostgreSQL 18's own Seq Scan (pg_asyncscan preloaded there too, switched
# off as in pg15_seqscan)
for _m, _s in (("sync", "sync"), ("worker", "worker"), ("io_uring", "uring")):
    _add(f"pg18_{_s}", f"PG18 Seq Scan io_method={_m}", f"18 Seq Scan {_m}", "pg18",
         {"pg_asyncscan.enabled": "off"}, start={"io_method": _m}, node=SEQ, role="seq")
_add("pg18_async", "PG18 AsyncSeqScan defaults (server io_method=worker)", "18 defaults",
     "pg18", {"pg_asyncscan.enabled": "on"}, start=PG18_DEFAULT_START, node=ASYNC,
     base="pg18_worker", defaults=True)

# PostgreSQL 17 (Debian trixie's package in a chroot): its own Seq Scan (a
# read stream with combined reads, issued synchronously) and AsyncSeqScan
_add("pg17_seqscan", "PG17 Seq Scan", "17 Seq Scan", "pg17",
     {"pg_asyncscan.enabled": "off"}, node=SEQ, role="seq")
_add("pg17_async", "PG17 AsyncSeqScan defaults", "17 defaults", "pg17",
     {"pg_asyncscan.enabled": "on"}, node=ASYNC, base="pg17_seqscan", defaults=True)

_add("pg15_oltp", "PG15 OLTP alone (no scan)", "15 OLTP alone", "pg15", role="oltp")
_add("pg18_oltp", "PG18 OLTP alone (no scan), io_method=io_uring", "18 OLTP alone",
     "pg18", start={"io_method": "io_uring"}, role="oltp")
# the mixed group's PG18 Seq Scan runs on the same server as pg18_oltp
_add("pg18_uring_mixed", "PG18 Seq Scan io_method=io_uring", "18 Seq Scan io_uring",
     "pg18", {"pg_asyncscan.enabled": "off"}, start={"io_method": "io_uring"}, node=SEQ,
     role="seq")

# The patched storage hooks (issue 15; README, "Patched storage hooks"):
# PostgreSQL 15 built from the same Debian source with patches/15 applied
# (test/build_pg.sh 15 --patched --flavor bench), cluster pg15p, the same
# data as pg15.  With pg_asyncscan preloaded there, prefetches of the
# buffered path (pages read through shared buffers: direct_reads = off,
# or where direct reads are impossible) become asynchronous reads through
# pg_asyncscan.io_method, and so do the PrefetchBuffer calls of stock nodes
# (Bitmap Heap Scan with effective_io_concurrency).  By default the
# never-vacuumed table's pages are read directly on either server (their
# tuples judged one by one), so the direct_reads = off rows are where the
# hooks' buffered reads show.  The *_av rows scan the all-visible table in
# the never-vacuumed groups' rounds: issue 15's target compares the two.
_add("pg15p_seqscan", "PG15 patched: Seq Scan", "15p Seq Scan", "pg15p",
     {"pg_asyncscan.enabled": "off"}, node=SEQ, role="seq")
_add("pg15p_async", "PG15 patched: AsyncSeqScan defaults (storage hooks)", "15p defaults",
     "pg15p", {"pg_asyncscan.enabled": "on"}, node=ASYNC, base="pg15_seqscan", defaults=True)
for _cl, _p, _s in (("pg15", "PG15", "15"), ("pg15p", "PG15 patched:", "15p")):
    _add(f"{_cl}_async_nodr", f"{_p} AsyncSeqScan direct_reads=off"
         + (" (storage hooks)" if _cl == "pg15p" else ""), f"{_s} direct_reads off", _cl,
         {"pg_asyncscan.enabled": "on", "pg_asyncscan.direct_reads": "off"}, node=ASYNC,
         base="pg15_seqscan")
    _add(f"{_cl}_async_av", f"{_p} AsyncSeqScan defaults, ALL-VISIBLE table", f"{_s} defaults av",
         _cl, {"pg_asyncscan.enabled": "on"}, node=ASYNC, base="pg15_seqscan", table="av")
    # Bitmap Heap Scan (bench/sql/bitmap.sql), pg_asyncscan at its defaults;
    # the plan is forced (and checked); effective_io_concurrency at the
    # server's default (1) and at 32
    for _eic in (None, 32):
        _g = {"enable_seqscan": "off", "enable_indexscan": "off",
              "enable_indexonlyscan": "off"}
        if _eic:
            _g["effective_io_concurrency"] = str(_eic)
        _add(f"{_cl}_bitmap" + (f"_eic{_eic}" if _eic else ""),
             f"{_p} Bitmap Heap Scan, effective_io_concurrency "
             + (str(_eic) if _eic else "default"),
             f"{_s} bitmap eic {_eic or 'default'}", _cl, _g, node=BITMAP, role="bitmap",
             base="pg15_bitmap")

# ---------------------------------------------------------------------------
# the matrix, per mode
# ---------------------------------------------------------------------------

HEAD_FULL = ["pg15_async", "pg15_seqscan", "pg15_sync", "pg15_uring", "pg15_worker",
             "pg15_sync_dio", "pg15_uring_dio", "pg15_worker_dio", "pg18_worker",
             "pg18_uring", "pg18_async", "pg17_seqscan", "pg17_async"]
HEAD_QUICK = ["pg15_async", "pg15_seqscan", "pg15_uring", "pg15_worker", "pg18_worker",
              "pg18_uring", "pg18_async", "pg17_seqscan", "pg17_async"]
GRID = ["pg15_seqscan", "pg15_async"]
SLOW_FULL = ["pg15_seqscan", "pg15_async", "pg15_sync", "pg15_uring", "pg15_worker",
             "pg15_dio", "pg18_worker", "pg18_uring", "pg18_async"]
SLOW_QUICK = ["pg15_seqscan", "pg15_async", "pg15_sync", "pg15_uring", "pg15_worker",
              "pg18_worker", "pg18_async"]
PARALLEL = ["pg15_par_seqscan", "pg15_par_async"]
MIXED_FULL = ["pg15_oltp", "pg15_seqscan", "pg15_async", "pg15_dio", "pg18_oltp",
              "pg18_uring_mixed"]
MIXED_QUICK = ["pg15_oltp", "pg15_seqscan", "pg15_async"]
# the hooks groups (issue 15): the never-vacuumed table cold, on the local
# disk and on the slow device, with the all-visible table's AsyncSeqScan
# (patched) in the same rounds; a Bitmap Heap Scan on the slow device
HOOKS_NV_FULL = ["pg15p_async", "pg15_seqscan", "pg15_async", "pg15p_async_nodr",
                 "pg15_async_nodr", "pg15p_async_av", "pg15_async_av", "pg15p_seqscan",
                 "pg18_worker"]
HOOKS_NV_QUICK = ["pg15p_async", "pg15_seqscan", "pg15_async", "pg15p_async_nodr",
                  "pg15_async_nodr", "pg15p_async_av", "pg18_worker"]
HOOKS_BITMAP = ["pg15_bitmap", "pg15p_bitmap", "pg15_bitmap_eic32", "pg15p_bitmap_eic32"]
HOOKS_LATENCY_US = 2000

MODES = {
    # runs: per (section, cache); hot groups are judged on CPU time over at
    # least 15 runs (issue 14)
    "quick": dict(scale=50, grid_scale=50, hot_scale=8, slow_scale=10, mixed_scale=50,
                  mixed_secs=6, oltp_rate=200, explain=False,
                  head=HEAD_QUICK, head_tables={"cold": ["av", "nv"], "warm": ["av", "nv"],
                                                "hot": ["av"]},
                  head_runs={"cold": 5, "warm": 5, "hot": 15},
                  # more than 1 client: no qual, cold and warm only
                  grid_clients=[1, 4], grid_multi_queries=["noqual"],
                  grid_multi_caches=["cold", "warm"],
                  grid_runs={"cold": 3, "warm": 3, "hot": 15},
                  slow=[(2000, "av", 3)], slow_configs=SLOW_QUICK,
                  par_runs=3, mixed=MIXED_QUICK, mixed_runs=3,
                  hooks_nv=HOOKS_NV_QUICK,
                  hooks_runs={"cold": 3, "slow": 3, "bitmap": 3}),
    "full": dict(scale=150, grid_scale=50, hot_scale=8, slow_scale=30, mixed_scale=50,
                 mixed_secs=15, oltp_rate=200, explain=True,
                 head=HEAD_FULL, head_tables={"cold": ["av", "nv"], "warm": ["av", "nv"],
                                              "hot": ["av"]},
                 head_runs={"cold": 9, "warm": 9, "hot": 15},
                 grid_clients=[1, 2, 4], grid_multi_queries=None, grid_multi_caches=None,
                 grid_runs={"cold": 7, "warm": 7, "hot": 15},
                 slow=[(2000, "av", 7), (2000, "nv", 5), (500, "av", 5)],
                 slow_configs=SLOW_FULL, par_runs=9, mixed=MIXED_FULL, mixed_runs=5,
                 hooks_nv=HOOKS_NV_FULL,
                 hooks_runs={"cold": 7, "slow": 5, "bitmap": 5}),
}
SKIPPABLE = ("pg15p", "pg17", "pg18", "slow", "mixed", "grid", "parallel", "headline",
             "hooks")

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def log(msg=""):
    print(msg, flush=True)


def fmt_s(s):
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def run(cmd, check=True, env=None, input=None, timeout=None):
    r = subprocess.run(cmd, text=True, capture_output=True, env=env, input=input,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"command failed ({r.returncode}): {shlex.join(cmd)}\n"
                           f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def as_pg(cmd):
    return ["runuser", "-u", "postgres", "--"] + cmd


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def read_stat(pid):
    """utime+stime and cutime+cstime (ticks) and ppid of a process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return dict(state=rest[0], ppid=int(rest[1]), cpu=int(rest[11]) + int(rest[12]),
                ccpu=int(rest[13]) + int(rest[14]))


def children(ppid):
    """{pid: (cpu ticks, state, cmdline)} of the live children of ppid (from
    /proc/PID/task/PID/children, the children of the postmaster's only
    thread, when the kernel has it: much cheaper than reading every
    process's stat on a busy machine)."""
    out = {}
    try:
        with open(f"/proc/{ppid}/task/{ppid}/children") as f:
            pids = f.read().split()
    except OSError:
        pids = [d for d in os.listdir("/proc") if d.isdigit()]
    for d in pids:
        st = read_stat(d)
        if st is None or st["ppid"] != ppid:
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmd = ""
        out[int(d)] = (st["cpu"], st["state"], cmd)
    return out


def sh(cmd):
    r = subprocess.run(cmd, shell=True, text=True, capture_output=True)
    return r.stdout.strip()


def mounted(path):
    """Is something mounted at path (from /proc/self/mountinfo; no stat, which
    hangs or fails on a FUSE mount whose daemon is gone)."""
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def pw_ids(user="postgres"):
    import pwd
    p = pwd.getpwnam(user)
    return p.pw_uid, p.pw_gid


def chown_pg(path):
    uid, gid = pw_ids()
    os.chown(path, uid, gid)


def machine_info(workdir):
    """What the report states about the machine."""
    m = {}
    m["nproc"] = NPROC
    m["cpu_model"] = sh("sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1")
    m["mem_total_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    m["kernel"] = platform.release()
    m["os"] = sh(". /etc/os-release && echo \"$PRETTY_NAME\"")
    m["debian_version"] = sh("cat /etc/debian_version")
    m["virt_vm"] = sh("systemd-detect-virt --vm 2>/dev/null")
    m["virt_container"] = sh("systemd-detect-virt --container 2>/dev/null")
    src = sh(f"findmnt -no SOURCE,FSTYPE --target {workdir}")
    m["workdir_fs"] = src
    dev = src.split()[0] if src else ""
    name = os.path.basename(os.path.realpath(dev)) if dev.startswith("/dev/") else ""
    m["disk"] = name
    if name:
        q = f"/sys/block/{name}/queue"
        for k in ("read_ahead_kb", "max_sectors_kb", "nr_requests", "rotational",
                  "scheduler", "logical_block_size"):
            try:
                with open(f"{q}/{k}") as f:
                    m[f"disk_{k}"] = f.read().strip()
            except OSError:
                pass
        m["disk_lsblk"] = sh(f"lsblk -dno NAME,SIZE,ROTA,TYPE,MODEL /dev/{name}")
    m["uptime"] = sh("uptime")
    m["hostname"] = platform.node()
    m["io_uring_disabled"] = sh("cat /proc/sys/kernel/io_uring_disabled 2>/dev/null")
    m["fio"] = sh("fio --version 2>/dev/null")
    with open("/proc/loadavg") as f:
        m["loadavg_start"] = f.read().split()[:3]
    m["mem_available_gb_start"] = round(int(sh("awk '/MemAvailable/ {print $2}' /proc/meminfo")
                                            or 0) / 2**20, 1)
    return m


# ---------------------------------------------------------------------------
# clusters
# ---------------------------------------------------------------------------


class Cluster:
    def __init__(self, name, bindir, root, port, conf_lines, wrap=None, client_bindir=None):
        """wrap: a command prefix the server programs (initdb, pg_ctl,
        pgbench -i) run under: PostgreSQL 17 runs in a chroot
        (test/debian_chroot.sh run), with the work directory bound at the
        same path, so its files, log and socket are where this script looks
        for them and the postmaster's PID is this system's.  client_bindir:
        where psql comes from (17: PostgreSQL 15's, no chroot per query)."""
        self.name = name
        self.bindir = bindir
        self.wrap = list(wrap or [])
        self.client_bindir = client_bindir or bindir
        self.root = root                    # owned by postgres; socket dir
        self.data = os.path.join(root, "data")
        self.logfile = os.path.join(root, "server.log")
        self.port = port
        self.conf_lines = conf_lines
        self.cur_opts = None
        self.restarts = 0

    # -- life cycle --
    def exists(self):
        return os.path.exists(os.path.join(self.data, "PG_VERSION"))

    def initdb(self):
        log(f"  [{self.name}] initdb (data checksums on) in {self.data}")
        run(self.wrap + as_pg([f"{self.bindir}/initdb", "-D", self.data, "-k", "-U",
                               "postgres", "--auth=trust", "--no-locale", "-E", "UTF8"]))
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n# pg_asyncscan bench: settings live in bench.conf, "
                    "rewritten by every run\ninclude 'bench.conf'\n")

    def write_conf(self):
        path = os.path.join(self.data, "bench.conf")
        with open(path, "w") as f:
            f.write("# written by bench/matrix.py\n")
            f.write(f"port = {self.port}\nlisten_addresses = ''\n")
            f.write(f"unix_socket_directories = '{self.root}'\n")
            for line in self.conf_lines:
                f.write(line + "\n")
        os.chmod(path, 0o644)

    def pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                pid = int(f.readline().strip())
        except (OSError, ValueError):
            return None
        return pid if os.path.exists(f"/proc/{pid}") else None

    def running(self):
        return self.pid() is not None

    def start(self, opts=None):
        opts = dict(opts or {})
        o = " ".join(f"-c {k}={v}" for k, v in opts.items())
        cmd = [f"{self.bindir}/pg_ctl", "-D", self.data, "-l", self.logfile, "-w",
               "-t", "300"] + (["-o", o] if o else []) + ["start"]
        r = run(self.wrap + as_pg(cmd), check=False)
        if r.returncode != 0:
            tail = ""
            try:
                with open(self.logfile) as f:
                    tail = "".join(f.readlines()[-30:])
            except OSError:
                pass
            raise RuntimeError(f"[{self.name}] server did not start:\n{r.stderr}\n{tail}")
        self.cur_opts = opts
        self.restarts += 1

    def stop(self, mode="fast"):
        if not os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self.cur_opts = None
            return
        r = run(self.wrap + as_pg([f"{self.bindir}/pg_ctl", "-D", self.data, "-m", mode,
                                   "-w", "-t", "120", "stop"]), check=False)
        if r.returncode != 0 and mode != "immediate":
            run(self.wrap + as_pg([f"{self.bindir}/pg_ctl", "-D", self.data, "-m",
                                   "immediate", "-w", "-t", "60", "stop"]), check=False)
        self.cur_opts = None

    def ensure(self, opts=None):
        """Running with exactly these start options; True if (re)started."""
        opts = dict(opts or {})
        if self.running() and self.cur_opts == opts:
            return False
        self.stop()
        self.start(opts)
        return True

    # -- clients --
    def env(self, gucs=None):
        e = dict(os.environ)
        e.update(PGHOST=self.root, PGPORT=str(self.port), PGUSER="postgres")
        e.pop("PGOPTIONS", None)
        if gucs:
            e["PGOPTIONS"] = " ".join(f"-c {k}={v}" for k, v in gucs.items())
        return e

    def psql(self, sql, db="postgres", gucs=None, check=True):
        r = run([f"{self.client_bindir}/psql", "-X", "-At", "-q", "-v", "ON_ERROR_STOP=1",
                 "-d", db], env=self.env(gucs), input=sql + "\n", check=check)
        return r.stdout.strip()

    def show(self, names, db="postgres", gucs=None):
        out = {}
        for n in names:
            r = run([f"{self.client_bindir}/psql", "-X", "-At", "-q", "-d", db, "-c",
                     f"SHOW {n}"], env=self.env(gucs), check=False)
            out[n] = r.stdout.strip() if r.returncode == 0 else None
        return out

    # -- processes --
    def clients_gone(self, timeout=30):
        """Wait until no client backend (nor zombie child) is left."""
        pm = self.pid()
        t0 = time.time()
        while pm and time.time() - t0 < timeout:
            kids = children(pm)
            # a client backend: its title says "[local]"; an exiting one may
            # already have an empty cmdline, or be a zombie not yet reaped
            if not any(st == "Z" or not cmd.strip() or "[local]" in cmd
                       for _, st, cmd in kids.values()):
                return
            time.sleep(0.02)

    def cpu_snapshot(self):
        pm = self.pid()
        st = read_stat(pm)
        kids = {p: c for p, (c, _, _) in children(pm).items()}
        return dict(pm=pm, self=st["cpu"], reaped=st["ccpu"], kids=kids)

    def statement_cpu(self, pos):
        """[(user+system s, elapsed s)] of the statements logged by
        log_statement_stats since byte pos of the server log: getrusage()
        of each backend around each statement, so connection start-up is
        not counted."""
        with open(self.logfile, "rb") as f:
            f.seek(pos)
            text = f.read().decode(errors="replace")
        out = []
        for m in re.finditer(r"!\s+([\d.]+) s user, ([\d.]+) s system, ([\d.]+) s elapsed",
                             text):
            out.append((float(m.group(1)) + float(m.group(2)), float(m.group(3))))
        return out

    @staticmethod
    def cpu_delta(a, b):
        """(CPU s of the processes the postmaster reaped -- backends, parallel
        workers --, CPU s of the other server processes) between two
        snapshots."""
        if a["pm"] != b["pm"]:
            return None, None
        reaped = (b["reaped"] - a["reaped"]) / CLK
        other = b["self"] - a["self"]
        for p, c in b["kids"].items():
            other += c - a["kids"].get(p, 0)
        return reaped, other / CLK


# ---------------------------------------------------------------------------
# the slow block device
# ---------------------------------------------------------------------------


class SlowDevice:
    """ext4 on a loop device (losetup --direct-io=on) whose backing file is
    on test/tools/slowfs, a FUSE passthrough that sleeps a set time in every
    read request: a block device with a long per-request latency, on which
    the kernel's page cache, readahead (read_ahead_kb of the loop device)
    and O_DIRECT work as on a real disk.

    The backing file (the only thing that persists) is WORK/slowdev/disk.img;
    the mount points are in a directory of their own beside WORK (WORK-mnt).
    bench/run.sh runs this script in a mount namespace of its own (unshare
    --mount), so the mounts exist only there: no other session's mount
    namespace (another agent's unshare, a chroot) can hold a copy of them
    and keep the file system alive after we unmount it.  The loop device is
    detached right after mounting (autoclear), so it goes with the file
    system.  slowfs runs as root, in the foreground as our child, its PID in
    WORK/slowdev/slowfs.pid for bench/run.sh to stop it if we are killed."""

    IMAGE_BYTES = 8 << 30           # sparse
    READ_AHEAD_KB = 128

    def __init__(self, binary, work):
        self.binary = binary
        self.src = os.path.join(work, "slowdev")
        self.image = os.path.join(self.src, "disk.img")
        self.pidfile = os.path.join(self.src, "slowfs.pid")
        mnt = work.rstrip("/") + "-mnt"
        self.base = mnt
        self.fuse = os.path.join(mnt, "fuse")
        self.mnt = os.path.join(mnt, "ext4")
        self.ctl = os.path.join(self.fuse, ".slowfs_control")
        self.loop = None
        self.proc = None
        self.latency = None
        self.fresh = False

    def ts_dir(self, cluster):
        return os.path.join(self.mnt, "ts", cluster)

    def image_loops(self):
        """Loop devices on our image, in any mount namespace: matched by
        the backing file's inode (slowfs passes the backing file's inode
        number through) and name."""
        try:
            ino = os.stat(self.image).st_ino
        except OSError:
            return []
        r = run(["losetup", "-l", "-n", "-O", "NAME,BACK-INO,BACK-FILE"], check=False)
        out = []
        for line in r.stdout.splitlines():
            p = line.split(None, 2)
            if len(p) == 3 and p[1] == str(ino) and \
                    os.path.basename(p[2].split(" (deleted)")[0]) == "disk.img":
                out.append(p[0])
        return out

    def stale_daemon(self):
        """PID of a slowfs of ours (from the PID file) still running, or None"""
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except (OSError, ValueError):
            return None
        return pid if self.fuse in cmd and os.path.basename(self.binary) in cmd else None

    def teardown(self):
        """Unmount ext4 (the loop device detaches itself), unmount slowfs
        and wait for the daemon to exit: whatever of it is there.  Never
        raises."""
        try:
            if mounted(self.mnt):
                if run(["umount", self.mnt], check=False).returncode != 0:
                    run(["umount", "-l", self.mnt], check=False)
            if mounted(self.fuse):
                if run(["fusermount3", "-u", self.fuse], check=False).returncode != 0:
                    run(["fusermount3", "-uz", self.fuse], check=False)
            pid = self.proc.pid if self.proc else self.stale_daemon()
            for _ in range(100):
                if pid is None or not os.path.exists(f"/proc/{pid}") or (
                        self.proc and self.proc.poll() is not None):
                    break
                time.sleep(0.1)
            else:
                log(f"  slowfs (PID {pid}) did not exit after its unmount: killing it")
                os.kill(pid, signal.SIGKILL)
            if self.proc:
                self.proc.wait(timeout=10)
            if os.path.exists(self.pidfile):
                os.unlink(self.pidfile)
        except Exception as e:  # noqa: BLE001 - best effort on the way out
            log(f"  slow device teardown: {e}")
        self.proc = None
        self.loop = None

    def setup(self, fresh=False):
        self.teardown()
        os.makedirs(self.src, exist_ok=True)
        for d in (self.base, self.fuse, self.mnt):
            os.makedirs(d, exist_ok=True)
        # a file system on our image still alive elsewhere (a killed run's
        # mount namespace, or one that copied our mounts): never mount a
        # second one on the same image; wait a little, then take a new image
        for _ in range(30):
            if not self.image_loops():
                break
            time.sleep(2)
        else:
            log(f"  a loop device on {self.image} is still in use elsewhere "
                f"({', '.join(self.image_loops())}): making a new image")
            fresh = True
        if fresh and os.path.exists(self.image):
            os.unlink(self.image)
        self.fresh = not os.path.exists(self.image)
        if self.fresh:
            with open(self.image, "wb") as f:
                f.truncate(self.IMAGE_BYTES)
        log_path = os.path.join(self.src, "slowfs.log")
        with open(log_path, "ab") as lf:
            self.proc = subprocess.Popen([self.binary, "-f", "--read-latency-us=0", self.src,
                                          self.fuse], stdout=lf, stderr=lf,
                                         stdin=subprocess.DEVNULL)
        with open(self.pidfile, "w") as f:
            f.write(f"{self.proc.pid}\n")
        for _ in range(200):
            if mounted(self.fuse) or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not mounted(self.fuse):
            raise RuntimeError(f"slowfs did not mount {self.fuse} (see {log_path})")
        self.latency = 0
        self.loop = run(["losetup", "--direct-io=on", "--find", "--show",
                         os.path.join(self.fuse, "disk.img")]).stdout.strip()
        if self.fresh:
            # no lazy initialisation: ext4lazyinit would write inode tables
            # in the background during the measurements
            run(["mkfs.ext4", "-q", "-L", "pgasb-slow", "-E",
                 "lazy_itable_init=0,lazy_journal_init=0", self.loop])
        run(["mount", "-o", "noatime", self.loop, self.mnt])
        # detached now, it stays until the file system is unmounted
        # (autoclear): no loop device outlives the mount
        run(["losetup", "-d", self.loop])
        self.set_read_ahead(self.READ_AHEAD_KB)
        ts = os.path.join(self.mnt, "ts")
        os.makedirs(ts, exist_ok=True)
        chown_pg(ts)

    def queue(self, key):
        try:
            with open(f"/sys/block/{os.path.basename(self.loop)}/queue/{key}") as f:
                return f.read().strip()
        except (OSError, TypeError):
            return None

    def set_read_ahead(self, kb):
        with open(f"/sys/block/{os.path.basename(self.loop)}/queue/read_ahead_kb", "w") as f:
            f.write(f"{kb}\n")

    def set_latency(self, us):
        with open(self.ctl, "w") as f:
            f.write(f"latency {int(us)}\n")
        self.latency = us

    def status(self):
        try:
            with open(self.ctl) as f:
                return f.read().strip()
        except OSError:
            return ""

    def info(self):
        r = run(["losetup", "-l", "-J", self.loop], check=False)
        try:
            dev = json.loads(r.stdout)["loopdevices"][0]
        except (ValueError, KeyError, IndexError):
            dev = {}
        return dict(loop=self.loop, back_file=dev.get("back-file"), dio=dev.get("dio"),
                    autoclear=dev.get("autoclear"),
                    image=self.image, image_gb=self.IMAGE_BYTES / 2**30,
                    read_ahead_kb=self.queue("read_ahead_kb"),
                    max_sectors_kb=self.queue("max_sectors_kb"),
                    logical_block_size=self.queue("logical_block_size"),
                    nr_requests=self.queue("nr_requests"),
                    scheduler=self.queue("scheduler"),
                    fs=sh(f"findmnt -no FSTYPE,OPTIONS {self.mnt}"),
                    slowfs=self.binary)

    FIO_JOBS = [
        ("dio_512k_qd64", "O_DIRECT, 512 kB reads, iodepth 64 (libaio)",
         ["--direct=1", "--bs=512k", "--iodepth=64", "--ioengine=libaio", "--loops=3"], 3),
        ("buf_128k_qd16", "buffered, 128 kB reads, iodepth 16 (io_uring), page cache "
         "dropped first", ["--direct=0", "--bs=128k", "--iodepth=16", "--ioengine=io_uring"], 3),
        ("buf_8k_qd1", "buffered, 8 kB reads, one at a time (psync), page cache dropped "
         "first: what a plain sequential reader gets", ["--direct=0", "--bs=8k",
                                                       "--iodepth=1", "--ioengine=psync"], 1),
    ]

    def fio(self, path, size):
        """The device's sequential read limit, read from the table's own file
        (read-only).  {job: dict(desc, cmd, mib_s: [...])}"""
        out = {}
        for key, desc, opts, reps in self.FIO_JOBS:
            vals = []
            cmd = ["fio", "--name=seqread", "--readonly", f"--filename={path}",
                   "--rw=read", f"--size={size}", "--output-format=json"] + opts
            for _ in range(reps):
                drop_caches()
                r = run(cmd, check=False, timeout=600)
                try:
                    job = json.loads(r.stdout[r.stdout.index("{"):])["jobs"][0]["read"]
                    vals.append(job["bw_bytes"] / 2**20)
                except (ValueError, KeyError, IndexError):
                    log(f"    fio {key} failed: {r.stderr[-500:]}")
            out[key] = dict(desc=desc, cmd=shlex.join(cmd), mib_s=vals)
        return out


# ---------------------------------------------------------------------------
# the bench
# ---------------------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        mode = MODES[args.mode]
        self.mode = mode
        self.scale = args.scale or mode["scale"]
        self.grid_scale = args.grid_scale or mode["grid_scale"]
        self.hot_scale = args.hot_scale or mode["hot_scale"]
        self.slow_scale = args.slow_scale or mode["slow_scale"]
        self.mixed_scale = args.mixed_scale or mode["mixed_scale"]
        self.mixed_secs = args.mixed_secs or mode["mixed_secs"]
        self.oltp_rate = args.oltp_rate or mode["oltp_rate"]
        self.work = args.workdir
        self.tmp = os.path.join(self.work, "tmp")
        self.out = args.out
        self.skip = set(filter(None, args.skip.split(",")))
        bad = self.skip - set(SKIPPABLE)
        if bad:
            sys.exit(f"matrix.py: --skip knows {', '.join(SKIPPABLE)}, not {', '.join(bad)}")
        if args.configs:
            unknown = set(args.configs.split(",")) - set(CONFIGS)
            if unknown:
                sys.exit(f"matrix.py: unknown configurations: {', '.join(sorted(unknown))} "
                         "(matrix.py --list)")
        self.groups = self.plan_groups()
        if not self.groups:
            sys.exit("matrix.py: no group matches --only / --skip / --configs "
                     "(matrix.py --dry-run --verbose lists the groups)")
        used = {CONFIGS[c]["cluster"] for g in self.groups for c in g["configs"]}
        self.clusters = {}
        self.slowdev = None
        self.results = []
        self.extra = dict(explain={}, plan_checks={}, plan_declined=[], parallel_checks={},
                          hooks_checks={}, expected={},
                          expected_mismatch=[], failures=[], disturbed=0, fio={},
                          slowfs_status={}, table_state={}, table_state_end={})
        self.expected = {}
        self.t_start = time.time()
        self.est_done = 0.0
        self.act_done = 0.0
        self.case_time = {}
        self.file_cache = {}
        if args.dry_run:
            return
        common = [
            f"shared_buffers = {args.shared_buffers}",
            "max_parallel_workers_per_gather = 0",
            "jit = off",
            "autovacuum = off",
            "max_wal_size = 8GB",
            "checkpoint_timeout = 1h",
            "log_min_messages = warning",
            "log_checkpoints = off",
            "shared_preload_libraries = 'pg_asyncscan'",
        ]
        port = args.port_base
        self.clusters["pg15"] = Cluster(
            "pg15", PG15_BIN, os.path.join(self.work, "pg15"), port,
            common + [f"dynamic_library_path = '{args.lib}:$libdir'"])
        if "pg18" in used:
            if not args.lib18:
                sys.exit("matrix.py: --lib18 (pg_asyncscan built for PostgreSQL 18) "
                         "is needed unless --skip pg18")
            self.clusters["pg18"] = Cluster(
                "pg18", os.path.join(args.pg18, "bin"), os.path.join(self.work, "pg18"),
                port + 1, common + [f"dynamic_library_path = '{args.lib18}:$libdir'"])
        if "pg17" in used:
            if not args.lib17 or not args.pg17_cache:
                sys.exit("matrix.py: --pg17-cache and --lib17 (pg_asyncscan built for "
                         "PostgreSQL 17) are needed unless --skip pg17")
            self.clusters["pg17"] = Cluster(
                "pg17", PG17_BIN, os.path.join(self.work, "pg17"), port + 2,
                common + [f"dynamic_library_path = '{args.lib17}:$libdir'"],
                wrap=["bash", CHROOT_SH, "run", "17", "--cache", args.pg17_cache,
                      "--bind", self.work, "--"],
                client_bindir=PG15_BIN)
        if "pg15p" in used:
            if not args.lib15p or not args.pg15p:
                sys.exit("matrix.py: --pg15p and --lib15p (pg_asyncscan built for the "
                         "patched PostgreSQL 15) are needed unless --skip pg15p")
            self.clusters["pg15p"] = Cluster(
                "pg15p", os.path.join(args.pg15p, "bin"), os.path.join(self.work, "pg15p"),
                port + 3, common + [f"dynamic_library_path = '{args.lib15p}:$libdir'"])
        if any(g["latency_us"] is not None for g in self.groups):
            if not args.slowfs:
                sys.exit("matrix.py: --slowfs is needed for the slow device groups "
                         "(or --skip slow)")
            self.slowdev = SlowDevice(args.slowfs, self.work)

    # -- plan --
    def dbname(self, kind):
        return {"main": f"s{self.scale}", "grid": f"s{self.grid_scale}",
                "hot": f"hot{self.hot_scale}", "slow": f"slowdev{self.slow_scale}",
                "mixed": f"mixed{self.mixed_scale}"}[kind]

    def db_scale(self, kind):
        return {"main": self.scale, "grid": self.grid_scale, "hot": self.hot_scale,
                "slow": self.slow_scale, "mixed": self.mixed_scale}[kind]

    def plan_groups(self):
        """The groups of this run: dict(id, section, cache, table, query,
        clients, db (kind), dbname, latency_us, configs, runs, judge)."""
        m, a = self.mode, self.args
        only = [s for s in a.only.split(",") if s] if a.only else None
        keep = set(a.configs.split(",")) if a.configs else None
        groups = []

        def add(section, gid, cache, table, query, clients, db, configs, runs,
                latency=None):
            if only and not any(gid == o or gid.startswith(o) for o in only):
                return
            cfgs = [c for c in configs if CONFIGS[c]["cluster"] not in self.skip]
            if keep is not None:
                cfgs = [c for c in cfgs if c in keep]
            if not cfgs:
                return
            groups.append(dict(
                id=gid, section=section, cache=cache, table=table, query=query,
                clients=clients, db=db, dbname=self.dbname(db), latency_us=latency,
                configs=cfgs, runs=a.runs or runs,
                judge="cpu" if cache == "hot" else "time"))

        # in quick mode the headline runs at the grid's scale: the grid's
        # cells it covers (the same table, cache state, query and clients in
        # the same database, with both grid configurations) are not run twice
        covered = set()
        for cache in ("hot", "warm", "cold"):
            db = "hot" if cache == "hot" else "main"
            if "headline" not in self.skip:
                for t in m["head_tables"][cache]:
                    add("headline", f"head-{cache}-{t}-c1", cache, t, "noqual", 1, db,
                        m["head"], m["head_runs"][cache])
                    if all(c in m["head"] for c in GRID):
                        covered.add((cache, t, "noqual", 1, self.dbname(db)))
            if "grid" not in self.skip:
                gdb = "hot" if cache == "hot" else "grid"
                for n in m["grid_clients"]:
                    for t in TABLES:
                        for q in GRID_QUERIES:
                            if n > 1 and m["grid_multi_queries"] and \
                                    q not in m["grid_multi_queries"]:
                                continue
                            if n > 1 and m["grid_multi_caches"] and \
                                    cache not in m["grid_multi_caches"]:
                                continue
                            if (cache, t, q, n, self.dbname(gdb)) in covered:
                                continue
                            add("grid", f"grid-{cache}-{t}-{q}-c{n}", cache, t, q, n, gdb,
                                GRID, m["grid_runs"][cache])
            if "parallel" not in self.skip and cache != "hot":
                add("parallel", f"par-{cache}-av-c1", cache, "av", "noqual", 1, "main",
                    PARALLEL, m["par_runs"])
        if "slow" not in self.skip:
            for lat, t, runs in m["slow"]:
                add("slow", f"slow{lat}-{t}-c1", "cold", t, "noqual", 1, "slow",
                    m["slow_configs"], runs, latency=lat)
        if "mixed" not in self.skip:
            add("mixed", "mixed", "warm", "av", "noqual", 1, "mixed", m["mixed"],
                m["mixed_runs"])
        # the patched storage hooks (issue 15): nothing to compare without
        # the patched server; the slow device's two groups go with "slow"
        if "hooks" not in self.skip and "pg15p" not in self.skip:
            hr, lat = m["hooks_runs"], HOOKS_LATENCY_US
            add("hooks", "hooks-cold-nv-c1", "cold", "nv", "noqual", 1, "main",
                m["hooks_nv"], hr["cold"])
            if "slow" not in self.skip:
                add("hooks", f"hooks-slow{lat}-nv-c1", "cold", "nv", "noqual", 1, "slow",
                    m["hooks_nv"], hr["slow"], latency=lat)
                add("hooks", f"hooks-bitmap{lat}-av-c1", "cold", "av", "bitmap", 1, "slow",
                    HOOKS_BITMAP, hr["bitmap"], latency=lat)
        return groups

    @staticmethod
    def table_of(g, cid):
        """the table state configuration cid scans in group g"""
        return CONFIGS[cid]["table"] or g["table"]

    def needs(self):
        """{(cluster, db kind): set of table states} the groups need."""
        out = {}
        for g in self.groups:
            for cid in g["configs"]:
                out.setdefault((CONFIGS[cid]["cluster"], g["db"]), set()).add(
                    self.table_of(g, cid))
        return out

    # -- setup --
    def setup(self):
        os.makedirs(self.tmp, exist_ok=True)
        for d in (self.work, self.tmp):
            chown_pg(d)
            os.chmod(d, 0o755)
        layout = os.path.join(self.work, "LAYOUT")
        old = open(layout).read().strip() if os.path.exists(layout) else None
        fresh = self.args.fresh_data
        if old != LAYOUT and any(os.path.exists(os.path.join(self.work, n))
                                 for n in ("pg15", "pg15p", "pg17", "pg18")):
            log(f"  the work directory was made by an older harness ({old or 'no layout'}): "
                "remaking the clusters")
            fresh = True
        for name in ("pg15", "pg15p", "pg17", "pg18"):
            root = os.path.join(self.work, name)
            cl = self.clusters.get(name)
            if cl and cl.running():
                log(f"  [{name}] stopping a server left running by an earlier run")
                cl.stop("immediate")
            if fresh and os.path.exists(root):
                pidfile = os.path.join(root, "data", "postmaster.pid")
                if cl is None and os.path.exists(pidfile):
                    with open(pidfile) as f:
                        pid = f.readline().strip()
                    if pid.isdigit() and os.path.exists(f"/proc/{pid}"):
                        raise RuntimeError(f"{root}: a server is running there "
                                           f"(PID {pid}); stop it first")
                log(f"  [{name}] removing {root}")
                subprocess.run(["rm", "-rf", root], check=True)
        if fresh:
            for d in ("slowfs-src", "slowfs-mnt"):       # the older harness's slowfs
                p = os.path.join(self.work, d)
                if os.path.exists(p) and not mounted(p):
                    subprocess.run(["rm", "-rf", p], check=True)
        with open(layout, "w") as f:
            f.write(LAYOUT + "\n")
        if self.slowdev:
            self.slowdev.setup(fresh=fresh)
            log(f"  slow device: ext4 on {self.slowdev.loop} (--direct-io=on) backed by "
                f"{self.slowdev.fuse}/disk.img on slowfs; read_ahead_kb="
                f"{self.slowdev.queue('read_ahead_kb')}"
                + (" (new file system)" if self.slowdev.fresh else ""))
        for cl in self.clusters.values():
            os.makedirs(cl.root, exist_ok=True)
            chown_pg(cl.root)
            if not cl.exists():
                cl.initdb()
                if self.slowdev:
                    subprocess.run(["rm", "-rf", self.slowdev.ts_dir(cl.name)], check=True)
            cl.write_conf()

    SETUP_GUCS = {"pg_asyncscan.enabled": "off", "synchronize_seqscans": "off",
                  "max_parallel_workers_per_gather": "0"}
    # the expected results: a plain Seq Scan also where an index could serve
    # the query (bench/sql/bitmap.sql)
    EXPECTED_GUCS = dict(SETUP_GUCS, enable_bitmapscan="off", enable_indexscan="off",
                         enable_indexonlyscan="off")

    def ensure_data(self):
        """Databases and tables the groups need, made once and kept between
        runs; every table's state checked (pg_visibility) afterwards."""
        needs = self.needs()
        for name, cl in self.clusters.items():
            kinds = [k for (c, k) in needs if c == name]
            if not kinds:
                continue
            # on 15 (stock and patched) and 17 without the preload: CREATE
            # EXTENSION loads the library from the installation ($libdir),
            # which must not meet the private copy the benchmark servers
            # preload in one process (on 18, $libdir/pg_asyncscan is found in
            # dynamic_library_path: the private copy)
            cl.ensure({"shared_preload_libraries": "''"} if name in ("pg15", "pg15p", "pg17")
                      else self.default_opts(name))
            for kind in kinds:
                self.ensure_db(cl, kind, needs[(name, kind)])
                if any(g["query"] == "bitmap" and g["db"] == kind and
                       any(CONFIGS[c]["cluster"] == name for c in g["configs"])
                       for g in self.groups):
                    self.ensure_scatter_index(cl, self.dbname(kind))
            cl.psql("CHECKPOINT")

    def ensure_db(self, cl, kind, tables):
        db, scale = self.dbname(kind), self.db_scale(kind)
        tag = f"{DB_TAG} scale={scale}"
        have = cl.psql("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                       f"WHERE datname = '{db}'")
        ok = have.split(" pages=")[0] == tag
        if ok and kind == "slow":
            # the slow device's file system may be new (--fresh-data, a lost
            # image): the catalog then points at nothing
            p = cl.psql("SELECT pg_relation_filepath('pgbench_accounts')", db, check=False)
            ok = bool(p) and os.path.exists(os.path.join(cl.data, p))
        if ok and kind == "mixed":
            # the mixed workload's updates grow the table; start over when
            # they have made it 10% larger than pgbench -i did
            m = re.search(r"pages=(\d+)", have)
            pages = int(cl.psql("SELECT pg_relation_size('pgbench_accounts') / 8192", db))
            if m and pages > 1.1 * int(m.group(1)):
                log(f"  [{cl.name}] {db}: pgbench_accounts grew to {pages} pages: remaking it")
                ok = False
        if not ok:
            t0 = time.time()
            log(f"  [{cl.name}] creating database {db}: pgbench -i -s {scale}"
                + (" on the slow device" if kind == "slow" else ""))
            cl.psql(f"DROP DATABASE IF EXISTS {db}", check=False)
            ts = ""
            if kind == "slow":
                self.slowdev.set_latency(0)
                self.ensure_tablespace(cl)
                ts = " TABLESPACE slowdev"
            cl.psql(f"CREATE DATABASE {db}{ts}")
            r = run(cl.wrap + [f"{cl.bindir}/pgbench", "-i", "-q", "-s", str(scale), db],
                    env=cl.env(), check=False)
            if r.returncode != 0:
                raise RuntimeError(f"pgbench -i failed:\n{r.stderr[-3000:]}")
            cl.psql("VACUUM (FREEZE, ANALYZE) pgbench_accounts, pgbench_branches, "
                    "pgbench_tellers, pgbench_history", db)
            pages = cl.psql("SELECT pg_relation_size('pgbench_accounts') / 8192", db)
            cl.psql(f"COMMENT ON DATABASE {db} IS '{tag} pages={pages}'")
            cl.psql("CHECKPOINT")
            log(f"  [{cl.name}] {db} ready in {fmt_s(time.time() - t0)}")
        for ext in ("pg_asyncscan", "pg_prewarm", "pg_visibility", "pg_buffercache"):
            cl.psql(f"CREATE EXTENSION IF NOT EXISTS {ext}", db)
        for t in ("nv", "part"):
            if t in tables:
                self.ensure_table(cl, db, t)

    def ensure_scatter_index(self, cl, db):
        """acc_scatter, the index of bench/sql/bitmap.sql: on (aid % 1000) of
        pgbench_accounts, so that aid % 1000 = 7 finds one row every 16 or
        17 heap pages; ANALYZE gives the planner the expression's
        statistics.  Neither changes a heap page or the visibility map."""
        tag = f"{DB_TAG} scatter"
        have = cl.psql("SELECT obj_description('acc_scatter'::regclass, 'pg_class')", db,
                       check=False)
        if have == tag:
            return
        t0 = time.time()
        log(f"  [{cl.name}] {db}: index acc_scatter on pgbench_accounts ((aid % 1000))")
        cl.psql("DROP INDEX IF EXISTS acc_scatter", db)
        cl.psql("CREATE INDEX acc_scatter ON pgbench_accounts ((aid % 1000))", db,
                self.SETUP_GUCS)
        cl.psql("ANALYZE pgbench_accounts", db, self.SETUP_GUCS)
        cl.psql(f"COMMENT ON INDEX acc_scatter IS '{tag}'", db)
        log(f"  [{cl.name}] {db}: acc_scatter ready in {fmt_s(time.time() - t0)}")

    def ensure_tablespace(self, cl):
        have = cl.psql("SELECT pg_tablespace_location(oid) FROM pg_tablespace "
                       "WHERE spcname = 'slowdev'")
        loc = self.slowdev.ts_dir(cl.name)
        if have == loc and os.path.isdir(loc):
            return
        if have:
            # a tablespace left from an earlier file system: it holds only
            # the database we just dropped (or nothing)
            for db in cl.psql("SELECT datname FROM pg_database d JOIN pg_tablespace t "
                              "ON d.dattablespace = t.oid WHERE spcname = 'slowdev'").split():
                cl.psql(f"DROP DATABASE IF EXISTS {db}", check=False)
            cl.psql("DROP TABLESPACE slowdev")
        subprocess.run(["rm", "-rf", loc], check=True)
        os.makedirs(loc)
        chown_pg(loc)
        cl.psql(f"CREATE TABLESPACE slowdev LOCATION '{loc}'")

    def ensure_table(self, cl, db, state):
        name = TABLES[state]["name"]
        tag = f"{DB_TAG} state={state}"
        have = cl.psql(f"SELECT obj_description('{name}'::regclass, 'pg_class')", db,
                       check=False)
        if have == tag:
            return
        t0 = time.time()
        g = self.SETUP_GUCS
        log(f"  [{cl.name}] {db}: making {name} ({TABLES[state]['label']})")
        cl.psql(f"DROP TABLE IF EXISTS {name}", db)
        # CREATE TABLE AS copies pgbench_accounts in its physical order
        # (synchronize_seqscans off): 61 rows of consecutive aids per page
        cl.psql(f"CREATE TABLE {name} AS SELECT * FROM pgbench_accounts", db, g)
        if state == "nv":
            # never vacuumed: ANALYZE does not touch the visibility map; one
            # Seq Scan sets the hint bits (and writes the pages), then a
            # checkpoint, so the measured scans find the pages as every
            # later read would and write nothing
            cl.psql(f"ANALYZE {name}", db, g)
            cl.psql(f"SELECT count(*) FROM {name}", db, g)
        else:
            # partly all-visible: frozen, then an UPDATE of one row on every
            # other page clears all-visible there (the new row versions go
            # to new pages at the end, not all-visible either); two Seq
            # Scans prune those pages and set the new rows' hint bits, so
            # later scans change nothing
            cl.psql(f"VACUUM (FREEZE, ANALYZE) {name}", db, g)
            cl.psql(f"UPDATE {name} SET abalance = abalance + 1 WHERE ctid = ANY (ARRAY("
                    f"SELECT format('(%s,1)', b)::tid FROM generate_series(0, "
                    f"pg_relation_size('{name}') / 8192 - 1, 2) b))", db, g)
            cl.psql(f"SELECT count(*) FROM {name}", db, g)
            cl.psql(f"SELECT count(*) FROM {name}", db, g)
        cl.psql("CHECKPOINT")
        cl.psql(f"COMMENT ON TABLE {name} IS '{tag}'", db)
        log(f"  [{cl.name}] {db}: {name} ready in {fmt_s(time.time() - t0)}")

    def table_states(self):
        """{cluster/db/table: pages, all-visible pages, bytes, ...} of every
        table the groups use; raises if a table is not in its state."""
        out = {}
        for (name, kind), tables in sorted(self.needs().items()):
            cl = self.clusters[name]
            cl.ensure(self.default_opts(name))
            db = self.dbname(kind)
            for t in sorted(tables):
                rel = TABLES[t]["name"]
                row = cl.psql(
                    f"SELECT pg_relation_size('{rel}'), v.all_visible, v.all_frozen, "
                    f"(SELECT reltuples::bigint FROM pg_class WHERE oid = '{rel}'::regclass), "
                    "(SELECT spcname FROM pg_tablespace s JOIN pg_database d "
                    "ON d.dattablespace = s.oid WHERE datname = current_database()), "
                    f"pg_relation_filepath('{rel}') "
                    f"FROM pg_visibility_map_summary('{rel}') v", db)
                size, av, af, rows, ts, path = row.split("|")
                pages = int(size) // 8192
                frac = int(av) / pages if pages else 0
                out[f"{name}/{db}/{rel}"] = dict(
                    cluster=name, db=db, kind=kind, table=t, rel=rel, bytes=int(size),
                    pages=pages, all_visible=int(av), all_frozen=int(af),
                    all_visible_frac=frac, rows=int(rows), tablespace=ts, path=path,
                    scale=self.db_scale(kind))
                want = {"av": frac >= 0.999, "nv": int(av) == 0,
                        "part": 0.3 <= frac <= 0.7}[t]
                if not want and kind != "mixed":
                    raise RuntimeError(f"{name}/{db}/{rel} is not {TABLES[t]['label']}: "
                                       f"{av} of {pages} pages all-visible")
        return out

    def default_opts(self, name):
        return dict(PG18_DEFAULT_START) if name == "pg18" else {}

    # -- expected results --
    def compute_expected(self):
        """The Seq Scan's result of every (cluster, database, table, query)
        the groups use, once; the scripts compare every timed run with it."""
        seen = {}
        for g in self.groups:
            for cid in g["configs"]:
                cl = CONFIGS[cid]["cluster"]
                table = self.table_of(g, cid)
                key = (cl, g["dbname"], table, g["query"])
                if key in self.expected:
                    continue
                c = self.clusters[cl]
                c.ensure(self.default_opts(cl))
                gucs = dict(self.EXPECTED_GUCS)
                sql = query_text(g["query"], table)
                plan = c.psql(f"EXPLAIN (COSTS OFF) {sql}", g["dbname"], gucs)
                nodes = [m.groups() for m in map(self.SCAN_LINE.match, plan.splitlines()) if m]
                if nodes != [(SEQ, TABLES[table]["name"])]:
                    raise RuntimeError(f"the expected result of {g['dbname']}/{table}/"
                                       f"{g['query']} on {cl} is not a Seq Scan's:\n{plan}")
                out = c.psql(sql, g["dbname"], gucs)
                n, s, b = (int(x) for x in out.split("|"))
                if self.args.self_test_wrong_result:
                    n += 1      # every run must now fail with "wrong result"
                self.expected[key] = (n, s, b)
                self.extra["expected"]["/".join(str(k) for k in key)] = [n, s, b]
                other = seen.setdefault((g["db"], table, g["query"]), (cl, (n, s, b)))
                if other[1] != (n, s, b) and g["db"] != "mixed":
                    msg = (f"{g['dbname']}/{table}/{g['query']}: {cl} gives {n, s, b}, "
                           f"{other[0]} {other[1]}")
                    self.extra["expected_mismatch"].append(msg)
                    log(f"  note: the clusters' tables differ: {msg}")
        log(f"  expected results: {len(self.expected)} (cluster, database, table, query)")

    # -- files and the OS page cache --
    def rel_files(self, cl, db, rels):
        key = (cl.name, db, tuple(rels))
        if key in self.file_cache:
            return self.file_cache[key]
        files = []
        for rel in rels:
            p = cl.psql(f"SELECT pg_relation_filepath('{rel}')", db)
            base = os.path.realpath(os.path.join(cl.data, p))
            files.append(base)
            i = 1
            while os.path.exists(f"{base}.{i}"):
                files.append(f"{base}.{i}")
                i += 1
        self.file_cache[key] = files
        return files

    @staticmethod
    def residency(files):
        r = run(["fincore", "-b", "-n", "-r", "-o", "RES,SIZE"] + files, check=False)
        res = size = 0
        for line in r.stdout.splitlines():
            a, b = line.split()
            res += int(a)
            size += int(b)
        return res / size if size else 0.0

    @staticmethod
    def sb_sql(rel):
        """SQL: how many of rel's blocks shared buffers hold"""
        return ("SELECT count(*) FROM pg_buffercache WHERE relforknumber = 0 AND "
                f"relfilenode = pg_relation_filenode('{rel}') AND reldatabase = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())")

    @staticmethod
    def warm_files(files):
        for fn in files:
            with open(fn, "rb", buffering=0) as f:
                while f.read(4 << 20):
                    pass

    # -- one timed run --
    def pgbench_args(self, g, cl_name, check_b=True, table=None):
        table = table or g["table"]
        n, s, b = self.expected[(cl_name, g["dbname"], table, g["query"])]
        return ["-M", "simple", "-f", os.path.join(SQL_DIR, QUERIES[g["query"]]["file"]),
                "-D", f"tbl={TABLES[table]['name']}", "-D", f"exp_n={n}",
                "-D", f"exp_s={s}", "-D", f"exp_b={b}", "-D", f"check_b={int(check_b)}"]

    @staticmethod
    def pgbench_error(stderr):
        m = re.search(r"wrong result: [^\"]*", stderr)
        if m:
            return "wrong result", m.group(0)
        lines = [l for l in stderr.splitlines() if "error" in l.lower()]
        return "error", (lines[0] if lines else stderr.strip()[-300:])

    def run_pgbench_scan(self, cl, cfg, g):
        prefix = os.path.join(self.tmp, "scan")
        for f in glob.glob(prefix + ".*"):
            os.unlink(f)
        n = g["clients"]
        cmd = [f"{PG15_BIN}/pgbench", "-n"] + self.pgbench_args(
            g, cfg["cluster"], table=self.table_of(g, cfg["id"])) + [
            "-c", str(n), "-j", str(n), "-t", "1", "-l", f"--log-prefix={prefix}",
            g["dbname"]]
        # log_statement_stats: each backend logs the CPU time of the
        # statement itself (see Cluster.statement_cpu)
        r = run(cmd, env=cl.env(dict(cfg["gucs"], log_statement_stats="on")), check=False,
                timeout=3600)
        if r.returncode != 0:
            kind, msg = self.pgbench_error(r.stderr)
            return dict(error=kind, error_msg=msg, stderr=r.stderr[-2000:])
        lats, starts, ends = [], [], []
        for fn in glob.glob(prefix + ".*"):
            with open(fn) as f:
                for line in f:
                    p = line.split()
                    lat = int(p[2]) / 1e6
                    end = int(p[4]) + int(p[5]) / 1e6
                    lats.append(lat * 1000)
                    ends.append(end)
                    starts.append(end - lat)
            os.unlink(fn)
        if len(lats) != n:
            raise RuntimeError(f"expected {n} log lines, got {len(lats)}:\n{r.stdout}")
        return dict(ms=(max(ends) - min(starts)) * 1000, lat_ms=lats)

    def check_psql_result(self, out, g, cl_name, cid):
        n, s, b = self.expected[(cl_name, g["dbname"], self.table_of(g, cid), g["query"])]
        if out.strip() != f"{n}|{s}|{b}":
            raise WrongResult(f"{g['id']} {cid}: untimed scan returned {out.strip()}, "
                              f"expected {n}|{s}|{b}")

    def measure(self, g, cid, rnd):
        cfg = CONFIGS[cid]
        cl = self.clusters[cfg["cluster"]]
        db = g["dbname"]
        table = self.table_of(g, cid)
        rel = TABLES[table]["name"]
        sql = query_text(g["query"], table)
        cache = g["cache"]
        if cache == "cold":
            cl.stop()
            drop_caches()
            cl.start(cfg["start"])
            started = True
        else:
            started = cl.ensure(cfg["start"])
        if started:
            # plan once: catalogs come into the caches, not the table
            cl.psql(f"EXPLAIN {sql}", db, cfg["gucs"])
        files = None
        sb = None
        pages = self.extra["table_state"].get(f"{cfg['cluster']}/{db}/{rel}", {}).get("pages")
        if cache == "warm":
            files = self.rel_files(cl, db, (rel,))
            if self.residency(files) < 0.999:
                self.warm_files(files)
            # OS-warm means not in shared buffers: a restart empties them
            # when an earlier run left more than a few of the table's pages
            # there
            sb = int(cl.psql(self.sb_sql(rel), db))
            if pages and sb > max(64, pages // 100):
                log(f"    ({sb} of the table's {pages} pages in shared buffers: restart)")
                cl.stop()
                cl.start(cfg["start"])
                cl.psql(f"EXPLAIN {sql}", db, cfg["gucs"])
                sb = int(cl.psql(self.sb_sql(rel), db))
        elif cache == "hot":
            # every block into shared buffers, then one scan with the
            # configuration (its result checked too); all of the table must
            # still be there
            # still be there.  The hot table of an earlier group, scanned
            # many times, holds shared buffers with high usage counts that
            # the clock sweep evicts only after this table's fresh pages:
            # when the table does not stay, restart (empty shared buffers)
            # and try once more.
            for hot_try in range(2):
                out = cl.psql(f"SELECT pg_prewarm('{rel}');\n{sql};\n{self.sb_sql(rel)};", db,
                              cfg["gucs"]).splitlines()
                self.check_psql_result(out[-2], g, cfg["cluster"], cid)
                sb = int(out[-1])
                if not pages or sb >= pages * 0.99:
                    break
                if hot_try == 1:
                    raise RuntimeError(f"{db}.{rel}: only {sb} of {pages} pages stay in shared "
                                       "buffers: the hot table does not fit")
                log(f"    ({sb} of the table's {pages} pages stayed in shared buffers: restart)")
                cl.stop()
                cl.start(cfg["start"])
                cl.psql(f"EXPLAIN {sql}", db, cfg["gucs"])
        disturbed = 0
        warm_lost = False
        for attempt in range(4):
            cl.clients_gone()
            la = loadavg()
            s0 = cl.cpu_snapshot()
            logpos = os.path.getsize(cl.logfile)
            t0 = time.time()
            r = self.run_pgbench_scan(cl, cfg, g)
            wall = time.time() - t0
            cl.clients_gone()
            if "error" in r:
                break
            s1 = cl.cpu_snapshot()
            stmt_cpu = cl.statement_cpu(logpos)
            if files is not None:
                res = self.residency(files)
                if res < 0.98:
                    # someone dropped the page cache during the run (the
                    # machine is shared): measure again; after 4 such runs
                    # keep the last, marked (the report leaves it out)
                    disturbed += 1
                    self.extra["disturbed"] += 1
                    if attempt == 3:
                        warm_lost = True
                        log(f"    (page cache lost during the run again, residency "
                            f"{res:.2f}: this run does not count)")
                        break
                    log(f"    (page cache lost during the run, residency {res:.2f}: again)")
                    self.warm_files(files)
                    continue
            break
        base = dict(group=g["id"], section=g["section"], cache=cache, table=table,
                    query=g["query"], clients=g["clients"], latency_us=g["latency_us"],
                    config=cid, round=rnd, db=db, load1=la, client_wall_s=wall,
                    disturbed=disturbed, warm_lost=warm_lost, sb_pages_before=sb,
                    t=time.time() - self.t_start)
        if "error" in r:
            if not cl.running():
                r["error_msg"] += " (the server is down)"
            return dict(base, ms=None, error=r["error"], error_msg=r["error_msg"],
                        stderr=r["stderr"])
        reaped, other = Cluster.cpu_delta(s0, s1)
        if len(stmt_cpu) != g["clients"]:
            log(f"    (expected {g['clients']} statement statistics in the server log, "
                f"found {len(stmt_cpu)})")
        stmt = sum(c for c, _ in stmt_cpu) if stmt_cpu else None
        # parallel workers log no statement statistics: for a Gather the
        # backend CPU is what the postmaster reaped (leader and workers,
        # connection start-up included)
        be = reaped if cfg["parallel"] else stmt
        return dict(base, ms=r["ms"], lat_ms=r["lat_ms"], stmt_cpu_s=stmt,
                    stmt_elapsed_s=[e for _, e in stmt_cpu], reaped_cpu_s=reaped,
                    backend_cpu_s=be, server_other_cpu_s=other)

    def measure_mixed(self, g, cid, rnd):
        cfg = CONFIGS[cid]
        cl = self.clusters[cfg["cluster"]]
        db = g["dbname"]
        cl.ensure(cfg["start"])
        cl.psql("TRUNCATE pgbench_history", db)
        files = self.rel_files(cl, db, ("pgbench_accounts", "pgbench_accounts_pkey",
                                        "pgbench_branches", "pgbench_tellers"))
        if self.residency(files) < 0.999:
            self.warm_files(files)
        cl.psql(f"EXPLAIN {query_text('noqual', 'av')}", db, cfg["gucs"])
        cl.clients_gone()
        secs = self.mixed_secs
        po, ps = os.path.join(self.tmp, "oltp"), os.path.join(self.tmp, "mscan")
        for f in glob.glob(po + ".*") + glob.glob(ps + ".*"):
            os.unlink(f)
        la = loadavg()
        oltp = subprocess.Popen(
            [f"{PG15_BIN}/pgbench", "-n", "-b", "tpcb-like", "-R", str(self.oltp_rate),
             "-c", "4", "-j", "2", "-T", str(secs), "-l", f"--log-prefix={po}", db],
            env=cl.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        scan = None
        if cfg["role"] != "oltp":
            # the OLTP updates abalance while the scan runs: check count(*)
            # and sum(aid) only
            scan = subprocess.Popen(
                [f"{PG15_BIN}/pgbench", "-n"] + self.pgbench_args(g, cfg["cluster"], False)
                + ["-c", "1", "-T", str(secs), "-l", f"--log-prefix={ps}", db],
                env=cl.env(cfg["gucs"]), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)
        out, err = oltp.communicate(timeout=secs + 600)
        if oltp.returncode != 0:
            raise RuntimeError(f"OLTP pgbench failed:\n{err[-3000:]}")
        scan_lats, scan_err = [], None
        if scan:
            _, serr = scan.communicate(timeout=3600)
            if scan.returncode != 0:
                scan_err = self.pgbench_error(serr)
            for fn in glob.glob(ps + ".*"):
                with open(fn) as f:
                    scan_lats += [int(line.split()[2]) / 1000 for line in f]
                os.unlink(fn)
        rows = []
        for fn in glob.glob(po + ".*"):
            with open(fn) as f:
                for line in f:
                    p = line.split()
                    if p[2] == "skipped":
                        continue
                    end = int(p[4]) + int(p[5]) / 1e6
                    rows.append((end, int(p[2]) / 1000))
            os.unlink(fn)
        rows.sort()
        lats = [x[1] for x in rows]
        t0 = rows[0][0] - rows[0][1] / 1000 if rows else 0
        series = {}
        for end, lat in rows:
            series.setdefault(int(end - t0), []).append(lat)
        per_sec = [(s, statistics.mean(v), max(v), len(v)) for s, v in sorted(series.items())]
        m = re.search(r"tps = ([\d.]+)", out)
        # keep the next run comparable: the updates cleared all-visible bits
        cl.clients_gone()
        cl.psql("VACUUM pgbench_accounts, pgbench_branches, pgbench_tellers", db)
        res = dict(group=g["id"], section="mixed", cache="warm", table="av", query="noqual",
                   clients=1, latency_us=None, config=cid, round=rnd, db=db, secs=secs,
                   rate=self.oltp_rate, oltp_n=len(lats),
                   oltp_tps=float(m.group(1)) if m else len(lats) / secs,
                   oltp_avg_ms=statistics.mean(lats) if lats else None,
                   oltp_p50_ms=pct(lats, 50), oltp_p95_ms=pct(lats, 95),
                   oltp_p99_ms=pct(lats, 99), oltp_max_ms=max(lats) if lats else None,
                   per_sec=per_sec, scans=len(scan_lats),
                   scan_ms=statistics.median(scan_lats) if scan_lats else None,
                   load1=la, t=time.time() - self.t_start)
        if scan_err:
            res.update(error=scan_err[0], error_msg=scan_err[1])
        return res

    # -- checks before measuring --
    SCAN_LINE = re.compile(r"^\s*(?:->\s*)?((?:Parallel )?(?:Seq Scan|Bitmap Heap Scan|"
                           r"Custom Scan \([^)]*\))) on (\S+)")

    def check_plan(self, plan, cfg, rel, loaded=False):
        """None if the plan is the configuration's, else what is wrong.  An
        AsyncSeqScan configuration may get the Seq Scan instead when
        pg_asyncscan is loaded and enabled (loaded=True): the planner then
        stepped aside on purpose (issue 14 allows it where AsyncSeqScan
        cannot win); plan_checks records that, and --strict-plans refuses
        it."""
        nodes = [m.groups() for m in map(self.SCAN_LINE.match, plan.splitlines()) if m]
        want = [(cfg["node"], rel)]
        if nodes != want:
            stepped_aside = [(cfg["node"].replace(ASYNC, SEQ), rel)]
            if not (loaded and ASYNC in cfg["node"] and nodes == stepped_aside):
                return f"expected one {cfg['node']} on {rel}"
        if cfg["parallel"]:
            if not re.search(r"^\s*(?:->\s*)?Gather\b", plan, re.M):
                return "expected a Gather"
            if not re.search(r"Workers Planned: 2\b", plan):
                return "expected Workers Planned: 2"
        elif "Gather" in plan:
            return "expected no Gather"
        if cfg["node"] == BITMAP and not re.search(r"Bitmap Index Scan on acc_scatter\b", plan):
            return "expected a Bitmap Index Scan on acc_scatter"
        return None

    def plan_checks(self):
        seen = set()
        for g in self.groups:
            for cid in g["configs"]:
                cfg = CONFIGS[cid]
                table = self.table_of(g, cid)
                key = (g["dbname"], table, g["query"], cid)
                if cfg["role"] == "oltp" or key in seen:
                    continue
                seen.add(key)
                cl = self.clusters[cfg["cluster"]]
                cl.ensure(cfg["start"])
                rel = TABLES[table]["name"]
                sql = query_text(g["query"], table)
                plan = cl.psql(f"EXPLAIN (COSTS OFF) {sql}", g["dbname"], cfg["gucs"])
                self.extra["plan_checks"]["/".join(key)] = plan
                # loaded and enabled: the GUC is pg_asyncscan's own (a bool),
                # not a placeholder, and on
                loaded = cl.psql("SELECT vartype = 'bool' AND setting = 'on' FROM pg_settings "
                                 "WHERE name = 'pg_asyncscan.enabled'", g["dbname"],
                                 cfg["gucs"]) == "t"
                bad = self.check_plan(plan, cfg, rel, loaded and not self.args.strict_plans)
                if bad:
                    raise RuntimeError(f"{cid} on {g['dbname']}.{rel} ({g['query']}): "
                                       f"{bad}:\n{plan}")
                if ASYNC in cfg["node"] and ASYNC not in plan:
                    self.extra["plan_declined"].append("/".join(key))
                    log(f"  note: {cid} plans a Seq Scan on {g['dbname']}.{rel} "
                        f"({g['query']}): pg_asyncscan stepped aside")
                if cfg["cluster"] == "pg15p" or g["section"] == "hooks":
                    self.check_hooks(cl, cfg, g, table, sql, ASYNC in plan)
                if cfg["cluster"] == "pg18":
                    got = cl.show(["io_method"])["io_method"]
                    if got != cfg["start"]["io_method"]:
                        raise RuntimeError(f"{cid}: io_method is {got}")
                for k, v in cfg["gucs"].items():
                    if not k.startswith("pg_asyncscan."):
                        continue
                    got = cl.psql(f"SELECT setting FROM pg_settings WHERE name = '{k}'",
                                  g["dbname"], cfg["gucs"])
                    if got != v:
                        raise RuntimeError(f"{cid}: {k} is {got}, not {v}")
                if cfg["parallel"] and (g["dbname"], cid) not in self.extra["parallel_checks"]:
                    # the workers must really start, not just be planned
                    txt = cl.psql(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}",
                                  g["dbname"], cfg["gucs"])
                    self.extra["parallel_checks"][f"{g['dbname']}/{cid}"] = txt
                    if not re.search(r"Workers Launched: 2\b", txt):
                        raise RuntimeError(f"{cid}: not 2 workers launched:\n{txt}")
        log(f"  plans checked: {len(seen)} (database, table, query, configuration)")

    def check_hooks(self, cl, cfg, g, table, sql, custom_planned):
        """The storage hooks are in use exactly on the patched server: an
        AsyncSeqScan row's plan must show "Storage Hooks: on" in EXPLAIN
        VERBOSE there, and must not on a stock server.  For the other rows
        (Bitmap Heap Scan, Seq Scan) the same session settings plus
        pg_asyncscan.enabled = on and enable_seqscan = on must plan an
        AsyncSeqScan of the table that shows the same: the hooks are
        installed and pg_asyncscan.storage_hooks is on for those rows too.
        An AsyncSeqScan row whose planner kept the Seq Scan (reported as
        such) has nothing to show."""
        if cfg["node"] == ASYNC and not custom_planned:
            return
        gucs, probe = dict(cfg["gucs"]), sql
        if cfg["node"] != ASYNC:
            gucs.update({"pg_asyncscan.enabled": "on", "enable_seqscan": "on"})
            probe = query_text("noqual", table)
        txt = cl.psql(f"EXPLAIN (VERBOSE, COSTS OFF) {probe}", g["dbname"], gucs)
        self.extra["hooks_checks"][f"{g['dbname']}/{table}/{g['query']}/{cfg['id']}"] = txt
        patched = cfg["cluster"] == "pg15p"
        if ASYNC not in txt:
            if patched:
                raise RuntimeError(f"{cfg['id']}: no AsyncSeqScan of {table} to show whether "
                                   f"the storage hooks are in use:\n{txt}")
            return
        on = re.search(r"^\s*Storage Hooks: on$", txt, re.M) is not None
        if patched and not on:
            raise RuntimeError(f"{cfg['id']} on {g['dbname']}.{table}: the patched server "
                               f"does not use its storage hooks (no \"Storage Hooks: on\" in "
                               f"EXPLAIN VERBOSE):\n{txt}")
        if not patched and on:
            raise RuntimeError(f"{cfg['id']}: \"Storage Hooks: on\" on a server without the "
                               f"patch:\n{txt}")

    @staticmethod
    def explained(g):
        """does the EXPLAIN appendix cover group g?"""
        return g["cache"] == "cold" and g["clients"] == 1 and g["query"] in ("noqual", "bitmap")

    @staticmethod
    def explain_options(cl, cfg):
        """EXPLAIN options for the appendix: on PostgreSQL 18 AsyncSeqScan's
        own counters (IO:, Reads:) appear only with its ASYNCIO option."""
        opts = "ANALYZE, BUFFERS, TIMING OFF"
        if ASYNC in cfg["node"] and \
                int(cl.show(["server_version_num"])["server_version_num"]) >= 180000:
            opts += ", ASYNCIO"
        return opts

    def explain_runs(self):
        """One extra cold EXPLAIN (ANALYZE, BUFFERS) per configuration of
        the cold 1-client groups (of the grid: no qual; and the Bitmap Heap
        Scan), kept for the report (not timed)."""
        for g in self.groups:
            if not self.explained(g):
                continue
            if g["latency_us"] is not None:
                self.slowdev.set_latency(g["latency_us"])
            for cid in g["configs"]:
                sql = query_text(g["query"], self.table_of(g, cid))
                cfg = CONFIGS[cid]
                cl = self.clusters[cfg["cluster"]]
                cl.stop()
                drop_caches()
                cl.start(cfg["start"])
                txt = cl.psql("SET track_io_timing = on;\n"
                              f"EXPLAIN ({self.explain_options(cl, cfg)}) {sql}",
                              g["dbname"], cfg["gucs"])
                self.extra["explain"][f"{g['id']}/{cid}"] = txt
                self.save()
            log(f"  EXPLAIN ANALYZE (cold) kept for {g['id']}")

    # -- progress and estimates --
    def table_bytes(self, g, cid):
        table = self.table_of(g, cid)
        t = self.extra.get("table_state", {}).get(
            f"{CONFIGS[cid]['cluster']}/{g['dbname']}/{TABLES[table]['name']}")
        if t:
            return t["bytes"]
        return self.db_scale(g["db"]) * 13.4e6 * (1.01 if table == "part" else 1)

    def estimate(self, g, cid):
        """Seconds one run of (group, configuration) takes, set-up included:
        from the runs of the same case so far, else from a model of this
        2-vCPU machine (local disk ~1 GB/s cold, ~1.3 GB/s per core warm)."""
        key = (g["id"], cid)
        if key in self.case_time:
            return statistics.mean(self.case_time[key])
        cfg = CONFIGS[cid]
        gb = self.table_bytes(g, cid) / 1e9
        n = g["clients"]
        par = min(n, NPROC)
        cpu = {"noqual": 1.0, "cheap": 0.8, "expensive": 2.2, "bitmap": 0.1}[g["query"]]
        restart = 1.3 + (0.6 if cfg["cluster"] == "pg17" else 0)
        if g["section"] == "mixed":
            return self.mixed_secs + 4
        if g["query"] == "bitmap":
            # one 8 kB read every 16.4 pages, each the device's latency plus
            # 1.5 ms (slowfs, loop device), one at a time with
            # effective_io_concurrency at its default (1), about 12 at a
            # time with 32 (measured at scale 10)
            reads = gb * 1e9 / 8192 / 16.4
            depth = 12 if "eic" in cid else 1
            return restart + reads * ((g["latency_us"] or 100) / 1e6 + 0.0015) / depth + 0.3
        if g["latency_us"] is not None:
            # MB/s at 2 ms per request: 128 kB readahead per request for
            # the Seq Scan, the sync method and the buffered path without
            # the hooks (measured: 64, 65); AsyncSeqScan's defaults 150-350
            mbs = 64 if cfg["role"] == "seq" or cid.endswith("sync") or \
                cid == "pg15_async_nodr" else 150 if g["section"] == "hooks" else 350
            return restart + gb * 1000 / mbs * g["latency_us"] / 2000 + 0.3
        if g["cache"] == "cold":
            reads = 1 + (0.3 if cfg["role"] == "seq" else 0.8) * (n - 1)
            return restart + max(gb * reads / 1.1, gb * cpu / 1.3 * n / par) + 0.3
        if g["cache"] == "warm":
            return 0.35 + gb * cpu / 1.3 * n / par
        return 0.5 + gb * cpu / 0.8 * (1 + n / par)

    def total_eta(self, todo):
        known = self.act_done / self.est_done if self.est_done else 1.0
        left = 0.0
        for g, cid in todo:
            e = self.estimate(g, cid)
            left += e if (g["id"], cid) in self.case_time else e * known
        return left

    def steps(self):
        out = []
        for g in self.groups:
            for rnd in range(g["runs"]):
                k = rnd % len(g["configs"])
                for cid in g["configs"][k:] + g["configs"][:k]:
                    out.append((g, cid, rnd + 1))
        return out

    def extra_estimate(self):
        """Seconds outside the timed runs: fio, EXPLAIN appendix, checks."""
        s = 60.0
        for g in self.groups:
            if g["section"] == "slow":
                s += 45 * g["latency_us"] / 2000 + 10
            if g["section"] == "hooks":
                s += 5 * len(g["configs"])      # plan and storage hook checks
            if self.explain_wanted() and self.explained(g):
                s += sum(self.estimate(g, c) + 1 for c in g["configs"])
        return s

    def explain_wanted(self):
        return self.args.explain if self.args.explain is not None else self.mode["explain"]

    def print_plan(self):
        steps = self.steps()
        by = {}
        for g, cid, _ in steps:
            by[g["id"]] = by.get(g["id"], 0) + self.estimate(g, cid)
        log(f"== plan, mode {self.args.mode}: main scale {self.scale}, grid scale "
            f"{self.grid_scale}, hot {self.hot_scale}, slow device {self.slow_scale}, "
            f"mixed {self.mixed_scale}")
        for section in ("headline", "grid", "parallel", "slow", "mixed", "hooks"):
            gs = [g for g in self.groups if g["section"] == section]
            if not gs:
                continue
            runs = sum(g["runs"] * len(g["configs"]) for g in gs)
            secs = sum(by[g["id"]] for g in gs)
            log(f"  {section:9} {len(gs):3} groups {runs:5} timed runs  ~{fmt_s(secs)}")
            if section != "grid" or self.args.dry_run and self.args.verbose:
                for g in gs:
                    log(f"      {g['id']:28} {len(g['configs']):2} configurations x "
                        f"{g['runs']:2} rounds  ~{fmt_s(by[g['id']])}")
        total = sum(by.values()) + self.extra_estimate()
        log(f"  total {len(steps)} timed runs; estimated {fmt_s(total)} (timed runs "
            f"{fmt_s(sum(by.values()))}, fio / checks / EXPLAIN appendix "
            f"{fmt_s(self.extra_estimate())})")
        log(f"  making the data the first time (kept for later runs) takes about "
            f"{fmt_s(self.data_estimate())} more")
        return total

    def data_estimate(self):
        """Seconds to make every database and table the groups need from
        nothing: pgbench -i about 0.4 s per scale unit here, a copy 0.6 s
        (twice that on the slow device)."""
        s = 0.0
        for (cluster, kind), tables in self.needs().items():
            scale = self.db_scale(kind)
            k = 2.0 if kind == "slow" else 1.0
            s += 10 + scale * 0.4 * k + scale * 0.6 * k * len(tables - {"av"})
        return s

    # -- main loop --
    def main(self):
        log(f"== pg_asyncscan benchmark, mode {self.args.mode}")
        self.extra["machine"] = machine_info(self.work)
        self.extra["machine"]["page_reporting"] = self.args.page_reporting
        self.extra["started"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        self.extra["estimate_s"] = self.print_plan()
        log("== setup")
        self.setup()
        if self.slowdev:
            self.extra["slowdev"] = self.slowdev.info()
        log(f"== data (kept in {self.work} and reused by later runs)")
        self.ensure_data()
        self.extra["table_state"] = self.table_states()
        for k, v in self.extra["table_state"].items():
            log(f"  {k}: {v['bytes'] / 2**20:,.0f} MB, {v['pages']} pages, "
                f"{v['all_visible_frac'] * 100:.0f}% all-visible, tablespace {v['tablespace']}")
        self.extra["settings"] = self.collect_settings()
        log("== expected results (Seq Scan) and plan checks")
        if self.slowdev:
            self.slowdev.set_latency(0)
        self.compute_expected()
        self.plan_checks()
        steps = self.steps()
        todo = [(g, c) for g, c, _ in steps]
        log(f"== measuring: {len(steps)} timed runs in {len(self.groups)} groups, "
            f"estimated {fmt_s(self.total_eta(todo))}")
        self.extra["t_measure_start"] = time.time() - self.t_start
        self.save()
        cur_group = None
        for i, (g, cid, rnd) in enumerate(steps):
            if g is not cur_group:
                cur_group = g
                self.start_group(g)
            est = self.estimate(g, cid)
            t0 = time.time()
            try:
                if g["section"] == "mixed":
                    res = self.measure_mixed(g, cid, rnd)
                else:
                    res = self.measure(g, cid, rnd)
            except WrongResult as e:
                res = dict(group=g["id"], section=g["section"], config=cid, round=rnd,
                           ms=None, error="wrong result", error_msg=str(e),
                           t=time.time() - self.t_start)
            if res.get("error"):
                self.extra["failures"].append(dict(group=g["id"], config=cid, round=rnd,
                                                   error=res["error"], msg=res["error_msg"]))
                msg = f"FAILED: {res['error']}: {res['error_msg']}"
            elif g["section"] == "mixed":
                msg = (f"OLTP {res['oltp_tps']:.0f} tps avg {res['oltp_avg_ms']:.1f} ms "
                       f"p99 {res['oltp_p99_ms']:.1f} ms; scans {res['scans']}")
            else:
                par = min(g["clients"], NPROC)
                cpu = (res["backend_cpu_s"] / (res["ms"] / 1000 * par)
                       if res["backend_cpu_s"] is not None and res["ms"] > 0 else 0)
                msg = f"{res['ms']:.0f} ms (backend CPU {cpu * 100:.0f}%)"
                if g["judge"] == "cpu" and res["backend_cpu_s"] is not None:
                    msg += f", {res['backend_cpu_s'] * 1000:.0f} ms CPU"
            took = time.time() - t0
            self.case_time.setdefault((g["id"], cid), []).append(took)
            self.est_done += est
            self.act_done += took
            self.results.append(res)
            self.save()
            el = time.time() - self.t_start
            left = self.total_eta(todo[i + 1:])
            log(f"[{i + 1:>4}/{len(steps)}] {g['id']} round {rnd}/{g['runs']} "
                f"{CONFIGS[cid]['label']}: {msg}  | elapsed {fmt_s(el)}, left ~{fmt_s(left)}")
            if len(self.extra["failures"]) > 25:
                self.extra["aborted"] = "more than 25 failed runs"
                log("== more than 25 failed runs: giving up")
                break
        if self.explain_wanted() and not self.extra.get("aborted"):
            log("== EXPLAIN (ANALYZE, BUFFERS) of each configuration, cold, untimed")
            self.explain_runs()
        log("== table states after the run")
        self.extra["table_state_end"] = self.table_states()
        if self.slowdev:
            self.extra["slowfs_status"] = self.slowdev.status()
        self.extra["t_end"] = time.time() - self.t_start
        with open("/proc/loadavg") as f:
            self.extra["loadavg_end"] = f.read().split()[:3]
        self.save()
        log(f"== done in {fmt_s(time.time() - self.t_start)}")
        wrong = [f for f in self.extra["failures"] if f["error"] == "wrong result"]
        if self.extra["failures"]:
            log(f"== {len(self.extra['failures'])} runs FAILED ({len(wrong)} with a wrong "
                "result): see the report")
            return 3
        return 0

    def start_group(self, g):
        desc = {"cold": "cold (restart + drop OS page cache before every run)",
                "warm": "OS-warm (table in page cache, not in shared buffers)",
                "hot": "shared-buffer-hot (pg_prewarm + 1 scan before each run; judged "
                       "on backend CPU time)"}
        if g["latency_us"] is not None:
            what = f"slow device, +{g['latency_us']} us per read request, cold"
        elif g["section"] == "mixed":
            what = (f"mixed: tpcb-like -R {self.oltp_rate} + 1 scanning client, "
                    f"{self.mixed_secs}s per run")
        else:
            what = desc[g["cache"]]
        log(f"-- group {g['id']}: {what}; {TABLES[g['table']]['label']} "
            f"{TABLES[g['table']]['name']} in {g['dbname']}, {QUERIES[g['query']]['label']}, "
            f"{g['clients']} client(s); {len(g['configs'])} configurations x {g['runs']} rounds")
        if g["latency_us"] is not None:
            self.slowdev.set_latency(g["latency_us"])
        if g["section"] == "slow":
            if g["id"] not in self.extra["fio"]:
                # the device's limit at this latency, read from the table's
                # own file (the PostgreSQL 15 cluster's copy)
                for c in self.clusters.values():
                    c.stop()
                states = sorted((v for v in self.extra["table_state"].values()
                                 if v["db"] == g["dbname"] and v["table"] == g["table"]),
                                key=lambda v: v["cluster"] != "pg15")
                st = states[0]
                path = os.path.realpath(os.path.join(self.clusters[st["cluster"]].data,
                                                     st["path"]))
                size = min(st["bytes"], 1 << 30)
                res = self.slowdev.fio(path, size)
                res["file_bytes"] = size
                self.extra["fio"][g["id"]] = res
                log("    device limit (fio): " + ", ".join(
                    f"{k} {statistics.median(v['mib_s']):.0f} MiB/s"
                    for k, v in res.items() if isinstance(v, dict) and v["mib_s"]))
                self.save()

    def collect_settings(self):
        names = ["server_version", "shared_buffers", "max_parallel_workers_per_gather",
                 "jit", "effective_io_concurrency", "maintenance_io_concurrency",
                 "synchronize_seqscans", "data_checksums", "autovacuum", "fsync",
                 "wal_level", "huge_pages", "block_size", "max_worker_processes",
                 "max_parallel_workers"]
        ext = ["pg_asyncscan.enabled", "pg_asyncscan.io_method", "pg_asyncscan.io_depth",
               "pg_asyncscan.io_combine_limit", "pg_asyncscan.direct_reads",
               "pg_asyncscan.direct_io", "pg_asyncscan.io_workers",
               "pg_asyncscan.min_relation_size", "pg_asyncscan.worker_arena_size",
               "pg_asyncscan.storage_hooks", "shared_preload_libraries"]
        per = {"pg15": names + ext, "pg15p": names + ext,
               "pg17": names + ["io_combine_limit"] + ext,
               "pg18": names + ["io_method", "io_workers", "io_combine_limit",
                                "io_max_combine_limit", "io_max_concurrency"] + ext}
        out = {}
        for name, cl in self.clusters.items():
            cl.ensure(self.default_opts(name))
            # every pg_asyncscan.* setting the server knows, at its default
            allext = cl.psql("SELECT name || '=' || current_setting(name) FROM "
                             "pg_settings WHERE name LIKE 'pg\\_asyncscan.%' ORDER BY 1")
            out[name] = cl.show(per[name])
            out[name]["pg_asyncscan (all, defaults)"] = allext.replace("\n", ", ")
        return out

    def save(self):
        data = dict(mode=self.args.mode, scale=self.scale, grid_scale=self.grid_scale,
                    hot_scale=self.hot_scale, slow_scale=self.slow_scale,
                    mixed_scale=self.mixed_scale, mixed_secs=self.mixed_secs,
                    oltp_rate=self.oltp_rate, groups=self.groups,
                    queries={k: dict(label=v["label"], file=v["file"], sql=v["sql"])
                             for k, v in QUERIES.items()},
                    tables=TABLES,
                    configs={k: v for k, v in CONFIGS.items()
                             if any(k in g["configs"] for g in self.groups)},
                    results=self.results, extra=self.extra,
                    restarts={n: c.restarts for n, c in self.clusters.items()})
        tmp = os.path.join(self.out, "results.json.tmp")
        with open(tmp, "w") as f:
            json.dump(data, f, separators=(",", ":"))
        os.replace(tmp, os.path.join(self.out, "results.json"))

    def cleanup(self):
        for cl in self.clusters.values():
            try:
                cl.stop()
            except Exception as e:  # noqa: BLE001 - best effort on the way out
                log(f"  could not stop {cl.name}: {e}")
        if self.slowdev:
            self.slowdev.teardown()


class WrongResult(Exception):
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=sorted(MODES), default="quick")
    ap.add_argument("--out", help="result directory (needed unless --list or --dry-run)")
    ap.add_argument("--lib", help="directory holding pg_asyncscan.so (needed unless --list)")
    ap.add_argument("--pg18", default="/var/cache/pg_asyncscan-bench/pg18")
    ap.add_argument("--lib18", default=None,
                    help="directory holding pg_asyncscan.so built for PostgreSQL 18")
    ap.add_argument("--pg17-cache", default=None,
                    help="cache directory of test/debian_chroot.sh's PostgreSQL 17 root")
    ap.add_argument("--lib17", default=None,
                    help="directory holding pg_asyncscan.so built for PostgreSQL 17")
    ap.add_argument("--pg15p", default="/var/cache/pg_asyncscan-bench/pg15-patched",
                    help="PostgreSQL 15 built with patches/15 (test/build_pg.sh 15 "
                         "--patched --flavor bench)")
    ap.add_argument("--lib15p", default=None,
                    help="directory holding pg_asyncscan.so built for the patched "
                         "PostgreSQL 15")
    ap.add_argument("--slowfs", default=None,
                    help="slowfs binary (no slow device groups without)")
    ap.add_argument("--workdir", default="/var/tmp/pg_asyncscan-bench")
    ap.add_argument("--port-base", type=int, default=5491,
                    help="PostgreSQL 15's port; 18, 17 and the patched 15 use the next "
                         "three")
    ap.add_argument("--runs", type=int, default=None, help="rounds of every group")
    ap.add_argument("--scale", type=int, default=None, help="headline / parallel table")
    ap.add_argument("--grid-scale", type=int, default=None)
    ap.add_argument("--hot-scale", type=int, default=None)
    ap.add_argument("--slow-scale", type=int, default=None)
    ap.add_argument("--mixed-scale", type=int, default=None)
    ap.add_argument("--mixed-secs", type=int, default=None)
    ap.add_argument("--oltp-rate", type=int, default=None)
    ap.add_argument("--shared-buffers", default="256MB")
    ap.add_argument("--page-reporting", default="",
                    help="what bench/run.sh did with the guest's free page reporting")
    ap.add_argument("--only", default=None,
                    help="comma list of group ids or prefixes (head, head-cold, grid-hot, "
                         "grid-warm-nv, par, slow2000, mixed, hooks, hooks-bitmap)")
    ap.add_argument("--configs", default=None, help="comma list of configuration ids to keep")
    ap.add_argument("--skip", default="", help="comma list of: " + ", ".join(SKIPPABLE))
    ap.add_argument("--explain", type=lambda s: s in ("1", "on", "yes", "true"),
                    default=None, help="keep one cold EXPLAIN ANALYZE per configuration")
    ap.add_argument("--fresh-data", action="store_true")
    ap.add_argument("--strict-plans", action="store_true",
                    help="every AsyncSeqScan configuration must plan the Custom Scan (by "
                         "default the planner may keep the Seq Scan, which is reported)")
    ap.add_argument("--self-test-wrong-result", action="store_true",
                    help="test the harness: expect one row more than the Seq Scan "
                         "returns, so every timed run must fail with 'wrong result'")
    ap.add_argument("--list", action="store_true", help="print the configurations and exit")
    ap.add_argument("--dry-run", action="store_true",
                    help="print the groups and the estimated time, measure nothing")
    ap.add_argument("--verbose", action="store_true", help="with --dry-run: every group")
    ap.add_argument("--used", action="store_true",
                    help="print what the selected groups need (clusters pg15 pg15p pg17 "
                         "pg18, slow) on one line and exit")
    args = ap.parse_args()
    if args.list:
        for k, v in CONFIGS.items():
            print(f"{k:20} {v['label']}")
        return 0
    if args.dry_run or args.used:
        b = Bench(argparse.Namespace(**dict(vars(args), dry_run=True)))
        if args.used:
            used = sorted({CONFIGS[c]["cluster"] for g in b.groups for c in g["configs"]})
            print(" ".join(used + (["slow"] if any(g["latency_us"] is not None
                                                   for g in b.groups) else [])))
        else:
            b.print_plan()
        return 0
    if not args.out or not args.lib:
        ap.error("--out and --lib are needed")
    if os.geteuid() != 0:
        sys.exit("matrix.py must run as root (drop_caches, runuser, losetup, mount)")
    os.makedirs(args.out, exist_ok=True)
    bench = Bench(args)

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        return bench.main()
    except KeyboardInterrupt:
        log("== interrupted: stopping servers")
        bench.save()
        return 130
    finally:
        bench.cleanup()


if __name__ == "__main__":
    sys.exit(main())
