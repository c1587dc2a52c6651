#!/usr/bin/env bash
# rspamd.sh — start or stop a private, offline rspamd on 127.0.0.1 for tests and CI.
#
# Usage: rspamd.sh start|stop|status DIR [PORT]    (PORT defaults to 17833)
#
# The normal (scanner) worker listens on 127.0.0.1:PORT, the controller on
# 127.0.0.1:PORT+1 with the password $RSPAMD_PASSWORD (default
# "smarthold-test"). The proxy and fuzzy workers are off.
#
# What it does: copies the packaged /etc/rspamd into DIR/etc, moves the
# worker sockets to loopback ports, writes local.d/ overrides that keep it
# offline (SCANNERS-OFFLINE.md: resolver on a closed port, network modules
# off), points the Bayes classifier at Redis ($RSPAMD_REDIS, default
# 127.0.0.1:6379, database $RSPAMD_REDIS_DB, default 7, so its keys stay
# apart from anything else in that Redis; that database is emptied at start
# so every run begins untrained, unless RSPAMD_REDIS_KEEP=1), runs rspamd as
# _rspamd and waits for GET /ping -> pong on both workers.
# What it does not: touch the system rspamd or its config; start Redis; listen
# anywhere but loopback.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: $0 start|stop|status DIR [PORT]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cmd=$1
dir=$(realpath -m "$2")
port=${3:-17833}
cport=$((port + 1))
password=${RSPAMD_PASSWORD:-smarthold-test}
redis=${RSPAMD_REDIS:-127.0.0.1:6379}
redis_db=${RSPAMD_REDIS_DB:-7}
wait_s=${RSPAMD_START_TIMEOUT:-60}
run_user=${RSPAMD_USER:-_rspamd}
run_group=${RSPAMD_GROUP:-_rspamd}
etc="$dir/etc"
pidfile="$dir/run/rspamd.pid"

# Answers 0 when the HTTP worker on 127.0.0.1:$1 replies "pong" to GET /ping.
ping_worker() {
  local reply
  reply=$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
    head -c 512 <&3' _ "$1" 2>/dev/null) || return 1
  [[ $reply == *pong* ]]
}

write_config() {
  rm -rf "$etc"
  mkdir -p "$etc" "$dir/db" "$dir/run" "$dir/log"
  cp -a /etc/rspamd/. "$etc/"
  # Our ports, loopback only (the packaged file binds localhost:11332-11335).
  sed -i \
    -e "s/bind_socket = \"localhost:11333\"/bind_socket = \"127.0.0.1:$port\"/" \
    -e "s/bind_socket = \"localhost:11334\"/bind_socket = \"127.0.0.1:$cport\"/" \
    -e "s/bind_socket = \"localhost:11332\"/bind_socket = \"127.0.0.1:0\"; enabled = false/" \
    -e "s/bind_socket = \"localhost:11335\"/bind_socket = \"127.0.0.1:0\"; enabled = false/" \
    "$etc/rspamd.conf"
  local l="$etc/local.d" o="$etc/override.d"
  mkdir -p "$l" "$o"
  # Offline: the resolver points at a closed loopback port and gives up fast.
  cat >"$l/options.inc" <<CONF
dns { nameserver = ["127.0.0.1:53"]; timeout = 0.3s; retransmits = 1; }
CONF
  # Modules that need the network (or learn from traffic) are off.
  local m
  for m in rbl surbl emails spf dkim dmarc arc asn mx_check once_received reputation \
    fuzzy_check dcc url_redirector phishing greylist ratelimit neural \
    history_redis metadata_exporter clickhouse elastic external_services \
    antivirus replies bimi p0f; do
    echo "enabled = false;" >"$l/$m.conf"
  done
  cat >"$l/hfilter.conf" <<CONF
helo_enabled = false;
hostname_enabled = false;
from_enabled = false;
mid_enabled = false;
CONF
  # Redis for Bayes (learning) only; a database of its own.
  cat >"$l/redis.conf" <<CONF
servers = "$redis";
db = "$redis_db";
CONF
  cat >"$l/classifier-bayes.conf" <<CONF
servers = "$redis";
database = "$redis_db";
autolearn = false;
CONF
  cat >"$l/logging.inc" <<CONF
type = "file";
filename = "$dir/log/rspamd.log";
level = "notice";
CONF
  # A fixed test password for the controller (plain text: test instance only).
  cat >"$o/worker-controller.inc" <<CONF
count = 1;
password = "$password";
enable_password = "$password";
# Loopback is not trusted: the test controller always asks for the password.
secure_ip = "192.0.2.255";
static_dir = "\${WWWDIR}";
CONF
  cat >"$o/worker-normal.inc" <<CONF
count = 1;
mime = true;
CONF
  chown -R "$run_user:$run_group" "$dir/db" "$dir/run" "$dir/log"
  chmod o+x "$dir"
  chmod -R o+rX "$etc"
}

# Both workers answer /ping.
ping_both() { ping_worker "$port" && ping_worker "$cport"; }

start() {
  if pid=$(running_pid "$pidfile"); then
    echo "rspamd: already running (pid $pid) on 127.0.0.1:$port" >&2
    ping_worker "$port" && return 0
    echo "rspamd: pid $pid does not answer /ping; stop it first" >&2
    return 1
  fi
  command -v rspamd >/dev/null || { echo "rspamd: not installed (apt-get install rspamd)" >&2; return 1; }
  write_config
  if [[ ${RSPAMD_REDIS_KEEP:-0} != 1 ]] && command -v redis-cli >/dev/null; then
    # Bayes only scores after 200 learns of each class: start untrained so
    # learning tests never change later scores.
    redis-cli -h "${redis%:*}" -p "${redis##*:}" -n "$redis_db" FLUSHDB >/dev/null ||
      echo "rspamd: warning: could not empty Redis database $redis_db at $redis" >&2
  fi
  rspamd -c "$etc/rspamd.conf" \
    --var="CONFDIR=$etc" --var="LOCAL_CONFDIR=$etc" \
    --var="DBDIR=$dir/db" --var="RUNDIR=$dir/run" --var="LOGDIR=$dir/log" \
    -u "$run_user" -g "$run_group" >"$dir/log/start.out" 2>&1 || {
    echo "rspamd: failed to start:" >&2
    cat "$dir/log/start.out" >&2
    return 1
  }
  wait_ready rspamd "$wait_s" "$dir/log/rspamd.log" "no pong on 127.0.0.1:$port and :$cport" ping_both
  echo "rspamd: running (pid $(<"$pidfile")) worker 127.0.0.1:$port, controller 127.0.0.1:$cport (password \"$password\"), Redis $redis db $redis_db; log $dir/log/rspamd.log"
}

stop() {
  stop_daemon rspamd "$pidfile"
}

status() {
  if pid=$(running_pid "$pidfile") && ping_worker "$port"; then
    echo "rspamd: running (pid $pid) worker 127.0.0.1:$port, controller 127.0.0.1:$cport"
  else
    echo "rspamd: not running on 127.0.0.1:$port"
    return 1
  fi
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
