# What pathkeeperctl says is what the kernel has: pathkeeperd over scsi_debug,
# 2 hosts x 4 LUNs = 8 paths in 4 maps.
#  a. pathkeeperctl --json (show paths, show maps, show topology, status)
#     against dmsetup status/table/info, field by field: with every path up,
#     with a device offline (failed in DM by the daemon), with a path failed by
#     an operator, and once all are back. Every mismatch is named (map, path,
#     field); the number of fields compared is checked too.
#  b. uid 65534 reads (show paths, status) but may not fail a path: refused,
#     naming the uid, and the path stays active in DM.
#  c. a well-framed request with a bad payload, and a header announcing 1 MiB
#     (followed by as much of the 1 MiB as the daemon takes), both get an error
#     reply; the daemon lives on and answers.
#  d. show paths latency over the socket, 1000 calls, with reconfigure in a
#     loop and about 10% of the SCSI commands hanging until the 10 s SCSI
#     timeout (the calls start 12 s in, once a check hangs; paths fail and
#     return meanwhile): p99 must stay under 20 ms with no error. Debian's multipathd
#     measured the same way (1000 calls or 120 s), reported, not judged; both
#     also with nothing going on (200 calls), for the guest's own noise.
# Results: compare/<round>/ (both sides, as read and as facts), nobody-*.txt,
# raw-*.txt, cli-latency.txt (+ the samples, microseconds), summary.txt.

P99_LIMIT_MS=${P99_LIMIT_MS:-20}
EXPECT_MAPS=4
EXPECT_PATHS=8
SOCK=/run/pathkeeper/control.sock


# --- Two views of the same maps, as "KEY... VALUE" lines -------------------------

mkdir -p /tmp/cmp
# The kernel's: dmsetup info, table and status (in that order). Status lines:
#   NAME: 0 LEN multipath #feat feat.. #hw hw.. #groups next_group
#     per group: state(A/E/D) #ps_args ps_args.. #paths #path_args
#       per path: major:minor A|F fail_count path_args..
# Table lines: ... #feat feat.. #hw hw.. #groups first_group
#     per group: selector #sel_args sel_args.. #paths #path_args
#       per path: major:minor path_args..
cat > /tmp/cmp/dm-facts.awk <<'AWK'
FILENAME == ARGV[1] { uuid[$1] = $2; devt[$1] = $3 ":" $4; next }
$4 != "multipath" { next }
{ name = $1; sub(/:$/, "", name); i = 5 }
FILENAME == ARGV[2] {
  q = 0
  for (k = i + 1; k <= i + $i; k++) if ($k == "queue_if_no_path") q = 1
  i += $i + 1
  i += $i + 1
  print "map", name, "queue_if_no_path", q
  print "map", name, "selector", $(i + 2)
  next
}
{
  i += $i + 1
  i += $i + 1
  ng = $i; next_group = $(i + 1); i += 2
  total = 0; active = 0
  for (g = 1; g <= ng; g++) {
    st = $i; i++; i += $i + 1
    np = $i; na = $(i + 1); i += 2
    print "group", name, g, "state", st
    print "group", name, g, "paths", np
    for (p = 1; p <= np; p++) {
      dev = $i; a = $(i + 1); i += 3 + na
      print "path", dev, "map", name
      print "path", dev, "dm_state", a
      print "path", dev, "group", g
      print "path", dev, "topology_group", g
      print "path", dev, "topology_dm_state", a
      total++; if (a == "A") active++
    }
  }
  print "map", name, "uuid", uuid[name]
  print "map", name, "devt", devt[name]
  print "map", name, "paths", total
  print "map", name, "paths_active", active
  print "map", name, "groups", ng
  print "map", name, "current_group", next_group
  maps++; paths += total; up += active; groups += ng
}
END {
  print "status maps", maps + 0
  print "status paths", paths + 0
  print "status paths_active", up + 0
  print "status paths_failed", paths - up
  # For the caller: how many facts a full comparison has.
  printf "%d %d %d\n", maps, paths, groups > "/tmp/cmp/dm-shape"
}
AWK

