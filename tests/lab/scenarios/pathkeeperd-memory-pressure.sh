# The promise the product is built on, on a real kernel with little memory
# (run with 512 MiB): fio writes through the map, the target freezes for
# FREEZE_SECONDS while stress-ng holds most of the free memory and a
# dirty-page flood is written through the queueing map. Across the freeze
# pathkeeperd faults no page, grows no heap and starts no thread, and every
# one of its threads carries PF_MEMALLOC_NOIO (IO_FLUSHER): read from
# /proc/PID from outside, not only in the daemon's own word. When the target
# returns the paths are reinstated and fio's verify passes.

FREEZE_SECONDS=${FREEZE_SECONDS:-120}
ISCSI_REPLACEMENT_TIMEOUT=${ISCSI_REPLACEMENT_TIMEOUT:-10}
PF_MEMALLOC_NOIO=524288  # 0x00080000, include/linux/sched.h

threads_without_io_flusher() {
  _n=0
  for _t in /proc/"$PK_PID"/task/*; do
    _flags=$(awk '{print $9}' "$_t/stat")
    [ $((_flags & PF_MEMALLOC_NOIO)) -ne 0 ] || _n=$((_n + 1))
  done
  echo "$_n"
}

step "udev, iSCSI with two portals, pathkeeperd ($(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB guest)"
start_udev
load_modules dm-multipath dm-service-time
# The "array" lives in this guest: its LUN is filled before the pressure
# starts, so the target never needs new memory or space below (a real array
# has its own; a target short of them answers MEDIUM ERROR, which no
# multipath daemon can hide).
iscsi_setup_preallocated 64
A=$(iscsi_disk 127.0.0.1)
# shellcheck disable=SC2034  # read in wait_for's eval
B=$(iscsi_disk 127.0.0.2)
W=$(mp_wwid "$A")
mkdir -p /etc/pathkeeper
cat > /etc/pathkeeper/pathkeeper.yaml <<YAML
timing: {polling_interval: 2s, failed_polling_interval: 1s, checker_timeout: 5s}
defaults: {no_path_retry: queue}
limits: {max_paths: 64, max_maps: 16, heap_reserve: 16MiB}
YAML
pk_start pathkeeperd.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 30 "map with two active paths" '[ "$(pk_map paths_active)" = 2 ]'
DM=$(dm_name "$W")
expect "every daemon thread is an IO_FLUSHER (from /proc)" [ "$(threads_without_io_flusher)" -eq 0 ]
expect "the daemon says the same" [ "$(pk_status threads_io_flusher)" -eq "$(pk_status threads)" ]

step "fio writes with verify through the map (first 32 MiB)"
fio_start apd "/dev/mapper/$W" --size=32M --rate=1m
sleep 5
flt0=$(proc_minflt "$PK_PID"); maj0=$(proc_majflt "$PK_PID"); thr0=$(proc_threads "$PK_PID")
own_flt0=$(pk_status minor_faults_since_ready); heap0=$(pk_status heap_bytes)
log "before the freeze: minflt $flt0 majflt $maj0 threads $thr0 heap $heap0 (MemAvailable $(mem_available_mb) MiB)"

step "target frozen ${FREEZE_SECONDS}s; memory pressure and a dirty-page flood through the queueing map"
target_freeze
t_freeze=$(now)
wait_for 60 "both paths failed" '[ "$(mp_path_state "$W" "$A")" = F ] && [ "$(mp_path_state "$W" "$B")" = F ]'
mem_pressure_start $(( $(mem_available_mb) - 64 ))
# Buffered writes beyond fio's region, so they pile up as dirty pages that
# cannot be written while no path works.
dd if=/dev/zero of="/dev/mapper/$W" bs=1M seek=36 count=24 2> /results/dirty-flood.log &
FLOOD_PID=$!
sleep 10
log "under pressure: MemAvailable $(mem_available_mb) MiB, Dirty+Writeback $(mem_dirty_mb) MiB"
summary "mem_available_mib_under_pressure $(mem_available_mb)"
summary "dirty_writeback_mib_under_pressure $(mem_dirty_mb)"
# Ask the daemon questions while it is squeezed: the answers come from its snapshot.
while awk -v s="$t_freeze" -v n="$(now)" -v f="$FREEZE_SECONDS" 'BEGIN {exit !(n - s < f)}'; do
  pk status > /results/pk-status-frozen.json || true
  sleep 5
done
expect "fio waits, it did not fail" kill -0 "$FIO_PID"
expect "the map still queues" sh -c "dmsetup table '$W' | grep -q queue_if_no_path"

step "target back under pressure: paths reinstated, I/O flows"
# shellcheck disable=SC2034  # read in wait_for's eval
w0=$(sectors_written "$DM")
target_unfreeze
t_thaw=$(now)
wait_for 120 "writes completing through the map" '[ "$(sectors_written "$DM")" -gt "$w0" ]'
summary "recover_io_after_target_return_s $(since "$t_thaw")"
wait_for 120 "both paths reinstated" '[ "$(mp_path_state "$W" "$A")" = A ] && [ "$(mp_path_state "$W" "$B")" = A ]'
summary "reinstate_both_after_target_return_s $(since "$t_thaw")"
flt1=$(proc_minflt "$PK_PID"); maj1=$(proc_majflt "$PK_PID"); thr1=$(proc_threads "$PK_PID")
summary "daemon_minor_faults_across_freeze_from_proc $((flt1 - flt0))"
summary "daemon_major_faults_across_freeze_from_proc $((maj1 - maj0))"
summary "daemon_thread_growth_across_freeze $((thr1 - thr0))"
summary "daemon_own_faults_since_ready_growth $(( $(pk_status minor_faults_since_ready) - own_flt0 ))"
summary "daemon_heap_growth_across_freeze $(( $(pk_status heap_bytes) - heap0 ))"
summary "threads_without_io_flusher $(threads_without_io_flusher)"
mem_pressure_stop
wait "$FLOOD_PID" || true
if fio_finish; then summary "fio_ok yes"; else summary "fio_ok no"; fail "fio failed or verify did not pass"; fi

expect "no page faulted in the daemon across the freeze (from /proc)" [ $((flt1 - flt0 + maj1 - maj0)) -eq 0 ]
expect "no thread started across the freeze" [ "$thr1" -eq "$thr0" ]
expect "no heap growth across the freeze" [ "$(pk_status heap_bytes)" -eq "$heap0" ]
expect "every thread still an IO_FLUSHER" [ "$(threads_without_io_flusher)" -eq 0 ]
pk_stop
