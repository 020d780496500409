"""Pure helpers: identifiers, cursors, key formats."""

from __future__ import annotations

import base64
import json

import pytest

from tickets import ids
from tickets.config import settings
from tickets.dal import keys
from tickets.errors import ValidationFailed
from tickets.logic import cursor
from tools import template


@pytest.fixture(autouse=True)
def _restore_generator_state():
    """These tests feed the monotonic generator far-future times; later ids must not inherit them."""
    saved = (ids._last_ms, ids._last_rand)
    yield
    ids._last_ms, ids._last_rand = saved


def test_given_ids_made_in_sequence_then_they_sort_in_creation_order_even_within_one_millisecond():
    made = [ids.new_id(4_100_000_000_000) for _ in range(50)] + [ids.new_id(4_100_000_000_001)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(ids.is_ulid(i) for i in made)


def test_given_a_millisecond_then_bounds_enclose_every_id_of_that_millisecond():
    ms = 4_000_000_000_123  # later than any clock here, so the monotonic generator keeps it
    i = ids.new_id(ms)
    assert ids.timestamp_ms(i) == ms
    assert ids.bound_for_ms(ms, upper=False) <= i <= ids.bound_for_ms(ms, upper=True)
    assert ids.bound_for_ms(ms + 1, upper=False) > i


def test_given_a_ticket_then_every_index_partition_starts_with_its_tenant():
    ticket = {"id": "01J", "status": "open", "priority": "low", "updatedAt": "2026", "customerId": "C"}
    ticket["assigneeId"] = "A"
    index_keys = keys.ticket_index_keys("T1", ticket)
    assert all(v.startswith("TENANT#T1#") for k, v in index_keys.items() if k.endswith("PK"))
    assert "GSI2PK" not in keys.ticket_index_keys("T1", {**ticket, "customerId": None})


def _decoded(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _encoded(data: dict) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":"), sort_keys=True).encode()).decode().rstrip("=")
    )


KEY = {"PK": "TENANT#T1", "SK": "TICKET#01J"}
FP = cursor.fingerprint("T1", {"status": ["open"]})


def test_given_a_cursor_then_it_round_trips_only_for_the_same_tenant_and_query():
    token = cursor.encode(KEY, FP)
    assert cursor.decode(token, FP, "T1", {"PK", "SK"}) == KEY
    with pytest.raises(ValidationFailed):
        cursor.decode(token, cursor.fingerprint("T1", {"status": ["new"]}), "T1", {"PK", "SK"})
    with pytest.raises(ValidationFailed):
        cursor.decode(token, FP, "T2", {"PK", "SK"})
    with pytest.raises(ValidationFailed):  # signed, but outside the caller's tenant: refused all the same
        cursor.decode(cursor.encode({"PK": "TENANT#T10", "SK": "x"}, FP), FP, "T1", {"PK", "SK"})
    with pytest.raises(ValidationFailed):
        cursor.decode(token, FP, "T1", {"GSI1PK", "GSI1SK", "PK", "SK"})
    for garbage in ["", "!!!", "e30", token[:-4], token + "A", "W10", "[" * 2000]:
        with pytest.raises(ValidationFailed):
            cursor.decode(garbage, FP, "T1", {"PK", "SK"})


def test_given_a_signed_cursor_when_any_part_is_edited_then_it_is_refused():
    token = cursor.encode(KEY, FP)
    data = _decoded(token)
    assert set(data) == {"k", "f", "s"} and data["k"] == KEY
    edits = [
        {**data, "k": {**KEY, "SK": "TICKET#01K"}},  # another key in the caller's own tenant: only the MAC stops it
        {**data, "f": cursor.fingerprint("T1", {})},
        {**data, "s": data["s"][:-1] + ("A" if data["s"][-1] != "A" else "B")},
        {k: v for k, v in data.items() if k != "s"},
        {**data, "x": 1},
    ]
    forged = [_encoded(e) for e in edits]
    forged.append(base64.urlsafe_b64encode(json.dumps(data, indent=1).encode()).decode())  # same JSON, re-spelled
    for i in range(len(token)):  # every single-character change of the token itself
        c = token[i]
        forged.append(token[:i] + ("A" if c != "A" else "B") + token[i + 1 :])
    for bad in forged:
        with pytest.raises(ValidationFailed) as exc:
            cursor.decode(bad, FP, "T1", {"PK", "SK"})
        assert exc.value.errors[0].field == "cursor"


