
# Copyright (c) pg_asyncscan authors
#
# 081_torn_reads.pl
#	  Direct reads racing writes on a cluster WITHOUT data checksums
#	  (README, "The torn-page window").  Runs on stock and patched servers
#	  alike; what it asserts differs.
#
#	  slowfs (test/tools/slowfs.c) can serve an O_DIRECT read in two halves
#	  with a pause between them (a "tear" rule), and counts the reads during
#	  whose pause a write to the same range landed: torn reads, half the old
#	  page and half the new one.  The AsyncSeqScan reads all-visible blocks
#	  directly, with O_DIRECT, one block per read.
#
#	1. One torn read, step by step: the scan's read of block 40 is held in
#	   its pause while another session updates a row of that block,
#	   checkpoints (the write lands in the pause) and evicts the block from
#	   shared buffers, so that every check of the direct path passes: the
#	   old header still says all-visible, the block is not in shared
#	   buffers, and no checksum exists to disagree.
#	   - With the storage hook patch (patches/15): the write generations
#	     reject the torn copy and the block is read through shared buffers.
#	   - Stock: the torn copy is used (nothing rejects it).  Its rows are
#	     still right here: a page that was all-visible when its read was
#	     planned changes, while the scan's snapshot lives, only in tuple
#	     headers and free space, which the all-visible path does not read --
#	     but nothing but luck stands between a torn page and the scan.
#	2. A race, for figures: writers update random rows (keeping sum(v + w)
#	   at 0), VACUUM sets pages all-visible again, back-to-back CHECKPOINTs
#	   and a 1MB shared_buffers write and evict pages, while scans with
#	   every read torn open run for ASYNCSCAN_TORN_SECONDS (default 15).
#	   Every result is checked; with the patch none may be wrong.  The
#	   figures are printed for README's "Reliability".
#	   (pg_buffercache_evict() would force evictions more directly, but
#	   exists from PostgreSQL 17 on.)

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use AsyncScanTest qw(init_preloaded storage_hooks_in_use);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SlowFS;
use Test::More;
use Time::HiRes qw(time usleep);

my $why = SlowFS::missing_prerequisites();
plan skip_all => $why if defined $why;
my ($fs, $mount_why) = SlowFS->mount;
plan skip_all => "could not mount slowfs: $mount_why" unless $fs;
my $mnt = $fs->mountpoint;

my $node = PostgreSQL::Test::Cluster->new('torn081');
$fs->before_unmount(
	sub { $node->stop('immediate') if defined $node->{_pid}; });
# no data checksums: the torn-page window is the one checksums would close
init_preloaded($node, q{
shared_buffers = 1MB
max_connections = 20
log_min_messages = warning
}, checksums => 0);
$node->start;
is($node->safe_psql('postgres', 'SHOW data_checksums'),
	'off', 'the cluster has no data checksums');
$node->safe_psql('postgres', 'CREATE EXTENSION pg_asyncscan');
my $hooks = storage_hooks_in_use($node);
note($hooks
	? 'server with the storage hook patch: torn reads must all be rejected'
	: 'stock server: the figures show what the torn-page window lets through');

mkdir "$mnt/ts" or die "mkdir $mnt/ts: $!";
my $rows = 60000;
$node->safe_psql(
	'postgres', qq{
CREATE TABLESPACE slow LOCATION '$mnt/ts';
-- fixed-width columns only: a torn tuple reads wrong, never crashes
CREATE TABLE t (id int NOT NULL, v int NOT NULL, w int NOT NULL)
  WITH (fillfactor = 70) TABLESPACE slow;
INSERT INTO t SELECT g, 0, 0 FROM generate_series(1, $rows) g;
CREATE INDEX ON t (id) TABLESPACE pg_default;
VACUUM t;
CHECKPOINT;
});
my $expected = $node->safe_psql('postgres',
	'SET pg_asyncscan.enabled = off; SELECT count(*), sum(id), sum(v + w) FROM t');
