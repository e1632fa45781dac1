
# Copyright (c) pg_asyncscan authors
#
# 070_concurrency.pl
#	  Writers, VACUUM, CLUSTER and VACUUM FULL racing an AsyncSeqScan that
#	  is half-way through its table, for every IO method (sync, io_uring,
#	  worker) with direct_io off and on.
#
# test/isolation/specs/concurrent_writers.spec covers the races with the default IO
# method; here the same kind of race runs for each of the 6 combinations,
# once on an all-visible table (the scan reads most blocks directly) and
# once before any VACUUM (no visibility map: the scan reads through shared
# buffers, and the VACUUMs run while it is paused create the map; the scan
# may or may not notice it, that is only a question of speed).
# Each round:
#
#	1. t is rebuilt: 20000 rows, 30 per block (667 blocks), rewritten by
#	   VACUUM FULL outside shared buffers with every tuple frozen (so VACUUM
#	   FREEZE never has to wait for the pin of a paused buffered scan), then
#	   VACUUM sets every block all-visible (or not, in the empty-VM rounds).
#	2. Two REPEATABLE READ sessions start an AsyncSeqScan of t that pauses
#	   at id 10000 (block 333) on an advisory lock held by the test: one
#	   returns count, sum and an md5 over every row (ctid included), the
#	   other runs the same query under EXPLAIN ANALYZE (FORMAT JSON).
#	3. While both are paused, committed writers change blocks behind the
#	   scan, in the block it is paused in, in its look-ahead window and
#	   beyond it: UPDATE (HOT), UPDATE (non-HOT: indexed column changed, and
#	   a row grown out of its page), DELETE, INSERT, VACUUM, VACUUM FREEZE.
#	   pg_stat_xact_user_tables proves the UPDATEs were HOT / non-HOT.
#	4. CLUSTER and VACUUM FULL are started from two more sessions: pg_locks
#	   must show both waiting for a lock on t (CLUSTER for its
#	   AccessExclusiveLock, VACUUM FULL queued behind it) while the scans
#	   are paused and while the scans' transactions are open.
#	5. The scans are released.  The rows scan must return exactly the
#	   state before the writers (computed beforehand with a Seq Scan) and
#	   exactly what a Seq Scan returns in the same REPEATABLE READ
#	   transaction.  The EXPLAIN scan must show Custom Scan (AsyncSeqScan)
#	   with the IO method and direct_io asked for, the snapshot's row
#	   count, direct + hit + read = the table's blocks, and (all-visible
#	   rounds) pages read directly, and direct copies dropped because the
#	   writers changed those blocks after they were read into the window.
#	6. After COMMIT, CLUSTER and VACUUM FULL complete (t has a new
#	   relfilenode), and AsyncSeqScans of the rewritten table -- VM empty,
#	   then after VACUUM all-visible and read directly -- return what Seq
#	   Scans return, with the writers' changes.
#
# Every session has a statement_timeout, so that a wait that should not
# happen (VACUUM FREEZE on a pinned buffer, say) fails instead of hanging.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use AsyncScanTest qw(init_preloaded io_analyze);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('concurrency');
init_preloaded($node, q{
# t (5.2 MB) is more than a quarter of it: Seq Scans and VACUUM read it
# through a 256 kB ring and leave the rest out of shared buffers
shared_buffers = 16MB
});
$node->start;

# EXPLAIN options that show the node's IO counters (18: extension option)
my $analyze = io_analyze($node);

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_asyncscan;
CREATE TABLE t (id int NOT NULL, v int NOT NULL, pad text NOT NULL)
	WITH (autovacuum_enabled = off, vacuum_truncate = off, fillfactor = 90);
CREATE INDEX t_id ON t (id);

-- blocks until the test releases advisory lock 7531, at row "at"
CREATE FUNCTION pause_at(id int, at int) RETURNS bool
LANGUAGE plpgsql AS $$
BEGIN
	IF id = at THEN
		PERFORM pg_advisory_lock_shared(7531);
		PERFORM pg_advisory_unlock_shared(7531);
	END IF;
	RETURN true;
END $$;
});

my @methods = qw(sync io_uring worker);
my $uring_ok = $node->psql('postgres',
	"SET pg_asyncscan.io_method = 'io_uring'") == 0;
ok($uring_ok, 'io_uring is available to backends here');

# the rows of t under the snapshot: count, sum(v), md5 over every row
my $digest_query = q{SELECT count(*) || '|' || coalesce(sum(v), 0) || '|' ||
	md5(coalesce(string_agg(format('%s:%s:%s:%s', ctid, id, v, md5(pad)), ','
		ORDER BY ctid), ''))
	FROM t WHERE pause_at(id, 10000)};

