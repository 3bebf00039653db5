"""MESOS-container emulation for agent tasks: private mount and PID namespaces and a chroot.

A task's command sees what it would see in its container on a real agent: its ``hostPath``
volumes at their ``containerPath`` (read-only when ``mode: RO``), its sandbox at
``/mnt/mesos/sandbox`` (``$MESOS_SANDBOX``), the image's binary where the image has it
(``/usr/local/sbin/haproxy`` for ``haproxy:*``), a POSIX shell, and an ``/etc/hosts`` that
resolves the cluster's ``*.l4lb.thisdcos.directory`` VIP names — DC/OS's l4lb, emulated without
touching the user's configuration. System directories are bound read-only; nothing is created on
the host outside the agent's sandbox. Networking is the host's (Marathon ``host`` networking).

The command is PID 1 of its own PID namespace (Mesos' ``namespaces/pid`` isolator), so whatever
it starts — HAProxy's master and workers under a shell — dies with it, and ``unshare`` kills it
when the simulator dies. Signals go to the process group, as Mesos' executor delivers a kill.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

#: Binaries the emulated images carry, mapped to this machine's.
IMAGE_BINARIES = {"/usr/local/sbin/haproxy": "haproxy"}

_SETUP = r"""
set -e
R="$1"; HOSTS="$2"; SANDBOX=$(dirname "$R"); shift 2
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"  # containers get a high FD limit
mount -t tmpfs -o size=64m,mode=755 kexpose-rootfs "$R"
cd "$R"
for d in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$d"; elif [ -d "/$d" ]; then mkdir "$d"; mount --rbind "/$d" "$d"; fi
done
mkdir -p usr etc dev proc tmp run var/lib var/state
for d in usr etc; do mount --rbind "/$d" "$d"; mount -o remount,bind,ro "$d"; done
mount --bind "$HOSTS" etc/hosts
mount --rbind /dev dev
mount -t proc proc proc
mount -t tmpfs tmpfs tmp
mount -t tmpfs tmpfs run
ln -s ../run var/run
mount -t tmpfs tmpfs var/state
mount -t tmpfs tmpfs usr/local/sbin
mkdir -p mnt/mesos/sandbox
mount --bind "$SANDBOX" mnt/mesos/sandbox
export MESOS_SANDBOX=/mnt/mesos/sandbox
"""


@dataclass
class Volume:
    host_path: Path  # on this machine (inside the agent's root)
    container_path: str
    read_only: bool = True


@dataclass
class ContainerSpec:
    """What one task's container looks like."""

    sandbox: Path  # the task's sandbox on the agent: the chroot's mount point lives here
    hosts_file: Path
    volumes: list[Volume] = field(default_factory=list)

    def command(self, shell_command: str) -> list[str]:
        """argv that runs ``shell_command`` (as Marathon's ``cmd``: through ``sh -c``) in the container."""
        rootfs = self.sandbox / "rootfs"
        rootfs.mkdir(parents=True, exist_ok=True)
        lines = [_SETUP]
        for container_file, binary in IMAGE_BINARIES.items():
            real = shutil.which(binary)
            if real:
                lines.append(f"touch .{container_file} && mount --bind {shlex.quote(real)} .{container_file}")
        for v in self.volumes:
            target = "." + v.container_path
            lines.append(f"mkdir -p {shlex.quote(target)} && mount --bind {shlex.quote(str(v.host_path))} {shlex.quote(target)}")
            if v.read_only:
                lines.append(f"mount -o remount,bind,ro {shlex.quote(target)}")
        lines.append('exec chroot "$R" /bin/sh -c "$1"')
        script = "\n".join(lines)
        return ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "sh", "-c", script,
                "kexpose-container",
                str(rootfs), str(self.hosts_file), shell_command]


def command_line(cmd: str) -> str:
    """Marathon runs ``cmd`` through ``sh -c``; ``exec`` a simple command so the supervised
    process *is* the program (signals and death-with-parent reach it, not a waiting shell)."""
    if cmd.lstrip().startswith("exec ") or any(op in cmd for op in (";", "&", "|", "\n", "`", "$(")):
        return cmd
    return "exec " + cmd


def supported() -> str | None:
    """None when containers can run here; otherwise why not (they need root and unshare)."""
    if os.geteuid() != 0:
        return "the agent runtime needs root (mount namespaces and chroot)"
    if shutil.which("unshare") is None:
        return "the agent runtime needs unshare (util-linux)"
    return None