is($expected, "$rows|" . ($rows * ($rows + 1) / 2) . '|0', 'reference result');
my $file = $node->safe_psql('postgres',
	q{SELECT d.oid || '/' || pg_relation_filenode('t')
	  FROM pg_database d WHERE datname = current_database()});

my $method = 'io_uring';
my ($rc, $out, $err) = $node->psql('postgres',
	"SET pg_asyncscan.io_method = '$method'");
$method = 'worker' if $rc != 0;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_buffercache;
-- evicting shared buffers: small tables (no ring buffer) scanned in turn
DO $$BEGIN
  FOR i IN 1..8 LOOP
    EXECUTE format('CREATE TABLE churn%s AS SELECT g AS id, repeat(''c'', 200) AS pad FROM generate_series(1, 600) g', i);
  END LOOP;
END$$;
-- (Seq Scans: no direct reads of their own in the counters)
CREATE FUNCTION churn() RETURNS bigint LANGUAGE plpgsql
SET pg_asyncscan.enabled = off AS $$
DECLARE n bigint := 0; c bigint;
BEGIN
  FOR i IN 1..8 LOOP
    EXECUTE format('SELECT count(*) FROM churn%s', i) INTO c;
    n := n + c;
  END LOOP;
  RETURN n;
END$$;
CREATE FUNCTION in_buffers(rel regclass, block int) RETURNS boolean
LANGUAGE sql AS $$
  SELECT count(*) > 0 FROM pg_buffercache
  WHERE relfilenode = pg_relation_filenode(rel) AND relblocknumber = block
    AND reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
$$;
});

sub counters
{
	my ($direct, $rejected, $by_generation) = split /\|/,
	  $node->safe_psql('postgres',
		"SELECT pages_direct, direct_rejected, generation_rejected FROM pg_asyncscan_stats WHERE io_method = '$method'"
	  );
	return ($direct, $rejected, $by_generation);
}

my $reader_settings = qq{
SET pg_asyncscan.io_method = '$method';
SET pg_asyncscan.direct_io = on;
SET pg_asyncscan.io_combine_limit = 1;
SET pg_asyncscan.io_depth = 64;
};
my $server = $hooks ? 'patched' : 'stock';

# --- 1. one torn read, step by step ----------------------------------------
my $block = 40;
my $row = $node->safe_psql('postgres',
	"SELECT id FROM t WHERE ctid >= '($block,1)' AND ctid < '(" . ($block + 1) . ",0)' ORDER BY ctid LIMIT 1");
