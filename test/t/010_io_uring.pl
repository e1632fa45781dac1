
# Copyright (c) pg_asyncscan authors
#
# 010_io_uring.pl
#	The io_uring IO method: reads really in flight (O_DIRECT, deep queue)
#	on every way a scan can end -- end of scan, LIMIT, rescan, ERROR in a
#	qual, statement_timeout, query cancel, transaction and subtransaction
#	abort, open cursors at commit, FATAL and client disconnect.
#
#	The exits happen deep in the table, where the look-ahead window is at
#	its widest, and with reads in flight: EXPLAIN ANALYZE of the LIMIT
#	shows reads issued beyond the last block used; an open cursor is moved
#	on until its backend's ring (seen through /proc/PID/fdinfo) has reads
#	passed to the kernel and not reaped; a cancel or a SIGTERM is sent only
#	when the backend is blocked in io_uring_enter() waiting for a
#	completion with more than one read in flight, and each must land.
#	After every exit the ring must be idle: every read the scan issued was
#	reaped (drained) before the statement or the cursor ended.  Results
#	are checked against a Seq Scan, the backend's open file count and
#	memory contexts against their baseline, and the server log for crashes
#	round by round.  Then a server whose io_uring is refused by a seccomp
#	filter: an explicit SET fails with the cause, a configured io_uring
#	falls back to sync with one WARNING.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::Bin/../perl";
use AsyncScanTest
  qw(io_analyze evict_from_page_cache uring_ring uring_unreaped uring_idle wait_uring_reads);
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('uring');
# the EXPLAIN options that show AsyncSeqScan's IO counters (ASYNCIO on 18)
my $io_analyze = io_analyze($node);
$node->init(extra => ['--data-checksums']);
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_asyncscan'
max_parallel_workers_per_gather = 0
shared_buffers = 32MB
jit = off
});
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION pg_asyncscan');
# about 100 MB of pgbench_accounts; pgbench -i vacuums, so all-visible
$node->command_ok(
	[ 'pgbench', '-i', '-q', '-s', '8', '-h', $node->host, '-p', $node->port,
		'postgres' ],
	'pgbench -i');
# empty shared buffers: the direct path reads nearly every block
$node->restart;

evict_from_page_cache($node, 'pgbench_accounts');

my $settings = q{
SET pg_asyncscan.io_method = 'io_uring';
SET pg_asyncscan.direct_io = on;
SET pg_asyncscan.io_depth = 64;
};

my $full_query = 'SELECT count(*), sum(abalance), sum(aid) FROM pgbench_accounts';
my $expected_full = $node->safe_psql('postgres',
	"SET pg_asyncscan.enabled = off; $full_query");
is($expected_full, '800000|0|320000400000', 'Seq Scan reference result');

my $subplan_query = q{
SELECT g, (SELECT count(*) FROM (SELECT 1 FROM pgbench_accounts a
                                 WHERE a.bid = g LIMIT 1000) x)
FROM generate_series(1, 8) g};
my $expected_subplan = $node->safe_psql('postgres',
	"SET pg_asyncscan.enabled = off; $subplan_query");

# The plan really uses io_uring with several reads in flight at once
# (the Seq Scans above filled the page cache: empty it again).
evict_from_page_cache($node, 'pgbench_accounts');
my $json = $node->safe_psql('postgres',
	"$settings EXPLAIN ($io_analyze, FORMAT JSON, COSTS OFF, TIMING OFF) $full_query");
like($json, qr/"Custom Plan Provider": "AsyncSeqScan"/, 'AsyncSeqScan is planned');
like($json, qr/"IO Method": "io_uring"/, 'io_uring does the reading');
like($json, qr/"Direct IO": true/, 'direct reads use O_DIRECT');
my ($maxinflight) = $json =~ /"Max In-Flight": (\d+)/;
cmp_ok($maxinflight, '>', 1, 'several reads are in flight at once');
my ($direct) = $json =~ /"Pages Direct": (\d+)/;
cmp_ok($direct, '>', 10000, 'the direct path read most blocks');

# One long-lived session walks through every exit path many times.
my $s = $node->background_psql('postgres', on_error_stop => 0);
$s->query_safe($settings);
my $spid = $s->query_safe('SELECT pg_backend_pid()');

