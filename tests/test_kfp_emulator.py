"""Tests of the loopback KFP emulator, driven by the real kfp.Client (kfp 2.17.3)."""

import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kfp
import kfp_server_api
import pytest
import urllib3
import yaml
from kfp import compiler, dsl

from tests.kfp_emulator import (
    EPOCH,
    KfpEmulator,
    running_emulator,
    validate_cron,
)

TOKEN = "test-token"
NS = "kubeflow-user"
ROOT = Path(__file__).resolve().parent.parent


@dsl.component(install_kfp_package=False, base_image="python:3.11")
def add(a: int, b: int) -> int:
    return a + b


@dsl.component(install_kfp_package=False, base_image="python:3.11")
def echo(msg: str, flag: bool) -> str:
    return msg if flag else ""


@dsl.pipeline(name="tiny")
def tiny(n: int, msg: str, flag: bool = True, ratio: float = 0.5):
    first = add(a=n, b=2)
    second = echo(msg=msg, flag=flag)
    second.after(first)


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _isolated_kfp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read (or write) a real ~/.config/kfp/context.json; ignore KF_PIPELINES_* env vars."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(
        kfp.client.client.Client, "_LOCAL_KFP_CONTEXT", str(tmp_path / "kfp" / "context.json")
    )
    for var in ("KF_PIPELINES_ENDPOINT", "KF_PIPELINES_UI_ENDPOINT", "KF_PIPELINES_OVERRIDE_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pkg") / "tiny.yaml"
    compiler.Compiler().compile(tiny, str(path))
    return path


@pytest.fixture(scope="module")
def platform_package(package: Path) -> Path:
    """The same pipeline with a second (platform spec) YAML document, as kfp-kubernetes would write."""
    path = package.with_name("tiny_platform.yaml")
    spec = yaml.safe_load(package.read_text())
    platform: dict[str, Any] = {
        "platforms": {"kubernetes": {"deploymentSpec": {"executors": {"exec-add": {}}}}}
    }
    path.write_text(yaml.safe_dump_all([spec, platform]))
    return path


@pytest.fixture
def emu() -> Iterator[KfpEmulator]:
    with running_emulator(token=TOKEN) as emulator:
        yield emulator


def make_client(emulator: KfpEmulator, token: str | None = TOKEN, namespace: str = NS) -> kfp.Client:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return kfp.Client(host=emulator.url, namespace=namespace, existing_token=token)


@pytest.fixture
def client(emu: KfpEmulator) -> kfp.Client:
    return make_client(emu)


def submit(client: kfp.Client, package: Path, name: str = "job", **params: Any) -> Any:
    params = params or {"n": 3, "msg": "hi"}
    return client.run_pipeline(
        client.create_experiment("charon").experiment_id,
        name,
        pipeline_package_path=str(package),
        params=params,
    )


def http(
    emulator: KfpEmulator, method: str, path: str, body: Any = None, token: str | None = TOKEN
) -> tuple[int, Any]:
    """Raw HTTP call; returns (status, parsed JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(emulator.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def in_filter(key: str, values: list[str], spelling: str = "string_values", op: Any = "IN") -> str:
    return json.dumps({"predicates": [{"operation": op, "key": key, spelling: {"values": values}}]})


def eq_filter(key: str, value: str, op: Any = "EQUALS") -> str:
    return json.dumps({"predicates": [{"operation": op, "key": key, "string_value": value}]})


def rpc_error(exc: kfp_server_api.ApiException) -> dict[str, Any]:
    body = json.loads(exc.body)
    assert set(body) == {"code", "message", "details"}
    assert body["details"] == []
    return body


_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
_PRIMITIVES: dict[str, type] = {"str": str, "int": int, "bool": bool, "float": float}


def assert_wire_shape(data: Any, type_name: str, where: str = "$") -> None:
    """Check a JSON value against the kfp_server_api (swagger 2.17) model: no unknown keys, right types,
    RFC3339 timestamps, int64 as strings, zero values omitted."""
    if type_name == "object":
        return
    if type_name.startswith("list["):
        assert isinstance(data, list), where
        for i, item in enumerate(data):
            assert_wire_shape(item, type_name[5:-1], f"{where}[{i}]")
        return
    if type_name.startswith("dict("):
        assert isinstance(data, dict), where
        for key, item in data.items():
            assert_wire_shape(item, type_name.split(",", 1)[1][:-1].strip(), f"{where}.{key}")
        return
    if type_name in _PRIMITIVES:
        assert isinstance(data, _PRIMITIVES[type_name]), f"{where}: {data!r} is not {type_name}"
        assert not (type_name == "int" and isinstance(data, bool)), where
        return
    if type_name == "datetime":
        assert isinstance(data, str) and _RFC3339.match(data), f"{where}: {data!r} is not RFC3339"
        return
    model = getattr(kfp_server_api.models, type_name)
    if not model.openapi_types:  # an enum
        assert data in model.allowable_values, f"{where}: {data!r} not in {model.allowable_values}"
        return
    assert isinstance(data, dict), where
    by_wire = {wire: attr for attr, wire in model.attribute_map.items()}
    unknown = set(data) - set(by_wire)
    assert not unknown, f"{where}: keys {unknown} are not in {type_name}"
    for key, value in data.items():
        zero = value is None or value is False or (not isinstance(value, bool) and value in ("", 0, [], {}))
        assert not zero, f"{where}.{key} is a zero value {value!r}; the server omits those"
        assert_wire_shape(value, model.openapi_types[by_wire[key]], f"{where}.{key}")


def raw(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a generated kfp_server_api method and return the parsed JSON body it received."""
    response = call(*args, _preload_content=False, **kwargs)
    return json.loads(response.data)


