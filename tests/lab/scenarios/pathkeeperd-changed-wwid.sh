# A changed WWID: the array remaps the LUN number behind ONE port to another
# LUN while fio writes with verify through the map of the first. LIO in the
# guest: three fileio LUNs X (64 MiB), Y (48 MiB) and Z (64 MiB), each with
# its own unit serial (so its own WWID), and two tcm_loop ports, port b
# with an explicit ACL. Port a shows X, Y and Z as LUNs 0, 1 and 2; port b
# shows only LUN 1, X (Y and Z are its LUNs 2 and 3, hidden). Map A is X
# over both ports. A remap, as an array does it:
# LUN 1 of port b unmapped (I/O through it fails with LOGICAL UNIT NOT
# SUPPORTED, the kernel fails the path; LUN 0 would not do: LIO answers an
# unmapped LUN 0 from a write-protected virtual LUN, an error dm-multipath
# does not retry), GAP_SECONDS later another LUN mapped at LUN 1 (the host's
# sd device stays), then that SCSI device rescanned (the kernel reads VPD
# page 0x83 again).
#  1. uevent: Y mapped. Its size differs, so the rescan sends a change
#     uevent (RESIZE=1) with the new WWID.
#  2. back: X mapped again (b's path returns to map A), size differs again.
#  3. no uevent: Z mapped. The same size as X: the rescan changes the
#     identity in sysfs and sends no uevent on the disk; only a check can see it.
# For each: the time from the rescan to port b's path gone from `dmsetup
# table A` (polled every 50 ms, plus the shell's own delay); the time it was
# active in map A after the new LUN was mapped (dm-sampler every 50 ms: the
# window in which I/O for A could reach the other LUN) and the sectors
# written through it meanwhile; whether it joined the map of its new WWID.
# The path was failed by the kernel during the gap (the unmapped LUN's I/O
# errors), so only a daemon that reinstates it lets I/O reach the new LUN:
# the window the daemon bounds runs from the rescan (before it, the kernel's
# identity of the disk is the old one) to the path's removal, and is at
# most one check of the failed path (failed_polling_interval, 1 s here) plus
# the check's own time; a path that was never failed would carry I/O from
# the array's remap until then. fio must end with no error and its verify
# passed. Run for Debian's multipathd (defaults, then
# recheck_wwid yes) and for pathkeeperd, each checking every POLL_SECONDS.
# pathkeeperd must take the path out within one polling interval of the
# rescan (+ 1 s for the check itself), never keep it active in A after the
# rescan, join the new maps, and keep fio clean.
# Results: <daemon>/ (log, events, samples, tables), fio-<daemon>.txt,
# summary.txt.

POLL_SECONDS=2
GAP_SECONDS=${GAP_SECONDS:-3}
LIMIT_MS=$(((POLL_SECONDS + 1) * 1000))
# fio: random writes over the first 32 MiB of map A for about 64 s, while the
# three remaps take at most 3 x (GAP_SECONDS + 8 + 8) s.
FIO_MB=${FIO_MB:-32}
FIO_RATE=${FIO_RATE:-512k}

LIO=/sys/kernel/config/target
BS=$LIO/core/fileio_1
PORT_A=naa.5001405000000a01 INIT_A=naa.5001405100000a01
PORT_B=naa.5001405000000b01 INIT_B=naa.5001405100000b01

# backstore NAME SIZE_MB SERIAL: one fileio backstore. LIO makes the WWID
# (naa.6001405...) from the serial's first hex digits: they differ.
backstore() {
  mkdir -p "$BS/$1"
  dd if=/dev/zero of="/lio/$1.img" bs=1M count="$2" 2>/dev/null
  echo "fd_dev_name=/lio/$1.img,fd_dev_size=$(($2 * 1048576))" > "$BS/$1/control"
  echo "$3" > "$BS/$1/wwn/vpd_unit_serial"
  echo 1 > "$BS/$1/enable"
}

# tpg_lun WWN N BACKSTORE: the port's LUN N. tcm_loop adds the host's SCSI
# device for it at once (the host's own scan stops at LUN 0: tcm_loop's
# max_lun is 0), if the port's nexus exists and its initiator may see it.
tpg_lun() {
  mkdir -p "$LIO/loopback/$1/tpgt_1/lun/lun_$2"
  ln -s "$BS/$3" "$LIO/loopback/$1/tpgt_1/lun/lun_$2/dev"
}

