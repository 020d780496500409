"""tickets.api.resolver answers exactly as Powertools' APIGatewayHttpResolver answers (issue 16: the light path).

Every API function's route is re-registered with a recorder of the same signature on a fresh `build_app()`; each
request of a corpus (the sample event and many variants of its path, query string, headers and body) then goes
through the fast path (`app.resolve`) and through the Powertools resolver built from the same registrations
(`app.powertools().resolve`). The two answers must be equal, byte for byte, and the valid samples must take the fast
path (or the light path would be a no-op that the cold-start bench would not notice).
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from tests.utils import load_event
from tools import template
from tools.events import FakeContext

template.ensure_shared_layer_on_path()

from tickets.api import resolver  # noqa: E402
from tickets.api.http import JSON, build_app  # noqa: E402
from tickets.api.resolver import Api, Response  # noqa: E402
from tickets.errors import NotFound  # noqa: E402

API = {fn.code_uri.name: fn for fn in template.functions().values() if any(r.is_api for r in fn.routes)}
CONTEXT = FakeContext("resolver-test")


def _module_app(folder: str) -> Api:
    fn = API[folder]
    template.load_handler(fn)
    import sys

    app = sys.modules[fn.module_name].app
    assert isinstance(app, Api)
    return app


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return {"model": type(value).__name__, **value.model_dump(mode="json")}
    return value


def _recording_app(folder: str) -> Api:
    """A fresh app with the function's route, whose handler answers with what it was called with."""
    route = _module_app(folder).routes[0]

    def recorder(**kwargs: Any) -> Response:
        body = json.dumps({k: _plain(v) for k, v in sorted(kwargs.items())}, sort_keys=True)
        return Response(status_code=200, content_type=JSON, body=body, headers={"ETag": '"1"'})

    functools.update_wrapper(recorder, route.func)
    app = build_app()
    app.route(route.rule, route.method, **route.options)(recorder)
    return app


def _answer(resolve: Any, event: dict[str, Any]) -> Any:
    """The response, or the exception a malformed event makes the resolver raise (its type and message)."""
    try:
        return resolve(copy.deepcopy(event), CONTEXT)
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))


def _both(app: Api, event: dict[str, Any]) -> tuple[Any, Any]:
    return _answer(app.resolve, event), _answer(app.powertools().resolve, event)


