
# Copyright (c) pg_asyncscan authors
#
# 071_soak.pl
#	  Randomised soak: AsyncSeqScans with random settings, over a table that
#	  writers and VACUUM keep changing, must return exactly what a Seq Scan
#	  returns under the same snapshot.
#
# 070_concurrency.pl places each kind of write at chosen blocks around a
# paused scan; this test looks for the races nobody thought of.  For
# ASYNCSCAN_SOAK_SECONDS (default 120):
#
#	- pgbench (3 clients, 100 transactions/s) runs HOT UPDATEs, non-HOT UPDATEs (an
#	  indexed column changes), UPDATEs of a run of neighbouring rows,
#	  DELETEs and INSERTs at random rows, and another pgbench client runs
#	  VACUUM every 0.2-3 s (sometimes VACUUM FREEZE, rarely VACUUM FULL),
#	  so blocks keep losing and regaining all-visible and entering and
#	  leaving shared buffers (4MB, half the table: the writers cannot keep
#	  all of it there, and scans and VACUUM go through rings).
#	- Two scanner sessions loop, concurrently: BEGIN ISOLATION LEVEL
#	  REPEATABLE READ; random io_method, direct_io, io_depth,
#	  io_combine_limit, sometimes direct_reads off, sometimes a parallel
#	  plan; a random query shape (all rows hashed in ctid order, a
#	  partial-aggregatable sum of row hashes, or a LIMIT without ORDER BY),
#	  with or without a qual.  The plan must scan t with Custom Scan
#	  (AsyncSeqScan); then SET LOCAL pg_asyncscan.enabled = off and the same
#	  query as a Seq Scan in the same transaction must give the same result.
#	  A LIMIT's rows must be distinct, as many as LIMIT or the Seq Scan's
#	  count allow, and each one a row of the Seq Scan.  When two results
#	  differ, both scans' rows are printed (rerun in the same transaction)
#	  for the diff.
#
# The random choices come from a seed printed with diag (env
# ASYNCSCAN_SOAK_SEED sets it; pgbench gets it too).  Timing makes a run
# not exactly reproducible, but the seed gives the same sequence of
# settings and queries; each failure message names them.
#
# Afterwards: every comparison equal, no error in any scanner, enough scans
# compared, every IO method, parallel plans, LIMITs and direct_io seen,
# pages read directly (pg_asyncscan_stats), no read errors, the writers ran
# without error, and no crash or assertion failure in the server log.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";
use AsyncScanTest qw(init_preloaded);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $seconds = $ENV{ASYNCSCAN_SOAK_SECONDS} // 120;
my $seed = $ENV{ASYNCSCAN_SOAK_SEED} // int(rand(2**31));
diag("soak seed: $seed (ASYNCSCAN_SOAK_SEED=$seed reruns these choices), "
	  . "$seconds s");
srand($seed);

my $node = PostgreSQL::Test::Cluster->new('soak');
init_preloaded($node, q{
shared_buffers = 4MB
max_worker_processes = 16
max_parallel_workers = 8
});
$node->start;

# t: 60000 rows of ~130 bytes, about 1000 blocks (8 MB)
my $rows = 60000;
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION pg_asyncscan;
CREATE TABLE t (id int NOT NULL, k int NOT NULL, v int NOT NULL, pad text NOT NULL)
	WITH (autovacuum_enabled = off, fillfactor = 90);
INSERT INTO t SELECT g, g, g, repeat('x', 100) FROM generate_series(1, $rows) g;
CREATE INDEX t_id ON t (id);
CREATE INDEX t_k ON t (k);
VACUUM (FREEZE, ANALYZE) t;

-- the plan nodes scanning t, from EXPLAIN (FORMAT JSON)
CREATE FUNCTION scan_kind(query text) RETURNS text
LANGUAGE plpgsql AS \$\$
DECLARE
	plan jsonb;