# every block out of shared buffers and the OS page cache
$node->restart;
SlowFS::drop_page_cache($node->data_dir . '/'
	  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('t')"));
$fs->ctl('reset-stats');
$fs->ctl("tear add $file " . ($block * 8192) . ' 8192 4000000');
$node->safe_psql('postgres', 'SELECT pg_asyncscan_stats_reset()');

my $reader = $node->background_psql('postgres', on_error_stop => 0);
$reader->query_safe($reader_settings);
$reader->query_until(qr/started/,
	"\\echo started\nSELECT count(*), sum(id), sum(v + w) FROM t;\n");
# the read of the block is in its pause
my $waited = 0;
while ($fs->counter('tear_reads') < 1 && $waited++ < 300)
{
	usleep(10_000);
}
is($fs->counter('tear_reads'), 1, "the scan's read of block $block is held half way");
$node->safe_psql('postgres',
	"UPDATE t SET v = v + 1, w = w - 1 WHERE id = $row");
$node->safe_psql('postgres', 'CHECKPOINT');
my $evicted = 0;
for my $i (1 .. 20)
{
	$node->safe_psql('postgres', 'SELECT churn()');
	$evicted = $node->safe_psql('postgres', "SELECT NOT in_buffers('t', $block)") eq 't';
	last if $evicted;
}
ok($evicted, "block $block updated, written and evicted while the read waits");
is($fs->counter('tear_written'), 0, 'the read is still in its pause');
my $got = $reader->query_safe('SELECT 1');    # waits for the scan's result
$got = (split /\n/, $got)[0];
is($fs->counter('tear_written'), 1, 'slowfs tore the read: the write landed in its pause');
my ($direct, $rejected, $by_generation) = counters();
is($got, $expected, "$server: the scan's result is right");
if ($hooks)
{
	is($by_generation, 1,
		'patched: the write generations rejected the torn copy, read again through shared buffers');
}
else
{
	is($rejected, 0,
		'stock: nothing rejected the torn copy: the scan used it (no checksums)');
}
diag("reliability: one torn direct read ($server, $method, no checksums): "
	  . ($by_generation ? 'rejected by write generation' : $rejected ? 'rejected' : 'used')
	  . ", result " . ($got eq $expected ? 'right' : 'WRONG'));
$reader->quit;
$fs->ctl('tear clear');

# --- 2. the race ----------------------------------------------------------
my $tmp = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$tmp/update.sql", qq{
\\set a random(1, $rows)
UPDATE t SET v = v + 1, w = w - 1 WHERE id = :a;
});
PostgreSQL::Test::Utils::append_to_file("$tmp/vacuum.sql", q{
VACUUM t;
});
PostgreSQL::Test::Utils::append_to_file("$tmp/checkpoint.sql", q{
CHECKPOINT;
});
my @pgbench = ('pgbench', '-n', '-h', $node->host, '-p', $node->port);
my $seconds = $ENV{ASYNCSCAN_TORN_SECONDS} // 15;
my $writers = IPC::Run::start(
	[
		@pgbench, '-c', '3', '-T', $seconds + 60,
		'-f', "$tmp/update.sql\@40", '-f', "$tmp/vacuum.sql\@1", 'postgres'
	],
	'>', '/dev/null', '2>', "$tmp/writers.err");
my $checkpoints = IPC::Run::start(
	[ @pgbench, '-c', '1', '-T', $seconds + 60, '-f', "$tmp/checkpoint.sql", 'postgres' ],
	'>', '/dev/null', '2>', "$tmp/checkpoints.err");

# every O_DIRECT read of t: first half, 20ms pause, second half
$fs->ctl("tear add $file 0 0 20000");
$fs->ctl('reset-stats');
$node->safe_psql('postgres', 'SELECT pg_asyncscan_stats_reset()');

$reader = $node->background_psql('postgres', on_error_stop => 0);
$reader->query_safe($reader_settings);
my ($scans, $wrong) = (0, 0);
my $deadline = time() + $seconds;
while (time() < $deadline)
{
	my $res = $reader->query('SELECT count(*), sum(id), sum(v + w) FROM t');
	$scans++;
	next if $res eq $expected;
	$wrong++;
	diag("scan $scans returned $res, expected $expected");
}
$reader->quit;
$fs->ctl('tear clear');
$writers->kill_kill;
$checkpoints->kill_kill;

my $tear_reads = $fs->counter('tear_reads');
my $torn = $fs->counter('tear_written');
($direct, $rejected, $by_generation) = counters();
diag("reliability: torn-read race ($server, $method, no checksums, ${seconds}s): $scans scans, "
	  . "$direct direct pages, $tear_reads reads torn open, $torn with a write in the pause, "
	  . "$rejected direct copies dropped ($by_generation by write generation), $wrong wrong results");
cmp_ok($scans, '>', 3, "the reader scanned t $scans times under writers");
cmp_ok($tear_reads, '>', 0, 'slowfs served the direct reads in two halves');
if ($hooks)
{
	is($wrong, 0, 'patched: no scan returned a wrong result');
}
else
{
	is($by_generation, 0, 'stock: no write generations to reject anything');
}

my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP|PANIC|terminated by signal|was terminated by/,
	'no crash, assertion failure or PANIC in the server log');
$node->stop;
done_testing();
