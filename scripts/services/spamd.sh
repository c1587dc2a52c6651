#!/usr/bin/env bash
# spamd.sh — start or stop a private, offline spamd on 127.0.0.1 for tests and CI.
#
# Usage: spamd.sh start|stop|status DIR [PORT]     (PORT defaults to 17830)
#
# What it does: copies the packaged /etc/spamassassin into DIR/site, adds
# DIR/site/zz-smarthold.cf (no network tests, Bayes on with a private
# bayes_path so that TELL can learn, no auto-learning, no reputation
# plugins), and runs spamd as debian-spamd on 127.0.0.1:PORT with TELL
# allowed; then waits for PING -> PONG. See SCANNERS-OFFLINE.md.
# What it does not: touch the system spamd, its config or its Bayes
# database; listen anywhere but loopback; download rules (no sa-update).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: $0 start|stop|status DIR [PORT]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cmd=$1
dir=$(realpath -m "$2")
port=${3:-17830}
pidfile="$dir/spamd.pid"
wait_s=${SPAMD_START_TIMEOUT:-60}
run_user=${SPAMD_USER:-debian-spamd}

# Answers 0 when spamd on 127.0.0.1:$port replies PONG (SPAMC/1.5 PING, spamd/PROTOCOL).
ping_spamd() {
  local reply
  reply=$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "PING SPAMC/1.5\r\n\r\n" >&3
    head -c 64 <&3' _ "$port" 2>/dev/null) || return 1
  [[ $reply == *PONG* ]]
}

start() {
  if pid=$(running_pid "$pidfile"); then
    echo "spamd: already running (pid $pid) on 127.0.0.1:$port" >&2
    ping_spamd && return 0
    echo "spamd: pid $pid does not answer PING; stop it first" >&2
    return 1
  fi
  command -v spamd >/dev/null || { echo "spamd: not installed (apt-get install spamassassin spamd spamc)" >&2; return 1; }
  # A fresh, untrained Bayes database each start: learning tests never change later scores.
  rm -rf "$dir/bayes"
  mkdir -p "$dir/site" "$dir/home" "$dir/bayes"
  cp -a /etc/spamassassin/. "$dir/site/"
  cat >"$dir/site/zz-smarthold.cf" <<CF
# Written by scripts/services/spamd.sh: private offline test configuration.
# Offline: no DNS, no network rules (SCANNERS-OFFLINE.md).
dns_available no
skip_rbl_checks 1
ifplugin Mail::SpamAssassin::Plugin::URIDNSBL
  skip_uribl_checks 1
endif
# Bayes on so that TELL learns; private database; no auto-learning, so a scan
# never changes the database. Bayes only scores after bayes_min_spam_num and
# bayes_min_ham_num (200 each) learned messages, so scores stay deterministic.
use_bayes 1
bayes_auto_learn 0
bayes_learn_during_report 1
bayes_path $dir/bayes/bayes
bayes_file_mode 0770
lock_method flock
# No sender reputation: it would make scores depend on earlier scans.
ifplugin Mail::SpamAssassin::Plugin::AWL
  use_auto_whitelist 0
endif
ifplugin Mail::SpamAssassin::Plugin::TxRep
  use_txrep 0
endif
CF
  chown -R "$run_user": "$dir/home" "$dir/bayes"
  chmod 0770 "$dir/bayes"
  # Traversal for the daemon user when DIR lives under a private parent.
  chmod o+x "$dir"
  rm -f "$pidfile"
  spamd -d -L -x -l \
    --siteconfigpath="$dir/site" \
    --listen="127.0.0.1:$port" -A 127.0.0.1 \
    -m 2 -u "$run_user" -H "$dir/home" \
    -r "$pidfile" -s "$dir/spamd.log" || {
    echo "spamd: failed to start on 127.0.0.1:$port (is the port taken? see above and $dir/spamd.log)" >&2
    return 1
  }
  wait_ready spamd "$wait_s" "$dir/spamd.log" "no PONG on 127.0.0.1:$port" ping_spamd
  echo "spamd: running (pid $(<"$pidfile")) on 127.0.0.1:$port; log $dir/spamd.log"
}

stop() {
  stop_daemon spamd "$pidfile"
}

status() {
  if pid=$(running_pid "$pidfile") && ping_spamd; then
    echo "spamd: running (pid $pid) on 127.0.0.1:$port"
  else
    echo "spamd: not running on 127.0.0.1:$port"
    return 1
  fi
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
