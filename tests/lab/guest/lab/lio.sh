# LIO (the kernel's SCSI target) as an array with ALUA port groups, inside the
# guest, and a sampler that shows which path group of a map carries I/O.
#
# One fileio LUN on a tmpfs file, exported through two tcm_loop ports. Each
# tcm_loop port is a SCSI host of its own, so the initiator sees two sd
# devices with one WWID (vendor LIO-ORG, model FILEIO). Port a sits in target
# port group tpg_a (id 10), port b in tpg_b (id 20); writing a group's
# alua_access_state is what an array does during an upgrade or a failover.
#
#   lio_alua_setup [MB]     the array; LIO_DISK_A/LIO_DISK_B are the sd devices
#   lio_set_state G STATE   G a|b; STATE 0 A/O, 1 A/N, 2 standby,
#                           3 unavailable, 15 transitioning (also logged in
#                           LIO_EVENTS, for alua_follow_analyse)
#   lio_teardown            removes it all (the map over it must be gone)
#   mp_sampler_start MAP LOG / mp_sampler_stop
#   alua_follow_analyse EVENTS SAMPLES OUT   follow time and violations per flip

LIO=/sys/kernel/config/target
LIO_DEV=$LIO/core/fileio_0/lun0
LIO_LUN_FILE=/lio/lun.img
# The LUN's serial (what targetcli sets to a random UUID); the WWID derives
# from it (naa.6001405...), the same at every run.
LIO_SERIAL=${LIO_SERIAL:-4c10a1a0-0000-4000-8000-000000000001}
# 1: implicit ALUA only. The array alone changes states; the host's handler
# never sends SET TARGET PORT GROUPS (3 would let it make a standby port
# optimized when it activates that path group, overriding the array).
LIO_ALUA_ACCESS_TYPE=${LIO_ALUA_ACCESS_TYPE:-1}
# lio_set_state appends "UPTIME tpg_G STATE" here; scenarios add "UPTIME mark NAME".
LIO_EVENTS=${LIO_EVENTS:-/results/lio-events.txt}

lio_state_name() {
  case $1 in
    0) echo active/optimized ;; 1) echo active/non-optimized ;; 2) echo standby ;;
    3) echo unavailable ;; 14) echo offline ;; 15) echo transitioning ;; *) echo "state-$1" ;;
  esac
}

# lio_host G: the SCSI host number of port G (tcm_loop's address: host:0:tpgt).
lio_host() { cut -d: -f1 "$LIO/loopback/$(lio_wwn "$1")/tpgt_1/address"; }
# lio_wwn G / lio_nexus G: the target port's WWN, the initiator port's.
lio_wwn() { case $1 in a) echo naa.5001405000000010 ;; b) echo naa.5001405000000020 ;; esac; }
lio_nexus() { case $1 in a) echo naa.5001405100000010 ;; b) echo naa.5001405100000020 ;; esac; }

# lio_disk G: the sd device behind port G.
lio_disk() {
  for _ld in /sys/class/scsi_host/host"$(lio_host "$1")"/device/target*/*:*/block/*; do
    [ -e "$_ld" ] && { echo "${_ld##*/}"; return 0; }
  done
  return 1
}

# lio_state G: the state number the array has for port group tpg_G.
lio_state() { cut -d' ' -f1 "$LIO_DEV/alua/tpg_$1/alua_access_state"; }

# lio_set_state G STATE: the array moves tpg_G to STATE (an implicit
# transition: the host learns it from a unit attention or a check).
lio_set_state() {
  read -r _ls_t _ < /proc/uptime
  echo "$2" > "$LIO_DEV/alua/tpg_$1/alua_access_state"
  echo "$_ls_t tpg_$1 $2" >> "$LIO_EVENTS"
  log "array: tpg_$1 -> $2 ($(lio_state_name "$2"))"
}

# lio_mark NAME: starts a measured window in LIO_EVENTS (before the writes).
lio_mark() {
  read -r _lm_t _ < /proc/uptime
  echo "$_lm_t mark $1" >> "$LIO_EVENTS"
}