# scanner settings: a 64-block look-ahead window, so that the writers
# change blocks inside it and beyond it
sub scan_settings
{
	my ($method, $direct_io) = @_;
	return "SET pg_asyncscan.io_method = '$method';
		SET pg_asyncscan.direct_io = $direct_io;
		SET pg_asyncscan.io_depth = 8;
		SET pg_asyncscan.io_combine_limit = 8;";
}

sub session
{
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	$s->set_query_timer_restart();
	$s->query_safe("SET statement_timeout = '60s'");
	return $s;
}

# the plan node that scans t, from EXPLAIN (FORMAT JSON) output
sub scan_node
{
	my ($json) = @_;
	my $plan = decode_json($json)->[0]{Plan};
	my @todo = ($plan);
	while (my $n = shift @todo)
	{
		return $n if ($n->{'Relation Name'} // '') eq 't';
		push @todo, @{ $n->{Plans} // [] };
	}
	return undef;
}

sub node_kind
{
	my ($n) = @_;
	return 'none' unless $n;
	return $n->{'Custom Plan Provider'} // $n->{'Node Type'};
}

# poll $sql on the control session until it returns $want
my $ctl = session();
sub wait_until
{
	my ($sql, $want, $what) = @_;
	my $deadline = time() + 30;
	my $got;
	while (1)
	{
		$got = $ctl->query_safe($sql);
		return 1 if $got eq $want;
		last if time() > $deadline;
		usleep(20_000);
	}
	diag "$what: still '$got' instead of '$want'";
	return 0;
}

# start $sql on session $s without waiting for it; collect() returns
# its output once it ends
sub start_async
{
	my ($s, $tag, $sql) = @_;
	$s->query_until(qr/$tag-started\n/,
		"\\echo $tag-started\n$sql;\n\\echo $tag-done\n");
}

sub collect
{
	my ($s, $tag) = @_;
	my $out = $s->query_until(qr/$tag-done\n/, '');
	$out =~ s/$tag-done\n//;
	chomp $out;
	return $out;
}

my $scan = session();
my $expl = session();
my $writer = session();
my $cl = session();
my $vf = session();

# run UPDATEs in one transaction of the writer session: "updated|HOT"
# rows, from the backend's own pending statistics (not flushed inside a
# transaction block)
sub update_kind
{
	my ($sql) = @_;
	my $counts = q{SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables
		WHERE relname = 't'};
	my ($out) = $writer->query_safe("BEGIN; $counts; $sql; $counts; COMMIT;");
	my ($u0, $h0, $u1, $h1) = split /[|\n]/, $out;
	return ($u1 - $u0) . '|' . ($h1 - $h0);
}

# the session's stderr since the last call (errors, warnings)
sub take_stderr
{
	my ($s) = @_;
	my $err = $s->{stderr};
	$s->{stderr} = '';
	return $err;
}

my @pids = map { $_->query_safe('SELECT pg_backend_pid()') }
  ($scan, $expl, $cl, $vf);
my ($scan_pid, $expl_pid, $cl_pid, $vf_pid) = @pids;

my ($race_cases, $race_rows, $wait_cases, $rewrite_rows) = (0, 0, 0, 0);

for my $vm ('all-visible', 'empty VM')
{
	for my $method (@methods)
	{
		for my $direct_io ('off', 'on')
		{
			my $case = "$method, direct_io=$direct_io, $vm";
		  SKIP:
			{
				skip "$case: io_uring unavailable", 1
				  if $method eq 'io_uring' && !$uring_ok;
				run_round($method, $direct_io, $vm eq 'all-visible', $case);
			}
		}
	}
}

# Whether every assertion since test number $first passed: the
# reliability figures count only cases whose assertions all held.
sub all_passed_since
{
	my ($first) = @_;
	my @summary = Test::More->builder->summary;
	return !grep { !$_ } @summary[ $first .. $#summary ];
}

sub run_round
{
	my ($method, $direct_io, $all_visible, $case) = @_;
	my $settings = scan_settings($method, $direct_io);
	my $first_test = Test::More->builder->current_test;

	# 1. a fresh t, frozen, outside shared buffers
	$ctl->query_safe(
		q{TRUNCATE t;
		INSERT INTO t SELECT g, g, repeat('x', 200) FROM generate_series(1, 20000) g;
		VACUUM FULL t;});
	$ctl->query_safe('VACUUM t') if $all_visible;
	my ($blocks, $allvis) = split /\|/, $ctl->query_safe(
		q{SELECT relpages, relallvisible FROM pg_class WHERE relname = 't'});
	is($blocks, 667, "$case: t has 667 blocks");
	is($allvis, $all_visible ? $blocks : 0, "$case: all-visible blocks");
	my $filenode = $ctl->query_safe(q{SELECT pg_relation_filenode('t')});
	my $before = $ctl->query_safe(
		"SET pg_asyncscan.enabled = off; $digest_query; RESET pg_asyncscan.enabled");
	like($before, qr/^20000\|200010000\|/, "$case: the table before the writers");

	# 2. two paused scans, the plan checked first
	for my $s ($scan, $expl)
	{
		$s->query_safe($settings);
		is( node_kind(scan_node($s->query_safe(
			"EXPLAIN (COSTS OFF, FORMAT JSON) $digest_query"))),
			'AsyncSeqScan', "$case: the scan of t is an AsyncSeqScan");
		$s->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
	}
	$ctl->query_safe('SELECT pg_advisory_lock(7531)');
	start_async($scan, 'scan', $digest_query);
	start_async($expl, 'expl',
		"EXPLAIN ($analyze, COSTS OFF, TIMING OFF, FORMAT JSON) $digest_query");
	ok( wait_until(
			qq{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
			   AND NOT granted AND pid IN ($scan_pid, $expl_pid)},
			'2', "$case: scans pausing"),
		"$case: both scans paused at id 10000");

	# 3. the writers, each in its own committed transaction.  Block 333
	# holds ids 9991..10020 (the scans wait at id 10000, tuple 10); the
	# window reaches at most 64 blocks ahead; id k is tuple (k - 1) % 30 + 1
	# of block (k - 1) / 30.
	is( update_kind(
			q{UPDATE t SET v = -v WHERE ctid = ANY (ARRAY['(33,10)', '(333,25)',
				'(353,30)', '(533,30)']::tid[])}),
		'4|4', "$case: UPDATE behind, in, inside and beyond the window: HOT");
	# a 1500 byte pad is not compressed (below the TOAST threshold) and does
	# not fit in the page's free space
	is( update_kind(
			q{UPDATE t SET id = id + 1000000 WHERE ctid = ANY (ARRAY['(33,11)',
				'(333,26)', '(353,29)', '(533,29)']::tid[]);
			UPDATE t SET pad = repeat('y', 1500) WHERE ctid = '(433,30)'}),
		'5|0', "$case: UPDATE of the indexed column and out of the page: non-HOT");
	is( $writer->query_safe(
			q{WITH d AS (DELETE FROM t WHERE ctid = ANY (ARRAY['(166,20)',
				'(333,27)', '(353,28)']::tid[])
				OR (ctid >= '(566,0)' AND ctid < '(567,0)') RETURNING 1)
			SELECT count(*) FROM d}),
		'33', "$case: DELETE of 3 rows and all of block 566");
	is( $writer->query_safe(
			q{WITH i AS (INSERT INTO t SELECT 100000 + g, -(100000 + g), 'new'
				FROM generate_series(1, 300) g RETURNING 1)
			SELECT count(*) FROM i}),
		'300', "$case: INSERT of 300 rows");
	$writer->query_safe('VACUUM t');
	$writer->query_safe('VACUUM (FREEZE) t');
	is(take_stderr($writer), '', "$case: the writers ran without error");

	# 4. CLUSTER and VACUUM FULL must wait for the scans' lock on t
	start_async($cl, 'cl', 'CLUSTER t USING t_id');
	start_async($vf, 'vf', 'VACUUM FULL t');
	# (VACUUM FULL asks for AccessShareLock first, queued behind CLUSTER)
	my $waiting = qq{SELECT count(*) FROM pg_locks
		WHERE relation = 't'::regclass AND NOT granted
		AND pid IN ($cl_pid, $vf_pid)};
	ok(wait_until($waiting, '2', "$case: rewrites waiting"),
		"$case: CLUSTER and VACUUM FULL wait for their lock while the scans run");
	is( $ctl->query_safe(
			qq{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
			   AND NOT granted AND pid IN ($scan_pid, $expl_pid)}),
		'2', "$case: the scans are still paused");

	# 5. release the scans
	$ctl->query_safe('SELECT pg_advisory_unlock(7531)');
	my $got = collect($scan, 'scan');
	is(take_stderr($scan), '', "$case: the paused scan ended without error");
	is($got, $before, "$case: the paused scan returned its snapshot's rows");
	my $json = collect($expl, 'expl');
	is(take_stderr($expl), '', "$case: the paused EXPLAIN ended without error");

	# the scans' transactions still hold their lock
	is($ctl->query_safe($waiting), '2',
		"$case: CLUSTER and VACUUM FULL wait while the scans' transactions are open");
	$scan->query_safe('SET LOCAL pg_asyncscan.enabled = off');
	is( node_kind(scan_node($scan->query_safe(
			"EXPLAIN (COSTS OFF, FORMAT JSON) $digest_query"))),
		'Seq Scan', "$case: the reference is a Seq Scan");
	my $seq = $scan->query_safe($digest_query);
	is($got, $seq, "$case: AsyncSeqScan = Seq Scan of the same snapshot");

	my $n = scan_node($json);
	is(node_kind($n), 'AsyncSeqScan', "$case: EXPLAIN ANALYZE: AsyncSeqScan");
	is($n->{'IO Method'}, $method, "$case: EXPLAIN: IO method $method");
	is($n->{'Direct IO'} ? 'on' : 'off', $direct_io,
		"$case: EXPLAIN: direct_io $direct_io") if $n->{'Pages Direct'} > 0;
	is($n->{'Actual Rows'}, 20000, "$case: EXPLAIN: the snapshot's 20000 rows");
	is($n->{'Pages Direct'} + $n->{'Pages Hit'} + $n->{'Pages Read'},
		$blocks, "$case: EXPLAIN: direct + hit + read = the table's blocks");
	if ($all_visible)
	{
		cmp_ok($n->{'Pages Direct'}, '>', 0,
			"$case: EXPLAIN: pages read directly");
		# blocks of the window read before the pause that the writers (block
		# 353) or VACUUM then brought into shared buffers: their private
		# copies must have been dropped
		cmp_ok($n->{'Direct Rejected In Buffers'}, '>', 0,
			"$case: EXPLAIN: direct copies of blocks changed meanwhile dropped");
	}
	note sprintf "%s: direct=%d hit=%d read=%d rejected in buffers=%d"
	  . " not all-visible=%d max window=%d",
	  $case, map { $n->{$_} // -1 } 'Pages Direct', 'Pages Hit', 'Pages Read',
	  'Direct Rejected In Buffers', 'Direct Rejected Not All-Visible',
	  'Max Window';

	if (all_passed_since($first_test))
	{
		$race_cases++;
		$race_rows += ($got =~ /^(\d+)/)[0];
	}

	$scan->query_safe('COMMIT');
	$expl->query_safe('COMMIT');

	# 6. the rewrites complete, scans of the new t are right
	collect($cl, 'cl');
	collect($vf, 'vf');
	is(take_stderr($cl) . take_stderr($vf), '',
		"$case: CLUSTER and VACUUM FULL completed after the scans");
	isnt($ctl->query_safe(q{SELECT pg_relation_filenode('t')}),
		$filenode, "$case: t was rewritten");
	$wait_cases += 2 if all_passed_since($first_test);

	for my $vac (0, 1)
	{
		my $when = $vac ? 'after VACUUM' : 'VM empty';
		$scan->query_safe('VACUUM t') if $vac;
		$scan->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
		my $plan = scan_node($scan->query_safe(
			"EXPLAIN ($analyze, COSTS OFF, TIMING OFF, FORMAT JSON) $digest_query"));
		is(node_kind($plan), 'AsyncSeqScan',
			"$case: rewritten t, $when: AsyncSeqScan");
		cmp_ok($plan->{'Pages Direct'}, '>', 0,
			"$case: rewritten t, $when: pages read directly") if $vac;
		my $async = $scan->query_safe($digest_query);
		my $seqscan = $scan->query_safe(
			"SET LOCAL pg_asyncscan.enabled = off; $digest_query");
		$scan->query_safe('COMMIT');
		like($async, qr/^20267\|/,
			"$case: rewritten t, $when: 20000 - 33 deleted + 300 inserted rows");
		is($async, $seqscan,
			"$case: rewritten t, $when: AsyncSeqScan = Seq Scan");
		$rewrite_rows += ($async =~ /^(\d+)/)[0]
		  if all_passed_since($first_test);
	}
}

$_->quit for ($scan, $expl, $writer, $cl, $vf, $ctl);

# (TRAP, a failed assertion, can only appear on an assertion-enabled
# server: PostgreSQL 18 as test/build_pg.sh builds it; Debian's 15 has none)
my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP|PANIC|terminated by signal/,
	'no crash, assertion failure or PANIC in the server log');

diag("reliability: writers racing a running scan, every method x direct_io: "
	  . "cases=$race_cases rows=$race_rows");
diag("reliability: CLUSTER/VACUUM FULL attempts wait for the scan: "
	  . "cases=$wait_cases rows=$rewrite_rows");

$node->stop;
done_testing();
