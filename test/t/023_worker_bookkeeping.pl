
# Copyright (c) pg_asyncscan authors
#
# 023_worker_bookkeeping.pl
#	  The IO workers' own bookkeeping.
#
#	1. pg_cancel_backend() of an IO worker cancels nothing (it has no
#	   statement) and must not end it: the same process goes on serving.
#	2. Idle flags: a worker that wakes up for another reason (a
#	   configuration reload sets every process's latch) and picks up a
#	   request must no longer count as idle.  Otherwise submitters wake it
#	   instead of a really idle worker, and a read waits in the queue until
#	   its owner takes it back and reads it itself.  With as many workers
#	   as reads in flight, slow reads and a storm of reloads, no read may
#	   wait that long: Inline Reads stays 0.  (Three workers: with two, a
#	   busy worker looking idle would be woken only when no other is.  The
#	   race that leaves a flag stale is narrow -- a reload must wake a
#	   worker in the microseconds between a request's queueing and its
#	   pick-up -- so this guards the fix rather than proving the old fault
#	   every run.)
#	3. The arena is whole afterwards.

use strict;
use warnings;

use IPC::Run;
use FindBin;
use lib "$FindBin::Bin/../perl";

use AsyncScanTest qw(init_preloaded io_analyze arena_is_clean);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SlowFS;
use Test::More;
use Time::HiRes qw(time usleep);

my $why = SlowFS::missing_prerequisites();
plan skip_all => $why if defined $why;
# slower than the 100 ms after which an owner takes back a queued read
my ($fs, $mount_why) = SlowFS->mount(args => ['--read-latency-us=150000']);
plan skip_all => "could not mount slowfs: $mount_why" unless $fs;
my $mnt = $fs->mountpoint;

my $node = PostgreSQL::Test::Cluster->new('bookkeeping');
$fs->before_unmount(
	sub { $node->stop('immediate') if defined $node->{_pid}; });
init_preloaded($node, q{
shared_buffers = 16MB
pg_asyncscan.io_workers = 3
});
$node->start;
my $io_analyze = io_analyze($node);

mkdir "$mnt/ts" or die "mkdir $mnt/ts: $!";
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION pg_asyncscan;
CREATE TABLESPACE slow LOCATION '$mnt/ts';
CREATE TABLE t (id int NOT NULL, pad text NOT NULL) TABLESPACE slow;
INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 10000) g;
VACUUM (FREEZE, ANALYZE) t;
CHECKPOINT;
});
my $file = $node->data_dir . '/'
  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('t')");

ok( $node->poll_query_until('postgres',
		'SELECT io_workers = 3 FROM pg_asyncscan_worker_status()'),
	'three IO workers are running');

# --- 1. a cancel does not end a worker ---------------------------------------
{
	my $pids = $node->safe_psql('postgres',
		q{SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity
		  WHERE backend_type = 'pg_asyncscan io worker'});
	$node->safe_psql('postgres',
		"SELECT pg_cancel_backend(pid) FROM unnest('{$pids}'::int[]) pid");
	sleep 2;
	is( $node->safe_psql('postgres',
			q{SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity
			  WHERE backend_type = 'pg_asyncscan io worker'}),
		$pids, 'pg_cancel_backend() leaves the IO workers running, same processes');
}

# --- 2. idle flags under spurious wake-ups -------------------------------------
my $query = 'SELECT count(*), sum(id) FROM t';
my $expected = $node->safe_psql('postgres', "SET pg_asyncscan.enabled = off; $query");
# three reads in flight at most, for three workers (a stale idle flag
# matters when one busy worker looks idle while another really is)
my $settings = q{SET pg_asyncscan.io_method = worker;
SET pg_asyncscan.io_depth = 3;
SET pg_asyncscan.io_combine_limit = 4;
};
# nothing of t in shared buffers: every block is a worker read
$node->restart;
my $reloader = $node->background_psql('postgres', on_error_stop => 1);
my ($scans, $inline) = (0, 0);
my $deadline = time() + 25;
while (time() < $deadline || $scans < 3)
{
	SlowFS::drop_page_cache($file);
	my ($plan, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d',
			$node->connstr('postgres'), '-c',
			"$settings EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF, FORMAT JSON) $query"
		],
		'<', \undef, '>', \$plan, '2>', \$err,
		IPC::Run::timeout(300));
	# reload storm while the scan runs: every process's latch is set often
	while ($h->pumpable)
	{
		$reloader->query_safe('SELECT pg_reload_conf()');
		usleep(3_000);
		$h->pump_nb;
	}
	$h->finish;
	is($err, '', "scan " . ($scans + 1) . ": no error");
	my ($n) = $plan =~ /"Inline Reads": (\d+)/;
	my ($reads) = $plan =~ /"Reads": (\d+)/;
	$inline += $n // 0;
	$scans++;
	note "scan $scans: reads " . ($reads // '?') . ", inline " . ($n // '?');
}
$reloader->quit;
cmp_ok($scans, '>=', 3, "$scans slow worker scans under a reload storm");
is($inline, 0, 'no read waited in the queue long enough to be taken back');
is($node->safe_psql('postgres', "$settings $query"), $expected,
	'the scan gives the Seq Scan result');
arena_is_clean($node, 'after the scans');

done_testing();
