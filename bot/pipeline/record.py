"""The run record: one job's run.json, typed, read and written here only.

    runs/<job-id>/run.json    schema, job, tree, tag, base, repo, campaign, dedupe_key, options,
                              status, error, series_url, stages {name: the stage's result}

Every stage's result is a model of its own (ApplyResult.head, PostResult.series_id, ...) over
the fields every result has (status, why, error, exit, seconds, started); a key a model does
not name is kept as it was written (extra="allow"), so a newer stage field survives an older
reader. `write` replaces the file atomically (readers see the old or the new record, never
half of one) and stamps the schema version; `read` accepts every schema the bot wrote.

The run record holds what a job did; the job store (bot/pipeline/store.py) is the index of
jobs: their state, and where each one's run record lives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot import jsonfile
from bot.errors import UserError
from bot.status import SCHEMA, Status

RUN_JSON = "run.json"


class StageResult(BaseModel):
    """What every stage's result says."""

    model_config = ConfigDict(extra="allow")

    status: Status
    why: str | None = None
    error: str | None = None
    exit: int | None = None
    seconds: float | None = None
    started: float | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> Status:
        return Status.of(value)

    @property
    def final(self) -> bool:
        return self.status.final


class ApplyResult(StageResult):
    nothing_to_do: bool = False   # no use of the campaign's symbols, or upstream absorbed it
    head: str | None = None       # the series' last commit


class BuildResult(StageResult):
    kernel: str | None = None     # the patched kernel image


class PostResult(StageResult):
    series_url: str | None = None
    series_id: int | None = None
    version: int = 1
    cover_message_id: str | None = None
    previous_series_id: int | None = None
    range_diff: bool | None = None
    site_delta: dict[str, int] | None = None
    absorbed: list[int] | None = None
    policy: bool | None = None    # not posted by the tree's `post` setting (job: SKIPPED)


class DraftsResult(StageResult):
    drafts: str | None = None
    files: int | None = None
    cover_message_id: str | None = None
    in_reply_to: str | None = None
    send_email_dry_run: dict[str, Any] | None = None


class MailResult(StageResult):
    message_ids: list[str] | None = None
    to: list[str] | None = None


RESULTS: dict[str, type[StageResult]] = {
    "apply": ApplyResult, "build": BuildResult, "boot": StageResult, "post": PostResult,
    "drafts": DraftsResult, "mail": MailResult}


def result(stage: str, data: dict[str, Any] | StageResult) -> StageResult:
    """`data` as the typed result of `stage`."""
    if isinstance(data, StageResult):
        data = data.model_dump(exclude_none=True)
    return RESULTS.get(stage, StageResult).model_validate(data)


class Options(BaseModel):
    """The run's options that travel with the job (`cocci-bot run --no-build/--no-boot`)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    build: bool = True
    boot: bool = True


class RunRecord(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    schema_: int = Field(SCHEMA, alias="schema")
    job: int
    tree: str
    tag: str
    base: str
    repo: str
    campaign: str
    dedupe_key: str | None = None
    options: Options = Options()
    status: Status = Status.PENDING
    error: str | None = None
    series_url: str | None = None
    stages: dict[str, StageResult] = {}

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> Status:
        return Status.of(value)

    @field_validator("stages", mode="before")
    @classmethod
    def _stages(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {name: result(name, data) for name, data in value.items()}

    def stage(self, name: str) -> StageResult | None:
        return self.stages.get(name)

    @property
    def apply(self) -> ApplyResult | None:
        rec = self.stages.get("apply")
        return rec if isinstance(rec, ApplyResult) else None

    @property
    def post(self) -> PostResult | None:
        rec = self.stages.get("post")
        return rec if isinstance(rec, PostResult) else None

    def passed(self, name: str) -> bool:
        rec = self.stages.get(name)
        return rec is not None and rec.status is Status.PASS

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", by_alias=True, exclude={"stages"})
        data["stages"] = {name: rec.model_dump(mode="json", exclude_none=True)
                          for name, rec in self.stages.items()}
        return data


def path(run_dir: Path) -> Path:
    return run_dir / RUN_JSON


def read(run_dir: Path) -> RunRecord | None:
    """The run record in `run_dir`, None when the job has not started there."""
    try:
        text = path(run_dir).read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UserError(f"{path(run_dir)} cannot be read ({exc.strerror}): check the run "
                        "dir's permissions") from exc
    try:
        return RunRecord.model_validate_json(text)
    except ValidationError as exc:
        raise UserError(f"{path(run_dir)} is not a run record ({exc.error_count()} error(s), "
                        f"first: {exc.errors()[0]['msg']}): remove the job's run dir to run "
                        "it afresh") from exc


def write(run_dir: Path, record: RunRecord) -> None:
    """Replace run.json atomically, with the current schema version."""
    record.schema_ = SCHEMA
    jsonfile.write(path(run_dir), record.to_json())