# The backend's open descriptors, as a sorted list of what they point at.
# Catalog files (relfilenode below 16384) are left out: smgr keeps those
# open as the session touches new catalogs, which is not ours to judge.
sub session_fds
{
	my @links;
	opendir(my $dh, "/proc/$spid/fd") or die "cannot list /proc/$spid/fd: $!";
	for my $fd (grep { /^\d+$/ } readdir($dh))
	{
		my $target = readlink("/proc/$spid/fd/$fd");
		next unless defined $target;    # closed meanwhile
		next if $target =~ m{/base/\d+/(\d+)(_\w+)?(\.\d+)?$} && $1 < 16384;
		$target =~ s/\[\d+\]$//;          # pipe:[inode] -> pipe:
		push @links, $target;
	}
	closedir($dh);
	return join(' ', sort @links);
}

sub session_memory
{
	return $s->query_safe(
		q{SELECT sum(total_bytes) FROM pg_backend_memory_contexts});
}

sub expect_error
{
	my ($sql, $pattern, $name) = @_;
	$s->{stderr} = '';
	$s->query($sql);
	like($s->{stderr}, $pattern, $name);
	$s->{stderr} = '';
}

# The drain's oracle: when a statement has ended, every read its scans
# issued has been reaped -- nothing queued, in the kernel or completed
# and not taken (test/perl/AsyncScanTest.pm, uring_ring).  A drain that
# left reads behind shows as soon as they complete, so the ring is looked
# at twice, 30 ms apart.
sub ring_is_idle
{
	my ($name) = @_;
	my $r1 = uring_ring($spid);
	usleep(30_000);
	my $r2 = uring_ring($spid);
	my $show = join(', ',
		map { defined $_ ? "sq $_->{sq_head}/$_->{sq_tail} cq $_->{cq_head}/$_->{cq_tail}" : 'no ring' }
		  ($r1, $r2));
	return ok(defined $r1 && defined $r2 && uring_idle($r1) && uring_idle($r2),
		"$name: every read reaped ($show)");
}

# Scans that stop deep in the table (at aid 400000 of 800000, block 6500
# or so of 13000), where the look-ahead window is at its widest.  (aid + 0:
# no Index Scan on the primary key.)
my $deep_query = 'SELECT aid FROM pgbench_accounts WHERE aid + 0 > 400000';
my $limit_query = "$deep_query LIMIT 7";

# Open cursor c deep in the table ($prefix: what comes first, e.g.
# BEGIN) in background session $psql of backend $pid, and move it on a
# page at a time until reads of its scan are in flight -- passed to the
# kernel and not yet reaped -- so that what ends the cursor next has reads
# to drain.  (Whether a given stop has any depends on where the last wait
# for a read fell; with reads completing quickly, all of them may have
# been reaped.)
sub open_cursor_with_reads_in_flight
{
	my ($psql, $pid, $prefix, $name) = @_;
	is($psql->query_safe(
			"$prefix DECLARE c CURSOR FOR $deep_query; "
			  . 'FETCH 2 FROM c'),
		"400001\n400002", "$name: cursor fetched");
	my ($n, $ring, $moves) = (0, undef, 0);
	for my $page (1 .. 200)
	{
		$ring = uring_ring($pid);
		$n = defined $ring ? uring_unreaped($ring) : 0;
		last if $n > 0;
		$psql->query_safe('MOVE 61 IN c');    # a page of pgbench_accounts
		$moves++;
	}
	return cmp_ok($n, '>=', 1,
		"$name: $n reads in flight while the cursor is open (moved $moves pages)")
	  || diag(defined $ring
		? "ring: sq $ring->{sq_head}/$ring->{sq_tail} cq $ring->{cq_head}/$ring->{cq_tail}"
		: 'no ring');
}

# warm up: the ring and smgr's own descriptors are opened once
is($s->query_safe($full_query), $expected_full, 'full scan, first time');
$s->query_safe($subplan_query);
ok(defined uring_ring($spid), 'the backend has its ring');
my $fds_before = session_fds();
my $mem_before = session_memory();

