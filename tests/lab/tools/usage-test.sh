#!/bin/sh
# pk-ipc-probe answers every malformed command line with a usage error
# (exit 2) before touching any socket.
probe=$1
status=0
err=$(mktemp)
trap 'rm -f "$err"' EXIT
expect_usage() {
  "$probe" "$@" > /dev/null 2> "$err"
  rc=$?
  if [ "$rc" -ne 2 ] || ! grep -q '^usage:' "$err"; then
    echo "FAIL: pk-ipc-probe $* exited $rc (expected 2 with the usage text)"
    status=1
  fi
}
expect_usage
expect_usage bogus
expect_usage latency
expect_usage latency nfsd --calls 3 show paths
expect_usage latency pathkeeper
expect_usage latency pathkeeper /nonexistent show paths
expect_usage latency pathkeeper /nonexistent --calls 0 show paths
expect_usage latency pathkeeper /nonexistent --calls x show paths
expect_usage latency pathkeeper /nonexistent --calls 3
expect_usage latency pathkeeper /nonexistent --calls 3 --budget -1 show paths
expect_usage latency multipathd --calls 3 --frobnicate show paths
expect_usage latency multipathd --calls 3 --interval 0 show paths
expect_usage latency multipathd --calls
expect_usage raw
expect_usage raw /nonexistent
expect_usage raw /nonexistent --declared-length 10
expect_usage raw /nonexistent --declared-length 4294967296 --send-bytes 1
expect_usage raw /nonexistent --declared-length 10 --send-bytes 1 --fill xy
expect_usage raw /nonexistent --payload-hex 7
expect_usage raw /nonexistent --payload-hex zz
expect_usage raw /nonexistent --payload-hex 00 --send-bytes 1
# A well-formed call to a socket that is not there is a failure, not a usage error.
"$probe" raw /nonexistent/control.sock --payload-hex 706b31 2> /dev/null
rc=$?
[ "$rc" -eq 1 ] || { echo "FAIL: raw to a missing socket exited $rc (expected 1)"; status=1; }
exit $status
