# Which disks become maps (discovery.find_multipaths, known WWIDs) and a
# reconfigure that changes the blacklist under a live map, on a real kernel:
# scsi_debug 2 hosts x 2 LUNs; LUN 1 has one of its two disks deleted, so it
# is a single-path disk. Then Debian's multipathd (0.9.4) in the same guest
# with find_multipaths smart and greedy, recorded (not judged).
#  (a) on (the default): LUN 0 (two paths) is a map, LUN 1 (one path) is not;
#  (b) smart (timeout 10 s, the default): LUN 1 held, then released after the timeout
#      (timed), no map; a late second path makes none; the LUN presented
#      again with its second path inside the timeout becomes a map;
#  (c) greedy by reconfigure: the released single-path LUN is mapped at once,
#      without a uevent;
#  (d) a known WWID with one path is mapped at start (the wwids file);
#  (e) reconfigure blacklisting one path of LUN 0's live map (fio writing
#      and verifying on it): the path leaves the map; the rule removed
#      again, it joins (timed).
# Results in find-multipaths/; find-multipaths/summary.txt side by side.

OUT=/results/find-multipaths
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
SECONDS_SINCE() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
note() { echo "$*" >> "$SUMMARY"; log "SUMMARY $*"; }
dm_has() { dmsetup info "$1" > /dev/null 2>&1; }
pk_paths_of() { pk show maps | jq -r --arg w "$1" '.maps[] | select(.wwid == $w and .in_kernel) | .paths_active'; }
pk_has_map() { [ -n "$(pk_paths_of "$1")" ]; }
pk_no_map() { [ -z "$(pk_paths_of "$1")" ] && ! dm_has "$1"; }
dm_lacks() { ! dm_has "$1"; }
# dm_remove MAP: udev's probes of a map just made hold it open a moment.
dm_remove() { settle; dmsetup remove --retry "$1"; }
mpd_has_map() { multipathd show maps raw format %w 2> /dev/null | grep -qx "$1"; }
devt_of() { cat "/sys/block/$1/dev"; }
in_table() { dmsetup table "$1" | grep -qw "$2"; }
map_dev() { if [ -e "/dev/mapper/$1" ]; then echo "/dev/mapper/$1"; else echo "/dev/$(dm_name "$1")"; fi; }
WWIDS=/etc/multipath/wwids
DISCOVERY=
config() { pk_config "discovery:
$DISCOVERY
$1"; }
poll_until() {
  _pu_end=$(awk -v n="$(now)" -v t="$1" 'BEGIN {print n + t}')
  while ! eval "$2" > /dev/null 2>&1; do
    awk -v n="$(now)" -v e="$_pu_end" 'BEGIN {exit !(n > e)}' && return 1
    sleep 0.2
  done
}

step "udev, scsi_debug 2 hosts x 2 LUNs; LUN 1 left with one path"
start_udev
load_modules dm-multipath dm-service-time
scsi_debug_setup 2 2 32
L0=$(scsi_debug_lun_disks 0 | tr '\n' ' ')
W0=$(mp_wwid "${L0%% *}")
L1=$(scsi_debug_lun_disks 1 | tr '\n' ' ')
W1=$(mp_wwid "${L1%% *}")
S1=${L1%% *}         # LUN 1's disk that stays
GONE=${L1#* }        # and the one deleted
GONE=${GONE%% *}
GONE_HOST=$(scsi_delete "$GONE")
settle
log "LUN 0 $W0 on $L0; LUN 1 $W1 on $S1 only ($GONE deleted, on $GONE_HOST)"
rm -f "$WWIDS"

# ------------------------------------------------------------------ (a) on

step "(a) find_multipaths on: LUN 0 mapped, single-path LUN 1 not"
DISCOVERY="  find_multipaths: on"
config
pk_start pk-on.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 60 "LUN 0's map with two paths" '[ "$(pk_paths_of "$W0")" = 2 ]'
sleep 3
expect "no map for the single-path LUN 1" pk_no_map "$W1"
expect "the single-path disk is not held by DM" [ -z "$(ls "/sys/block/$S1/holders")" ]
note "pathkeeperd (a) on: LUN 0 (2 paths) mapped, LUN 1 (1 path) not mapped"
pk_stop

# ------------------------------------------------------------------ (b) smart

step "(b) find_multipaths smart, timeout 10 s: LUN 1 held, then released"
DISCOVERY="  find_multipaths: smart
  find_multipaths_timeout: 10s"
config
t0=$(now)
pk_start pk-smart.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 20 "LUN 1 held" 'grep -q "$W1 held" /results/pk-smart.log'
wait_for 30 "LUN 1 released" 'grep -q "$W1 released after" /results/pk-smart.log'
t_release=$(SECONDS_SINCE "$t0")
waited=$(sed -n "s/.*$W1 released after \([0-9]*\) ms.*/\1/p" /results/pk-smart.log | head -1)
expect "released after the 10 s timeout, not before" [ "$waited" -ge 10000 ]
expect "and soon after it (within 1 s)" [ "$waited" -lt 11000 ]
expect "no map for LUN 1" pk_no_map "$W1"
note "pathkeeperd (b) smart 10 s: LUN 1 held at start, released ${waited} ms later (${t_release} s after start), no map"

step "(b) a late second path of the released LUN makes no map"
scsi_rescan "$GONE_HOST"
wait_for 30 "LUN 1's second disk back" '[ "$(scsi_debug_lun_disks 1 | wc -w)" -eq 2 ]'
sleep 4
expect "still no map for LUN 1 (released)" pk_no_map "$W1"
note "pathkeeperd (b) smart: a second path after the release: no map (released)"

step "(b) LUN 1 presented again, its second path inside the timeout: a map"
for d in $(scsi_debug_lun_disks 1); do scsi_delete "$d" > /dev/null; done
settle
wait_for 30 "LUN 1's paths gone" '[ -z "$(pk show paths | jq -r --arg w "$W1" ".paths[] | select(.wwid == \$w) | .dev")" ]'
first=$(scsi_debug_lun_disks 0 | head -1)
host_a=host$(basename "$(readlink -f "/sys/block/$first/device")" | cut -d: -f1)
host_b=$GONE_HOST
[ "$host_a" = "$host_b" ] && host_a=host$(basename "$(readlink -f "/sys/block/$(scsi_debug_lun_disks 0 | tail -1)/device")" | cut -d: -f1)
# Scans without udev settle: under emulation a settle alone takes seconds.
t0=$(now)
echo "- - -" > "/sys/class/scsi_host/$host_a/scan"
wait_for 20 "LUN 1 held again" '[ "$(grep -c "$W1 held" /results/pk-smart.log)" -ge 2 ]'
t1=$(now)
echo "- - -" > "/sys/class/scsi_host/$host_b/scan"
wait_for 20 "a map for LUN 1 with two paths" '[ "$(pk_paths_of "$W1")" = 2 ]'
settle
note "pathkeeperd (b) smart: LUN 1 presented again, its second path $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s after the first (inside 10 s): map with 2 paths $(SECONDS_SINCE "$t1") s after the second scan began"
expect "LUN 1 never released this time" [ "$(grep -c "$W1 released after" /results/pk-smart.log)" -eq 1 ]
pk_stop

# ------------------------------------------------------------------ (c) greedy

step "(c) LUN 1 single-path again under smart, released; reconfigure to greedy maps it at once"
dm_remove "$W1"
sed -i "/$W1/d" "$WWIDS"
scsi_delete "$(scsi_debug_lun_disks 1 | tail -1)" > /dev/null
settle
S1=$(scsi_debug_lun_disks 1)
pk_start pk-greedy.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 30 "LUN 1 released" 'grep -q "$W1 released after" /results/pk-greedy.log'
expect "no map for LUN 1" pk_no_map "$W1"
DISCOVERY="  find_multipaths: greedy"
config
t0=$(now)
pathkeeperctl reconfigure > "$OUT/pk-reconfigure-greedy.txt" 2>&1 || { cat "$OUT/pk-reconfigure-greedy.txt"; fail "reconfigure"; }
wait_for 20 "a map for the single-path LUN 1" '[ "$(pk_paths_of "$W1")" = 1 ]'
note "pathkeeperd (c) reconfigure smart -> greedy: single-path LUN 1 mapped $(SECONDS_SINCE "$t0") s after reconfigure (no uevent)"
wait_for 10 "LUN 1 in the wwids file" 'grep -q "^/$W1/\$" "$WWIDS"'
pk_stop

# ------------------------------------------------------------------ (d) known

step "(d) a known WWID with one path is mapped at start (find_multipaths on)"
dm_remove "$W1"
expect "LUN 1's map is gone" dm_lacks "$W1"
DISCOVERY="  find_multipaths: on"
config
t0=$(now)
pk_start pk-known.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 30 "a map for the known single-path LUN 1" '[ "$(pk_paths_of "$W1")" = 1 ]'
expect "it was created, not adopted" grep -q "created $W1" /results/pk-known.log
note "pathkeeperd (d) known WWID (wwids file), one path, find_multipaths on: mapped $(SECONDS_SINCE "$t0") s after start"

# ------------------------------------------------------------------ (e) blacklist

step "(e) reconfigure blacklisting one path of LUN 0's live map, fio writing"
B=${L0#* }
B=${B%% *}
BDEVT=$(devt_of "$B")
expect "$B ($BDEVT) is in $W0" in_table "$W0" "$BDEVT"
fio_start pk-blacklist "$(map_dev "$W0")" --size=16M --rate=1m
sleep 2
config "blacklist:
  - {devnode: \"$B\"}"
t0=$(now)
pathkeeperctl reconfigure > "$OUT/pk-reconfigure-blacklist.txt" 2>&1 || { cat "$OUT/pk-reconfigure-blacklist.txt"; fail "reconfigure"; }
wait_for 20 "$B out of $W0" '! in_table "$W0" "$BDEVT"'
t_out=$(SECONDS_SINCE "$t0")
expect "one path left in the map" [ "$(pk_paths_of "$W0")" = 1 ]
expect "$B is no longer a path" [ -z "$(pk_path "$B" dev)" ]
save find-multipaths/pk-table-blacklisted.txt dmsetup table "$W0"
sleep 2
config
t0=$(now)
pathkeeperctl reconfigure > "$OUT/pk-reconfigure-back.txt" 2>&1 || { cat "$OUT/pk-reconfigure-back.txt"; fail "reconfigure"; }
wait_for 20 "$B back in $W0" 'in_table "$W0" "$BDEVT"'
wait_for 20 "two active paths" '[ "$(pk_paths_of "$W0")" = 2 ]'
t_back=$(SECONDS_SINCE "$t0")
fio_wait
note "pathkeeperd (e) reconfigure with $B blacklisted: out of the live map in ${t_out} s; rule removed: back in ${t_back} s; fio verify passed"
save find-multipaths/pk-status-end.json pk status
pk_stop

# ------------------------------------------------------------------ multipathd

mpd_run() {  # mpd_run LOG FIND_MULTIPATHS: multipathd with that mode, nothing known
  cat > /etc/multipath.conf <<EOF
defaults {
    find_multipaths "$2"
    find_multipaths_timeout 10
    user_friendly_names "no"
    polling_interval 2
    no_path_retry "queue"
}
blacklist {
    devnode "^(ram|loop|nbd|zram)[0-9]*"
}
EOF
  multipathd -d -s -v3 > "/results/$1" 2>&1 &
  MPD_PID=$!
  wait_for 60 "multipathd: LUN 0's map" 'mpd_has_map "$W0"'
}
mpd_stop() {
  stop_process "$MPD_PID"
  for w in "$W0" "$W1"; do
    if dm_has "$w"; then dm_remove "$w" || fail "cannot remove $w after multipathd"; fi
  done
  rm -f "$WWIDS"
  return 0
}

step "multipathd smart (timeout 10): a single-path LUN appears (its disk deleted and rescanned)"
for w in "$W0" "$W1"; do if dm_has "$w"; then dm_remove "$w"; fi; done
rm -f "$WWIDS"
mpd_run mpd-smart.log smart
h=$(scsi_delete "$S1")
settle
t0=$(now)
scsi_rescan "$h"
S1=$(scsi_debug_lun_disks 1 | head -1)
udevadm info --query=property --name="/dev/$S1" | grep -E 'DM_MULTIPATH|FIND_MULTIPATHS' > "$OUT/mpd-smart-udev-0s.txt" || true
if poll_until 20 'mpd_has_map "$W1"'; then
  note "multipathd (b) smart: single-path LUN 1 mapped after $(SECONDS_SINCE "$t0") s"
else
  note "multipathd (b) smart: single-path LUN 1 not mapped within 20 s"
fi
udevadm info --query=property --name="/dev/$S1" | grep -E 'DM_MULTIPATH|FIND_MULTIPATHS' > "$OUT/mpd-smart-udev-20s.txt" || true
note "multipathd (b) smart: udev at once: $(tr '\n' ' ' < "$OUT/mpd-smart-udev-0s.txt"); after 20 s: $(tr '\n' ' ' < "$OUT/mpd-smart-udev-20s.txt")"
mpd_stop

step "multipathd greedy: the single-path LUN"
t0=$(now)
mpd_run mpd-greedy.log greedy
if poll_until 20 'mpd_has_map "$W1"'; then
  note "multipathd (c) greedy: single-path LUN 1 mapped, $(SECONDS_SINCE "$t0") s after start"
else
  note "multipathd (c) greedy: single-path LUN 1 not mapped within 20 s of start"
fi
mpd_stop
save find-multipaths/summary-copy.txt cat "$SUMMARY"
