"""The cost model's billing rules (bench/capacity.py): item sizes and what an index entry costs on a write."""

from __future__ import annotations

from bench.capacity import Index, item_size, rru, wru

ALL = Index("GSI4", "GSI4PK", "GSI4SK", "ALL")
KEYS = Index("NUMBER", "reference", None, "KEYS_ONLY")  # a hash-only KEYS_ONLY index, as a what-if would be


def _ticket(**attrs: str) -> dict[str, dict[str, str]]:
    base = {"PK": "TENANT#t", "SK": "TICKET#1", "reference": "INV-1", "GSI4PK": "TENANT#t#TICKETS", "GSI4SK": "a#1"}
    return {k: {"S": v} for k, v in (base | attrs).items()}


def test_given_attributes_of_each_kind_then_the_item_size_follows_the_dynamodb_rules():
    item = {"s": {"S": "héllo"}, "n": {"N": "12345"}, "b": {"BOOL": True}, "l": {"L": [{"S": "ab"}]}}
    # names 4 + "héllo" 6 bytes + 12345 in 4 bytes (1 per 2 digits + 1) + 1 + list: 3 + 1 per element + "ab" 2
    assert item_size(item) == 4 + 6 + 4 + 1 + (3 + 1 + 2)
    assert (wru(1024), wru(1025), rru(4096, consistent=True), rru(4097, consistent=False)) == (1, 2, 1.0, 1.0)


def test_given_a_new_ticket_then_each_index_puts_its_projection_only():
    new = _ticket(description="x" * 1500)
    assert ALL.write_units(None, new) == (wru(item_size(new)), "put") == (2, "put")
    assert KEYS.write_units(None, new) == (1, "put")  # PK, SK and the key: not the description


def test_given_an_update_then_an_all_index_is_rewritten_a_keys_only_one_untouched_and_a_moved_key_costs_two():
    old, new = _ticket(description="a"), _ticket(description="b")
    assert ALL.write_units(old, new) == (1, "rewrite")
    assert KEYS.write_units(old, new) == (0, "")
    assert ALL.write_units(old, _ticket(GSI4SK="b#1")) == (2, "key change: delete + put")


def test_given_an_item_without_the_index_keys_then_it_has_no_entry_and_costs_nothing():
    sparse = {k: v for k, v in _ticket().items() if k != "GSI4PK"}
    assert ALL.write_units(sparse, sparse) == (0, "")
    assert ALL.write_units(_ticket(), sparse) == (1, "delete")