# Every exit below stops deep in the table, with reads in flight: the
# EXPLAIN ANALYZE of the LIMIT shows reads issued beyond the last block
# used each round; the cursors are moved on until the ring has reads in
# flight.
like($s->query_safe("EXPLAIN (COSTS OFF) DECLARE c CURSOR FOR $deep_query"),
	qr/Custom Scan \(AsyncSeqScan\) on pgbench_accounts/,
	'the cursor scans with AsyncSeqScan');
like($s->query_safe("EXPLAIN (COSTS OFF) $limit_query"),
	qr/Custom Scan \(AsyncSeqScan\) on pgbench_accounts/,
	'the LIMIT scans with AsyncSeqScan');
my $rounds = 10;
for my $round (1 .. $rounds)
{
	is($s->query_safe($full_query), $expected_full, "round $round: end of scan");
	ring_is_idle("round $round: end of scan");

	my $json = $s->query_safe(
		"EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF, FORMAT JSON) $limit_query");
	my ($direct) = $json =~ /"Pages Direct": (\d+)/;
	my ($bytes) = $json =~ /"Read Bytes": (\d+)/;
	my @rejected = $json =~ /"Direct Rejected [^"]+": (\d+)/g;
	my ($maxinflight) = $json =~ /"Max In-Flight": (\d+)/;
	my $ahead = ($bytes // 0) / 8192 - ($direct // 0);
	$ahead -= $_ for @rejected;
	cmp_ok($direct // 0, '>', 5000,
		"round $round: LIMIT stops deep in the table ($direct blocks read directly)");
	cmp_ok($ahead, '>', 0,
		"round $round: LIMIT stops with $ahead blocks of reads issued beyond the last block used");
	cmp_ok($maxinflight // 0, '>', 1,
		"round $round: several reads in flight (max $maxinflight)");
	ring_is_idle("round $round: EXPLAIN ANALYZE of a LIMIT");
	is($s->query_safe("SELECT count(*), min(aid) > 400000 FROM ($limit_query) x"),
		'7|t', "round $round: LIMIT with reads in flight");
	ring_is_idle("round $round: LIMIT");

	is($s->query_safe($subplan_query), $expected_subplan,
		"round $round: rescans of a subplan");
	ring_is_idle("round $round: rescans");
	expect_error(
		'SELECT count(*) FROM pgbench_accounts WHERE 1 / (aid - 400000) > 0',
		qr/division by zero/, "round $round: ERROR in a qual mid-scan");
	ring_is_idle("round $round: ERROR");
	expect_error(
		"SET statement_timeout = '" . (2 + 2 * $round) . "ms'; $full_query",
		qr/statement timeout/, "round $round: statement_timeout mid-scan");
	$s->query_safe('RESET statement_timeout');
	ring_is_idle("round $round: statement_timeout");

	open_cursor_with_reads_in_flight($s, $spid, 'BEGIN;', "round $round: before ROLLBACK");
	$s->query_safe('ROLLBACK');
	ring_is_idle("round $round: cursor open at ROLLBACK");

	open_cursor_with_reads_in_flight($s, $spid, 'BEGIN;', "round $round: before COMMIT");
	$s->query_safe('COMMIT');
	ring_is_idle("round $round: cursor open at COMMIT");

	open_cursor_with_reads_in_flight($s, $spid, 'BEGIN; SAVEPOINT a;',
		"round $round: in a subtransaction");
	expect_error('ROLLBACK TO a; FETCH 1 FROM c',
		qr/cursor "c" does not exist/,
		"round $round: cursor of an aborted subtransaction is gone");
	ring_is_idle("round $round: ROLLBACK TO SAVEPOINT");
	$s->query_safe('ROLLBACK');

	open_cursor_with_reads_in_flight($s, $spid, 'BEGIN;', "round $round: before an ERROR");
	expect_error('SELECT 1/0', qr/division by zero/,
		"round $round: ERROR with a cursor open");
	$s->query_safe('ROLLBACK');
	ring_is_idle("round $round: ERROR with a cursor open");
}

is(session_fds(), $fds_before,
	'open file descriptors back at their baseline');
is( $s->query_safe(
		q{SELECT count(*) FROM pg_backend_memory_contexts
		  WHERE name = 'AsyncSeqScan stream'}),
	'0',
	'no stream memory left behind');
my $mem_after = session_memory();
cmp_ok($mem_after - $mem_before, '<', 1024 * 1024,
	"backend memory back near its baseline ($mem_before -> $mem_after bytes)");
