#!/usr/bin/env bash
# Stop the single-node test cluster started by tests/slurm/start_cluster.sh:
# slurmd, slurmctld, then munged. Safe to run when nothing is running.
# Leaves the packages and /etc/slurm/slurm.conf in place.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "stop_cluster.sh: must run as root" >&2
    exit 1
fi

log() { echo "[stop_cluster] $*" >&2; }

stop_pidfile() { # stop_pidfile NAME PIDFILE
    local name=$1 pidfile=$2 pid
    if [[ -s $pidfile ]] && pid=$(cat "$pidfile") && kill -0 "$pid" 2>/dev/null; then
        log "stopping $name (pid $pid)"
        kill "$pid"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name did not exit, sending SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
        fi
    else
        log "$name not running"
    fi
    rm -f "$pidfile"
}

# cancel leftover jobs so no slurmstepd outlives its slurmd
if command -v scancel >/dev/null 2>&1 && scontrol ping 2>/dev/null | grep -q UP; then
    scancel --full --quiet --user=root 2>/dev/null || true
fi

stop_pidfile slurmd /run/slurmd.pid
stop_pidfile slurmctld /run/slurmctld.pid

if command -v munged >/dev/null 2>&1 && [[ -S /run/munge/munge.socket.2 ]]; then
    log "stopping munged"
    runuser -u munge -- /usr/sbin/munged --stop 2>/dev/null \
        || stop_pidfile munged /run/munge/munged.pid
else
    log "munged not running"
fi