BEGIN
	EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || query INTO plan;
	RETURN (SELECT string_agg(coalesce(n->>'Custom Plan Provider', n->>'Node Type')
			|| CASE WHEN (n->>'Parallel Aware')::bool THEN ' (parallel)' ELSE '' END,
			', ')
			FROM jsonb_path_query(plan,
				'strict \$.** ? (\@."Relation Name" == "t")') AS n);
END \$\$;
});

# Every IO method must run here: one that this build or kernel does not
# offer fails the test rather than being left out of the soak.
my @methods = ('io_uring', 'sync', 'worker');
foreach my $m (@methods)
{
	my ($rc, $out, $err) = $node->psql('postgres',
		"SET pg_asyncscan.io_method = '$m'");
	is($rc, 0, "io_method $m is available here") or diag($err);
}

my $stats_sql = q{SELECT io_method || '|' || scans || '|' || pages_direct || '|'
	|| fallbacks || '|' || errors FROM pg_asyncscan_stats ORDER BY io_method};
sub read_stats
{
	my %s;
	for my $line (split /\n/, $node->safe_psql('postgres', $stats_sql))
	{
		my ($m, @v) = split /\|/, $line;
		$s{$m} = \@v;
	}
	return \%s;
}
my $stats_before = read_stats();

# --- writers -----------------------------------------------------------
my $dir = PostgreSQL::Test::Utils::tempdir;
my %scripts = (
	hot => "\\set id random(1, $rows)\n"
	  . "UPDATE t SET v = v + 1, pad = md5(random()::text) || repeat('h', 68) WHERE id = :id;\n",
	nonhot => "\\set id random(1, $rows)\n"
	  . "UPDATE t SET k = k + 1 WHERE id = :id;\n",
	run => "\\set id random(1, $rows)\n"
	  . "UPDATE t SET v = v - 1 WHERE id BETWEEN :id AND :id + 40;\n",
	del => "\\set id random(1, $rows)\n"
	  . "DELETE FROM t WHERE id = :id;\n",
	ins => "\\set id random(1, $rows)\n"
	  . "INSERT INTO t VALUES (:id, :id, -:id, repeat('i', 100));\n",
	maint => "\\set ms random(200, 3000)\n"
	  . "\\sleep :ms ms\n"
	  . "\\set f random(0, 24)\n"
	  . "\\if :f = 0\nVACUUM FULL t;\n"
	  . "\\elif :f < 6\nVACUUM (FREEZE) t;\n"
	  . "\\else\nVACUUM t;\n\\endif\n",);
while (my ($name, $text) = each %scripts)
{
	open(my $fh, '>', "$dir/$name.sql") or die "cannot write $dir/$name.sql: $!";
	print $fh $text;
	close($fh);
}

my @pgbench = ('pgbench', '-n', '-h', $node->host, '-p', $node->port,
	'--random-seed', $seed, '-T', $seconds);
my ($w_out, $w_err, $m_out, $m_err) = ('', '', '', '');
my $writers = IPC::Run::start(
	[
		@pgbench, '-c', '3', '-j', '1', '-R', '100',
		"--file=$dir/hot.sql\@5", "--file=$dir/nonhot.sql\@2",
		"--file=$dir/run.sql\@1", "--file=$dir/del.sql\@1",
		"--file=$dir/ins.sql\@1", 'postgres'
	],
	'>', \$w_out, '2>', \$w_err);
my $maint = IPC::Run::start(
	[ @pgbench, '-c', '1', "--file=$dir/maint.sql", 'postgres' ],
	'>', \$m_out, '2>', \$m_err);

# --- scanners ----------------------------------------------------------
my @quals = ('true', 'v % 7 = 3', 'k > v', 'id % 13 < 4', q{pad LIKE 'i%'},
	'v < 30000');
my $row_text = q{format('%s:%s:%s:%s:%s', ctid, id, k, v, pad)};

sub pick { return $_[ int(rand(scalar @_)) ]; }