# map_lun WWN INITIATOR MAPPED TPG_LUN / unmap_lun WWN INITIATOR MAPPED:
# what the initiator sees as LUN MAPPED (the array's LUN masking, an
# explicit ACL).
map_lun() {
  _ml=$LIO/loopback/$1/tpgt_1/acls/$2/lun_$3
  mkdir -p "$_ml"
  ln -s "$LIO/loopback/$1/tpgt_1/lun/lun_$4" "$_ml/tpg_lun"
}
unmap_lun() { rm -f "$LIO/loopback/$1/tpgt_1/acls/$2/lun_$3/tpg_lun"; }

host_of() { cut -d: -f1 "$LIO/loopback/$1/tpgt_1/address"; }
# disk_at WWN LUN: the sd device the host has for that port's LUN.
disk_at() {
  for _d in /sys/class/scsi_host/host"$(host_of "$1")"/device/target*/*:"$2"/block/*; do
    [ -e "$_d" ] && { echo "${_d##*/}"; return 0; }
  done
  return 1
}

step "udev; LIO: LUNs X, Y, Z; port a shows all three, port b shows X at LUN 1"
start_udev
load_modules sd_mod sg dm-mod dm-multipath dm-service-time dm-round-robin configfs target_core_mod \
  target_core_file tcm_loop
grep -q ' /sys/kernel/config ' /proc/mounts || mount -t configfs configfs /sys/kernel/config
mkdir -p /lio
mount -t tmpfs -o size=200m tmpfs /lio
backstore x 64 1a0c0de0-0000-4000-8000-00000000000a
backstore y 48 2b0c0de0-0000-4000-8000-00000000000b
backstore z 64 3c0c0de0-0000-4000-8000-00000000000c
# Port a, demo mode (its initiator sees every LUN): X, Y, Z as LUNs 0-2.
mkdir -p "$LIO/loopback/$PORT_A/tpgt_1"
echo "$INIT_A" > "$LIO/loopback/$PORT_A/tpgt_1/nexus"
tpg_lun "$PORT_A" 0 x
tpg_lun "$PORT_A" 1 y
tpg_lun "$PORT_A" 2 z
# Port b: X as LUN 1, then an explicit ACL (the dynamic one converted, its
# LUN 1 kept), so that Y (port LUN 2) and Z (port LUN 3) stay hidden until
# the ACL maps one of them at LUN 1.
mkdir -p "$LIO/loopback/$PORT_B/tpgt_1"
echo "$INIT_B" > "$LIO/loopback/$PORT_B/tpgt_1/nexus"
tpg_lun "$PORT_B" 1 x
wait_for 30 "port b's LUN 1" 'disk_at $PORT_B 1'
mkdir -p "$LIO/loopback/$PORT_B/tpgt_1/acls/$INIT_B"
map_lun "$PORT_B" "$INIT_B" 1 1
tpg_lun "$PORT_B" 2 y
tpg_lun "$PORT_B" 3 z
wait_for 60 "the disks" 'disk_at $PORT_A 0 && disk_at $PORT_A 1 && disk_at $PORT_A 2 && disk_at $PORT_B 1'
settle
if disk_at "$PORT_B" 2 > /dev/null || disk_at "$PORT_B" 3 > /dev/null; then fail "port b shows Y or Z"; fi
for d in /sys/class/scsi_host/host*/device/target*/*:*:*:*; do log "SCSI device ${d##*/}"; done
A0=$(disk_at "$PORT_A" 0) A1=$(disk_at "$PORT_A" 1) A2=$(disk_at "$PORT_A" 2) BDISK=$(disk_at "$PORT_B" 1)
BDISK_DEVT=$(devnum "$BDISK")
WX=$(mp_wwid "$A0") WY=$(mp_wwid "$A1") WZ=$(mp_wwid "$A2")
log "port a: X $A0, Y $A1, Z $A2; port b: LUN 1 $BDISK ($BDISK_DEVT); WWIDs X $WX Y $WY Z $WZ"
[ "$(mp_wwid "$BDISK")" = "$WX" ] || fail "$BDISK does not show X"
if [ "$WX" = "$WY" ] || [ "$WX" = "$WZ" ] || [ "$WY" = "$WZ" ]; then fail "the LUNs' WWIDs are not distinct"; fi

