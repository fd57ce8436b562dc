"""``KfpLauncher``: runs on a Kubeflow Pipelines API server, through the real ``kfp.Client``.

Launch submits a package compiled once per process (never a recompilation per request) into an
experiment resolved once; caching is off unless the run's ``enable_caching`` parameter is true. A
poll asks for every tracked run with ``list_runs`` filtered ``IN`` on run ids, 200 ids a page, and
reports only what changed: a new state, new step progress, or an end (with the failing steps and
the run's error message from its details, or the output artifacts as presigned links).
"""

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import kfp_server_api

from bot.launchers import base
from bot.launchers.base import Launched, LaunchError
from bot.launchers.kfp_client import KfpConnection, KfpError, response_json
from bot.launchers.kfp_runs import run_link, run_state, run_status
from bot.outputs import ArtifactStore
from bot.render import render_text
from bot.runs import Output, Run, RunState, RunStatus
from bot.settings import Settings
from bot.store import ActiveRun
from pipelines.packages import package_path

log = logging.getLogger(__name__)

PAGE_SIZE = 200
"""Run ids per ``list_runs`` request: the server's maximum page size (a ~11 KB request line)."""
MIN_PAGE_SIZE = 25
"""Smallest page, after a proxy refused long request lines (HTTP 414/431) and pages were halved."""
LOOKUPS_PER_CYCLE = 20
"""Runs missing from the lists that are looked up one by one per cycle (deleted or moved runs)."""
CACHING_PARAM = "enable_caching"


