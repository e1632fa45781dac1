
# Copyright (c) pg_asyncscan authors
#
# 060_cancel_storm.pl
#	  Cancel and kill: scans that end at a random moment, many times over,
#	  must leave nothing behind, and scans killed outright must leave a
#	  cluster that recovers and scans correctly.
#
#	1. Cancel storm, for every IO method (sync, io_uring, worker): a few
#	   long-lived sessions (direct_io on in some, off in others, several
#	   io_depth values) run hundreds of scans of a ~120 MB table whose
#	   files are dropped from the OS page cache now and then, each scan
#	   cancelled at a random moment -- by pg_cancel_backend() from another
#	   session after a random delay of 0-50 ms, or by a random
#	   statement_timeout of 1-40 ms.  Counted: scans really cancelled
#	   (ERROR 57014) and scans that completed (their result must be the
#	   Seq Scan's); no other error, no WARNING, no wrong row.  Each
#	   session's open file descriptors (/proc/PID/fd: exactly the same
#	   set) and memory (pg_backend_memory_contexts: no "AsyncSeqScan
#	   stream" context, total bytes exactly at their baseline) are
#	   measured before and after the storm.  pg_asyncscan_stats shows
#	   that the cancelled scans had begun reading.  After each
#	   storm a full scan equals a Seq Scan under one snapshot, and with
#	   the worker method pg_asyncscan_worker_status() shows the arena
#	   empty.  The server log then has no TRAP, PANIC, process terminated
#	   by a signal, or leak warning.
#	2. A backend killed with SIGKILL mid-scan, with reads in flight: with
#	   io_uring at a moment it is blocked in io_uring_enter() waiting for
#	   a completion with more than one read in its ring, with the worker
#	   method while it holds arena slots with requests queued or running.
#	   The postmaster goes through crash restart, and then every IO method
#	   serves correct scans again.
#	3. An IO worker killed with SIGKILL mid-read.  020_worker.pl section 5
#	   covers this in detail (the victim found in a read, crash restart,
#	   no hanging backend, the log naming the worker); here, a shorter
#	   version checks the scanning backend's outcome: the right result, or
#	   its connection ended by the crash restart and no other error; never
#	   wrong rows; and correct scans with every method afterwards.
#
# The deliberate kills of 2 and 3 come after the log check of 1; the log
# is checked again at the end, where the only processes terminated by a
# signal must be the ones this test killed.  (A failed assertion, TRAP,
# can only appear on an assertion-enabled server: PostgreSQL 18 as
# test/build_pg.sh builds it; Debian's 15 has none.)
#
# The "reliability:" lines count only cases whose assertions all held.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use AsyncScanTest
  qw(init_preloaded io_analyze evict_files arena_is_clean wait_uring_reads $READING_WORKER_SQL);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

# Reproducible randomness: PG_TEST_SEED=N replays a run.
my $seed = $ENV{PG_TEST_SEED} // (time() * 1000) % 1_000_000;
srand($seed);
note "random seed $seed (set PG_TEST_SEED=$seed to replay)";

my $started_at = time();

my $node = PostgreSQL::Test::Cluster->new('storm');
init_preloaded($node, q{
shared_buffers = 32MB
# part 2 and 3 kill processes: the postmaster must restart the server
restart_after_crash = on
});
$node->start;

# EXPLAIN options for the AsyncSeqScan counters (ASYNCIO on 18)
my $counter_options = io_analyze($node) . ', COSTS OFF, TIMING OFF, FORMAT JSON';

# ~120 MB, all-visible (VACUUM FREEZE with nothing else running), so that
# AsyncSeqScan reads nearly every block directly.
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_asyncscan;
CREATE TABLE storm (id int, grp int, val bigint, pad text)
	WITH (autovacuum_enabled = off);
INSERT INTO storm
	SELECT g, g % 1000, (g::bigint * 7919) % 100003, repeat('x', 80)
	FROM generate_series(1, 1000000) g;