# ---------------------------------------------------------------------------------------------- basics


def test_healthz(emu: KfpEmulator, client: kfp.Client) -> None:
    health = client.get_kfp_healthz()
    assert health.pipeline_store == "database"
    assert health.multi_user is None  # false is omitted on the wire
    assert http(emu, "GET", "/apis/v2beta1/healthz") == (200, {"pipeline_store": "database"})


def test_multi_user_healthz_and_namespace_required(package: Path) -> None:
    with running_emulator(multi_user=True) as emu:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            kfp.Client(host=emu.url)  # no namespace: the constructor probes healthz
        assert [r["path"] for r in emu.requests] == ["/apis/v2beta1/healthz"]
        client = make_client(emu, token=None)
        assert client.get_kfp_healthz().multi_user is True
        exp = client.create_experiment("team", namespace=NS)
        assert exp.namespace == NS
        other = client.create_experiment("team", namespace="other-ns")
        assert other.experiment_id != exp.experiment_id
        run = submit(client, package)
        assert client.list_runs(namespace=NS).total_size == 1
        assert client.list_runs(namespace="other-ns").runs is None
        assert client.list_runs(experiment_id=run.experiment_id).runs[0].run_id == run.run_id
        status, body = http(emu, "GET", "/apis/v2beta1/runs", token=None)
        assert status == 400 and body["code"] == 3 and "namespace" in body["message"]
        status, body = http(emu, "POST", "/apis/v2beta1/experiments", {"display_name": "x"}, token=None)
        assert status == 400 and body["code"] == 3
        spec = yaml.safe_load(package.read_text())
        no_exp = {
            "display_name": "r",
            "pipeline_spec": spec,
            "runtime_config": {"parameters": {"n": 1, "msg": "x"}},
        }
        status, body = http(emu, "POST", "/apis/v2beta1/runs", no_exp, token=None)
        assert status == 400 and "experiment_id" in body["message"]


def test_create_experiment_is_get_or_create(emu: KfpEmulator, client: kfp.Client) -> None:
    first = client.create_experiment("charon", description="bot runs")
    again = client.create_experiment("charon")
    assert first.experiment_id == again.experiment_id
    assert first.description == "bot runs"
    assert first.last_run_created_at.year == 1970
    calls = [(r["method"], r["path"]) for r in emu.requests]
    assert calls == [
        ("GET", "/apis/v2beta1/experiments"),
        ("POST", "/apis/v2beta1/experiments"),
        ("GET", "/apis/v2beta1/experiments"),
    ]
    lookup = json.loads(emu.requests[0]["query"]["filter"])
    assert lookup["predicates"][0] == {"operation": 1, "key": "display_name", "stringValue": "charon"}
    default = client.get_experiment(experiment_name="Default")
    assert default.experiment_id == emu.default_experiment_id
    assert client.get_experiment(experiment_id=first.experiment_id).display_name == "charon"
    status, body = http(emu, "POST", "/apis/v2beta1/experiments", {"display_name": "charon"})
    assert status == 409 and body["code"] == 6


def test_run_pipeline_with_compiled_package(emu: KfpEmulator, client: kfp.Client, package: Path) -> None:
    run = submit(client, package, n=3, msg="hi", flag=False)
    assert run.state == "PENDING"
    assert run.finished_at.year == 1970
    assert run.display_name == "job"
    assert run.runtime_config.parameters == {"n": 3, "msg": "hi", "flag": False}
    assert [t.display_name for t in run.run_details.task_details] == ["add", "echo"]
    assert {t.state for t in run.run_details.task_details} == {"PENDING"}
    assert [h.state for h in run.state_history] == ["PENDING"]
    wire = raw(client._run_api.run_service_get_run, run.run_id)
    assert wire["runtime_config"]["parameters"]["n"] == 3 and isinstance(
        wire["runtime_config"]["parameters"]["n"], int
    )
    assert wire["finished_at"] == EPOCH
    assert wire["pipeline_spec"]["pipelineInfo"]["name"] == "tiny"
    assert "error" not in wire and "description" not in wire
    assert ("POST", "/apis/v2beta1/runs") in [(r["method"], r["path"]) for r in emu.requests]


def test_get_run_follows_moves(emu: KfpEmulator, client: kfp.Client, package: Path) -> None:
    run = submit(client, package)
    emu.move_run(run.run_id, "RUNNING")
    got = client.get_run(run.run_id)
    assert got.state == "RUNNING"
    assert [t.state for t in got.run_details.task_details] == ["RUNNING", "PENDING"]
    emu.move_run(run.run_id, "RUNNING", current_task="echo")
    assert [t.state for t in client.get_run(run.run_id).run_details.task_details] == ["SUCCEEDED", "RUNNING"]
    emu.move_run(run.run_id, "SUCCEEDED")
    done = client.get_run(run.run_id)
    assert done.state == "SUCCEEDED"
    assert done.finished_at.year > 1970
    assert [h.state for h in done.state_history] == ["PENDING", "RUNNING", "SUCCEEDED"]
    assert all(t.state == "SUCCEEDED" and t.end_time.year > 1970 for t in done.run_details.task_details)
    with pytest.raises(kfp_server_api.ApiException) as missing:
        client.get_run("no-such-run")
    assert missing.value.status == 404 and rpc_error(missing.value)["code"] == 5


