
# Copyright (c) pg_asyncscan authors
#
# 080_storage_hooks.pl
#	  The storage manager hooks of a server built with patches/15 (README,
#	  "Patched storage hooks"): staged asynchronous reads behind
#	  PrefetchBuffer and the write generations that guard them.  Skipped,
#	  with the reason, on a server without the patch.
#
#	- Correctness of the buffered path: a never-vacuumed table (with
#	  direct_reads off every block takes the buffered path, prefetched into
#	  staging; with it on, the default, its blocks are read directly and
#	  their tuples judged one by one, checked against the write
#	  generations) on slow storage
#	  (test/tools/slowfs), with writers updating, inserting and deleting
#	  and checkpoints and a small shared_buffers forcing writes and
#	  evictions all the time: each AsyncSeqScan returns what a Seq Scan of
#	  the same snapshot (one REPEATABLE READ transaction) returns, for every
#	  IO method, with the hooks on and off.
#	- Staging memory on every way a scan can end (the exits of
#	  010_io_uring.pl: end of scan, LIMIT, rescans, ERROR, statement_timeout,
#	  cursors open at COMMIT and ROLLBACK, ERROR caught in a subtransaction,
#	  query cancel, pg_terminate_backend, client gone with an open cursor),
#	  with staged reads in flight on slow storage, for every IO method: the
#	  staging context is back to empty after every transaction, the
#	  backend's descriptors are back at their baseline, the IO workers'
#	  arena is clean, later scans are right, and the server log shows no
#	  crash.
#	- A block written after its staged read was issued is never handed to
#	  the buffer manager stale: prefetch a block (the staged read in flight
#	  on slow storage), let another session update it, checkpoint and evict
#	  it, then read it: the new row version is seen and the staged copy is
#	  counted as dropped, for every IO method; without the write the same
#	  steps use the staged copy.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use AsyncScanTest
  qw(init_preloaded io_analyze arena_is_clean storage_hooks_in_use);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SlowFS;
use Test::More;
use Time::HiRes qw(usleep);

my $why = SlowFS::missing_prerequisites();
plan skip_all => $why if defined $why;

my $node = PostgreSQL::Test::Cluster->new('hooks080');
init_preloaded(
	$node, q{
shared_buffers = 2MB
max_connections = 20
pg_asyncscan.io_workers = 2
log_min_messages = warning
# pages that are not all-visible are read directly too unless direct
# reads are off: this test is about the buffered path, which the hooks
# stage (the correctness part below also runs with direct reads on)
pg_asyncscan.direct_reads = off
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_asyncscan');
if (!storage_hooks_in_use($node))
{
	$node->stop;
	plan skip_all =>
	  'the server lacks the storage hook patch (patches/15; test/build_pg.sh 15 --patched builds one)';
}

my ($fs, $mount_why) = SlowFS->mount;
plan skip_all => "could not mount slowfs: $mount_why" unless $fs;
my $mnt = $fs->mountpoint;
$fs->before_unmount(
	sub { $node->stop('immediate') if defined $node->{_pid}; });
mkdir "$mnt/ts" or die "mkdir $mnt/ts: $!";

my @methods = ('sync', 'io_uring', 'worker');
my %skip;
foreach my $m (@methods)
{
	my ($rc, $out, $err) = $node->psql('postgres',
		"LOAD 'pg_asyncscan'; SET pg_asyncscan.io_method = '$m'");
	next if $rc == 0;
	$err =~ s/\s+/ /g;
	$skip{$m} = "io_method $m is not available here: $err";
}

$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION pg_buffercache;
CREATE EXTENSION pg_prewarm;
CREATE TABLESPACE slow LOCATION '$mnt/ts';
-- never vacuumed (autovacuum is off): every block takes the buffered path
CREATE TABLE w (id int PRIMARY KEY, v int NOT NULL, pad text NOT NULL)
  TABLESPACE slow;
INSERT INTO w SELECT g, 0, repeat(md5(g::text), 4) FROM generate_series(1, 40000) g;
CREATE TABLE x (id int NOT NULL, pad text NOT NULL) TABLESPACE slow;
INSERT INTO x SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 40000) g;
-- evicting shared buffers: enough small tables that a scan of each, too
-- small for a ring buffer, pushes everything else out of 2MB
DO \$\$BEGIN
  FOR i IN 1..12 LOOP
    EXECUTE format('CREATE TABLE churn%s AS SELECT g AS id, repeat(''c'', 200) AS pad FROM generate_series(1, 1000) g', i);
  END LOOP;
END\$\$;
-- (Seq Scans: no staged reads of their own to count)
CREATE FUNCTION churn() RETURNS bigint LANGUAGE plpgsql
SET pg_asyncscan.enabled = off AS \$\$
DECLARE n bigint := 0; c bigint;
BEGIN
  FOR i IN 1..12 LOOP
    EXECUTE format('SELECT count(*) FROM churn%s', i) INTO c;
    n := n + c;
  END LOOP;
  RETURN n;
END\$\$;
CHECKPOINT;
});

