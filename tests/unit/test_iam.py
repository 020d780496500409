"""The IAM model of tools/iam.py: which actions and resources a call needs, and what a policy allows."""

from __future__ import annotations

from typing import Any

import pytest

from tools import iam, template

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t"
INDEX = f"{TABLE}/index/*"


def _policy(*statements: dict[str, Any]) -> iam.Policy:
    return iam.Policy("Fn", tuple(iam._statement("Fn", st, {}) for st in statements))


def _allow(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


# ------------------------------------------------------------------------------------------------ requested


def test_given_a_transaction_then_each_item_needs_its_single_item_action_on_its_table():
    items = [
        {"Put": {"TableName": "t", "Item": {}}},
        {"Update": {"TableName": "t", "Key": {}, "UpdateExpression": "SET a = :a"}},
        {"ConditionCheck": {"TableName": "other", "Key": {}, "ConditionExpression": "attribute_exists(PK)"}},
        {"Delete": {"TableName": "t", "Key": {}}},
    ]
    assert iam.requested("dynamodb", "TransactWriteItems", {"TransactItems": items}) == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:UpdateItem", TABLE),
        ("dynamodb:ConditionCheckItem", "arn:aws:dynamodb:us-east-1:123456789012:table/other"),
        ("dynamodb:DeleteItem", TABLE),
    ]


def test_given_a_query_on_an_index_then_the_index_is_the_resource_and_on_the_table_the_table():
    on_index = iam.requested("dynamodb", "Query", {"TableName": "t", "IndexName": "GSI1"})
    on_table = iam.requested("dynamodb", "Query", {"TableName": "t"})
    assert (on_index, on_table) == ([("dynamodb:Query", f"{TABLE}/index/GSI1")], [("dynamodb:Query", TABLE)])


def test_given_batch_calls_then_they_are_their_own_actions_once_per_table():
    gets = iam.requested("dynamodb", "BatchGetItem", {"RequestItems": {"t": {"Keys": [{}, {}]}, "u": {"Keys": [{}]}}})
    writes = iam.requested("dynamodb", "BatchWriteItem", {"RequestItems": {"t": []}})
    assert gets == [("dynamodb:BatchGetItem", TABLE), ("dynamodb:BatchGetItem", TABLE[:-1] + "u")]
    assert writes == [("dynamodb:BatchWriteItem", TABLE)]


def test_given_sqs_events_and_ses_calls_then_their_resources_are_the_queue_the_bus_and_the_identity():
    url = "http://127.0.0.1:4566/123456789012/WebhookDeliveryQueue"
    assert iam.requested("sqs", "SendMessageBatch", {"QueueUrl": url, "Entries": []}) == [
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:WebhookDeliveryQueue")
    ]
    assert iam.requested("events", "PutEvents", {"Entries": [{"Detail": "{}"}, {"EventBusName": "b"}]}) == [
        ("events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/default"),
        ("events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/b"),
    ]
    sent = iam.requested("sesv2", "SendEmail", {"FromEmailAddress": "Tickets <tickets@example.com>"})
    assert sent == [("ses:SendEmail", "arn:aws:ses:us-east-1:123456789012:identity/tickets@example.com")]


def test_given_an_operation_the_model_does_not_know_then_it_needs_the_action_on_everything():
    assert iam.requested("kms", "Decrypt", {"KeyId": "k"}) == [("kms:Decrypt", "*")]


@pytest.mark.parametrize(
    ("op", "params", "wanted"),
    [
        ("GetObject", {"Bucket": "b", "Key": "t/T1/a"}, [("s3:GetObject", "arn:aws:s3:::b/t/T1/a")]),
        ("HeadObject", {"Bucket": "b", "Key": "u/T1/a"}, [("s3:GetObject", "arn:aws:s3:::b/u/T1/a")]),
        ("DeleteObject", {"Bucket": "b", "Key": "t/T1/a"}, [("s3:DeleteObject", "arn:aws:s3:::b/t/T1/a")]),
        ("ListObjectsV2", {"Bucket": "b", "Prefix": "t/"}, [("s3:ListBucket", "arn:aws:s3:::b")]),
        ("CopyObject", {"Bucket": "b", "Key": "t/T1/a", "CopySource": {"Bucket": "b", "Key": "u/T1/a"}},
         [("s3:GetObject", "arn:aws:s3:::b/u/T1/a"), ("s3:PutObject", "arn:aws:s3:::b/t/T1/a")]),
        ("CopyObject", {"Bucket": "b", "Key": "t/T1/a", "CopySource": "b/u/T1/a?versionId=1", "Tagging": "state=x"},
         [("s3:GetObject", "arn:aws:s3:::b/u/T1/a"), ("s3:PutObject", "arn:aws:s3:::b/t/T1/a"),
          ("s3:PutObjectTagging", "arn:aws:s3:::b/t/T1/a")]),
    ],
)  # fmt: skip
def test_given_s3_calls_then_they_need_the_object_or_bucket_actions_iam_checks(op, params, wanted):
    assert iam.requested("s3", op, params) == wanted


