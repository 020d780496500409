"""Artifact size: unzipped code of each function plus its layers, from `sam build` (.aws-sam/build/).

Lambda limits a function and all its layers to 250 MB unzipped; our budget is 20 MB, and boto3/botocore must come
from the runtime, not from an artifact. The artifacts include their bytecode (tools/bytecode.py, about 4.5 MB): the
budget was 12 MB before, and was raised because the bytecode spares every cold start compiling pydantic, Powertools
and the tickets package from source (about 350 ms of get_ticket's first request on this machine; README,
Performance). If .aws-sam/build is missing, `make build` is run; if that fails (no SAM CLI, no network), the
section reports "not built" with ok=None.

    python -m bench.size
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from tools import bytecode, template

BUILD = template.ROOT / ".aws-sam" / "build"
BUDGET_MB = 20.0
MB = 1024 * 1024
FORBIDDEN = ("boto3", "botocore", "s3transfer")


def dir_bytes(path: Path, *, skip_pycache: bool = False) -> int:
    """Sum of regular file sizes under `path` (what the unzipped artifact holds), symlinks not followed.

    A built artifact ships its __pycache__ (make build compiles it); `skip_pycache` counts the sources alone.
    """
    total = 0
    for root, dirs, files in os.walk(path):
        if skip_pycache:
            dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            p = Path(root, name)
            if not p.is_symlink():
                total += p.stat().st_size
    return total


def bundled(path: Path, names: tuple[str, ...] = FORBIDDEN) -> list[str]:
    """Relative paths of any package dir or dist-info of `names` inside an artifact."""
    found = []
    for root, dirs, _files in os.walk(path):
        for d in dirs:
            base = d.split("-", 1)[0].lower()
            if base in names:
                found.append(str(Path(root, d).relative_to(path)))
    return sorted(found)


def _layers(tpl: dict[str, Any], fn_props: dict[str, Any]) -> list[str]:
    globals_ = (tpl.get("Globals") or {}).get("Function") or {}
    layers = fn_props.get("Layers", globals_.get("Layers") or [])
    return [ref["Ref"] for ref in layers if isinstance(ref, dict) and "Ref" in ref]


def _artifact_dir(base: Path, res: dict[str, Any]) -> Path:
    """Its built directory: the paths of a nested application's template are relative to its own build directory."""
    props = res["Properties"]
    uri = props.get("CodeUri") or props.get("ContentUri")
    return (base / str(uri)).resolve()


def ensure_built() -> tuple[bool, str]:
    if BUILD.is_dir() and any(BUILD.iterdir()):
        return True, "existing .aws-sam/build"
    try:
        proc = subprocess.run(["make", "build"], cwd=template.ROOT, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"make build failed: {exc}"
    if proc.returncode != 0 or not BUILD.is_dir():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        return False, "make build failed: " + (tail[0] if tail else f"exit {proc.returncode}")
    return True, "make build"


def run(context: dict[str, Any] | None = None) -> dict[str, Any]:
    built, how = ensure_built()
    if not built:
        row = {"section": "size", "metric": "artifacts", "value": "not built", "unit": "", "budget": None, "ok": None}
        return {"rows": [row], "data": {"built": False, "how": how}}
    # The parent's layers and the functions of every stack (a child's Globals name the layers as the parameters the
    # parent passes under the layers' own logical ids).
    stacks = bytecode.built_templates(BUILD)
    resources = {n: (base, r) for base, doc in stacks for n, r in doc["Resources"].items()}
    templates = {n: doc for _, doc in stacks for n in doc["Resources"]}
    functions = {n: br for n, br in resources.items() if br[1]["Type"] == "AWS::Serverless::Function"}
    layer_bytes: dict[str, int] = {}
    layer_bytecode: dict[str, int] = {}
    layer_dirs: dict[str, str] = {}
    layer_bundled: dict[str, list[str]] = {}
    missing: list[str] = []
    for name, (base, res) in resources.items():
        if res["Type"] != "AWS::Serverless::LayerVersion":
            continue
        path = _artifact_dir(base, res)
        layer_dirs[name] = str(path.relative_to(template.ROOT)) if path.is_relative_to(template.ROOT) else str(path)
        if not path.is_dir():
            missing.append(name)
        layer_bytes[name] = dir_bytes(path) if path.is_dir() else 0
        layer_bytecode[name] = layer_bytes[name] - dir_bytes(path, skip_pycache=True) if path.is_dir() else 0
        layer_bundled[name] = bundled(path) if path.is_dir() else []
    per_fn: dict[str, dict[str, Any]] = {}
    for name, (base, res) in sorted(functions.items()):
        path = _artifact_dir(base, res)
        layers = _layers(templates[name], res["Properties"])
        if not path.is_dir():
            missing.append(name)
        code = dir_bytes(path) if path.is_dir() else 0
        total = code + sum(layer_bytes.get(x, 0) for x in layers)
        per_fn[name] = {
            "code_dir": str(path.relative_to(template.ROOT)) if path.is_relative_to(template.ROOT) else str(path),
            "code_bytes": code,
            "layers": layers,
            "total_bytes": total,
            "total_mb": total / MB,
            "bundled": bundled(path) if path.is_dir() else [],
        }
    worst_name = max(per_fn, key=lambda n: per_fn[n]["total_bytes"])
    worst = per_fn[worst_name]
    boto_found = {n: v["bundled"] for n, v in per_fn.items() if v["bundled"]} | {
        n: v for n, v in layer_bundled.items() if v
    }
    rows: list[dict[str, Any]] = [
        {
            "section": "size",
            "metric": f"layer {name} ({layer_dirs[name]}; bytecode {layer_bytecode[name] / MB:.1f} MB of it)",
            "value": round(size / MB, 2),
            "unit": "MB",
            "budget": None,
            "ok": None,
        }
        for name, size in layer_bytes.items()
    ]
    codes = [v["code_bytes"] for v in per_fn.values()]
    rows.append(
        {
            "section": "size",
            "metric": f"function code, {len(per_fn)} functions (min..max KB)",
            "value": f"{min(codes) / 1024:.1f}..{max(codes) / 1024:.1f}",
            "unit": "KB",
            "budget": None,
            "ok": None,
        }
    )
    rows.append(
        {
            "section": "size",
            "metric": f"worst function + layers ({worst_name})",
            "value": round(worst["total_mb"], 2),
            "unit": "MB",
            "budget": f"<= {BUDGET_MB:g} MB",
            "ok": worst["total_mb"] <= BUDGET_MB and not missing,
        }
    )
    rows.append(
        {
            "section": "size",
            "metric": "boto3/botocore/s3transfer bundled in an artifact",
            "value": "none" if not boto_found else "; ".join(f"{k}: {', '.join(v)}" for k, v in boto_found.items()),
            "unit": "",
            "budget": "none",
            "ok": not boto_found,
        }
    )
    data = {
        "built": True,
        "how": how,
        "build_dir": str(BUILD),
        "unit": "bytes of regular files, unzipped; MB = 2**20 bytes",
        "layers_bytes": layer_bytes,
        "layer_dirs": layer_dirs,
        "layers_bytecode_bytes": layer_bytecode,
        "functions": per_fn,
        "worst": worst_name,
        "worst_mb": worst["total_mb"],
        "bundled_forbidden": boto_found,
        "missing_dirs": missing,
    }
    return {"rows": rows, "data": data}


if __name__ == "__main__":
    from bench.report import print_rows

    print_rows(run()["rows"])
