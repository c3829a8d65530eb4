"""A dead worker costs a minute, not the broker's visibility timeout.

A worker running a job's stage beats in the job store (`jobs.beat`) every
defaults.HEARTBEAT_INTERVAL seconds, from a thread, for as long as it holds the job's lock.
Every live worker looks every defaults.HEARTBEAT_RESCUE seconds for RUNNING jobs whose beat is
older than defaults.HEARTBEAT_STALE: their worker died (SIGKILL, a host lost) with the stage
unfinished. One of them claims the job (a conditional UPDATE: one winner) and queues the job's
next stage again, as the scheduler reads it from the run record. The dead worker's own message
comes back from Redis after the visibility timeout and finds its stage recorded: nothing runs
twice (bot/workers/stages.py), and nothing waits for it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bot import defaults
from bot.errors import CocciBotError
from bot.pipeline import record, scheduler
from bot.pipeline.store import Store

log = logging.getLogger("bot.workers")


@contextlib.contextmanager
def beating(store: Store, job_id: int, every: float = defaults.HEARTBEAT_INTERVAL
            ) -> Iterator[None]:
    """Beat for `job_id` while the block runs; the beat is cleared when it ends."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(CocciBotError):   # a store blip: the next beat tries again
                store.beat(job_id, time.time())
            stop.wait(every)

    thread = threading.Thread(target=loop, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        store.beat(job_id, None)


def rescue(store: Store, send: Callable[[int, str], None], *,
           stale: float = defaults.HEARTBEAT_STALE, now: float | None = None) -> list[str]:
    """Queue again the next stage of every job whose worker stopped beating; what was done."""
    now = time.time() if now is None else now
    done = []
    for job in store.stale(now - stale):
        if not store.claim_stale(job):
            continue   # another live worker took it
        stage = scheduler.next_stage(record.read(Path(job.run_dir))) or "drafts"
        log.warning("worker: job %d: its worker stopped beating %.0f s ago; %s queued again",
                    job.id, now - (job.beat or now), stage)
        send(job.id, stage)
        done.append(f"job {job.id} {stage}")
    return done


def start_rescuer(store_location: str | Path, send: Callable[[int, str], None],
                  every: float = defaults.HEARTBEAT_RESCUE) -> threading.Event:
    """rescue() every `every` seconds in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                rescue(Store(store_location), send)
            except CocciBotError as exc:   # the store or broker is down: said, tried again
                log.warning("worker: looking for dead workers' jobs failed: %s", exc)

    threading.Thread(target=loop, name="rescuer", daemon=True).start()
    return stop