def _tagging(state: str) -> dict:
    return {"Bucket": "b", "Key": "t/T1/a", "Tagging": {"TagSet": [{"Key": "state", "Value": state}]}}


def test_given_a_condition_on_a_request_tag_then_only_a_request_setting_that_tag_is_allowed():
    statement = {"Effect": "Allow", "Action": ["s3:PutObjectTagging"], "Resource": "arn:aws:s3:::b/t/*",
                 "Condition": {"StringEquals": {"s3:RequestObjectTag/state": "claimed"}}}  # fmt: skip
    policy = iam.Policy("F", (iam._statement("F", statement, {}),))
    ((action, resource, claimed),) = iam.requested_with_context("s3", "PutObjectTagging", _tagging("claimed"))
    ((_, _, other),) = iam.requested_with_context("s3", "PutObjectTagging", _tagging("unclaimed"))
    assert policy.decide(action, resource, claimed).allowed
    assert not policy.decide(action, resource, other).allowed
    assert not policy.decide(action, resource, {}).allowed  # a request without the tag never matches


# ------------------------------------------------------------------------------------------------ decide


def test_given_an_action_the_policy_does_not_list_then_denied_with_the_reason():
    decision = _policy(_allow(["dynamodb:GetItem"], [TABLE])).decide("dynamodb:PutItem", TABLE)
    assert not decision.allowed and decision.grant is None
    assert "no statement" in decision.reason and "dynamodb:PutItem" in decision.reason


def test_given_a_query_on_an_index_without_the_index_grant_then_denied_and_with_it_allowed():
    table_only = _policy(_allow(["dynamodb:Query"], [TABLE]))
    with_index = _policy(_allow(["dynamodb:Query"], [TABLE, INDEX]))
    assert not table_only.decide("dynamodb:Query", f"{TABLE}/index/GSI1").allowed
    assert table_only.decide("dynamodb:Query", TABLE).grant == (0, 0)
    assert with_index.decide("dynamodb:Query", f"{TABLE}/index/GSI1").grant == (0, 1)


def test_given_wildcards_then_star_spans_separators_question_mark_is_one_character_and_brackets_are_literal():
    policy = _policy(
        _allow(["dynamodb:Get*"], ["arn:aws:dynamodb:*:123456789012:table/t*"]),
        _allow(["sqs:SendMessage"], ["arn:aws:sqs:us-east-1:123456789012:q?"]),
    )
    assert policy.decide("DynamoDB:getitem", TABLE).allowed  # action names ignore case
    assert policy.decide("dynamodb:GetItem", f"{TABLE}/index/GSI1").allowed  # `*` crosses "/"
    assert not policy.decide("dynamodb:PutItem", TABLE).allowed
    assert policy.decide("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q1").allowed
    assert not policy.decide("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q12").allowed
    assert not iam.glob_match("table/[ab]", "table/a") and iam.glob_match("table/[ab]", "table/[ab]")


def test_given_a_resource_that_differs_in_case_then_denied():
    assert not _policy(_allow(["dynamodb:GetItem"], [TABLE])).decide("dynamodb:GetItem", TABLE.upper()).allowed


def test_given_an_explicit_deny_then_it_wins_over_any_allow():
    policy = _policy(
        _allow(["dynamodb:*"], [TABLE]),
        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"},
    )
    assert policy.decide("dynamodb:GetItem", TABLE).allowed
    denied = policy.decide("dynamodb:DeleteItem", TABLE)
    assert not denied.allowed and "explicit Deny (statement 1)" in denied.reason


