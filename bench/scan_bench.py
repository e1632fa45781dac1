#!/usr/bin/env python3
"""
scan_bench.py -- time one scan query under several pg_asyncscan settings,
side by side, in cold and warm cache states, and report medians.

Runs against a throwaway cluster it creates (as the postgres user) or an
existing one (--host/--port).  Every configuration is timed once per round,
in rotating order, so slow drifts of a shared machine hit all of them
alike; the report gives the median, min and max over the rounds and the
ratio of medians to the first configuration (the Seq Scan).

Cold runs restart the server (empty shared buffers) and drop the OS page
cache (echo 3 > /proc/sys/vm/drop_caches, needs root) before each timing.

Timing is client side: psql's \\timing around the statement, in a session
that has already run one trivial query, so connection and catalog loading
are not counted.

usage: bench/scan_bench.py [--scale 150] [--runs 5] [--states cold,warm]
                           [--configs seqscan,sync,uring,uring_direct]
  (a configuration may carry settings: uring_direct@io_depth=32+io_combine_limit=64)
                           [--query SQL] [--out FILE.md] [--keep-data DIR]
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

PGBIN = "/usr/lib/postgresql/15/bin"

# name -> settings (the first is the baseline of the ratios)
CONFIGS = {
    "seqscan": ["SET pg_asyncscan.enabled = off"],
    "sync": ["SET pg_asyncscan.io_method = 'sync'",
             "SET pg_asyncscan.direct_io = off"],
    "sync_direct": ["SET pg_asyncscan.io_method = 'sync'",
                    "SET pg_asyncscan.direct_io = on"],
    "uring": ["SET pg_asyncscan.io_method = 'io_uring'",
              "SET pg_asyncscan.direct_io = off"],
    "uring_direct": ["SET pg_asyncscan.io_method = 'io_uring'",
                     "SET pg_asyncscan.direct_io = on"],
    "uring_nodirect_reads": ["SET pg_asyncscan.io_method = 'io_uring'",
                             "SET pg_asyncscan.direct_reads = off"],
    "worker": ["SET pg_asyncscan.io_method = 'worker'",
               "SET pg_asyncscan.direct_io = off"],
    "worker_direct": ["SET pg_asyncscan.io_method = 'worker'",
                      "SET pg_asyncscan.direct_io = on"],
}


def log(msg):
    print(msg, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def as_postgres(cmd):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


class Cluster:
    def __init__(self, datadir, port, settings):
        self.datadir = datadir
        self.port = port
        self.sockdir = os.path.dirname(datadir)
        self.settings = settings

    def init(self):
        run(as_postgres([f"{PGBIN}/initdb", "-k", "-D", self.datadir]))
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write(f"port = {self.port}\n")
            f.write(f"unix_socket_directories = '{self.sockdir}'\n")
            f.write("listen_addresses = ''\n")
            for k, v in self.settings.items():
                f.write(f"{k} = {v}\n")

    def start(self):
        run(as_postgres([f"{PGBIN}/pg_ctl", "-w", "-D", self.datadir, "-l",
                         os.path.join(self.sockdir, "server.log"), "start"]))

    def stop(self):
        subprocess.run(as_postgres([f"{PGBIN}/pg_ctl", "-w", "-D", self.datadir,
                                    "-m", "fast", "stop"]),
                       capture_output=True)

    def psql(self, sql, db="postgres"):
        return run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.sockdir,
                    "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql]).stdout

    def time_clients(self, settings, query, db, clients):
        """Wall time for `clients` sessions each running the query once, at once."""
        path = os.path.join(self.sockdir, "bench_query.sql")
        with open(path, "w") as f:
            f.write(";\n".join(settings + [query]) + ";\n")
        os.chmod(path, 0o644)
        t0 = time.time()
        run(as_postgres(["pgbench", "-n", "-f", path, "-c", str(clients), "-j",
                         str(clients), "-t", "1", "-h", self.sockdir, "-p",
                         str(self.port), "-U", "postgres", db]))
        return (time.time() - t0) * 1000.0

    def time_query(self, settings, query, db):
        script = ";\n".join(settings + ["SELECT 1"]) + ";\n\\timing on\n" + query + ";\n"
        out = run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.sockdir,
                   "-p", str(self.port), "-U", "postgres", "-d", db],
                  input=script).stdout
        m = re.findall(r"^Time: ([\d.]+) ms", out, re.M)
        if not m:
            raise RuntimeError("no timing in psql output:\n" + out)
        return float(m[-1])


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=150)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--states", default="cold,warm")
    ap.add_argument("--configs", default="seqscan,sync,uring,uring_direct")
    ap.add_argument("--query", default="SELECT sum(abalance) FROM pgbench_accounts")
    ap.add_argument("--set", action="append", default=[],
                    help="extra SET statement for every AsyncSeqScan config, e.g. "
                         "\"pg_asyncscan.io_depth = 32\"")
    ap.add_argument("--out", default=None)
    ap.add_argument("--workdir", default="/tmp/pg_asyncscan_bench")
    ap.add_argument("--port", type=int, default=54399)
    ap.add_argument("--clients", type=int, default=1,
                    help="sessions running the query at once (pgbench -c); the "
                         "time is the wall time until all have finished")
    ap.add_argument("--parallel", type=int, default=0,
                    help="max_parallel_workers_per_gather for every configuration "
                         "(the plans must then show Gather)")
    ap.add_argument("--io-workers", type=int, default=None,
                    help="set pg_asyncscan.io_workers (restarts the server)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the cluster (and its data) for the next run")
    args = ap.parse_args()

    configs = args.configs.split(";") if ";" in args.configs else args.configs.split(",")
    states = args.states.split(",")
    for c in configs:
        # NAME@setting=value+setting=value adds SETs of pg_asyncscan.* to NAME
        base, _, tweaks = c.partition("@")
        if base not in CONFIGS:
            sys.exit(f"unknown config {base}; known: {', '.join(CONFIGS)}")
        if tweaks and c not in CONFIGS:
            CONFIGS[c] = CONFIGS[base] + [f"SET pg_asyncscan.{t}" for t in tweaks.split("+")]
    if "cold" in states and not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        sys.exit("cold runs need root (to write /proc/sys/vm/drop_caches)")

    datadir = os.path.join(args.workdir, f"data-s{args.scale}")
    os.makedirs(args.workdir, exist_ok=True)
    shutil.chown(args.workdir, "postgres")
    cluster = Cluster(datadir, args.port, {
        "shared_buffers": "'128MB'",
        "max_parallel_workers_per_gather": "0",
        "jit": "off",
        "shared_preload_libraries": "'pg_asyncscan'",
        "fsync": "off",
    })
    fresh = not os.path.exists(datadir)
    if fresh:
        log(f"creating cluster and pgbench data at scale {args.scale} in {datadir}")
        cluster.init()
    cluster.start()
    try:
        if fresh:
            cluster.psql("CREATE EXTENSION pg_asyncscan")
            run(as_postgres(["pgbench", "-i", "-q", "-s", str(args.scale), "-h",
                             cluster.sockdir, "-p", str(args.port), "postgres"]))
            cluster.psql("VACUUM ANALYZE pgbench_accounts")
            cluster.psql("CHECKPOINT")
        if args.io_workers is not None:
            cluster.psql(f"ALTER SYSTEM SET pg_asyncscan.io_workers = {args.io_workers}")
            cluster.stop()
            cluster.start()
        size = cluster.psql("SELECT pg_size_pretty(pg_relation_size('pgbench_accounts'))").strip()
        extra = [f"SET {s}" for s in args.set]
        common = [f"SET max_parallel_workers_per_gather = {args.parallel}"]
        for c in configs:
            CONFIGS[c] = common + CONFIGS[c]

        # every configuration must plan what it claims
        for c in configs:
            plan = cluster.psql(";".join(CONFIGS[c] + extra) + "; EXPLAIN (COSTS OFF) " + args.query)
            uses = "AsyncSeqScan" in plan
            if uses != (not c.startswith("seqscan")) or \
                    (args.parallel > 0 and "Gather" not in plan):
                sys.exit(f"config {c} does not plan as expected:\n{plan}")

        results = {(s, c): [] for s in states for c in configs}
        total = len(states) * args.runs * len(configs)
        done = 0
        t0 = time.time()
        for state in states:
            if state == "warm":
                for c in configs:     # one untimed pass fills the caches
                    cluster.time_query(CONFIGS[c] + extra, args.query, "postgres")
            for r in range(args.runs):
                order = configs[r % len(configs):] + configs[:r % len(configs)]
                for c in order:
                    if state == "cold":
                        cluster.stop()
                        drop_caches()
                        cluster.start()
                    settings = CONFIGS[c] + (extra if c != "seqscan" else [])
                    if args.clients > 1:
                        ms = cluster.time_clients(settings, args.query, "postgres",
                                                  args.clients)
                    else:
                        ms = cluster.time_query(settings, args.query, "postgres")
                    results[(state, c)].append(ms)
                    done += 1
                    el = time.time() - t0
                    log(f"[{done}/{total}] {state} run {r + 1} {c}: {ms:.1f} ms "
                        f"(elapsed {el:.0f}s, left ~{el / done * (total - done):.0f}s)")

        lines = []
        workers = cluster.psql("SHOW pg_asyncscan.io_workers").strip()
        lines.append(f"Query: `{args.query}` on pgbench_accounts ({size}, scale {args.scale}); "
                     f"shared_buffers=128MB, max_parallel_workers_per_gather={args.parallel}, jit=off, "
                     f"io_workers={workers}; {args.runs} runs per case, configurations "
                     f"alternated; "
                     + (f"{args.clients} concurrent clients, time until all finished."
                        if args.clients > 1 else "one client."))
        if extra:
            lines.append("Extra settings for AsyncSeqScan: " + ", ".join(args.set))
        lines.append("")
        lines.append("| cache | configuration | median ms | min | max | ratio to " + configs[0] + " |")
        lines.append("|---|---|---:|---:|---:|---:|")
        for state in states:
            base = statistics.median(results[(state, configs[0])])
            for c in configs:
                v = results[(state, c)]
                med = statistics.median(v)
                lines.append(f"| {state} | {c} | {med:.0f} | {min(v):.0f} | {max(v):.0f} | "
                             f"{med / base:.2f} |")
        report = "\n".join(lines)
        log("\n" + report)
        if args.out:
            with open(args.out, "w") as f:
                f.write(report + "\n")
    finally:
        cluster.stop()
        if not args.keep:
            shutil.rmtree(datadir, ignore_errors=True)


if __name__ == "__main__":
    main()
