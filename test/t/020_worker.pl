
# Copyright (c) pg_asyncscan authors
#
# 020_worker.pl
#	  The "worker" IO method: background IO worker processes reading into a
#	  shared arena (design.md section 5).
#
#	1. pg_asyncscan.io_workers = 2 starts two workers, visible in ps and
#	   pg_stat_activity under a clear name and in
#	   pg_asyncscan_worker_status().
#	2. io_method = worker returns what a Seq Scan returns (count, sum,
#	   GROUP BY, filter, LIMIT, cursor) on ~100 MB read cold (shared
#	   buffers and OS page cache emptied), with direct_io off and on, and
#	   EXPLAIN shows the worker method reading directly.
#	3. A scan that ends by ERROR, cancel, statement_timeout, FATAL or client
#	   disconnect leaves nothing in the queue or arena, and the session or
#	   server keeps scanning correctly.
#	4. IO workers terminated with pg_terminate_backend(): scans do not
#	   wait on the queue nobody serves, and the workers come back.
#	5. A worker killed by SIGKILL mid-read: crash restart, no hanging
#	   backend, and worker scans work again afterwards.
#	6. A small arena (8 slots) with io_depth = 64 and several concurrent
#	   scans: no deadlock, right results, inline reads, and a greedy scan
#	   does not starve another.
#
# After every scenario pg_asyncscan_worker_status() must show the arena
# empty: free_slots = arena_slots, nothing queued or running, no owners.
# IO errors injected into worker reads are in 021_worker_faults.pl.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::Bin/../perl";
use AsyncScanTest qw(init_preloaded io_analyze evict_from_page_cache arena_is_clean $READING_WORKER_SQL);
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('worker');
# the EXPLAIN options that show AsyncSeqScan's IO counters (ASYNCIO on 18)
my $io_analyze = io_analyze($node);
init_preloaded($node, q{
shared_buffers = 32MB
# a killed IO worker must take the server through crash restart (section 5)
restart_after_crash = on
});
$node->start;

# Poll $sql (one value) until it returns $want; false after ~$secs seconds.
sub wait_for
{
	my ($sql, $want, $secs) = @_;
	my $got;
	my $deadline = time() + ($secs // 10);
	while (1)
	{
		$got = $node->safe_psql('postgres', $sql);
		return 1 if $got eq $want;
		last if time() > $deadline;
		usleep(100_000);
	}
	diag "still '$got' instead of '$want' after polling: $sql";
	return 0;
}

my $status_sql = q{SELECT io_workers || '|' || arena_slots || '|' ||
	free_slots || '|' || queued || '|' || running || '|' || owners
	FROM pg_asyncscan_worker_status()};

# --- 1. the worker processes -----------------------------------------------
$node->safe_psql('postgres', 'CREATE EXTENSION pg_asyncscan');
ok( wait_for(
		q{SELECT io_workers FROM pg_asyncscan_worker_status()}, '2'),
	'pg_asyncscan_worker_status() counts 2 IO workers');
is($node->safe_psql('postgres', $status_sql),
	'2|128|128|0|0|0',
	'worker status: 2 workers, 128 slots (16 MB arena) all free, nothing queued or running');

ok( wait_for(
		q{SELECT count(*) FROM pg_stat_activity
		  WHERE backend_type = 'pg_asyncscan io worker'}, '2'),
	'pg_stat_activity shows 2 backends of type "pg_asyncscan io worker"');
my @worker_pids = split /\n/,
  $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity
	  WHERE backend_type = 'pg_asyncscan io worker' ORDER BY pid});
is( $node->safe_psql(
		'postgres',
		q{SELECT string_agg(DISTINCT application_name, ',')
		  FROM pg_stat_activity WHERE backend_type = 'pg_asyncscan io worker'}),
	'pg_asyncscan io worker',
	'the workers report their name as application_name');

# the postmaster's pid: the first line of postmaster.pid
my ($postmaster_pid) =
  split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
