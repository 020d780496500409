"""Bytecode for the built artifacts: `make build` runs this after `sam build`.

Lambda runs our code from read-only places (/opt for layers, /var/task for a function), where Python cannot write
the bytecode it compiles, and `sam build` ships none: its Python builder unpacks wheels as they are and copies sources
without __pycache__. So, without this step, every cold start compiles pydantic, Powertools and the tickets package
from source again; on this machine that is about 350 ms more for get_ticket's first request, against a floor of
about 250 ms (README, Performance). The floor's boto3 comes from the runtime, installed by pip, which writes its
bytecode.

The .pyc files are unchecked-hash ones (PEP 552): Python uses them without looking at the source's timestamp, which a
zip file does not keep exactly (2-second resolution), so timestamp-checked files would be thrown away on Lambda half
of the time. The artifacts are never edited in place, so nothing can go stale. Code objects name the paths Lambda
will see (/opt/python/..., /var/task/...) for tracebacks.

    python -m tools.bytecode            (after sam build; prints what it compiled)
"""

from __future__ import annotations

import compileall
import json
import py_compile
import re
import sys
from pathlib import Path
from typing import Any

from tools import template

BUILD = template.ROOT / ".aws-sam" / "build"
# Never imported by our code: pydantic's v1 compatibility package (a third of its bytecode).
SKIP = re.compile(r"/pydantic/v1/")


def built_templates(build: Path = BUILD) -> list[tuple[Path, dict[str, Any]]]:
    """(directory, template) of the template sam build wrote and of each nested application's it built (its
    artifacts' paths are relative to its own directory: .aws-sam/build/<application>/)."""
    out = []
    todo = [build]
    while todo:
        base = todo.pop()
        doc = template.read(base / "template.yaml")
        out.append((base, doc))
        for res in doc["Resources"].values():
            location = (res.get("Properties") or {}).get("Location")
            if res["Type"] == "AWS::Serverless::Application" and isinstance(location, str):
                todo.append((base / location).parent)
    return out


def targets(build: Path = BUILD) -> list[tuple[Path, str]]:
    """(built directory, the directory Lambda mounts it at) for every Python layer and function of the build."""
    out = []
    for base, doc in built_templates(build):
        for res in doc["Resources"].values():
            props = res.get("Properties") or {}
            if res["Type"] == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str):
                path = (base / props["ContentUri"] / "python").resolve()
                if path.is_dir() and path.is_relative_to(build.resolve()):
                    out.append((path, "/opt/python"))
            elif res["Type"] == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
                path = (base / props["CodeUri"]).resolve()
                if path.is_dir() and path.is_relative_to(build.resolve()):
                    out.append((path, "/var/task"))
    return sorted(set(out))


def compile_tree(path: Path, ddir: str) -> bool:
    return compileall.compile_dir(
        str(path),
        ddir=ddir,
        rx=SKIP,
        quiet=1,
        force=True,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )


def main(argv: list[str] | None = None) -> int:
    build = Path(argv[0]) if argv else BUILD
    if not (build / "template.yaml").is_file():
        print(f"no sam build at {build}: run `make build`", file=sys.stderr)
        return 1
    report: dict[str, Any] = {}
    ok = True
    for path, ddir in targets(build):
        ok = compile_tree(path, ddir) and ok
        report[str(path.relative_to(build.resolve()))] = sum(1 for _ in path.rglob("*.pyc"))
    print(json.dumps({"compiled": report}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
