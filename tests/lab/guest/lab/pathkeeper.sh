# pathkeeperd in the guest: start it, ask it things through pathkeeperctl's
# JSON (read with jq).

pk() { pathkeeperctl --json "$@"; }
pk_status() { pk status | jq -r ".status.$1"; }
pk_path() { pk show paths | jq -r --arg d "$1" ".paths[] | select(.dev == \$d) | .$2"; }
pk_map() { pk show maps | jq -r ".maps[0].$1"; }  # the first (or only) map

# pk_config [MORE]: the lab's configuration in /etc/pathkeeper/pathkeeper.yaml:
# quick checks (a cut path is failed within seconds), queue forever, small
# limits for a small guest. MORE, YAML text, is appended after the limits
# (more limits, indented, or further sections). Start with
# `pk_start LOG --config /etc/pathkeeper/pathkeeper.yaml`.
pk_config() {
  mkdir -p /etc/pathkeeper /var/log/pathkeeper
  cat > /etc/pathkeeper/pathkeeper.yaml <<YAML
timing:
  polling_interval: 2s
  failed_polling_interval: 1s
  checker_timeout: 5s
defaults:
  no_path_retry: queue
limits:
  max_paths: 64
  max_maps: 16
  heap_reserve: 16MiB
YAML
  if [ -n "${1:-}" ]; then printf '%s\n' "$1" >> /etc/pathkeeper/pathkeeper.yaml; fi
}

# pk_start LOGNAME [pathkeeperd options...]: runs the daemon in the background
# (PK_PID), logging to /results/LOGNAME, and waits until it says READY.
pk_start() {
  _pk_log=$1
  shift
  pathkeeperd --foreground --log-level debug "$@" > "/results/$_pk_log" 2>&1 &
  PK_PID=$!
  wait_for 30 "pathkeeperd ready" '[ "$(pk_status ready)" = true ]'
  log "pathkeeperd ready (pid $PK_PID)"
}

pk_stop() { stop_process "$PK_PID"; }