sub file_of
{
	my ($rel) = @_;
	return $node->data_dir . '/'
	  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$rel')");
}

sub cold
{
	my ($rel) = @_;
	SlowFS::drop_page_cache(file_of($rel));
	return;
}

sub stats
{
	my ($method) = @_;
	my ($staged, $used, $dropped) = split /\|/,
	  $node->safe_psql('postgres',
		"SELECT staged_blocks, staged_used, staged_dropped FROM pg_asyncscan_stats WHERE io_method = '$method'"
	  );
	return { staged => $staged, used => $used, dropped => $dropped };
}

# --- 1. the buffered path against Seq Scan, writers racing ----------------

my $agg =
  'SELECT count(*), sum(v::bigint), sum(id::bigint), sum(hashtext(pad)::bigint) FROM w';
my $writer_sql = "$PostgreSQL::Test::Utils::tmp_check/080_writer.sql";
PostgreSQL::Test::Utils::append_to_file(
	$writer_sql, q{
\set a random(1, 44000)
\set b random(1, 44000)
UPDATE w SET v = v + 1, pad = md5(pad) WHERE id = :a;
DELETE FROM w WHERE id = :b AND v % 7 = 3;
INSERT INTO w VALUES (:b, 1, repeat(md5(:b::text), 4)) ON CONFLICT (id) DO UPDATE SET v = w.v + 2;
});
$fs->ctl('latency 500');
my $writers = IPC::Run::start(
	[
		'pgbench', '-n', '-c', '2', '-T', '600', '-f', $writer_sql,
		'-h', $node->host, '-p', $node->port, 'postgres'
	],
	'>', '/dev/null', '2>', '/dev/null');
my $checkpointer = $node->background_psql('postgres', on_error_stop => 0);

my %seen;
my $mismatches = 0;
my $compared = 0;
foreach my $m (@methods)
{
	next if $skip{$m};
	foreach my $variant ('on', 'off', 'on+direct')
	{
		my $hooks = $variant eq 'off' ? 'off' : 'on';
		my $direct = $variant eq 'on+direct' ? 'on' : 'off';
		my $key = "$m/hooks $hooks" . ($direct eq 'on' ? ', direct reads on' : '');
		$seen{$key} = { staged => 0, used => 0 };
		for my $round (1 .. 4)
		{
			$checkpointer->query_safe('CHECKPOINT');
			cold('w');
			my $out = $node->safe_psql(
				'postgres', qq{
SET pg_asyncscan.io_method = '$m';
SET pg_asyncscan.storage_hooks = $hooks;
SET pg_asyncscan.direct_reads = $direct;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL pg_asyncscan.enabled = off;
$agg;
SET LOCAL pg_asyncscan.enabled = on;
$agg;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) SELECT count(*) FROM w;
COMMIT;
});
			my ($seq, $async, @plan) = split /\n/, $out;
			my $plan = join("\n", @plan);
			like($plan, qr/"Custom Plan Provider": "AsyncSeqScan"/,
				"$key round $round: AsyncSeqScan scans w")
			  if $round == 1;
			$compared++;
			if ($seq ne $async)
			{
				$mismatches++;
				diag("$key round $round: Seq Scan $seq, AsyncSeqScan $async");
			}
			$seen{$key}{staged} += $1 if $plan =~ /"Staged Blocks": (\d+)/;
			$seen{$key}{used} += $1 if $plan =~ /"Staged Blocks Used": (\d+)/;
		}
	}
}
$writers->kill_kill;
$checkpointer->quit;
is($mismatches, 0,
	"$compared AsyncSeqScans of w under writers returned what a Seq Scan of the same snapshot returned"
);
my ($all_staged, $all_used) = (0, 0);
foreach my $key (keys %seen)
{
	$all_staged += $seen{$key}{staged};
	$all_used += $seen{$key}{used};
}
diag("reliability: never-vacuumed table under writers, every method x (hooks on, off, on with direct reads), vs Seq Scan of the same snapshot: "
	  . "cases=$compared differences=$mismatches staged=$all_staged used=$all_used");