def _with_path(event: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    out = copy.deepcopy(event)
    old = out["pathParameters"][name]
    out["pathParameters"][name] = value
    out["rawPath"] = out["rawPath"].replace(old, value, 1)
    out["requestContext"]["http"]["path"] = out["rawPath"]
    return out


def _with_query(event: dict[str, Any], params: dict[str, str], raw: str | None = None) -> dict[str, Any]:
    out = copy.deepcopy(event)
    out.pop("queryStringParameters", None)
    if params:
        out["queryStringParameters"] = dict(params)
    out["rawQueryString"] = raw if raw is not None else "&".join(f"{k}={v}" for k, v in params.items())
    return out


def _with_body(event: dict[str, Any], body: Any, content_type: str | None = JSON, b64: bool = False) -> dict[str, Any]:
    out = copy.deepcopy(event)
    headers = {k: v for k, v in (out.get("headers") or {}).items() if k.lower() != "content-type"}
    if content_type is not None:
        headers["content-type"] = content_type
    out["headers"] = headers
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    out.pop("body", None)
    out["isBase64Encoded"] = False
    if text is not None:
        out["body"] = base64.b64encode(text.encode()).decode() if b64 else text
        out["isBase64Encoded"] = b64
    return out


_QUERY_VALUES = ("", "1", "0", "-1", "20", "100", "101", "1.0", "abc", "a,b", "new,open", "NEW", "open,", ",",
                 "true", "2026-04-25T10:00:00Z", "x" * 300, "high", "-createdAt", "%20")  # fmt: skip
_PATH_VALUES = ("DEMO-1", "01KQ219W80DEM0T1CKET000000", "DEMO%2D1", "a b", "x;y=1", "ü", "x" * 250, "key_abc")
_IF_MATCH = ('"1"', 'W/"1"', '"1", "2"', "*", "", "abc", '"1",')


def _corpus(folder: str, app: Api) -> list[dict[str, Any]]:
    """The sample request, and variants of each part the route reads."""
    sample = load_event(folder)
    route = app.routes[0]
    assert route.args is not None, f"{folder}: the fast path does not model its parameters"
    events = [sample]
    for arg in route.args:
        if arg.source == "path":
            events += [_with_path(sample, arg.name if arg.name in sample["pathParameters"] else
                                  next(iter(sample["pathParameters"])), v) for v in _PATH_VALUES]  # fmt: skip
        elif arg.source == "query":
            fields = {info.alias or name for name, info in arg.model.model_fields.items()}
            for name in sorted(fields):
                events += [_with_query(sample, {name: v}) for v in _QUERY_VALUES]
            events += [
                _with_query(sample, {}),
                _with_query(sample, {"limit": "1,2"}, raw="limit=1&limit=2"),
                _with_query(sample, {"status": "new,open"}, raw="status=new&status=open"),
                _with_query(sample, {"unknown": "1"}),
                _with_query(sample, {"cursor": "abc", "offset": "0"}),
                _with_query(sample, {"cursor": "abc", "offset": "5"}),
            ]
        elif arg.source == "header":
            events += [_with_body(sample, sample.get("body"))]
            for value in _IF_MATCH:
                for header in (arg.alias, arg.alias.title()):
                    out = copy.deepcopy(sample)
                    out["headers"] = {k: v for k, v in out["headers"].items() if k.lower() != arg.alias}
                    out["headers"][header] = value
                    events.append(out)
            out = copy.deepcopy(sample)
            out["headers"] = {k: v for k, v in out["headers"].items() if k.lower() != arg.alias}
            events.append(out)
        else:
            body = json.loads(sample["body"]) if sample.get("body") else {}
            events += [
                _with_body(sample, body, b64=True),
                _with_body(sample, body, content_type="application/json; charset=utf-8"),
                _with_body(sample, body, content_type=None),
                _with_body(sample, body, content_type="text/plain"),
                _with_body(sample, body, content_type="application/x-www-form-urlencoded"),
                _with_body(sample, {}),
                _with_body(sample, {**body, "unknown": 1}),
                _with_body(sample, None),
                _with_body(sample, ""),
                _with_body(sample, "[]"),
                _with_body(sample, "[{}]"),
                _with_body(sample, "null"),
                _with_body(sample, '"text"'),
                _with_body(sample, "{"),
                _with_body(sample, '{"a": NaN}'),
                _with_body(sample, "x", b64=True),
            ]
            for name in sorted(body):
                for value in (None, 123, "x", [], {}, "", "\u00fc" * 3, True, 1.5):
                    events.append(_with_body(sample, {**body, name: value}))
    # Whatever any route reads: the method, a named stage, a trailing slash, malformed parts of the event.
    for change in (
        lambda e: e["requestContext"]["http"].update(method="PUT"),
        lambda e: e["requestContext"]["http"].update(method=e["requestContext"]["http"]["method"].lower()),
        lambda e: e.update(rawPath=e["rawPath"] + "/"),
        lambda e: (e["requestContext"].update(stage="v1"), e.update(rawPath="/v1" + e["rawPath"])),
        lambda e: e["requestContext"].update(stage="v1"),
        lambda e: e["requestContext"].pop("stage"),
        lambda e: e.update(headers={**e["headers"], "x-odd": None}),
        lambda e: e.update(queryStringParameters={**(e.get("queryStringParameters") or {}), "limit": None}),
        lambda e: e.update(cookies=["a=1", "b=2"]),
        lambda e: e.update(headers={**e["headers"], "accept-encoding": "gzip, deflate"}),
    ):
        out = copy.deepcopy(sample)
        change(out)
        events.append(out)
    return events


@pytest.mark.parametrize("folder", sorted(API))
def test_given_each_api_route_when_its_corpus_is_resolved_both_ways_then_the_answers_are_identical(folder):
    app = _recording_app(folder)
    corpus = _corpus(folder, app)
    fast_taken = 0
    for event in corpus:
        taken = app.fast_arguments(copy.deepcopy(event)) is not None
        fast, powertools = _both(app, event)
        assert fast == powertools, f"{folder}: {json.dumps(event)[:400]}"
        fast_taken += taken
    assert app.fast_arguments(load_event(folder)) is not None, f"{folder}: its sample does not take the fast path"
    assert fast_taken >= 2, f"{folder}: only {fast_taken} of {len(corpus)} requests took the fast path"


def test_given_the_route_functions_when_imported_then_every_one_takes_the_fast_path():
    slow = [folder for folder in sorted(API) if not all(r.fast for r in _module_app(folder).routes)]
    assert slow == [], f"these routes always go through Powertools (see tickets/api/resolver.py): {slow}"


def test_given_the_api_functions_then_none_imports_powertools_event_handler_itself():
    # Importing aws_lambda_powertools.event_handler (even for Query or Header) costs every cold start what the light
    # path saves: take Query, Header and Response from tickets.api.http.
    offenders = [
        folder for folder, fn in sorted(API.items())
        if "aws_lambda_powertools.event_handler" in (fn.code_uri / "app.py").read_text()
    ]  # fmt: skip
    assert offenders == []


def test_given_powertools_installed_then_the_copied_route_patterns_are_its_own():
    from aws_lambda_powertools.event_handler import api_gateway

    assert (resolver._SAFE_URI, resolver._UNSAFE_URI) == (api_gateway._SAFE_URI, api_gateway._UNSAFE_URI)
    assert resolver._NAMED_GROUP_BOUNDARY_PATTERN == api_gateway._NAMED_GROUP_BOUNDARY_PATTERN
    assert (resolver._DYNAMIC_ROUTE_PATTERN, resolver._ROUTE_REGEX) == (
        api_gateway._DYNAMIC_ROUTE_PATTERN,
        api_gateway._ROUTE_REGEX,
    )


def test_given_query_model_field_types_then_sequences_are_recognised_as_powertools_does():
    from aws_lambda_powertools.event_handler.middlewares.openapi_validation import _is_or_contains_sequence
    from pydantic import RootModel

    from tickets.models.common import PageQuery

    def subclasses(cls: type) -> list[type]:
        return [c for s in cls.__subclasses__() for c in (s, *subclasses(s))]

    for folder in API:
        _module_app(folder)
    annotations: list[Any] = [info.annotation for m in subclasses(PageQuery) for info in m.model_fields.values()]
    annotations += [
        list[str], tuple[int, ...], set[str], frozenset[str], typing.Sequence[str], typing.List[int],  # noqa: UP006
        str, bytes, int, str | None, list[str] | None, typing.Optional[list[str]], typing.Union[int, list[int]],  # noqa: UP045,UP007
        typing.Annotated[list[str], "x"], typing.Annotated[list[str], "x"] | None, dict[str, str], None,
        RootModel[list[str]], RootModel[int], typing.Any,
    ]  # fmt: skip
    assert len(annotations) > 30
    for annotation in annotations:
        assert resolver._is_sequence(annotation) == _is_or_contains_sequence(annotation), annotation


def _synthetic(result: Any, **options: Any) -> Api:
    app = build_app()

    @app.get("/v1/things/<thing_id>", **options)
    def get_thing(thing_id: str):  # no return annotation: Powertools would validate the response against one
        if isinstance(result, BaseException):
            raise result
        return copy.deepcopy(result) if not isinstance(result, Response) else result

    return app


def _thing_event(**headers: str) -> dict[str, Any]:
    from tools.events import http_event

    event = http_event("GET", "/v1/things/t1", route_path="/v1/things/{id}", path_params={"id": "t1"}, headers=headers)
    event["requestContext"]["requestId"] = "req-1"
    return event


@pytest.mark.parametrize(
    "result",
    [
        {"a": 1, "b": [1, 2]},
        ({"created": True}, 201),
        "plain text",
        None,
        [1, 2, 3],
        NotFound("no thing t1"),
        RuntimeError("boom"),
    ],
    ids=["dict", "dict-and-status", "str", "none", "list", "domain-error", "unhandled-error"],
)
def test_given_a_route_result_when_answered_both_ways_then_the_responses_are_identical(result):
    app = _synthetic(result)
    assert app.fast_arguments(_thing_event()) == {"thing_id": "t1"}
    fast, powertools = _both(app, _thing_event())
    assert fast == powertools
    if isinstance(result, NotFound):
        assert (fast["statusCode"], json.loads(fast["body"])["code"]) == (404, "NOT_FOUND")


def test_given_responses_of_every_shape_when_answered_both_ways_then_they_are_identical():
    shapes = [
        lambda: Response(200, JSON, '{"x":1}', headers={"ETag": '"3"', "X-List": ["a", "b"], "X-None": None}),
        lambda: Response(204, body=""),
        lambda: Response(200, "application/octet-stream", b"\x00\x01bytes"),
        lambda: Response(200, JSON, {"not": "a string"}),
        lambda: Response(200, JSON, None),
        lambda: Response(200, JSON, '{"zip":"me"}', compress=True),
        lambda: Response(200, JSON, '{"zip":"no"}', compress=False),
        lambda: Response(200, "text/plain", "hi", headers={"Content-Type": "text/html"}),
    ]
    assert _Fresh(shapes[0], compress=False).app.fast_arguments(_thing_event()) == {"thing_id": "t1"}
    for make in shapes:
        for headers in ({}, {"accept-encoding": "gzip, br"}):
            fast = _Fresh(make, compress=False).answer(headers)
            assert fast == _Fresh(make, compress=False).answer(headers, powertools=True)
            assert _Fresh(make, compress=True).answer(headers) == _Fresh(make, compress=True).answer(
                headers, powertools=True
            )


class _Fresh:
    """A synthetic app whose route returns a new Response each call (a Response is changed by building it)."""

    def __init__(self, make: Any, *, compress: bool) -> None:
        self.app = build_app()

        @self.app.get("/v1/things/<thing_id>", compress=compress)
        def get_thing(thing_id: str):
            return make()

    def answer(self, headers: dict[str, str], *, powertools: bool = False) -> dict[str, Any]:
        target = self.app.powertools() if powertools else self.app
        return target.resolve(_thing_event(**headers), CONTEXT)


def test_given_a_route_option_it_does_not_model_then_powertools_answers_every_request():
    app = _synthetic({"a": 1}, cache_control="max-age=60")

    assert app.routes[0].fast is False and app.fast_arguments(_thing_event()) is None
    fast, powertools = _both(app, _thing_event())
    assert fast == powertools and fast["headers"]["Cache-Control"] == "max-age=60"


def test_given_a_powertools_feature_used_on_the_app_then_it_delegates_from_then_on():
    app = _synthetic({"a": 1})
    assert app.fast_arguments(_thing_event()) == {"thing_id": "t1"}

    app.enable_swagger  # any Powertools attribute

    assert app.fast_arguments(_thing_event()) is None
    assert app.resolve(_thing_event(), CONTEXT)["statusCode"] == 200


def test_given_the_handler_appended_a_principal_when_powertools_answers_then_the_route_still_reads_it():
    app = build_app()
    seen: list[Any] = []

    @app.get("/v1/things/<thing_id>", cache_control="no-store")  # an option only Powertools applies
    def get_thing(thing_id: str):
        seen.append(app.context.get("principal"))
        return {"ok": True}

    app.append_context(principal="the caller")
    assert app.resolve(_thing_event(), CONTEXT)["statusCode"] == 200
    assert seen == ["the caller"] and app.context == {}, "the context is the request's, and cleared after it"


def test_given_a_path_the_route_does_not_match_then_the_answer_is_the_problem_404():
    app = _synthetic({"a": 1})
    event = _thing_event()
    event["rawPath"] = "/v1/other/t1"

    fast, powertools = _both(app, event)

    assert fast == powertools
    assert (fast["statusCode"], json.loads(fast["body"])["code"]) == (404, "NOT_FOUND")
