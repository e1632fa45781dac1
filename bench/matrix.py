#!/usr/bin/env python3
"""
bench/matrix.py -- run the pg_asyncscan benchmark matrix and write
results.json (every timed run) and env.json (machine, versions, settings)
into an output directory.  bench/run.sh calls it (after installing
packages, building the extension and PostgreSQL 18); bench/report.py turns
the two files into report.md and the plots.

    bench/matrix.py --mode quick|full --out DIR --lib DIR --pg18 DIR
                    [--lib18 DIR] [--pg17-cache DIR --lib17 DIR] [--slowfs BIN]
                    [--runs N] [--scale N] [--only GROUPS]
                    [--skip pg17,pg18,slow,mixed] [--fresh-data]

What is measured (see bench/README.md for the why):

  * one query, bench/sql/scan.sql (SELECT sum(abalance) FROM
    pgbench_accounts), run by pgbench -n -f ... -c N -j N -t 1: N clients
    scan the table once each, at the same time.  The configuration under
    test comes in through PGOPTIONS (pg_asyncscan.* settings) or, for
    PostgreSQL 18, through the server's start options (io_method is
    PGC_POSTMASTER there).  pg_asyncscan runs on both: PostgreSQL 15
    (against its Seq Scan) and PostgreSQL 18 (against 18's own
    asynchronous Seq Scan, the server's io_method at its default, worker);
    and PostgreSQL 17 (Debian trixie's package, run in the root file system
    test/debian_chroot.sh makes in --pg17-cache; against 17's own Seq Scan,
    which reads through a read stream, synchronously); every cluster
    preloads it from a private library directory (--lib, --lib18, --lib17),
    and the Seq Scan rows set pg_asyncscan.enabled = off;
  * cache states: cold (server restarted and OS page cache dropped before
    every run), warm (table in the OS page cache, not in shared buffers),
    hot (a small table loaded into shared buffers with pg_prewarm and
    scanned twice before the timed run);
  * slow storage: a tablespace on test/tools/slowfs (FUSE) with 0.5 ms and
    2 ms added per read request, cold;
  * mixed: pgbench tpcb-like at a fixed rate (-R) next to one client that
    scans in a loop; OLTP latency and tps per scanning configuration.

Every case is run --runs times; each round runs every configuration of a
group once, in an order rotated from round to round.  Per run we keep the
makespan (first start to last end, from pgbench's per-transaction log),
each client's latency, and the CPU time the server used: the backends'
CPU from the postmaster's cutime+cstime (backends are its children; their
CPU is added when the postmaster reaps them) and the CPU of the other
server processes (IO workers, checkpointer, ...) from /proc/PID/stat.
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

from report import pct  # bench/report.py: one percentile for both

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCAN_SQL = os.path.join(HERE, "sql", "scan.sql")
QUERY = "SELECT sum(abalance) FROM pgbench_accounts"
PG15_BIN = "/usr/lib/postgresql/15/bin"
PG17_BIN = "/usr/lib/postgresql/17/bin"   # inside the chroot
CHROOT_SH = os.path.join(ROOT, "test", "debian_chroot.sh")
CLK = os.sysconf("SC_CLK_TCK")
NPROC = os.cpu_count()

PORTS = {"pg15": 5491, "pg18": 5492, "pg17": 5493}

# ---------------------------------------------------------------------------
# configurations
# ---------------------------------------------------------------------------
#
# id -> dict(label, short, cluster, gucs (session settings through
# PGOPTIONS), start (server start options), node (plan node it must give),
# oltp_only (mixed workload without a scanning client))

CONFIGS = {}


def _add(cid, label, short, cluster, gucs=None, start=None, node=None,
         oltp_only=False, tuned=False):
    CONFIGS[cid] = dict(id=cid, label=label, short=short, cluster=cluster,
                        gucs=gucs or {}, start=start or {}, node=node,
                        oltp_only=oltp_only, tuned=tuned)


_add("pg15_seqscan", "PG15 Seq Scan", "15 Seq Scan", "pg15",
     {"pg_asyncscan.enabled": "off"}, node="Seq Scan")


def _async(cid, method, dio, tuned=None, ver=15):
    """AsyncSeqScan with that pg_asyncscan.io_method.  On PostgreSQL 18 the
    server's own io_method stays at its default (worker): it only carries
    the pages AsyncSeqScan reads through shared buffers (few here: the
    tables are frozen, all-visible), and one value for all these rows
    spares restarts between them and PG18's worker Seq Scan."""
    gucs = {"pg_asyncscan.enabled": "on", "pg_asyncscan.io_method": method,
            "pg_asyncscan.direct_io": "on" if dio else "off"}
    label = f"PG{ver} AsyncSeqScan {method}" + (" direct_io" if dio else "")
    short = f"{ver} {'async ' if ver != 15 else ''}{method}" + (" dio" if dio else "")
    if tuned:
        for k, v in tuned.items():
            gucs[f"pg_asyncscan.{k}"] = str(v)
        label += ", " + ", ".join(f"{k}={v}" for k, v in tuned.items())
        short += " " + " ".join(
            {"io_depth": "d", "io_combine_limit": "c"}[k] + str(v) for k, v in tuned.items())
    _add(cid, label, short, f"pg{ver}", gucs,
         start={"io_method": "worker"} if ver == 18 else None,
         node="Custom Scan (AsyncSeqScan)", tuned=bool(tuned))


