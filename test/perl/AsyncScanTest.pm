
# Copyright (c) pg_asyncscan authors
#
# AsyncScanTest.pm
#	  What several TAP tests of pg_asyncscan need, defined once.
#
#	use FindBin;
#	use lib "$FindBin::Bin/../perl";
#	use AsyncScanTest qw(io_analyze);
#
# init_preloaded($node, $conf): initdb with data checksums and the settings
# most of these tests share: the library preloaded (so every IO method is
# available), two IO workers, every table big enough for AsyncSeqScan, no
# parallel plans, no autovacuum or JIT, and no synchronized scans (a LIMIT
# without ORDER BY sees the table from its first block); then the test's
# own lines $conf, which may override these.
#
# io_analyze($node): the EXPLAIN options under which AsyncSeqScan shows its
# IO counters on $node's PostgreSQL: "ANALYZE" before 18; from 18 on our
# counters need the extension's own ASYNCIO option (registered through 18's
# extension EXPLAIN API), and BUFFERS OFF keeps 18's default buffer lines
# out of text output.  The regression tests' io_analyze() in sql/setup.sql
# is the same rule in SQL.
#
# evict_files(@paths): drop each relation file and its further 1 GB
# segments (path.1, path.2, ...) from the OS page cache (dd iflag=nocache;
# the caller has checkpointed and synced, so no page is dirty).
#
# evict_from_page_cache($node, $rel): CHECKPOINT, sync, evict_files() of
# $rel's main fork: its next reads go to the disk.
#
# query_with_stderr($session, $sql): run $sql in a background_psql session
# that does not stop on errors; returns its output and what it wrote to
# stderr (the ERROR, with VERBOSITY verbose its SQLSTATE).
#
# arena_is_clean($node, $name [, $secs]): the worker method left nothing
# behind: within $secs (10) every arena slot is free and nothing is queued,
# running or owned (pg_asyncscan_worker_status()); one test named $name.
#
# $READING_WORKER_SQL: creates reading_worker(timeout_ms), the PID of an IO
# worker waiting on a read (wait event DataFileRead) within timeout_ms, or
# NULL: the moment to kill one mid-read.
#
# storage_hooks_in_use($node): whether AsyncSeqScan on $node uses the
# storage manager hooks of a server built with patches/15 (EXPLAIN VERBOSE
# says "Storage Hooks: on"); needs the extension created and the library
# preloaded.

package AsyncScanTest;

use strict;
use warnings;

use Exporter 'import';
use Test::More;
our @EXPORT_OK =
  qw(init_preloaded io_analyze query_with_stderr evict_files evict_from_page_cache arena_is_clean storage_hooks_in_use $READING_WORKER_SQL);

sub init_preloaded
{
	my ($node, $conf) = @_;
	$node->init(extra => ['--data-checksums']);
	$node->append_conf(
		'postgresql.conf', q{
shared_preload_libraries = 'pg_asyncscan'
pg_asyncscan.io_workers = 2
pg_asyncscan.min_relation_size = 0
max_parallel_workers_per_gather = 0
autovacuum = off
jit = off
synchronize_seqscans = off
} . ($conf // ''));
	return;
}

sub io_analyze
{
	my ($node) = @_;
	return $node->pg_version >= 18
	  ? 'ANALYZE, ASYNCIO, BUFFERS OFF'
	  : 'ANALYZE';
}

sub query_with_stderr
{
	my ($session, $sql) = @_;
	$session->{stderr} = '';
	my $out = $session->query($sql);
	my $err = $session->{stderr};
	$session->{stderr} = '';
	return ($out, $err);
}

sub evict_files
{
	foreach my $base (@_)
	{
		for my $file (glob("$base $base.[0-9]*"))
		{
			system('dd', "if=$file", 'iflag=nocache', 'count=0', 'status=none') == 0
			  or die "could not evict $file from the page cache";
		}
	}
	return;
}

sub evict_from_page_cache
{
	my ($node, $rel) = @_;
	$node->safe_psql('postgres', 'CHECKPOINT');
	system('sync');
	my $path = $node->safe_psql('postgres', "SELECT pg_relation_filepath('$rel')");
	evict_files($node->data_dir . "/$path");
	return;
}

sub arena_is_clean
{
	my ($node, $name, $secs) = @_;
	my $status = q{SELECT io_workers || '|' || arena_slots || '|' || free_slots
		|| '|' || queued || '|' || running || '|' || owners
		FROM pg_asyncscan_worker_status()};
	my $deadline = time() + ($secs // 10);
	my $st;
	while (1)
	{
		$st = $node->safe_psql('postgres', $status);
		last if $st =~ /^\d+\|(\d+)\|\1\|0\|0\|0$/ || time() > $deadline;
		select(undef, undef, undef, 0.1);
	}
	return ok($st =~ /^\d+\|(\d+)\|\1\|0\|0\|0$/,
		"$name: nothing left in the queue or arena "
		  . "(io_workers|arena_slots|free_slots|queued|running|owners = $st)");
}

sub storage_hooks_in_use
{
	my ($node) = @_;
	my $plan = $node->safe_psql('postgres',
		q{SET pg_asyncscan.min_relation_size = 0;
		  BEGIN;
		  CREATE TABLE storage_hooks_probe (x int);
		  EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) SELECT * FROM storage_hooks_probe;
		  ROLLBACK;});
	return $plan =~ /"Storage Hooks": "on"/ ? 1 : 0;
}

our $READING_WORKER_SQL = q{
CREATE FUNCTION reading_worker(timeout_ms int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	p int;
	deadline timestamptz := clock_timestamp() + timeout_ms * interval '1 ms';
BEGIN
	LOOP
		PERFORM pg_stat_clear_snapshot();
		SELECT pid INTO p FROM pg_stat_activity
		 WHERE backend_type = 'pg_asyncscan io worker'
		   AND wait_event = 'DataFileRead' LIMIT 1;
		EXIT WHEN p IS NOT NULL OR clock_timestamp() > deadline;
		PERFORM pg_sleep(0.0005);
	END LOOP;
	RETURN p;
END $$;
};

1;
