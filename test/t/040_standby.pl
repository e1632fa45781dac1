
# Copyright (c) pg_asyncscan authors
#
# 040_standby.pl
#	AsyncSeqScan on a hot standby: the same rows as a Seq Scan on the
#	standby and on the primary (every row compared, by a hash of its ctid
#	and columns), and never the direct path (a snapshot taken during
#	recovery cannot trust all-visible bits: README, "Correctness: what the
#	direct path trusts"), although the standby's visibility map marks
#	every block all-visible and the primary reads the same table directly;
#	also while the primary keeps changing the table.  The reliability line
#	counts only cases whose assertions all held.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::Bin/../perl";
use AsyncScanTest qw(io_analyze);

my $primary = PostgreSQL::Test::Cluster->new('primary');
# the EXPLAIN options that show AsyncSeqScan's IO counters (ASYNCIO on 18)
my $io_analyze = io_analyze($primary);
$primary->init(allows_streaming => 1, extra => ['--data-checksums']);
$primary->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_asyncscan'
max_parallel_workers_per_gather = 0
});
$primary->start;
$primary->safe_psql('postgres', q{
CREATE EXTENSION pg_asyncscan;
CREATE EXTENSION pg_visibility;
CREATE TABLE t (id int, v int, pad text) WITH (autovacuum_enabled = off);
INSERT INTO t SELECT g, g, repeat('s', 200) FROM generate_series(1, 100000) g;
VACUUM t;
});

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

# some blocks changed after the backup, replayed on the standby; VACUUM
# then sets every block all-visible again, and its visibility map changes
# are replayed too
$primary->safe_psql('postgres', 'UPDATE t SET v = -v WHERE id % 1000 = 0');
# (VACUUM skips pruning a block whose cleanup lock it cannot get at once --
# the checkpointer may be writing it -- and leaves it not all-visible:
# again until every block is)
my $not_all_visible;
foreach my $try (1 .. 20)
{
	$primary->safe_psql('postgres', 'VACUUM t');
	$not_all_visible = $primary->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE NOT all_visible) FROM pg_visibility_map('t')});
	last if $not_all_visible == 0;
	sleep 1;
}
is($not_all_visible, '0', 'primary: VACUUM set every block all-visible');
$primary->wait_for_catchup($standby);

# every row, in full: a count, sums, and a hash of each row's ctid and
# columns in id order
my $q = q{SELECT count(*), sum(v), sum(id),
	md5(string_agg(ctid::text || ':' || id || ':' || v || ':' || pad, ',' ORDER BY id))
	FROM t};
my $set = 'SET pg_asyncscan.min_relation_size = 0;';
my $seq = $standby->safe_psql('postgres', "$set SET pg_asyncscan.enabled = off; $q");
like($seq, qr/^100000\|4989950000\|5000050000\|[0-9a-f]{32}$/,
	'standby: the Seq Scan sees every row, 100 of them updated');
my $async = $standby->safe_psql('postgres', "$set $q");
is($async, $seq, 'standby: AsyncSeqScan returns the Seq Scan rows');
is($async, $primary->safe_psql('postgres', "SET pg_asyncscan.enabled = off; $q"),
	'standby: the same as the primary');

# The direct path is not refused for want of all-visible blocks: the
# standby's visibility map (replayed from the primary) marks every block
# all-visible, and on the primary, where a snapshot may trust it, the
# same scan after a restart (nothing of t in shared buffers) reads the
# blocks directly.
my $blocks = $standby->safe_psql('postgres',
	"SELECT pg_relation_size('t') / 8192");
is( $standby->safe_psql(
		'postgres',
		q{SELECT count(*) FILTER (WHERE all_visible) FROM pg_visibility_map('t')}),
	$blocks,
	"standby: the visibility map marks all $blocks blocks all-visible");
$primary->restart;
{
	my $json = $primary->safe_psql('postgres',
		"$set EXPLAIN ($io_analyze, FORMAT JSON, COSTS OFF, TIMING OFF) $q");
	my ($direct) = $json =~ /"Pages Direct": (\d+)/;
	cmp_ok($direct // 0, '>', $blocks / 2,
		"primary (positive control): the same scan reads $direct of $blocks blocks directly");
}

# For every IO method and direct_io setting: restart the standby so nothing
# of t is in shared buffers (the direct path would read every all-visible
# block if it were allowed), then the plan, the counters and the rows.
my ($cases, $rows) = (0, 0);
foreach my $method (qw(sync io_uring worker))
{
	foreach my $direct_io (qw(off on))
	{
		my $case = "standby, $method, direct_io $direct_io";
		my $mset = "$set SET pg_asyncscan.io_method = $method; "
		  . "SET pg_asyncscan.direct_io = $direct_io;";
		$standby->restart;
		my $json = $standby->safe_psql('postgres',
			"$mset EXPLAIN ($io_analyze, FORMAT JSON, COSTS OFF, TIMING OFF) $q");
		my $ok = like($json, qr/"Custom Plan Provider": "AsyncSeqScan"/,
			"$case: AsyncSeqScan");
		$ok &= like($json, qr/"IO Method": "$method"/, "$case: IO method $method");
		$ok &= like($json, qr/"Pages Direct": 0\b/, "$case: never reads directly");
		my ($read) = $json =~ /"Pages Read": (\d+)/;
		my ($hit) = $json =~ /"Pages Hit": (\d+)/;
		$ok &= is($read + $hit, $blocks, "$case: every block through shared buffers");
		$ok &= is($standby->safe_psql('postgres', "$mset $q"),
			$seq, "$case: the Seq Scan's rows");
		# counted only when every assertion of the case held
		if ($ok)
		{
			$cases++;
			$rows += 100000;
		}
	}
}

# writers on the primary while the standby scans
for my $round (1 .. 5)
{
	my $method = (qw(sync io_uring worker))[ $round % 3 ];
	$primary->safe_psql('postgres',
		"UPDATE t SET v = v + 1 WHERE id % 97 = $round");
	$primary->wait_for_catchup($standby);
	my $seq_round = $standby->safe_psql('postgres',
		"$set SET pg_asyncscan.enabled = off; $q");
	if (is( $standby->safe_psql('postgres',
				"$set SET pg_asyncscan.io_method = $method; $q"),
			$seq_round,
			"round $round ($method): standby scans agree after replayed updates"))
	{
		$cases++;
		$rows += (split /\|/, $seq_round)[0];
	}
}
diag("reliability: hot standby, same rows as Seq Scan, never the direct path: cases=$cases rows=$rows");

# (TRAP, a failed assertion, can only appear on an assertion-enabled
# server: PostgreSQL 18 as test/build_pg.sh builds it; Debian's 15 has none)
my $log = slurp_file($standby->logfile);
unlike($log, qr/TRAP|PANIC|terminated by signal/, 'standby log clean');

$standby->stop;
$primary->stop;
done_testing();