def test_failed_run_has_error_and_failed_task(emu: KfpEmulator, client: kfp.Client, package: Path) -> None:
    run = submit(client, package)
    emu.move_run(run.run_id, "RUNNING")
    emu.move_run(run.run_id, "FAILED", message="OOMKilled", failed_task="echo")
    got = client.get_run(run.run_id)
    assert got.state == "FAILED"
    assert got.error.message == "OOMKilled" and got.error.code
    tasks = {t.display_name: t for t in got.run_details.task_details}
    assert tasks["add"].state == "SUCCEEDED"
    assert tasks["echo"].state == "FAILED" and tasks["echo"].error.message == "OOMKilled"
    assert got.state_history[-1].state == "FAILED" and got.state_history[-1].error.message == "OOMKilled"


# ---------------------------------------------------------------------------------------------- listing


def test_list_runs_in_filter_both_spellings_and_op_forms(client: kfp.Client, emu: KfpEmulator) -> None:
    ids = emu.add_runs(30, state="RUNNING")
    wanted = ids[3:8]
    for spelling in ("string_values", "stringValues"):
        for op in ("IN", 8):
            result = client.list_runs(filter=in_filter("run_id", wanted, spelling, op), page_size=200)
            assert sorted(r.run_id for r in result.runs) == sorted(wanted)
            assert result.total_size == 5 and result.next_page_token is None
    only_missing = client.list_runs(filter=in_filter("run_id", ["nope"]))
    assert only_missing.runs is None and only_missing.total_size is None


def test_list_runs_paging_and_sort(client: kfp.Client, emu: KfpEmulator) -> None:
    emu.add_runs(7, state="RUNNING", display_name="batch")
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = client.list_runs(page_token=token, page_size=3, sort_by="display_name desc")
        assert page.total_size == 7
        seen += [r.display_name for r in page.runs]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 3
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 7
    ascending = client.list_runs(page_size=7, sort_by="display_name")
    assert [r.display_name for r in ascending.runs] == sorted(seen)
    default_order = client.list_runs(page_size=7)  # created_at ascending
    assert [r.display_name for r in default_order.runs] == [f"batch-{i}" for i in range(7)]
    with pytest.raises(kfp_server_api.ApiException) as bad_sort:
        client.list_runs(sort_by="pipeline_id")
    assert bad_sort.value.status == 400
    with pytest.raises(kfp_server_api.ApiException) as bad_token:
        client.list_runs(page_token="garbage!")
    assert bad_token.value.status == 400


def test_list_runs_page_size_default_and_cap(emu: KfpEmulator) -> None:
    emu.add_runs(250, state="PENDING")
    status, body = http(emu, "GET", "/apis/v2beta1/runs")
    assert status == 200 and len(body["runs"]) == 20 and body["total_size"] == 250
    status, body = http(emu, "GET", "/apis/v2beta1/runs?page_size=1000")
    assert len(body["runs"]) == 200 and body["next_page_token"]
    status, rest = http(emu, "GET", "/apis/v2beta1/runs?page_size=1000&page_token=" + body["next_page_token"])
    assert len(rest["runs"]) == 50 and "next_page_token" not in rest


def test_empty_list_is_empty_object(emu: KfpEmulator, client: kfp.Client) -> None:
    assert http(emu, "GET", "/apis/v2beta1/runs") == (200, {})
    assert http(emu, "GET", "/apis/v2beta1/recurringruns") == (200, {})
    empty = client.list_runs()
    assert empty.runs is None and empty.total_size is None and empty.next_page_token is None


def test_list_runs_state_and_other_filters(client: kfp.Client, emu: KfpEmulator) -> None:
    running = emu.add_runs(3, state="RUNNING")
    failed = emu.add_runs(2, state="FAILED")
    emu.add_runs(4, state="SUCCEEDED")
    by_eq = client.list_runs(filter=eq_filter("state", "RUNNING"), page_size=50)
    assert sorted(r.run_id for r in by_eq.runs) == sorted(running)
    by_in = client.list_runs(filter=in_filter("state", ["RUNNING", "FAILED"]), page_size=50)
    assert sorted(r.run_id for r in by_in.runs) == sorted(running + failed)
    not_eq = client.list_runs(filter=eq_filter("state", "SUCCEEDED", op="NOT_EQUALS"), page_size=50)
    assert not_eq.total_size == 5
    substring = client.list_runs(filter=eq_filter("display_name", "bulk-run-1", op=9), page_size=50)
    assert {r.display_name for r in substring.runs} == {"bulk-run-1"}
    since = json.dumps(
        {"predicates": [{"operation": "GREATER_THAN_EQUALS", "key": "created_at", "timestamp_value": EPOCH}]}
    )
    assert client.list_runs(filter=since, page_size=50).total_size == 9
    other = client.create_experiment("other")
    assert client.list_runs(experiment_id=other.experiment_id).runs is None
    with pytest.raises(kfp_server_api.ApiException) as unknown_key:
        client.list_runs(filter=eq_filter("pipeline_id", "x"))
    assert unknown_key.value.status == 400
    assert "unrecognized field" in rpc_error(unknown_key.value)["message"]