is($s->query_safe($full_query), $expected_full, 'session still scans correctly');

# Start $query in background session $psql; returns a function telling
# whether the statement has ended (psql printed "finished").
sub start_statement
{
	my ($psql, $query) = @_;
	$psql->{stderr} = '';
	$psql->query_until(qr/started/,
		"\\echo started\n$query;\n\\echo finished\n");
	return sub {
		$psql->{run}->pump_nb();
		return $psql->{stdout} =~ /finished/;
	};
}

# Query cancel while the backend waits for a read: the scan (read from
# the device: O_DIRECT, the table out of the page cache) is watched until
# the backend is blocked in io_uring_enter() waiting for completions with
# more than one read in flight, and at that moment gets SIGINT (what
# pg_cancel_backend() sends).  Each such cancel must land; a scan that
# ends before it is caught waiting does not count (it must be right).
# (io_depth 8 and reads of one block for these scans: a narrow window of
# small reads keeps the scan waiting on the device rather than busy with
# the rows, also on an assertion-enabled build whose executor is slower.)
evict_from_page_cache($node, 'pgbench_accounts');
$s->query_safe('SET pg_asyncscan.io_depth = 8');
$s->query_safe('SET pg_asyncscan.io_combine_limit = 1');
my ($fired, $landed, $attempts) = (0, 0, 0);
while ($fired < 8 && $attempts < 100)
{
	$attempts++;
	my $done = start_statement($s, $full_query);
	my $inflight = wait_uring_reads($spid, 2, 20, $done);
	if ($inflight)
	{
		kill('INT', $spid);
		$fired++;
	}
	my $out = $s->query('SELECT 1');    # the answer of the scan, then 1
	my $cancelled = $s->{stderr} =~ /canceling statement due to user request/;
	$s->{stderr} = '';
	if ($inflight)
	{
		$landed++ if $cancelled;
		note "attempt $attempts: cancelled with $inflight reads in flight: "
		  . ($cancelled ? 'landed' : "did not land ($out)");
	}
	else
	{
		is($out, "$expected_full\nfinished\n1",
			"attempt $attempts: the scan was not caught waiting, and is right");
	}
	ring_is_idle("cancel attempt $attempts");
}
cmp_ok($fired, '>=', 8,
	"caught the scan waiting on reads with several in flight $fired times ($attempts scans)");
cmp_ok($landed, '>=', $fired - 1,
	"the cancels landed ($landed of $fired)");
$s->query_safe('SET pg_asyncscan.io_depth = 64');
$s->query_safe('RESET pg_asyncscan.io_combine_limit');
is(session_fds(), $fds_before, 'descriptors at baseline after cancels');
is($s->query_safe($full_query), $expected_full, 'correct results after cancels');
$s->quit;

