# pathkeeperd over scsi_debug: 2 hosts x 8 LUNs = 16 disks sharing 8 WWIDs
# become 8 maps of two active paths; a device taken offline is failed in DM
# and reinstated when it runs again; a restarted daemon adopts all 8 maps
# without reloading any.

maps_with_two_active() { pk show maps | jq '[.maps[] | select(.paths_active == 2)] | length'; }

step "udev, scsi_debug 2 hosts x 8 LUNs"
start_udev
load_modules dm-multipath dm-service-time
scsi_debug_setup 2 8 16
DISKS=$(scsi_debug_disks | tr '\n' ' ')
log "disks: $DISKS"

step "pathkeeperd (built-in defaults) builds 8 maps of two active paths"
t0=$(now)
pk_start pathkeeperd.log
wait_for 60 "8 maps with two active paths" '[ "$(maps_with_two_active)" -eq 8 ]'
log "8 maps ready $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}') s after start"
save pk/maps.txt pathkeeperctl show maps
keep pk/topology.txt pathkeeperctl show topology
keep pk/maps.json pk show maps
expect "dmsetup lists 8 multipath maps with mpath- UUIDs" \
  [ "$(dmsetup info -c --noheadings -o uuid | grep -c '^mpath-')" -eq 8 ]
save fixtures/scsi-debug-status.txt dmsetup status

step "a device taken offline is failed, and reinstated when it runs again"
D=$(echo $DISKS | cut -d' ' -f1)
# shellcheck disable=SC2034  # read in wait_for's eval
M=$(pk_path "$D" map)
scsi_offline "$D"
wait_for 30 "$D failed in DM" '[ "$(mp_path_state "$M" "$D")" = F ]'
expect "show paths says $D is down" [ "$(pk_path "$D" state)" = down ]
scsi_online "$D"
wait_for 30 "$D reinstated in DM" '[ "$(mp_path_state "$M" "$D")" = A ]'

step "a restarted pathkeeperd adopts the 8 maps without reloading them"
pk_stop
pk_start pathkeeperd-restart.log
wait_for 60 "8 maps with two active paths again" '[ "$(maps_with_two_active)" -eq 8 ]'
expect "8 maps adopted" [ "$(grep -c 'adopted ' /results/pathkeeperd-restart.log)" -eq 8 ]
expect "none reloaded or created" [ "$(grep -cE 'reloaded |created ' /results/pathkeeperd-restart.log)" -eq 0 ]
pk_stop
