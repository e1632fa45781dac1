
# Copyright (c) pg_asyncscan authors
#
# 012_io_uring_rings.pl
#	  When a backend has an io_uring, and that its reads can always be
#	  drained.
#
#	1. SET pg_asyncscan.io_method = io_uring checks that a ring can be
#	   created but keeps none: the backend's ring is created by its first
#	   scan.  Parallel workers re-apply the leader's settings at start;
#	   they create no ring either unless a scan in them reads with one.
#	2. Drain ends in every state: io_depth at its maximum (128) and
#	   io_combine_limit 64, reads on slow storage that come back short
#	   (every read of the table is cut into pieces whose rests must be
#	   resubmitted), three cursors of one transaction sharing the ring, and
#	   the statement ended by statement_timeout or a cancel at random
#	   moments.  Every end comes back promptly, nothing is left open, and
#	   the rows stay right.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use AsyncScanTest qw(init_preloaded io_analyze);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SlowFS;
use Test::More;
use Time::HiRes qw(time usleep);

my $why = SlowFS::missing_prerequisites();
plan skip_all => $why if defined $why;
my ($fs, $mount_why) = SlowFS->mount(args => ['--read-latency-us=2000']);
plan skip_all => "could not mount slowfs: $mount_why" unless $fs;
my $mnt = $fs->mountpoint;

my $node = PostgreSQL::Test::Cluster->new('rings');
$fs->before_unmount(
	sub { $node->stop('immediate') if defined $node->{_pid}; });
init_preloaded($node, q{
shared_buffers = 32MB
max_worker_processes = 16
max_parallel_workers = 8
});
$node->start;

my ($rc, $out, $err) = $node->psql('postgres',
	"LOAD 'pg_asyncscan'; SET pg_asyncscan.io_method = io_uring");
plan skip_all => "io_uring is not available here: $err" if $rc != 0;

my $io_analyze = io_analyze($node);
# debug_parallel_query was force_parallel_mode before PostgreSQL 16
my $force_parallel = $node->pg_version >= 16
  ? 'debug_parallel_query' : 'force_parallel_mode';

mkdir "$mnt/ts" or die "mkdir $mnt/ts: $!";
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION pg_asyncscan;
CREATE TABLESPACE slow LOCATION '$mnt/ts';
CREATE TABLE small AS SELECT g AS id FROM generate_series(1, 100) g;
CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 4) AS pad
  FROM generate_series(1, 100000) g;
CREATE TABLE t (id int NOT NULL, pad text NOT NULL) TABLESPACE slow;
INSERT INTO t SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 150000) g;
VACUUM (FREEZE, ANALYZE) small, big, t;
CHECKPOINT;
});

# The io_uring descriptors a process has open.
sub rings_of
{
	my ($pid) = @_;
	my $n = 0;
	opendir(my $dh, "/proc/$pid/fd") or return -1;
	for my $fd (grep { /^\d+$/ } readdir($dh))
	{
		my $target = readlink("/proc/$pid/fd/$fd");
		$n++ if defined $target && $target =~ /^anon_inode:\[io_uring\]/;
	}
	closedir($dh);
	return $n;
}

# --- 1. who has a ring ------------------------------------------------------
{
	my $s = $node->background_psql('postgres', on_error_stop => 1);
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	is(rings_of($pid), 0, 'a new backend has no ring');
	$s->query_safe("SET pg_asyncscan.io_method = io_uring");
	is(rings_of($pid), 0, 'SET io_method = io_uring probes, and keeps no ring');

	# a parallel plan without AsyncSeqScan (small is below
	# min_relation_size), slow enough for its workers to be looked at
	$s->query_safe(qq{
SET pg_asyncscan.min_relation_size = 1000;
SET $force_parallel = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET max_parallel_workers_per_gather = 2;
});
	like($s->query_safe('EXPLAIN (COSTS OFF) SELECT count(*) FROM small WHERE pg_sleep(0.02) IS NOT NULL'),
		qr/Gather.*Seq Scan on small/s,
		'the plan is a parallel Seq Scan, no AsyncSeqScan');
	$s->query_until(qr/started/, "\\echo started\nSELECT count(*) FROM small WHERE pg_sleep(0.02) IS NOT NULL;\n");
	my $workers;
	my $deadline = time() + 30;
	do
	{
		$workers = $node->safe_psql('postgres',
			q{SELECT string_agg(pid::text, ',') FROM pg_stat_activity
			  WHERE backend_type = 'parallel worker'});
		usleep(20_000) unless $workers;
	} while (!$workers && time() < $deadline);
	ok($workers, "parallel workers are running ($workers)");
	my $worker_rings = 0;
	$worker_rings += rings_of($_) for split /,/, $workers;
	is($worker_rings, 0,
		'parallel workers that re-apply io_method = io_uring have no ring');
	$s->query_safe('SELECT 1');    # the slow query's end
	is(rings_of($pid), 0, 'nor has the leader after that query');

	# the first scan that reads creates the ring
	$s->query_safe(qq{RESET $force_parallel; RESET max_parallel_workers_per_gather;
		RESET pg_asyncscan.min_relation_size});
	like($s->query_safe("EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF) SELECT count(*) FROM big"),
		qr/IO: method=io_uring/, 'a scan of big reads with io_uring');
	is(rings_of($pid), 1, 'after its first scan the backend has one ring');
	$s->quit;
}