def test_in_filter_of_200_ids_over_10000_runs_is_fast(emu: KfpEmulator, client: kfp.Client) -> None:
    started = time.perf_counter()
    ids = emu.add_runs(10_000, state="RUNNING")
    assert time.perf_counter() - started < 5
    emu.move_run(ids[5001], "SUCCEEDED")
    wanted = ids[5000:5200]
    query = urllib.parse.urlencode({"filter": in_filter("run_id", wanted), "page_size": 200})
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        status, body = http(emu, "GET", f"/apis/v2beta1/runs?{query}")
        timings.append(time.perf_counter() - started)
    assert status == 200 and body["total_size"] == 200 and "next_page_token" not in body
    assert {r["run_id"] for r in body["runs"]} == set(wanted)
    assert min(timings) < 0.25, timings
    result = client.list_runs(filter=in_filter("run_id", wanted), page_size=200)
    assert len(result.runs) == 200
    assert {r.run_id: r.state for r in result.runs}[ids[5001]] == "SUCCEEDED"


# ---------------------------------------------------------------------------------------------- run actions


def test_terminate_goes_canceling_then_canceled(emu: KfpEmulator, client: kfp.Client, package: Path) -> None:
    run = submit(client, package)
    emu.move_run(run.run_id, "RUNNING")
    assert client.terminate_run(run.run_id) == {}
    first = client.get_run(run.run_id)
    assert first.state == "CANCELING" and first.finished_at.year == 1970
    second = client.get_run(run.run_id)
    assert second.state == "CANCELED" and second.finished_at.year > 1970
    assert [h.state for h in second.state_history] == ["PENDING", "RUNNING", "CANCELING", "CANCELED"]
    assert [t.state for t in second.run_details.task_details] == ["CANCELED", "SKIPPED"]
    with pytest.raises(kfp_server_api.ApiException) as again:
        client.terminate_run(run.run_id)
    assert again.value.status == 400 and rpc_error(again.value)["code"] == 9


def test_terminate_observed_through_list(emu: KfpEmulator, client: kfp.Client, package: Path) -> None:
    run = submit(client, package)
    client.terminate_run(run.run_id)
    assert client.list_runs(filter=in_filter("run_id", [run.run_id])).runs[0].state == "CANCELING"
    assert client.list_runs(filter=in_filter("run_id", [run.run_id])).runs[0].state == "CANCELED"


def test_retry(emu: KfpEmulator, client: kfp.Client, package: Path) -> None:
    run = submit(client, package)
    with pytest.raises(kfp_server_api.ApiException) as not_failed:
        client.runs.run_service_retry_run(run.run_id)
    assert not_failed.value.status == 400 and rpc_error(not_failed.value)["code"] == 9
    emu.move_run(run.run_id, "FAILED", failed_task="echo")
    assert client.runs.run_service_retry_run(run.run_id) == {}
    retried = client.get_run(run.run_id)
    assert retried.state == "RUNNING" and retried.error is None and retried.finished_at.year == 1970
    assert [h.state for h in retried.state_history] == ["PENDING", "FAILED", "PENDING", "RUNNING"]
    assert [t.state for t in retried.run_details.task_details] == ["SUCCEEDED", "RUNNING"]
    emu.move_run(run.run_id, "CANCELED")
    client.runs.run_service_retry_run(run.run_id)
    assert client.get_run(run.run_id).state == "RUNNING"


def test_archive_and_delete(emu: KfpEmulator, client: kfp.Client, package: Path) -> None:
    run = submit(client, package)
    client.archive_run(run.run_id)
    assert client.get_run(run.run_id).storage_state == "ARCHIVED"
    archived = client.list_runs(filter=eq_filter("storage_state", "ARCHIVED"))
    assert [r.run_id for r in archived.runs] == [run.run_id]
    client.unarchive_run(run.run_id)
    assert client.get_run(run.run_id).storage_state == "AVAILABLE"
    client.delete_run(run.run_id)
    with pytest.raises(kfp_server_api.ApiException) as gone:
        client.get_run(run.run_id)
    assert gone.value.status == 404


