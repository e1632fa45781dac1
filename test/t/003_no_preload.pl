
# Copyright (c) pg_asyncscan authors
#
# 003_no_preload.pl
#	  pg_asyncscan on a cluster WITHOUT shared_preload_libraries.
#
# design.md section 1: everything but the worker IO method works after a
# plain CREATE EXTENSION, and what needs the preload says so with a clear
# error and a hint.  Checked here:
#	- CREATE EXTENSION works and loads the library in its own session;
#	- a new session that never loaded the library plans a plain Seq Scan
#	  (and does not know the pg_asyncscan.* settings);
#	- after LOAD, AsyncSeqScan with io_method sync and io_uring, with the
#	  Seq Scan's results;
#	- SET pg_asyncscan.io_method = 'worker' fails with the error and hint,
#	  and the old value stays;
#	- pg_asyncscan.io_method = 'worker' in postgresql.conf (reload): the
#	  first scan of each backend warns once and falls back to sync, EXPLAIN
#	  says so and why, results are right;
#	- pg_asyncscan_stats, pg_asyncscan_stats_reset() and
#	  pg_asyncscan_worker_status() fail with the preload hint;
#	- the server-start settings io_workers and worker_arena_size do not
#	  exist.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::Bin/../perl";
use AsyncScanTest qw(io_analyze);
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('nopreload');
# the EXPLAIN options that show AsyncSeqScan's IO counters (ASYNCIO on 18)
my $io_analyze = io_analyze($node);
$node->init;
$node->append_conf(
	'postgresql.conf', q{
max_parallel_workers_per_gather = 0
autovacuum = off
jit = off
synchronize_seqscans = off
});
$node->start;

is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'', 'shared_preload_libraries is empty');

# CREATE EXTENSION works, and loads the library in its session
is( $node->safe_psql(
		'postgres', q{
CREATE EXTENSION pg_asyncscan;
SHOW pg_asyncscan.enabled;
}),
	'on',
	'CREATE EXTENSION works and loads the library in its session');

$node->safe_psql(
	'postgres', q{
CREATE TABLE t (id int NOT NULL, g int NOT NULL, pad text);
INSERT INTO t SELECT i, i % 10, md5(i::text) FROM generate_series(1, 100000) i;
VACUUM (ANALYZE) t;
});
my $expected = '100000|5000050000|450000';
my $query = 'SELECT count(*), sum(id), sum(g) FROM t';
my $expected_groups = $node->safe_psql('postgres',
	'SELECT g, count(*), sum(id) FROM t GROUP BY g ORDER BY g');

# What every session that wants AsyncSeqScan on this small table sets
my $settings = q{
SET pg_asyncscan.min_relation_size = 0;
};

# psql in a new session, stopping at the first error: (exit code, stdout,
# stderr); the exit code is 3 after an error
sub try_sql
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	return ($ret, $out, $err);
}

# psql in a new session, going on after errors: (0, stdout, stderr)
sub run_sql
{
	my ($sql) = @_;
	my ($ret, $out, $err) =
	  $node->psql('postgres', $sql, on_error_stop => 0);
	return ($ret, $out, $err);
}

# --- a new session without LOAD -------------------------------------------
{
	my ($ret, $out, $err) = try_sql('SHOW pg_asyncscan.io_method');
	isnt($ret, 0, 'new session without LOAD: pg_asyncscan.io_method unknown');
	like(
		$err,
		qr/unrecognized configuration parameter "pg_asyncscan.io_method"/,
		'new session without LOAD: the setting is unrecognized');

	my $plan = $node->safe_psql('postgres',
		"$settings EXPLAIN (COSTS OFF) $query");
	like($plan, qr/Seq Scan on t/, 'new session without LOAD: Seq Scan');
	unlike($plan, qr/AsyncSeqScan/,
		'new session without LOAD: no AsyncSeqScan');
	is($node->safe_psql('postgres', "$settings $query"),
		$expected, 'new session without LOAD: right result');
}

