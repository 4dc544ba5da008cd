"""End with the process that started us: jobs the JupyterLab server starts must not outlive it.

The server starts each job (``nbprod run``, a pipeline, a reproduce) with a pipe as its
standard input and never writes to it. When the server ends, however it ends (stopped,
killed, crashed), the operating system closes the pipe; the job reads end-of-file and sends
itself SIGTERM, which ``nbprod run`` turns into an honest ``interrupted`` run with its kernel
stopped. A pipe works in a multi-threaded server, where asking the kernel for a signal on the
parent's death (``prctl``) is not safe to set up between fork and exec.
"""

from __future__ import annotations

import os
import signal
import threading

__all__ = ["LIFELINE_ENV", "watch_lifeline"]

#: Set (to "stdin") by the server for the jobs it starts.
LIFELINE_ENV = "NBPROD_LIFELINE"


def watch_lifeline() -> bool:
    """When the environment asks for it, stop this process once its standard input closes."""
    if os.environ.get(LIFELINE_ENV) != "stdin":
        return False
    # The file descriptor itself, not sys.stdin: a thread blocked in a buffered read holds
    # the buffer's lock, and the interpreter aborts at exit when it cannot take that lock.
    descriptor = os.dup(0)

    def wait_for_the_end() -> None:
        try:
            while os.read(descriptor, 4096):
                pass  # nothing is ever sent; anything that is, is ignored
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=wait_for_the_end, name="nbprod-lifeline", daemon=True).start()
    return True
