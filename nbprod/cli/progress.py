"""Live progress displays on stderr (rich): for pipelines and sweeps, fed by schedule
events, and a plain count for long lints."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

if TYPE_CHECKING:  # the lint's count needs no pipeline code
    from ..pipeline.schedule import Event

__all__ = ["CountProgress", "LiveProgress"]

_STYLE = {"succeeded": "green", "cached": "cyan", "failed": "red", "error": "red",
          "skipped": "yellow"}


class _StayingConsole(Console):
    """A console that outlives its reader. rich's default, when the reader of the stream goes
    away (`nbprod sweep ... 2>&1 | head`), is to exit the program, which would stop the
    sweep or pipeline half-way; here the display goes quiet and the work goes on."""

    def on_broken_pipe(self) -> None:
        from .streams import silence

        self.quiet = True
        silence(self.file)


class LiveProgress:
    """A bar of finished/total work plus one line per finished job, on stderr.

    The lines are drawn only on a terminal: piped stderr (a CI log) gets the command's own
    summary instead, once. Used as a context manager; ``__call__`` is the ``on_event``
    callback of ``schedule``.
    """

    def __init__(self, total: int, label: str, *, quiet: bool = False):
        self.console = _StayingConsole(stderr=True)
        self.quiet = quiet
        self.running: set[str] = set()
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("{task.fields[running]}"),
            # Off a terminal rich would draw nothing but leave an empty line behind.
            console=self.console, transient=True, disable=quiet or not self.console.is_terminal,
        )
        self.task = self.progress.add_task(label, total=total, running="")

    @property
    def shows_results(self) -> bool:
        """Whether each finished job gets its own line on the terminal."""
        return not self.quiet and self.console.is_terminal

    def __enter__(self) -> LiveProgress:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.stop()

    def __call__(self, event: Event) -> None:
        if event.kind == "started":
            self.running.add(event.name)
        else:
            self.running.discard(event.name)
            outcome = event.outcome
            if outcome is not None and self.shows_results:
                style = _STYLE.get(outcome.status, "white")
                note = f"  {outcome.message}" if outcome.message else ""
                # Text, not markup: messages may contain brackets from user code.
                self.progress.console.print(
                    Text.assemble((f"{outcome.status:>9}", style), f"  {event.name}{note}"),
                    highlight=False, soft_wrap=True)
            self.progress.advance(self.task)
        shown = ", ".join(sorted(self.running)[:4])
        self.progress.update(self.task, running=f"running: {shown}" if shown else "")


class CountProgress:
    """A transient bar of items done out of a total, on a terminal only, for work long
    enough to need one (at least ``minimum`` items). Called with ``(done, total)``; the first
    call decides whether to show it. Used as a context manager."""

    def __init__(self, label: str, minimum: int):
        self.label = label
        self.minimum = minimum
        self.console = _StayingConsole(stderr=True)
        self.progress: Progress | None = None
        self.task = None
        self.decided = False

    def __call__(self, done: int, total: int) -> None:
        if not self.decided:
            self.decided = True
            if total >= self.minimum and self.console.is_terminal:
                self.progress = Progress(
                    TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=self.console, transient=True,
                )
                self.task = self.progress.add_task(self.label, total=total)
                self.progress.start()
        if self.progress is not None:
            self.progress.update(self.task, completed=done)

    def __enter__(self) -> CountProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.progress is not None:
            self.progress.stop()
