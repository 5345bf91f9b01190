# Shared by the benchmark scenarios: both daemons, configured alike or with
# their own defaults, and what the kernel says of their maps. The scenarios
# run in the lab guest, after the lab library (tests/lab/guest/lab/, sourced
# by the guest's init): now, since, log, wait_for, soft_wait, record and the
# proc_* readers come from its core.sh.
# Every figure goes to /results/bench.txt as "DAEMON KEY VALUE" lines (record),
# one line per repetition; the host-side driver (bench/run-bench) makes medians.

POLL=${POLL:-5}            # polling interval of both daemons, seconds
CHECKER_TIMEOUT=${CHECKER_TIMEOUT:-5}

# --- configuration --------------------------------------------------------------
# MODE alike: polling POLL s (failed paths too, multipathd's interval never
# grows), tur, checker_timeout, no_path_retry queue. pathkeeperd's limits are
# sized for the benchmark's scale (1024 paths, 256 maps) with an 8 MiB heap
# reserve; the scenarios record its heap against the reserve. MODE defaults: each
# daemon's own defaults (multipathd still needs find_multipaths no to make
# maps from any WWID with paths, as in tests/lab/guest/etc/multipath.conf).
pk_write_config() {
  mkdir -p /etc/pathkeeper /var/log/pathkeeper
  if [ "$1" = alike ]; then
    cat > /etc/pathkeeper/pathkeeper.yaml <<YAML
timing:
  polling_interval: ${POLL}s
  failed_polling_interval: ${POLL}s
  checker_timeout: ${CHECKER_TIMEOUT}s
defaults:
  checker: tur
  no_path_retry: queue
limits:
  max_paths: ${PK_MAX_PATHS:-1024}
  max_maps: ${PK_MAX_MAPS:-256}
  heap_reserve: ${PK_HEAP_RESERVE:-8MiB}
YAML
  else
    rm -f /etc/pathkeeper/pathkeeper.yaml
  fi
}

mpd_write_config() {
  mkdir -p /etc/multipath
  if [ "$1" = alike ]; then
    cat > /etc/multipath.conf <<CONF
defaults {
    find_multipaths "no"
    user_friendly_names "no"
    polling_interval $POLL
    max_polling_interval $POLL
    checker_timeout $CHECKER_TIMEOUT
    path_checker "tur"
    no_path_retry "queue"
}
devices {
    device {
        vendor ".*"
        product ".*"
        path_checker "tur"
        no_path_retry "queue"
    }
}
blacklist {
    devnode "^(ram|loop|nbd|zram)[0-9]*"
}
CONF
  else
    cat > /etc/multipath.conf <<CONF
defaults {
    find_multipaths "no"
    user_friendly_names "no"
}
blacklist {
    devnode "^(ram|loop|nbd|zram)[0-9]*"
}
CONF
  fi
}

# --- daemons --------------------------------------------------------------------
# daemon_start NAME MODE: sets DPID; does not wait for maps.
daemon_start() {
  case $1 in
    pathkeeperd)
      pk_write_config "$2"
      if [ "$2" = alike ]; then set -- "$1" "$2" --config /etc/pathkeeper/pathkeeper.yaml; fi
      _ds_name=$1 _ds_mode=$2
      shift 2
      pathkeeperd --foreground --log-level info "$@" > "/results/$_ds_name-$_ds_mode.log" 2>&1 &
      DPID=$! ;;
    multipathd)
      mpd_write_config "$2"
      _ds_name=$1 _ds_mode=$2
      multipathd -d -s -v2 > "/results/$1-$2.log" 2>&1 &
      DPID=$! ;;
  esac
  log "$_ds_name ($_ds_mode) started, pid $DPID"
}

daemon_stop() {
  stop_process "$DPID"
  log "daemon $DPID stopped"
}

# Remove every multipath map (between daemons, so each builds its own).
maps_remove() {
  for _m in $(dmsetup ls --target multipath | awk '$1 != "No" {print $1}'); do
    dmsetup remove --retry "$_m" 2>/dev/null || dmsetup remove -f "$_m" || true
  done
  settle
}

# show paths through the daemon's own CLI.
daemon_show_paths() {
  case $1 in
    pathkeeperd) pathkeeperctl show paths ;;
    multipathd) multipathd show paths ;;
  esac
}
daemon_reconfigure() {
  case $1 in
    pathkeeperd) pathkeeperctl --timeout 60 reconfigure ;;
    multipathd) multipathd reconfigure ;;
  esac
}

# Multipath maps where every path is active, and the active paths overall
# (from the kernel, the same check for both daemons).
dm_maps_count() { dmsetup ls --target multipath | grep -vc '^No devices' || true; }
dm_active_paths() {
  dmsetup status --target multipath 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i ~ /^[0-9]+:[0-9]+$/ && $(i + 1) == "A") n++} END {print n + 0}'
}
dm_failed_paths() {
  dmsetup status --target multipath 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i ~ /^[0-9]+:[0-9]+$/ && $(i + 1) == "F") n++} END {print n + 0}'
}
