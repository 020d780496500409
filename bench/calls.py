"""DynamoDB calls per request, counted with a botocore before-call hook (tools.ddbcalls).

The same figures are asserted in tests/integration/test_call_budgets.py; here they feed the cost model.
"""

from __future__ import annotations

from typing import Any

from bench.warm import Harness
from tools.ddbcalls import count_calls

# request -> budget from the performance issues (None: no budget of its own). A status (or priority) PATCH and a
# DELETE read the ticket first: exact totals need its old state (the counters it leaves); issue 16 accepts 2.
BUDGETS: dict[str, int | None] = {
    "get": 1,
    "patch (plain fields)": 1,
    "patch (priority)": 2,
    "patch (status change)": 2,
    "delete": 2,
    "list page + total": 2,
    "create": 2,
    "create with a customer": None,
}


def run(context: dict[str, Any] | None = None) -> dict[str, Any]:
    with Harness() as h:
        customer = h.invoke("POST", "/v1/customers", body={"externalId": "bench"})
        customer_id = __import__("json").loads(customer["body"])["id"]
        t = h.create_ticket(subject="calls")
        h.invoke("GET", "/v1/tickets")  # the key is in the auth cache from here on, as on a warm container
        requests = {
            "get": ("GET", f"/v1/tickets/{t['id']}", {}),
            "patch (plain fields)": ("PATCH", f"/v1/tickets/{t['id']}", {"body": {"category": "billing"}}),
            # priority moves the status x priority counters and the GSI1 partition: a read and a transaction
            "patch (priority)": ("PATCH", f"/v1/tickets/{t['id']}", {"body": {"priority": "high"}}),
            "patch (status change)": ("PATCH", f"/v1/tickets/{t['id']}", {"body": {"status": "open"}}),
            "list page + total": ("GET", "/v1/tickets", {"query": {"limit": "50"}}),
            "create": ("POST", "/v1/tickets", {"body": {"subject": "x"}}),
            "create with a customer": ("POST", "/v1/tickets", {"body": {"subject": "x", "customerId": customer_id}}),
            "delete": ("DELETE", f"/v1/tickets/{t['id']}", {}),
        }
        measured: dict[str, list[str]] = {}
        for name, (method, path, kwargs) in requests.items():
            with count_calls() as calls:
                result = h.invoke(method, path, **kwargs)
            assert result["statusCode"] < 400, result
            measured[name] = calls.operations
    rows = []
    for name, ops in measured.items():
        budget = BUDGETS[name]
        rows.append(
            {
                "section": "calls",
                "metric": f"{name}: {' + '.join(ops)}",
                "value": len(ops),
                "unit": "calls",
                "budget": f"<= {budget}" if budget is not None else None,
                "ok": len(ops) <= budget if budget is not None else None,
            }
        )
    return {"rows": rows, "data": measured}


if __name__ == "__main__":
    from bench.report import print_rows

    print_rows(run()["rows"])