# what ps shows: the process title (PostgreSQL rewrites its argv, which
# /proc/PID/cmdline shows) and the parent (field 4 of /proc/PID/stat)
my @titles;
foreach my $pid (@worker_pids)
{
	my $title = slurp_file("/proc/$pid/cmdline");
	$title =~ s/\0+/ /g;
	my ($ppid) = slurp_file("/proc/$pid/stat") =~ /^\d+ \(.*\) \S+ (\d+)/;
	is($ppid, $postmaster_pid, "worker $pid is a child of the postmaster");
	note "process title of $pid: $title";
	push @titles, $title;
}
is( join(',', sort map { /(pg_asyncscan io worker \d+)/ ? $1 : $_ } @titles),
	'pg_asyncscan io worker 0,pg_asyncscan io worker 1',
	'the process titles are "pg_asyncscan io worker 0" and "... 1"');
SKIP:
{
	skip 'ps is not installed', 1
	  unless system('ps -p 1 >/dev/null 2>&1') == 0;
	my $ps = `ps -o args= -p @{[ join(',', @worker_pids) ]}`;
	is( join(',', sort map { /(pg_asyncscan io worker \d+)/ ? $1 : $_ } split /\n/, $ps),
		'pg_asyncscan io worker 0,pg_asyncscan io worker 1',
		'ps shows "pg_asyncscan io worker 0" and "... 1"');
}

# --- 2. results like a Seq Scan, read cold ---------------------------------
# about 100 MB of pgbench_accounts; pgbench -i vacuums it: all-visible
$node->command_ok(
	[
		'pgbench', '-i', '-q', '-s', '8', '-h', $node->host, '-p', $node->port,
		'postgres'
	],
	'pgbench -i -s 8');
is( $node->safe_psql(
		'postgres',
		q{SELECT relallvisible = relpages FROM pg_class
		  WHERE relname = 'pgbench_accounts'}),
	't',
	'pgbench_accounts is all-visible');
my $nblocks = $node->safe_psql('postgres',
	q{SELECT pg_relation_size('pgbench_accounts') / 8192});

my %query = (
	count => 'SELECT count(*), sum(abalance), sum(aid), sum(bid) FROM pgbench_accounts',
	group_by => 'SELECT bid, count(*), sum(aid), min(aid), max(aid), '
	  . 'sum(abalance), sum(length(filler)) FROM pgbench_accounts '
	  . 'GROUP BY bid ORDER BY bid',
	filter => 'SELECT aid, bid, abalance, filler FROM pgbench_accounts '
	  . 'WHERE aid % 39999 = 0 ORDER BY aid',
	limit => 'SELECT aid, bid FROM pgbench_accounts LIMIT 7',
	limit_count =>
	  'SELECT count(*), sum(aid) FROM (SELECT aid FROM pgbench_accounts LIMIT 123457) s',
	cursor => "BEGIN;\n"
	  . "DECLARE c CURSOR FOR SELECT aid, bid FROM pgbench_accounts WHERE aid % 100000 = 1;\n"
	  . "FETCH 2 FROM c;\n"
	  . "FETCH ALL FROM c;\n"
	  . "CLOSE c;\n"
	  . "COMMIT;",);

my %expected;
foreach my $name (sort keys %query)
{
	$expected{$name} = $node->safe_psql('postgres',
		"SET pg_asyncscan.enabled = off;\n$query{$name}");
}
is($expected{count}, '800000|0|320000400000|3600000', 'Seq Scan reference count/sum');
is($expected{cursor}, join("\n", map { ($_ * 100000 + 1) . '|' . ($_ + 1) } 0 .. 7),
	'Seq Scan reference cursor');

# empty shared buffers: the direct path reads nearly every block
$node->restart;
$node->safe_psql('postgres', 'SELECT pg_asyncscan_stats_reset()');