foreach my $key (sort keys %seen)
{
	if ($key =~ /direct reads on/)
	{
		# every block not in shared buffers is read directly then
		next;
	}
	elsif ($key =~ /hooks on/)
	{
		cmp_ok($seen{$key}{used}, '>', 0,
			"$key: buffered blocks came from staged reads ($seen{$key}{used} of $seen{$key}{staged} staged)"
		);
	}
	else
	{
		is($seen{$key}{staged}, 0, "$key: nothing staged with the hooks off");
	}
}

# --- 2. staging memory on every exit --------------------------------------

my $x_expected = $node->safe_psql('postgres',
	'SET pg_asyncscan.enabled = off; SELECT count(*), sum(id) FROM x');
my $subplan_query = q{
SELECT g, (SELECT count(*) FROM (SELECT 1 FROM x WHERE x.id % 8 = g - 1 LIMIT 500) s)
FROM generate_series(1, 8) g};
my $subplan_expected = $node->safe_psql('postgres',
	"SET pg_asyncscan.enabled = off; $subplan_query");
my $slow_query = q{SELECT count(*) FROM x
	WHERE CASE WHEN id % 10000 = 0 THEN pg_sleep(0.05) IS NOT NULL ELSE true END};

my $exit_cases = 0;
foreach my $m (@methods)
{
	if ($skip{$m})
	{
		note("skipped: $skip{$m}");
		next;
	}
	$exit_cases += 11;    # the ways a scan ends below
	$fs->ctl('latency 20000');
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	$s->query_safe(
		"SET pg_asyncscan.io_method = '$m'; SET pg_asyncscan.io_depth = 32");
	my $pid = $s->query_safe('SELECT pg_backend_pid()');

	# descriptors other than catalogs (which smgr keeps as it touches them)
	my $fds = sub {
		my @links;
		opendir(my $dh, "/proc/$pid/fd") or die "cannot list /proc/$pid/fd: $!";
		for my $fd (grep { /^\d+$/ } readdir($dh))
		{
			my $target = readlink("/proc/$pid/fd/$fd");
			next unless defined $target;
			next if $target =~ m{/(\d+)(_\w+)?(\.\d+)?$} && $1 < 16384;
			$target =~ s/\[\d+\]$//;
			push @links, $target;
		}
		closedir($dh);
		return join(' ', sort @links);
	};
	my $staging_bytes = sub {
		return $s->query_safe(
			q{SELECT coalesce(sum(total_bytes), 0) FROM pg_backend_memory_contexts
			  WHERE name = 'pg_asyncscan staging'});
	};
	my $expect_error = sub {
		my ($sql, $pattern, $name) = @_;
		$s->{stderr} = '';
		$s->query($sql);
		like($s->{stderr}, $pattern, $name);
		$s->{stderr} = '';
	};
	my $clean = sub {
		my ($name) = @_;
		cmp_ok($staging_bytes->(), '<=', 8192,
			"$m, $name: staging memory freed at transaction end");
		arena_is_clean($node, "$m, $name") if $m eq 'worker';
	};

	# warm-up: staging and smgr's own descriptors used once
	my $stats_before = stats($m);
	cold('x');
	is($s->query_safe('SELECT count(*), sum(id) FROM x'),
		$x_expected, "$m: full scan through staged reads");
	my $fds_before = $fds->();

	cold('x');
	is($s->query_safe('SELECT count(*), sum(id) FROM x'),
		$x_expected, "$m: end of scan");
	$clean->('end of scan');

	cold('x');
	is($s->query_safe('SELECT count(*) FROM (SELECT id FROM x LIMIT 7) l'),
		'7', "$m: LIMIT with staged reads in flight");
	$clean->('LIMIT');

	cold('x');
	is($s->query_safe($subplan_query), $subplan_expected, "$m: rescans");
	$clean->('rescans');

	cold('x');
	$expect_error->(
		'SELECT count(*) FROM x WHERE 1 / (id - 20000) > 0',
		qr/division by zero/, "$m: ERROR in a qual mid-scan");
	$clean->('ERROR');

	cold('x');
	$expect_error->(
		"SET statement_timeout = '150ms'; $slow_query",
		qr/statement timeout/, "$m: statement_timeout mid-scan");
	$s->query_safe('RESET statement_timeout');
	$clean->('statement_timeout');

	cold('x');
	is( $s->query_safe(
			'BEGIN; DECLARE c CURSOR FOR SELECT id FROM x; FETCH 3 FROM c; ROLLBACK'),
		"1\n2\n3",
		"$m: cursor open at ROLLBACK");
	$clean->('cursor at ROLLBACK');

	cold('x');
	is( $s->query_safe(
			'BEGIN; DECLARE c CURSOR FOR SELECT id FROM x; FETCH 2 FROM c; COMMIT'),
		"1\n2",
		"$m: cursor open at COMMIT");
	$clean->('cursor at COMMIT');

	# an ERROR caught by a subtransaction: the transaction goes on and scans
	cold('x');
	is( $s->query_safe(
			q{DO $$BEGIN
				BEGIN
					PERFORM count(*) FROM x WHERE 1 / (id - 30000) > 0;
				EXCEPTION WHEN division_by_zero THEN NULL;
				END;
			END$$;
			SELECT count(*), sum(id) FROM x}),
		$x_expected,
		"$m: ERROR caught in a subtransaction, then a full scan");
	$clean->('subtransaction abort');

	# query cancel mid-scan, from another session
	my $cancelled = 0;
	for my $i (1 .. 4)
	{
		cold('x');
		$s->{stderr} = '';
		$s->query_until(qr/started/, "\\echo started\n$slow_query;\n");
		usleep(50_000 + 40_000 * $i);
		$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
		$s->query('SELECT 1');
		$cancelled++
		  if $s->{stderr} =~ /canceling statement due to user request/;
		$s->{stderr} = '';
	}
	cmp_ok($cancelled, '>=', 1, "$m: cancel hit running scans ($cancelled of 4)");
	$clean->('cancel');

	is($fds->(), $fds_before, "$m: descriptors back at their baseline");
	cmp_ok(stats($m)->{used} - $stats_before->{used}, '>', 0,
		"$m: the scans above used staged reads");
	cold('x');
	is($s->query_safe('SELECT count(*), sum(id) FROM x'),
		$x_expected, "$m: the session still scans correctly");
	$s->quit;

	# the backend exits with staged reads in flight
	for my $i (1 .. 2)
	{
		my $v = $node->background_psql('postgres', on_error_stop => 0);
		$v->query_safe("SET pg_asyncscan.io_method = '$m'");
		my $vpid = $v->query_safe('SELECT pg_backend_pid()');
		cold('x');
		$v->query_until(qr/started/, "\\echo started\n$slow_query;\n");
		usleep(100_000);
		$node->safe_psql('postgres', "SELECT pg_terminate_backend($vpid)");
		eval { $v->quit; };

		my $c = $node->background_psql('postgres', on_error_stop => 0);
		$c->query_safe("SET pg_asyncscan.io_method = '$m'");
		cold('x');
		$c->query_safe(
			'BEGIN; DECLARE c CURSOR FOR SELECT id FROM x; FETCH 5 FROM c');
		$c->quit;
	}
	arena_is_clean($node, "$m, terminated and vanished backends")
	  if $m eq 'worker';
	$fs->ctl('latency 0');
	is($node->safe_psql('postgres',
			"SET pg_asyncscan.io_method = '$m'; SELECT count(*), sum(id) FROM x"),
		$x_expected, "$m: scans right after backends exited mid-scan");
}

