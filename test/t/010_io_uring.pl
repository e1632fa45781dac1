
# Copyright (c) pg_asyncscan authors
#
# 010_io_uring.pl
#	The io_uring IO method: reads really in flight (O_DIRECT, deep queue)
#	on every way a scan can end -- end of scan, LIMIT, rescan, ERROR in a
#	qual, statement_timeout, query cancel, transaction and subtransaction
#	abort, open cursors at commit, FATAL and client disconnect -- with the
#	results checked against a Seq Scan, the backend's open file count and
#	memory contexts back at their baseline, and a server log free of
#	crashes.  Then a server whose io_uring is refused by a seccomp filter:
#	an explicit SET fails with the cause, a configured io_uring falls back
#	to sync with one WARNING.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::Bin/../perl";
use AsyncScanTest qw(io_analyze evict_from_page_cache);
use Time::HiRes qw(usleep);

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

# The backend's open descriptors, as a sorted list of what they point at.
# Catalog files (relfilenode below 16384) are left out: smgr keeps those
# open as the session touches new catalogs, which is not ours to judge.
sub session_fds
{
	my $bp = $s->query_safe('SELECT pg_backend_pid()');
	my @links;
	opendir(my $dh, "/proc/$bp/fd") or die "cannot list /proc/$bp/fd: $!";
	for my $fd (grep { /^\d+$/ } readdir($dh))
	{
		my $target = readlink("/proc/$bp/fd/$fd");
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

# warm up: the ring and smgr's own descriptors are opened once
is($s->query_safe($full_query), $expected_full, 'full scan, first time');
$s->query_safe($subplan_query);
my $fds_before = session_fds();
my $mem_before = session_memory();

my $rounds = 10;
for my $round (1 .. $rounds)
{
	is($s->query_safe($full_query), $expected_full, "round $round: end of scan");
	is($s->query_safe('SELECT count(*) FROM (SELECT aid FROM pgbench_accounts LIMIT 7) x'),
		'7', "round $round: LIMIT with reads in flight");
	is($s->query_safe($subplan_query), $expected_subplan,
		"round $round: rescans of a subplan");
	expect_error(
		'SELECT count(*) FROM pgbench_accounts WHERE 1 / (aid - 400000) > 0',
		qr/division by zero/, "round $round: ERROR in a qual mid-scan");
	expect_error(
		"SET statement_timeout = '" . (2 + 2 * $round) . "ms'; $full_query",
		qr/statement timeout/, "round $round: statement_timeout mid-scan");
	$s->query_safe('RESET statement_timeout');
	is( $s->query_safe(
			'BEGIN; DECLARE c CURSOR FOR SELECT aid FROM pgbench_accounts; '
			  . 'FETCH 3 FROM c; ROLLBACK'),
		"1\n2\n3", "round $round: cursor open at ROLLBACK");
	is( $s->query_safe(
			'BEGIN; DECLARE c CURSOR FOR SELECT aid FROM pgbench_accounts; '
			  . 'FETCH 2 FROM c; COMMIT'),
		"1\n2", "round $round: cursor open at COMMIT");
	expect_error(
		'BEGIN; SAVEPOINT a; DECLARE c CURSOR FOR SELECT aid FROM pgbench_accounts; '
		  . 'FETCH 2 FROM c; ROLLBACK TO a; FETCH 1 FROM c',
		qr/cursor "c" does not exist/,
		"round $round: cursor of an aborted subtransaction is gone");
	$s->query_safe('ROLLBACK');
	expect_error(
		'BEGIN; DECLARE c CURSOR FOR SELECT aid FROM pgbench_accounts; '
		  . 'FETCH 2 FROM c; SELECT 1/0',
		qr/division by zero/, "round $round: ERROR with a cursor open");
	$s->query_safe('ROLLBACK');
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

# Query cancel from another session while reads are in flight; a slow qual
# keeps the scan running long enough to be hit.
my $slow_query = q{SELECT count(*) FROM pgbench_accounts
	WHERE CASE WHEN aid % 50000 = 0 THEN pg_sleep(0.05) IS NOT NULL ELSE true END};
my $pid = $s->query_safe('SELECT pg_backend_pid()');
my $cancelled = 0;
for my $i (1 .. 8)
{
	$s->{stderr} = '';
	$s->query_until(qr/started/, "\\echo started\n$slow_query;\n");
	usleep(20_000 + 30_000 * $i);
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	# wait for the answer of the cancelled query
	my $r = $s->query('SELECT 1');
	$cancelled++ if $s->{stderr} =~ /canceling statement due to user request/;
	$s->{stderr} = '';
}
cmp_ok($cancelled, '>=', 1, "query cancel hit running scans ($cancelled of 8)");
is(session_fds(), $fds_before, 'descriptors at baseline after cancels');
is($s->query_safe($full_query), $expected_full, 'correct results after cancels');
$s->quit;

# FATAL mid-scan (pg_terminate_backend) and a client vanishing with an
# open cursor: the backend exits with reads in flight.
for my $i (1 .. 3)
{
	my $v = $node->background_psql('postgres', on_error_stop => 0);
	$v->query_safe($settings);
	my $vpid = $v->query_safe('SELECT pg_backend_pid()');
	$v->query_until(qr/started/, "\\echo started\n$slow_query;\n");
	usleep(100_000);
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($vpid)");
	# psql has lost its server; quitting it may meet a closed pipe
	eval { $v->quit; };

	my $w = $node->background_psql('postgres', on_error_stop => 0);
	$w->query_safe($settings);
	$w->query_safe('BEGIN; DECLARE c CURSOR FOR SELECT aid FROM pgbench_accounts; FETCH 5 FROM c');
	$w->quit;
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
unlike($log, qr/TRAP|PANIC|terminated by signal|was terminated by/,
	'no crash, assertion failure or PANIC in the server log');
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
