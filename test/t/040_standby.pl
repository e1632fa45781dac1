
# Copyright (c) pg_asyncscan authors
#
# 040_standby.pl
#	AsyncSeqScan on a hot standby: the same rows as a Seq Scan on the
#	standby and on the primary, and never the direct path (a snapshot taken
#	during recovery cannot trust all-visible bits: design.md section 4,
#	rule 1), also while the primary keeps changing the table.

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
CREATE TABLE t (id int, v int, pad text) WITH (autovacuum_enabled = off);
INSERT INTO t SELECT g, g, repeat('s', 200) FROM generate_series(1, 100000) g;
VACUUM t;
});

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

# some blocks changed after the backup, replayed on the standby
$primary->safe_psql('postgres', 'UPDATE t SET v = -v WHERE id % 1000 = 0');
$primary->wait_for_catchup($standby);

my $q = 'SELECT count(*), sum(v), sum(id) FROM t';
my $set = 'SET pg_asyncscan.min_relation_size = 0;';
my $seq = $standby->safe_psql('postgres', "$set SET pg_asyncscan.enabled = off; $q");
my $async = $standby->safe_psql('postgres', "$set $q");
is($async, $seq, 'standby: AsyncSeqScan returns the Seq Scan rows');
is($async, $primary->safe_psql('postgres', "SET pg_asyncscan.enabled = off; $q"),
	'standby: the same as the primary');

# For every IO method and direct_io setting: restart the standby so nothing
# of t is in shared buffers (the direct path would read every all-visible
# block if it were allowed), then the plan, the counters and the rows.
my $blocks = $standby->safe_psql('postgres',
	"SELECT pg_relation_size('t') / 8192");
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
		like($json, qr/"Custom Plan Provider": "AsyncSeqScan"/,
			"$case: AsyncSeqScan");
		like($json, qr/"IO Method": "$method"/, "$case: IO method $method");
		like($json, qr/"Pages Direct": 0\b/, "$case: never reads directly");
		my ($read) = $json =~ /"Pages Read": (\d+)/;
		my ($hit) = $json =~ /"Pages Hit": (\d+)/;
		is($read + $hit, $blocks, "$case: every block through shared buffers");
		is($standby->safe_psql('postgres', "$mset $q"),
			$seq, "$case: the Seq Scan's rows");
		$cases++;
		$rows += 100000;
	}
}

# writers on the primary while the standby scans
for my $round (1 .. 5)
{
	my $method = (qw(sync io_uring worker))[ $round % 3 ];
	$primary->safe_psql('postgres',
		"UPDATE t SET v = v + 1 WHERE id % 97 = $round");
	$primary->wait_for_catchup($standby);
	is( $standby->safe_psql('postgres',
			"$set SET pg_asyncscan.io_method = $method; $q"),
		$standby->safe_psql('postgres', "$set SET pg_asyncscan.enabled = off; $q"),
		"round $round ($method): standby scans agree after replayed updates");
	$cases++;
	$rows += 100000;
}
diag("reliability: hot standby, same rows as Seq Scan, never the direct path: cases=$cases rows=$rows");

my $log = slurp_file($standby->logfile);
unlike($log, qr/TRAP|PANIC|terminated by signal/, 'standby log clean');

$standby->stop;
$primary->stop;
done_testing();
