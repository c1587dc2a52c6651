# lib.sh — shared helpers for spamd.sh, rspamd.sh and clamd.sh (sourced, not run).
#
# Only process bookkeeping: the pid of a running daemon, waiting until it
# answers, stopping it. Each script keeps its own config and its own check.

# Prints the pid in PIDFILE when that process is alive; fails otherwise.
running_pid() {
  local pidfile=$1 pid
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# wait_ready NAME SECONDS LOGFILE WHAT CHECK [ARGS...]: runs CHECK every 0.5 s
# until it succeeds; after SECONDS says which answer never came (WHAT) and
# shows the last lines of LOGFILE.
wait_ready() {
  local name=$1 seconds=$2 logfile=$3 what=$4 waited=0
  shift 4
  until "$@"; do
    if ((waited >= seconds * 2)); then
      echo "$name: $what after ${seconds}s; last log lines:" >&2
      tail -n 20 "$logfile" >&2 || true
      return 1
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
}

# stop_daemon NAME PIDFILE: TERM, up to 10 s to exit, then KILL.
stop_daemon() {
  local name=$1 pidfile=$2 pid
  if ! pid=$(running_pid "$pidfile"); then
    echo "$name: not running (no live pid in $pidfile)"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 40); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name: stopped (pid $pid)"
      rm -f "$pidfile"
      return 0
    fi
    sleep 0.25
  done
  echo "$name: pid $pid did not stop in 10s; sending KILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}
