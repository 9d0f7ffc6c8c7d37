#!/usr/bin/env bash
# Stop what slurm_up.sh started: slurmd, slurmctld (it saves state first), munged.
set -u
for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile"); kill "$pid" 2>/dev/null
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null; rm -f "$pidfile"
  fi
done
pkill -x slurmstepd 2>/dev/null
pkill -x munged 2>/dev/null
rm -f /run/munge/munge.socket.2*
# Our slurm.conf goes too: with it but no slurmctld, every `scontrol` waits ~9 s, and Snakemake's SLURM
# plugin runs one at start-up of every snakemake command (even local runs).
if grep -q '^ClusterName=repgeom$' /etc/slurm/slurm.conf 2>/dev/null; then rm -f /etc/slurm/slurm.conf; fi
echo SLURM_DOWN