_async("pg15_sync", "sync", False)
_async("pg15_sync_dio", "sync", True)
_async("pg15_uring", "io_uring", False)
_async("pg15_uring_dio", "io_uring", True)
_async("pg15_worker", "worker", False)
_async("pg15_worker_dio", "worker", True)
_async("pg15_uring_dio_d32c64", "io_uring", True, {"io_depth": 32, "io_combine_limit": 64})
_async("pg15_uring_dio_d64c64", "io_uring", True, {"io_depth": 64, "io_combine_limit": 64})
_async("pg15_uring_dio_d128", "io_uring", True, {"io_depth": 128})
_async("pg15_uring_dio_d128c64", "io_uring", True, {"io_depth": 128, "io_combine_limit": 64})

# PostgreSQL 18's own Seq Scan: pg_asyncscan is preloaded there too (for
# the rows below), switched off like in pg15_seqscan
for _m in ("sync", "worker", "io_uring"):
    _add(f"pg18_{_m.replace('io_', '')}", f"PG18 Seq Scan io_method={_m}",
         f"18 {_m}", "pg18", {"pg_asyncscan.enabled": "off"},
         start={"io_method": _m}, node="Seq Scan")

# pg_asyncscan on PostgreSQL 18 (server io_method = worker, the default)
_async("pg18_async_sync", "sync", False, ver=18)
_async("pg18_async_uring", "io_uring", False, ver=18)
_async("pg18_async_uring_dio", "io_uring", True, ver=18)
_async("pg18_async_worker", "worker", False, ver=18)
_async("pg18_async_uring_dio_d64c64", "io_uring", True,
       {"io_depth": 64, "io_combine_limit": 64}, ver=18)
PG18_ASYNC = ["pg18_async_sync", "pg18_async_uring", "pg18_async_uring_dio",
              "pg18_async_worker"]

# PostgreSQL 17: its own Seq Scan (read stream, combined reads, but
# synchronous) and AsyncSeqScan with the extension's defaults
_add("pg17_seqscan", "PG17 Seq Scan", "17 Seq Scan", "pg17",
     {"pg_asyncscan.enabled": "off"}, node="Seq Scan")
_add("pg17_async", "PG17 AsyncSeqScan (defaults)", "17 async", "pg17",
     {"pg_asyncscan.enabled": "on"}, node="Custom Scan (AsyncSeqScan)")
PG17 = ["pg17_seqscan", "pg17_async"]

_add("pg15_oltp", "PG15 OLTP alone (no scan)", "15 OLTP alone", "pg15",
     oltp_only=True)
_add("pg18_oltp", "PG18 OLTP alone (no scan), io_method=io_uring", "18 OLTP alone",
     "pg18", start={"io_method": "io_uring"}, oltp_only=True)

# ---------------------------------------------------------------------------
# the matrix, per mode
# ---------------------------------------------------------------------------

ALL_LOCAL = ["pg15_seqscan", "pg15_sync", "pg15_sync_dio", "pg15_uring",
             "pg15_uring_dio", "pg15_worker", "pg15_worker_dio",
             "pg15_uring_dio_d32c64", "pg18_sync", "pg18_worker",
             "pg18_uring"] + PG18_ASYNC + PG17
MULTI_FULL = ["pg15_seqscan", "pg15_uring", "pg15_uring_dio",
              "pg15_uring_dio_d32c64", "pg15_worker_dio", "pg18_worker",
              "pg18_uring", "pg18_async_uring", "pg18_async_uring_dio"]
SLOW_FULL = ["pg15_seqscan", "pg15_sync", "pg15_sync_dio", "pg15_uring",
             "pg15_uring_dio", "pg15_worker_dio", "pg15_uring_dio_d64c64",
             "pg15_uring_dio_d128", "pg15_uring_dio_d128c64", "pg18_sync",
             "pg18_worker", "pg18_uring", "pg18_async_uring",
             "pg18_async_uring_dio", "pg18_async_uring_dio_d64c64"]
MIXED_FULL = ["pg15_oltp", "pg15_seqscan", "pg15_uring", "pg15_uring_dio",
              "pg18_oltp", "pg18_uring"]

QUICK_LOCAL = ["pg15_seqscan", "pg15_sync", "pg15_uring", "pg15_uring_dio",
               "pg15_worker_dio", "pg15_uring_dio_d32c64", "pg18_sync",
               "pg18_worker", "pg18_uring"] + PG18_ASYNC + PG17
QUICK_MULTI = ["pg15_seqscan", "pg15_uring_dio", "pg18_uring",
               "pg18_async_uring_dio"]
QUICK_HOT = ["pg15_seqscan", "pg15_uring", "pg15_uring_dio", "pg18_uring",
             "pg18_async_uring"] + PG17
QUICK_SLOW = ["pg15_seqscan", "pg15_uring_dio", "pg15_uring_dio_d64c64",
              "pg18_uring", "pg18_async_uring_dio"]
QUICK_MIXED = ["pg15_oltp", "pg15_seqscan", "pg15_uring_dio"]

