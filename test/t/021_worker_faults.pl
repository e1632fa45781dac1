
# Copyright (c) pg_asyncscan authors
#
# 021_worker_faults.pl
#	  IO faults under the "worker" IO method, injected by slowfs
#	  (test/tools/slowfs.c, a FUSE passthrough filesystem) under a
#	  tablespace (design.md section 5: "short reads are retried for the
#	  rest; EIO and friends become ERROR naming the relation, block and
#	  method").
#
#	- EIO on one block: a worker scan, with direct_io off and on, fails
#	  with an ERROR naming the relation, the block range and the method;
#	  the session goes on working, nothing is left in the arena, and
#	  pg_asyncscan_stats counts the error for the worker method.
#	- A short read (O_DIRECT): the rest is read again, results are right.
#	- A read that meets a premature end of file: "read only N of M bytes".
#	- Slow reads (1 s per request): a scan cancelled or terminated while
#	  workers are still reading for it abandons those requests; the
#	  workers free them when done, and nothing is left behind.
#
# slowfs needs fuse3 (fusermount3), libfuse3-dev (pkg-config fuse3), a C
# compiler and read/write access to /dev/fuse for the user running the
# test; without them the whole file is skipped, with the reason (see
# test/perl/SlowFS.pm, which builds, mounts and controls it).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use AsyncScanTest qw(init_preloaded arena_is_clean query_with_stderr);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SlowFS;
use Test::More;
use Time::HiRes qw(time usleep);

# --- slowfs: build and mount, or skip (test/perl/SlowFS.pm) -----------------
my $why = SlowFS::missing_prerequisites();
plan skip_all => $why if defined $why;
my ($fs, $mount_why) = SlowFS->mount;
plan skip_all => "could not mount slowfs: $mount_why" unless $fs;
my $mnt = $fs->mountpoint;

my $node;

# The server has files open on the mount: stop it before unmounting (at
# the end, whatever happened).
$fs->before_unmount(
	sub { $node->stop('immediate') if defined $node && defined $node->{_pid}; });

# --- the cluster, a table on slowfs ------------------------------------------
$node = PostgreSQL::Test::Cluster->new('faults');
init_preloaded($node, q{
shared_buffers = 32MB
});
$node->start;

mkdir "$mnt/ts" or die "mkdir $mnt/ts: $!";
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION pg_asyncscan;
CREATE TABLESPACE slow LOCATION '$mnt/ts';
CREATE TABLE f (id int NOT NULL, pad text NOT NULL) TABLESPACE slow;
INSERT INTO f SELECT i, repeat(md5(i::text), 6) FROM generate_series(1, 40000) i;
VACUUM (FREEZE, ANALYZE) f;
CREATE TABLE local_t AS SELECT i AS id FROM generate_series(1, 1000) i;
CHECKPOINT;
});
my $relpath = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('f')});
like($relpath, qr{^pg_tblspc/\d+/PG_\d+_\d+/\d+/\d+$}, "table f is in the tablespace on slowfs ($relpath)");
my ($suffix) = $relpath =~ m{(\d+/\d+)$};
my $nblocks = $node->safe_psql('postgres', q{SELECT pg_relation_size('f') / 8192});
cmp_ok($nblocks, ">", 1024, "table f has $nblocks blocks");
is( $node->safe_psql(
		'postgres',
		q{SELECT relallvisible = relpages FROM pg_class WHERE relname = 'f'}),
	't',
	'table f is all-visible');

my $query = q{SELECT count(*), sum(id), md5(string_agg(pad, ',' ORDER BY id)) FROM f};
my $expected = $node->safe_psql('postgres',
	"SET pg_asyncscan.enabled = off; $query");
like($expected, qr/^40000\|800020000\|[0-9a-f]{32}$/, 'Seq Scan reference result');

# Drop f's file from the page cache (through the mount), so that reads
# reach slowfs.
sub evict
{
	$node->safe_psql('postgres', 'CHECKPOINT');
	SlowFS::drop_page_cache($node->data_dir . "/$relpath");
	return;
}

