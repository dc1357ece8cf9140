"""Machine-readable interfaces of the `frameduel` command: the config's JSON Schema, JSON and
CSV on stdout, `sessions --json`, `doctor --json`. Real subprocesses, a real torch run."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from profiler.config import load_config
from profiler.paths import resources_dir
from tests.profiler.test_cli import TINY, frameduel


def _schema() -> dict[str, object]:
    res = frameduel("schema")
    assert res.returncode == 0, res.stderr
    schema: dict[str, object] = json.loads(res.stdout)
    return schema


def test_every_shipped_config_fits_the_printed_schema_and_mistakes_do_not() -> None:
    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    shipped = sorted((resources_dir() / "configs").glob("*.yaml"))
    assert shipped
    for path in shipped:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert not errors, (path.name, [e.message for e in errors])
    demo = yaml.safe_load((resources_dir() / "configs" / "demo-mlp.yaml").read_text())
    # What an editor should flag as the user types: a misspelt field, a wrong type.
    assert list(validator.iter_errors({**demo, "framworks": ["torch"]}))
    assert list(validator.iter_errors({**demo, "train": {**demo["train"], "batch_size": "64"}}))


def test_editor_schema_pointers_are_accepted(tmp_path: Path) -> None:
    data = yaml.safe_load(TINY)
    as_json = tmp_path / "with-schema.json"
    as_json.write_text(json.dumps({"$schema": "./frameduel.schema.json", **data}))
    assert load_config(as_json).name == "tiny-cli"
    as_yaml = tmp_path / "with-schema.yaml"
    as_yaml.write_text("# yaml-language-server: $schema=./frameduel.schema.json\n" + TINY)
    assert load_config(as_yaml).name == "tiny-cli"


@pytest.mark.slow
def test_json_and_csv_on_stdout_and_sessions_as_json(tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY.replace("[torch, tensorflow]", "[torch]"))
    store = str(tmp_path / "s.sqlite3")
    res = frameduel("run", str(config), "--store", store, "--json", "-")
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout)  # stdout holds the JSON alone; progress is on stderr
    assert [r["framework"] for r in summary["runs"]] == ["torch"]

    sessions = frameduel("sessions", "--store", store, "--json")
    assert sessions.returncode == 0, sessions.stderr
    (row,) = json.loads(sessions.stdout)
    assert row["name"] == "tiny-cli" and row["frameworks"] == ["torch"]

    as_json = frameduel("report", str(row["id"]), "--store", store, "--out", "-")
    assert json.loads(as_json.stdout)["runs"][0]["framework"] == "torch"
    as_csv = frameduel("report", "last", "--store", store, "--out", "-", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows and {r["framework"] for r in rows if r.get("framework")} == {"torch"}


@pytest.mark.slow
def test_doctor_as_json() -> None:
    res = frameduel("doctor", "--json")
    assert res.returncode == 0, res.stderr
    found = json.loads(res.stdout)
    assert found["can_run"] is True
    assert found["frameworks"]["torch"]["available"] is True
    assert found["install"] == []
