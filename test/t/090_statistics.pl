
# Copyright (c) pg_asyncscan authors
#
# 090_statistics.pl
#	  PostgreSQL's own statistics see the pages AsyncSeqScan reads directly,
#	  where they see a Seq Scan's: EXPLAIN (ANALYZE, BUFFERS),
#	  pg_stat_statements, pg_statio_user_tables, pg_stat_database and, from
#	  PostgreSQL 16 on, pg_stat_io; and with track_io_timing the time the
#	  scan spends on its reads is read time in each of them.
#
# Each case scans a known, all-visible table cold: server restarted (empty
# shared buffers) and the table's file dropped from the OS page cache, so
# every block of it is read from storage.  Everything the case measures
# runs in one session, whose catalogs are loaded (a plain EXPLAIN, every
# view read once) before the first snapshot, so the only blocks read in
# between are the table's: its heap blocks and its one visibility-map page
# (which AsyncSeqScan reads, through shared buffers, and a Seq Scan does
# not).  Then, for one execution of the statement:
#
#	- EXPLAIN's IO counters show the heap blocks read directly: all of them
#	  but the few whose direct copies were dropped and read again through
#	  shared buffers;
#	- "Shared Read Blocks" of the plan and of the AsyncSeqScan node,
#	  pg_stat_statements.shared_blks_read of that execution, the table's
#	  heap_blks_read delta and the delta of pg_stat_database.blks_read are
#	  each what the same scan as a Seq Scan reads + the visibility-map page;
#	  hits agree between EXPLAIN, pg_stat_statements and pg_statio;
#	- pg_stat_io (16 on): the reads of the bulk-read context (the table is
#	  bigger than a quarter of shared_buffers, so both scans use the ring)
#	  are the scan's direct reads -- 8 kB reads on 16 and 17, on 18 one
#	  per IO (EXPLAIN's "Reads") -- and their bytes (EXPLAIN's "Read
#	  Bytes"), plus PostgreSQL's own reads of the blocks read again; a table
#	  smaller than that is read in the normal context;
#	- the scan waited for reads, and with track_io_timing the I/O read time
#	  of EXPLAIN and pg_stat_statements, pg_stat_database.blk_read_time and
#	  pg_stat_io's read_time each grew by at least the scan's own wait time
#	  (EXPLAIN's "Wait Time"); with track_io_timing off, blocks are counted
#	  and no time is;
#	- a private copy that is dropped and read again through shared buffers
#	  (rows of the scan's own transaction) is counted once, by that read:
#	  shared hit + read is the Seq Scan's + the visibility-map page;
#
# for each IO method (sync, io_uring, worker), serial and parallel (two
# workers: their counts reach the leader's EXPLAIN and pg_stat_statements
# as a Parallel Seq Scan's do).  pg_stat_statements is preloaded beside
# pg_asyncscan, with track = all, so that the statement run by EXPLAIN
# ANALYZE has its own entry.

use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::Bin/../perl";
use AsyncScanTest qw(init_preloaded io_analyze evict_files);

my $node = PostgreSQL::Test::Cluster->new('statistics');
my $pkglibdir = $node->config_data('--pkglibdir');
-e "$pkglibdir/pg_stat_statements.so"
  or BAIL_OUT("pg_stat_statements is not installed in $pkglibdir "
	  . '(test/build_pg.sh builds it with the other contrib modules)');

my $major = $node->pg_version->major;
init_preloaded($node, q{
shared_preload_libraries = 'pg_asyncscan, pg_stat_statements'
pg_stat_statements.track = all
track_io_timing = on
# 2048 buffers: a table of more than 512 blocks is read with the bulk-read
# ring, by a Seq Scan and by AsyncSeqScan alike
shared_buffers = 16MB
max_worker_processes = 12
});
$node->start;

# EXPLAIN (ANALYZE, BUFFERS) with AsyncSeqScan's IO counters (ASYNCIO on 18)
(my $explain_opts = io_analyze($node)) =~ s/BUFFERS OFF/BUFFERS/;
$explain_opts .= ', BUFFERS' unless $explain_opts =~ /BUFFERS/;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_asyncscan;
CREATE EXTENSION pg_stat_statements;
-- about 2950 blocks (23 MB) and 300 blocks (2.4 MB), all-visible
CREATE TABLE stat_big AS
  SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 100000) g;
CREATE TABLE stat_small AS
  SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 10000) g;
