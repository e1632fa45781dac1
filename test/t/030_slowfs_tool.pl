
# Copyright (c) pg_asyncscan authors
#
# 030_slowfs_tool.pl
#	The fault-injecting FUSE file system of the benchmarks and fault tests
#	has a self-test of its own (test/tools/slowfs_test.sh: passthrough,
#	overlapped latency, EIO and short-read rules); run it here so that CI
#	runs it.  Skips where FUSE is not available.

use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;

if (system('command -v fusermount3 >/dev/null 2>&1') != 0
	|| system('pkg-config --exists fuse3 2>/dev/null') != 0)
{
	plan skip_all => 'fuse3 (fusermount3, pkg-config fuse3) is not installed';
}
if (!-r '/dev/fuse' || !-w '/dev/fuse')
{
	plan skip_all => '/dev/fuse is not readable and writable by this user';
}

my ($stdout, $stderr);
my $ok = IPC::Run::run([ 'bash', 'test/tools/slowfs_test.sh' ],
	'>', \$stdout, '2>', \$stderr);
note $stdout;
note $stderr if $stderr ne '';
if (!$ok && $? >> 8 == 77)
{
	plan skip_all => 'slowfs_test.sh could not mount here';
}
ok($ok, 'slowfs_test.sh exits with success');
like($stdout, qr/^(\w+: )?\d+ passed, 0 failed$/m, 'every slowfs check passed');

done_testing();