VACUUM (FREEZE) storm;
});
is( $node->safe_psql(
		'postgres',
		q{SELECT relallvisible = relpages AND relpages > 14000 FROM pg_class
		  WHERE relname = 'storm'}),
	't',
	'table "storm" is large and all-visible');

# Drop the table's files from the OS page cache (dd's nocache flag asks
# for POSIX_FADV_DONTNEED; pages must be clean first), so that reads
# really go to the device and stay in flight.  $psql runs the CHECKPOINT:
# a background session, or undef for a new connection.
my $storm_path =
  $node->data_dir . '/'
  . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('storm')});

sub evict_storm
{
	my ($psql) = @_;
	if ($psql)
	{
		$psql->query_safe('CHECKPOINT');
	}
	else
	{
		$node->safe_psql('postgres', 'CHECKPOINT');
	}
	system('sync');
	evict_files($storm_path);
	return;
}

# The scan of the storm and the full scan that checks results.
my $storm_query = 'SELECT count(*), sum(id), sum(val) FROM storm';
my $full_query = 'SELECT count(*), sum(id), sum(grp), sum(val), '
  . 'sum(length(pad)), min(id), max(id) FROM storm';
my $expected_storm = $node->safe_psql('postgres',
	"SET pg_asyncscan.enabled = off; $storm_query");
my $expected_full = $node->safe_psql('postgres',
	"SET pg_asyncscan.enabled = off; $full_query");
is($expected_storm, '1000000|500000500000|50000944645',
	'Seq Scan reference result');