foreach my $direct_io ('off', 'on')
{
	my $settings = qq{
SET pg_asyncscan.io_method = 'worker';
SET pg_asyncscan.direct_io = $direct_io;
};
	evict_from_page_cache($node, 'pgbench_accounts');
	my $json = $node->safe_psql('postgres',
		"$settings EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF, FORMAT JSON) $query{count}");
	like($json, qr/"Custom Plan Provider": "AsyncSeqScan"/,
		"direct_io $direct_io: AsyncSeqScan is planned");
	like($json, qr/"IO Method": "worker"/,
		"direct_io $direct_io: EXPLAIN shows \"IO Method\": \"worker\"");
	my ($direct) = $json =~ /"Pages Direct": (\d+)/;
	my ($hit) = $json =~ /"Pages Hit": (\d+)/;
	my ($read) = $json =~ /"Pages Read": (\d+)/;
	my ($reads) = $json =~ /"Reads": (\d+)/;
	cmp_ok($direct, '>', $nblocks / 2,
		"direct_io $direct_io: Pages Direct $direct of $nblocks blocks");
	is($direct + $hit + $read, $nblocks,
		"direct_io $direct_io: Pages Direct + Hit + Read = blocks of the table");
	cmp_ok($reads, '>', 0, "direct_io $direct_io: $reads reads");
	my $want_dio = $direct_io eq 'on' ? 'true' : 'false';
	like($json, qr/"Direct IO": $want_dio/,
		"direct_io $direct_io: \"Direct IO\": $want_dio");

	my $text = $node->safe_psql('postgres',
		"$settings EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF) $query{count}");
	like($text, qr/IO: method=worker /,
		"direct_io $direct_io: EXPLAIN text shows IO: method=worker");

	foreach my $name (sort keys %query)
	{
		evict_from_page_cache($node, 'pgbench_accounts');
		is($node->safe_psql('postgres', "$settings $query{$name}"),
			$expected{$name}, "direct_io $direct_io: $name same as Seq Scan");
	}
	arena_is_clean($node, "direct_io $direct_io");
}

# the statistics view counted the worker scans, without errors
is( $node->safe_psql(
		'postgres',
		q{SELECT scans >= 14, pages_direct > 0, reads > 0, errors
		  FROM pg_asyncscan_stats WHERE io_method = 'worker'}),
	't|t|t|0',
	'pg_asyncscan_stats counts the worker scans, no errors');

# --- 3. every way a scan can end ---------------------------------------------
my $settings = q{
SET pg_asyncscan.io_method = 'worker';
SET pg_asyncscan.direct_io = on;
SET pg_asyncscan.io_depth = 64;
};
my $full_query = $query{count};
my $slow_query = q{SELECT count(*) FROM pgbench_accounts
	WHERE CASE WHEN aid % 20000 = 0 THEN pg_sleep(0.05) IS NOT NULL ELSE true END};
my $holds_slots = q{SELECT owners >= 1 AND free_slots < arena_slots
	FROM pg_asyncscan_worker_status()};

my $s = $node->background_psql('postgres', on_error_stop => 0);
$s->query_safe($settings);
my $spid = $s->query_safe('SELECT pg_backend_pid()');

sub expect_error
{
	my ($sql, $pattern, $name) = @_;
	$s->{stderr} = '';
	$s->query($sql);
	like($s->{stderr}, $pattern, $name);
	$s->{stderr} = '';
	return;
}

for my $round (1 .. 2)
{
	evict_from_page_cache($node, 'pgbench_accounts');
	expect_error(
		'SELECT count(*) FROM pgbench_accounts WHERE 1 / (aid - 300000) > 0',
		qr/division by zero/, "round $round: ERROR in a qual mid-scan");
	arena_is_clean($node, "round $round: after the ERROR");
	is($s->query_safe($full_query), $expected{count},
		"round $round: the session scans correctly after the ERROR");

	evict_from_page_cache($node, 'pgbench_accounts');
	expect_error(
		"SET statement_timeout = '" . (10, 30)[ $round - 1 ] . "ms'; $full_query",
		qr/canceling statement due to statement timeout/,
		"round $round: statement_timeout mid-scan");
	$s->query_safe('RESET statement_timeout');
	arena_is_clean($node, "round $round: after statement_timeout");

	# query cancel from another session while the scan holds slots
	evict_from_page_cache($node, 'pgbench_accounts');
	$s->query_until(qr/started/, "\\echo started\n$slow_query;\n");
	ok(wait_for($holds_slots, 't', 5),
		"round $round: the slow scan holds arena slots");
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($spid)");
	$s->{stderr} = '';
	$s->query('SELECT 1');    # waits for the cancelled query's answer
	like($s->{stderr}, qr/canceling statement due to user request/,
		"round $round: query cancel mid-scan");
	$s->{stderr} = '';
	arena_is_clean($node, "round $round: after the cancel");
	is($s->query_safe($full_query), $expected{count},
		"round $round: the session scans correctly after the cancel");
}
$s->quit;