# --- LOAD: AsyncSeqScan with sync and io_uring ------------------------------
my $load = "LOAD 'pg_asyncscan'; $settings";
like(
	$node->safe_psql('postgres', "$load EXPLAIN (COSTS OFF) $query"),
	qr/Custom Scan \(AsyncSeqScan\) on t/,
	'after LOAD: AsyncSeqScan');

{
	my $out = $node->safe_psql(
		'postgres', qq{$load
SET pg_asyncscan.io_method = 'sync';
$query;
EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF) $query;
});
	my @lines = split /\n/, $out;
	is($lines[0], $expected, 'LOAD, io_method sync: right result');
	like($out, qr/Custom Scan \(AsyncSeqScan\) on t/,
		'LOAD, io_method sync: AsyncSeqScan');
	like($out, qr/IO: method=sync direct=\d+/, 'LOAD, io_method sync: EXPLAIN says sync');
	is( $node->safe_psql(
			'postgres', qq{$load
SET pg_asyncscan.io_method = 'sync';
SELECT g, count(*), sum(id) FROM t GROUP BY g ORDER BY g}),
		$expected_groups,
		'LOAD, io_method sync: GROUP BY right');
}

SKIP:
{
	my ($ret, $out, $err) =
	  run_sql("$load SET pg_asyncscan.io_method = 'io_uring'");
	skip "io_uring is not offered or refused here: $err", 5
	  if $err =~ /invalid value for parameter|io_uring is not available/;
	is($ret, 0, 'LOAD, SET io_method io_uring works without preload');

	$out = $node->safe_psql(
		'postgres', qq{$load
SET pg_asyncscan.io_method = 'io_uring';
SET pg_asyncscan.direct_io = on;
$query;
EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF) $query;
});
	my @lines = split /\n/, $out;
	is($lines[0], $expected, 'LOAD, io_method io_uring: right result');
	like($out, qr/Custom Scan \(AsyncSeqScan\) on t/,
		'LOAD, io_method io_uring: AsyncSeqScan');
	like($out, qr/IO: method=io_uring /,
		'LOAD, io_method io_uring: EXPLAIN says io_uring');
	is( $node->safe_psql(
			'postgres', qq{$load
SET pg_asyncscan.io_method = 'io_uring';
SELECT g, count(*), sum(id) FROM t GROUP BY g ORDER BY g}),
		$expected_groups,
		'LOAD, io_method io_uring: GROUP BY right');
}

# --- an explicit SET of worker fails, the old value stays -------------------
{
	my ($ret, $out, $err) = run_sql(
		qq{$load
SET pg_asyncscan.io_method = 'sync';
SET pg_asyncscan.io_method = 'worker';
SHOW pg_asyncscan.io_method;
});
	like(
		$err,
		qr/ERROR:  io_method "worker" needs the IO worker processes of pg_asyncscan/,
		'SET io_method = worker fails with a clear error');
	like(
		$err,
		qr/HINT:  Add pg_asyncscan to shared_preload_libraries and restart the server\./,
		'SET io_method = worker: the hint says what to do');
	is($out, 'sync', 'the old value of io_method stays after the failed SET');

	# also inside a transaction and with SET LOCAL; the session's value stays
	($ret, $out, $err) = run_sql(
		qq{$load
SET pg_asyncscan.io_method = 'sync';
BEGIN;
SET LOCAL pg_asyncscan.io_method = 'worker';
ROLLBACK;
SHOW pg_asyncscan.io_method;
SELECT set_config('pg_asyncscan.io_method', 'worker', false);
SHOW pg_asyncscan.io_method;
$query;
});
	my @errors = $err =~ /(ERROR:  io_method "worker" needs the IO worker processes)/g;
	is(scalar(@errors), 2,
		'SET LOCAL and set_config() of worker fail the same way');
	is($out, "sync\nsync\n$expected",
		'io_method stays sync, and the scan after it is right');

	# a session without LOAD: the placeholder is checked at LOAD
	($ret, $out, $err) = run_sql(
		qq{SET pg_asyncscan.io_method = 'worker';
LOAD 'pg_asyncscan';
SHOW pg_asyncscan.io_method;
});
	note "SET before LOAD: ret $ret, out '$out', err '$err'";
	# LOAD checks the placeholder's value, refuses it with a WARNING and
	# keeps the default, io_uring (the suite runs where it is available)
	is($out, 'io_uring',
		'a placeholder SET to worker before LOAD does not survive the LOAD: the default stays');
	like($err, qr/WARNING: .*worker/,
		'LOAD warns about the placeholder value worker');
}

