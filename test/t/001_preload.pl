
# Copyright (c) pg_asyncscan authors
#
# 001_preload.pl
#	  pg_asyncscan loaded through shared_preload_libraries, on a cluster
#	  with data checksums.
#
# After a restart shared buffers are empty, so a scan of a VACUUMed table
# reads nearly every block by the direct path (verifying each checksum
# itself).  Every query here runs in a new session that never says LOAD:
# only the preload can have put the planner hook there.  The key queries
# must return the same output with pg_asyncscan.enabled on (Custom Scan
# AsyncSeqScan) and off (Seq Scan).  A database without CREATE EXTENSION
# keeps plain Seq Scans although the library is loaded.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::Bin/../perl";
use AsyncScanTest qw(io_analyze);

my $node = PostgreSQL::Test::Cluster->new('preload');
# the EXPLAIN options that show AsyncSeqScan's IO counters (ASYNCIO on 18)
my $io_analyze = io_analyze($node);
$node->init(extra => ['--data-checksums']);
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_asyncscan'
shared_buffers = 128MB
max_parallel_workers_per_gather = 0
autovacuum = off
# a Seq Scan of a big table may otherwise start where the last one stopped,
# and LIMIT without ORDER BY would return other rows
synchronize_seqscans = off
});
$node->start;

is($node->safe_psql('postgres', 'SHOW data_checksums'),
	'on', 'cluster has data checksums');
is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'pg_asyncscan', 'pg_asyncscan is in shared_preload_libraries');
# the GUCs exist in a new session without LOAD: the library is preloaded
is($node->safe_psql('postgres', 'SHOW pg_asyncscan.enabled'),
	'on', 'pg_asyncscan GUCs are defined in a new session without LOAD');

# a table of about 40MB, above the default min_relation_size (8MB), and a
# small one to join with
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_asyncscan;
CREATE TABLE big (id int NOT NULL, g int NOT NULL, flag bool, pad text);
INSERT INTO big
	SELECT i, i % 100, i % 3 = 0, md5(i::text)
	FROM generate_series(1, 500000) i;
CREATE TABLE dim (g int PRIMARY KEY, name text);
INSERT INTO dim SELECT g, 'group ' || (g % 10) FROM generate_series(0, 99) g;
VACUUM (ANALYZE) big;
VACUUM (ANALYZE) dim;
CHECKPOINT;
});

my $nblocks = $node->safe_psql('postgres',
	q{SELECT pg_relation_size('big') / current_setting('block_size')::int});
cmp_ok($nblocks, '>', 4000, "table big has $nblocks blocks (over 30MB)");

# empty shared buffers
$node->restart;

# Run query in a new session with pg_asyncscan.enabled set to $enabled.
sub run_query
{
	my ($enabled, $query) = @_;
	return $node->safe_psql('postgres',
		"SET pg_asyncscan.enabled = $enabled;\n$query");
}

# Run query under EXPLAIN (ANALYZE, FORMAT JSON) in a new session; return
# "node|Pages Direct|Pages Hit|Pages Read|Direct Rejected Bad Page|rows" of
# the node scanning big.  The helper function lives in pg_temp, so nothing
# is left behind.
sub scan_stats_session
{
	my ($query) = @_;
	return $node->safe_psql(
		'postgres', qq{
CREATE FUNCTION pg_temp.explain_json(q text) RETURNS jsonb
LANGUAGE plpgsql AS \$f\$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF, FORMAT JSON) ' || q
		INTO plan;
	RETURN plan::jsonb;
END \$f\$;
SELECT coalesce(n->>'Custom Plan Provider', n->>'Node Type') || '|' ||
	   coalesce(n->>'Pages Direct', '-1') || '|' ||
	   coalesce(n->>'Pages Hit', '-1') || '|' ||
	   coalesce(n->>'Pages Read', '-1') || '|' ||
	   coalesce(n->>'Direct Rejected Bad Page', '-1') || '|' ||
	   coalesce((n->>'Actual Rows')::numeric::bigint, -1)
FROM jsonb_path_query(pg_temp.explain_json(\$q\$$query\$q\$),
					  'strict \$.** ? (\@."Relation Name" == "big")') AS n;
});
}

# first thing after the restart: the direct path must be taken
{
	my @f = split /\|/,
	  scan_stats_session('SELECT count(*), sum(id) FROM big');
	is($f[0], 'AsyncSeqScan', 'cold scan after restart is an AsyncSeqScan');
	cmp_ok($f[1], '>', 0, "cold scan read $f[1] pages directly (Pages Direct > 0)");
	is($f[1] + $f[2] + $f[3], $nblocks,
		'Pages Direct + Pages Hit + Pages Read = blocks of the table');
	is($f[4], 0, 'no direct page failed its header or checksum check');
	cmp_ok($f[1], '>=', $nblocks - 64,
		'nearly every block was read directly (shared buffers were empty)');
}

# the plans
like(
	run_query('on', 'EXPLAIN (COSTS OFF) SELECT count(*) FROM big'),
	qr/Custom Scan \(AsyncSeqScan\) on big/,
	'plan with pg_asyncscan.enabled = on uses AsyncSeqScan');
unlike(
	run_query('off', 'EXPLAIN (COSTS OFF) SELECT count(*) FROM big'),
	qr/AsyncSeqScan/,
	'plan with pg_asyncscan.enabled = off has no AsyncSeqScan');
like(
	run_query('off', 'EXPLAIN (COSTS OFF) SELECT count(*) FROM big'),
	qr/Seq Scan on big/,
	'plan with pg_asyncscan.enabled = off is a Seq Scan');