# pathkeeperctl's: the same facts from its JSON documents.
cat > /tmp/cmp/pk-facts.jq <<'JQ'
def dm: if . == "active" then "A" elif . == "failed" then "F" else . end;
def grp: if . == "active" then "A" elif . == "enabled" then "E" else . end;
($maps[0].maps[] | select(.in_kernel) |
  "map \(.name) uuid \(.uuid)",
  "map \(.name) devt \(.devt)",
  "map \(.name) paths \(.paths_total)",
  "map \(.name) paths_active \(.paths_active)",
  "map \(.name) groups \(.group_count)",
  "map \(.name) current_group \(.current_group)",
  "map \(.name) queue_if_no_path \(if .queueing then 1 else 0 end)",
  "map \(.name) selector \(.selector)"),
($paths[0].paths[] | select(.map != "") |
  "path \(.devt) map \(.map)",
  "path \(.devt) dm_state \(.dm_state | dm)",
  "path \(.devt) group \(.group)"),
($topology[0].maps[] | .name as $m | .groups[] | select(.group != 0) | .group as $g |
  "group \($m) \($g) state \(.state | grp)",
  "group \($m) \($g) paths \(.paths | length)",
  (.paths[] | "path \(.devt) topology_group \($g)", "path \(.devt) topology_dm_state \(.dm_state | dm)")),
"status maps \($status[0].map_count)",
"status paths \($status[0].path_count)",
"status paths_active \([$maps[0].maps[].paths_active] | add // 0)",
"status paths_failed \([$paths[0].paths[] | select(.dm_state == "failed")] | length)"
JQ

# compare.awk DM_FACTS PK_FACTS: every key on either side, once; prints each
# mismatch naming map, path and field, then "compared N mismatches M".
cat > /tmp/cmp/compare.awk <<'AWK'
function miss(k, a, b,   f) {
  bad++
  split(k, f, " ")
  if (f[1] == "path")
    printf "MISMATCH map %s path %s (%s) field %s: dmsetup %s, pathkeeperctl %s\n", \
      (f[2] in pmap) ? pmap[f[2]] : "?", f[2], (f[2] in pdev) ? pdev[f[2]] : "?", f[3], a, b
  else if (f[1] == "group")
    printf "MISMATCH map %s group %s field %s: dmsetup %s, pathkeeperctl %s\n", f[2], f[3], f[4], a, b
  else if (f[1] == "map")
    printf "MISMATCH map %s field %s: dmsetup %s, pathkeeperctl %s\n", f[2], f[3], a, b
  else
    printf "MISMATCH %s field %s: dmsetup %s, pathkeeperctl %s\n", f[1], f[2], a, b
}
{ key = $1; for (k = 2; k < NF; k++) key = key " " $k }
FNR == NR { dm[key] = $NF; if ($1 == "path" && $3 == "map") pmap[$2] = $NF; next }
{ pk[key] = $NF }
END {
  while ((getline line < "/tmp/cmp/devnames") > 0) { split(line, d, " "); pdev[d[1]] = d[2] }
  for (k in dm) { n++; if (!(k in pk)) miss(k, dm[k], "(none)"); else if (pk[k] != dm[k]) miss(k, dm[k], pk[k]) }
  for (k in pk) if (!(k in dm)) { n++; miss(k, "(none)", pk[k]) }
  printf "compared %d mismatches %d\n", n, bad
}
AWK

# One read through every map: the kernel picks the group it sends I/O to
# (until the first I/O after a table load or a switch_group, dmsetup shows
# every group E, with none A).
touch_maps() {
  for _tm in $(dmsetup ls --target multipath | awk '$1 != "No" {print $1}'); do
    timeout 10 dd if="/dev/mapper/$_tm" of=/dev/null bs=4k count=1 iflag=direct 2> /dev/null || true
  done
}