# FATAL mid-scan (SIGTERM, what pg_terminate_backend() sends, while the
# backend waits on reads in flight) and a client vanishing with an open
# cursor whose reads are in flight: the backend exits, the server stays up
# and clean, round by round.
sub backend_gone
{
	my ($pid) = @_;
	my $deadline = time() + 30;
	while (-e "/proc/$pid")
	{
		return 0 if time() > $deadline;
		usleep(10_000);
	}
	return 1;
}
# TRAP (a failed assertion) can only appear on an assertion-enabled build:
# PostgreSQL 18 as test/build_pg.sh builds it; Debian's 15 has none.
my $crash = qr/TRAP|PANIC|terminated by signal|was terminated by/;
for my $i (1 .. 3)
{
	my $log_offset = -s $node->logfile;
	my $v = $node->background_psql('postgres', on_error_stop => 0);
	$v->query_safe($settings);
	my $vpid = $v->query_safe('SELECT pg_backend_pid()');
	evict_from_page_cache($node, 'pgbench_accounts');
	# (io_depth 8, as for the cancels above: the backend waits more often)
	$v->query_safe('SET pg_asyncscan.io_depth = 8');
	my ($inflight, $tries) = (0, 0);
	while (!$inflight && $tries < 40)
	{
		$tries++;
		my $done = start_statement($v, $full_query);
		$inflight = wait_uring_reads($vpid, 2, 20, $done);
		last if $inflight;
		$v->query('SELECT 1');    # ended before it was caught: again
	}
	cmp_ok($inflight, '>=', 2,
		"round $i: the scan waits with $inflight reads in flight (scan $tries)");
	kill('TERM', $vpid);
	ok(backend_gone($vpid), "round $i: the terminated backend exited");
	# what psql printed when it lost its server
	my $deadline = time() + 10;
	until ($v->{stderr} =~ /terminating connection/ || time() > $deadline)
	{
		$v->{run}->pump_nb();
		usleep(10_000);
	}
	# quitting psql (which collects the rest of what it printed) may meet
	# a closed pipe
	eval { $v->quit; };
	like($v->{stderr}, qr/FATAL:  terminating connection due to administrator command/,
		"round $i: the scan ended with FATAL");

	my $w = $node->background_psql('postgres', on_error_stop => 0);
	$w->query_safe($settings);
	my $wpid = $w->query_safe('SELECT pg_backend_pid()');
	open_cursor_with_reads_in_flight($w, $wpid, 'BEGIN;',
		"round $i: before the client disconnects");
	$w->quit;
	ok(backend_gone($wpid), "round $i: the disconnected backend exited");

	is($node->safe_psql('postgres', 'SELECT 1'), '1',
		"round $i: the server accepts connections");
	ok(!$node->log_contains($crash, $log_offset),
		"round $i: no crash, assertion failure or PANIC in the server log");
}
is($node->safe_psql('postgres', "$settings $full_query"),
	$expected_full, 'server serves scans after backends exited mid-scan');

# Two AsyncSeqScan nodes of one query share the backend's ring.
is( $node->safe_psql(
		'postgres', "$settings SET enable_hashjoin = off; SET enable_mergejoin = off;
		SELECT count(*) FROM (SELECT aid FROM pgbench_accounts WHERE aid % 1000 = 0) a
		JOIN (SELECT aid FROM pgbench_accounts WHERE aid % 1000 = 0) b USING (aid)"),
	'800',
	'two scans in one query share the ring');

my $log = slurp_file($node->logfile);
unlike($log, $crash, 'no crash, assertion failure or PANIC in the server log');
$node->stop;

# --- io_uring refused by a seccomp filter --------------------------------
my $tools = PostgreSQL::Test::Utils::tempdir;
my $deny = "$tools/deny_io_uring";
system_or_bail('cc', '-o', $deny, 'test/tools/deny_io_uring.c');

my $denied = PostgreSQL::Test::Cluster->new('denied');
$denied->init;
$denied->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_asyncscan'
max_parallel_workers_per_gather = 0
pg_asyncscan.io_method = 'io_uring'
});
system_or_bail($deny, 'pg_ctl', '-w', '-D', $denied->data_dir, '-l',
	$denied->logfile, 'start');
$denied->_update_pid(1);

$denied->safe_psql('postgres',
	'CREATE EXTENSION pg_asyncscan; CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 100000) g; VACUUM t');

my ($ret, $out, $err) = $denied->psql('postgres',
	"SET pg_asyncscan.io_method = 'io_uring'");
isnt($ret, 0, 'explicit SET of a refused io_uring fails');
like($err, qr/io_uring is not available in this backend: Operation not permitted/,
	'the error names the cause');
like($err, qr/HINT:.*seccomp/, 'the hint names the likely culprits');

($ret, $out, $err) = $denied->psql('postgres',
	"SET pg_asyncscan.min_relation_size = 0;
	 SELECT count(*), sum(id) FROM t;
	 SELECT count(*), sum(id) FROM t;");
is($ret, 0, 'a configured io_uring does not stop scans');
is($out, "100000|5000050000\n100000|5000050000", 'fallback scans are correct');
my @warnings = $err =~ /(WARNING:  io_uring is not available)/g;
is(scalar(@warnings), 1, 'exactly one fallback WARNING per backend');

$out = $denied->safe_psql('postgres',
	"SET pg_asyncscan.min_relation_size = 0;
	 EXPLAIN (COSTS OFF) SELECT count(*) FROM t");
like($out, qr/IO Method: sync \(requested io_uring, io_uring unavailable: Operation not permitted\)/,
	'EXPLAIN names the method used and why');
$denied->stop;

done_testing();
