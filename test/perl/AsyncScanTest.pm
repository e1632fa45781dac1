
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
#
# uring_ring($pid): the io_uring of backend $pid as its kernel shows it in
# /proc/PID/fdinfo of the ring's descriptor: { sq_head, sq_tail, cq_head,
# cq_tail } (the kernel's 32-bit ring counters), or undef if the backend
# has no ring (yet).  Readable by the user the server runs as.
#
# uring_unreaped($ring): reads the backend has passed to the kernel
# (sq_head: entries the kernel has consumed) and not yet taken the
# completion of (cq_head: completions the backend has consumed): in the
# kernel or completed but not reaped.  Every read is one entry and one
# completion, so after a drain this is 0.
#
# uring_idle($ring): nothing queued, in the kernel or unreaped:
# sq_tail = sq_head = cq_tail = cq_head.
#
# in_uring_wait($pid): backend $pid is blocked in io_uring_enter(2)
# (/proc/PID/syscall: syscall 426 on every architecture), i.e. waiting for
# a completion.
#
# wait_uring_reads($pid, $min, $secs, $done): poll (every ~0.2 ms) until
# backend $pid is blocked in io_uring_enter() with at least $min reads
# unreaped; returns that count, or 0 after $secs seconds or as soon as
# $done->() returns true (the statement ended).

package AsyncScanTest;

use strict;
use warnings;

use Exporter 'import';
use Test::More;
use Time::HiRes qw(time usleep);
our @EXPORT_OK =
  qw(init_preloaded io_analyze query_with_stderr evict_files evict_from_page_cache arena_is_clean storage_hooks_in_use $READING_WORKER_SQL
  uring_ring uring_unreaped uring_idle in_uring_wait wait_uring_reads);

# init_preloaded NODE [CONF [, checksums => 0]] -- initdb (with data
# checksums unless checksums => 0; PostgreSQL 18 would enable them by
# default) and the settings every TAP cluster of ours has, plus CONF.
sub init_preloaded
{
	my ($node, $conf, %opt) = @_;
	my @extra =
	  ($opt{checksums} // 1) ? ('--data-checksums')
	  : $node->pg_version >= 18 ? ('--no-data-checksums')
	  :                           ();
	$node->init(extra => \@extra);
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


sub uring_ring
{
	my ($pid) = @_;
	opendir(my $dh, "/proc/$pid/fd") or return undef;
	my @fds = grep { /^\d+$/ } readdir($dh);
	closedir($dh);
	foreach my $fd (@fds)
	{
		my $target = readlink("/proc/$pid/fd/$fd");
		next unless defined $target && $target eq 'anon_inode:[io_uring]';
		open(my $fh, '<', "/proc/$pid/fdinfo/$fd") or return undef;
		my %ring;
		while (my $line = <$fh>)
		{
			$ring{ lc($1) . '_' . lc($2) } = $3
			  if $line =~ /^(Sq|Cq)(Head|Tail):\s+(\d+)/;
		}
		close $fh;
		return \%ring if keys %ring == 4;
		return undef;
	}
	return undef;
}

sub uring_unreaped
{
	my ($ring) = @_;
	return ($ring->{sq_head} - $ring->{cq_head}) & 0xffffffff;
}

sub uring_idle
{
	my ($ring) = @_;
	return $ring->{sq_tail} == $ring->{sq_head}
	  && $ring->{sq_head} == $ring->{cq_tail}
	  && $ring->{cq_tail} == $ring->{cq_head};
}

sub in_uring_wait
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/syscall") or return 0;
	my $line = <$fh> // '';
	close $fh;
	return $line =~ /^426 /;
}

sub wait_uring_reads
{
	my ($pid, $min, $secs, $done) = @_;
	my $deadline = time() + $secs;
	my $i = 0;
	while (time() < $deadline)
	{
		if (in_uring_wait($pid))
		{
			my $ring = uring_ring($pid);
			if ($ring && in_uring_wait($pid))
			{
				my $n = uring_unreaped($ring);
				return $n if $n >= $min;
			}
		}
		return 0 if $done && ++$i % 50 == 0 && $done->();
		usleep(200);
	}
	return 0;
}

1;
