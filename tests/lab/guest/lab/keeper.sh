# Path keepers: whatever watches the paths of a map and fails or reinstates
# them, the job pathkeeperd exists for. Scenarios call keeper_start/keeper_stop
# and pick the keeper with KEEPER (run-guest -e KEEPER=...):
#   shell   a shell loop polling iSCSI session and SCSI device state (the
#           stand-in until pathkeeperd runs in the lab)
# A new keeper is one more case below.

keeper_start() {  # keeper_start MAP PORTAL...
  case ${KEEPER:-shell} in
    shell) shell_keeper "$@" & KEEPER_PID=$! ;;
    *) fail "unknown KEEPER=$KEEPER" ;;
  esac
  log "path keeper '${KEEPER:-shell}' running (pid $KEEPER_PID)"
}

keeper_stop() { stop_process "$KEEPER_PID"; }

# keeper_event TEXT: log a keeper action, also to /results/keeper.log.
keeper_event() {
  echo "$(now) $*" >> /results/keeper.log
  log "keeper: $*"
}

# shell_keeper MAP PORTAL...: every 0.5 s, a path whose session is not
# LOGGED_IN (or whose device is not running) is failed by message; one that
# is back is reinstated. Uses only sysfs and dmsetup, no I/O on the paths.
shell_keeper() {
  set +e  # a keeper never stops on a failed look-up; it tries again
  _sk_map=$1
  shift
  while :; do
    for _sk_p in "$@"; do
      _sk_d=$(iscsi_disk "$_sk_p") || continue
      _sk_s=$(iscsi_state "$_sk_p")
      _sk_ds=$(scsi_state "$_sk_d")
      _sk_m=$(mp_path_state "$_sk_map" "$_sk_d")
      if [ "$_sk_s" = LOGGED_IN ] && [ "$_sk_ds" = running ]; then
        if [ "$_sk_m" = F ]; then
          mp_reinstate "$_sk_map" "$_sk_d" && keeper_event "reinstated $_sk_d ($_sk_p)"
        fi
      elif [ "$_sk_m" = A ]; then
        mp_fail "$_sk_map" "$_sk_d" && keeper_event "failed $_sk_d ($_sk_p): session $_sk_s, device $_sk_ds"
      fi
    done
    sleep 0.5
  done
}