def test_given_not_action_and_not_resource_then_they_allow_everything_else():
    policy = _policy({"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "NotResource": f"{TABLE}/index/*"})
    assert policy.decide("dynamodb:PutItem", TABLE).grant == (0, -1)
    assert not policy.decide("dynamodb:DeleteItem", TABLE).allowed
    assert not policy.decide("dynamodb:Query", f"{TABLE}/index/GSI1").allowed


# ------------------------------------------------------------------------------------------------ the template


def test_given_the_template_then_every_function_has_a_policy_resolved_to_local_arns():
    policies = iam.policies(iam.local_refs("t"))
    assert set(policies) == set(template.functions())
    listing = policies["ListTicketsFunction"]
    assert listing.decide("dynamodb:Query", f"{TABLE}/index/GSI1").allowed
    assert not policies["GetTicketFunction"].decide("dynamodb:PutItem", TABLE).allowed
    deliver = policies["DeliverWebhookFunction"]
    assert deliver.decide("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:WebhookDeliveryQueue").allowed
    assert not deliver.decide("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:StreamFailureDLQ").allowed
    email = policies["SendAssignmentEmailFunction"]
    assert email.decide("ses:SendEmail", "arn:aws:ses:us-east-1:123456789012:identity/tickets@example.com").allowed


def test_given_a_managed_policy_of_the_template_then_it_is_part_of_the_functions_policy(edited_template):
    edited_template["Resources"]["ReadTickets"] = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "PolicyDocument": {
                "Statement": [
                    {"Effect": "Allow", "Action": "dynamodb:BatchGetItem", "Resource": {"Fn::GetAtt": ["Table", "Arn"]}}
                ]
            }
        },
    }
    edited_template["Resources"]["GetTicketFunction"]["Properties"]["Policies"].append({"Ref": "ReadTickets"})
    policy = iam.policies(iam.local_refs("t"))["GetTicketFunction"]
    assert policy.decide("dynamodb:BatchGetItem", TABLE).grant == (1, 0)


@pytest.mark.parametrize(
    "entry",
    [
        "AmazonDynamoDBFullAccess",
        {"DynamoDBCrudPolicy": {"TableName": {"Ref": "Table"}}},
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "dynamodb:GetItem",
                    "Resource": "*",
                    "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                }
            ]
        },
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "dynamodb:GetItem",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalTag/team": "x"}},
                }
            ]
        },
    ],
    ids=["aws-managed", "sam-template", "condition-operator", "condition-key"],
)
def test_given_a_policy_the_model_cannot_evaluate_then_it_refuses_to_guess(edited_template, entry):
    edited_template["Resources"]["GetTicketFunction"]["Properties"]["Policies"].append(entry)
    with pytest.raises(iam.Unmodelled, match="GetTicketFunction"):
        iam.policies(iam.local_refs("t"))


def test_given_a_kept_rare_path_then_the_template_still_grants_it():
    granted = {
        (name, action)
        for name, policy in iam.policies(iam.local_refs("t")).items()
        for st in policy.statements
        for action in st.actions
    }
    assert set(iam.RARE_PATHS) <= granted, set(iam.RARE_PATHS) - granted


# ------------------------------------------------------------------------------------------------ the report


def test_given_usage_then_unused_actions_and_resources_are_listed_and_the_on_failure_hand_off_explained():
    used = {
        "ListTicketsFunction": {"dynamodb:GetItem": [[0, 0]]},  # never a Query, never the index
        "RecordTicketHistoryFunction": {"dynamodb:PutItem": [[0, 0]]},
    }
    unused = {(u.function, u.kind, u.what): u.note for u in iam.unused_grants(used)}
    assert unused[("ListTicketsFunction", "action", "dynamodb:Query")] == ""
    assert unused[("ListTicketsFunction", "resource", '!Sub "${Table.Arn}/index/*"')] == ""
    assert "OnFailure" in unused[("RecordTicketHistoryFunction", "action", "sqs:SendMessage")]
    assert not any(f not in used for f, _, _ in unused)


def test_given_a_partial_run_then_the_summary_counts_and_leaves_the_grant_report_to_a_whole_run():
    lines = iam.summary({"calls": 3, "used": {"GetTicketFunction": {"dynamodb:GetItem": [[0, 0]]}}})
    assert lines[0] == (
        "IAM: 3 AWS calls of 1 functions checked against their template.yaml policies, "
        "1 distinct (function, action) pairs"
    )
    assert lines[1:] == [
        f"  {len(template.functions()) - 1} functions did not run; the grants no call used are listed after a whole run"
    ]


def test_given_a_whole_run_then_the_summary_lists_unused_grants_and_why_some_are_kept():
    used = {name: {"dynamodb:GetItem": [[0, 0]]} for name in template.functions()}
    lines = iam.summary({"calls": 45, "used": used})
    assert any(line.startswith("  grants no call used (") for line in lines)
    assert "    ListTicketsFunction: action dynamodb:Query (statement 0) was never used" in lines
    kept = "    FanoutWebhooksFunction: action sqs:SendMessage (statement 1) was never used; kept: Lambda sends"
    assert any(line.startswith(kept) for line in lines)


def test_given_two_snapshots_then_merging_unions_the_grants_but_not_the_denials():
    rec = iam.Recorder()
    rec.use("F", "dynamodb:GetItem", (0, 0))
    rec.count()
    merged = {"calls": 2, "used": {"F": {"dynamodb:GetItem": [[0, 1]]}, "G": {"sqs:SendMessage": [[1, 0]]}}}
    rec.merge({**merged, "denials": ["x"]})
    assert rec.snapshot() == {
        "calls": 3,
        "used": {"F": {"dynamodb:GetItem": [[0, 0], [0, 1]]}, "G": {"sqs:SendMessage": [[1, 0]]}},
        "denials": [],
    }