# one iteration's settings and script for a scanner session
sub make_case
{
	my ($tag) = @_;
	my %c = (
		method => pick(@methods),
		direct_io => pick('on', 'off'),
		io_depth => pick(1, 2, 3, 4, 8, 16, 32, 64, 128),
		io_combine_limit => 1 + int(rand(64)),
		direct_reads => rand() < 0.1 ? 'off' : 'on',
		workers => rand() < 0.3 ? pick(1, 2) : 0,
		leader => pick('on', 'off'),
		shape => pick('rows', 'rows', 'hashsum', 'limit'),
		qual => rand() < 0.5 ? 'true' : pick(@quals),
		limit => pick(1, 7, 100, 1000 + int(rand(2000))),);
	$c{leader} = 'on' if $c{workers} == 0;
	$c{desc} = join(' ',
		map { "$_=$c{$_}" }
		  qw(method direct_io io_depth io_combine_limit direct_reads workers
		  leader shape qual),
		$c{shape} eq 'limit' ? 'limit' : ());
	$c{desc} .= " $c{limit}" if $c{shape} eq 'limit';

	my $set = qq{SET LOCAL pg_asyncscan.io_method = '$c{method}';
SET LOCAL pg_asyncscan.direct_io = $c{direct_io};
SET LOCAL pg_asyncscan.io_depth = $c{io_depth};
SET LOCAL pg_asyncscan.io_combine_limit = $c{io_combine_limit};
SET LOCAL pg_asyncscan.direct_reads = $c{direct_reads};
SET LOCAL max_parallel_workers_per_gather = $c{workers};
SET LOCAL parallel_leader_participation = $c{leader};
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL work_mem = '64MB';
};
	my $sql;
	if ($c{shape} eq 'limit')
	{
		$c{query} = "SELECT $row_text AS r FROM t WHERE $c{qual} LIMIT $c{limit}";
		$sql = qq{\\unset a_n
\\unset a_rows
\\unset s_total
\\unset s_missing
\\echo \@\@kind
SELECT scan_kind(\$q\$$c{query}\$q\$);
SELECT count(*) || '|' || count(DISTINCT r) AS n, coalesce(string_agg(r, ';'), '') AS rows
	FROM ($c{query}) s \\gset a_
SET LOCAL pg_asyncscan.enabled = off;
SELECT count(*) AS total FROM t WHERE $c{qual} \\gset s_
SELECT count(*) || ';' || coalesce(string_agg(x.r, ';'), '') AS missing
	FROM unnest(string_to_array(:'a_rows', ';')) AS x(r)
	WHERE NOT EXISTS (SELECT 1 FROM t WHERE $c{qual} AND $row_text = x.r) \\gset s_
\\echo \@\@async
\\echo :a_n
\\echo \@\@total
\\echo :s_total
\\echo \@\@missing
\\echo :s_missing
};
	}
	else
	{
		$c{query} =
		  $c{shape} eq 'rows'
		  ? "SELECT count(*) || '|' || md5(coalesce(string_agg($row_text, ',' ORDER BY ctid), '')) AS d FROM t WHERE $c{qual}"
		  : "SELECT count(*) || '|' || coalesce(sum(hashtext($row_text)::bigint), 0) || '|' || coalesce(sum(v::bigint), 0) AS d FROM t WHERE $c{qual}";
		my $rows_query = "SELECT $row_text FROM t WHERE $c{qual} ORDER BY ctid";
		$sql = qq{\\unset a_d
\\unset s_d
\\unset differ
\\echo \@\@kind
SELECT scan_kind(\$q\$$c{query}\$q\$);
$c{query} \\gset a_
SET LOCAL pg_asyncscan.enabled = off;
$c{query} \\gset s_
\\echo \@\@async
\\echo :a_d
\\echo \@\@seq
\\echo :s_d
SELECT :'a_d' <> :'s_d' AS differ \\gset
\\if :differ
\\echo \@\@async-rows
SET LOCAL pg_asyncscan.enabled = on;
$rows_query;
\\echo \@\@seq-rows
SET LOCAL pg_asyncscan.enabled = off;
$rows_query;
\\endif
};
	}
	$c{script} = "BEGIN ISOLATION LEVEL REPEATABLE READ;\n$set$sql"
	  . "COMMIT;\n\\echo \@\@done-$tag\n";
	return \%c;
}

