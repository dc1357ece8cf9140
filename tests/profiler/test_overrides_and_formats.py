"""One override path for a config (every CLI flag and the app's settings) and one registry of
report formats (suffix -> writer) for the CLI, the app and write_report. Real subprocesses and
real stores."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from profiler.config import OVERRIDES, OverrideError, apply_overrides, load_config
from profiler.report import REPORT_FORMATS, TEXT_FORMATS, build_report, render_text, write_report
from profiler.session import store_for
from tests.profiler.test_cli import frameduel
from tests.profiler.test_report import record_session, simple_runs

DEMO = "resources/configs/demo-mlp.yaml"


def test_every_with_overrides_keyword_is_in_the_registry() -> None:
    """The registry names every keyword Config.with_overrides takes, so no override can be
    added beside it."""
    import inspect

    from profiler.config import Config

    keywords = set(inspect.signature(Config.with_overrides).parameters) - {"self"}
    assert keywords == set(OVERRIDES)
    assert len({o.option for o in OVERRIDES.values()}) == len(OVERRIDES)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"steps": 0}, "train.steps"),
        ({"frameworks": ["torch", "torch"]}, "frameworks"),
        ({"batch_size": 0}, "train.batch_size"),
        ({"repeats": 0}, "run.repeats"),
        ({"threads": 0}, "threads"),
        ({"device": "tpu"}, "device"),
        ({"cooldown_s": float("inf")}, "run.cooldown_s"),
        ({"sample_hz": 0.5}, "run.sample_hz"),
        ({"python": {"torch": "/no/such/python"}}, "run.python.torch"),
    ],
)
def test_each_bad_override_names_its_option_value_and_field(
    given: dict[str, object], field: str
) -> None:
    config = load_config(DEMO)
    with pytest.raises(OverrideError) as bad:
        apply_overrides(config, DEMO, **given)
    (key,) = given
    option = OVERRIDES[key].option
    assert bad.value.field == field
    assert str(bad.value).startswith(f"{option} ")
    assert f": {field}: " in str(bad.value)


def test_zero_and_other_falsy_values_override_and_none_leaves_the_config() -> None:
    config = apply_overrides(load_config(DEMO), DEMO, cooldown_s=30.0)
    assert config.run.cooldown_s == 30.0
    assert apply_overrides(config, DEMO, cooldown_s=0).run.cooldown_s == 0.0
    assert apply_overrides(config, DEMO, cooldown_s=None).run.cooldown_s == 30.0
    merged = apply_overrides(config, DEMO, python={"jax": sys.executable})
    assert merged.run.python == {"jax": sys.executable}


@pytest.mark.slow
def test_run_flags_reach_the_stored_config_and_cooldown_0_overrides_the_file(
    tmp_path: Path,
) -> None:
    """`--cooldown 0` used to be taken as "not given": a config's 60 s pause stayed."""
    config = tmp_path / "scripts.yaml"
    config.write_text(
        "name: own\nmodel: {family: script}\nframeworks: [torch, tensorflow]\n"
        "run: {cooldown_s: 60, repeats: 1,\n"
        "      commands: {torch: 'python -c pass', tensorflow: 'true'}}\n"
    )
    store = tmp_path / "s.sqlite3"
    res = frameduel(
        "run",
        str(config),
        "--store",
        str(store),
        "--cooldown",
        "0",
        "--threads",
        "1",
        "--sample-hz",
        "5",
        "--python",
        f"torch={sys.executable}",
        timeout=50,  # a 60 s cooldown would not fit
    )
    assert res.returncode == 0, res.stderr[-2000:]
    with store_for(store, read_only=True) as s:
        stored = s.load(s.sessions()[0].id)
    run = stored.config["run"]
    assert (run["cooldown_s"], run["sample_hz"], stored.config["threads"]) == (0.0, 5.0, 1)
    assert run["python"] == {"torch": sys.executable}
    assert [r.status for r in stored.runs] == ["ok", "ok"]
    assert stored.runs[0].info["python"] == sys.executable


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    stored = record_session(tmp_path_factory.mktemp("formats") / "s.sqlite3", simple_runs())
    return build_report(stored)


def test_an_unknown_suffix_lists_the_known_formats(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError) as bad:
        write_report(report, tmp_path / "r.docx")
    text = str(bad.value)
    assert "'.docx'" in text
    for f in REPORT_FORMATS.values():
        assert f"{f.suffix} ({f.description})" in text
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", TEXT_FORMATS)
def test_stdout_text_is_the_file_of_the_same_format(report, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    (fmt,) = [f for f in REPORT_FORMATS.values() if f.name == name]
    written = write_report(report, tmp_path / f"r{fmt.suffix}")
    assert render_text(report, name).encode("utf-8") == written.read_bytes()


def test_the_cli_reads_the_registry(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    record_session(path, simple_runs())
    res = frameduel("report", "last", "--store", str(path), "--out", str(tmp_path / "r.docx"))
    assert res.returncode == 2
    assert "use one of: .pdf (PDF report), .html (HTML report)" in res.stderr
    res = frameduel("report", "--help")
    assert "{" + ",".join(TEXT_FORMATS) + "}" in res.stdout
    for suffix in REPORT_FORMATS:
        assert suffix in res.stdout
    res = frameduel("report", "last", "--store", str(path), "--out", "-", "--format", "csv")
    assert res.returncode == 0 and res.stdout.startswith("run_id,framework,")
    res = frameduel("report", "last", "--store", str(path), "--out", "-")
    assert json.loads(res.stdout)["runs"]