# FATAL mid-scan (pg_terminate_backend) and a client vanishing with an open
# cursor: the backend exits holding slots
for my $round (1 .. 2)
{
	evict_from_page_cache($node, 'pgbench_accounts');
	my $v = $node->background_psql('postgres', on_error_stop => 0);
	$v->query_safe($settings);
	my $vpid = $v->query_safe('SELECT pg_backend_pid()');
	$v->query_until(qr/started/, "\\echo started\n$slow_query;\n");
	ok(wait_for($holds_slots, 't', 5),
		"round $round: the slow scan to be terminated holds arena slots");
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($vpid)");
	# psql has lost its server; quitting it may meet a closed pipe
	eval { $v->quit; };
	ok(wait_for("SELECT count(*) FROM pg_stat_activity WHERE pid = $vpid", '0'),
		"round $round: the terminated backend is gone");
	arena_is_clean($node, "round $round: after pg_terminate_backend");

	evict_from_page_cache($node, 'pgbench_accounts');
	my $w = $node->background_psql('postgres', on_error_stop => 0);
	$w->query_safe($settings);
	my $wpid = $w->query_safe('SELECT pg_backend_pid()');
	is( $w->query_safe(
			'BEGIN; DECLARE c CURSOR FOR SELECT aid FROM pgbench_accounts; FETCH 3 FROM c'),
		"1\n2\n3",
		"round $round: cursor fetched");
	is($node->safe_psql('postgres', $holds_slots),
		't', "round $round: the open cursor holds arena slots");
	$w->quit;
	ok(wait_for("SELECT count(*) FROM pg_stat_activity WHERE pid = $wpid", '0'),
		"round $round: the disconnected backend is gone");
	arena_is_clean($node, "round $round: after a client disconnect with an open cursor");
}
evict_from_page_cache($node, 'pgbench_accounts');
is($node->safe_psql('postgres', "$settings $full_query"),
	$expected{count}, 'server scans correctly after backends exited mid-scan');

# Start psql on $sql in the background; returns [handle, \stdout, \stderr].
# The script goes through a file: IPC::Run would feed a scalar only while
# we pump, and we do other things meanwhile.
my $script_dir = PostgreSQL::Test::Utils::tempdir;
my $script_count = 0;

sub start_psql
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	my $file = "$script_dir/script_" . $script_count++ . '.sql';
	open(my $fh, '>', $file) or die "cannot write $file: $!";
	print $fh $sql;
	close $fh;
	my $h = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d',
			$node->connstr('postgres'), '-f', $file
		],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout(120));
	return [ $h, \$out, \$err ];
}

