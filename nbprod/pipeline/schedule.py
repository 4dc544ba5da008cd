"""The dependency-driven loop every executor shares: submit what is ready, collect, repeat.

The loop runs on the client. ``prepare`` turns a ready job into a task for a worker (or
settles it at once: a cached step); ``finish`` records a worker's result (the client writes the
run store). A failed job marks everything downstream of it as skipped; the other branches go
on. Executors only supply ``submit`` and ``wait_any``: they never see notebooks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .worker import StepTask, TaskResult

__all__ = ["Event", "Job", "Outcome", "Backend", "schedule"]

#: Outcome statuses that let downstream jobs go ahead.
OK = ("succeeded", "cached")


@dataclass(frozen=True)
class Job:
    """A node of the work graph: a name and the names it waits for."""

    name: str
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """How a job ended: succeeded, cached, failed, error or skipped, with a one-line reason."""

    name: str
    status: str
    message: str = ""
    run_id: str | None = None
    detail: Any = None

    @property
    def ok(self) -> bool:
        return self.status in OK


@dataclass(frozen=True)
class Event:
    """Progress for the display: a job started (on which worker is unknown yet) or ended."""

    kind: str  # "started" | "finished"
    name: str
    outcome: Outcome | None = None


class Backend(Protocol):
    """The part of an executor the loop drives."""

    def submit(self, task: StepTask) -> Any:
        """Start ``task``; return a handle."""
        ...

    def wait_any(self, handles: Sequence[Any]) -> list[tuple[Any, TaskResult]]:
        """Block until at least one handle is done; return the finished ones with results."""
        ...


def schedule(
    jobs: Sequence[Job],
    backend: Backend,
    prepare: Callable[[str, Mapping[str, Outcome]], StepTask | Outcome],
    finish: Callable[[str, TaskResult], Outcome],
    *,
    max_parallel: int,
    on_event: Callable[[Event], None] = lambda event: None,
) -> dict[str, Outcome]:
    """Run ``jobs`` in dependency order with at most ``max_parallel`` tasks in flight.

    Parameters
    ----------
    jobs:
        In a topological order; the order also breaks ties between ready jobs.
    backend:
        Where tasks run (in this process, a LocalCluster, a Dask cluster).
    prepare:
        Called on the client when a job's dependencies have all succeeded.
    finish:
        Called on the client with each worker result.
    max_parallel:
        The most tasks in flight at once (at least 1).
    on_event:
        Receives progress events (for a live display).

    Returns
    -------
    dict[str, Outcome]
        One outcome per job, in ``jobs`` order.
    """
    limit = max(1, max_parallel)
    done: dict[str, Outcome] = {}
    running: dict[Any, str] = {}
    waiting = [job for job in jobs]

    def settle(outcome: Outcome) -> None:
        done[outcome.name] = outcome
        on_event(Event("finished", outcome.name, outcome))

    while waiting or running:
        progressed = True
        while progressed:
            progressed = False
            for job in list(waiting):
                if any(need not in done for need in job.needs):
                    continue
                broken = [need for need in job.needs if not done[need].ok]
                if broken:
                    waiting.remove(job)
                    settle(Outcome(job.name, "skipped", f"upstream step {broken[0]!r} did not"
                                                        f" succeed ({done[broken[0]].status})"))
                    progressed = True
                    continue
                if len(running) >= limit:
                    break
                waiting.remove(job)
                prepared = prepare(job.name, done)
                if isinstance(prepared, Outcome):
                    settle(prepared)
                else:
                    on_event(Event("started", job.name))
                    running[backend.submit(prepared)] = job.name
                progressed = True
        if not running:
            if waiting:  # only possible when a job waits for a name that is not a job
                missing = sorted({n for job in waiting for n in job.needs} - set(done))
                raise ValueError(f"jobs wait for unknown jobs: {', '.join(missing)}")
            break
        for handle, result in backend.wait_any(list(running)):
            settle(finish(running.pop(handle), result))
    return {job.name: done[job.name] for job in jobs}
