# pathkeeperd with user_friendly_names on a host that comes from
# multipath-tools: /etc/multipath/bindings already names two of three
# scsi_debug LUNs (mpathc, mpatha). The maps take those names and the third
# gets the lowest free one (mpathb); pathkeeper's own bindings file keeps all
# three, the wwids file lists every WWID. SIGKILL and a restart keep the
# names; a LUN added later gets the next free name (mpathd); a LUN unmapped
# (its disks deleted, its map removed) and mapped again gets its old name
# back, from the daemon's memory and, after a SIGKILL, from the file alone.

SECONDS_SINCE() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
lun_disks() {
  for _d in "$SD_SYSFS"/adapter*/host*/target*/*:"$1"/block/*; do
    [ -e "$_d" ] && echo "${_d##*/}"
  done
  return 0
}
sd_hosts() { for _h in "$SD_SYSFS"/adapter*/host*; do echo "${_h##*/}"; done; }
name_of() { pk show maps | jq -r --arg w "$1" '.maps[] | select(.wwid == $w) | .name'; }
active_paths_of() { pk show maps | jq -r --arg w "$1" '.maps[] | select(.wwid == $w) | .paths_active'; }
has_two_paths() { [ "$(active_paths_of "$1")" = 2 ]; }
paths_gone() { for _p in "$@"; do [ -z "$(pk_path "$_p" dev)" ] || return 1; done; }

BINDINGS=/var/lib/pathkeeper/bindings
WWIDS=/etc/multipath/wwids

step "udev, scsi_debug 2 hosts x 3 LUNs"
start_udev
load_modules dm-multipath dm-service-time
scsi_debug_setup 2 3 16
W0=$(mp_wwid "$(lun_disks 0 | head -1)")
W1=$(mp_wwid "$(lun_disks 1 | head -1)")
W2=$(mp_wwid "$(lun_disks 2 | head -1)")
log "LUN 0 $W0, LUN 1 $W1, LUN 2 $W2"

step "multipath-tools' bindings file names LUN 0 mpathc and LUN 1 mpatha"
mkdir -p /etc/multipath /var/lib
rm -rf /var/lib/pathkeeper "$WWIDS"
cat > /etc/multipath/bindings <<EOF
# Multipath bindings, Version : 1.0
# NOTE: this file is automatically maintained by the multipath program.
# You should not need to edit this file in normal circumstances.
#
# Format:
# alias wwid
#
mpathc $W0
mpatha $W1
EOF
foreign_sum=$(md5sum < /etc/multipath/bindings)
pk_config "naming:
  user_friendly_names: true"

step "pathkeeperd takes those names; LUN 2 gets mpathb"
t0=$(now)
pk_start names.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 60 "3 maps of two paths" 'has_two_paths "$W0" && has_two_paths "$W1" && has_two_paths "$W2"'
log "TIMING start to 3 named maps: $(SECONDS_SINCE "$t0") s"
save names/maps-start.txt pathkeeperctl show maps
expect "LUN 0 is mpathc" [ "$(name_of "$W0")" = mpathc ]
expect "LUN 1 is mpatha" [ "$(name_of "$W1")" = mpatha ]
expect "LUN 2 is mpathb (the lowest free name)" [ "$(name_of "$W2")" = mpathb ]
expect "DM has mpathc with the UUID of LUN 0" [ "$(dmsetup info -c --noheadings -o uuid mpathc)" = "mpath-$W0" ]
wait_for 10 "the bindings file written" '[ "$(pk_status name_files.bindings.pending)" = false ] && [ -s "$BINDINGS" ]'
save names/bindings-start.txt cat "$BINDINGS"
expect "pathkeeper's bindings file has all three" \
  [ "$(grep -c -e "^mpatha $W1\$" -e "^mpathb $W2\$" -e "^mpathc $W0\$" "$BINDINGS")" -eq 3 ]
expect "it starts with multipath-tools' header" grep -q '^# Multipath bindings, Version : 1.0$' "$BINDINGS"
expect "multipath-tools' file is left as it was" [ "$(md5sum < /etc/multipath/bindings)" = "$foreign_sum" ]
wait_for 10 "the wwids file written" '[ "$(pk_status name_files.wwids.pending)" = false ] && [ -s "$WWIDS" ]'
save names/wwids-start.txt cat "$WWIDS"
expect "the wwids file lists the three WWIDs" \
  [ "$(grep -c -e "^/$W0/\$" -e "^/$W1/\$" -e "^/$W2/\$" "$WWIDS")" -eq 3 ]