diag("reliability: staged reads in flight on every way a scan ends (end, LIMIT, rescan, ERROR, timeout, "
	  . "cursors at COMMIT/ROLLBACK, subtransaction abort, cancel, FATAL, disconnect), every method: "
	  . "cases=$exit_cases, staging memory and descriptors back after each");

# --- 3. a block written after its staged read was issued ------------------
my $written_cases = 0;

# the row in block 5 of w, and its value
my $row = $node->safe_psql('postgres',
	q{SELECT id FROM w WHERE ctid >= '(5,1)' AND ctid < '(6,0)' ORDER BY ctid LIMIT 1});
my $control = $node->safe_psql('postgres',
	q{SELECT id FROM w WHERE ctid >= '(9,1)' AND ctid < '(10,0)' ORDER BY ctid LIMIT 1});

sub in_shared_buffers
{
	my ($block) = @_;
	return $node->safe_psql(
		'postgres', qq{
SELECT count(*) FROM pg_buffercache
WHERE relfilenode = pg_relation_filenode('w') AND relblocknumber = $block
  AND reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())});
}

sub evict_block
{
	my ($block) = @_;
	for my $i (1 .. 20)
	{
		return 1 if in_shared_buffers($block) == 0;
		$node->safe_psql('postgres', 'SELECT churn()');
	}
	return in_shared_buffers($block) == 0;
}

