# Benchmark, many paths: scsi_debug SD_HOSTS x SD_LUNS disks (default 4 x 64
# = 256 paths, 64 WWIDs; -e SD_LUNS=256 gives the 1024 paths of the target,
# but under TCG udev alone takes about 15 min to settle 1024 disks, as every
# one runs `multipath -u` and the SCSI id tools, and the run no longer fits
# the guest's time limit). Each daemon in turn on the same devices, first
# configured alike, then with its own defaults:
#   startup_s   daemon start until every map has all its paths active in DM
#   rss_kib     VmRSS at steady state
#   cpu_ms_per_1000_checks  utime+stime over CPU_WINDOW s / checks performed
#               (pathkeeperd: checks_total; multipathd: paths x window / polling
#               interval, its interval pinned by max_polling_interval)
#   cli_p99_ms  `show paths` round trip on the control socket (pk-ipc-probe),
#               CLI_CALLS calls (multipathd: at most CLI_BUDGET s), while
#               reconfigures run and every 10th SCSI command gets no answer
#               (scsi_debug every_nth=10 opts=4: about 10% of the checks hang)
# Figures: /results/bench.txt (see common.sh).

# bench/run-bench prepends common.sh to this file.

SD_HOSTS=${SD_HOSTS:-4}
SD_LUNS=${SD_LUNS:-64}
CPU_WINDOW=${CPU_WINDOW:-60}
CLI_CALLS=${CLI_CALLS:-1000}
DAEMONS=${DAEMONS:-"pathkeeperd multipathd"}
MODES=${MODES:-"alike defaults"}
PATHS=$((SD_HOSTS * SD_LUNS))

step "udev, scsi_debug $SD_HOSTS hosts x $SD_LUNS LUNs ($PATHS paths)"
start_udev
load_modules sd_mod sg dm-mod scsi_dh_alua dm-multipath dm-service-time dm-round-robin dm-queue-length
t0=$(now)
modprobe scsi_debug add_host="$SD_HOSTS" num_tgts=1 max_luns="$SD_LUNS" \
  vpd_use_hostno=0 dev_size_mb=1