# collect DIR: both views, raw and as facts, into DIR.
collect() {
  mkdir -p "$1"
  dmsetup status --target multipath > "$1/dmsetup-status.txt"
  dmsetup table --target multipath > "$1/dmsetup-table.txt"
  : > "$1/dmsetup-info.txt"
  for _c in $(awk '$4 == "multipath" {sub(/:$/, "", $1); print $1}' "$1/dmsetup-status.txt"); do
    echo "$_c $(dmsetup info -c --noheadings --separator ' ' -o uuid,major,minor "$_c")" >> "$1/dmsetup-info.txt"
  done
  pk show maps > "$1/maps.json"
  pk show paths > "$1/paths.json"
  pk show topology > "$1/topology.json"
  pk status > "$1/status.json"
  jq -r '.paths[] | "\(.devt) \(.dev)"' "$1/paths.json" > /tmp/cmp/devnames
  awk -f /tmp/cmp/dm-facts.awk "$1/dmsetup-info.txt" "$1/dmsetup-table.txt" "$1/dmsetup-status.txt" \
    | sort > "$1/facts-dmsetup.txt"
  jq -n -r --slurpfile maps "$1/maps.json" --slurpfile paths "$1/paths.json" \
    --slurpfile topology "$1/topology.json" --slurpfile status "$1/status.json" \
    -f /tmp/cmp/pk-facts.jq | sort > "$1/facts-pathkeeperctl.txt"
}

# compare_views ROUND: both views must agree on every field. The daemon's
# snapshot follows the kernel within a check or two, so they get 20 s to
# agree; then every mismatch is printed and the scenario fails.
compare_views() {
  _cv_dir=/results/compare/$1
  _cv_end=$(awk -v n="$(now)" 'BEGIN {print n + 20}')
  while :; do
    touch_maps
    collect "$_cv_dir"
    awk -f /tmp/cmp/compare.awk "$_cv_dir/facts-dmsetup.txt" "$_cv_dir/facts-pathkeeperctl.txt" \
      > "$_cv_dir/compare.txt"
    grep -q '^compared [0-9]* mismatches 0$' "$_cv_dir/compare.txt" && break
    if awk -v n="$(now)" -v e="$_cv_end" 'BEGIN {exit !(n > e)}'; then
      sed 's/^/  /' "$_cv_dir/compare.txt"
      fail "$1: pathkeeperctl and dmsetup disagree (20 s after asking)"
    fi
    sleep 1
  done
  read _cv_maps _cv_paths _cv_groups < /tmp/cmp/dm-shape
  _cv_n=$(awk '{print $2}' "$_cv_dir/compare.txt")
  # 8 facts per map, 5 per path, 2 per group, 4 counts.
  _cv_want=$((8 * _cv_maps + 5 * _cv_paths + 2 * _cv_groups + 4))
  [ "$_cv_maps" -eq "$EXPECT_MAPS" ] || fail "$1: dmsetup shows $_cv_maps multipath maps, expected $EXPECT_MAPS"
  [ "$_cv_paths" -eq "$EXPECT_PATHS" ] || fail "$1: dmsetup shows $_cv_paths paths, expected $EXPECT_PATHS"
  [ "$_cv_n" -ge "$_cv_want" ] || fail "$1: compared $_cv_n fields, expected at least $_cv_want"
  COMPARED=$((${COMPARED:-0} + _cv_n))
  summary "compare $1: $_cv_n fields agree ($_cv_maps maps, $_cv_paths paths, $_cv_groups groups)"
}

step "udev, scsi_debug 2 hosts x 4 LUNs"
start_udev
load_modules dm-multipath dm-service-time dm-round-robin dm-queue-length
scsi_debug_setup 2 4 16
DISKS=$(scsi_debug_disks | tr '\n' ' ')

step "pathkeeperd builds 4 maps of two active paths"
pk_config
pk_start pathkeeperd.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 60 "4 maps with two active paths" \
  '[ "$(pk show maps | jq "[.maps[] | select(.paths_active == 2)] | length")" -eq 4 ]'
settle
keep pk/topology.txt pathkeeperctl show topology

step "the comparison itself: a planted difference is found and named"
collect /results/compare/self-test
D0=$(echo $DISKS | cut -d' ' -f1)
D0T=$(devnum "$D0")
sed "s/^path $D0T dm_state A$/path $D0T dm_state F/" /results/compare/self-test/facts-pathkeeperctl.txt \
  > /tmp/cmp/planted.txt
awk -f /tmp/cmp/compare.awk /results/compare/self-test/facts-dmsetup.txt /tmp/cmp/planted.txt \
  > /results/compare/self-test/compare.txt
