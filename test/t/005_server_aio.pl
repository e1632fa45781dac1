
# Copyright (c) pg_asyncscan authors
#
# 005_server_aio.pl
#	  PostgreSQL 18 and later: AsyncSeqScan beside the server's own AIO.
#
# PostgreSQL 18 reads through shared buffers with asynchronous IO of its
# own (io_method = sync | worker | io_uring, fixed at server start).  Our
# pg_asyncscan.io_method is a different setting, chosen per session, for
# the reads AsyncSeqScan issues itself.  For every server io_method and
# every one of ours, with direct_io off and on, on a table with both
# all-visible blocks and blocks that are not (all of them read directly, by
# our method, the latter with their tuples checked one by one) and, with
# pg_asyncscan.direct_reads off, the same table read through shared
# buffers (by the server's method):
#	- the scan returns exactly what a Seq Scan returns, either way;
#	- EXPLAIN (ANALYZE, ASYNCIO) names both: "IO Method" is ours and
#	  "Buffered IO Method" is the server's, with pages counted on the path
#	  each took;
#	- plain EXPLAIN ANALYZE shows the method but not our counters.
# Skipped before PostgreSQL 18 (no server AIO, no extension EXPLAIN options).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use AsyncScanTest qw(init_preloaded);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('server_aio');
plan skip_all => 'server AIO and extension EXPLAIN options exist from PostgreSQL 18 on'
  if $node->pg_version < 18;

init_preloaded($node, q{
shared_buffers = 16MB
});
$node->start;

# 3000 blocks; every 10th block changed after VACUUM, so not all-visible
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_asyncscan;
CREATE TABLE a (id int NOT NULL, pad text NOT NULL) WITH (fillfactor = 50);
INSERT INTO a SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 60000) g;
VACUUM (FREEZE) a;
UPDATE a SET pad = 'changed' WHERE (ctid::text::point)[0]::int % 10 = 0
	AND (ctid::text::point)[1] = 1;
CHECKPOINT;
});

my $query = q{SELECT count(*), sum(id), md5(string_agg(pad, ',' ORDER BY id)) FROM a};
my $seqscan = $node->safe_psql('postgres',
	"SET pg_asyncscan.enabled = off; $query");

my ($cases, $rows) = (0, 0);
foreach my $server_method (qw(sync worker io_uring))
{
	# the last setting in the file wins
	$node->append_conf('postgresql.conf', "io_method = $server_method");
	$node->restart;
	is($node->safe_psql('postgres', 'SHOW io_method'),
		$server_method, "server io_method = $server_method");

	foreach my $method (qw(sync io_uring worker))
	{
		foreach my $direct_io (qw(off on))
		{
			my $case = "server $server_method, ours $method, direct_io $direct_io";
			my $set = "SET pg_asyncscan.io_method = $method; "
			  . "SET pg_asyncscan.direct_io = $direct_io;";

			my $ok = is($node->safe_psql('postgres', "$set $query"),
				$seqscan, "$case: same rows as Seq Scan");
			$ok &= is(
				$node->safe_psql('postgres',
					"$set SET pg_asyncscan.direct_reads = off; $query"),
				$seqscan, "$case, direct reads off: same rows as Seq Scan");

			# the direct path: every block, those not all-visible with
			# their tuples checked
			evict_ours();
			my $json = $node->safe_psql('postgres',
				"$set EXPLAIN (ANALYZE, ASYNCIO, COSTS OFF, TIMING OFF, FORMAT JSON) $query"
			);
			my ($ours) = $json =~ /"Custom Plan Provider": "AsyncSeqScan".*?"IO Method": "(\w+)"/s;
			$ok &= is($ours, $method, "$case: EXPLAIN names our method");
			$ok &= like($json, qr/"Buffered IO Method": "$server_method"/,
				"$case: EXPLAIN names the server's method for buffered reads");
			my ($direct) = $json =~ /"Pages Direct": (\d+)/;
			my ($checked) = $json =~ /"Pages Direct Tuples Checked": (\d+)/;
			$ok &= ok(defined $direct && $direct > 0,
				"$case: blocks read directly ($direct)");
			$ok &= ok(defined $checked && $checked > 0 && $checked < $direct,
				"$case: the blocks that are not all-visible among them, tuples checked ($checked)");

			# direct reads off: every block through shared buffers, read
			# by the server's method
			evict_ours();
			$json = $node->safe_psql('postgres',
				"$set SET pg_asyncscan.direct_reads = off; "
				  . "EXPLAIN (ANALYZE, ASYNCIO, COSTS OFF, TIMING OFF, FORMAT JSON) $query"
			);
			$ok &= like($json, qr/"Buffered IO Method": "$server_method"/,
				"$case, direct reads off: EXPLAIN names the server's method");
			($direct) = $json =~ /"Pages Direct": (\d+)/;
			my ($read) = $json =~ /"Pages Read": (\d+)/;
			$ok &= ok(defined $direct && $direct == 0 && defined $read && $read > 0,
				"$case, direct reads off: blocks read through shared buffers ("
				  . ($read // 'none') . ")");
			# counted only when every assertion of the case held
			if ($ok)
			{
				$rows += 60000;
				$cases++;
			}
		}
	}
}

# evict our table from shared buffers: a restart would be slow, so read
# another table through them instead
sub evict_ours
{
	$node->safe_psql('postgres', q{
		DROP TABLE IF EXISTS filler;
		CREATE TABLE filler AS
			SELECT g, repeat('f', 500) AS f FROM generate_series(1, 60000) g;
		SELECT count(*) FROM filler;
	});
}

# without ASYNCIO, EXPLAIN ANALYZE shows the method only
my $plain = $node->safe_psql('postgres',
	"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, BUFFERS OFF) $query");
like($plain, qr/IO Method: \w+/, 'EXPLAIN ANALYZE: the IO method');
unlike($plain, qr/IO: method=|Reads: count=/,
	'EXPLAIN ANALYZE without ASYNCIO: no IO counters');

# (TRAP, a failed assertion: this file runs on 18 only, whose build by
# test/build_pg.sh has assertions enabled)
ok(!$node->log_contains(qr/TRAP|PANIC|terminated by signal/),
	'no crash, no failed assertion');
diag("reliability: beside PostgreSQL 18's own AIO, every server x our io_method: cases=$cases rows=$rows");

$node->stop;
done_testing();