wait_for 900 "$PATHS scsi_debug disks" '[ "$(scsi_debug_disks | wc -w)" -eq $PATHS ]'
udevadm settle --timeout=900 || log "udev still busy after 900 s"
log "scsi_debug ready in $(since "$t0") s; clock $CLOCK; CLK_TCK $CLK_TCK"
record env paths "$PATHS"
record env maps "$SD_LUNS"
record env clock "$CLOCK"
# Commands that get no answer time out after 10 s, not 30.
for _t in /sys/bus/scsi/devices/*/timeout; do echo 10 > "$_t" 2>/dev/null || true; done

for mode in $MODES; do
  for d in $DAEMONS; do
    # Configured alike: STARTUP_REPS starts from no map at all, each to
    # steady state (startup_s and rss_kib over the starts); defaults: one.
    reps=1; [ "$mode" = alike ] && reps=${STARTUP_REPS:-2}
    rep=1
    while :; do
      step "$d ($mode): startup to $SD_LUNS maps with $PATHS active paths ($rep/$reps)"
      maps_remove
      t0=$(now)
      daemon_start "$d" "$mode"
      wait_for 900 "$SD_LUNS maps, $PATHS active paths" \
        '[ "$(dm_maps_count)" -ge "$SD_LUNS" ] && [ "$(dm_active_paths)" -ge "$PATHS" ]'  || true
      s=$(since "$t0")
      [ "$mode" = alike ] && k=startup_s || k=startup_s_defaults
      record "$d" "$k" "$s"
      # pathkeeperd's own account of its start-up phases.
      [ "$d" = pathkeeperd ] && log "$(grep -h 'ms after start' "/results/$d-$mode.log" | tail -1)"

      step "$d ($mode): steady state"
      sleep $((POLL * 2))
      [ "$mode" = alike ] && k=rss_kib || k=rss_kib_defaults
      record "$d" "$k" "$(proc_rss_kib "$DPID")"
      [ "$rep" -ge "$reps" ] && break
      daemon_stop
      rep=$((rep + 1))
    done
    record "$d" "threads_$mode" "$(proc_threads "$DPID")"
    [ "$d" = pathkeeperd ] && record "$d" "heap_kib_$mode" "$(pathkeeperctl --json status | jq -r '.status.heap_bytes / 1024 | floor')"
    if [ "$mode" = alike ]; then
      r=0
      while [ $r -lt "${CPU_REPS:-3}" ]; do
        c0=$(proc_cpu_ticks "$DPID"); t_a=$(now)
        [ "$d" = pathkeeperd ] && n0=$(pathkeeperctl --json status | jq -r .status.checks_total)
        sleep "$CPU_WINDOW"
        c1=$(proc_cpu_ticks "$DPID"); t_b=$(now)
        w=$(since "$t_a" "$t_b")
        if [ "$d" = pathkeeperd ]; then
          n1=$(pathkeeperctl --json status | jq -r .status.checks_total)
          checks=$((n1 - n0))
        else
          checks=$(awk -v p="$PATHS" -v w="$w" -v i="$POLL" 'BEGIN {printf "%d", p * w / i}')
        fi
        cpu_ms=$(awk -v t="$((c1 - c0))" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t * 1000 / hz}')
        record "$d" cpu_ms_window "$cpu_ms"
        record "$d" checks_window "$checks"
        record "$d" cpu_ms_per_1000_checks "$(awk -v c="$cpu_ms" -v n="$checks" 'BEGIN {r = -1; if (n > 0) r = c * 1000 / n; printf "%.4f", r}')"
        r=$((r + 1))
      done

      step "$d: show paths x $CLI_CALLS during reconfigure, ~10% of the checks hanging"
      # Timed on the control socket itself (pk-ipc-probe: connect, request,
      # whole reply, close), so the figure is the daemon's answer, not the
      # start-up of a CLI process under TCG. multipathd's calls stop after
      # CLI_BUDGET s: each can wait for its reconfigure.
      echo 4 > "$SD_SYSFS/opts"
      echo 10 > "$SD_SYSFS/every_nth"
      ( while [ ! -e /tmp/cli-done ]; do daemon_reconfigure "$d" > /dev/null 2>&1 || true; sleep 1; done ) &
      RECONF_PID=$!
      sleep 2
      rm -f /tmp/cli-done
      case $d in
        pathkeeperd) set -- pathkeeper /run/pathkeeper/control.sock ;;
        multipathd) set -- multipathd ;;
      esac
      pk-ipc-probe latency "$@" --calls "$CLI_CALLS" --budget "${CLI_BUDGET:-180}" \
        --samples "/results/cli-$d.txt" show paths > /tmp/cli-stats 2> "/results/cli-$d-errors.txt" || true
      touch /tmp/cli-done
      wait "$RECONF_PID" 2>/dev/null || true
      rm -f /tmp/cli-done
      echo 0 > "$SD_SYSFS/every_nth"
      echo 0 > "$SD_SYSFS/opts"
      log "$d: $(cat /tmp/cli-stats)"
      for kv in $(cat /tmp/cli-stats); do
        case $kv in
          calls=*) record "$d" cli_calls "${kv#calls=}" ;;
          errors=*) record "$d" cli_errors "${kv#errors=}" ;;
          p50_ms=*) record "$d" cli_p50_ms "${kv#p50_ms=}" ;;
          p99_ms=*) record "$d" cli_p99_ms "${kv#p99_ms=}" ;;
          max_ms=*) record "$d" cli_max_ms "${kv#max_ms=}" ;;
        esac
      done
      # The heap reserve held: no growth past READY through the reconfigures.
      [ "$d" = pathkeeperd ] && record "$d" heap_growth_kib_after_reconfigures "$(pathkeeperctl --json status | jq -r '(.status.heap_bytes - .status.heap_bytes_at_ready) / 1024 | floor')"
      # Let failed paths come back before the next daemon.
      soft_wait 300 "every path active again" '[ "$(dm_active_paths)" -ge "$PATHS" ]'  || true
    fi
    daemon_stop
  done
done
maps_remove