sed 's/^/  /' /results/compare/self-test/compare.txt
expect "the planted dm_state of $D0 is named" \
  grep -q "^MISMATCH map .* path $D0T ($D0) field dm_state: dmsetup A, pathkeeperctl F" \
  /results/compare/self-test/compare.txt
expect "... and it is the only mismatch" grep -q ' mismatches 1$' /results/compare/self-test/compare.txt

step "a. every path up: pathkeeperctl agrees with dmsetup"
compare_views all-up

step "a. $D0 offline: failed in DM by the daemon; pathkeeperctl agrees"
M0=$(pk_path "$D0" map)
scsi_offline "$D0"
wait_for 30 "$D0 failed in DM" '[ "$(mp_path_state "$M0" "$D0")" = F ]'
compare_views one-offline

step "a. an operator fails a path of another map; pathkeeperctl agrees"
for d in $DISKS; do
  if [ "$(pk_path "$d" map)" != "$M0" ]; then D1=$d; break; fi
done
M1=$(pk_path "$D1" map)
save fail-path.txt pathkeeperctl fail path "$D1"
wait_for 10 "$D1 failed in DM" '[ "$(mp_path_state "$M1" "$D1")" = F ]'
expect "show paths says $D1 is failed by an operator" [ "$(pk_path "$D1" admin_failed)" = true ]
compare_views offline-and-admin-failed

step "b. uid 65534 reads, but may not fail a path"
for d in $DISKS; do
  m=$(pk_path "$d" map)
  if [ "$m" != "$M0" ] && [ "$m" != "$M1" ]; then D2=$d; M2=$m; break; fi
done
as_nobody() { su -s /bin/sh nobody -c "$*"; }
keep nobody-show-paths.json as_nobody pathkeeperctl --json show paths
expect "nobody sees the 8 paths" [ "$(jq '.paths | length' /results/nobody-show-paths.json)" -eq 8 ]
keep nobody-status.txt as_nobody pathkeeperctl status
rc=0
as_nobody pathkeeperctl fail path "$D2" > /results/nobody-fail-path.txt 2>&1 || rc=$?
sed 's/^/  nobody: /' /results/nobody-fail-path.txt
[ "$rc" -ne 0 ] || fail "uid 65534 failed path $D2"
expect "refused (exit $rc), naming uid 65534" grep -q "uid 65534" /results/nobody-fail-path.txt
sleep 3
expect "$D2 is still active in DM" [ "$(mp_path_state "$M2" "$D2")" = A ]
expect "... and not failed by an operator" [ "$(pk_path "$D2" admin_failed)" = false ]

step "c. malformed and oversized requests get an error reply; the daemon answers on"
# Checked after each: the same pid, an answer to status and show paths, no
# connection left behind, and the request counted in status.error_replies
# (counters reach the snapshot within a second).
daemon_answers() {
  expect "same pid $PK_PID" [ "$(pk_status pid)" = "$PK_PID" ]
  pathkeeperctl status > /dev/null || fail "pathkeeperctl status does not answer after $1"
  expect "show paths lists 8 paths" [ "$(pk show paths | jq '.paths | length')" -eq 8 ]
  # clients.used is as of the latest snapshot (published at every check round).
  wait_for 10 "no connection left open (clients.used at most 1, this one)" '[ "$(pk_status clients.used)" -le 1 ]'
}
# raw_error NAME CODE ARGS...: the probe sends a raw request; the reply must
# be the error CODE.
raw_error() {
  _re_name=$1 _re_code=$2
  shift 2
  _re_errors=$(pk_status error_replies)
  pk-ipc-probe raw "$SOCK" "$@" > "/results/raw-$_re_name.json" 2> "/results/raw-$_re_name.txt" \
    || { cat "/results/raw-$_re_name.txt"; fail "$_re_name: no reply frame"; }
  sed 's/^/  /' "/results/raw-$_re_name.txt" "/results/raw-$_re_name.json"
  expect "$_re_name: error $_re_code" [ "$(jq -r .error.code "/results/raw-$_re_name.json")" = "$_re_code" ]
  wait_for 5 "$_re_name counted in status.error_replies (was $_re_errors)" \
    '[ "$(pk_status error_replies)" -gt "$_re_errors" ]'
  daemon_answers "$_re_name"
}
raw_error empty-word usage --payload-hex 706b310073686f7700007061746873        # pk1 show "" paths
raw_error control-char usage --payload-hex 706b310073686f7700706101746873     # pa\001ths
raw_error other-version version --payload-hex 706b390073686f77007061746873    # pk9 show paths
raw_error not-words usage --payload-hex fffe00ff
raw_error odd-name not-found --payload-hex 706b310073686f77007061746800225cff  # show path "\<ff>
raw_error too-large too-large --declared-length 1048576 --send-bytes 1048576