# lio_alua_setup [SIZE_MB]: the array with tpg_a active/optimized and tpg_b
# standby. Sets LIO_DISK_A, LIO_DISK_B (sd names) and LIO_DEVT_A, LIO_DEVT_B.
lio_alua_setup() {
  _la_mb=${1:-64}
  # The ALUA handler must be loaded before the disks are scanned to attach.
  load_modules sd_mod sg dm-mod scsi_dh_alua configfs target_core_mod target_core_file tcm_loop
  grep -q ' /sys/kernel/config ' /proc/mounts || mount -t configfs configfs /sys/kernel/config
  # The LUN in RAM, filled now: a full root file system never fails its writes.
  mkdir -p /lio
  mount -t tmpfs -o size=$((_la_mb + 8))m tmpfs /lio
  dd if=/dev/zero of="$LIO_LUN_FILE" bs=1M count="$_la_mb" 2>/dev/null
  mkdir -p "$LIO_DEV"
  echo "fd_dev_name=$LIO_LUN_FILE,fd_dev_size=$((_la_mb * 1048576))" > "$LIO_DEV/control"
  # Without a unit serial LIO answers no device identification (VPD 0x83):
  # no WWID, and the ALUA handler finds no port group and detaches.
  echo "$LIO_SERIAL" > "$LIO_DEV/wwn/vpd_unit_serial"
  echo 1 > "$LIO_DEV/enable"
  for _la in a:10:0 b:20:2; do
    _la_g=${_la%%:*} _la_rest=${_la#*:}
    _la_gp=$LIO_DEV/alua/tpg_$_la_g
    mkdir "$_la_gp"
    echo "${_la_rest%%:*}" > "$_la_gp/tg_pt_gp_id"
    echo "$LIO_ALUA_ACCESS_TYPE" > "$_la_gp/alua_access_type"
    echo "${_la_rest#*:}" > "$_la_gp/alua_access_state"
  done
  # Each port: LUN linked and put in its group BEFORE the nexus exists, so
  # the disk is scanned (and the handler reads its port group) only once the
  # port is in tpg_a or tpg_b, not in the default group.
  for _la_g in a b; do
    _la_t=$LIO/loopback/$(lio_wwn "$_la_g")/tpgt_1
    mkdir -p "$_la_t/lun/lun_0"
    ln -s "$LIO_DEV" "$_la_t/lun/lun_0/lun0"
    echo "tpg_$_la_g" > "$_la_t/lun/lun_0/alua_tg_pt_gp"
    lio_nexus "$_la_g" > "$_la_t/nexus"
    echo "- - -" > "/sys/class/scsi_host/host$(lio_host "$_la_g")/scan"
  done
  wait_for 60 "the disks behind ports a and b" 'lio_disk a && lio_disk b'
  settle
  LIO_DISK_A=$(lio_disk a) LIO_DISK_B=$(lio_disk b)
  # shellcheck disable=SC2034  # for the scenarios
  LIO_DEVT_A=$(devnum "$LIO_DISK_A") LIO_DEVT_B=$(devnum "$LIO_DISK_B")
  [ "$(cat "/sys/block/$LIO_DISK_A/device/wwid")" = "$(cat "/sys/block/$LIO_DISK_B/device/wwid")" ] \
    || fail "LIO: $LIO_DISK_A and $LIO_DISK_B have different WWIDs"
  : > "$LIO_EVENTS"
  for _la_g in a b; do
    _la_d=$(lio_disk "$_la_g")
    log "LIO port $_la_g: $(lio_wwn "$_la_g") tpg_$_la_g ($(lio_state_name "$(lio_state "$_la_g")"))" \
        "-> host$(lio_host "$_la_g") -> $_la_d ($(devnum "$_la_d")), access_state" \
        "$(cat "/sys/block/$_la_d/device/access_state" 2>/dev/null || echo '?'), handler" \
        "$(cat "/sys/block/$_la_d/device/dh_state" 2>/dev/null || echo '?'), wwid $(cat "/sys/block/$_la_d/device/wwid")"
    echo "$_la_g $(devnum "$_la_d") $_la_d" >> /results/lio-ports.txt
  done
}

# lio_access_states: "sdX=STATE sdY=STATE" as the host's ALUA handler has them.
lio_access_states() {
  for _lx in "$LIO_DISK_A" "$LIO_DISK_B"; do
    printf '%s=%s ' "$_lx" "$(cat "/sys/block/$_lx/device/access_state" 2>/dev/null || echo '?')"
  done
  echo
}

lio_teardown() {
  for _lt_g in a b; do
    _lt_w=$LIO/loopback/$(lio_wwn "$_lt_g")
    [ -d "$_lt_w" ] || continue
    rm -f "$_lt_w/tpgt_1/lun/lun_0/lun0"
    rmdir "$_lt_w/tpgt_1/lun/lun_0"
    echo NULL > "$_lt_w/tpgt_1/nexus" 2>/dev/null || true
    rmdir "$_lt_w/tpgt_1" "$_lt_w"
  done
  for _lt_g in a b; do
    [ -d "$LIO_DEV/alua/tpg_$_lt_g" ] && rmdir "$LIO_DEV/alua/tpg_$_lt_g"
  done
  rmdir "$LIO_DEV" "${LIO_DEV%/*}"
  umount /lio
  log "LIO removed"
}

# --- Which path group carries I/O, sampled --------------------------------------

# mp_paths MAP: how many paths the map has (0 when it does not exist).
mp_paths() { dmsetup status "$1" 2>/dev/null | grep -o ' [0-9]*:[0-9]* [AF] ' | wc -l; }

# mp_active_paths MAP: the usable paths (devt) of the path group the kernel
# sends I/O to ("A" in dmsetup status), one a line.
mp_active_paths() {
  dmsetup status "$1" 2>/dev/null | awk '$3 == "multipath" {
    i = 4; i += $i + 1; i += $i + 1
    ng = $i; i += 2
    for (g = 1; g <= ng; g++) {
      gs = $i; i++; i += $i + 1
      np = $i; na = $(i + 1); i += 2
      for (p = 1; p <= np; p++) { if (gs == "A" && $(i + 1) == "A") print $i; i += 3 + na }
    }
  }'
}

