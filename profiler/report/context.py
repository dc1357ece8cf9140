"""The context of a report: the machine, the software versions, the session and its config."""

from __future__ import annotations

import yaml

from profiler.colors import label_of
from profiler.report.formatting import MISSING, fmt, report_date
from profiler.report.model import Report


def _versions(report: Report) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for fw in report.frameworks:
        runs = [r for r in report.runs if r.framework == fw]
        run = next((r for r in runs if r.settings), runs[0] if runs else None)
        if run is None:
            continue
        settings = run.settings or {}
        parts = [run.framework_version or MISSING]
        for key, name in (("keras_version", "Keras"), ("cuda_version", "CUDA")):
            if settings.get(key):
                parts.append(f"{name} {settings[key]}")
        if run.device:
            device = settings.get("device_name") or run.device
            parts.append(f"on {run.device}" + (f" ({device})" if device != run.device else ""))
        out.append((label_of(fw), ", ".join(parts)))
    return out


def environment_rows(report: Report) -> list[tuple[str, str]]:
    """(label, value) facts about the machine, the software and the session."""
    env = report.environment
    gpu = env.get("gpu")
    if isinstance(gpu, dict) and gpu.get("name"):
        gpu_text = f"{gpu['name']}, {fmt(gpu.get('memory_mib'), 'MiB')}"
        driver = str(gpu.get("driver") or MISSING)
    else:
        gpu_text, driver = f"none ({env.get('gpu_status') or 'not probed'})", MISSING
    logical, physical = env.get("cpu_count_logical"), env.get("cpu_count_physical")
    cores = f" ({logical} logical, {physical} physical cores)" if logical and physical else ""
    ref = report.generated_from
    rows = [
        ("machine", str(env.get("hostname") or MISSING)),
        ("OS", str(env.get("os") or MISSING)),
        ("CPU", f"{env.get('cpu') or MISSING}{cores}"),
        ("memory", fmt(env.get("memory_gib"), "GiB")),
        ("GPU", gpu_text),
        ("GPU driver", driver),
        ("CUDA_VISIBLE_DEVICES", str(env.get("cuda_visible_devices") or "not set")),
        ("Python", str(env.get("python") or MISSING)),
        *_versions(report),
        ("FrameDuel", str(env.get("frameduel") or MISSING)),
        ("session", f"#{ref.id}, {report_date(report)}, {ref.status}"),
    ]
    if ref.config_path:
        rows.append(("config file", ref.config_path))
    return rows


def config_text(report: Report) -> str:
    """The session's config as YAML, keys in the order stored."""
    text: str = yaml.safe_dump(report.config, sort_keys=False, default_flow_style=None, width=88)
    return text.rstrip()