# ---------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n": 3, "msg": "hi", "extra": 1}, "parameter(s) provided are not required by pipeline"),
        ({"n": None, "msg": "hi"}, "is null"),
        ({"msg": "hi"}, "is not optional"),
        ({"n": "3", "msg": "hi"}, "requires type integer"),
        ({"n": 2.5, "msg": "hi"}, "requires type integer"),
        ({"n": 3, "msg": 7}, "requires type string"),
        ({"n": 3, "msg": "hi", "flag": "true"}, "requires type bool"),
        ({"n": 3, "msg": "hi", "ratio": "0.1"}, "requires type double"),
    ],
)
def test_parameter_validation(
    client: kfp.Client, package: Path, emu: KfpEmulator, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(kfp_server_api.ApiException) as rejected:
        submit(client, package, **params)
    assert rejected.value.status == 400
    body = rpc_error(rejected.value)
    assert body["code"] == 3 and message in body["message"]
    assert emu.run_ids == []


def test_valid_parameter_types_accepted(client: kfp.Client, package: Path) -> None:
    run = submit(client, package, n=4.0, msg="", flag=True, ratio=1)
    assert run.runtime_config.parameters == {"n": 4.0, "msg": "", "flag": True, "ratio": 1}


def test_platform_spec_package(client: kfp.Client, platform_package: Path, emu: KfpEmulator) -> None:
    run = submit(client, platform_package)
    wire = emu.get_run(run.run_id)
    assert set(wire["pipeline_spec"]) == {"pipeline_spec", "platform_spec"}
    assert [t["display_name"] for t in wire["run_details"]["task_details"]] == ["add", "echo"]
    with pytest.raises(kfp_server_api.ApiException) as extra:
        submit(client, platform_package, n=1, msg="x", bogus=True)
    assert "not required by pipeline" in rpc_error(extra.value)["message"]


def test_unknown_request_fields_rejected(emu: KfpEmulator, package: Path) -> None:
    spec = yaml.safe_load(package.read_text())
    good = {
        "display_name": "raw",
        "pipeline_spec": spec,
        "runtime_config": {"parameters": {"n": 1, "msg": "x"}},
    }
    status, run = http(emu, "POST", "/apis/v2beta1/runs", good)
    assert status == 200 and run["experiment_id"] == emu.default_experiment_id
    camel = {
        "displayName": "camel",
        "pipelineSpec": spec,
        "runtimeConfig": {"parameters": {"n": 1, "msg": "x"}},
    }
    assert http(emu, "POST", "/apis/v2beta1/runs", camel)[0] == 200
    status, body = http(emu, "POST", "/apis/v2beta1/runs", {**good, "priority": "high"})
    assert status == 400 and body["code"] == 3 and "priority" in body["message"]
    status, body = http(emu, "POST", "/apis/v2beta1/experiments", {"display_name": "e", "owner": "me"})
    assert status == 400 and "owner" in body["message"]
    status, body = http(emu, "POST", "/apis/v2beta1/runs", {"display_name": "neither"})
    assert status == 400 and "exactly one of" in body["message"]


def test_pipeline_version_reference(emu: KfpEmulator, client: kfp.Client, package: Path) -> None:
    spec = yaml.safe_load(package.read_text())
    emu.register_pipeline_version("p1", "v1", spec)
    exp = client.create_experiment("charon")
    run = client.run_pipeline(
        exp.experiment_id, "by-ref", pipeline_id="p1", version_id="v1", params={"n": 1, "msg": "m"}
    )
    assert run.pipeline_version_reference.pipeline_version_id == "v1"
    assert run.pipeline_spec is None
    assert [t.display_name for t in run.run_details.task_details] == ["add", "echo"]
    with pytest.raises(kfp_server_api.ApiException) as extra:
        client.run_pipeline(
            exp.experiment_id, "x", pipeline_id="p1", version_id="v1", params={"n": 1, "msg": "m", "z": 0}
        )
    assert extra.value.status == 400
    unknown = client.run_pipeline(exp.experiment_id, "lenient", pipeline_id="p9", version_id="v9")
    assert unknown.run_details is None


# ---------------------------------------------------------------------------------------------- auth & faults


def test_wrong_or_missing_token_is_401(emu: KfpEmulator, package: Path) -> None:
    for token in ("wrong", None):
        with pytest.raises(kfp_server_api.ApiException) as denied:
            make_client(emu, token=token).list_runs()
        assert denied.value.status == 401
        assert rpc_error(denied.value)["code"] == 16


def test_token_rotation(emu: KfpEmulator, client: kfp.Client) -> None:
    assert client.list_runs().runs is None
    emu.set_token("rotated")
    with pytest.raises(kfp_server_api.ApiException) as stale:
        client.list_runs()
    assert stale.value.status == 401
    assert make_client(emu, token="rotated").list_runs().runs is None
    emu.set_token(None)
    assert make_client(emu, token=None).list_runs().runs is None


def test_injected_503_surfaces_as_api_exception(emu: KfpEmulator, client: kfp.Client, package: Path) -> None:
    run = submit(client, package)
    emu.inject_fault(path_prefix="/apis/v2beta1/runs", status=503, count=2)
    for _ in range(2):
        with pytest.raises(kfp_server_api.ApiException) as unavailable:
            client.get_run(run.run_id)
        assert unavailable.value.status == 503
        assert rpc_error(unavailable.value)["code"] == 14
    assert client.get_run(run.run_id).run_id == run.run_id
    emu.inject_fault(path_prefix="/apis/v2beta1/runs", status=429, count=1, method="POST")
    assert client.get_run(run.run_id).state == "PENDING"  # GET is not affected by a POST-only fault
    with pytest.raises(kfp_server_api.ApiException) as limited:
        submit(client, package)
    assert limited.value.status == 429 and rpc_error(limited.value)["code"] == 8
    statuses = [r["status"] for r in emu.requests if r["path"].startswith("/apis/v2beta1/runs")]
    assert statuses.count(503) == 2 and statuses.count(429) == 1


def test_delay_fault_and_request_timeouts(emu: KfpEmulator, client: kfp.Client) -> None:
    (run_id,) = emu.add_runs(1)
    emu.inject_fault(path_prefix="/apis/v2beta1/runs", status=None, delay_s=0.6, count=None)
    started = time.perf_counter()
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        client._run_api.run_service_get_run(run_id, _request_timeout=(0.15, 0.15))
    assert time.perf_counter() - started < 3
    gets = [r for r in emu.requests if r["path"].endswith(run_id)]
    assert len(gets) == 4  # urllib3's default 3 retries
    # kfp_server_api only honours an int or a (connect, read) tuple; a float timeout is silently ignored.
    emu.clear_requests()
    got = client._run_api.run_service_get_run(run_id, _request_timeout=0.15)
    assert got.run_id == run_id and len(emu.requests) == 1
    emu.clear_faults()
    assert client.get_run(run_id).run_id == run_id


def test_request_log(emu: KfpEmulator, client: kfp.Client) -> None:
    client.list_runs(page_size=5, sort_by="created_at desc")
    (entry,) = emu.requests
    assert entry["method"] == "GET" and entry["path"] == "/apis/v2beta1/runs" and entry["status"] == 200
    assert entry["query"]["page_size"] == "5" and entry["query"]["sort_by"] == "created_at desc"
    emu.clear_requests()
    assert emu.requests == []


# ------------------------------------------------------------------------------------------ recurring runs


def test_recurring_runs_lifecycle(emu: KfpEmulator, client: kfp.Client, package: Path) -> None:
    exp = client.create_experiment("charon")
    rr = client.create_recurring_run(
        exp.experiment_id, "nightly", cron_expression="0 0 9 ? * 2-6", pipeline_package_path=str(package),
        params={"n": 1, "msg": "m"}, max_concurrency=2,
    )  # fmt: skip
    assert rr.trigger.cron_schedule.cron == "0 0 9 ? * 2-6"
    assert rr.status == "ENABLED" and rr.mode == "ENABLE" and rr.max_concurrency == "2"
    wire = raw(client._recurring_run_api.recurring_run_service_get_recurring_run, rr.recurring_run_id)
    assert wire["max_concurrency"] == "2"
    listed = raw(client._recurring_run_api.recurring_run_service_list_recurring_runs)
    assert [r["recurring_run_id"] for r in listed["recurringRuns"]] == [rr.recurring_run_id]
    assert "recurring_runs" not in listed
    assert client.list_recurring_runs().recurring_runs[0].display_name == "nightly"

    client.disable_recurring_run(rr.recurring_run_id)
    disabled = client.get_recurring_run(rr.recurring_run_id)
    assert disabled.status == "DISABLED" and disabled.mode == "DISABLE"
    client.enable_recurring_run(rr.recurring_run_id)
    assert client.get_recurring_run(rr.recurring_run_id).status == "ENABLED"

    fired = emu.fire_recurring(rr.recurring_run_id)
    run = client.get_run(fired)
    assert run.recurring_run_id == rr.recurring_run_id and run.experiment_id == exp.experiment_id
    assert run.runtime_config.parameters == {"n": 1, "msg": "m"}
    by_rr = client.list_runs(filter=eq_filter("recurring_run_id", rr.recurring_run_id))
    assert [r.run_id for r in by_rr.runs] == [fired]

    client.delete_recurring_run(rr.recurring_run_id)
    with pytest.raises(kfp_server_api.ApiException) as gone:
        client.get_recurring_run(rr.recurring_run_id)
    assert gone.value.status == 404
    assert client.list_recurring_runs().recurring_runs is None


def test_recurring_run_periodic_and_descriptors(client: kfp.Client, package: Path) -> None:
    exp = client.create_experiment("charon")
    periodic = client.create_recurring_run(
        exp.experiment_id, "hourly", interval_second=3600, pipeline_package_path=str(package),
        params={"n": 1, "msg": "m"}, enabled=False, no_catchup=True,
    )  # fmt: skip
    assert periodic.trigger.periodic_schedule.interval_second == "3600"
    assert periodic.status == "DISABLED" and periodic.no_catchup is True
    for cron in ("@every 1h30m", "@daily"):
        rr = client.create_recurring_run(
            exp.experiment_id, cron, cron_expression=cron, pipeline_package_path=str(package),
            params={"n": 1, "msg": "m"},
        )  # fmt: skip
        assert rr.trigger.cron_schedule.cron == cron


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cron_expression": "0 9 * * 1"}, "expected 6 fields"),
        ({"cron_expression": "0 0 25 * * *"}, "invalid cron field"),
        ({"cron_expression": "@every soon"}, "invalid cron descriptor"),
        ({"cron_expression": "0 0 9 * * *", "max_concurrency": 11}, "max_concurrency"),
        ({"cron_expression": "0 0 9 * * *", "max_concurrency": 0}, "max_concurrency"),
        ({"cron_expression": "0 0 9 * * *", "params": {"n": 1}}, "is not optional"),
    ],
)
def test_recurring_run_validation(
    client: kfp.Client, package: Path, kwargs: dict[str, Any], message: str
) -> None:
    kwargs = {"params": {"n": 1, "msg": "m"}, **kwargs}
    with pytest.raises(kfp_server_api.ApiException) as rejected:
        client.create_recurring_run(
            client.create_experiment("charon").experiment_id,
            "bad",
            pipeline_package_path=str(package),
            **kwargs,
        )
    assert rejected.value.status == 400 and message in rpc_error(rejected.value)["message"]