# in_table MAP DEVT: the map's table names the path.
in_table() { dmsetup table "$1" 2>/dev/null | grep -qw "$2"; }
# active_in MAP DEVT: the map has the path and the kernel may send it I/O.
active_in() { dmsetup status "$1" 2>/dev/null | grep -q " $2 A "; }

# remap WHO NAME TPG_LUN WWID SIZE_CHANGES: one remap of port b's LUN 1,
# measured. Sets nothing; writes a line into /results/WHO/remaps.txt.
remap() {
  _rw=$1 _rn=$2 _rwwid=$4
  _rd=/results/$_rw
  read -r _t _ < /proc/uptime
  echo "$_t mark $_rn-unmap" >> "$_rd/events.txt"
  log "$_rw $_rn: port b's LUN 1 unmapped for ${GAP_SECONDS}s"
  unmap_lun "$PORT_B" "$INIT_B" 1
  sleep "$GAP_SECONDS"
  _rw_before=$(sectors_written "$BDISK")
  map_lun "$PORT_B" "$INIT_B" 1 "$3"
  read -r _t_map _ < /proc/uptime
  echo 1 > "/sys/block/$BDISK/device/rescan"
  read -r _t0 _ < /proc/uptime
  echo "$_t_map mark $_rn-mapped" >> "$_rd/events.txt"
  echo "$_t0 mark $_rn-rescanned" >> "$_rd/events.txt"
  log "$_rw $_rn: tpg lun $3 mapped at port b's LUN 1 and $BDISK rescanned; kernel wwid now $(cat "/sys/block/$BDISK/device/wwid")"
  _gone=-
  _end=$(awk -v t="$_t0" 'BEGIN {print t + 8}')
  while :; do
    read -r _tn _ < /proc/uptime
    if [ "$4" = "$WX" ]; then
      active_in "$WX" "$BDISK_DEVT" && { _gone=back; break; }
    elif ! in_table "$WX" "$BDISK_DEVT"; then
      _gone=$(awk -v a="$_t0" -v b="$_tn" 'BEGIN {printf "%d", (b - a) * 1000}')
      break
    fi
    awk -v n="$_tn" -v e="$_end" 'BEGIN {exit !(n > e)}' && break
    sleep 0.05
  done
  # Its new map: the map of the new WWID holds it.
  _joined=no
  poll_until 8 'in_table "$_rwwid" "$BDISK_DEVT" && active_in "$_rwwid" "$BDISK_DEVT"' 0.2 && _joined=yes
  _written=$(($(sectors_written "$BDISK") - _rw_before))
  echo "$_rn rescan_to_gone_ms=$_gone joined_new_map=$_joined sectors_written_through_b=$_written size_changes=$5" \
    >> "$_rd/remaps.txt"
  log "$_rw $_rn: gone from A's table after $_gone ms, in its new map: $_joined"
  keep "$_rw/tables-after-$_rn.txt" dmsetup table
  keep "$_rw/status-after-$_rn.txt" dmsetup status
}

# window_analyse EVENTS SAMPLES: for each "<name>-mapped" mark, how long port
# b's path was active (A) in map A while another LUN was behind it, until the
# next "-unmap" mark: active_after_map_ms (from the mapping), and
# active_after_rescan_ms (from the rescan).
window_analyse() {
  awk -v dev="$BDISK_DEVT" '
    FILENAME == ARGV[1] { n++; et[n] = $1 + 0; ev[n] = $3; next }
    { ns++; st[ns] = $1 + 0; act[ns] = 0
      for (k = 1; k < NF; k++) if ($k == dev && $(k + 1) == "A") act[ns] = 1 }
    END {
      for (e = 1; e <= n; e++) {
        # Only remaps to another LUN: after "back" the path belongs in A.
        if (ev[e] !~ /-mapped$/ || ev[e] ~ /back/) continue
        name = ev[e]; sub(/-mapped$/, "", name)
        t0 = et[e]; tr = et[e + 1]; t1 = 1e18
        for (e2 = e + 1; e2 <= n; e2++) if (ev[e2] ~ /-unmap$/) { t1 = et[e2]; break }
        a = 0; ar = 0
        for (s = 1; s < ns; s++) {
          if (st[s] < t0 || st[s] >= t1 || !act[s]) continue
          dt = st[s + 1] - st[s]; a += dt; if (st[s] >= tr) ar += dt
        }
        printf "%s active_after_map_ms=%d active_after_rescan_ms=%d\n", name, a * 1000, ar * 1000
      }
    }' "$1" "$2"
}