# Poll $sql (one value) until it returns $want; false after ~$secs seconds.
sub wait_for
{
	my ($sql, $want, $secs) = @_;
	my $got = '';
	my $deadline = time() + ($secs // 10);
	while (1)
	{
		my ($ret, $out) = $node->psql('postgres', $sql);
		$got = $out // '';
		return 1 if $ret == 0 && $got eq $want;
		last if time() > $deadline;
		usleep(100_000);
	}
	diag "still '$got' instead of '$want' after polling: $sql";
	return 0;
}

ok(wait_for('SELECT io_workers FROM pg_asyncscan_worker_status()', '2'),
	'two IO workers are running');

# A session's backend: its open descriptors, as a sorted list of what they
# point at (pipe:[inode] and the like without the inode, which is all that
# may differ between two equal sets).
sub backend_fds
{
	my ($pid) = @_;
	my @links;
	opendir(my $dh, "/proc/$pid/fd") or die "cannot list /proc/$pid/fd: $!";
	for my $fd (grep { /^\d+$/ } readdir($dh))
	{
		my $target = readlink("/proc/$pid/fd/$fd");
		next unless defined $target;    # closed meanwhile
		$target =~ s/\[\d+\]$//;
		push @links, $target;
	}
	closedir($dh);
	return join("\n", sort @links);
}

# Its memory: the sum over its memory contexts, and how many "AsyncSeqScan
# stream" contexts it has (asked twice, so that the second answer sees the
# first one's catalog cache entries in place).  Measured the same way
# before and after a storm, the sum is exactly the same: a scan's memory
# lives in its query's context and the stream's own, and nothing of a
# cancelled scan may stay behind.
sub backend_memory
{
	my ($psql) = @_;
	my $sql = q{SELECT sum(total_bytes) || ' bytes, ' ||
		count(*) FILTER (WHERE name = 'AsyncSeqScan stream') || ' stream contexts'
		FROM pg_backend_memory_contexts};
	$psql->query_safe($sql);
	return $psql->query_safe($sql);
}

# The session that cancels the others and runs the CHECKPOINTs.
my $canceller = $node->background_psql('postgres', on_error_stop => 0);
$canceller->set_query_timer_restart();

# What psql printed on stderr that is neither our banner nor an ERROR
# 57014 (query canceled) with its LOCATION line: must be nothing.
sub unexpected_stderr
{
	my ($err) = @_;
	my @bad;
	for my $line (split /\n/, $err)
	{
		next if $line =~ /^(psql:[^ ]*: )?ERROR:  57014: canceling statement due to (user request|statement timeout)$/;
		next if $line =~ /^LOCATION:  /;
		push @bad, $line;
	}
	return @bad;
}

# --- 1. the cancel storm ------------------------------------------------------
# ASYNCSCAN_CANCEL_SCANS: scans per method (test/run.sh runs fewer on the
# majors other than stock 15)
my $scans_per_method = $ENV{ASYNCSCAN_CANCEL_SCANS} // 220;
my @variants = (
	{ direct_io => 'on', io_depth => 64 },
	{ direct_io => 'off', io_depth => 16 },
	{ direct_io => 'on', io_depth => 8 },);

foreach my $method ('sync', 'io_uring', 'worker')
{
	my $settings = "SET pg_asyncscan.io_method = '$method';";

	# The plan and, with several reads in flight, the configuration.
	evict_storm($canceller);
	my $json = $node->safe_psql('postgres',
		"$settings SET pg_asyncscan.direct_io = on; SET pg_asyncscan.io_depth = 64;
		 EXPLAIN ($counter_options) $storm_query");
	like($json, qr/"Custom Plan Provider": "AsyncSeqScan"/,
		"$method: AsyncSeqScan is planned");
	like($json, qr/"IO Method": "$method"/, "$method: the scan uses $method");
	my ($direct) = $json =~ /"Pages Direct": (\d+)/;
	cmp_ok($direct // 0, '>', 10000, "$method: the direct path reads most blocks");
	if ($method ne 'sync')
	{
		my ($maxinflight) = $json =~ /"Max In-Flight": (\d+)/;
		cmp_ok($maxinflight // 0, '>', 1,
			"$method: several reads are in flight at once");
	}

	# The long-lived scanning sessions, warmed up: every kind of statement
	# of the storm ran once (a full scan, both kinds of cancel), so that
	# the caches, the ring and the like are in place for the baseline.
	my @sessions;
	foreach my $v (@variants)
	{
		my $s = $node->background_psql('postgres', on_error_stop => 0);
		$s->set_query_timer_restart();
		$s->query_safe(
			"\\set VERBOSITY verbose\n$settings
			 SET pg_asyncscan.direct_io = $v->{direct_io};
			 SET pg_asyncscan.io_depth = $v->{io_depth};");
		my $pid = $s->query_safe('SELECT pg_backend_pid()');
		like(
			$s->query_safe("EXPLAIN (COSTS OFF, FORMAT JSON) $storm_query"),
			qr/"Custom Plan Provider": "AsyncSeqScan"/,
			"$method, direct_io $v->{direct_io}, io_depth $v->{io_depth}: AsyncSeqScan in the session's plan"
		);
		is($s->query_safe($storm_query), $expected_storm,
			"$method, session $pid: warm-up scan");
		$s->query("SET statement_timeout = '1ms';\n$storm_query;\nRESET statement_timeout");
		$s->query_until(qr/started/, "\\echo started\n$storm_query;\n");
		usleep(10_000);
		$canceller->query_safe("SELECT pg_cancel_backend($pid)");
		$s->query('SELECT 1');
		$s->{stderr} = '';
		backend_memory($s);
		push @sessions,
		  {
			psql => $s,
			pid => $pid,
			name => "$method, direct_io $v->{direct_io}, io_depth $v->{io_depth}",
		  };
	}
	# Pending statistics are flushed at most once a second, by an idle
	# backend: let that happen before measuring.
	usleep(1_100_000);
	foreach my $x (@sessions)
	{
		$x->{fds} = backend_fds($x->{pid});
		$x->{memory} = backend_memory($x->{psql});
	}
	my $stats_sql = qq{SELECT scans || ' ' || reads || ' ' || pages_direct
		FROM pg_asyncscan_stats WHERE io_method = '$method'};
	my ($scans0, $reads0, $direct0) = split / /,
	  $canceller->query_safe($stats_sql);

	my %n = (
		scans => 0,
		verified => 0,
		cancels => 0,
		by_cancel => 0,
		by_timeout => 0,
		completed => 0,
		wrong => 0,
		other => 0);
	my $storm_start = time();
	for my $i (0 .. $scans_per_method - 1)
	{
		evict_storm($canceller) if $i % 40 == 20;
		my $x = $sessions[ $i % @sessions ];
		my $s = $x->{psql};
		$s->{stderr} = '';
		my ($out, $how);
		if ($i % 2 == 0)
		{
			# pg_cancel_backend() after a random delay; then a SELECT 1
			# collects the scan's answer
			$how = 'cancel';
			$s->query_until(qr/started/, "\\echo started\n$storm_query;\n");
			usleep(int(rand(50_000)));
			$canceller->query_safe("SELECT pg_cancel_backend($x->{pid})");
			$out = $s->query('SELECT 1');
		}
		else
		{
			$how = 'timeout';
			my $ms = 1 + int(rand(40));
			$out = $s->query(
				"SET statement_timeout = '${ms}ms';\n$storm_query;\nRESET statement_timeout");
		}
		my $err = $s->{stderr};
		$s->{stderr} = '';
		$n{scans}++;

		# the lines of stdout: the scan's result if it completed, the
		# "1" of the SELECT 1 that collected it
		my @lines = grep { $_ ne '' && !($how eq 'cancel' && $_ eq '1') }
		  split /\n/, $out;
		my @bad_lines = grep { $_ ne $expected_storm } @lines;
		my @bad_err = unexpected_stderr($err);
		if (@bad_lines)
		{
			$n{wrong}++;
			diag "$x->{name}: scan $i returned wrong rows: @bad_lines";
		}
		if (@bad_err)
		{
			$n{other}++;
			diag "$x->{name}: scan $i: unexpected messages:\n" . join("\n", @bad_err);
		}
		if (@lines)
		{
			$n{completed}++;
		}
		elsif ($err =~ /ERROR:  57014: canceling statement due to (user request|statement timeout)/)
		{
			$n{cancels}++;
			$n{ $how eq 'cancel' ? 'by_cancel' : 'by_timeout' }++;
		}
		# verified: the right rows or a cancel, and nothing else
		$n{verified}++
		  if !@bad_lines && !@bad_err
		  && (@lines
			|| $err =~ /ERROR:  57014: canceling statement due to (user request|statement timeout)/);
	}
	my $storm_secs = time() - $storm_start;
	# Streams are begun by the first fetch of a scan and counted by
	# pg_asyncscan_stats when they end, also when ended by a cancel.
	my ($scans1, $reads1, $direct1) = split / /,
	  $canceller->query_safe($stats_sql);
	my $begun = $scans1 - $scans0;
	my $midscan = $begun - $n{completed};
	note sprintf(
		"%s: %d scans in %.1f s: %d cancelled (%d by pg_cancel_backend, %d by statement_timeout), %d completed; "
		  . "%d began reading (%d reads, %d pages read directly)",
		$method, $n{scans}, $storm_secs, $n{cancels}, $n{by_cancel},
		$n{by_timeout}, $n{completed}, $begun, $reads1 - $reads0,
		$direct1 - $direct0);

	is($n{wrong}, 0, "$method: no scan returned a wrong row");
	is($n{other}, 0, "$method: no error but the cancels, no warning");
	# of 220 scans (half cancelled, half timed out): at least 200
	# cancelled, 80 of each kind, 200 after they began reading; the same
	# shares of a shorter storm (ASYNCSCAN_CANCEL_SCANS)
	my $most = int($scans_per_method * 10 / 11);
	my $each = int($scans_per_method * 4 / 11);
	cmp_ok($n{cancels}, '>=', $most,
		"$method: at least $most of $n{scans} scans were cancelled mid-scan ($n{cancels}; $n{completed} completed)"
	);
	cmp_ok($n{by_cancel}, '>=', $each,
		"$method: pg_cancel_backend() cancelled $n{by_cancel} scans");
	cmp_ok($n{by_timeout}, '>=', $each,
		"$method: statement_timeout cancelled $n{by_timeout} scans");
	is($n{cancels} + $n{completed}, $n{scans},
		"$method: every scan was either cancelled or completed");
	cmp_ok($midscan, '>=', $most,
		"$method: $midscan cancelled scans had begun reading (pg_asyncscan_stats)");
	cmp_ok($reads1 - $reads0, '>', $midscan,
		"$method: the storm's scans issued reads (" . ($reads1 - $reads0) . ')');

	# as for the baseline: pending statistics flushed
	usleep(1_100_000);

	my $sessions_ok = 1;
	foreach my $x (@sessions)
	{
		my $s = $x->{psql};
		my $fds = backend_fds($x->{pid});
		my $nfds = scalar(split /\n/, $fds);
		$sessions_ok &= is($fds, $x->{fds},
			"$x->{name}: open file descriptors ($nfds) exactly at their baseline");
		my $memory = backend_memory($s);
		$sessions_ok &= like($memory, qr/, 0 stream contexts$/,
			"$x->{name}: no stream memory context left");
		$sessions_ok &= is($memory, $x->{memory},
			"$x->{name}: backend memory exactly at its baseline");
		$sessions_ok &= is($s->query_safe($full_query), $expected_full,
			"$x->{name}: full scan after the storm equals the Seq Scan");
	}

	# The differential oracle under one snapshot, the session's table read
	# cold.
	evict_storm($canceller);
	my $s = $sessions[0]->{psql};
	$sessions_ok &= is( $s->query_safe(
			"BEGIN ISOLATION LEVEL REPEATABLE READ;
			 SET LOCAL pg_asyncscan.enabled = off; $full_query;
			 SET LOCAL pg_asyncscan.enabled = on; $full_query;
			 COMMIT"),
		"$expected_full\n$expected_full",
		"$method: after the storm AsyncSeqScan returns what Seq Scan returns under one snapshot"
	);
	$_->{psql}->quit foreach @sessions;
	$sessions_ok &= arena_is_clean($node, "$method storm") if $method eq 'worker';

	# the reliability figures count only outcomes an assertion verified:
	# scans that returned the right rows or were cancelled, and nothing
	# else, from a storm whose sessions came back to their baseline (see
	# the assertions above); otherwise none
	my $storm_ok = $n{wrong} == 0 && $n{other} == 0 && $sessions_ok;
	diag("reliability: cancel storm ($method): cases="
		  . ($storm_ok ? $n{verified} : 0)
		  . ' cancels=' . ($storm_ok ? $n{cancels} : 0));
}
$canceller->quit;

my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP/, 'storm: no failed assertion (TRAP) in the server log');
unlike($log, qr/PANIC/, 'storm: no PANIC in the server log');
unlike($log, qr/terminated by signal/,
	'storm: no server process terminated by a signal');
unlike($log, qr/leak|resource was not closed/i,
	'storm: no leak warning (resource owner, temporary file, buffer refcount)');
note sprintf('storms done after %.1f s', time() - $started_at);

# --- 2. a backend killed with SIGKILL mid-scan --------------------------------
my @killed;

# Wait for the server to accept connections again after crash restart.
sub wait_for_restart
{
	my $deadline = time() + 60;
	while (time() < $deadline)
	{
		my ($ret, $out) = $node->psql('postgres',
			'SELECT io_workers FROM pg_asyncscan_worker_status()');
		return 1 if $ret == 0 && $out eq '2';
		usleep(100_000);
	}
	return 0;
}

# Full scans, read cold, with every method; returns the rows of the scans
# that were right, and whether all were (and the arena is clean).
sub every_method_scans_correctly
{
	my ($name) = @_;
	my ($rows, $all_ok) = (0, 1);
	foreach my $method ('sync', 'io_uring', 'worker')
	{
		foreach my $direct_io ('on', 'off')
		{
			evict_storm(undef);
			my $got = $node->safe_psql('postgres',
				"SET pg_asyncscan.io_method = '$method';
				 SET pg_asyncscan.direct_io = $direct_io; $full_query");
			if (is($got, $expected_full,
				"$name: $method, direct_io $direct_io, scans correctly"))
			{
				$rows += (split /\|/, $got)[0];
			}
			else
			{
				$all_ok = 0;
			}
		}
	}
	$all_ok = 0 unless arena_is_clean($node, $name);
	return ($rows, $all_ok);
}

# The moment to kill: with io_uring, the backend blocked in
# io_uring_enter() waiting for a completion with more than one read in
# flight (its ring, /proc/PID/fdinfo: test/perl/AsyncScanTest.pm); with
# the worker method, the backend holding arena slots with requests queued
# or being read by the IO workers (pg_asyncscan_worker_status(), polled
# from a session of its own).  The scan is a full scan read cold (O_DIRECT,
# io_depth 8: a narrow window, so the backend waits often); a scan that
# ends before it is caught so is run again.
my $status = $node->background_psql('postgres', on_error_stop => 0);
my $reads_queued_or_running = q{SELECT owners >= 1 AND free_slots < arena_slots
	AND queued + running > 0 FROM pg_asyncscan_worker_status()};

my %kill_cases = (backend => 0, rows => 0, worker => 0);
foreach my $method ('io_uring', 'worker')
{
	evict_storm(undef);
	my $v = $node->background_psql('postgres', on_error_stop => 0);
	$v->query_safe(
		"SET pg_asyncscan.io_method = '$method';
		 SET pg_asyncscan.direct_io = on; SET pg_asyncscan.io_depth = 8;");
	my $vpid = $v->query_safe('SELECT pg_backend_pid()');
	my ($caught, $tries) = ('', 0);
	while (!$caught && $tries < 40)
	{
		$tries++;
		$v->{stderr} = '';
		$v->query_until(qr/started/,
			"\\echo started\n$full_query;\n\\echo finished\n");
		my $done = sub {
			$v->{run}->pump_nb();
			return $v->{stdout} =~ /finished/;
		};
		if ($method eq 'io_uring')
		{
			my $n = wait_uring_reads($vpid, 2, 20, $done);
			$caught = "$n reads in flight" if $n;
		}
		else
		{
			my $deadline = time() + 20;
			while (!$done->() && time() < $deadline)
			{
				if ($status->query_safe($reads_queued_or_running) eq 't')
				{
					$caught = 'arena slots held, reads queued or running';
					last;
				}
			}
		}
		last if $caught;
		$v->query('SELECT 1');    # ended before it was caught: again
		evict_storm(undef);
	}
	ok($caught, "$method: the scan caught mid-read ($caught, scan $tries)");
	is(kill('KILL', $vpid), 1, "$method: SIGKILL sent to backend $vpid");
	push @killed, $vpid;
	# psql has lost its server; quitting it may meet a closed pipe
	eval { $v->quit; };
	# so has the status session
	eval { $status->quit; };

	my $back = ok(wait_for_restart(), "$method: the server is back after crash restart");
	$status = $node->background_psql('postgres', on_error_stop => 0);
	# "server process" before PostgreSQL 18, "client backend" from 18 on
	$log = slurp_file($node->logfile);
	my $named = like($log,
		qr/(?:server process|client backend) \(PID $vpid\) was terminated by signal 9/,
		"$method: the log names the killed backend");
	my ($rows, $all_ok) =
	  every_method_scans_correctly("after SIGKILL of a $method backend");
	# counted only when every assertion of the case held
	if ($caught && $back && $named && $all_ok)
	{
		$kill_cases{backend}++;
		$kill_cases{rows} += $rows;
	}
}
$status->quit;
like($log, qr/all server processes terminated; reinitializing/,
	'the log shows the crash restart');
diag("reliability: SIGKILL backend mid-scan, cluster recovers: "
	  . "cases=$kill_cases{backend} rows=$kill_cases{rows}");

# --- 3. an IO worker killed with SIGKILL mid-read -----------------------------
# (020_worker.pl section 5 covers this in detail; here: the scanning
# backend's outcome, and correct scans afterwards.)
$node->safe_psql('postgres', $READING_WORKER_SQL);

my $script_dir = PostgreSQL::Test::Utils::tempdir;
for my $case (1 .. 2)
{
	evict_storm(undef);
	my $file = "$script_dir/worker_kill_$case.sql";
	open(my $fh, '>', $file) or die "cannot write $file: $!";
	print $fh "SET pg_asyncscan.io_method = 'worker';
SET pg_asyncscan.direct_io = on;
SET pg_asyncscan.io_depth = 64;
$full_query;
$full_query;
$full_query;
";
	close $fh;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d',
			$node->connstr('postgres'), '-f', $file
		],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout(120));

	my $victim = $node->safe_psql('postgres', 'SELECT reading_worker(20000)');
	my $found = ok($victim =~ /^\d+$/, "case $case: found an IO worker in a read (pid $victim)");
	is(kill('KILL', $victim), 1, "case $case: SIGKILL sent to IO worker $victim");
	push @killed, $victim;

	my $finished = eval { $h->finish; 1 };
	ok($finished, "case $case: the scanning backend did not hang");
	my $rc = $finished ? $h->result(0) : -1;
	my @lines = grep { $_ ne '' } split /\n/, $out;
	my $outcome_ok = is_deeply([ grep { $_ ne $expected_full } @lines ],
		[], "case $case: no wrong rows ($out)");
	if ($rc == 0)
	{
		$outcome_ok &= is(scalar(@lines), 3,
			"case $case: the scans finished, with the right results");
	}
	else
	{
		# the IO worker's death takes the server through crash restart,
		# which ends the backend's connection; no other error is expected
		# (a backend whose request's worker died reads it itself)
		my @errors = grep { /ERROR|FATAL|PANIC/ } split /\n/, $err;
		$outcome_ok &= like(
			$err,
			qr/terminating connection because of crash of another server process|server closed the connection unexpectedly/,
			"case $case: the scan's connection was ended by the crash restart");
		$outcome_ok &= is_deeply([ grep { !/terminating connection because of crash of another server process/ } @errors ],
			[], "case $case: and no other error");
	}
	note "case $case: exit code $rc, " . scalar(@lines) . " results, stderr: $err";

	my $back = ok(wait_for_restart(), "case $case: the server is back after crash restart");
	my $named = like(
		slurp_file($node->logfile),
		qr/\(PID $victim\) was terminated by signal 9/,
		"case $case: the log names the killed IO worker");
	my (undef, $all_ok) =
	  every_method_scans_correctly("case $case: after SIGKILL of an IO worker");
	$kill_cases{worker}++ if $found && $outcome_ok && $back && $named && $all_ok;
}
diag("reliability: IO worker SIGKILL mid-read: cases=$kill_cases{worker}");

$node->stop;
$log = slurp_file($node->logfile);
unlike($log, qr/TRAP/, 'no failed assertion (TRAP) in the server log');
unlike($log, qr/PANIC/, 'no PANIC in the server log');
unlike($log, qr/leak|resource was not closed/i, 'no leak warning in the server log');
my @terminated = $log =~ /\(PID (\d+)\) was terminated by signal/g;
is( join(',', sort @terminated),
	join(',', sort @killed),
	'the only processes terminated by a signal are the ones this test killed');
note sprintf('done after %.1f s', time() - $started_at);

done_testing();