MODES = {
    "quick": dict(scale=50, hot_scale=8, slow_scale=10, runs=5, mixed_secs=6,
                  oltp_rate=200, explain=False,
                  groups=[("hot", 1, QUICK_HOT),
                          ("warm", 1, QUICK_LOCAL), ("warm", 4, QUICK_MULTI),
                          ("cold", 1, QUICK_LOCAL), ("cold", 4, QUICK_MULTI),
                          ("slow500", 1, QUICK_SLOW), ("slow2000", 1, QUICK_SLOW),
                          ("mixed", 1, QUICK_MIXED)]),
    "full": dict(scale=150, hot_scale=8, slow_scale=30, runs=5, mixed_secs=15,
                 oltp_rate=200, explain=True,
                 groups=[("hot", 1, ALL_LOCAL), ("hot", 2, ALL_LOCAL),
                         ("hot", 4, ALL_LOCAL),
                         ("warm", 1, ALL_LOCAL), ("warm", 2, MULTI_FULL),
                         ("warm", 4, MULTI_FULL),
                         ("cold", 1, ALL_LOCAL), ("cold", 2, MULTI_FULL),
                         ("cold", 4, MULTI_FULL),
                         ("slow500", 1, SLOW_FULL), ("slow2000", 1, SLOW_FULL),
                         ("mixed", 1, MIXED_FULL)],
                 # the groups the targets are judged on get more rounds: the
                 # machine is shared and noisy
                 more_runs={"cold-c1": 9, "warm-c1": 9, "slow2000-c1": 7}),
}

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
    """{pid: (cpu ticks, state, cmdline)} of the live children of ppid."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
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


def machine_info(workdir):
    """What the report states about the machine."""
    m = {}
    m["nproc"] = NPROC
    m["cpu_model"] = sh("sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1")
    m["mem_total_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    m["kernel"] = platform.release()
    m["os"] = sh(". /etc/os-release && echo \"$PRETTY_NAME\"")
    m["debian_version"] = sh("cat /etc/debian_version")
    m["virt"] = sh("systemd-detect-virt 2>/dev/null")
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
        (test/debian_chroot.sh run), with root bound at the same path, so
        its files, log and socket are where this script looks for them
        and the postmaster's PID is this system's.  client_bindir: where
        psql comes from (17: PostgreSQL 15's, no chroot per query)."""
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
        """(backend CPU s, other server CPU s) between two snapshots."""
        if a["pm"] != b["pm"]:
            return None, None
        backends = (b["reaped"] - a["reaped"]) / CLK
        other = b["self"] - a["self"]
        for p, c in b["kids"].items():
            other += c - a["kids"].get(p, 0)
        return backends, other / CLK


# ---------------------------------------------------------------------------
# slowfs
# ---------------------------------------------------------------------------


class SlowFS:
    def __init__(self, binary, base):
        self.binary = binary
        self.src = os.path.join(base, "slowfs-src")
        self.mnt = os.path.join(base, "slowfs-mnt")
        self.ctl = os.path.join(self.mnt, ".slowfs_control")
        self.latency = None

    def mounted(self):
        # not mountpoint(1): root may not stat a FUSE mount without allow_other
        return self.devno() is not None

    def mount(self):
        if self.mounted():
            self.unmount()
        for d in (self.src, self.mnt):
            os.makedirs(d, exist_ok=True)
            os.chown(d, pw_uid("postgres"), pw_gid("postgres"))
        os.chmod("/dev/fuse", 0o666)
        run(as_pg([self.binary, "--read-latency-us=0", self.src, self.mnt]))
        self.latency = 0

    def unmount(self):
        if not self.mounted():
            return
        r = run(as_pg(["fusermount3", "-u", self.mnt]), check=False)
        if r.returncode != 0:
            run(as_pg(["fusermount3", "-uz", self.mnt]), check=False)

    def set_latency(self, us):
        run(as_pg(["sh", "-c", f"echo 'latency {int(us)}' > '{self.ctl}'"]))
        self.latency = us

    def status(self):
        return run(as_pg(["cat", self.ctl]), check=False).stdout.strip()

    def devno(self):
        with open("/proc/self/mountinfo") as f:
            for line in f:
                p = line.split()
                if p[4] == self.mnt:
                    return p[2]
        return None

    def read_ahead_kb(self):
        dev = self.devno()
        try:
            with open(f"/sys/class/bdi/{dev}/read_ahead_kb") as f:
                return int(f.read())
        except (OSError, TypeError, ValueError):
            return None


def pw_uid(user):
    import pwd
    return pwd.getpwnam(user).pw_uid


def pw_gid(user):
    import pwd
    return pwd.getpwnam(user).pw_gid