# run WHO: the daemon is running and has made map A over A0 and BDISK.
run() {
  _w=$1
  : > "/results/$_w/events.txt"
  save "$_w/table-before.txt" dmsetup table
  udevadm monitor --kernel --property > "/results/$_w/uevents.txt" 2>&1 &
  UMON_PID=$!
  dm-sampler "$WX" 50 > "/results/$_w/samples.txt" 2>&1 &
  SAMPLER_PID=$!
  fio_start "$_w" "/dev/mapper/$WX" --size="${FIO_MB}M" --rate="$FIO_RATE"
  sleep 3
  remap "$_w" 1-uevent 2 "$WY" yes
  remap "$_w" 2-back 1 "$WX" yes
  remap "$_w" 3-no-uevent 3 "$WZ" no
  if fio_finish; then FIO_VERIFY=passed; else FIO_VERIFY=failed; fi
  stop_process "$SAMPLER_PID"
  stop_process "$UMON_PID"
  window_analyse "/results/$_w/events.txt" "/results/$_w/samples.txt" > "/results/$_w/window.txt"
  sed "s/^/  $_w: /" "/results/$_w/remaps.txt" "/results/$_w/window.txt"
  {
    echo "fio_verify $FIO_VERIFY"
    echo "fio_err $(sed -n 's/.*err= *\([0-9]*\).*/\1/p' "/results/fio-$_w.txt" | head -n 1)"
    echo "uevents_change_b $(awk -v d="DEVNAME=/dev/$BDISK" '/^KERNEL\[/ {c = ($2 == "change")} $0 == d && c {n++} END {print n + 0}' "/results/$_w/uevents.txt")"
  } > "/results/$_w/fio.txt"
}

# Between daemons: port b's LUN 1 is X again and every map is removed.
reset_array() {
  unmap_lun "$PORT_B" "$INIT_B" 1
  map_lun "$PORT_B" "$INIT_B" 1 1
  echo 1 > "/sys/block/$BDISK/device/rescan"
  # The size may not have changed (Z to X): no uevent, and udev would keep
  # Z's WWID for the disk. A change event makes it read the identity again.
  echo change > "/sys/block/$BDISK/uevent"
  settle
  for m in $(dmsetup ls --target multipath 2>/dev/null | awk '$1 != "No" {print $1}'); do
    dmsetup message "$m" 0 fail_if_no_path || true
    dmsetup remove --retry "$m" || log "cannot remove $m"
  done
  settle
  [ "$(cat "/sys/block/$BDISK/device/wwid")" = "$(cat "/sys/block/$A0/device/wwid")" ] || fail "$BDISK is not X again"
}

mpd_run() {
  _mw=$1
  mkdir -p "/results/$_mw" /etc/multipath
  cat > /etc/multipath.conf <<CONF
defaults {
    find_multipaths "no"
    user_friendly_names "no"
    polling_interval $POLL_SECONDS
    max_polling_interval $POLL_SECONDS
    checker_timeout 5
    no_path_retry "queue"
    $2
}
blacklist {
    devnode "^(ram|loop|nbd|zram)[0-9]*"
}
CONF
  cp /etc/multipath.conf "/results/$_mw/multipath.conf"
  multipathd -d -s -v3 > "/results/$_mw/multipathd.log" 2>&1 &
  MPD_PID=$!
  wait_for 60 "multipathd: map X with 2 paths" 'in_table "$WX" "$BDISK_DEVT" && in_table "$WX" "$(devnum "$A0")"'
  settle
  wait_for 30 "/dev/mapper/$WX" 'test -b /dev/mapper/$WX'
  run "$_mw"
  keep "$_mw/show-topology.txt" multipathd show topology
  stop_process "$MPD_PID"
  reset_array
}

step "multipathd, its defaults (recheck_wwid no), polling ${POLL_SECONDS}s"
mpd_run multipathd ""
step "multipathd, recheck_wwid yes"
mpd_run multipathd-recheck 'recheck_wwid "yes"'