# mp_sampler_start MAP LOG: every 50 ms (dm-sampler, no fork per sample), one
# line in LOG:
#   UPTIME ACCESS_STATE_A ACCESS_STATE_B WRITES | dmsetup status MAP
# (uptime in seconds, ms resolution; the access states are what the host's
# ALUA handler believes of port a's and port b's disk; WRITES: writes
# completed on the map so far, "-" before it exists).
mp_sampler_start() {
  _sp_dm=$(dm_name "$1" 2>/dev/null || echo none)
  dm-sampler "$1" 50 "/sys/block/$LIO_DISK_A/device/access_state" \
    "/sys/block/$LIO_DISK_B/device/access_state" "/sys/block/$_sp_dm/stat@5" > "$2" 2>&1 &
  SAMPLER_PID=$!
}

mp_sampler_stop() {
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
}

# alua_follow_analyse EVENTS SAMPLES PORTS OUT: one line per window (from a
# "mark" in EVENTS to the next one, or to the last sample) in OUT:
#   NAME follow_ms=F settled_ms=S violations=N violation_ms=V nogroup_ms=G
#        degraded_ms=D allfailed_ms=Q path_fails=P write_stall_ms=W samples=K
# follow_ms: from the mark to the first sample whose active path group ("A" in
#   dmsetup status) holds the path of a port that is now active/optimized,
#   usable (A), and no usable path of a standby or unavailable port ("-" if
#   never; "n/a" if no port is active/optimized in this window).
# violations, violation_ms: samples after that point whose active group again
#   holds a usable standby or unavailable path while some port is active
#   (optimized or not), and how long they lasted. Each run of them is also
#   printed as "VIOLATION NAME +Tms: active group held standby/unavailable
#   path(s) DEVT for N ms".
# settled_ms: from the mark to the first sample after which every sample of the
#   window has the active group right ("-" if the last one is wrong).
# nogroup_ms: no group active (no I/O chosen yet, or the map missing);
# degraded_ms: some path failed (F); allfailed_ms: every path failed (queueing);
# path_fails: paths seen going from A to F; write_stall_ms: the longest time
# in the window with no write completed on the map (the sampler's 4th word).
# A mark named "end" only closes the window before it.
# PORTS: "G DEVT DEV" lines (lio-ports.txt).
alua_follow_analyse() {
  awk -v out="$4" '
    FILENAME == ARGV[1] { port[$2] = $1; next }
    FILENAME == ARGV[2] {
      ne++; et[ne] = $1 + 0; ek[ne] = $2; ev[ne] = $3; next
    }
    {
      # sample: T SA SB WRITES | 0 LEN multipath #feat.. #hw.. #groups next (group...)
      ns++; st[ns] = $1 + 0
      ag = ""; npaths = 0; nfail = 0
      bar = 0; for (k = 1; k <= NF; k++) if ($k == "|") { bar = k; break }
      # writes completed (4th word): when they last moved
      if (bar > 4 && $4 != lastw) { lastw = $4; wmoved = st[ns] }
      swm[ns] = wmoved
      i = bar + 1
      if ($(i + 2) == "multipath") {
        i += 3
        i += $i + 1   # features
        i += $i + 1   # hardware handler
        ng = $i; i += 2
        for (g = 1; g <= ng; g++) {
          gs = $i; i++; i += $i + 1
          np = $i; na = $(i + 1); i += 2
          for (p = 1; p <= np; p++) {
            npaths++; if ($(i + 1) == "F") nfail++
            if ($(i + 1) == "F" && last_dm[$i] == "A") sfails[ns]++
            last_dm[$i] = $(i + 1)
            if (gs == "A") ag = ag " " $i ":" $(i + 1)
            i += 3 + na
          }
          if (gs == "A" && ag == "") ag = " -"
        }
      }
      sag[ns] = ag; snp[ns] = npaths; snf[ns] = nfail
    }
    function state_at(t, g,   e, s) {
      s = ""
      for (e = 1; e <= ne; e++) if (ek[e] == "tpg_" g && et[e] <= t) s = ev[e]
      return s
    }
    # 1: the active group is right; 0: not yet; -1: wrong while a port is
    # active (a violation); -2: no group active.
    function judge(n,   t, k, m, f, q, dev, dm, st_, good, bad, anyactive, g) {
      t = st[n]
      if (sag[n] == "" || sag[n] == " -") return -2
      anyactive = 0
      for (g in gs_ports) { st_ = state_at(t, g); if (st_ == "0" || st_ == "1") anyactive = 1 }
      good = 0; bad = ""
      m = split(sag[n], f, " ")
      for (k = 1; k <= m; k++) {
        q = split(f[k], dev, ":"); dm = dev[3]
        g = port[dev[1] ":" dev[2]]
        st_ = state_at(t, g)
        if (dm != "A") continue
        if (st_ == "0") good = 1
        if (st_ == "2" || st_ == "3") bad = bad " " dev[1] ":" dev[2]
      }
      badpaths = bad
      if (good && bad == "") return 1
      if (bad != "" && anyactive) return -1
      return 0
    }
    END {
      for (d in port) gs_ports[port[d]] = 1
      for (e = 1; e <= ne; e++) {
        if (ek[e] != "mark" || ev[e] == "end") continue
        t0 = et[e]; t1 = 1e18
        for (e2 = e + 1; e2 <= ne; e2++) if (ek[e2] == "mark") { t1 = et[e2]; break }
        name = ev[e]
        # Is some port active/optimized in this window (after its writes)?
        aop = 0
        for (g in gs_ports) if (state_at(t1 < 1e18 ? t1 - 0.001 : 1e17, g) == "0") aop = 1
        follow = ""; settled = ""; nviol = 0; vms = 0; nog = 0; deg = 0; allf = 0; k = 0
        inrun = 0; runstart = 0; runms = 0; fails = 0; stall = 0
        for (n = 1; n <= ns; n++) {
          if (st[n] < t0 || st[n] >= t1) continue
          k++
          dt = ((n < ns && st[n + 1] < t1) ? st[n + 1] : (t1 < 1e18 ? t1 : st[n])) - st[n]
          j = judge(n)
          if (j == -2) nog += dt
          if (snp[n] > 0 && snf[n] > 0) deg += dt
          if (snp[n] > 0 && snf[n] == snp[n]) allf += dt
          fails += sfails[n]
          # no write completed since max(last move, window start)
          since = st[n] - ((swm[n] > t0) ? swm[n] : t0)
          if (since > stall) stall = since
          if (j == 1 && follow == "") follow = st[n] - t0
          if (j == 1) { if (settled == "") settled = st[n] - t0 } else settled = ""
          if (follow != "" && j == -1) {
            nviol++; vms += dt
            if (!inrun) { inrun = 1; runstart = st[n] - t0; runms = 0; runpaths = badpaths }
            runms += dt
          } else if (inrun) {
            printf "VIOLATION %s +%dms: active group held standby/unavailable path(s)%s for %d ms\n", \
              name, runstart * 1000, runpaths, runms * 1000
            inrun = 0
          }
        }
        if (inrun)
          printf "VIOLATION %s +%dms: active group held standby/unavailable path(s)%s for %d ms\n", \
            name, runstart * 1000, runpaths, runms * 1000
        if (!aop) { fs = "n/a"; ss = "n/a" }
        else {
          fs = (follow == "") ? "-" : sprintf("%d", follow * 1000)
          ss = (settled == "") ? "-" : sprintf("%d", settled * 1000)
        }
        printf "%s follow_ms=%s settled_ms=%s violations=%d violation_ms=%d nogroup_ms=%d degraded_ms=%d allfailed_ms=%d path_fails=%d write_stall_ms=%d samples=%d\n", \
          name, fs, ss, nviol, vms * 1000, nog * 1000, deg * 1000, allf * 1000, fails, stall * 1000, k > out
      }
    }' "$3" "$1" "$2"
}
