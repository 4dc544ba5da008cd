"""The kernel's life, the same for every notebook nbprod executes: ``nbprod run``, sweeps,
pipeline notebook steps (all through ``engine``) and the pytest plugin (its own cell loop).

- kernel specs are found without importing IPython (``execute.kernel_dirs``);
- the kernel leads its own process group, and that whole group is killed when the
  notebook is done, so nothing the notebook started is left running;
- a kernel that dies before running anything (a port taken between jupyter_client picking
  it and the kernel binding it) is started again, up to ``START_ATTEMPTS`` times.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from .execute import kernel_dirs

__all__ = ["START_ATTEMPTS", "GroupKilledKernel", "kill_group"]

#: Kernels started per notebook when one dies before running anything.
START_ATTEMPTS = 3


class GroupKilledKernel:
    """Mixed into an nbclient ``NotebookClient``: kernel specs found without IPython, and the
    kernel's process id kept (``kernel_pid``) when it leads its own group, for ``kill``.

    Call ``remember_kernel`` once the kernel has started (nbclient's ``on_notebook_start``
    hook, or right after ``async_setup_kernel`` is entered).
    """

    kernel_pid: int | None = None

    def create_kernel_manager(self) -> Any:
        from jupyter_client.kernelspec import KernelSpecManager

        manager = super().create_kernel_manager()
        manager.kernel_spec_manager = KernelSpecManager(kernel_dirs=kernel_dirs())
        return manager

    def remember_kernel(self, notebook: Any = None) -> None:
        provisioner = getattr(self.km, "provisioner", None)
        pid = getattr(provisioner, "pid", None) or getattr(
            getattr(provisioner, "process", None), "pid", None)
        try:
            leads_group = pid is not None and os.getpgid(pid) == pid
        except ProcessLookupError:
            leads_group = False
        # Only a kernel that leads its own process group may have its group killed.
        self.kernel_pid = pid if leads_group else None

    def kill(self) -> None:
        """Kill the kernel and everything it started (see ``kill_group``)."""
        kill_group(self.kernel_pid)


def kill_group(pid: int | None) -> None:
    """Kill the kernel's whole process group (the kernel leads its own session).

    The group is signalled even when its leader has already exited, so processes the notebook
    started (and left running) go too.
    """
    if not pid:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