# --- the functions that need the preload ------------------------------------
foreach my $case (
	[
		'SELECT * FROM pg_asyncscan_stats', 'the stats view',
		qr/ERROR:  pg_asyncscan statistics are not available/
	],
	[
		'SELECT pg_asyncscan_stats_reset()', 'pg_asyncscan_stats_reset()',
		qr/ERROR:  pg_asyncscan statistics are not available/
	],
	[
		'SELECT * FROM pg_asyncscan_worker_status()',
		'pg_asyncscan_worker_status()',
		qr/ERROR:  pg_asyncscan IO workers are not available/
	])
{
	my ($sql, $name, $pattern) = @$case;
	# once in a new session (the call loads the library), once after LOAD
	foreach my $prefix ('', "LOAD 'pg_asyncscan';")
	{
		my $how = $prefix eq '' ? 'without LOAD' : 'after LOAD';
		my ($ret, $out, $err) = try_sql("$prefix $sql");
		isnt($ret, 0, "$name fails without the preload ($how)");
		like($err, $pattern, "$name: clear error ($how)");
		like(
			$err,
			qr/HINT:  Add pg_asyncscan to shared_preload_libraries and restart the server\./,
			"$name: preload hint ($how)");
	}
}

# --- server-start settings do not exist --------------------------------------
foreach my $guc ('pg_asyncscan.io_workers', 'pg_asyncscan.worker_arena_size')
{
	foreach my $prefix ('', "LOAD 'pg_asyncscan';")
	{
		my $how = $prefix eq '' ? 'without LOAD' : 'after LOAD';
		my ($ret, $out, $err) = try_sql("$prefix SHOW $guc");
		isnt($ret, 0, "SHOW $guc fails ($how)");
		like($err, qr/unrecognized configuration parameter "\Q$guc\E"/,
			"SHOW $guc: unrecognized ($how)");
	}
}
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_settings WHERE name LIKE 'pg_asyncscan.%'
		  AND name IN ('pg_asyncscan.io_workers', 'pg_asyncscan.worker_arena_size')}),
	'0',
	'pg_settings has no io_workers or worker_arena_size');

# --- worker configured in postgresql.conf: warn once, fall back to sync -----
$node->append_conf('postgresql.conf', "pg_asyncscan.io_method = 'worker'\n");
$node->reload;
# (a new session reads the reloaded file; wait until the postmaster has)
foreach my $i (1 .. 100)
{
	last
	  if $node->safe_psql('postgres',
		"LOAD 'pg_asyncscan'; SHOW pg_asyncscan.io_method") eq 'worker';
	usleep(100_000);
}
is($node->safe_psql('postgres', "LOAD 'pg_asyncscan'; SHOW pg_asyncscan.io_method"),
	'worker', 'io_method worker is configured in postgresql.conf');

{
	my ($ret, $out, $err) = run_sql(
		qq{$load
SHOW pg_asyncscan.io_method;
$query;
SELECT g, count(*), sum(id) FROM t GROUP BY g ORDER BY g;
$query;
});
	is($ret, 0, 'configured worker: scans run');
	is($out, "worker\n$expected\n$expected_groups\n$expected",
		'configured worker: io_method shows worker, results are right');
	my @warnings = $err =~ /(WARNING:  io_method "worker" is not available in this backend, AsyncSeqScan uses io_method "sync")/g;
	is(scalar(@warnings), 1, 'configured worker: exactly one WARNING per backend');
	like(
		$err,
		qr/HINT:  Add pg_asyncscan to shared_preload_libraries and restart the server\./,
		'configured worker: the WARNING has the preload hint');
	unlike($err, qr/ERROR/, 'configured worker: no ERROR');
}

