"""The Celery application: one task, a stage of a job, routed to the queue of its stage.

Delivery is at least once and made safe to repeat (bot/workers/stages.py): the message is
acknowledged only when the stage is over (late ack), a worker process that dies mid-stage has
its message put back at once (reject on worker lost), and a whole worker host that dies has it
delivered again by Redis after the visibility timeout, sized to the longest stage.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.pipeline.config import Workers
from bot.workers import stages

log = logging.getLogger("bot.workers")

TASK = "cocci_bot.stage"
WORKER: stages.Worker | None = None   # set by `cocci-bot worker` before it starts Celery


def restore_interval(visibility_timeout: int) -> int:
    """How often a worker looks for messages whose holder died (a tenth of the timeout)."""
    return max(1, min(60, visibility_timeout // 10))


def make(workers: Workers) -> Any:
    from celery import Celery

    app = Celery("cocci_bot", broker=workers.broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,           # a worker takes one stage at a time per process
        task_ignore_result=True,                # results live in run.json and the job store
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={
            "visibility_timeout": workers.visibility_timeout,
            "unacked_restore_interval": restore_interval(workers.visibility_timeout),
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        task_default_queue="apply",
    )
    app.task(bind=True, name=TASK)(_stage_task)
    return app


def send(app: Any, job_id: int, stage: str) -> None:
    app.send_task(TASK, args=(job_id, stage), queue=stages.QUEUE_OF[stage])


def _stage_task(self: Any, job_id: int, stage: str) -> str:
    assert WORKER is not None, "the stage task runs inside `cocci-bot worker`"
    return stages.run_stage(WORKER, job_id, stage, send=lambda j, s: send(self.app, j, s))