def test_given_another_signing_key_then_the_same_cursor_is_refused(monkeypatch):
    token = cursor.encode(KEY, FP)
    monkeypatch.setenv("CURSOR_SIGNING_KEY", "another-deployment")
    settings.cache_clear()
    try:
        with pytest.raises(ValidationFailed):
            cursor.decode(token, FP, "T1", {"PK", "SK"})
        assert cursor.decode(cursor.encode(KEY, FP), FP, "T1", {"PK", "SK"}) == KEY
        monkeypatch.setenv("CURSOR_SIGNING_KEY", "")
        settings.cache_clear()
        with pytest.raises(RuntimeError):  # no key is a configuration error, never an unsigned cursor
            cursor.encode(KEY, FP)
    finally:
        monkeypatch.undo()
        settings.cache_clear()


def test_given_the_settings_then_the_signing_key_never_shows_in_their_repr(monkeypatch):
    monkeypatch.setenv("CURSOR_SIGNING_KEY", "s3cr3t-value")
    settings.cache_clear()
    try:
        shown = repr(settings()) + str(settings()) + settings().model_dump_json()
        assert "s3cr3t-value" not in shown and settings().cursor_signing_key.get_secret_value() == "s3cr3t-value"
    finally:
        monkeypatch.undo()
        settings.cache_clear()


def test_given_the_template_then_exactly_the_paging_functions_get_the_signing_key_under_the_reference_limit():
    functions = template.functions()
    assert template.resources("AWS::SecretsManager::Secret")["CursorSigningSecret"]["Properties"][
        "GenerateSecretString"
    ]
    ref = {"Fn::Sub": "{{resolve:secretsmanager:${CursorSigningSecret}:SecretString}}"}
    spec = json.loads((template.ROOT / "docs" / "openapi.json").read_text())
    paging = {
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if any(p.get("name") in ("cursor", "after") for p in op.get("parameters", []))  # after: the change feed's
    }
    assert len(paging) >= 8
    for fn in functions.values():
        pages = any((r.method, r.path) in paging for r in fn.routes)
        assert (fn.environment.get("CURSOR_SIGNING_KEY") == ref) == pages, fn.name  # least privilege
    # Each copy is a dynamic reference, and CloudFormation resolves at most 60 per template.
    copies = sum("CURSOR_SIGNING_KEY" in fn.environment for fn in functions.values())
    assert copies <= 60
    env = template.resolve_env(functions["ListTicketsFunction"].environment, {"Table": "t"})
    assert env["CURSOR_SIGNING_KEY"] == "local-CursorSigningSecret-not-secret"  # tests: fixed; make dev: random
    refs = template.build_refs(table={"Table": "t"}, secrets={"CursorSigningSecret": "dev-random"})
    assert (
        template.resolve_env(functions["ListTicketsFunction"].environment, refs)["CURSOR_SIGNING_KEY"] == "dev-random"
    )


def test_given_a_ulid_then_before_and_after_are_its_neighbours_in_sort_order():
    from tickets import ids as idgen

    u = "01J0000000000000000000000A"
    assert (idgen.before(u), idgen.after(u)) == ("01J00000000000000000000009", "01J0000000000000000000000B")
    assert idgen.before("01J00000000000000000000000") == "01HZZZZZZZZZZZZZZZZZZZZZZZ"  # borrows
    assert idgen.after("01JZZZZZZZZZZZZZZZZZZZZZZZ") == "01K00000000000000000000000"  # carries
    assert idgen.before("0" * 26) is None and idgen.after("7" + "Z" * 25) is None  # past either end


def test_given_paging_state_then_it_is_signed_with_the_cursor_and_edits_are_refused():
    token = cursor.encode({"p": "01J0000000000000000000000A"}, FP, {"n": 51, "o": 0})
    data = _decoded(token)
    assert data["m"] == {"n": 51}  # zero counts are left out
    assert cursor.decode_with_meta(token, FP, "T1", {"p"}) == ({"p": "01J0000000000000000000000A"}, {"n": 51})
    assert cursor.decode_with_meta(cursor.encode({"p": "x"}, FP), FP, "T1", {"p"}) == ({"p": "x"}, {})
    for meta in ({"n": 52}, {"n": 51, "o": 3}, {"n": -1}, {"n": "51"}, {"x": 1}, {}, {"n": 10**10}):
        with pytest.raises(ValidationFailed):
            cursor.decode_with_meta(_encoded({**data, "m": meta}), FP, "T1", {"p"})
    with pytest.raises(ValidationFailed):  # the state removed: the signature no longer matches
        cursor.decode_with_meta(_encoded({k: v for k, v in data.items() if k != "m"}), FP, "T1", {"p"})