step "a. everything back: pathkeeperctl agrees with dmsetup"
scsi_online "$D0"
save reinstate-path.txt pathkeeperctl reinstate path "$D1"
wait_for 60 "every path active in DM" \
  '[ "$(dmsetup status --target multipath | grep -o " [0-9]*:[0-9]* A " | wc -l)" -eq 8 ]'
compare_views all-back
summary "fields compared in all rounds: $COMPARED"

# --- d. latency ------------------------------------------------------------------

# Load: the daemon's reconfigure in a loop (counted in /tmp/reconfigures) and
# every 10th SCSI command left unanswered. The calls start 12 s later, once
# the first hung commands have reached the 10 s SCSI timeout.
load_start() {
  rm -f /tmp/load-stop
  ( while [ ! -e /tmp/load-stop ]; do
      if [ "$1" = pathkeeperd ]; then
        pathkeeperctl --timeout 60 reconfigure > /dev/null 2>&1 && echo ok >> /tmp/reconfigures
      else
        multipathd reconfigure > /dev/null 2>&1 && echo ok >> /tmp/reconfigures
      fi
      sleep 0.2
    done ) &
  LOAD_PID=$!
  sd_inject 10 4
  sleep 12
}
load_stop() {
  touch /tmp/load-stop
  wait "$LOAD_PID" 2> /dev/null || true
  sd_inject_stop
}

# measure NAME CALLS PROBE-ARGS...: runs the probe (CALLS calls, one after the
# other: paced calls would mostly time how fast an idle TCG vCPU wakes up);
# record_latency NAME [KEY=VALUE] writes its figures to cli-latency.txt:
# "NAME p50_ms=.. p99_ms=.. max_ms=.. calls=N errors=E reconfigures=R KEY=VALUE".
measure() {
  _ms_name=$1 _ms_calls=$2
  shift 2
  _ms_rc=0
  : > /tmp/reconfigures
  pk-ipc-probe latency "$@" --calls "$_ms_calls" \
    --samples "/results/cli-latency-$_ms_name-us.txt" show paths \
    > "/tmp/latency-$_ms_name" 2> "/results/cli-latency-$_ms_name.err" || _ms_rc=$?
  sed 's/^/  /' "/tmp/latency-$_ms_name" "/results/cli-latency-$_ms_name.err"
  grep -q '^calls=' "/tmp/latency-$_ms_name" || fail "pk-ipc-probe for $_ms_name printed no figures (status $_ms_rc)"
  MEASURE_RECONFIGURES=$(wc -l < /tmp/reconfigures)
}
record_latency() {
  awk -v d="$1" -v r="$MEASURE_RECONFIGURES" -v x="$2" \
    '{print d, $3, $4, $5, $1, $2, "reconfigures=" r, x}' "/tmp/latency-$1" >> /results/cli-latency.txt
  log "LATENCY $(tail -n 1 /results/cli-latency.txt)"
}
field() { sed -n "s/^$1 .*$2=\([^ ]*\).*/\1/p" /results/cli-latency.txt; }
# What the checks went through: timeouts and failures over all paths.
check_timeouts() { pk show paths | jq '[.paths[].timeouts] | add'; }
check_failures() { pk show paths | jq '[.paths[].failures] | add'; }

step "d. pathkeeperd: show paths x 200 with nothing going on"
measure pathkeeperd-idle 200 pathkeeper "$SOCK"
record_latency pathkeeperd-idle