VACUUM (FREEZE, ANALYZE) stat_big, stat_small;
});

my $block_size = $node->safe_psql('postgres', 'SHOW block_size');
my %nblocks;
my %vm_pages;
for my $t (qw(stat_big stat_small))
{
	$nblocks{$t} = $node->safe_psql('postgres',
		"SELECT pg_relation_size('$t') / current_setting('block_size')::int");
	$vm_pages{$t} = $node->safe_psql('postgres',
		"SELECT pg_relation_size('$t', 'vm') / current_setting('block_size')::int");
}
my $bulkread_min = $node->safe_psql('postgres',
	"SELECT setting::int / 4 FROM pg_settings WHERE name = 'shared_buffers'");
cmp_ok($nblocks{stat_big}, '>', $bulkread_min,
	"stat_big ($nblocks{stat_big} blocks) is read with the bulk-read ring");
cmp_ok($nblocks{stat_small}, '<=', $bulkread_min,
	"stat_small ($nblocks{stat_small} blocks) is not");
is($vm_pages{stat_big}, 1, 'stat_big has one visibility-map page');

# io_uring may be refused here (seccomp, kernel.io_uring_disabled)
my ($uring_rc, $uring_out, $uring_err) = $node->psql('postgres',
	"SET pg_asyncscan.io_method = 'io_uring'");
my $uring_why = $uring_rc == 0 ? undef : $uring_err;

# names of the read-time columns and the bytes of pg_stat_io, per major
my $pgss_time = $major >= 17 ? 'shared_blk_read_time' : 'blk_read_time';
my $explain_time = $major >= 17 ? 'Shared I/O Read Time' : 'I/O Read Time';
my $io_bytes = $major >= 18 ? 'read_bytes' : 'reads * op_bytes';

# What the views say now, as a hash; the session's own pending counters are
# flushed first.
sub snapshot
{
	my ($s, $table) = @_;
	$s->query_safe('SELECT pg_stat_force_next_flush()');
	my $sql = qq{
SELECT t.heap_blks_read, t.heap_blks_hit, d.blks_read, d.blk_read_time
  FROM pg_statio_user_tables t, pg_stat_database d
 WHERE t.relname = '$table' AND d.datname = current_database()};
	my @v = split /\|/, $s->query_safe($sql);
	my %snap = (
		heap_blks_read => $v[0],
		heap_blks_hit => $v[1],
		blks_read => $v[2],
		blk_read_time => $v[3]);
	if ($major >= 16)
	{
		for my $context (qw(bulkread normal))
		{
			@v = split /\|/, $s->query_safe(qq{
SELECT coalesce(sum(reads), 0), coalesce(sum($io_bytes), 0),
       coalesce(sum(read_time), 0)
  FROM pg_stat_io WHERE object = 'relation' AND context = '$context'});
			$snap{"io_${context}_reads"} = $v[0];
			$snap{"io_${context}_bytes"} = $v[1];
			$snap{"io_${context}_time"} = $v[2];
		}
	}
	return \%snap;
}