grep -q 'recheck_wwid = 2' /results/multipathd-recheck/multipathd.log && RECHECK=yes || RECHECK=no
summary "multipathd 0.9.4 took recheck_wwid yes: $RECHECK"

step "pathkeeperd, defaults, polling ${POLL_SECONDS}s"
mkdir -p /results/pathkeeperd
pk_config
pk_start pathkeeperd/pathkeeperd.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 60 "pathkeeperd: map X with 2 paths" 'in_table "$WX" "$BDISK_DEVT" && in_table "$WX" "$(devnum "$A0")"'
settle
wait_for 30 "/dev/mapper/$WX" 'test -b /dev/mapper/$WX'
run pathkeeperd
keep pathkeeperd/paths.json pk show paths
keep pathkeeperd/topology.txt pathkeeperctl show topology
grep -i 'LUN behind it changed' /results/pathkeeperd/pathkeeperd.log | sed 's/^/  log: /' || true
pk_stop

step "side by side"
fact() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
field() { awk -v w="$2" -v k="$3" '$1 == w {for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2)}' "$1"; }
line() { summary "$(printf '%-44s %-14s %-18s %-14s' "$1" "$2" "$3" "$4")"; }
line "" multipathd multipathd-recheck pathkeeperd
for r in 1-uevent 2-back 3-no-uevent; do
  for k in rescan_to_gone_ms joined_new_map sectors_written_through_b; do
    line "$r $k" "$(field /results/multipathd/remaps.txt $r $k)" \
      "$(field /results/multipathd-recheck/remaps.txt $r $k)" "$(field /results/pathkeeperd/remaps.txt $r $k)"
  done
  for k in active_after_map_ms active_after_rescan_ms; do
    line "$r $k" "$(field /results/multipathd/window.txt $r $k)" \
      "$(field /results/multipathd-recheck/window.txt $r $k)" "$(field /results/pathkeeperd/window.txt $r $k)"
  done
done
for k in fio_verify fio_err uevents_change_b; do
  line "$k" "$(fact /results/multipathd/fio.txt $k)" "$(fact /results/multipathd-recheck/fio.txt $k)" \
    "$(fact /results/pathkeeperd/fio.txt $k)"
done

step "verdict: pathkeeperd takes the path out within ${LIMIT_MS} ms of the rescan, joins the new maps, fio clean"
PK=/results/pathkeeperd
bad=0
for r in 1-uevent 3-no-uevent; do
  g=$(field $PK/remaps.txt $r rescan_to_gone_ms)
  if [ -n "$g" ] && [ "$g" != - ] && [ "$g" -le "$LIMIT_MS" ]; then log "ok: $r gone from A in $g ms"
  else log "NOT OK: $r gone from A: '$g' ms (limit $LIMIT_MS)"; bad=1; fi
  a=$(field $PK/window.txt $r active_after_rescan_ms)
  if [ "$a" = 0 ]; then log "ok: $r never active in A after the rescan"
  else log "NOT OK: $r active in A ${a} ms after the rescan"; bad=1; fi
done
for r in 1-uevent 2-back 3-no-uevent; do
  j=$(field $PK/remaps.txt $r joined_new_map)
  if [ "$j" = yes ]; then log "ok: $r in the map of its new WWID"; else log "NOT OK: $r not in its new map"; bad=1; fi
done
v=$(fact $PK/fio.txt fio_verify)
if [ "$v" = passed ]; then log "ok: fio verify passed"; else log "NOT OK: fio $v"; bad=1; fi
summary "window (pathkeeperd): I/O for A could reach another LUN from the rescan until the path's" \
  "next check (failed_polling_interval 1 s, polling_interval ${POLL_SECONDS} s for a path never failed)" \
  "+ the check; measured: gone from A $(field $PK/remaps.txt 1-uevent rescan_to_gone_ms) and" \
  "$(field $PK/remaps.txt 3-no-uevent rescan_to_gone_ms) ms after the rescan, active in A after it" \
  "$(field $PK/window.txt 1-uevent active_after_rescan_ms) and $(field $PK/window.txt 3-no-uevent active_after_rescan_ms) ms"
[ "$bad" -eq 0 ] || fail "pathkeeperd does not handle a changed WWID (see summary.txt)"
