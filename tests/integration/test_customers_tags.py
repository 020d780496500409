"""Customer and tag routes through the real handlers."""

from __future__ import annotations

from tests.conftest import call, items


class TestCustomers:
    def test_given_a_customer_when_created_then_read_back_and_listed_by_external_id(self, aws, tenant):
        r = call(
            "POST",
            "/v1/customers",
            key=tenant.key,
            body={
                "externalId": "cus_42",
                "name": "Ann",
                "email": "ann@example.com",
                "phone": "+33",
                "metadata": {"plan": "pro"},
            },
        )
        assert r.status == 201 and r.headers["location"] == f"/v1/customers/{r.json['id']}"
        c = r.json
        assert call("GET", f"/v1/customers/{c['id']}", key=tenant.key).json == c
        page = call("GET", "/v1/customers", key=tenant.key, query={"externalId": "cus_42"}).json
        assert [x["id"] for x in page["data"]] == [c["id"]] and page["total"] == 1
        page = call("GET", "/v1/customers", key=tenant.key, query={"externalId": "missing"}).json
        assert page["data"] == [] and page["total"] == 0

    def test_given_a_duplicate_external_id_then_409_conflict_and_one_customer(self, aws, tenant):
        assert call("POST", "/v1/customers", key=tenant.key, body={"externalId": "dup"}).status == 201
        r = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "dup"})
        assert r.status == 409 and r.json["code"] == "CONFLICT"
        assert call("GET", "/v1/customers", key=tenant.key).json["total"] == 1

    def test_given_the_same_external_id_in_two_tenants_then_both_exist(self, aws, tenant, other_tenant):
        assert call("POST", "/v1/customers", key=tenant.key, body={"externalId": "same"}).status == 201
        assert call("POST", "/v1/customers", key=other_tenant.key, body={"externalId": "same"}).status == 201

    def test_given_an_external_id_change_then_the_old_one_is_free_and_the_new_one_taken(self, aws, tenant):
        a = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "a"}).json
        call("POST", "/v1/customers", key=tenant.key, body={"externalId": "b"})
        assert call("PATCH", f"/v1/customers/{a['id']}", key=tenant.key, body={"externalId": "b"}).status == 409
        r = call("PATCH", f"/v1/customers/{a['id']}", key=tenant.key, body={"externalId": "a2", "name": "New"})
        assert r.status == 200 and r.json["externalId"] == "a2" and r.json["name"] == "New"
        assert call("POST", "/v1/customers", key=tenant.key, body={"externalId": "a"}).status == 201
        r = call("PATCH", f"/v1/customers/{a['id']}", key=tenant.key, body={"externalId": None})
        assert r.status == 400

    def test_given_a_customer_with_tickets_when_deleted_then_409_until_the_tickets_are_gone(self, aws, tenant):
        c = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "x"}).json
        t = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "s", "customerId": c["id"]}).json
        r = call("DELETE", f"/v1/customers/{c['id']}", key=tenant.key)
        assert r.status == 409 and r.json["code"] == "CONFLICT"
        call("DELETE", f"/v1/tickets/{t['id']}", key=tenant.key)
        assert call("DELETE", f"/v1/customers/{c['id']}", key=tenant.key).status == 204
        assert call("GET", f"/v1/customers/{c['id']}", key=tenant.key).status == 404
        left = [i["SK"] for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"].startswith("CUSTOMER")]
        assert left == []

    def test_given_bad_customer_input_then_400_with_field(self, aws, tenant):
        for body, field in [
            ({}, "externalId"),
            ({"externalId": "x", "email": "nope"}, "email"),
            ({"externalId": "x", "x": 1}, "x"),
        ]:
            r = call("POST", "/v1/customers", key=tenant.key, body=body)
            assert r.status == 400 and r.json["errors"][0]["field"] == field

    def test_given_another_tenants_customer_then_404_everywhere(self, aws, tenant, other_tenant):
        theirs = call("POST", "/v1/customers", key=other_tenant.key, body={"externalId": "t"}).json
        assert call("GET", f"/v1/customers/{theirs['id']}", key=tenant.key).status == 404
        assert call("PATCH", f"/v1/customers/{theirs['id']}", key=tenant.key, body={"name": "x"}).status == 404
        assert call("DELETE", f"/v1/customers/{theirs['id']}", key=tenant.key).status == 404
        assert call("GET", "/v1/customers", key=tenant.key, query={"externalId": "t"}).json["total"] == 0

    def test_given_customers_when_paged_by_cursor_then_all_once(self, aws, tenant):
        made = [
            call("POST", "/v1/customers", key=tenant.key, body={"externalId": f"c{i}"}).json["id"] for i in range(7)
        ]
        seen, cursor = [], None
        while True:
            page = call(
                "GET", "/v1/customers", key=tenant.key, query={"limit": "3", **({"cursor": cursor} if cursor else {})}
            ).json
            assert page["total"] == 7
            seen += [c["id"] for c in page["data"]]
            if not (cursor := page["nextCursor"]):
                break
        assert sorted(seen) == sorted(made) and len(seen) == 7


class TestTags:
    def test_given_tags_then_crud_and_case_insensitive_unique_names(self, aws, tenant):
        r = call("POST", "/v1/tags", key=tenant.key, body={"name": "Billing"})
        assert r.status == 201
        tag = r.json
        assert call("POST", "/v1/tags", key=tenant.key, body={"name": "billing"}).status == 409
        other = call("POST", "/v1/tags", key=tenant.key, body={"name": "vip"}).json
        assert call("PATCH", f"/v1/tags/{other['id']}", key=tenant.key, body={"name": "BILLING"}).status == 409
        r = call("PATCH", f"/v1/tags/{tag['id']}", key=tenant.key, body={"name": "billing-v2"})
        assert r.status == 200 and r.json == {"id": tag["id"], "name": "billing-v2"}
        assert call("POST", "/v1/tags", key=tenant.key, body={"name": "Billing"}).status == 201
        page = call("GET", "/v1/tags", key=tenant.key).json
        assert page["total"] == 3 and {t["name"] for t in page["data"]} == {"billing-v2", "vip", "Billing"}
        assert call("DELETE", f"/v1/tags/{tag['id']}", key=tenant.key).status == 204
        assert call("GET", f"/v1/tags/{tag['id']}", key=tenant.key).status == 404
        assert call("GET", "/v1/tags", key=tenant.key).json["total"] == 2
        assert call("POST", "/v1/tags", key=tenant.key, body={"name": "billing-v2"}).status == 201

    def test_given_tag_scopes_then_reads_need_tickets_read_and_writes_tickets_write(self, aws, tenant):
        from tests.conftest import make_tenant

        reader = make_tenant("RD", scopes=["tickets:read"])
        assert call("GET", "/v1/tags", key=reader.key).status == 200
        r = call("POST", "/v1/tags", key=reader.key, body={"name": "x"})
        assert r.status == 403 and r.json["code"] == "INSUFFICIENT_SCOPE"