# shared buffers empty: the worker scans read every block directly
$node->restart;
$node->safe_psql('postgres', 'SELECT pg_asyncscan_stats_reset()');

my $s = $node->background_psql('postgres', on_error_stop => 0);
$s->query_safe(
	q{SET pg_asyncscan.io_method = 'worker';
	  \set VERBOSITY verbose});

sub run_error
{
	return query_with_stderr($s, @_);
}

# a clean worker scan through slowfs, to start with
evict();
$fs->ctl('reset-stats');
foreach my $direct_io ('off', 'on')
{
	evict();
	is($s->query_safe("SET pg_asyncscan.direct_io = $direct_io; $query"),
		$expected, "no fault, direct_io $direct_io: worker scan on slowfs is right");
}
cmp_ok($fs->counter('reads'), '>', 0, 'the scans read through slowfs');

# --- EIO on one block ----------------------------------------------------------
my $bad_block = 300;
$fs->ctl("eio add $suffix " . ($bad_block * 8192) . ' 8192');
foreach my $direct_io ('off', 'on')
{
	evict();
	my $before = $fs->counter('eio_injected');
	my ($out, $err) =
	  run_error("SET pg_asyncscan.direct_io = $direct_io; $query");
	cmp_ok($fs->counter('eio_injected'), '>', $before,
		"EIO, direct_io $direct_io: slowfs injected EIO");
	like(
		$err,
		qr/ERROR:  58030: could not read blocks \d+\.\.\d+ of relation "f": Input\/output error/,
		"EIO, direct_io $direct_io: ERROR with SQLSTATE 58030 names relation and blocks"
	);
	my ($first, $last) = $err =~ /could not read blocks (\d+)\.\.(\d+)/;
	ok( defined $first && $first <= $bad_block && $bad_block <= $last,
		"EIO, direct_io $direct_io: the block range (" . ($first // '?') . '..'
		  . ($last // '?') . ") holds block $bad_block");
	like(
		$err,
		qr/DETAIL:  The read was issued by pg_asyncscan.io_method "worker"\./,
		"EIO, direct_io $direct_io: DETAIL names the worker method");
	is($s->query_safe('SELECT count(*), sum(id) FROM local_t'),
		'1000|500500', "EIO, direct_io $direct_io: the session goes on working");
	arena_is_clean($node, "EIO, direct_io $direct_io");
}
is( $node->safe_psql(
		'postgres',
		q{SELECT errors >= 2 FROM pg_asyncscan_stats WHERE io_method = 'worker'}),
	't',
	'pg_asyncscan_stats counts the failed reads for the worker method');

$fs->ctl("eio clear");
evict();
is($s->query_safe("SET pg_asyncscan.direct_io = on; $query"),
	$expected, 'EIO cleared: the same session scans correctly');

# --- short reads (O_DIRECT: the worker reads the rest) ------------------------
# Every read covering the second half of block 300 ends there; the retry
# from there on is whole.  (Buffered reads are left out: the kernel takes
# a short FUSE reply as end of file and zero-fills the page.)
$fs->ctl('short add ' . $suffix . ' ' . ($bad_block * 8192 + 4096) . ' 4096');
foreach my $round (1 .. 2)
{
	evict();
	my $before = $fs->counter('short_injected');
	is($s->query_safe("SET pg_asyncscan.direct_io = on; $query"),
		$expected, "short read, round $round: results are right");
	cmp_ok($fs->counter('short_injected'), '>', $before,
		"short read, round $round: slowfs injected a short read");
}
arena_is_clean($node, 'short reads');

# A read that stops dead at block 300: premature end of file
$fs->ctl('clear');
$fs->ctl('short add ' . $suffix . ' ' . ($bad_block * 8192) . ' 0');
{
	evict();
	my ($out, $err) = run_error("SET pg_asyncscan.direct_io = on; $query");
	like(
		$err,
		qr/ERROR:  XX001: could not read blocks (\d+)\.\.(\d+) of relation "f": read only (\d+) of (\d+) bytes/,
		'premature end of file: ERROR says how much was read');
	my ($first, $last, $got, $want) = $err =~
	  /could not read blocks (\d+)\.\.(\d+) of relation "f": read only (\d+) of (\d+) bytes/;
	if (defined $first)
	{
		is($want, ($last - $first + 1) * 8192, 'premature end of file: M is the read size');
		is($got, ($bad_block - $first) * 8192,
			'premature end of file: N ends where the read was cut');
	}
	like($err, qr/DETAIL:  The read was issued by pg_asyncscan.io_method "worker"\./,
		'premature end of file: DETAIL names the worker method');
	arena_is_clean($node, 'premature end of file');
}
$fs->ctl('clear');
evict();
is($s->query_safe("SET pg_asyncscan.direct_io = on; $query"),
	$expected, 'faults cleared: the session scans correctly');

# --- slow reads: cancel and terminate while workers read for us -----------------
# One second per read request: requests stay RUNNING in a worker long
# after their owner has gone, so the owner must abandon them and the
# worker free them.
$fs->ctl('read-latency 1000000');
my $running_sql = q{SELECT running > 0 FROM pg_asyncscan_worker_status()};

sub wait_running
{
	my $deadline = time() + 10;
	while (time() < $deadline)
	{
		return 1 if $node->safe_psql('postgres', $running_sql) eq 't';
		usleep(50_000);
	}
	return 0;
}

{
	evict();
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	$s->query_until(qr/started/,
		"\\echo started\nSET pg_asyncscan.direct_io = on;\n$query;\n");
	ok(wait_running(), 'slow reads: workers are reading for the scan');
	my $t0 = time();
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	my ($out, $err) = run_error('SELECT 1');
	my $took = time() - $t0;
	like($err, qr/canceling statement due to user request/,
		'slow reads: the scan is cancelled');
	note sprintf('cancel answered after %.2f s', $took);
	my $st = $node->safe_psql('postgres',
		q{SELECT running || '|' || owners FROM pg_asyncscan_worker_status()});
	note "right after the cancel: running|owners = $st";
	arena_is_clean($node, 'slow reads, after the cancel');
}
{
	evict();
	my $v = $node->background_psql('postgres', on_error_stop => 0);
	$v->query_safe(
		"SET pg_asyncscan.io_method = 'worker'; SET pg_asyncscan.direct_io = on");
	my $vpid = $v->query_safe('SELECT pg_backend_pid()');
	$v->query_until(qr/started/, "\\echo started\n$query;\n");
	ok(wait_running(), 'slow reads: workers are reading for the scan to be terminated');
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($vpid)");
	eval { $v->quit; };
	my $deadline = time() + 10;
	while (time() < $deadline
		&& $node->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE pid = $vpid") ne '0')
	{
		usleep(50_000);
	}
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE pid = $vpid"),
		'0', 'slow reads: the terminated backend is gone');
	arena_is_clean($node, 'slow reads, after pg_terminate_backend');
}

$fs->ctl('read-latency 0');
evict();
is($s->query_safe("SET pg_asyncscan.direct_io = off; $query"),
	$expected, 'after all faults: worker scans are right');

# The EIO is real: a Seq Scan fails on it too, with PostgreSQL's own
# message.  (Last: the failed buffered read leaves block 300 behind in
# shared buffers, so later scans would read it through shared buffers.)
$fs->ctl("eio add $suffix " . ($bad_block * 8192) . ' 8192');
evict();
my (undef, $seq_err) = run_error("SET pg_asyncscan.enabled = off; $query");
# "block N" before PostgreSQL 17, "blocks A..B" (vectored reads) from 17 on
my ($from, $to) =
  $seq_err =~ /could not read blocks? (\d+)(?:\.\.(\d+))? in file ".*": Input\/output error/;
ok(defined $from && $from <= $bad_block && ($to // $from) >= $bad_block,
	'a Seq Scan meets the same EIO')
  or diag($seq_err);
$fs->ctl('clear');
$s->quit;

$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP|PANIC|terminated by signal|was terminated by/,
	'no crash, assertion failure or PANIC in the server log');

done_testing();
