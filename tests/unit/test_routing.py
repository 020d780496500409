"""Routing decisions (logic/routing.py) and the waiting consumer's reading of stream records (logic/waiting.work_of),
over plain dicts: no AWS, no clock, milliseconds each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tickets.dal.client import serialize
from tickets.logic import routing, waiting
from tickets.logic.calendar import Calendar

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday
OPEN = Calendar.of("UTC", [{"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")])
HOLIDAY = Calendar.of("UTC", [{"day": "wed", "start": "00:00", "end": "24:00"}], ["2026-11-18"])


def agent(ident: str, **fields: Any) -> dict[str, Any]:
    return {"id": ident, "name": ident, "available": True, "level": "N1", "openTickets": 0, **fields}


def choose(method: str, agents: list[dict[str, Any]], required: tuple[str, ...] = (), **kw: Any) -> str | None:
    chosen = routing.choose_agent(method, agents, required, now=kw.pop("now", NOW), **kw)
    return chosen["id"] if chosen else None


class TestChooseAgent:
    def test_given_least_loaded_then_the_fewest_open_tickets_wins(self):
        agents = [agent("A", openTickets=3), agent("B", openTickets=1), agent("C", openTickets=2)]
        assert choose("least_loaded", agents) == "B"

    def test_given_least_loaded_ties_then_least_recently_assigned_then_id(self):
        agents = [
            agent("C", openTickets=1, lastAssignedAt="2026-11-18T09:00:00.000Z"),
            agent("B", openTickets=1, lastAssignedAt="2026-11-18T08:00:00.000Z"),
            agent("A", openTickets=1, lastAssignedAt="2026-11-18T09:00:00.000Z"),
        ]
        assert choose("least_loaded", agents) == "B"
        assert choose("least_loaded", [agents[0], agents[2]]) == "A"  # same time: the id decides
        assert choose("least_loaded", [*agents, agent("Z", openTickets=1)]) == "Z"  # never assigned comes first

    def test_given_round_robin_then_least_recently_assigned_whatever_the_load(self):
        agents = [
            agent("A", openTickets=0, lastAssignedAt="2026-11-18T09:00:00.000Z"),
            agent("B", openTickets=7, lastAssignedAt="2026-11-18T08:00:00.000Z"),
        ]
        assert choose("round_robin", agents) == "B"
        assert choose("round_robin", [*agents, agent("C", openTickets=9)]) == "C"

    def test_given_manual_routing_then_nobody_even_when_everyone_is_free(self):
        assert choose("manual", [agent("A"), agent("B")]) is None

    def test_given_capacity_then_a_full_agent_is_passed_over_and_null_means_unlimited(self):
        agents = [agent("A", openTickets=2, capacity=2), agent("B", openTickets=5, capacity=None)]
        assert choose("least_loaded", agents) == "B"
        assert choose("least_loaded", [agent("A", openTickets=2, capacity=2)]) is None
        assert choose("least_loaded", [agent("Z", openTickets=0, capacity=0)]) is None  # capacity 0: never routed

    def test_given_required_skills_then_only_agents_with_all_of_them_in_any_case(self):
        agents = [
            agent("A", skills=["French"]),
            agent("B", skills=["french", "BILLING"], openTickets=4),
            agent("C", skills=["billing"]),
        ]
        assert choose("least_loaded", agents, ("Billing", "FRENCH")) == "B"
        assert choose("least_loaded", agents, ("german",)) is None
        assert choose("least_loaded", agents, ()) == "A"

    def test_given_unavailable_or_excluded_agents_then_they_are_passed_over(self):
        agents = [agent("A", available=False), agent("B", openTickets=3), agent("C", openTickets=4)]
        assert choose("least_loaded", agents) == "B"
        assert choose("least_loaded", agents, exclude=("B",)) == "C"

    def test_given_business_hours_then_nobody_while_closed(self):
        agents = [agent("A")]
        assert choose("least_loaded", agents, calendar=OPEN) == "A"
        assert choose("least_loaded", agents, calendar=OPEN, now=datetime(2026, 11, 18, 18, 0, tzinfo=UTC)) is None
        assert choose("round_robin", agents, calendar=HOLIDAY) is None
        assert choose("round_robin", agents, calendar=None) == "A"


class TestN1Rule:
    def test_given_levels_then_only_available_n1_agents_least_loaded(self):
        agents = [agent("A", level="N2"), agent("B", openTickets=2), agent("C", openTickets=1, available=False)]
        assert routing.choose_n1(agents)["id"] == "B"
        assert routing.choose_n1([agent("A", level="N3")]) is None

    def test_given_capacity_and_skills_then_the_n1_rule_respects_them_too(self):
        agents = [agent("A", capacity=1, openTickets=1), agent("B", openTickets=3, skills=["vip"])]
        assert routing.choose_n1(agents)["id"] == "B"
        assert routing.choose_n1(agents, ["VIP"])["id"] == "B"
        assert routing.choose_n1(agents, ["sso"]) is None


class TestWaiting:
    def entry(self, rank: int, ident: str, skills: tuple[str, ...] = ()) -> dict[str, Any]:
        return {"id": ident, "sort": f"{rank}#{ident}", "requiredSkills": list(skills)}

    def test_given_queues_then_the_most_urgent_then_oldest_across_groups_that_the_agent_can_take(self):
        queues = {
            "G1": [self.entry(2, "01B"), self.entry(3, "01A")],
            "G2": [self.entry(0, "01D", ("sso",)), self.entry(2, "01C")],
        }
        assert routing.choose_waiting(agent("A"), queues) == ("G1", queues["G1"][0])  # 2#01B < 2#01C
        assert routing.choose_waiting(agent("A", skills=["SSO"]), queues) == ("G2", queues["G2"][0])
        assert routing.choose_waiting(agent("A"), queues, skip={"01B"}) == ("G2", queues["G2"][1])
        assert routing.choose_waiting(agent("A"), {"G1": []}) is None

    def test_given_a_priority_then_its_rank_sorts_critical_first_and_ids_oldest_first(self):
        from tickets.dal import keys

        order = sorted(
            [keys.waiting_sort(p, i) for p, i in [("low", "01A"), ("critical", "01C"), ("critical", "01B"),
                                                   ("urgent", "01A"), ("medium", "01A"), ("high", "01A")]]
        )  # fmt: skip
        assert order == ["0#01B", "0#01C", "1#01A", "2#01A", "3#01A", "4#01A"]

    def test_given_an_agent_change_then_may_take_more_only_when_it_can(self):
        base = agent("A", capacity=2, skills=["billing"], groupIds=["G1"])
        assert routing.may_take_more({**base, "available": False}, base)
        assert not routing.may_take_more(base, {**base, "available": False})
        assert routing.may_take_more(base, {**base, "capacity": 3})
        assert routing.may_take_more(base, {**base, "capacity": None})
        assert not routing.may_take_more(base, {**base, "capacity": 1})
        assert not routing.may_take_more({**base, "capacity": None}, {**base, "capacity": 9})
        assert routing.may_take_more(base, {**base, "skills": ["Billing", "sso"]})
        assert not routing.may_take_more(base, {**base, "skills": ["BILLING"]})
        assert routing.may_take_more(base, {**base, "groupIds": ["G1", "G2"]})
        assert not routing.may_take_more(base, {**base, "groupIds": []})
        assert not routing.may_take_more(base, {**base, "name": "Ann"})

    def test_given_assignment_then_a_new_ticket_opens_and_other_statuses_stay(self):
        a = agent("A", email="a@x.io")
        assert routing.assignment({"status": "new"}, a) == {
            "assigneeId": "A", "assignee": {"id": "A", "name": "A", "email": "a@x.io"}, "status": "open",
        }  # fmt: skip
        assert "status" not in routing.assignment({"status": "pending"}, a)

    @pytest.mark.parametrize(
        ("old", "new", "routes"),
        [
            (None, {"groupId": "G", "status": "new"}, True),
            (None, {"groupId": "G", "status": "new", "assigneeId": "A"}, False),
            (None, {"groupId": "G", "status": "resolved"}, False),
            ({"groupId": "G", "status": "new"}, {"groupId": "G", "status": "new"}, False),
            ({"groupId": None, "status": "open"}, {"groupId": "G", "status": "open"}, True),
            ({"groupId": "G1", "status": "open"}, {"groupId": "G2", "status": "open"}, True),
            ({"groupId": "G", "status": "open"}, {"groupId": None, "status": "open"}, False),
        ],
    )
    def test_given_a_write_then_it_routes_only_when_it_gives_an_unassigned_unfinished_ticket_a_new_group(
        self, old, new, routes
    ):
        assert routing.routes_on_write(old, new) is routes


# ------------------------------------------------------------------------------------------------ stream records


def record(name: str, new: dict[str, Any] | None, old: dict[str, Any] | None) -> dict[str, Any]:
    change: dict[str, Any] = {}
    if new is not None:
        change["NewImage"] = serialize(new)
    if old is not None:
        change["OldImage"] = serialize(old)
    return {"eventID": "e1", "eventName": name, "dynamodb": change}


TICKET = {"type": "ticket", "tenantId": "T", "id": "01T", "status": "open", "version": 3, "groupId": "G"}


class TestWorkOf:
    def test_given_a_resolved_ticket_then_its_agent_is_offered_one_slot_never_that_ticket(self):
        old = {**TICKET, "assigneeId": "A"}
        work = waiting.work_of(record("MODIFY", {**old, "status": "resolved", "version": 4}, old))
        assert work is not None and work.tenant_id == "T" and work.routes == []
        assert work.offers == [waiting.Offer("A", "ticket#01T#4", 1, skip=("01T",))]

    def test_given_a_reassignment_then_the_previous_agent_is_offered_its_slot(self):
        old = {**TICKET, "assigneeId": "A"}
        work = waiting.work_of(record("MODIFY", {**old, "assigneeId": "B", "version": 4}, old))
        assert work is not None and [o.agent_id for o in work.offers] == ["A"]

    def test_given_an_unassigned_grouped_ticket_then_a_slot_and_a_route_that_leaves_out_the_agent(self):
        old = {**TICKET, "assigneeId": "A"}
        new = {**TICKET, "version": 4}
        work = waiting.work_of(record("MODIFY", new, old))
        assert work is not None
        assert work.routes == [waiting.Route("01T", ("A",))]
        assert work.offers == [waiting.Offer("A", "ticket#01T#4", 1, skip=("01T",))]

    def test_given_a_deleted_open_assigned_ticket_then_a_slot_named_after_the_deletion(self):
        old = {**TICKET, "assigneeId": "A"}
        work = waiting.work_of(record("REMOVE", None, old))
        assert work is not None and work.offers == [waiting.Offer("A", "ticket#01T#3-deleted", 1, skip=("01T",))]

    def test_given_a_created_waiting_ticket_then_it_is_routed(self):
        work = waiting.work_of(record("INSERT", {**TICKET, "version": 1}, None))
        assert work is not None and work.routes == [waiting.Route("01T", ())] and work.offers == []

    @pytest.mark.parametrize(
        "change",
        [
            {"priority": "high"},  # still waiting in the same group
            {"deletedAt": "2026-11-18T10:00:00.000Z"},  # a deletion stamp: no change routing cares about
        ],
    )
    def test_given_a_change_routing_does_not_care_about_then_nothing(self, change):
        assert waiting.work_of(record("MODIFY", {**TICKET, **change}, TICKET)) is None
        assigned = {**TICKET, "assigneeId": "A"}
        assert waiting.work_of(record("MODIFY", {**assigned, **change}, assigned)) is None

    def test_given_an_agent_that_may_take_more_then_a_fill_offer_named_after_its_change(self):
        old = {"type": "agent", "tenantId": "T", "id": "A", "available": False, "updatedAt": "t1"}
        work = waiting.work_of(record("MODIFY", {**old, "available": True, "updatedAt": "t2"}, old))
        assert work is not None and len(work.offers) == 1
        offer = work.offers[0]
        assert (offer.agent_id, offer.limit, offer.trigger.startswith("agent#A#t2#")) == ("A", waiting.FILL_LIMIT, True)
        assert waiting.work_of(record("MODIFY", {**old, "name": "x"}, old)) is None

    def test_given_a_group_that_routes_again_then_its_queue_is_drained_by_its_own_method(self):
        old = {"type": "group", "tenantId": "T", "id": "G", "routing": "manual", "agentIds": ["A", "B"], "version": 2}
        new = {**old, "routing": "round_robin", "version": 3}
        work = waiting.work_of(record("MODIFY", new, old))
        assert work is not None and (work.drains, work.offers, work.routes) == (["G"], [], [])
        hours = waiting.work_of(record("MODIFY", {**new, "businessHoursId": "BH", "version": 4}, new))
        assert hours is not None and hours.drains == ["G"]
        assert waiting.work_of(record("MODIFY", {**old, "routing": "manual", "name": "x"}, old)) is None
        assert waiting.work_of(record("MODIFY", {**new, "routing": "manual"}, new)) is None
        assert waiting.work_of(record("MODIFY", {**new, "agentIds": ["A"], "version": 4}, new)) is None