def test_recurring_run_trigger_checks_over_http(emu: KfpEmulator, package: Path) -> None:
    spec = yaml.safe_load(package.read_text())
    base = {"display_name": "r", "pipeline_spec": spec, "max_concurrency": "1", "mode": "ENABLE"}
    base["runtime_config"] = {"parameters": {"n": 1, "msg": "m"}}
    both = {"cron_schedule": {"cron": "@daily"}, "periodic_schedule": {"interval_second": "60"}}
    for trigger in (None, both, {"periodic_schedule": {"interval_second": "0"}}):
        status, body = http(emu, "POST", "/apis/v2beta1/recurringruns", {**base, "trigger": trigger})
        assert status == 400 and body["code"] == 3, trigger
    status, ok = http(
        emu,
        "POST",
        "/apis/v2beta1/recurringruns",
        {**base, "trigger": {"periodic_schedule": {"interval_second": 1}}},
    )
    assert status == 200 and ok["trigger"]["periodic_schedule"]["interval_second"] == "1"


def test_validate_cron_accepts_robfig_v1_syntax() -> None:
    for expr in ("0 0 9 ? * 2-6", "*/15 * * * * *", "0 30 8 1,15 JAN-JUN MON-FRI", "@hourly", "@every 90s"):
        validate_cron(expr)


