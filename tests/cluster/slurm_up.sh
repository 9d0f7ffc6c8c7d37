#!/usr/bin/env bash
# Bring up a real single-node SLURM (slurmctld + slurmd + munge, no accounting) on a Debian machine.
# Needs root and apt. Idempotent: a running cluster is left as it is. Undo with slurm_down.sh.
# Prints "SLURM_UP" on success; exits 2 (with a reason) when SLURM can't be brought up here.
set -euo pipefail

skip() { echo "SLURM_SKIP: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || skip "not root"
command -v apt-get >/dev/null || skip "no apt-get (not a Debian machine)"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get install -y -qq slurm-wlm munge >/tmp/repgeom-slurm-apt.log 2>&1 \
    || { timeout 120 apt-get update -qq >/dev/null 2>&1 && \
         timeout 300 apt-get install -y -qq slurm-wlm munge >/tmp/repgeom-slurm-apt.log 2>&1; } \
    || skip "apt-get install slurm-wlm munge failed (see /tmp/repgeom-slurm-apt.log)"
fi

if scontrol ping 2>/dev/null | grep -q UP && sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc'; then
  echo SLURM_UP; exit 0
fi

HOST=$(hostname -s)
# munge
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
[ -f /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then
  rm -f /run/munge/munge.socket.2*
  su -s /bin/sh munge -c /usr/sbin/munged || skip "munged did not start"
fi
for _ in $(seq 20); do munge -n | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
munge -n | unmunge >/dev/null 2>&1 || skip "munge does not work"

# slurm.conf: the node line is what slurmd -C reports
mkdir -p /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm /etc/slurm
chown -R slurm:slurm /var/lib/slurm /var/log/slurm
NODE_LINE=$(slurmd -C | head -1)
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=repgeom
SlurmctldHost=${HOST}
SlurmUser=slurm
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=3600
${NODE_LINE} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

pgrep -x slurmctld >/dev/null || slurmctld || skip "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
for _ in $(seq 40); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.5; done
pgrep -x slurmd >/dev/null || slurmd || skip "slurmd did not start (see /var/log/slurm/slurmd.log)"
for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mix|alloc)' && break; sleep 0.5; done
sinfo -h -o %T | grep -qE '^(idle|mix|alloc)' || { scontrol update nodename="$HOST" state=resume 2>/dev/null || true; sleep 2; }
sinfo -h -o %T | grep -qE '^(idle|mix|alloc)' || skip "node not idle: $(sinfo -h -o '%T %E')"
echo SLURM_UP
