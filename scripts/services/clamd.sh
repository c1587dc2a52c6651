#!/usr/bin/env bash
# clamd.sh — start or stop a private, offline clamd on 127.0.0.1 for tests and CI.
#
# Usage: clamd.sh start|stop|status DIR [PORT]     (PORT defaults to 17835)
#
# What it does: writes DIR/clamd.conf and a signature database of its own,
# DIR/db/smarthold-test.ndb (the EICAR test string and a smarthold test
# marker: see below), and runs clamd as clamav on 127.0.0.1:PORT and on the
# Unix socket DIR/clamd.sock; then waits for PING -> PONG.
# What it does not: touch the system clamd, its config or /var/lib/clamav;
# run freshclam or download signatures (our machines have no internet, and
# tests need names that never change); listen anywhere but loopback.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: $0 start|stop|status DIR [PORT]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cmd=$1
dir=$(realpath -m "$2")
port=${3:-17835}
pidfile="$dir/clamd.pid"
wait_s=${CLAMD_START_TIMEOUT:-60}
run_user=${CLAMD_USER:-clamav}
# clamd refuses (INSTREAM size limit exceeded) streams longer than this; the tests rely on 10M.
stream_max=${CLAMD_STREAM_MAX:-10M}

# The two test signatures, as hex (ClamAV .ndb: Name:TargetType:Offset:HexSignature).
# EICAR's standard anti-virus test file (68 octets), anywhere in any file.
eicar_hex=$(printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' | od -An -tx1 | tr -d ' \n')
# A marker of our own, for tests that must not look like EICAR to anything else on the way.
marker_hex=$(printf '%s' 'SMARTHOLD-CLAMAV-TEST-SIGNATURE-7d1c3e' | od -An -tx1 | tr -d ' \n')

# Answers 0 when clamd on 127.0.0.1:$port replies PONG to zPING.
ping_clamd() {
  local reply
  reply=$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "zPING\0" >&3
    head -c 16 <&3 | tr -d "\0"' _ "$port" 2>/dev/null) || return 1
  [[ $reply == PONG* ]]
}

start() {
  if pid=$(running_pid "$pidfile"); then
    echo "clamd: already running (pid $pid) on 127.0.0.1:$port" >&2
    ping_clamd && return 0
    echo "clamd: pid $pid does not answer PING; stop it first" >&2
    return 1
  fi
  command -v clamd >/dev/null || { echo "clamd: not installed (apt-get install --no-install-recommends clamav-daemon)" >&2; return 1; }
  rm -rf "$dir/db" "$dir/tmp"
  mkdir -p "$dir/db" "$dir/tmp"
  cat >"$dir/db/smarthold-test.ndb" <<NDB
Smarthold.Test.EICAR:0:*:$eicar_hex
Smarthold.Test.Marker:0:*:$marker_hex
NDB
  cat >"$dir/clamd.conf" <<CONF
# Written by scripts/services/clamd.sh: private offline test configuration.
Foreground no
User $run_user
PidFile $pidfile
LogFile $dir/clamd.log
LogTime yes
LogVerbose no
DatabaseDirectory $dir/db
TemporaryDirectory $dir/tmp
TCPSocket $port
TCPAddr 127.0.0.1
LocalSocket $dir/clamd.sock
LocalSocketMode 666
MaxThreads 4
StreamMaxLength $stream_max
# The database never changes while the tests run: no reload checks.
SelfCheck 0
CONF
  chown -R "$run_user": "$dir/db" "$dir/tmp"
  touch "$dir/clamd.log" && chown "$run_user": "$dir/clamd.log"
  # clamd (as $run_user) writes its pid file and socket in DIR itself.
  chown "$run_user": "$dir"
  chmod o+x "$dir"
  rm -f "$pidfile" "$dir/clamd.sock"
  clamd --config-file="$dir/clamd.conf" >"$dir/start.out" 2>&1 || {
    echo "clamd: failed to start on 127.0.0.1:$port:" >&2
    cat "$dir/start.out" >&2
    return 1
  }
  wait_ready clamd "$wait_s" "$dir/clamd.log" "no PONG on 127.0.0.1:$port" ping_clamd
  echo "clamd: running (pid $(<"$pidfile")) on 127.0.0.1:$port and unix:$dir/clamd.sock; log $dir/clamd.log"
}

stop() {
  stop_daemon clamd "$pidfile"
}

status() {
  if pid=$(running_pid "$pidfile") && ping_clamd; then
    echo "clamd: running (pid $pid) on 127.0.0.1:$port and unix:$dir/clamd.sock"
  else
    echo "clamd: not running on 127.0.0.1:$port"
    return 1
  fi
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
