
# Copyright (c) pg_asyncscan authors
#
# 022_worker_exits.pl
#	  The worker method while backends exit with scans open: no scan may
#	  return rows it did not read, and the arena must come back whole.
#
# Three pgbench clients loop checksum scans of pgbench_accounts (2M rows)
# with io_method = worker, direct_io on or off at random, some of them
# parallel (Gather over a Parallel AsyncSeqScan); each checksum is compared
# with the one a Seq Scan gives.  Meanwhile two more clients keep starting
# worker-method scans of a second table (big2) and leaving them in every
# way a backend can leave with a scan open:
#	- disconnect: the client exits with an open cursor mid-table;
#	- idle timeout: idle_in_transaction_session_timeout ends the session;
#	- terminate: pg_terminate_backend() while a scan is running;
#	- parallel error: a parallel scan errors, and its leader terminates
#	  the parallel workers that are still reading.
# A backend that exits with slots must give back exactly its own slots,
# once: a slot given back twice could be handed to another scan and then
# freed or overwritten under it, which returns rows of the other table or
# fails with a short read.
#
# Afterwards, with every client gone: free_slots = arena_slots, nothing
# queued or running, no owners; no backend or worker crashed; no WARNING
# about a slot given back that was not ours.
#
# ASYNCSCAN_WORKER_EXITS_SECONDS (default 40) sets how long the clients run.

use strict;
use warnings;

use IPC::Run;
use POSIX ":sys_wait_h";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use FindBin;
use lib "$FindBin::Bin/../perl";
use AsyncScanTest qw(init_preloaded arena_is_clean);

my $seconds = $ENV{ASYNCSCAN_WORKER_EXITS_SECONDS} // 40;