# --- 2. drain at io_depth 128 with short reads --------------------------------
my $relpath = $node->safe_psql('postgres', "SELECT pg_relation_filepath('t')");
my ($suffix) = $relpath =~ m{(\d+/\d+)$};
my $file = $node->data_dir . "/$relpath";
my $nblocks = $node->safe_psql('postgres', "SELECT pg_relation_size('t') / 8192");
cmp_ok($nblocks, '>', 2000, "t has $nblocks blocks on slowfs");
is($node->safe_psql('postgres',
		"SELECT relallvisible = relpages FROM pg_class WHERE relname = 't'"),
	't', 't is all-visible');
my $query = 'SELECT count(*), sum(id), md5(string_agg(pad, \',\' ORDER BY id)) FROM t';
my $expected = $node->safe_psql('postgres', "SET pg_asyncscan.enabled = off; $query");

# every 64 kB of the file, a read covering that byte returns at most 8 kB
# past it: nearly every read of 512 kB comes back short several times
my $rules = 0;
for (my $off = 0; $off < $nblocks * 8192 && $rules < 250; $off += 65536)
{
	$fs->ctl("short add $suffix $off 8192");
	$rules++;
}
note "$rules short-read rules";

my $settings = q{
SET pg_asyncscan.io_method = io_uring;
SET pg_asyncscan.io_depth = 128;
SET pg_asyncscan.io_combine_limit = 64;
SET pg_asyncscan.direct_io = on;
};
# nothing of t in shared buffers: every block is read directly
$node->restart;
my $s = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $s->query_safe('SELECT pg_backend_pid()');
$s->query_safe($settings);
{
	SlowFS::drop_page_cache($file);
	my $before = $fs->counter('short_injected');
	is($s->query_safe($query), $expected, 'a full scan with short reads gives the Seq Scan rows');
	cmp_ok($fs->counter('short_injected') - $before, '>', 50,
		'the scan met short reads');
	my $plan = $s->query_safe("EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF) $query");
	my ($max_inflight) = $plan =~ /in-flight avg=[\d.]+ max=(\d+)/;
	cmp_ok($max_inflight // 0, '>', 16, "reads really are in flight (max " . ($max_inflight // 0) . ")");
}
like($s->query_safe('EXPLAIN (COSTS OFF) SELECT * FROM t'),
	qr/Custom Scan \(AsyncSeqScan\) on t/, 'the cursors below scan t with AsyncSeqScan');
my $fds_before = join(',', sort map { readlink($_) // '' } glob("/proc/$pid/fd/*"));

my $rounds = 12;
my ($ended, $fast) = (0, 0);
foreach my $round (1 .. $rounds)
{
	SlowFS::drop_page_cache($file);
	$s->query_safe('BEGIN');
	foreach my $c (1 .. 3)
	{
		$s->query_safe("DECLARE c$c CURSOR FOR SELECT * FROM t");
		$s->query_safe("FETCH " . (1 + int(rand(3000))) . " FROM c$c");
	}
	my $t0 = time();
	$s->{stderr} = '';
	if ($round % 2)
	{
		my $ms = 1 + int(rand(40));
		$s->query("SET LOCAL statement_timeout = '${ms}ms'; MOVE ALL FROM c1");
	}
	else
	{
		$s->query_until(qr/started/, "\\echo started\nMOVE ALL FROM c2;\n");
		usleep(int(rand(40_000)));
		$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
		$s->query('SELECT 1');
	}
	my $secs = time() - $t0;
	my $stderr = $s->{stderr};
	$s->{stderr} = '';
	$s->query('ROLLBACK');
	$ended++ if $stderr =~ /canceling statement due to (statement timeout|user request)/;
	$fast++ if $secs < 20;
	unlike($stderr, qr/could not|FATAL|PANIC|server closed/,
		"round $round: the statement ended cleanly");
}
cmp_ok($ended, '>=', $rounds / 2,
	"$ended of $rounds statements were cancelled with reads in flight");
is($fast, $rounds, 'every cancelled statement came back promptly (drain ended)');
is(join(',', sort map { readlink($_) // '' } glob("/proc/$pid/fd/*")),
	$fds_before, 'the backend has the same descriptors open as before');
SlowFS::drop_page_cache($file);
is($s->query_safe($query), $expected, 'the session still scans right');
$s->quit;

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|while draining reads/,
	'no crash, no failed drain');

done_testing();