# The first plan node of type $type under $plan, depth first.
sub find_node
{
	my ($plan, $type) = @_;
	return $plan if $plan->{'Node Type'} eq $type;
	for my $child (@{ $plan->{Plans} // [] })
	{
		my $found = find_node($child, $type);
		return $found if $found;
	}
	return undef;
}

# Scan $table cold with $settings, once, under EXPLAIN (ANALYZE, BUFFERS);
# returns the EXPLAIN plan, the pg_stat_statements row of that execution and
# the deltas of the views.
sub cold_scan
{
	my ($table, $settings) = @_;
	my $query = "SELECT count(*), sum(id) FROM $table";

	$node->restart;
	my $s = $node->background_psql('postgres');
	$s->query_safe('CHECKPOINT');
	system('sync');
	my $path = $s->query_safe("SELECT pg_relation_filepath('$table')");
	evict_files($node->data_dir . "/$path");

	# load every catalog this session needs before the first snapshot
	$s->query_safe($settings);
	$s->query_safe("EXPLAIN (COSTS OFF) $query");
	snapshot($s, $table);
	$s->query_safe('SELECT pg_stat_statements_reset()');

	my $before = snapshot($s, $table);
	my $json = $s->query_safe("EXPLAIN ($explain_opts, FORMAT JSON) $query");
	my $after = snapshot($s, $table);

	my %delta = map { $_ => $after->{$_} - $before->{$_} } keys %$after;
	my @pgss = split /\|/, $s->query_safe(qq{
SELECT count(*) OVER (), shared_blks_read, shared_blks_hit, $pgss_time
  FROM pg_stat_statements
 WHERE NOT toplevel AND query ~ '$table'});
	$s->quit;

	my $explain = decode_json($json)->[0];
	return ($explain->{Plan},
		{
			entries => $pgss[0] // 0,
			shared_blks_read => $pgss[1],
			shared_blks_hit => $pgss[2],
			read_time => $pgss[3]
		},
		\%delta);
}

# The scan read (nearly) every block of a cold table directly: the blocks
# not read directly are direct copies dropped after their read and read
# again through shared buffers (PostgreSQL 18 leaves the last blocks of a
# table that CREATE TABLE AS extended in bulk empty, and an empty page is
# left to shared buffers), and all of it came from storage.
sub pages_read_directly
{
	my ($name, $scan, $blocks) = @_;
	my $rejected = $scan->{'Direct Rejected In Buffers'} +
	  $scan->{'Direct Rejected Not All-Visible'} +
	  $scan->{'Direct Rejected Bad Page'};
	cmp_ok($scan->{'Pages Direct'}, '>=', 0.99 * $blocks,
		"$name: $scan->{'Pages Direct'} of $blocks blocks read directly");
	is($scan->{'Pages Direct'} + $scan->{'Pages Read'}, $blocks,
		"$name: the others read through shared buffers");
	is($scan->{'Pages Read'}, $rejected,
		"$name: each of them a dropped direct copy ($rejected)");
	is($scan->{'Pages Hit'}, 0, "$name: none found in shared buffers");
	return;
}

# pg_stat_io (16 on) counted, in $context, every IO that read relation
# blocks: the scan's direct reads (all of them, dropped copies included:
# they were read) -- on 16 and 17 one per block, on 18 one per IO with its
# bytes -- and PostgreSQL's own reads through shared buffers: the scan's
# buffered reads, one block each, and $other blocks (the visibility map).
sub io_reads_counted
{
	my ($name, $delta, $context, $scan, $other) = @_;
	return if $major < 16;
	my $buffered = $scan->{'Pages Read'} + $other;
	my $reads =
	  $major >= 18
	  ? $scan->{Reads} + $buffered
	  : $scan->{'Read Bytes'} / $block_size + $buffered;
	is($delta->{"io_${context}_reads"}, $reads,
		"$name: pg_stat_io $context reads ($reads)");
	is($delta->{"io_${context}_bytes"},
		$scan->{'Read Bytes'} + $buffered * $block_size,
		"$name: pg_stat_io $context bytes");
	return;
}

my $parallel = q{
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
};

# --- the reference: the same scan as a Seq Scan ------------------------------
my ($ref_plan, $ref_pgss, $ref) =
  cold_scan('stat_big', 'SET pg_asyncscan.enabled = off');
is(find_node($ref_plan, 'Seq Scan') ? 1 : 0, 1, 'reference: a Seq Scan');
is($ref_plan->{'Shared Read Blocks'}, $nblocks{stat_big},
	'reference: the Seq Scan reads every block of the cold table');
is($ref->{heap_blks_read}, $nblocks{stat_big},
	'reference: heap_blks_read moves by the table\'s blocks');
is($ref_pgss->{shared_blks_read}, $nblocks{stat_big},
	'reference: so does pg_stat_statements');
is($ref->{io_bulkread_bytes}, $nblocks{stat_big} * $block_size,
	'reference: pg_stat_io bulkread bytes = the table\'s size')
  if $major >= 16;

# --- AsyncSeqScan, each method, serial and parallel ---------------------------
my @cases;
for my $method (qw(sync io_uring worker))
{
	push @cases, [ $method, "SET pg_asyncscan.io_method = '$method';", 0 ];
	push @cases,
	  [ "$method, parallel", "SET pg_asyncscan.io_method = '$method'; $parallel", 1 ];
}

for my $case (@cases)
{
	my ($name, $settings, $is_parallel) = @$case;
  SKIP:
	{
		skip "io_uring is not available here: $uring_why", 1
		  if $name =~ /io_uring/ && defined $uring_why;

		my $table = 'stat_big';
		my $blocks = $nblocks{$table};
		my ($plan, $pgss, $delta) = cold_scan($table, $settings);
		my $scan = find_node($plan, 'Custom Scan');
		note("$name: "
			  . join(', ',
				map { "$_=" . ($scan->{$_} // '?') }
				  ('Pages Direct', 'Pages Hit', 'Pages Read',
					'Direct Rejected In Buffers',
					'Direct Rejected Not All-Visible',
					'Direct Rejected Bad Page', 'Reads', 'Waits')));

		# the setting of the case, and every block read directly
		ok($scan && $scan->{'Custom Plan Provider'} eq 'AsyncSeqScan',
			"$name: AsyncSeqScan") or next;
		(my $method = $name) =~ s/,.*//;
		is($scan->{'IO Method'}, $method, "$name: read by $method");
		if ($is_parallel)
		{
			my $gather = find_node($plan, 'Gather');
			ok($gather && $gather->{'Workers Launched'} == 2,
				"$name: two workers launched");
		}
		pages_read_directly($name, $scan, $blocks);

		# blocks read: in every view the Seq Scan's + the map page
		my $expected = $ref_plan->{'Shared Read Blocks'} + $vm_pages{$table};
		is($plan->{'Shared Read Blocks'}, $expected,
			"$name: EXPLAIN shared read = Seq Scan's + visibility map ($expected)");
		is($scan->{'Shared Read Blocks'}, $expected,
			"$name: the AsyncSeqScan node's own shared read too");
		is($pgss->{entries}, 1, "$name: one pg_stat_statements entry");
		is($pgss->{shared_blks_read}, $expected,
			"$name: pg_stat_statements shared_blks_read");
		is($delta->{heap_blks_read}, $expected,
			"$name: pg_statio_user_tables heap_blks_read");
		is($delta->{blks_read}, $expected, "$name: pg_stat_database blks_read");
		# and hits agree (the map page, in the workers of a parallel scan)
		is($pgss->{shared_blks_hit}, $plan->{'Shared Hit Blocks'},
			"$name: pg_stat_statements shared_blks_hit = EXPLAIN's");
		is($delta->{heap_blks_hit}, $scan->{'Shared Hit Blocks'},
			"$name: pg_statio_user_tables heap_blks_hit = the node's hits");

		io_reads_counted($name, $delta, 'bulkread', $scan, 0);

		# read time: the scan waited, and every view has at least that time
		# (pg_stat_database adds whole microseconds, one per wait at most
		# below the scan's own measure)
		my $waited = $scan->{'Wait Time'};
		my $slack = 0.01 + 0.001 * $scan->{Waits};
		cmp_ok($scan->{Waits}, '>', 0, "$name: the scan waited for reads");
		cmp_ok($plan->{$explain_time}, '>=', $waited - 0.01,
			"$name: EXPLAIN $explain_time ($plan->{$explain_time} ms) covers "
			  . "the scan's waits ($waited ms)");
		cmp_ok($pgss->{read_time}, '>=', $waited - 0.01,
			"$name: pg_stat_statements $pgss_time ($pgss->{read_time} ms) covers them");
		cmp_ok($delta->{blk_read_time}, '>=', $waited - $slack,
			sprintf("$name: pg_stat_database blk_read_time grew by %.3f ms",
				$delta->{blk_read_time}));
		cmp_ok($delta->{io_bulkread_time}, '>=', $waited - $slack,
			sprintf("$name: pg_stat_io bulkread read_time grew by %.3f ms",
				$delta->{io_bulkread_time}))
		  if $major >= 16;
	}
}

# --- a table smaller than a quarter of shared_buffers: normal context -------
{
	my $table = 'stat_small';
	my $blocks = $nblocks{$table};
	my ($plan, $pgss, $delta) =
	  cold_scan($table, "SET pg_asyncscan.io_method = 'sync'");
	my $scan = find_node($plan, 'Custom Scan');
	pages_read_directly('small table', $scan, $blocks);
	my $expected = $blocks + $vm_pages{$table};
	is($plan->{'Shared Read Blocks'}, $expected,
		"small table: EXPLAIN shared read = blocks + visibility map ($expected)");
	is($pgss->{shared_blks_read}, $expected,
		'small table: pg_stat_statements shared_blks_read');
	is($delta->{heap_blks_read}, $expected, 'small table: heap_blks_read');
	if ($major >= 16)
	{
		is($delta->{io_bulkread_reads}, 0,
			'small table: nothing in the bulk-read context of pg_stat_io');
		io_reads_counted('small table', $delta, 'normal', $scan,
			$vm_pages{$table});
		cmp_ok($delta->{io_normal_time}, '>', 0,
			'small table: pg_stat_io normal read_time grew');
	}
}

# --- a private copy read again through shared buffers counts once ----------
# Rows this transaction updated can only be judged in shared buffers: the
# scan reads their pages directly, finds them undecided and reads them again
# through shared buffers, which count them.  Per statement, every page is
# still one hit or one read, as for a Seq Scan in the same state (moving the
# table to another tablespace and back copies its files past shared buffers,
# so neither scan finds any of its pages there).
{
	$node->safe_psql(
		'postgres', q{
CREATE TABLE stat_mixed AS
  SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 18000) g;
VACUUM (FREEZE) stat_mixed;
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE stat_evict LOCATION '';
});
	my $query = 'SELECT count(*), sum(id) FROM stat_mixed';
	my $s = $node->background_psql('postgres');
	$s->query_safe(
		q{SET pg_asyncscan.io_method = 'sync';
BEGIN;
UPDATE stat_mixed SET pad = pad WHERE id <= 300;
ALTER TABLE stat_mixed SET TABLESPACE stat_evict;
SELECT pg_stat_statements_reset();});
	my $ours = decode_json(
		$s->query_safe("EXPLAIN ($explain_opts, FORMAT JSON) $query"))->[0]{Plan};
	my @pgss = split /\|/, $s->query_safe(
		q{SELECT shared_blks_read, shared_blks_hit FROM pg_stat_statements
		   WHERE NOT toplevel AND query ~ 'stat_mixed'});
	$s->query_safe(
		q{ALTER TABLE stat_mixed SET TABLESPACE pg_default;
SET LOCAL pg_asyncscan.enabled = off;});
	my $seq = decode_json(
		$s->query_safe("EXPLAIN ($explain_opts, FORMAT JSON) $query"))->[0]{Plan};
	my $vm = $s->query_safe(
		"SELECT pg_relation_size('stat_mixed', 'vm') / current_setting('block_size')::int");
	$s->query_safe('ROLLBACK');
	$s->quit;

	my $scan = find_node($ours, 'Custom Scan');
	ok($scan && find_node($seq, 'Seq Scan'),
		'read again: AsyncSeqScan, then a Seq Scan');
	cmp_ok($scan->{'Direct Rejected Undecided'}, '>', 0,
		"read again: $scan->{'Direct Rejected Undecided'} private copies "
		  . 'read again through shared buffers');
	cmp_ok($scan->{'Pages Direct'}, '>', 0,
		"read again: $scan->{'Pages Direct'} pages used from private copies");
	my $pages = $scan->{'Pages Direct'} + $scan->{'Pages Hit'} + $scan->{'Pages Read'};
	my $blocks_ours = $ours->{'Shared Read Blocks'} + $ours->{'Shared Hit Blocks'};
	my $blocks_seq = $seq->{'Shared Read Blocks'} + $seq->{'Shared Hit Blocks'};
	is($blocks_seq, $pages, "read again: the Seq Scan counts each page once ($pages)");
	is($blocks_ours, $blocks_seq + $vm,
		'read again: EXPLAIN shared hit + read = the Seq Scan\'s + visibility map');
	is($pgss[0] + $pgss[1], $blocks_ours,
		'read again: pg_stat_statements hit + read = EXPLAIN\'s');
}

# --- track_io_timing off: counted, but no time --------------------------------
{
	my ($plan, $pgss, $delta) = cold_scan('stat_big',
		"SET pg_asyncscan.io_method = 'sync'; SET track_io_timing = off");
	my $scan = find_node($plan, 'Custom Scan');
	is($plan->{'Shared Read Blocks'}, $nblocks{stat_big} + 1,
		'track_io_timing off: blocks still counted');
	cmp_ok($scan->{Waits}, '>', 0, 'track_io_timing off: the scan waited');
	is($plan->{$explain_time} // 0, 0, 'track_io_timing off: no EXPLAIN read time');
	is($pgss->{read_time}, 0, 'track_io_timing off: no pg_stat_statements read time');
	is($delta->{blk_read_time}, 0, 'track_io_timing off: no pg_stat_database read time');
}

$node->stop;
done_testing();