# ---------------------------------------------------------------------------------------- progress & admin


def test_auto_progress_with_fake_clock(package: Path) -> None:
    now = [1_800_000_000.0]
    with running_emulator(clock=lambda: now[0], auto_progress=(5, 10, "SUCCEEDED")) as emu:
        client = make_client(emu, token=None)
        run = submit(client, package)
        assert client.get_run(run.run_id).state == "PENDING"
        now[0] += 6
        mid = client.get_run(run.run_id)
        assert mid.state == "RUNNING" and [t.state for t in mid.run_details.task_details] == [
            "RUNNING",
            "PENDING",
        ]
        now[0] += 5
        assert [t.state for t in client.get_run(run.run_id).run_details.task_details] == [
            "SUCCEEDED",
            "RUNNING",
        ]
        now[0] += 5
        done = client.get_run(run.run_id)
        assert done.state == "SUCCEEDED"
        history = [(h.state, int(h.update_time.timestamp()) - 1_800_000_000) for h in done.state_history]
        assert history == [("PENDING", 0), ("RUNNING", 5), ("SUCCEEDED", 15)]
        assert int(done.finished_at.timestamp()) == 1_800_000_015

        emu.set_auto_progress(0, 1, "FAILED")
        failing = submit(client, package, name="doomed")
        now[0] += 2
        listed = client.list_runs(filter=eq_filter("state", "FAILED"))
        assert [r.run_id for r in listed.runs] == [failing.run_id]
        assert listed.runs[0].error.message and listed.runs[0].run_details.task_details[-1].state == "FAILED"


def test_create_run_from_pipeline_func_and_wait_for_completion() -> None:
    with running_emulator(token=TOKEN, auto_progress=(0.05, 0.1, "SUCCEEDED")) as emu:
        client = make_client(emu)
        result = client.create_run_from_pipeline_func(
            tiny, arguments={"n": 1, "msg": "m"}, experiment_name="charon"
        )
        final = client.wait_for_run_completion(result.run_id, timeout=10, sleep_duration=0.05)
        assert final.state == "SUCCEEDED"
        assert client.get_experiment(experiment_name="charon").experiment_id == final.experiment_id
        # kfp 2.17.3 does not treat CANCELED as terminal (kubeflow/pipelines#14473): it times out instead.
        emu.disable_auto_progress()
        doomed = client.create_run_from_pipeline_func(tiny, arguments={"n": 1, "msg": "m"})
        client.terminate_run(doomed.run_id)
        with pytest.raises(TimeoutError):
            client.wait_for_run_completion(doomed.run_id, timeout=0.3, sleep_duration=0.05)
        assert emu.get_run(doomed.run_id)["state"] == "CANCELED"