# every new backend warns once again
{
	my ($ret, $out, $err) = run_sql("$load $query");
	is($out, $expected, 'configured worker, next backend: right result');
	my @warnings = $err =~ /(WARNING:  io_method "worker" is not available)/g;
	is(scalar(@warnings), 1, 'configured worker: the next backend warns once too');
}

# EXPLAIN shows the method used and why
{
	my $plan = $node->safe_psql('postgres',
		"$load SET client_min_messages = error; EXPLAIN (COSTS OFF) $query");
	like($plan, qr/Custom Scan \(AsyncSeqScan\) on t/,
		'configured worker: still AsyncSeqScan');
	like(
		$plan,
		qr/IO Method: sync \(requested worker, worker needs shared_preload_libraries\)/,
		'EXPLAIN: IO Method sync, requested worker, and why');

	$plan = $node->safe_psql('postgres',
		"$load SET client_min_messages = error; "
		  . "EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF) $query");
	like(
		$plan,
		qr/IO: method=sync \(requested worker, worker needs shared_preload_libraries\) direct=\d+/,
		'EXPLAIN ANALYZE: method sync, requested worker, and why');

	my $json = $node->safe_psql('postgres',
		"$load SET client_min_messages = error; "
		  . "EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF, FORMAT JSON) $query");
	like($json, qr/"IO Method": "sync"/, 'EXPLAIN JSON: IO Method sync');
	like($json, qr/"IO Method Requested": "worker"/,
		'EXPLAIN JSON: IO Method Requested worker');
	like(
		$json,
		qr/"IO Method Fallback Reason": "worker needs shared_preload_libraries"/,
		'EXPLAIN JSON: the fallback reason');
}

# an explicit SET to sync in such a session works, and SET worker still fails
{
	my ($ret, $out, $err) = run_sql(
		qq{$load
SET pg_asyncscan.io_method = 'sync';
$query;
SET pg_asyncscan.io_method = 'worker';
SHOW pg_asyncscan.io_method;
});
	is($out, "$expected\nsync",
		'configured worker: SET sync works, SET worker still fails');
	unlike($err, qr/WARNING/, 'no fallback WARNING when sync was asked for');
	like($err, qr/ERROR:  io_method "worker" needs the IO worker processes/,
		'explicit SET worker fails even where the configuration says worker');
}

# ALTER DATABASE ... SET io_method = worker is accepted and falls back alike
$node->safe_psql('postgres',
	"LOAD 'pg_asyncscan'; ALTER DATABASE postgres SET pg_asyncscan.io_method = 'sync'");
{
	my ($ret, $out, $err) = run_sql("$load SHOW pg_asyncscan.io_method; $query");
	is($out, "sync\n$expected", 'ALTER DATABASE SET io_method sync overrides the file');
	unlike($err, qr/WARNING/, 'and no WARNING then');
}
$node->safe_psql('postgres',
	"LOAD 'pg_asyncscan'; ALTER DATABASE postgres SET pg_asyncscan.io_method = 'worker'");
{
	my ($ret, $out, $err) = run_sql("$load SHOW pg_asyncscan.io_method; $query");
	is($out, "worker\n$expected",
		'ALTER DATABASE SET io_method worker: accepted, scan right');
	my @warnings = $err =~ /(WARNING:  io_method "worker" is not available)/g;
	is(scalar(@warnings), 1, 'ALTER DATABASE SET io_method worker: one WARNING');
}
$node->safe_psql('postgres', 'ALTER DATABASE postgres RESET pg_asyncscan.io_method');

# the server is fine
is($node->safe_psql('postgres', "$load SET client_min_messages = error; $query"),
	$expected, 'server still scans correctly');
$node->stop;

my $log = slurp_file($node->logfile);
# (TRAP, a failed assertion, can only appear on an assertion-enabled
# server: PostgreSQL 18 as test/build_pg.sh builds it; Debian's 15 has none)
unlike($log, qr/TRAP|PANIC|terminated by signal|was terminated by/,
	'no crash, assertion failure or PANIC in the server log');

done_testing();