# ---------------------------------------------------------------------------
# the bench
# ---------------------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        mode = MODES[args.mode]
        self.mode = mode
        self.scale = args.scale or mode["scale"]
        self.hot_scale = args.hot_scale or mode["hot_scale"]
        self.slow_scale = args.slow_scale or mode["slow_scale"]
        self.runs = args.runs or mode["runs"]
        self.mixed_secs = args.mixed_secs or mode["mixed_secs"]
        self.oltp_rate = args.oltp_rate or mode["oltp_rate"]
        self.work = args.workdir
        self.tmp = os.path.join(self.work, "tmp")
        self.out = args.out
        skip = set(filter(None, args.skip.split(",")))
        self.use_pg18 = "pg18" not in skip
        self.use_pg17 = "pg17" not in skip
        self.use_slow = "slow" not in skip and args.slowfs is not None
        self.use_mixed = "mixed" not in skip
        self.groups = self.plan_groups(skip)
        common = [
            f"shared_buffers = {args.shared_buffers}",
            "max_parallel_workers_per_gather = 0",
            "jit = off",
            "autovacuum = off",
            "max_wal_size = 8GB",
            "checkpoint_timeout = 1h",
            "log_min_messages = warning",
            "log_checkpoints = off",
        ]
        self.clusters = {
            "pg15": Cluster("pg15", PG15_BIN, os.path.join(self.work, "pg15"),
                            PORTS["pg15"], common + [
                                "shared_preload_libraries = 'pg_asyncscan'",
                                f"dynamic_library_path = '{args.lib}:$libdir'"]),
        }
        if self.use_pg18:
            if not args.lib18:
                sys.exit("matrix.py: --lib18 (pg_asyncscan built for PostgreSQL 18) "
                         "is needed unless --skip pg18")
            self.clusters["pg18"] = Cluster("pg18", os.path.join(args.pg18, "bin"),
                                            os.path.join(self.work, "pg18"),
                                            PORTS["pg18"], common + [
                                                "shared_preload_libraries = 'pg_asyncscan'",
                                                f"dynamic_library_path = '{args.lib18}:$libdir'"])
        if self.use_pg17:
            if not args.lib17 or not args.pg17_cache:
                sys.exit("matrix.py: --pg17-cache and --lib17 (pg_asyncscan built for "
                         "PostgreSQL 17) are needed unless --skip pg17")
            self.clusters["pg17"] = Cluster(
                "pg17", PG17_BIN, os.path.join(self.work, "pg17"), PORTS["pg17"],
                common + ["shared_preload_libraries = 'pg_asyncscan'",
                          f"dynamic_library_path = '{args.lib17}:$libdir'"],
                wrap=["bash", CHROOT_SH, "run", "17", "--cache", args.pg17_cache,
                      "--bind", self.work, "--"],
                client_bindir=PG15_BIN)
        self.slowfs = SlowFS(args.slowfs, self.work) if self.use_slow else None
        self.results = []
        self.extra = dict(explain={}, slowfs_status={}, disturbed=0, retries=0,
                          plan_checks={})
        self.t_start = time.time()
        self.est_done = 0.0
        self.act_done = 0.0
        self.case_time = {}
        self.file_cache = {}

    # -- plan --
    def plan_groups(self, skip):
        only = [s for s in self.args.only.split(",") if s] if self.args.only else None
        groups = []
        for state, clients, configs in self.mode["groups"]:
            gid = f"{state}-c{clients}"
            if only and not any(gid == o or gid.startswith(o) for o in only):
                continue
            if state.startswith("slow") and ("slow" in skip or self.args.slowfs is None):
                continue
            if state == "mixed" and "mixed" in skip:
                continue
            cfgs = [c for c in configs
                    if not (CONFIGS[c]["cluster"] in ("pg17", "pg18")
                            and CONFIGS[c]["cluster"] in skip)]
            if self.args.configs:
                keep = self.args.configs.split(",")
                cfgs = [c for c in cfgs if c in keep]
            if not cfgs:
                continue
            latency = int(state[4:]) if state.startswith("slow") else None
            db = {"hot": "hot", "mixed": "main", "cold": "main", "warm": "main"}.get(
                state, "slow")
            runs = self.runs if self.args.runs else \
                self.mode.get("more_runs", {}).get(gid, self.runs)
            groups.append(dict(id=gid, runs=runs, state=("cold" if latency else state),
                               kind=("slow" if latency else state), clients=clients,
                               configs=cfgs, latency_us=latency, db=db))
        return groups

    def dbname(self, kind):
        return {"main": f"s{self.scale}", "hot": f"hot{self.hot_scale}",
                "slow": f"slow{self.slow_scale}"}[kind]

    def db_scale(self, kind):
        return {"main": self.scale, "hot": self.hot_scale, "slow": self.slow_scale}[kind]

    # -- setup --
    def setup(self):
        os.makedirs(self.tmp, exist_ok=True)
        for d in (self.work, self.tmp):
            os.chown(d, pw_uid("postgres"), pw_gid("postgres"))
            os.chmod(d, 0o755)
        for cl in self.clusters.values():
            if cl.running():
                log(f"  [{cl.name}] stopping a server left running by an earlier run")
                cl.stop("immediate")
            if self.args.fresh_data and os.path.exists(cl.root):
                log(f"  [{cl.name}] --fresh-data: removing {cl.root}")
                subprocess.run(["rm", "-rf", cl.root], check=True)
            os.makedirs(cl.root, exist_ok=True)
            os.chown(cl.root, pw_uid("postgres"), pw_gid("postgres"))
            if not cl.exists():
                cl.initdb()
            cl.write_conf()
        if self.slowfs:
            if self.args.fresh_data:
                self.slowfs.unmount()
                subprocess.run(["rm", "-rf", self.slowfs.src], check=True)
            self.slowfs.mount()
            log(f"  slowfs mounted at {self.slowfs.mnt} (backing {self.slowfs.src}), "
                f"bdi {self.slowfs.devno()} read_ahead_kb={self.slowfs.read_ahead_kb()}")

    def needed_dbs(self):
        kinds = []
        for g in self.groups:
            if g["db"] not in kinds:
                kinds.append(g["db"])
        return kinds

    def ensure_data(self):
        kinds = self.needed_dbs()
        for name, cl in self.clusters.items():
            missing = []
            cl.ensure({"shared_preload_libraries": "''"} if name in ("pg15", "pg17") else {})
            for kind in kinds:
                db, scale = self.dbname(kind), self.db_scale(kind)
                tag = f"pg_asyncscan-bench ready scale={scale}"
                have = cl.psql("SELECT shobj_description(oid, 'pg_database') FROM "
                               f"pg_database WHERE datname = '{db}'")
                if have != tag:
                    missing.append((kind, db, scale, tag))
            for kind, db, scale, tag in missing:
                t0 = time.time()
                log(f"  [{name}] creating database {db}: pgbench -i -s {scale}"
                    + (" in a tablespace on slowfs" if kind == "slow" else ""))
                cl.psql(f"DROP DATABASE IF EXISTS {db}")
                ts = ""
                if kind == "slow":
                    self.slowfs.set_latency(0)
                    have_ts = cl.psql("SELECT count(*) FROM pg_tablespace "
                                      "WHERE spcname = 'slowts'")
                    loc = os.path.join(self.slowfs.mnt, name)
                    if have_ts == "0":
                        run(as_pg(["mkdir", "-p", loc]))
                        cl.psql(f"CREATE TABLESPACE slowts LOCATION '{loc}'")
                    ts = " TABLESPACE slowts"
                cl.psql(f"CREATE DATABASE {db}{ts}")
                r = run(cl.wrap + [f"{cl.bindir}/pgbench", "-i", "-q", "-s", str(scale), db],
                        env=cl.env(), check=False)
                if r.returncode != 0:
                    raise RuntimeError(f"pgbench -i failed:\n{r.stderr[-3000:]}")
                cl.psql("VACUUM (FREEZE, ANALYZE)", db)
                cl.psql("CREATE EXTENSION IF NOT EXISTS pg_prewarm", db)
                cl.psql(f"COMMENT ON DATABASE {db} IS '{tag}'")
                cl.psql("CHECKPOINT")
                log(f"  [{name}] {db} ready in {fmt_s(time.time() - t0)}")
            # pg_asyncscan in every database, also in those made before it
            # supported PostgreSQL 18 (on 15 and 17 the server runs without
            # the preload here, so the library loads once, from the system
            # installation; 18 finds "$libdir/pg_asyncscan" through
            # dynamic_library_path, the private copy it preloads).
            # Every run starts from all-visible, frozen pages and a clean
            # checkpoint (the mixed workload of an earlier run updated rows)
            for kind in kinds:
                cl.psql("CREATE EXTENSION IF NOT EXISTS pg_asyncscan", self.dbname(kind))
                cl.psql("VACUUM (FREEZE, ANALYZE)", self.dbname(kind))
            cl.psql("CHECKPOINT")
            cl.stop()

    def table_info(self):
        info = {}
        for name, cl in self.clusters.items():
            cl.ensure(self.default_opts(name))
            for kind in self.needed_dbs():
                db = self.dbname(kind)
                row = cl.psql("SELECT pg_relation_size('pgbench_accounts'), "
                              "(SELECT count(*) FROM pgbench_branches), "
                              "(SELECT reltuples::bigint FROM pg_class WHERE relname = "
                              "'pgbench_accounts'), "
                              "(SELECT spcname FROM pg_tablespace t JOIN pg_database d "
                              "ON d.dattablespace = t.oid WHERE datname = current_database()), "
                              "pg_relation_filepath('pgbench_accounts')", db)
                size, scale, rows, ts, path = row.split("|")
                info[f"{name}/{db}"] = dict(cluster=name, db=db, kind=kind,
                                             bytes=int(size), scale=int(scale),
                                             rows=int(rows), tablespace=ts, path=path)
        return info

    def default_opts(self, name):
        return {"io_method": "io_uring"} if name == "pg18" else {}

    # -- files and the OS page cache --
    def rel_files(self, cl, db, rels=("pgbench_accounts",)):
        key = (cl.name, db, rels)
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
    def warm_files(files):
        for fn in files:
            with open(fn, "rb", buffering=0) as f:
                while f.read(4 << 20):
                    pass

    # -- one timed run --
    def run_pgbench_scan(self, cl, cfg, db, clients):
        prefix = os.path.join(self.tmp, "scan")
        for f in glob.glob(prefix + ".*"):
            os.unlink(f)
        cmd = [f"{PG15_BIN}/pgbench", "-n", "-f", SCAN_SQL, "-c", str(clients), "-j",
               str(clients), "-t", "1", "-l", f"--log-prefix={prefix}", db]
        # log_statement_stats: each backend logs the CPU time of the
        # statement itself (see Cluster.statement_cpu)
        r = run(cmd, env=cl.env(dict(cfg["gucs"], log_statement_stats="on")), check=False,
                timeout=3600)
        if r.returncode != 0:
            raise RuntimeError(f"pgbench failed for {cfg['id']}:\n{r.stderr[-3000:]}")
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
        if len(lats) != clients:
            raise RuntimeError(f"expected {clients} log lines, got {len(lats)}:\n{r.stdout}")
        return dict(ms=(max(ends) - min(starts)) * 1000, lat_ms=lats)

    def measure(self, g, cid, rnd):
        cfg = CONFIGS[cid]
        cl = self.clusters[cfg["cluster"]]
        db = self.dbname(g["db"])
        state = g["state"]
        if state == "cold":
            cl.stop()
            drop_caches()
            cl.start(cfg["start"])
        else:
            cl.ensure(cfg["start"])
        # plan once: catalogs come into the caches, not the table
        cl.psql(f"EXPLAIN {QUERY}", db, cfg["gucs"])
        files = None
        if state == "warm":
            files = self.rel_files(cl, db)
            if self.residency(files) < 0.999:
                self.warm_files(files)
        elif state == "hot":
            cl.psql("SELECT pg_prewarm('pgbench_accounts')", db)
            cl.psql(f"{QUERY};\n{QUERY};", db, cfg["gucs"])
        for attempt in range(3):
            cl.clients_gone()
            la = loadavg()
            s0 = cl.cpu_snapshot()
            logpos = os.path.getsize(cl.logfile)
            t0 = time.time()
            r = self.run_pgbench_scan(cl, cfg, db, g["clients"])
            wall = time.time() - t0
            cl.clients_gone()
            s1 = cl.cpu_snapshot()
            stmt_cpu = cl.statement_cpu(logpos)
            disturbed = False
            if files is not None:
                res = self.residency(files)
                if res < 0.98:
                    # someone dropped the page cache during the run (the
                    # machine is shared): measure again
                    disturbed = True
                    self.extra["disturbed"] += 1
                    log(f"    (page cache lost during the run, residency {res:.2f}: again)")
                    self.warm_files(files)
                    continue
            break
        be, other = Cluster.cpu_delta(s0, s1)
        if len(stmt_cpu) != g["clients"]:
            log(f"    (expected {g['clients']} statement statistics in the server log, "
                f"found {len(stmt_cpu)})")
        return dict(stmt_cpu_s=sum(c for c, _ in stmt_cpu) if stmt_cpu else None,
                    stmt_elapsed_s=[e for _, e in stmt_cpu], conn_cpu_s=be,
                    backend_cpu_s=sum(c for c, _ in stmt_cpu) if stmt_cpu else None,group=g["id"], kind=g["kind"], state=state, clients=g["clients"],
                    latency_us=g["latency_us"], config=cid, round=rnd, db=db,
                    ms=r["ms"], lat_ms=r["lat_ms"], server_other_cpu_s=other, load1=la, client_wall_s=wall,
                    disturbed=disturbed, t=time.time() - self.t_start)

    def measure_mixed(self, g, cid, rnd):
        cfg = CONFIGS[cid]
        cl = self.clusters[cfg["cluster"]]
        db = self.dbname("main")
        cl.ensure(cfg["start"])
        files = self.rel_files(cl, db, ("pgbench_accounts", "pgbench_accounts_pkey",
                                        "pgbench_branches", "pgbench_tellers",
                                        "pgbench_history"))
        if self.residency(files) < 0.999:
            self.warm_files(files)
        cl.psql(f"EXPLAIN {QUERY}", db, cfg["gucs"])
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
        if not cfg["oltp_only"]:
            scan = subprocess.Popen(
                [f"{PG15_BIN}/pgbench", "-n", "-f", SCAN_SQL, "-c", "1", "-T", str(secs),
                 "-l", f"--log-prefix={ps}", db],
                env=cl.env(cfg["gucs"]), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)
        out, err = oltp.communicate(timeout=secs + 600)
        if oltp.returncode != 0:
            raise RuntimeError(f"OLTP pgbench failed:\n{err[-3000:]}")
        scan_lats = []
        if scan:
            _, serr = scan.communicate(timeout=3600)
            if scan.returncode != 0:
                raise RuntimeError(f"scan pgbench failed:\n{serr[-3000:]}")
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
        return dict(group=g["id"], kind="mixed", state="warm", clients=1, latency_us=None,
                    config=cid, round=rnd, db=db, secs=secs, rate=self.oltp_rate,
                    oltp_n=len(lats), oltp_tps=float(m.group(1)) if m else len(lats) / secs,
                    oltp_avg_ms=statistics.mean(lats) if lats else None,
                    oltp_p50_ms=pct(lats, 50), oltp_p95_ms=pct(lats, 95),
                    oltp_p99_ms=pct(lats, 99), oltp_max_ms=max(lats) if lats else None,
                    per_sec=per_sec, scans=len(scan_lats),
                    scan_ms=statistics.median(scan_lats) if scan_lats else None,
                    load1=la, t=time.time() - self.t_start)

    # -- checks before measuring --
    def plan_checks(self):
        seen = set()
        for g in self.groups:
            db = self.dbname(g["db"])
            for cid in g["configs"]:
                cfg = CONFIGS[cid]
                if cfg["oltp_only"] or (db, cid) in seen:
                    continue
                seen.add((db, cid))
                cl = self.clusters[cfg["cluster"]]
                cl.ensure(cfg["start"])
                plan = cl.psql(f"EXPLAIN (COSTS OFF) {QUERY}", db, cfg["gucs"])
                first = plan.splitlines()[1].strip().lstrip("->").strip() \
                    if len(plan.splitlines()) > 1 else plan
                self.extra["plan_checks"][f"{db}/{cid}"] = plan
                if not first.startswith(cfg["node"]):
                    raise RuntimeError(f"{cid} on {db} does not plan a {cfg['node']}:\n{plan}")
                if cfg["cluster"] == "pg18":
                    got = cl.show(["io_method"])["io_method"]
                    if got != cfg["start"]["io_method"]:
                        raise RuntimeError(f"{cid}: io_method is {got}")
                if "pg_asyncscan.io_method" in cfg["gucs"]:
                    got = cl.show(["pg_asyncscan.io_method"], db,
                                  cfg["gucs"])["pg_asyncscan.io_method"]
                    if got != cfg["gucs"]["pg_asyncscan.io_method"]:
                        raise RuntimeError(f"{cid}: pg_asyncscan.io_method is {got}")
        log(f"  plans checked: {len(seen)} (database, configuration) pairs")

    @staticmethod
    def explain_options(cl, cfg):
        """EXPLAIN options for the appendix: on PostgreSQL 18 AsyncSeqScan's
        own counters (IO:, Reads:) appear only with its ASYNCIO option."""
        opts = "ANALYZE, BUFFERS, TIMING OFF"
        if cfg["node"] == "Custom Scan (AsyncSeqScan)" and \
                int(cl.show(["server_version_num"])["server_version_num"]) >= 180000:
            opts += ", ASYNCIO"
        return opts

    def explain_runs(self):
        """One extra cold EXPLAIN (ANALYZE, BUFFERS) per configuration of the
        cold 1-client groups, kept for the report (not timed)."""
        for g in self.groups:
            if g["state"] != "cold" or g["clients"] != 1:
                continue
            if g["latency_us"] is not None and self.slowfs:
                self.slowfs.set_latency(g["latency_us"])
            db = self.dbname(g["db"])
            for cid in g["configs"]:
                cfg = CONFIGS[cid]
                cl = self.clusters[cfg["cluster"]]
                cl.stop()
                drop_caches()
                cl.start(cfg["start"])
                txt = cl.psql("SET track_io_timing = on;\n"
                              f"EXPLAIN ({self.explain_options(cl, cfg)}) {QUERY}",
                              db, cfg["gucs"])
                self.extra["explain"][f"{g['id']}/{cid}"] = txt
            log(f"  EXPLAIN ANALYZE (cold) kept for {g['id']}")

    # -- progress --
    def estimate(self, g, cid, info):
        key = (g["id"], cid)
        if key in self.case_time:
            v = self.case_time[key]
            return statistics.mean(v)
        gb = info.get(f"{CONFIGS[cid]['cluster']}/{self.dbname(g['db'])}", {}).get(
            "bytes", 1e9) / 1e9
        n = g["clients"]
        if g["kind"] == "mixed":
            return self.mixed_secs + 4
        if g["kind"] == "slow":
            return 3 + gb * g["latency_us"] / 1000 * 5
        if g["state"] == "cold":
            return 3 + gb * 1.5 * (1 + 0.5 * (n - 1))
        if g["state"] == "warm":
            return 0.7 + gb * 1.1 * n / min(n, NPROC)
        return 1.5 + gb * 1.1 * (2 + n / min(n, NPROC))

    def total_eta(self, todo, info):
        known = self.act_done / self.est_done if self.est_done else 1.0
        left = 0.0
        for g, cid in todo:
            key = (g["id"], cid)
            e = self.estimate(g, cid, info)
            left += e if key in self.case_time else e * known
        return left

    # -- main loop --
    def main(self):
        log(f"== pg_asyncscan benchmark, mode {self.args.mode}: scale {self.scale} "
            f"(hot {self.hot_scale}, slow {self.slow_scale}), {self.runs} runs per case")
        log("== setup")
        self.extra["machine"] = machine_info(self.work)
        self.extra["started"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        self.setup()
        log("== data (kept in %s and reused by later runs)" % self.work)
        self.ensure_data()
        info = self.table_info()
        for k, v in info.items():
            log(f"  {k}: pgbench_accounts {v['bytes'] / 2**20:.0f} MB, scale {v['scale']}, "
                f"tablespace {v['tablespace']}")
        self.extra["tables"] = info
        self.extra["settings"] = self.collect_settings()
        log("== plan checks")
        for g in self.groups:
            if g["latency_us"] is not None:
                self.slowfs.set_latency(g["latency_us"])
                break
        self.plan_checks()
        steps = []
        for g in self.groups:
            for rnd in range(g["runs"]):
                k = rnd % len(g["configs"])
                for cid in g["configs"][k:] + g["configs"][:k]:
                    steps.append((g, cid, rnd + 1))
        todo = [(g, c) for g, c, _ in steps]
        eta0 = self.total_eta(todo, info)
        log(f"== measuring: {len(steps)} timed runs in {len(self.groups)} groups, "
            f"estimated {fmt_s(eta0)}")
        self.extra["t_measure_start"] = time.time() - self.t_start
        cur_group = None
        for i, (g, cid, rnd) in enumerate(steps):
            if g is not cur_group:
                cur_group = g
                desc = {"cold": "cold (restart + drop OS page cache before every run)",
                        "warm": "OS-warm (table in page cache, not in shared buffers)",
                        "hot": "shared-buffer-hot (pg_prewarm + 2 scans before each run)"}
                what = (f"slow storage, +{g['latency_us']} us per read request, cold"
                        if g["kind"] == "slow" else
                        f"mixed: tpcb-like -R {self.oltp_rate} + 1 scanning client, "
                        f"{self.mixed_secs}s per run" if g["kind"] == "mixed"
                        else desc[g["state"]])
                log(f"-- group {g['id']}: {what}; {g['clients']} client(s); "
                    f"{len(g['configs'])} configurations x {g['runs']} rounds")
                if g["latency_us"] is not None:
                    self.slowfs.set_latency(g["latency_us"])
            est = self.estimate(g, cid, info)
            t0 = time.time()
            if g["kind"] == "mixed":
                res = self.measure_mixed(g, cid, rnd)
                msg = (f"OLTP {res['oltp_tps']:.0f} tps avg {res['oltp_avg_ms']:.1f} ms "
                       f"p99 {res['oltp_p99_ms']:.1f} ms; scans {res['scans']}")
            else:
                res = self.measure(g, cid, rnd)
                cpu = (res["backend_cpu_s"] / (res["ms"] / 1000 * min(g["clients"], NPROC))
                       if res["backend_cpu_s"] is not None and res["ms"] > 0 else 0)
                msg = f"{res['ms']:.0f} ms (backend CPU {cpu * 100:.0f}%)"
            took = time.time() - t0
            self.case_time.setdefault((g["id"], cid), []).append(took)
            self.est_done += est
            self.act_done += took
            self.results.append(res)
            self.save()
            el = time.time() - self.t_start
            left = self.total_eta(todo[i + 1:], info)
            log(f"[{i + 1:>4}/{len(steps)}] {g['id']} round {rnd}/{g['runs']} "
                f"{CONFIGS[cid]['label']}: {msg}  | elapsed {fmt_s(el)}, left ~{fmt_s(left)}")
        if self.args.explain if self.args.explain is not None else self.mode["explain"]:
            log("== EXPLAIN (ANALYZE, BUFFERS) of each configuration, cold, untimed")
            self.explain_runs()
        if self.slowfs:
            self.extra["slowfs_status"] = self.slowfs.status()
        self.extra["t_end"] = time.time() - self.t_start
        with open("/proc/loadavg") as f:
            self.extra["loadavg_end"] = f.read().split()[:3]
        self.save()
        log(f"== done in {fmt_s(time.time() - self.t_start)}")

    def collect_settings(self):
        names = ["server_version", "shared_buffers", "max_parallel_workers_per_gather",
                 "jit", "effective_io_concurrency", "maintenance_io_concurrency",
                 "synchronize_seqscans", "data_checksums", "autovacuum", "fsync",
                 "wal_level", "huge_pages", "block_size"]
        ext = ["pg_asyncscan.io_method", "pg_asyncscan.io_depth",
               "pg_asyncscan.io_combine_limit", "pg_asyncscan.direct_reads",
               "pg_asyncscan.direct_io", "pg_asyncscan.io_workers",
               "pg_asyncscan.min_relation_size", "pg_asyncscan.worker_arena_size",
               "shared_preload_libraries"]
        pg15 = names + ext
        pg17 = names + ["io_combine_limit"] + ext
        pg18 = names + ["io_method", "io_workers", "io_combine_limit",
                        "io_max_combine_limit", "io_max_concurrency"] + ext
        out = {}
        for name, cl in self.clusters.items():
            cl.ensure(self.default_opts(name))
            out[name] = cl.show({"pg15": pg15, "pg17": pg17}.get(name, pg18),
                                self.dbname(self.needed_dbs()[0]))
            out[name]["io_method (at start)"] = "set per configuration" if name == "pg18" else None
        return out

    def save(self):
        data = dict(mode=self.args.mode, scale=self.scale, hot_scale=self.hot_scale,
                    slow_scale=self.slow_scale, runs=self.runs, mixed_secs=self.mixed_secs,
                    oltp_rate=self.oltp_rate, groups=self.groups,
                    configs={k: v for k, v in CONFIGS.items()
                             if any(k in g["configs"] for g in self.groups)},
                    results=self.results, extra=self.extra,
                    restarts={n: c.restarts for n, c in self.clusters.items()},
                    slowfs_read_ahead_kb=self.slowfs.read_ahead_kb() if self.slowfs else None,
                    slowfs_devno=self.slowfs.devno() if self.slowfs else None)
        tmp = os.path.join(self.out, "results.json.tmp")
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, os.path.join(self.out, "results.json"))

    def cleanup(self):
        for cl in self.clusters.values():
            try:
                cl.stop()
            except Exception as e:  # noqa: BLE001 - best effort on the way out
                log(f"  could not stop {cl.name}: {e}")
        if self.slowfs:
            try:
                self.slowfs.unmount()
            except Exception as e:  # noqa: BLE001
                log(f"  could not unmount slowfs: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=sorted(MODES), default="quick")
    ap.add_argument("--out", help="result directory (needed unless --list)")
    ap.add_argument("--lib", help="directory holding pg_asyncscan.so (needed unless --list)")
    ap.add_argument("--pg18", default="/var/cache/pg_asyncscan-bench/pg18")
    ap.add_argument("--lib18", default=None,
                    help="directory holding pg_asyncscan.so built for PostgreSQL 18")
    ap.add_argument("--pg17-cache", default=None,
                    help="cache directory of test/debian_chroot.sh's PostgreSQL 17 root")
    ap.add_argument("--lib17", default=None,
                    help="directory holding pg_asyncscan.so built for PostgreSQL 17")
    ap.add_argument("--slowfs", default=None, help="slowfs binary (no slow storage without)")
    ap.add_argument("--workdir", default="/var/tmp/pg_asyncscan-bench")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--scale", type=int, default=None)
    ap.add_argument("--hot-scale", type=int, default=None)
    ap.add_argument("--slow-scale", type=int, default=None)
    ap.add_argument("--mixed-secs", type=int, default=None)
    ap.add_argument("--oltp-rate", type=int, default=None)
    ap.add_argument("--shared-buffers", default="256MB")
    ap.add_argument("--only", default=None,
                    help="comma list of group ids or prefixes (cold-c1, warm, slow2000, mixed)")
    ap.add_argument("--configs", default=None, help="comma list of configuration ids to keep")
    ap.add_argument("--skip", default="", help="comma list of: pg17, pg18, slow, mixed")
    ap.add_argument("--explain", type=lambda s: s in ("1", "on", "yes", "true"),
                    default=None, help="keep one cold EXPLAIN ANALYZE per configuration")
    ap.add_argument("--fresh-data", action="store_true")
    ap.add_argument("--list", action="store_true", help="print the configurations and exit")
    args = ap.parse_args()
    if args.list:
        for k, v in CONFIGS.items():
            print(f"{k:28} {v['label']}")
        return
    if not args.out or not args.lib:
        ap.error("--out and --lib are needed")
    if os.geteuid() != 0:
        sys.exit("matrix.py must run as root (drop_caches, runuser)")
    os.makedirs(args.out, exist_ok=True)
    bench = Bench(args)

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        bench.main()
    except KeyboardInterrupt:
        log("== interrupted: stopping servers")
        bench.save()
        sys.exit(130)
    finally:
        bench.cleanup()


if __name__ == "__main__":
    main()