my $node = PostgreSQL::Test::Cluster->new('worker_exits');
init_preloaded($node, q{
shared_buffers = 32MB
pg_asyncscan.io_workers = 3
max_worker_processes = 16
max_parallel_workers = 8
max_connections = 30
log_min_messages = warning
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_asyncscan');

# 2M rows (256 MB) and a second table of 1M rows; both all-visible, so
# worker reads go straight into arena slots (the direct path)
$node->command_ok(
	[
		'pgbench', '-i', '-q', '-s', '20', '-h', $node->host, '-p',
		$node->port, 'postgres'
	],
	'pgbench -i -s 20');
$node->safe_psql(
	'postgres', q{
CREATE TABLE big2 AS SELECT * FROM pgbench_accounts WHERE aid <= 1000000;
VACUUM (FREEZE, ANALYZE) big2;
VACUUM (ANALYZE) pgbench_accounts;
});

my $checksum_sql =
  'SELECT count(*) AS c, sum(hashtext(b::text)) AS h FROM pgbench_accounts b';
my $parallel_settings = q{SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
};
my ($count, $hash) = split /\|/,
  $node->safe_psql('postgres',
	"SET pg_asyncscan.enabled = off; $checksum_sql");
is($count, 2000000, 'Seq Scan reference: 2M rows');
my $big2_count = $node->safe_psql('postgres',
	'SET pg_asyncscan.enabled = off; SELECT count(*) FROM big2');
is($big2_count, 1000000, 'Seq Scan reference: big2 has 1M rows');

# every scan of this test is an AsyncSeqScan with the worker method
my $worker = q{SET pg_asyncscan.io_method = worker;};
like(
	$node->safe_psql('postgres', "$worker EXPLAIN (COSTS OFF) $checksum_sql"),
	qr/Custom Scan \(AsyncSeqScan\) on pgbench_accounts b\n.*IO Method: worker/s,
	'the checksum scan is an AsyncSeqScan with the worker method');
like(
	$node->safe_psql('postgres',
		"$worker $parallel_settings EXPLAIN (COSTS OFF) $checksum_sql"),
	qr/Gather.*Parallel Custom Scan \(AsyncSeqScan\) on pgbench_accounts b/s,
	'the parallel checksum scan is a Parallel AsyncSeqScan');
like(
	$node->safe_psql('postgres', "$worker EXPLAIN (COSTS OFF) SELECT * FROM big2"),
	qr/Custom Scan \(AsyncSeqScan\) on big2/,
	'the scans of big2 are AsyncSeqScans');
arena_is_clean($node, 'before the clients start');

my $tmp = PostgreSQL::Test::Utils::tempdir;

# --- the checksum clients: pgbench, each transaction one checksum scan ----
# A wrong checksum divides by zero, which aborts the client and makes
# pgbench fail; the message names the checksum.
my $check = qq{\\if :c != $count or :h != $hash
SELECT 'wrong checksum: ' || :c || ' rows, hash ' || :h AS failure, 1 / 0;
\\endif
};
my $direct = q{\set d random(0, 1)
SELECT set_config('pg_asyncscan.direct_io', CASE WHEN :d = 1 THEN 'on' ELSE 'off' END, false);
};
PostgreSQL::Test::Utils::append_to_file("$tmp/serial.sql",
	"$worker\n$direct$checksum_sql \\gset\n$check");
PostgreSQL::Test::Utils::append_to_file("$tmp/parallel.sql",
	"$worker\n$parallel_settings$direct$checksum_sql \\gset\n$check");
my $pgbench_log = "$tmp/pgbench.log";
my $pgbench = IPC::Run::start(
	[
		'pgbench', '-n', '-c', '3', '-T', $seconds, '-h', $node->host,
		'-p', $node->port, '-f', "$tmp/serial.sql\@3",
		'-f', "$tmp/parallel.sql\@1", 'postgres'
	],
	'>', $pgbench_log, '2>&1');

# --- the clients that leave with a scan open ------------------------------
# One psql process per scan, started with fork/exec and reaped with
# waitpid, so that the two clients run concurrently with pgbench.
my @kinds = ('disconnect', 'idle timeout', 'terminate', 'parallel error');
my %script = (
	'disconnect' => q{BEGIN;
DECLARE c CURSOR FOR SELECT * FROM big2;
FETCH 50 FROM c;
FETCH 5000 FROM c;
},
	'idle timeout' => q{SET idle_in_transaction_session_timeout = '30ms';
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM big2;
FETCH 5000 FROM c;
\! sleep 0.3
FETCH 50 FROM c;
},
	'terminate' => q{SELECT count(*), sum(hashtext(b::text)) FROM big2 b;
},
	'parallel error' => $parallel_settings
	  . q{SELECT count(*) FROM pgbench_accounts WHERE 1 / (aid - :k) > 0;
},);
# what each kind may print on stderr; anything else is a failure
my %expected_stderr = (
	'disconnect' => qr/^$/,
	'idle timeout' =>
	  qr/idle-in-transaction timeout|server closed the connection|no connection to the server|connection to server .* lost/,
	'terminate' =>
	  qr/terminating connection due to administrator command|server closed the connection|no connection to the server|connection to server .* lost|^$/,
	'parallel error' => qr/division by zero/,);

my %done = map { $_ => 0 } @kinds;
my @failures;

sub start_exit_client
{
	my ($client, $kind, $iteration) = @_;
	my $base = "$tmp/exit_${client}_$iteration";
	my $k = 1 + int(rand(2000000));
	my $sql = "$worker\nSET pg_asyncscan.direct_io = "
	  . (rand() < 0.5 ? 'on' : 'off') . ";\n$script{$kind}";
	$sql =~ s/:k/$k/g;
	PostgreSQL::Test::Utils::append_to_file("$base.sql", $sql);
	my $pid = fork();
	die "fork failed: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDOUT, '>', "$base.out") or die;
		open(STDERR, '>', "$base.err") or die;
		open(STDIN, '<', '/dev/null') or die;
		$ENV{PGAPPNAME} = "exit_client_$client";
		exec('psql', '-XAtq', '-d', $node->connstr('postgres'), '-f',
			"$base.sql")
		  or die "exec psql: $!";
	}
	return {
		pid => $pid,
		kind => $kind,
		base => $base,
		started => time(),
		terminate_at => time() + 0.05 + rand(0.6),
		terminated => 0,
	};
}

sub check_exit_client
{
	my ($c) = @_;
	my $out = slurp_file("$c->{base}.out");
	my $err = slurp_file("$c->{base}.err");
	chomp $out;
	chomp $err;
	$done{ $c->{kind} }++;
	if ($err !~ $expected_stderr{ $c->{kind} })
	{
		push @failures, "$c->{kind}: unexpected stderr: $err";
	}
	if ($c->{kind} eq 'terminate' && $out ne ''
		&& $out !~ /^$big2_count\|-?\d+$/)
	{
		push @failures, "$c->{kind}: wrong result: $out";
	}
	return;
}

# (its timer runs from the start, so it must outlast the whole run)
my $killer = $node->background_psql(
	'postgres',
	on_error_stop => 0,
	timeout => $seconds + $PostgreSQL::Test::Utils::timeout_default);
my @clients = (undef, undef);
my @iteration = (0, 0);
my $deadline = time() + $seconds;
while (1)
{
	my $running = 0;
	foreach my $i (0 .. $#clients)
	{
		my $c = $clients[$i];
		if (defined $c)
		{
			if (waitpid($c->{pid}, WNOHANG) == $c->{pid})
			{
				check_exit_client($c);
				$clients[$i] = $c = undef;
			}
			elsif ($c->{kind} eq 'terminate' && !$c->{terminated}
				&& time() >= $c->{terminate_at})
			{
				$killer->query_safe(
					"SELECT pg_terminate_backend(pid) FROM pg_stat_activity
					 WHERE application_name = 'exit_client_$i'");
				$c->{terminated} = 1;
			}
			elsif (time() > $c->{started} + 120)
			{
				push @failures, "$c->{kind}: client hung for 120 s";
				kill 'KILL', $c->{pid};
				waitpid($c->{pid}, 0);
				$clients[$i] = $c = undef;
			}
		}
		if (!defined $c && time() < $deadline)
		{
			my $kind = $kinds[ ($iteration[$i] * 2 + $i) % @kinds ];
			$clients[$i] = start_exit_client($i, $kind, $iteration[$i]++);
		}
		$running++ if defined $clients[$i];
	}
	last if $running == 0;
	usleep(10_000);
}
$killer->quit;

my $pgbench_ok = eval { $pgbench->finish; 1 } && $pgbench->result(0) == 0;
my $log = slurp_file($pgbench_log);
ok($pgbench_ok, 'pgbench checksum clients: every checksum right, no error')
  or diag $log;
unlike($log, qr/wrong checksum/, 'no checksum scan returned rows it did not read');
unlike($log, qr/could not read blocks/, 'no checksum scan failed with a short read');
my ($xacts) = $log =~ /number of transactions actually processed: (\d+)/;
cmp_ok($xacts // 0, '>=', 3, "pgbench ran " . ($xacts // 0) . " checksum scans");

is(join("\n", @failures), '', 'the exiting clients met only the expected ends');
foreach my $kind (@kinds)
{
	cmp_ok($done{$kind}, '>=', 2, "$kind: $done{$kind} backends left with a scan open");
}

# nothing left behind once every client is gone
ok( $node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity
		  WHERE backend_type IN ('client backend', 'parallel worker')
		    AND pid <> pg_backend_pid()}),
	'every client backend and parallel worker is gone');
arena_is_clean($node, 'after every client is gone', 30);

my $server_log = slurp_file($node->logfile);
unlike($server_log, qr/not releasing IO worker slot|was queued in state|does not run slot|finished slot/,
	'no slot was given back, queued or finished by a process that did not own it');
unlike($server_log, qr/terminated by signal|server process .* was terminated|PANIC/,
	'no process crashed');

# and the worker method still reads right
is( $node->safe_psql('postgres', "$worker $checksum_sql"),
	"$count|$hash", 'a worker scan afterwards gives the Seq Scan checksum');

diag "reliability: worker exits: "
  . ($xacts // 0)
  . " checksum scans right, "
  . join(', ', map { "$done{$_} $_" } @kinds);

$node->stop;
done_testing();
