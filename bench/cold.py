"""Cold import ratio per function: importing its `app` module against `import boto3` + a DynamoDB client.

Each sample is a fresh interpreter with the shared layer and the function's folder on sys.path and the
template's environment set (tracing on, as in Lambda). The import is timed inside the process, so
interpreter start-up is not counted on either side. Samples are interleaved round by round (floor, then
every function in a shuffled order), so drift on a noisy machine hits all of them alike.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
from typing import Any

from tools import template

ROUNDS = int(os.environ.get("BENCH_COLD_ROUNDS", "15"))
BUDGET = 1.25
_TIMER = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
# Handlers create their DynamoDB client on first use; this adds it, for the figure a first request pays.
_FN_TIMER = (
    "import time; t = time.perf_counter(); import {module}; i = time.perf_counter() - t; "
    "from tickets.dal.client import ddb; ddb(); print(i, time.perf_counter() - t)"
)
FLOOR_STMT = "import boto3; boto3.client('dynamodb', region_name='us-east-1')"


def _env(fn: template.Function | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_TRACE", "PYTHON"))}
    env.update({"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"})
    if fn is not None:
        env.update(template.resolve_env(fn.environment, {**template.parameter_defaults(), "Table": "tickets"}))
        env["PYTHONPATH"] = os.pathsep.join([str(template.SHARED_LAYER), str(fn.code_uri)])
    return env


def _sample(code: str, env: dict[str, str]) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.strip().splitlines()[-1].split()]


def run(context: dict[str, Any] | None = None) -> dict[str, Any]:
    fns = sorted(template.functions().values(), key=lambda f: f.name)
    api_fns = [f for f in fns if f.routes]
    floor: list[float] = []
    samples: dict[str, list[float]] = {f.name: [] for f in api_fns}
    with_client: dict[str, list[float]] = {f.name: [] for f in api_fns}
    rng = random.Random(7)
    for _ in range(ROUNDS):
        floor.append(_sample(_TIMER.format(stmt=FLOOR_STMT), _env(None))[0])
        for fn in rng.sample(api_fns, len(api_fns)):
            module = fn.handler.rsplit(".", 1)[0]
            imported, total = _sample(_FN_TIMER.format(module=module), _env(fn))
            samples[fn.name].append(imported)
            with_client[fn.name].append(total)
    floor_ms = statistics.median(floor) * 1000
    rows = [
        {
            "section": "cold",
            "metric": "floor: import boto3 + dynamodb client",
            "value": round(floor_ms, 1),
            "unit": "ms",
            "budget": None,
            "ok": None,
        },
    ]
    ratios = {}
    for name, values in samples.items():
        ms = statistics.median(values) * 1000
        ratios[name] = ms / floor_ms
        rows.append(
            {
                "section": "cold",
                "metric": f"{name} import",
                "value": round(ratios[name], 3),
                "unit": "x floor",
                "budget": f"<= {BUDGET}",
                "ok": ratios[name] <= BUDGET,
            }
        )
    worst = max(ratios, key=ratios.__getitem__)
    rows.append(
        {
            "section": "cold",
            "metric": f"worst ({worst})",
            "value": round(ratios[worst], 3),
            "unit": "x floor",
            "budget": f"<= {BUDGET}",
            "ok": ratios[worst] <= BUDGET,
        }
    )
    client_ratios = {n: statistics.median(v) * 1000 / floor_ms for n, v in with_client.items()}
    worst_c = max(client_ratios, key=client_ratios.__getitem__)
    rows.append(
        {
            "section": "cold",
            "metric": f"worst import + its first DynamoDB client ({worst_c})",
            "value": round(client_ratios[worst_c], 3),
            "unit": "x floor",
            "budget": None,
            "ok": None,
        }
    )
    return {
        "rows": rows,
        "data": {
            "rounds": ROUNDS,
            "floor_ms": floor_ms,
            "ratios": ratios,
            "with_client_ratios": client_ratios,
            "median_ms": {n: statistics.median(v) * 1000 for n, v in samples.items()},
        },
    }


if __name__ == "__main__":
    from bench.report import print_rows

    print_rows(run()["rows"])