# the first 10 of a list of rows, each cut to 60 characters, for diag
sub some_rows
{
	my @r = @_;
	splice(@r, 10) if @r > 10;
	return '[' . join(' ', map { substr($_, 0, 60) } @r) . ']';
}

# output of a script, by its @@ markers
sub sections
{
	my ($out) = @_;
	my %s;
	my $cur = 'pre';
	for my $line (split /\n/, $out)
	{
		if ($line =~ /^\@\@(\S+)$/) { $cur = $1; $s{$cur} = []; next; }
		push @{ $s{$cur} }, $line;
	}
	return { map { $_ => join("\n", @{ $s{$_} }) } keys %s };
}

my @scanners;
for my $i (0, 1)
{
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	$s->set_query_timer_restart();
	$s->query_safe("SET statement_timeout = '120s'");
	push @scanners, $s;
}

my ($compared, $rows_compared, $failures) = (0, 0, 0);
my (%by_method, %by_shape);
my ($parallel, $direct_io_on, $direct_io_off) = (0, 0, 0);
my $iter = 0;
my $deadline = time() + $seconds;
while (time() < $deadline)
{
	$iter++;
	my @cases;
	# start every scanner's transaction, then collect them: they overlap
	for my $i (0 .. $#scanners)
	{
		my $tag = "$i-$iter";
		my $c = make_case($tag);
		$c->{tag} = $tag;
		push @cases, $c;
		$scanners[$i]->{stderr} = '';
		# (what arrived with the start marker is kept)
		$c->{early} = $scanners[$i]->query_until(qr/\@\@start-$tag\n/,
			"\\echo \@\@start-$tag\n" . $c->{script});
		$c->{early} =~ s/.*\@\@start-$tag\n//s;
	}
	for my $i (0 .. $#scanners)
	{
		my $c = $cases[$i];
		my $s = $scanners[$i];
		my $out = $c->{early};
		$out .= $s->query_until(qr/\@\@done-$c->{tag}\n/, '')
		  unless $out =~ /\@\@done-$c->{tag}\n/;
		my $err = $s->{stderr};
		$s->{stderr} = '';
		my $sec = sections($out);
		my $what = "scanner $c->{tag} ($c->{desc})";
		my $ok = 1;

		if ($err ne '')
		{
			$ok = 0;
			diag("$what: error: $err");
		}
		my $kind = $sec->{kind} // '';
		if ($kind !~ /^AsyncSeqScan( \(parallel\))?$/)
		{
			$ok = 0;
			diag("$what: the plan scans t with '$kind', not AsyncSeqScan");
		}
		$parallel++ if $kind =~ /parallel/;

		if ($c->{shape} eq 'limit')
		{
			my ($n, $nd) = split /\|/, ($sec->{async} // '');
			my $total = $sec->{total} // '';
			my ($missing, @missing_rows) = split /;/, ($sec->{missing} // '');
			my $want = $total =~ /^\d+$/ ? ($total < $c->{limit} ? $total : $c->{limit}) : -1;
			if (!defined $nd || $n ne $want || $nd ne $n || ($missing // '') ne '0')
			{
				$ok = 0;
				diag("$what: LIMIT returned $n rows ($nd distinct), "
					  . "expected $want (Seq Scan count $total); rows not in the "
					  . "Seq Scan: $missing " . some_rows(@missing_rows));
			}
			$rows_compared += $n if $ok;
		}
		else
		{
			my ($a, $sq) = ($sec->{async} // '', $sec->{seq} // '');
			if ($a ne $sq || $a !~ /^\d+\|/)
			{
				$ok = 0;
				diag("$what: AsyncSeqScan '$a' but Seq Scan '$sq'");
				if (defined $sec->{'async-rows'})
				{
					my %in_seq = map { $_ => 1 } split /\n/, $sec->{'seq-rows'} // '';
					my %in_async = map { $_ => 1 } split /\n/, $sec->{'async-rows'};
					my @only_a = grep { !$in_seq{$_} } sort keys %in_async;
					my @only_s = grep { !$in_async{$_} } sort keys %in_seq;
					diag("$what: rerun in the same transaction: only AsyncSeqScan: "
						  . scalar(@only_a) . ' ' . some_rows(@only_a)
						  . '; only Seq Scan: ' . scalar(@only_s) . ' '
						  . some_rows(@only_s));
				}
			}
			$rows_compared += (split /\|/, $a)[0] if $ok;
		}
		if ($ok)
		{
			$compared++;
			$by_method{ $c->{method} }++;
			$by_shape{ $c->{shape} }++;
			$c->{direct_io} eq 'on' ? $direct_io_on++ : $direct_io_off++;
		}
		else
		{
			$failures++;
			diag("$what: query: $c->{query}");
		}
	}
}
$_->quit for @scanners;

$writers->finish;
$maint->finish;
is($writers->result(0), 0, 'the writers (pgbench) ran without error')
  or diag("pgbench writers: $w_out\n$w_err");
is($maint->result(0), 0, 'VACUUM (pgbench) ran without error')
  or diag("pgbench VACUUM: $m_out\n$m_err");
my ($writes) = $w_out =~ /number of transactions actually processed: (\d+)/;
my ($vacuums) = $m_out =~ /number of transactions actually processed: (\d+)/;
note "writer transactions: " . ($writes // '?') . ", VACUUMs: " . ($vacuums // '?');
cmp_ok($writes // 0, '>', $seconds * 20, 'the writers kept writing');
cmp_ok($vacuums // 0, '>', $seconds / 5, 'VACUUM ran repeatedly');

is($failures, 0, "every AsyncSeqScan returned its Seq Scan's rows ($compared scans)");
# each scanner pair takes well under 2 s even on a busy 2-core machine
cmp_ok($compared, '>=', $seconds, "enough scans compared ($compared in $seconds s)");
for my $m (@methods)
{
	cmp_ok($by_method{$m} // 0, '>', 0, "scans compared with io_method $m");
}
cmp_ok($parallel, '>', 0, "parallel AsyncSeqScans among them ($parallel)");
cmp_ok($by_shape{limit} // 0, '>', 0, 'LIMIT scans among them');
cmp_ok($direct_io_on, '>', 0, 'scans with direct_io on');
cmp_ok($direct_io_off, '>', 0, 'scans with direct_io off');

my $stats_after = read_stats();
my ($direct, $read_errors, $fallbacks) = (0, 0, 0);
for my $m (keys %$stats_after)
{
	my @b = @{ $stats_before->{$m} // [ 0, 0, 0, 0 ] };
	my @a = @{ $stats_after->{$m} };
	note "$m: scans " . ($a[0] - $b[0]) . ", pages direct " . ($a[1] - $b[1]);
	$direct += $a[1] - $b[1];
	$fallbacks += $a[2] - $b[2];
	$read_errors += $a[3] - $b[3];
}
cmp_ok($direct, '>', 0, "the direct path was used ($direct pages)");
is($read_errors, 0, 'no read errors counted');
is($fallbacks, 0, 'no fallback to another IO method');

# (TRAP, a failed assertion, can only appear on an assertion-enabled
# server: PostgreSQL 18 as test/build_pg.sh builds it; Debian's 15 has none)
my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP|PANIC|terminated by signal/,
	'no crash, assertion failure or PANIC in the server log');

diag("reliability: randomised soak, scan = Seq Scan of same snapshot: "
	  . "cases=$compared rows=$rows_compared");

$node->stop;
done_testing();
