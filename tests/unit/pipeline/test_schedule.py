"""The scheduling loop with fake tasks: order, failure isolation, caching, parallelism."""

from __future__ import annotations

import ast
import threading

import pytest

from nbprod import syntax
from nbprod.pipeline.executors import LocalExecutor, SerialExecutor, executor_registry
from nbprod.pipeline.schedule import Job, Outcome, schedule
from nbprod.pipeline.worker import StepTask, TaskResult

DIAMOND = [Job("a"), Job("b", ("a",)), Job("c", ("a",)), Job("d", ("b", "c")), Job("e")]


def fake_run(fail=(), crash=()):
    ran: list[str] = []

    def run(task: StepTask) -> TaskResult:
        ran.append(task.name)
        if task.name in crash:
            raise RuntimeError("machinery broke")
        if task.name in fail:
            return TaskResult(task.name, "failed", error={"ename": "ValueError", "evalue": "no"})
        return TaskResult(task.name, "succeeded", values={"v": task.name})

    return run, ran


def drive(jobs, backend, cached=(), max_parallel=1):
    finished = []

    def prepare(name, done):
        if name in cached:
            return Outcome(name, "cached", "cached")
        return StepTask(name, "/nowhere")

    def finish(name, result):
        finished.append(name)
        return Outcome(name, result.status, str(result.error or ""))

    return schedule(jobs, backend, prepare, finish, max_parallel=max_parallel), finished


def test_dependencies_run_first():
    run, ran = fake_run()
    outcomes, _ = drive(DIAMOND, SerialExecutor(run))
    assert ran.index("a") < ran.index("b") < ran.index("d")
    assert ran.index("c") < ran.index("d")
    assert all(o.status == "succeeded" for o in outcomes.values())
    assert list(outcomes) == ["a", "b", "c", "d", "e"]


def test_failure_skips_downstream_and_others_finish():
    run, ran = fake_run(fail={"b"})
    outcomes, _ = drive(DIAMOND, SerialExecutor(run))
    assert outcomes["b"].status == "failed"
    assert outcomes["d"].status == "skipped"
    assert "upstream step 'b'" in outcomes["d"].message
    assert outcomes["c"].status == outcomes["e"].status == "succeeded"
    assert "d" not in ran


def test_machinery_failure_is_an_error_result():
    run, _ = fake_run(crash={"a"})
    outcomes, _ = drive([Job("a"), Job("b", ("a",))], SerialExecutor(run))
    assert outcomes["a"].status == "error"
    assert "machinery broke" in outcomes["a"].message
    assert outcomes["b"].status == "skipped"


def test_cached_jobs_are_not_submitted():
    run, ran = fake_run()
    outcomes, finished = drive(DIAMOND, SerialExecutor(run), cached={"a", "b"})
    assert outcomes["a"].status == outcomes["b"].status == "cached"
    assert sorted(ran) == ["c", "d", "e"]
    assert sorted(finished) == ["c", "d", "e"]


class RecordingBackend:
    """Holds tasks until waited on, to observe how many are in flight at once."""

    def __init__(self):
        self.pending = []
        self.most = 0
        self.lock = threading.Lock()

    def submit(self, task):
        self.pending.append(task)
        self.most = max(self.most, len(self.pending))
        return task.name

    def wait_any(self, handles):
        task = self.pending.pop(0)
        return [(task.name, TaskResult(task.name, "succeeded"))]


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_max_parallel_is_respected(limit):
    jobs = [Job(f"run-{i}") for i in range(6)]
    backend = RecordingBackend()
    outcomes, _ = drive(jobs, backend, max_parallel=limit)
    assert backend.most == limit
    assert len(outcomes) == 6


def test_unknown_dependency_is_reported():
    run, _ = fake_run()
    with pytest.raises(ValueError, match="unknown jobs: ghost"):
        drive([Job("a", ("ghost",))], SerialExecutor(run))


def test_registry_and_local_serial_mode():
    assert executor_registry.names() == ["dask", "local"]
    with pytest.raises(Exception, match="did you mean 'dask'"):
        executor_registry.get("dusk")
    run, ran = fake_run()
    executor = executor_registry.get("local")(max_parallel=1, cluster=None, retries=0, run=run)
    assert isinstance(executor, LocalExecutor)
    outcomes, _ = drive(DIAMOND, executor)
    assert len(ran) == 5 and all(o.ok for o in outcomes.values())


def test_dask_executor_needs_an_address():
    with pytest.raises(Exception, match="--cluster tcp://HOST:PORT") as info:
        executor_registry.get("dask")(max_parallel=0, cluster=None, retries=0)
    assert info.value.exit_code == 2


def test_dask_executor_refuses_a_malformed_address():
    with pytest.raises(Exception, match="'bogus' is not a Dask scheduler address") as info:
        executor_registry.get("dask")(max_parallel=0, cluster="bogus", retries=0)
    assert info.value.exit_code == 2
    assert executor_registry.get("dask")(max_parallel=0, cluster="tcp://127.0.0.1:8786",
                                         retries=0).parallelism > 1000  # the scheduler queues


def test_local_threads_run_tasks_side_by_side_and_report_a_crash():
    # Two tasks that each wait for the other prove both run at once on the local threads.
    both_started = threading.Barrier(2, timeout=10)

    def run(task: StepTask) -> TaskResult:
        if task.name in ("b", "c"):
            both_started.wait()
        if task.name == "e":
            raise RuntimeError("machinery broke")
        return TaskResult(task.name, "succeeded", worker=threading.current_thread().name)

    with LocalExecutor(max_parallel=2, run=run) as executor:
        outcomes, _ = drive(DIAMOND, executor, max_parallel=2)
    assert executor.client is None  # notebook-only work starts no cluster
    assert [outcomes[n].status for n in "abcd"] == ["succeeded"] * 4
    assert outcomes["e"].status == "error"
    assert "RuntimeError: machinery broke" in outcomes["e"].message


def test_local_threads_parse_through_the_guard():
    # Papermill, grammars and tracebacks call ast.parse on the pool threads; on interpreters
    # whose AST constructor shares state between threads it must be the guarded one there.
    def run(task: StepTask) -> TaskResult:
        return TaskResult(task.name, "succeeded", values={"guarded": ast.parse is syntax.parse})

    with LocalExecutor(max_parallel=2, run=run) as executor:
        [(_, result)] = executor.wait_any([executor.submit(StepTask("probe", "/nowhere"))])
    assert result.values == {"guarded": syntax.SHARED_AST_STATE}


def test_local_threads_drop_queued_tasks_on_exit():
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def run(task: StepTask) -> TaskResult:
        ran.append(task.name)
        started.set()
        release.wait(10)
        return TaskResult(task.name, "succeeded")

    # Leaving the block early (an error, Ctrl-C) must not start the tasks still queued.
    with LocalExecutor(max_parallel=2, run=run) as executor:
        first = executor.submit(StepTask("first", "/nowhere"))
        started.wait(10)
        queued = [executor.submit(StepTask(f"q{i}", "/nowhere")) for i in range(3)]
    release.set()
    assert first.result(timeout=10).status == "succeeded"
    started_anyway = [f for f in queued if not f.cancelled()]
    assert all(f.result(timeout=10).status == "succeeded" for f in started_anyway)
    # The idle second thread may have taken one queued task before the exit; no more.
    assert len(started_anyway) <= 1
    assert len(ran) == 1 + len(started_anyway)