foreach my $m (@methods)
{
	next if $skip{$m};
	$fs->ctl('latency 300000');
	$node->safe_psql('postgres', 'CHECKPOINT');
	ok(evict_block(5) && evict_block(9), "$m: blocks 5 and 9 of w out of shared buffers");
	cold('w');

	my $a = $node->background_psql('postgres', on_error_stop => 0);
	$a->query_safe("SET pg_asyncscan.io_method = '$m'; SET pg_asyncscan.enabled = off");
	my $before = stats($m);
	# the staged reads start; on slow storage they are in flight when the
	# writer below starts (its own read of block 5 waits behind them)
	$a->query_safe(
		q{BEGIN; SELECT pg_prewarm('w', 'prefetch', 'main', 5, 5), pg_prewarm('w', 'prefetch', 'main', 9, 9)});
	my $after_prefetch = stats($m);
	is($after_prefetch->{staged} - $before->{staged},
		2, "$m: the two prefetches became staged reads");

	my $new_v = $node->safe_psql('postgres',
		"UPDATE w SET v = v + 1000 WHERE id = $row RETURNING v");
	$node->safe_psql('postgres', 'CHECKPOINT');
	ok(evict_block(5), "$m: block 5, updated and written, evicted again");
	# (the staged reads were issued at the old latency; the Seq Scans below
	# read all of w)
	$fs->ctl('latency 0');
	$a->query_safe('SET enable_indexscan = off; SET enable_bitmapscan = off');

	is($a->query_safe("SELECT v FROM w WHERE id = $row"),
		$new_v, "$m: the written block is read anew, not from its stale staged copy");
	my $control_v = $node->safe_psql('postgres',
		"SET pg_asyncscan.enabled = off; SELECT v FROM w WHERE id = $control");
	is($a->query_safe("SELECT v FROM w WHERE id = $control"),
		$control_v, "$m: the untouched block is right");
	$a->query_safe('COMMIT');
	my $after = stats($m);
	cmp_ok($after->{dropped} - $after_prefetch->{dropped},
		'>=', 1, "$m: the staged copy of the written block was dropped");
	is($after->{used} - $after_prefetch->{used},
		1, "$m: the staged copy of the untouched block was used");
	$a->quit;
	$written_cases++;
}
diag("reliability: a block written after its staged read was issued is read anew, never stale: cases=$written_cases");
$fs->ctl('latency 0');

my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP|PANIC|terminated by signal|was terminated by/,
	'no crash, assertion failure or PANIC in the server log');

$node->stop;
done_testing();