step "d. pathkeeperd: show paths x 1000 over the socket, reconfigure loop, ~10% of SCSI commands hang"
for t in /sys/bus/scsi/devices/*/timeout; do echo 10 > "$t" 2> /dev/null || true; done
load_start pathkeeperd
hung_checks() { pk show paths | jq -r '[.paths[] | select(.state == "pending" or .state == "timeout") | .dev] | join(" ")'; }
wait_for 60 "a check hanging (a path pending or timeout)" 'HUNG=$(hung_checks); [ -n "$HUNG" ]'
log "checks hanging as the calls start: $HUNG"
timeouts0=$(check_timeouts)
failures0=$(check_failures)
measure pathkeeperd 1000 pathkeeper "$SOCK" --budget 300
timeouts1=$(check_timeouts)
failures1=$(check_failures)
load_stop
record_latency pathkeeperd "check_timeouts=$((timeouts1 - timeouts0)) path_failures=$((failures1 - failures0))"
expect "the daemon still runs as pid $PK_PID" [ "$(pk_status pid)" = "$PK_PID" ]
wait_for 120 "every path active in DM again" \
  '[ "$(dmsetup status --target multipath | grep -o " [0-9]*:[0-9]* A " | wc -l)" -eq 8 ]'

step "d. Debian's multipathd on the same devices, polling 2 s, tur"
pk_stop
# udev's probes of the maps may still wait for commands that hung (each up to
# the 10 s SCSI timeout, then error handling, then retries).
udevadm settle --timeout=180 || log "udev still busy after 180 s"
mp_maps() { dmsetup ls --target multipath | awk '$1 != "No" {print $1}'; }
maps_open() { for _mo in $(mp_maps); do dmsetup info -c --noheadings -o open "$_mo"; done | awk '{n += $1} END {print n + 0}'; }
wait_for 180 "no multipath map held open" '[ "$(maps_open)" -eq 0 ]'
for m in $(mp_maps); do dmsetup remove --retry "$m"; done
udevadm settle --timeout=180 || log "udev still busy after 180 s"
mkdir -p /etc/multipath
cat > /etc/multipath.conf <<CONF
defaults {
    find_multipaths "no"
    user_friendly_names "no"
    polling_interval 2
    max_polling_interval 2
    checker_timeout 5
    path_checker "tur"
    no_path_retry "queue"
}
blacklist {
    devnode "^(ram|loop|nbd|zram)[0-9]*"
}
CONF
multipathd -d -s -v2 > /results/multipathd.log 2>&1 &
MPD_PID=$!
wait_for 120 "multipathd: 4 maps with 8 active paths" \
  '[ "$(dmsetup status --target multipath | grep -o " [0-9]*:[0-9]* A " | wc -l)" -eq 8 ]'
save multipathd-show-paths.txt multipathd show paths
measure multipathd-idle 200 multipathd --budget 60
record_latency multipathd-idle

step "d. multipathd: show paths x 1000 (at most 120 s) over its socket, the same load"
load_start multipathd
measure multipathd 1000 multipathd --budget 120
load_stop
record_latency multipathd ""
kill "$MPD_PID" 2> /dev/null || true
wait "$MPD_PID" 2> /dev/null || true

step "d. the verdict: pathkeeperd's p99 under ${P99_LIMIT_MS} ms, no error"
sed 's/^/  /' /results/cli-latency.txt
summary "$(grep '^pathkeeperd ' /results/cli-latency.txt)"
summary "$(grep '^multipathd ' /results/cli-latency.txt)"
expect "pathkeeperd: 1000 calls" [ "$(field pathkeeperd calls)" -eq 1000 ]
expect "pathkeeperd: no call errored" [ "$(field pathkeeperd errors)" -eq 0 ]
expect "pathkeeperd: p99 $(field pathkeeperd p99_ms) ms <= ${P99_LIMIT_MS} ms" \
  awk -v v="$(field pathkeeperd p99_ms)" -v l="$P99_LIMIT_MS" 'BEGIN {exit !(v <= l)}'
expect "reconfigure ran during the calls" [ "$(field pathkeeperd reconfigures)" -gt 0 ]
