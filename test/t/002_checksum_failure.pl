
# Copyright (c) pg_asyncscan authors
#
# 002_checksum_failure.pl
#	  A corrupted block must not reach the user through the direct path.
#
# design.md section 4, rules 5 and 6: a page read directly whose checksum
# does not verify is dropped and read again through shared buffers, and
# only that buffered read may raise the checksum error.  So an AsyncSeqScan
# over a corrupted block fails exactly as a Seq Scan does, and with
# ignore_checksum_failure = on it returns exactly what a Seq Scan returns
# (the buffered read's view of the page) and counts the dropped copy in
# "Direct Rejected Bad Page".

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::Bin/../perl";
use AsyncScanTest qw(io_analyze);

my $node = PostgreSQL::Test::Cluster->new('checksum');
# the EXPLAIN options that show AsyncSeqScan's IO counters (ASYNCIO on 18)
my $io_analyze = io_analyze($node);
$node->init(extra => ['--data-checksums']);
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_asyncscan'
max_parallel_workers_per_gather = 0
autovacuum = off
synchronize_seqscans = off
});
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_asyncscan;
CREATE TABLE c (id int NOT NULL, pad text NOT NULL);
INSERT INTO c SELECT i, repeat(md5(i::text), 3)
	FROM generate_series(1, 20000) i;
VACUUM c;
CHECKPOINT;
});
my $nblocks = $node->safe_psql('postgres',
	q{SELECT pg_relation_size('c') / current_setting('block_size')::int});
my $blcksz = $node->safe_psql('postgres', 'SHOW block_size');
my $relpath = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('c')});
my $all_visible = $node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_class WHERE relname = 'c' AND relallvisible = relpages});
is($all_visible, '1', "table c ($nblocks blocks) is all-visible");

# corrupt tuple data in the middle of block 10, with the server stopped
my $corrupt_block = 10;
$node->stop;
{
	my $file = $node->data_dir . '/' . $relpath;
	open my $fh, '+<', $file or die "could not open $file: $!";
	binmode $fh;
	sysseek($fh, $corrupt_block * $blcksz + $blcksz / 2, 0)
	  or die "could not seek in $file: $!";
	syswrite($fh, 'CORRUPTED') == 9 or die "could not write $file: $!";
	close $fh;
}
$node->start;

my $query = 'SELECT count(*), sum(id), sum(length(pad)) FROM c';
my $setup = "SET pg_asyncscan.min_relation_size = 0;";

like(
	$node->safe_psql('postgres', "$setup EXPLAIN (COSTS OFF) $query"),
	qr/Custom Scan \(AsyncSeqScan\) on c/,
	'query is planned as AsyncSeqScan');

# Each scan starts with empty shared buffers: a failed read leaves the
# block's buffer behind (tag valid, contents not), which would send the
# next AsyncSeqScan to the buffered path from the start.
my ($ret_on, $out_on, $err_on) = $node->psql('postgres',
	"$setup SET pg_asyncscan.enabled = on; $query");
$node->restart;
my ($ret_off, $out_off, $err_off) = $node->psql('postgres',
	"$setup SET pg_asyncscan.enabled = off; $query");
$node->restart;

isnt($ret_off, 0, 'Seq Scan over the corrupted block fails');
like(
	$err_off,
	qr/invalid page in block $corrupt_block of relation/,
	'Seq Scan reports the invalid page');
isnt($ret_on, 0,
	'AsyncSeqScan over the corrupted block fails too (no silent direct read)');
is($out_on, '', 'AsyncSeqScan returned no result');
like(
	$err_on,
	qr/invalid page in block $corrupt_block of relation/,
	'AsyncSeqScan reports the invalid page');
(my $msg_on = $err_on) =~ s/^.*?ERROR:\s*//s;
(my $msg_off = $err_off) =~ s/^.*?ERROR:\s*//s;
is($msg_on, $msg_off, 'AsyncSeqScan raises the same error as a Seq Scan');

# ignore_checksum_failure: the buffered read warns and goes on; both scans
# return the same; the direct copy of the block was dropped
my $explain = $node->safe_psql(
	'postgres', qq{
$setup
SET ignore_checksum_failure = on;
SET client_min_messages = error;
CREATE FUNCTION pg_temp.explain_json(q text) RETURNS jsonb
LANGUAGE plpgsql AS \$f\$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF, FORMAT JSON) ' || q
		INTO plan;
	RETURN plan::jsonb;
END \$f\$;
SELECT n->>'Custom Plan Provider', n->>'Direct Rejected Bad Page',
	   n->>'Pages Direct'
FROM jsonb_path_query(pg_temp.explain_json('$query'),
					  'strict \$.** ? (\@."Relation Name" == "c")') AS n;
});
my @f = split /\|/, $explain;
is($f[0], 'AsyncSeqScan', 'EXPLAIN ANALYZE ran an AsyncSeqScan');
is($f[1], '1', 'exactly one direct copy was dropped as a bad page');
cmp_ok($f[2], '>', 0, 'the other blocks were read directly');

my $on = $node->safe_psql('postgres',
	"$setup SET ignore_checksum_failure = on; SET client_min_messages = error; "
	  . "SET pg_asyncscan.enabled = on; $query");
my $off = $node->safe_psql('postgres',
	"$setup SET ignore_checksum_failure = on; SET client_min_messages = error; "
	  . "SET pg_asyncscan.enabled = off; $query");
is($on, $off,
	'with ignore_checksum_failure both scans return the same result');

$node->stop;

my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP/, 'server log has no TRAP (failed assertion)');
unlike($log, qr/PANIC/, 'server log has no PANIC');
unlike($log, qr/terminated by signal/,
	'server log has no process terminated by signal');

done_testing();
