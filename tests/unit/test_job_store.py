"""The editor's job store: what a new server finds of the jobs of the one before it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from server.lsp import job_store
from server.lsp.job_store import JobStore

REQUEST = {"action": "optimize", "uri": "file:///a.py", "function": "f", "metric": "exec_time"}


async def test_a_job_is_found_by_the_next_store_with_its_state_and_events(tmp_path: Path):
    path = tmp_path / job_store.FILE_NAME
    store = JobStore(path)
    await store.add("t1", REQUEST)
    await store.set_state("t1", "running")
    await store.event("t1", {"token": "t1", "event": {"kind": "job_started"}})
    await store.event("t1", {"token": "t1", "event": {"kind": "stage_started"}})
    await store.add("t2", {**REQUEST, "function": "g"})
    await store.aclose()  # the server stops

    again = JobStore(path)
    kept = await again.jobs()
    assert [(k.token, k.state, k.request["function"]) for k in kept] == [
        ("t1", "running", "f"),
        ("t2", "queued", "g"),
    ]
    kinds = [e["event"]["kind"] for e in await again.events("t1")]
    assert kinds == ["job_started", "stage_started"]
    await again.restart("t1", "run again")  # a resumed job starts its events over
    assert await again.events("t1") == []
    await again.set_state("t1", "offered", result='{"status": "succeeded"}')
    assert (await again.jobs())[0].result == '{"status": "succeeded"}'
    await again.aclose()


async def test_only_the_newest_ended_jobs_are_kept(tmp_path: Path):
    store = JobStore(tmp_path / job_store.FILE_NAME)
    for i in range(job_store.KEEP_ENDED + 5):
        await store.add(f"t{i}", REQUEST)
        await store.event(f"t{i}", {"n": i})
        await store.set_state(f"t{i}", "ended", "done")
    await store.add("live", REQUEST)
    tokens = [k.token for k in await store.jobs()]
    assert len(tokens) == job_store.KEEP_ENDED + 1 and tokens[0] == "t5" and tokens[-1] == "live"
    assert await store.events("t0") == [] and await store.events("t5") == [{"n": 5}]
    await store.aclose()


async def test_a_damaged_file_is_set_aside_and_jobs_go_on(tmp_path: Path):
    path = tmp_path / job_store.FILE_NAME
    path.write_bytes(b"this is not a database" * 100)
    store = JobStore(path)
    await store.add("t1", REQUEST)
    assert [k.token for k in await store.jobs()] == ["t1"]
    aside = list(tmp_path.glob(f"{job_store.FILE_NAME}.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    await store.aclose()


async def test_a_new_server_does_not_run_again_a_job_too_old_or_interrupted_after_a_resume(
    tmp_path: Path,
):
    from server.lsp import jobs

    store = JobStore(tmp_path / job_store.FILE_NAME)
    await store.add("old", REQUEST)
    await store.set_state("old", "running")
    await store._write(  # interrupted 20 minutes ago (15 + 5)
        "UPDATE jobs SET updated = updated - ? WHERE token = 'old'",
        (job_store.RESUME_WITHIN_S + 300,),
    )
    await store.add("twice", REQUEST)
    await store.restart("twice", jobs.RESUMED)  # a resumed run, interrupted again
    await store.add("mine", REQUEST)  # this server's own job, already running

    async def job_store_of() -> JobStore:
        return store

    ls = SimpleNamespace(job_store=job_store_of, running={"mine": object()})
    await jobs.resume(ls)  # type: ignore[arg-type]
    kept = {k.token: k for k in await store.jobs()}
    assert kept["old"].state == "ended" and "20 min ago; not run again" in kept["old"].message
    assert kept["twice"].state == "ended" and kept["twice"].message.startswith("interrupted twice")
    assert kept["mine"].state == "queued"
    await store.aclose()


async def test_a_closed_store_is_never_opened_again(tmp_path: Path):
    # An open connection's thread would keep the stopping server's process from exiting.
    store = JobStore(tmp_path / job_store.FILE_NAME)
    await store.add("t1", REQUEST)
    await store.aclose()
    await store.set_state("t1", "ended", "late write")  # logged, not raised, not reopened
    assert store._db is None and await store.jobs() == []