def test_admin_http_routes(emu: KfpEmulator, client: kfp.Client, package: Path) -> None:
    run = submit(client, package)
    status, moved = http(
        emu, "POST", f"/_emu/runs/{run.run_id}/state", {"state": "FAILED", "message": "boom"}, None
    )
    assert status == 200 and moved["state"] == "FAILED" and moved["error"]["message"] == "boom"
    assert client.get_run(run.run_id).error.message == "boom"
    assert http(emu, "POST", f"/_emu/runs/{run.run_id}/state", {"state": "DONE"}, None)[0] == 400
    assert http(emu, "POST", "/_emu/runs/nope/state", {"state": "FAILED"}, None)[0] == 404

    status, bulk = http(emu, "POST", "/_emu/runs/bulk", {"n": 3, "state": "SUCCEEDED"}, None)
    assert len(bulk["run_ids"]) == 3
    assert client.list_runs(filter=eq_filter("state", "SUCCEEDED")).total_size == 3

    http(
        emu,
        "POST",
        "/_emu/faults",
        {"path_prefix": "/apis/v2beta1/experiments", "status": 500, "count": 1},
        None,
    )
    with pytest.raises(kfp_server_api.ApiException) as internal:
        client.create_experiment("x")
    assert internal.value.status == 500 and rpc_error(internal.value)["code"] == 13

    http(emu, "POST", "/_emu/token", {"token": "new"}, None)
    with pytest.raises(kfp_server_api.ApiException):
        client.list_runs()
    http(emu, "POST", "/_emu/token", {"token": TOKEN}, None)

    status, log = http(emu, "GET", "/_emu/requests", token=None)
    assert status == 200 and {"method", "path", "query"} <= set(log[-1])
    assert not any(entry["path"].startswith("/_emu") for entry in log)
    http(emu, "DELETE", "/_emu/requests", token=None)
    assert emu.requests == []

    http(
        emu, "POST", "/_emu/auto_progress", {"pending_s": 0, "running_s": 0, "final_state": "SUCCEEDED"}, None
    )
    quick = submit(client, package, name="quick")
    assert client.get_run(quick.run_id).state == "SUCCEEDED"
    http(emu, "POST", "/_emu/auto_progress", {}, None)
    assert client.get_run(submit(client, package, name="slow").run_id).state == "PENDING"

    rr = client.create_recurring_run(
        emu.default_experiment_id, "cron", cron_expression="@hourly", pipeline_package_path=str(package),
        params={"n": 1, "msg": "m"},
    )  # fmt: skip
    status, fired = http(emu, "POST", f"/_emu/recurringruns/{rr.recurring_run_id}/fire", {}, None)
    assert client.get_run(fired["run_id"]).recurring_run_id == rr.recurring_run_id

    http(emu, "POST", "/_emu/multi_user", {"multi_user": True}, None)
    assert client.get_kfp_healthz().multi_user is True
    http(emu, "POST", "/_emu/reset", {}, None)
    assert client.list_runs().runs is None
    assert client.get_experiment(experiment_name="Default").experiment_id == emu.default_experiment_id


def test_every_response_matches_the_swagger_models(
    emu: KfpEmulator, client: kfp.Client, package: Path
) -> None:
    runs, exps, rrs = client._run_api, client._experiment_api, client._recurring_run_api
    assert_wire_shape(raw(client._healthz_api.healthz_service_get_healthz), "V2beta1GetHealthzResponse")
    exp = client.create_experiment("charon", description="d")
    assert_wire_shape(raw(exps.experiment_service_get_experiment, exp.experiment_id), "V2beta1Experiment")
    assert_wire_shape(raw(exps.experiment_service_list_experiments), "V2beta1ListExperimentsResponse")
    run = submit(client, package)
    emu.move_run(run.run_id, "RUNNING")
    emu.move_run(run.run_id, "FAILED", message="boom")
    failed = raw(runs.run_service_get_run, run.run_id)
    assert failed["error"] == {"code": failed["error"]["code"], "message": "boom"}
    assert_wire_shape(failed, "V2beta1Run")
    other = submit(client, package, name="other")
    client.terminate_run(other.run_id)
    listed = raw(runs.run_service_list_runs, page_size=1)
    assert listed["total_size"] == 2 and listed["next_page_token"]
    assert_wire_shape(listed, "V2beta1ListRunsResponse")
    rr = client.create_recurring_run(
        exp.experiment_id, "rr", cron_expression="0 0 * * * *", pipeline_package_path=str(package),
        params={"n": 1, "msg": "m"},
    )  # fmt: skip
    assert_wire_shape(
        raw(rrs.recurring_run_service_get_recurring_run, rr.recurring_run_id), "V2beta1RecurringRun"
    )
    assert_wire_shape(raw(rrs.recurring_run_service_list_recurring_runs), "V2beta1ListRecurringRunsResponse")
    status, error = http(emu, "GET", "/apis/v2beta1/runs/missing")
    assert status == 404
    assert_wire_shape({k: v for k, v in error.items() if k != "details"}, "GoogleRpcStatus")
    assert error["details"] == []
    status, error = http(emu, "GET", "/apis/v2beta1/nothing-here")
    assert status == 404 and error["code"] == 5


async def test_async_context_manager(package: Path) -> None:
    async with KfpEmulator() as emu:
        client = await asyncio.to_thread(make_client, emu, None)
        run = await asyncio.to_thread(submit, client, package)
        emu.move_run(run.run_id, "SUCCEEDED")
        got = await asyncio.to_thread(client.get_run, run.run_id)
        assert got.state == "SUCCEEDED"
        assert emu.url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        _ = KfpEmulator().url


def test_standalone_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.kfp_emulator", "--port", "0", "--token", "s3cret"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), line
        req = urllib.request.Request(
            url + "/apis/v2beta1/healthz", headers={"Authorization": "Bearer s3cret"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read()) == {"pipeline_store": "database"}
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(url + "/apis/v2beta1/runs", timeout=10)
        assert denied.value.code == 401
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
