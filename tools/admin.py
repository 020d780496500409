"""Admin CLI: tenants and their API keys, against real AWS or the local stack.

    python -m tools.admin tenant create --name Acme --prefix INV [--quota N] [--no-auto-assign]
    python -m tools.admin tenant show --tenant ID        (or: tenant show ID)
    python -m tools.admin tenant reindex --tenant ID     (a tenant made by an older release: its address and
                                                          customer email lookups, its tickets' index keys and
                                                          counters; idempotent)
    python -m tools.admin key create --tenant ID --scopes tickets:read,tickets:write   (or --scopes all)
                                     [--agent AGENT_ID] [--name NAME]    (--agent: the key acts as that agent)
    python -m tools.admin key revoke --tenant ID --key-id KEYID

The table comes from TABLE_NAME; the endpoint from the standard AWS_ENDPOINT_URL (unset means real AWS). An
endpoint on this machine (make dev's moto) needs no credentials: unless AWS_ACCESS_KEY_ID or AWS_PROFILE is set,
the CLI uses make dev's dummy ones, and make dev's region unless AWS_REGION or AWS_DEFAULT_REGION is set.
Every command prints one JSON object on stdout. Failures print {"error": {...}} on stderr and exit non-zero.
A revoked key stops working at once in new containers and within API_KEY_CACHE_SECONDS (60 s) in warm ones.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from tools.template import SHARED_LAYER

# Lambda puts the shared layer on sys.path; do the same so the CLI runs the very same logic.
if str(SHARED_LAYER) not in sys.path:
    sys.path.insert(0, str(SHARED_LAYER))

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from tickets.errors import DomainError
from tickets.logic import admin
from tickets.models.tenants import SCOPES, TenantCreate

EXIT_ERROR = 1


class CliError(Exception):
    """A usage problem found before any AWS call (e.g. TABLE_NAME missing)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def local_stack_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables to add when AWS_ENDPOINT_URL is on this machine: make dev's dummy credentials (moto takes
    any) unless credentials are chosen, and its region unless one is set. Nothing for any other endpoint."""
    from tools.devstack import FAKE_AWS_ENV

    if not _is_loopback(urlsplit(environ.get("AWS_ENDPOINT_URL") or "").hostname):
        return {}
    names: tuple[str, ...] = ()
    if not (environ.get("AWS_ACCESS_KEY_ID") or environ.get("AWS_PROFILE")):
        names += ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    if not (environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")):
        names += ("AWS_REGION", "AWS_DEFAULT_REGION")
    return {name: FAKE_AWS_ENV[name] for name in names}


def _scopes(raw: str) -> list[str]:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    return list(SCOPES) if parts == ["all"] else parts


def _tenant_id(args: argparse.Namespace) -> str:
    tenant_id = args.tenant or getattr(args, "tenant_pos", None)
    if not tenant_id:
        raise CliError("USAGE", "a tenant id is required (--tenant ID)")
    return str(tenant_id)


def tenant_create(args: argparse.Namespace) -> dict[str, Any]:
    body = TenantCreate(
        name=args.name, ticketPrefix=args.prefix, monthlyTicketQuota=args.quota, autoAssign=args.auto_assign
    )
    return admin.create_tenant(body)


def tenant_show(args: argparse.Namespace) -> dict[str, Any]:
    return admin.show_tenant(_tenant_id(args))


def tenant_reindex(args: argparse.Namespace) -> dict[str, Any]:
    return admin.reindex_tenant(_tenant_id(args))


def key_create(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = _tenant_id(args)
    admin.show_tenant(tenant_id)  # a clear NOT_FOUND instead of a cancelled transaction
    return admin.create_api_key(tenant_id, _scopes(args.scopes), name=args.name, agent_id=args.agent)


def key_revoke(args: argparse.Namespace) -> dict[str, Any]:
    return admin.revoke_api_key(_tenant_id(args), args.key_id)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.admin", description=__doc__.split("\n", 1)[0])
    groups = parser.add_subparsers(dest="group", required=True)

    tenant = groups.add_parser("tenant", help="tenants").add_subparsers(dest="command", required=True)
    create = tenant.add_parser("create", help="create a tenant")
    create.add_argument("--name", required=True)
    create.add_argument("--prefix", required=True, help="ticket reference prefix, e.g. INV for INV-1042")
    create.add_argument("--quota", type=int, default=None, help="monthly ticket quota (default: unlimited)")
    create.add_argument("--no-auto-assign", dest="auto_assign", action="store_false", help="disable auto-assignment")
    create.set_defaults(run=tenant_create)
    show = tenant.add_parser("show", help="show a tenant")
    show.add_argument("tenant_pos", nargs="?", metavar="ID")
    show.add_argument("--tenant")
    show.set_defaults(run=tenant_show)
    reindex = tenant.add_parser(
        "reindex",
        help="bring a tenant made by an older release up to date: inbound address and customer email lookups, "
        "tickets' index keys and counters (idempotent)",
    )
    reindex.add_argument("tenant_pos", nargs="?", metavar="ID")
    reindex.add_argument("--tenant")
    reindex.set_defaults(run=tenant_reindex)

    key = groups.add_parser("key", help="API keys").add_subparsers(dest="command", required=True)
    kcreate = key.add_parser("create", help="create an API key (the key is printed once)")
    kcreate.add_argument("--tenant", required=True)
    kcreate.add_argument("--scopes", required=True, help=f"comma list, or 'all' ({', '.join(SCOPES)})")
    kcreate.add_argument("--agent", default=None, help="an agent id of the tenant: the key then acts as that agent")
    kcreate.add_argument("--name", default=None, help="a name to tell the key apart in GET /v1/api-keys")
    kcreate.set_defaults(run=key_create)
    revoke = key.add_parser("revoke", help="revoke an API key")
    revoke.add_argument("--tenant", required=True)
    revoke.add_argument("--key-id", required=True)
    revoke.set_defaults(run=key_revoke)
    return parser


def _error(code: str, detail: str, status: int | None = None, errors: list[dict[str, str]] | None = None) -> int:
    body = {"error": {"code": code, "status": status, "detail": detail, "errors": errors or []}}
    print(json.dumps(body), file=sys.stderr)
    return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if not os.environ.get("TABLE_NAME"):
            raise CliError("CONFIGURATION", "TABLE_NAME is not set: export TABLE_NAME=<the stack's table name>")
        os.environ.update(local_stack_env(os.environ))
        result = args.run(args)
    except CliError as exc:
        return _error(exc.code, exc.detail)
    except DomainError as exc:
        return _error(
            exc.code,
            exc.detail or exc.title,
            exc.status,
            [{"field": e.field, "message": e.message} for e in exc.errors],
        )
    except ValidationError as exc:
        fields = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()]
        return _error("VALIDATION_ERROR", "; ".join(f"{f['field']}: {f['message']}" for f in fields), 400, fields)
    except ClientError as exc:
        err = exc.response.get("Error", {})
        return _error(err.get("Code") or "AWS_ERROR", err.get("Message") or str(exc))
    except BotoCoreError as exc:
        return _error("AWS_ERROR", str(exc))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