step "SIGKILL and a restart keep every name"
kill -9 "$PK_PID"
wait "$PK_PID" 2>/dev/null || true
t0=$(now)
pk_start names-restart.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 60 "3 maps of two paths again" 'has_two_paths "$W0" && has_two_paths "$W1" && has_two_paths "$W2"'
log "TIMING restart to 3 maps: $(SECONDS_SINCE "$t0") s"
expect "still mpathc, mpatha, mpathb" \
  [ "$(name_of "$W0") $(name_of "$W1") $(name_of "$W2")" = "mpathc mpatha mpathb" ]
expect "3 maps adopted" [ "$(grep -c 'adopted ' /results/names-restart.log)" -eq 3 ]
expect "none renamed, created or reloaded" [ "$(grep -cE 'renamed |created |reloaded ' /results/names-restart.log)" -eq 0 ]

step "a new LUN gets the next free name, mpathd"
echo 4 > "$SD_SYSFS/max_luns"
t0=$(now)
for h in $(sd_hosts); do scsi_rescan "$h"; done
wait_for 60 "LUN 3 on both hosts" '[ "$(lun_disks 3 | wc -w)" -eq 2 ]'
W3=$(mp_wwid "$(lun_disks 3 | head -1)")
wait_for 60 "a map of two paths for LUN 3" 'has_two_paths "$W3"'
log "TIMING rescan to the new LUN's map: $(SECONDS_SINCE "$t0") s"
expect "LUN 3 is mpathd" [ "$(name_of "$W3")" = mpathd ]
wait_for 10 "mpathd in the bindings file" 'grep -q "^mpathd $W3\$" "$BINDINGS"'
wait_for 10 "LUN 3 in the wwids file" 'grep -q "^/$W3/\$" "$WWIDS"'

step "LUN 1 unmapped and mapped again gets mpatha back"
t0=$(now)
L1=$(lun_disks 1 | tr '\n' ' ')
for d in $L1; do scsi_delete "$d" > /dev/null; done
wait_for 30 "LUN 1's paths gone" 'paths_gone $L1'
# pathkeeperd removes a map whose last path left (nothing holds it open).
wait_for 30 "pathkeeperd removed mpatha from DM" '! dmsetup info mpatha > /dev/null 2>&1'
for h in $(sd_hosts); do scsi_rescan "$h"; done
wait_for 60 "LUN 1's map made again" 'has_two_paths "$W1"'
log "TIMING unmap, remove, rescan to the map again: $(SECONDS_SINCE "$t0") s"
expect "LUN 1 is mpatha again" [ "$(name_of "$W1")" = mpatha ]
expect "DM has mpatha with LUN 1's UUID" [ "$(dmsetup info -c --noheadings -o uuid mpatha)" = "mpath-$W1" ]

step "LUN 2 unmapped, pathkeeperd SIGKILLed, LUN 2 mapped again: mpathb from the file alone"
L2=$(lun_disks 2 | tr '\n' ' ')
for d in $L2; do scsi_delete "$d" > /dev/null; done
wait_for 30 "LUN 2's paths gone" 'paths_gone $L2'
wait_for 30 "pathkeeperd removed mpathb from DM" '! dmsetup info mpathb > /dev/null 2>&1'
kill -9 "$PK_PID"
wait "$PK_PID" 2>/dev/null || true
pk_start names-remap.log --config /etc/pathkeeper/pathkeeper.yaml
expect "no map for LUN 2 while it is unmapped" [ -z "$(name_of "$W2")" ]
t0=$(now)
for h in $(sd_hosts); do scsi_rescan "$h"; done
wait_for 60 "LUN 2's map made again" 'has_two_paths "$W2"'
log "TIMING rescan to the remapped LUN's map after a restart: $(SECONDS_SINCE "$t0") s"
expect "LUN 2 is mpathb again" [ "$(name_of "$W2")" = mpathb ]
expect "the four names as before" \
  [ "$(name_of "$W0") $(name_of "$W1") $(name_of "$W2") $(name_of "$W3")" = "mpathc mpatha mpathb mpathd" ]

step "the files are on disk, nothing failed"
save names/status.json pk status
save names/status.txt pathkeeperctl status
expect "no write failed" [ "$(pk_status name_files.bindings.write_errors)" -eq 0 ]
expect "nothing pending" [ "$(pk_status name_files.bindings.pending) $(pk_status name_files.wwids.pending)" = "false false" ]
save names/bindings-end.txt cat "$BINDINGS"
save names/wwids-end.txt cat "$WWIDS"
expect "four bindings" [ "$(grep -c '^mpath' "$BINDINGS")" -eq 4 ]
expect "four WWIDs" [ "$(grep -c '^/' "$WWIDS")" -eq 4 ]
pk_stop