class KfpLauncher:
    name = "kfp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.poll_interval = settings.poll_interval
        self.connection = KfpConnection(settings)
        self.artifacts = (
            ArtifactStore(settings.s3_endpoint_url, settings.presign_expiry_s, settings.kfp_request_timeout)
            if settings.kfp_pipeline_root else None
        )  # fmt: skip
        self.page_size = PAGE_SIZE
        self._experiment_id: str | None = None
        self._experiment_lock = asyncio.Lock()
        self._specs: dict[tuple[str, bool], dict[str, Any]] = {}
        self._spec_lock = asyncio.Lock()
        self._unlaunched: dict[str, float] = {}
        """Charon run id → when it was first seen queued without a KFP id."""
        self._seen: dict[str, int] = {}
        """Charon run id → fingerprint of the steps last seen (state changes are read from the store)."""

    def run_url(self, kfp_run_id: str) -> str:
        return run_link(self.settings, kfp_run_id)

    def subscribe(self, callback: Callable[[], None]) -> None:
        """KFP does not push changes; the poller asks."""

    # -- launch ---------------------------------------------------------------------------------

    async def launch(self, run: Run, arguments: dict[str, object]) -> Launched:
        caching = run.params.get(CACHING_PARAM) is True
        try:
            spec = await self.pipeline_spec(run.pipeline, caching)
            wire = await self._create_run(run, spec, arguments)
        except KfpError as exc:
            raise LaunchError(render_text("kfp_error", error=exc)) from None
        return Launched(wire["run_id"], self.run_url(wire["run_id"]), run_state(wire))

    async def _create_run(
        self, run: Run, spec: dict[str, Any], arguments: dict[str, object]
    ) -> dict[str, Any]:
        try:
            return await self._submit(run, spec, arguments)
        except KfpError as exc:
            if exc.status != 404:
                raise
        log.warning("KFP experiment %s is gone; resolving it again", self._experiment_id)
        self._experiment_id = None
        return await self._submit(run, spec, arguments)

    async def _submit(self, run: Run, spec: dict[str, Any], arguments: dict[str, object]) -> dict[str, Any]:
        body = kfp_server_api.V2beta1Run(
            experiment_id=await self.experiment_id(), display_name=f"{run.pipeline} {run.id}",
            description=f"Started by Charon (run {run.id}, via {run.surface}).", pipeline_spec=spec,
            runtime_config=self.runtime_config(arguments),
        )  # fmt: skip
        return await self.connection.call(lambda c: response_json(c.runs.run_service_create_run(
            run=body, _preload_content=False)))  # fmt: skip

    def runtime_config(self, arguments: dict[str, object]) -> kfp_server_api.V2beta1RuntimeConfig:
        return kfp_server_api.V2beta1RuntimeConfig(parameters=arguments,
                                                   pipeline_root=self.settings.kfp_pipeline_root)  # fmt: skip

    async def experiment_id(self) -> str:
        """``KFP_EXPERIMENT``'s id, looked up (or created) once per process."""
        async with self._experiment_lock:
            if self._experiment_id is None:
                self._experiment_id = await self.connection.call(self._resolve_experiment)
            return self._experiment_id

    def _resolve_experiment(self, client: Any) -> str:
        name, namespace = self.settings.kfp_experiment, self.connection.namespace
        try:
            return str(client.get_experiment(experiment_name=name, namespace=namespace).experiment_id)
        except ValueError:  # no experiment of that name yet
            pass
        experiment = kfp_server_api.V2beta1Experiment(display_name=name, namespace=namespace)
        try:
            created = client.experiments.experiment_service_create_experiment(experiment=experiment)
        except kfp_server_api.ApiException:  # another Charon process created it first
            return str(client.get_experiment(experiment_name=name, namespace=namespace).experiment_id)
        return str(created.experiment_id)

    async def pipeline_spec(self, pipeline: str, caching: bool) -> dict[str, Any]:
        """The compiled pipeline spec to submit, read once per process and caching setting."""
        async with self._spec_lock:
            key = (pipeline, caching)
            if key not in self._specs:
                self._specs[key] = await self.connection.call(lambda c: self._load_spec(c, pipeline, caching))
            return self._specs[key]

    def _load_spec(self, client: Any, pipeline: str, caching: bool) -> dict[str, Any]:
        path = package_path(pipeline, self.settings.data_path / "packages")
        # kfp's run_pipeline() would build the same request but also print a link on stdout.
        config = client._create_job_config(
            params={}, pipeline_package_path=str(path), pipeline_id=None, version_id=None,
            enable_caching=caching, cache_key=None, pipeline_root=None,
        )  # fmt: skip
        return dict(config.pipeline_spec)

    # -- poll -----------------------------------------------------------------------------------

    async def statuses(self, runs: Sequence[ActiveRun]) -> dict[str, RunStatus]:
        """Pages of tracked runs are asked one after another, each turned into statuses before the next,
        so a poll uses one thread and holds one page of KFP's JSON at a time."""
        result = {r.id: RunStatus(RunState.CANCELED) for r in runs  # canceled before it launched
                  if r.external_id is None and r.state is RunState.CANCELING}  # fmt: skip
        missing: list[ActiveRun] = []
        for number, page in enumerate(_pages(runs, self.page_size)):
            try:
                found = await self._list_page([r.external_id or "" for r in page])
            except KfpError as exc:
                if number == 0:
                    raise  # nothing read: the poller backs off
                log.warning("KFP runs from page %d on are unread this cycle (%s); asking again next cycle",
                            number + 1, exc)  # fmt: skip
                break
            for run in page:
                wire = found.pop(run.external_id or "", None)
                if wire is None:
                    missing.append(run)
                else:
                    await self._note(run, wire, result)
        for run in missing[:LOOKUPS_PER_CYCLE]:
            wire = await self._lookup(run.external_id or "")
            if wire is not None:
                await self._note(run, wire, result)
        for run in self._orphans(runs)[:LOOKUPS_PER_CYCLE]:
            if (adopted := await self._adopt(run)) is not None:
                result[run.id] = adopted
        if len(self._seen) > 2 * len(runs):  # runs that ended through another process: forget them
            active = {r.id for r in runs}
            self._seen = {k: v for k, v in self._seen.items() if k in active}
        return result

    async def _note(self, run: ActiveRun, wire: dict[str, Any], result: dict[str, RunStatus]) -> None:
        """Add the run's status to ``result`` if it changed: a new state, different steps, or an end.

        Steps are compared with what this process saw last; a run first seen in its stored state is
        not written again (after a restart that would rewrite every tracked run at once).
        """
        status = await self._status(run, wire)
        if status.state.terminal:
            self._seen.pop(run.id, None)
            result[run.id] = status
            return
        seen, fingerprint = self._seen.get(run.id), hash(status.tasks)
        self._seen[run.id] = fingerprint
        if status.state is not run.state or seen not in (None, fingerprint):
            result[run.id] = status

    def _orphans(self, runs: Sequence[ActiveRun]) -> list[ActiveRun]:
        """Queued runs that have had no KFP id for ``LAUNCH_GRACE_S`` (launches in flight are younger)."""
        now = time.monotonic()
        unlaunched = {r.id: r for r in runs if r.external_id is None and r.state is RunState.QUEUED}
        self._unlaunched = {i: self._unlaunched.get(i, now) for i in unlaunched}
        return [unlaunched[i] for i, since in self._unlaunched.items() if now - since >= base.LAUNCH_GRACE_S]

    async def _adopt(self, run: ActiveRun) -> RunStatus | None:
        """Find the KFP run a crashed process created (its name holds Charon's id), or fail it clearly."""
        query = json.dumps({"predicates": [{"operation": "IS_SUBSTRING", "key": "display_name",
                                            "string_value": run.id}]})  # fmt: skip
        try:
            body = await self.connection.call(lambda c: response_json(c.runs.run_service_list_runs(
                namespace=self.connection.namespace, page_size=5, filter=query,
                _preload_content=False), object_hook=_without_spec))  # fmt: skip
        except KfpError as exc:
            log.warning("looking for the KFP run of %s failed: %s", run.id, exc)
            return None
        self._unlaunched.pop(run.id, None)
        found = [w for w in body.get("runs") or [] if str(w.get("display_name", "")).endswith(f" {run.id}")]
        if not found:
            return RunStatus(RunState.FAILED, error=render_text("never_launched", on_kfp=True))
        kfp_id = str(found[0]["run_id"])
        status = run_status(found[0], [])
        return dataclasses.replace(status, launched_as=(kfp_id, self.run_url(kfp_id)))

    async def _list_page(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """These runs by KFP run id (a run KFP does not know is left out)."""
        query = json.dumps({"predicates": [{"operation": "IN", "key": "run_id", "string_values": {"values": ids}}]},
                           separators=(",", ":"))  # fmt: skip
        try:
            body = await self.connection.call(lambda c: response_json(c.runs.run_service_list_runs(
                namespace=self.connection.namespace, page_size=len(ids), filter=query,
                _preload_content=False), object_hook=_without_spec))  # fmt: skip
        except KfpError as exc:
            if exc.status in (414, 431):
                self.page_size = max(MIN_PAGE_SIZE, self.page_size // 2)
                log.warning("KFP refused a long request line; pages now hold %d run ids", self.page_size)
            raise
        return {str(w["run_id"]): w for w in body.get("runs") or []}

    async def _lookup(self, kfp_id: str) -> dict[str, Any] | None:
        """One run by id; a run deleted in Kubeflow ends failed (else it would be polled forever)."""
        try:
            return await self.get_run(kfp_id)
        except KfpError as exc:
            if exc.status == 404:
                message = render_text("kfp_run_gone", kfp_run_id=kfp_id)
                return {"run_id": kfp_id, "state": "FAILED", "error": {"message": message}, "run_details": {}}
            log.warning("looking up KFP run %s failed: %s", kfp_id, exc)
            return None

    async def get_run(self, kfp_id: str) -> dict[str, Any]:
        return await self.connection.call(lambda c: response_json(c.runs.run_service_get_run(
            run_id=kfp_id, _preload_content=False)))  # fmt: skip

    async def _status(self, run: ActiveRun, wire: dict[str, Any]) -> RunStatus:
        state = run_state(wire)
        if state is RunState.FAILED and "run_details" not in wire:
            try:  # list pages may leave out the task details that name the failing step
                wire = await self.get_run(str(wire["run_id"]))
            except KfpError as exc:
                log.warning("details of failed KFP run %s unavailable: %s", wire["run_id"], exc)
        outputs: list[Output] = []
        if state is RunState.SUCCEEDED and self.artifacts is not None:
            outputs = await self._outputs(run, wire)
        return run_status(wire, outputs)

    async def _outputs(self, run: ActiveRun, wire: dict[str, Any]) -> list[Output]:
        assert self.artifacts is not None and self.settings.kfp_pipeline_root is not None
        try:
            spec = wire.get("pipeline_spec") or {}
            info = (spec.get("pipeline_spec") or spec).get("pipelineInfo") or {}
            prefix = f"{self.settings.kfp_pipeline_root.rstrip('/')}/{info.get('name', '')}/{wire['run_id']}"
            return await self.artifacts.run_outputs(prefix)
        except Exception:  # the run succeeded all the same; it is reported without links
            log.warning("listing the outputs of run %s failed", run.id, exc_info=True)
            return []

    # -- cancel, retry --------------------------------------------------------------------------

    async def cancel(self, run: Run) -> None:
        if run.external_id is None:
            return  # not launched: the next poll records it canceled
        kfp_id = run.external_id
        try:
            await self.connection.call(lambda c: c.runs.run_service_terminate_run(run_id=kfp_id))
        except KfpError as exc:
            if exc.status in (400, 404, 409):  # it has ended already (or is gone): the poller reports that
                log.info("KFP did not terminate run %s: %s", kfp_id, exc)
                return
            raise LaunchError(render_text("kfp_error", error=exc)) from None

    async def retry(self, run: Run) -> Launched | None:
        """KFP's own retry (failed steps run again in the same run), where the server supports it."""
        if run.external_id is None:
            return None
        kfp_id = run.external_id
        try:
            await self.connection.call(lambda c: c.runs.run_service_retry_run(run_id=kfp_id))
        except KfpError as exc:
            log.info("KFP cannot retry run %s in place (%s); a new run starts instead", kfp_id, exc)
            return None
        self._seen.pop(run.id, None)
        return Launched(kfp_id, self.run_url(kfp_id), RunState.PENDING)

    async def close(self) -> None:
        await self.connection.close()


def _pages(runs: Sequence[ActiveRun], size: int) -> Iterator[list[ActiveRun]]:
    """The launched runs, ``size`` at a time."""
    page: list[ActiveRun] = []
    for run in runs:
        if run.external_id:
            page.append(run)
            if len(page) == size:
                yield page
                page = []
    if page:
        yield page


def _without_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """JSON parsing hook: a pipeline spec is cut to its name as soon as it is parsed, so a page of 200
    runs never holds 200 specs (real ones run to tens of KB each)."""
    if "root" in obj and "pipelineInfo" in obj:
        return {"pipelineInfo": obj["pipelineInfo"]}
    return obj