# Wait for a psql started by start_psql; returns (exit code, stdout, stderr).
# A hang is caught by the timeout: then the exit code is -1.
sub finish_psql
{
	my ($p) = @_;
	my ($h, $out, $err) = @$p;
	my $ok = eval { $h->finish; 1 };
	return (-1, $$out, $$err . ($@ // '')) unless $ok;
	my $rc = $h->result(0);
	chomp(my $o = $$out);
	return ($rc, $o, $$err);
}

# --- 4. IO workers that exit ---------------------------------------------------
# pg_terminate_backend() of every IO worker (SIGTERM): a worker scan started
# right away must not wait on a queue that nobody serves (README, "IO
# methods": a request still queued after 100 ms is read by the backend
# itself; with no worker running, none is queued), and the postmaster must
# start the workers again (they are registered with a restart time of 1 s).
# One function terminates the workers, waits until none is running, and
# at once runs a scan of the table's first 100000 rows (1640 blocks, read
# cold) under EXPLAIN ANALYZE, reading the worker count right before and
# after it.  The scan must begin and end with no worker running (it takes
# a fraction of the workers' 1 s restart time when nothing waits), do
# every read itself (Inline Reads = Reads) and never wait for a read (a
# read queued to nobody would wait 100 ms before being taken back, and
# the workers would be back before the scan ended).  Should the workers
# still come back before the scan began (a very slow machine), this is
# tried again, up to 5 times.
{
	$node->safe_psql(
		'postgres', qq{
CREATE FUNCTION scan_without_workers(query text, OUT workers_before int,
	OUT counters jsonb, OUT workers_after int)
LANGUAGE plpgsql AS \$f\$
DECLARE
	plan jsonb;
BEGIN
	PERFORM pg_terminate_backend(pid) FROM pg_stat_activity
	 WHERE backend_type = 'pg_asyncscan io worker';
	LOOP
		SELECT io_workers INTO workers_before FROM pg_asyncscan_worker_status();
		EXIT WHEN workers_before = 0
			OR clock_timestamp() > statement_timestamp() + interval '10 s';
		PERFORM pg_sleep(0.001);
	END LOOP;
	EXECUTE 'EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF, FORMAT JSON) ' || query
		INTO plan;
	counters := jsonb_path_query_first(plan,
		'\$.** ? (\@."Custom Plan Provider" == "AsyncSeqScan")');
	SELECT io_workers INTO workers_after FROM pg_asyncscan_worker_status();
END \$f\$;
});
	my $first_rows =
	  'SELECT count(*), sum(aid) FROM (SELECT aid FROM pgbench_accounts LIMIT 100000) s';
	my $check = q{SELECT workers_before, workers_after,
		(counters->>'Pages Direct')::int, (counters->>'Reads')::int,
		(counters->>'Inline Reads')::int, (counters->>'Waits')::int,
		counters->>'IO Method'
		FROM scan_without_workers($q$} . $first_rows . q{$q$)};
	my ($before, $after, $direct, $reads, $inline, $waits, $method, $err);
	for my $attempt (1 .. 5)
	{
		ok(wait_for('SELECT io_workers FROM pg_asyncscan_worker_status()', '2', 10),
			"attempt $attempt: both IO workers are running");
		evict_from_page_cache($node, 'pgbench_accounts');
		my ($ret, $out);
		($ret, $out, $err) = $node->psql('postgres',
			"$settings SET statement_timeout = '15s'; $check");
		($before, $after, $direct, $reads, $inline, $waits, $method) =
		  split /\|/, $out;
		last if $ret != 0 || ($before // '') eq '0';
		note "attempt $attempt: the IO workers were back ($before) before the scan began";
	}
	is($err, '', 'IO workers terminated: the scan finished without error');
	is($before, '0', 'no IO worker was running when the scan began');
	is($after, '0', 'nor when it ended');
	is($method, 'worker', 'the scan used io_method worker');
	cmp_ok($direct // 0, '>', 1000, "it read $direct blocks directly");
	# (the LIMIT ends the scan in ExecEndNode, after EXPLAIN ANALYZE has
	# printed its counters: Inline Reads must be complete by then too)
	cmp_ok($inline // 0, '>', 0, "by $inline reads of its own");
	is($inline, $reads, 'every read inline: none was queued');
	is($waits, '0', 'no read was waited for');
	my $seq_first_rows = $node->safe_psql('postgres',
		"SET pg_asyncscan.enabled = off; $first_rows");
	is($seq_first_rows, '100000|5000050000', 'Seq Scan reference of the first rows');
	is($node->safe_psql('postgres', "$settings $first_rows"),
		$seq_first_rows, 'IO workers terminated: the right result');
	arena_is_clean($node, 'IO workers terminated');

	ok(wait_for('SELECT io_workers FROM pg_asyncscan_worker_status()', '2', 5),
		'the IO workers are running again after pg_terminate_backend');
	if ($node->safe_psql('postgres', $status_sql) !~ /^2\|/)
	{
		# let the rest of this test run with its workers
		note 'the IO workers did not come back: restarting the server';
		$node->restart;
		wait_for('SELECT io_workers FROM pg_asyncscan_worker_status()', '2', 10);
	}
}

# --- 5. a worker killed mid-read ------------------------------------------------
# Several cold scans keep both workers reading; find one waiting on a read
# (wait event DataFileRead) and kill it with SIGKILL.  The postmaster must
# take the server through crash restart, and no backend may hang.
{
	$node->safe_psql('postgres', $READING_WORKER_SQL);
	evict_from_page_cache($node, 'pgbench_accounts');
	my @scans = map {
		start_psql(
			"SET pg_asyncscan.io_method = 'worker'; SET pg_asyncscan.io_depth = 64;
			 SET pg_asyncscan.direct_io = on;
			 SELECT pg_sleep(0.2); $full_query; $full_query; $full_query")
	} 1 .. 3;
	my $victim = $node->safe_psql('postgres', 'SELECT reading_worker(20000)');
	ok($victim =~ /^\d+$/, "found an IO worker in a read (pid $victim)");
	is(kill('KILL', $victim), 1, "SIGKILL sent to IO worker $victim");

	my $lost = 0;
	my $i = 0;
	foreach my $p (@scans)
	{
		$i++;
		my ($rc, $out, $err) = finish_psql($p);
		isnt($rc, -1, "scan $i did not hang after the worker was killed");
		if ($rc != 0)
		{
			$lost++;
			like(
				$err,
				qr/terminating connection because of crash of another server process|server closed the connection unexpectedly|connection to server .* failed|no connection to the server/,
				"scan $i lost its connection through the crash restart");
		}
		else
		{
			# finished before the crash: then its results must be right
			is($out, join("\n", '', ($expected{count}) x 3),
				"scan $i finished before the crash, with the right results");
		}
	}
	cmp_ok($lost, '>=', 1, "$lost of 3 scans were ended by the crash restart");

	# the server comes back, with both workers
	my $back = 0;
	foreach my $j (1 .. 300)
	{
		my ($ret, $out) = $node->psql('postgres',
			'SELECT io_workers FROM pg_asyncscan_worker_status()');
		if ($ret == 0 && $out eq '2')
		{
			$back = 1;
			last;
		}
		usleep(100_000);
	}
	ok($back, 'the server is back after crash restart, with 2 IO workers');
	isnt(
		$node->safe_psql(
			'postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE pid = $victim"),
		'1',
		'the killed worker is not among the running ones');
	is($node->safe_psql('postgres', $status_sql),
		'2|128|128|0|0|0', 'after crash restart the arena is empty');

	evict_from_page_cache($node, 'pgbench_accounts');
	is( $node->safe_psql(
			'postgres',
			"SET pg_asyncscan.io_method = 'worker'; SET pg_asyncscan.direct_io = on; $full_query"
		),
		$expected{count},
		'worker scans are right after the crash restart');
	is( $node->safe_psql(
			'postgres',
			"SET pg_asyncscan.io_method = 'worker'; $query{group_by}"),
		$expected{group_by},
		'worker GROUP BY is right after the crash restart');
	arena_is_clean($node, 'after crash restart');

	my $log = slurp_file($node->logfile);
	like(
		$log,
		qr/background worker "pg_asyncscan io worker[^"]*" \(PID $victim\) was terminated by signal 9/,
		'the server log names the killed worker');
	like($log, qr/all server processes terminated; reinitializing/,
		'the server log shows the crash restart');
	my @terminated = $log =~ /(was terminated by signal)/g;
	is(scalar(@terminated), 1, 'no other process was terminated by a signal');
}

# --- 6. a small arena, many scans ----------------------------------------------
$node->append_conf('postgresql.conf', "pg_asyncscan.worker_arena_size = 1024\n");
$node->restart;
ok(wait_for(q{SELECT io_workers FROM pg_asyncscan_worker_status()}, '2'),
	'small arena: 2 workers after restart');
is($node->safe_psql('postgres', $status_sql),
	'2|8|8|0|0|0', 'worker_arena_size = 1024 kB gives 8 slots');

my $small_settings = q{
SET pg_asyncscan.io_method = 'worker';
SET pg_asyncscan.io_depth = 64;
};
my @names = qw(count group_by filter limit limit_count cursor);
my $script = join('',
	$small_settings,
	map { "\\echo == $_\n$query{$_};\n" } @names);
my $script_expected =
  join("\n", map { ("== $_", $expected{$_}) } @names);

for my $round (1 .. 2)
{
	my $direct_io = $round == 1 ? 'off' : 'on';
	evict_from_page_cache($node, 'pgbench_accounts');
	my @sessions =
	  map { start_psql("SET pg_asyncscan.direct_io = $direct_io;\n$script") } 1 .. 4;
	my $explain = start_psql(
		"$small_settings SET pg_asyncscan.direct_io = $direct_io;
		 EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF, FORMAT JSON) $query{count}");
	my $i = 0;
	foreach my $p (@sessions)
	{
		$i++;
		my ($rc, $out, $err) = finish_psql($p);
		is($rc, 0, "small arena, direct_io $direct_io: session $i finished")
		  or diag $err;
		is($out, $script_expected,
			"small arena, direct_io $direct_io: session $i got the Seq Scan's results");
	}
	my ($rc, $json, $err) = finish_psql($explain);
	is($rc, 0, "small arena, direct_io $direct_io: EXPLAIN ANALYZE finished")
	  or diag $err;
	like($json, qr/"IO Method": "worker"/,
		"small arena, direct_io $direct_io: EXPLAIN shows the worker method");
	my ($inline) = $json =~ /"Inline Reads": (\d+)/;
	cmp_ok($inline // 0, '>', 0,
		"small arena, direct_io $direct_io: inline reads ($inline) when the arena share is used up"
	);
	my ($rows) = $json =~ /"Actual Rows": (\d+)/;
	is($rows, 1, "small arena, direct_io $direct_io: EXPLAIN ANALYZE ran to the end");
	arena_is_clean($node, "small arena, direct_io $direct_io");
}

# the text EXPLAIN shows the inline reads.  Not left to timing: open
# cursors, each FETCHed a few rows into its scan, keep the reads of their
# look-ahead windows (a slot is given back only when its read is
# consumed) until the arena has no free slot; a scan started then finds
# none, reads everything inline, and must still return the right rows.
{
	evict_from_page_cache($node, 'pgbench_accounts');
	my $free_sql = 'SELECT free_slots FROM pg_asyncscan_worker_status()';
	my @cursors;
	while (@cursors < 8 && $node->safe_psql('postgres', $free_sql) ne '0')
	{
		my $c = $node->background_psql('postgres');
		$c->query_safe($small_settings);
		$c->query_safe('BEGIN');
		$c->query_safe("DECLARE c CURSOR FOR SELECT aid FROM pgbench_accounts");
		$c->query_safe('FETCH 3 FROM c');
		push @cursors, $c;
	}
	is($node->safe_psql('postgres', $free_sql), '0',
		scalar(@cursors) . ' open cursors hold every slot of the arena');
	my $out = $node->safe_psql('postgres',
		"$small_settings EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF) $query{count}");
	like($out, qr/Reads: count=(\d+) .* inline=\1\b/,
		'small arena, no free slot: EXPLAIN text shows every read inline');
	is($node->safe_psql('postgres', "$small_settings $query{count}"),
		$expected{count}, 'small arena, no free slot: the scan is right');
	foreach my $c (@cursors)
	{
		is($c->query_safe('FETCH 2 FROM c'), "4\n5",
			'small arena: an open cursor goes on where it stopped');
		$c->query_safe('COMMIT');
		$c->quit;
	}
	arena_is_clean($node, 'small arena, text EXPLAIN');
}

# Fairness: a greedy scan (io_depth 128) and a modest one (io_depth 8) at
# once: both make progress and finish, in comparable times.
{
	my $timed = 'SELECT count(*), sum(aid), '
	  . 'round(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000) '
	  . 'FROM pgbench_accounts';
	evict_from_page_cache($node, 'pgbench_accounts');
	my $greedy = start_psql(
		"SET pg_asyncscan.io_method = 'worker'; SET pg_asyncscan.io_depth = 128;
		 SET pg_asyncscan.direct_io = on; $timed");
	my $modest = start_psql(
		"SET pg_asyncscan.io_method = 'worker'; SET pg_asyncscan.io_depth = 8;
		 SET pg_asyncscan.direct_io = on; $timed");
	my ($rc1, $out1, $err1) = finish_psql($greedy);
	my ($rc2, $out2, $err2) = finish_psql($modest);
	is($rc1, 0, 'fairness: the greedy scan finished') or diag $err1;
	is($rc2, 0, 'fairness: the modest scan finished') or diag $err2;
	my ($n1, $s1, $ms1) = split /\|/, $out1;
	my ($n2, $s2, $ms2) = split /\|/, $out2;
	is("$n1|$s1", '800000|320000400000', 'fairness: the greedy scan is right');
	is("$n2|$s2", '800000|320000400000', 'fairness: the modest scan is right');
	note "fairness: greedy $ms1 ms, modest $ms2 ms";
	my ($lo, $hi) = sort { $a <=> $b } ($ms1, $ms2);
	cmp_ok($hi, '<=', 4 * $lo + 500,
		"fairness: durations comparable (greedy $ms1 ms, modest $ms2 ms)");
	arena_is_clean($node, 'fairness');
}

$node->stop;
my $log = slurp_file($node->logfile);
# (TRAP, a failed assertion, can only appear on an assertion-enabled
# server: PostgreSQL 18 as test/build_pg.sh builds it; Debian's 15 has none)
unlike($log, qr/TRAP/, 'no failed assertion (TRAP) in the server log');
unlike($log, qr/PANIC/, 'no PANIC in the server log');

done_testing();