# the key queries: same output with the extension on and off
my @queries = (
	[ 'count', 'SELECT count(*) FROM big' ],
	[ 'sum', 'SELECT sum(id), sum(g), sum(length(pad)) FROM big' ],
	[ 'filter', 'SELECT count(*), sum(id) FROM big WHERE flag AND g < 50' ],
	[
		'filter rows',
		'SELECT id, g, flag, pad FROM big WHERE id % 25000 = 0 ORDER BY id'
	],
	[
		'group by',
		'SELECT g, count(*), sum(id), bool_and(flag) FROM big GROUP BY g ORDER BY g'
	],
	[
		'join',
		'SELECT d.name, count(*), sum(b.id) FROM big b JOIN dim d ON d.g = b.g '
		  . 'WHERE b.id % 7 = 0 GROUP BY d.name ORDER BY d.name'
	],
	[ 'limit', 'SELECT id, g FROM big LIMIT 5' ],
	[ 'limit count', 'SELECT count(*) FROM (SELECT id FROM big LIMIT 12345) s' ],
	[
		'cursor',
		"BEGIN;\n"
		  . "DECLARE c CURSOR FOR SELECT id, g FROM big WHERE id % 40000 = 0;\n"
		  . "FETCH 3 FROM c;\n"
		  . "FETCH ALL FROM c;\n"
		  . "COMMIT;"
	],
	[ 'empty result', 'SELECT id FROM big WHERE id < 0' ],);

foreach my $q (@queries)
{
	my ($name, $sql) = @$q;

	my $plan = run_query('on', "EXPLAIN (COSTS OFF) $sql")
	  unless $name eq 'cursor';
	like($plan, qr/Custom Scan \(AsyncSeqScan\) on big/,
		"$name: planned as AsyncSeqScan")
	  unless $name eq 'cursor';

	my $on = run_query('on', $sql);
	my $off = run_query('off', $sql);
	is($on, $off, "$name: same result with pg_asyncscan.enabled on and off");
}

# a few known answers, so that "same result" is not "same wrong result"
is(run_query('on', 'SELECT count(*), sum(id) FROM big'),
	'500000|125000250000', 'count and sum(id) are right');
is(run_query('on', 'SELECT count(*) FROM big WHERE flag'),
	'166666', 'count of flag rows is right');
is( run_query('on', 'SELECT count(*) FROM (SELECT id FROM big LIMIT 12345) s'),
	'12345',
	'LIMIT returns its rows');

# the cursor, from a new session: the scan keeps working across FETCHes
is( run_query(
		'on',
		"BEGIN;\n"
		  . "DECLARE c CURSOR FOR SELECT id FROM big WHERE id % 100000 = 0;\n"
		  . "FETCH 2 FROM c;\n"
		  . "FETCH ALL FROM c;\n"
		  . "COMMIT;"),
	"100000\n200000\n300000\n400000\n500000",
	'cursor returns the right rows across FETCHes');

# the table is in shared buffers now, partly: scans still agree and the
# direct path still verified every page it used
{
	my @f = split /\|/,
	  scan_stats_session('SELECT count(*), sum(id) FROM big');
	is($f[0], 'AsyncSeqScan', 'warm scan is an AsyncSeqScan');
	is($f[1] + $f[2] + $f[3], $nblocks,
		'warm scan: Pages Direct + Pages Hit + Pages Read = blocks');
	is($f[4], 0, 'warm scan: no direct page failed its checks');
	is($f[5], 500000, 'warm scan: the scan node returned every row');
}

# a database without CREATE EXTENSION: the library is loaded (preloaded)
# but the planner hook must not offer AsyncSeqScan there
$node->safe_psql('postgres', 'CREATE DATABASE noext');
$node->safe_psql(
	'noext', q{
CREATE TABLE big (id int NOT NULL, g int NOT NULL);
INSERT INTO big SELECT i, i % 100 FROM generate_series(1, 200000) i;
VACUUM (ANALYZE) big;
});
is( $node->safe_psql(
		'noext',
		q{SELECT count(*) FROM pg_extension WHERE extname = 'pg_asyncscan'}),
	'0',
	'database noext does not have the extension');
is($node->safe_psql('noext', 'SHOW pg_asyncscan.enabled'),
	'on', 'library is loaded in database noext (GUCs exist)');
my $noext_plan = $node->safe_psql(
	'noext', q{
SET pg_asyncscan.min_relation_size = 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM big;
});
like($noext_plan, qr/Seq Scan on big/,
	'database without the extension gets a Seq Scan');
unlike($noext_plan, qr/AsyncSeqScan/,
	'database without the extension gets no AsyncSeqScan');
is( $node->safe_psql(
		'noext', q{
SET pg_asyncscan.min_relation_size = 0;
SELECT count(*), sum(id) FROM big;
}),
	'200000|20000100000',
	'query in database without the extension is right');

# and the main database still plans AsyncSeqScan after all that
like(
	run_query('on', 'EXPLAIN (COSTS OFF) SELECT count(*) FROM big'),
	qr/Custom Scan \(AsyncSeqScan\) on big/,
	'main database still uses AsyncSeqScan');

$node->stop;

# nothing crashed or tripped an assertion
my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP/, 'server log has no TRAP (failed assertion)');
unlike($log, qr/PANIC/, 'server log has no PANIC');
unlike($log, qr/terminated by signal/,
	'server log has no process terminated by signal');

done_testing();
