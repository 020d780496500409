"""A one-route resolver that answers as Powertools' APIGatewayHttpResolver does, without importing it on the way.

Importing Powertools' event handler costs about a sixth of the cold-start floor (issue 16): it loads every resolver,
every event data class and asyncio. Each of our functions serves one route, so a request needs little of that. `Api`
takes the same decorators (`@app.get(...)`, `exception_handler`, ...) and answers by itself the requests whose every
parameter it models, exactly as Powertools would (tests/unit/test_resolver.py compares the two):

- path ids (`ticket_id: str`), one body model (`body: TicketCreate`), a query model
  (`query: Annotated[TicketListQuery, Query()]`) and string headers (`Annotated[str | None, Header(alias=...)]`);
- a route whose handler returns a Response (or a dict, or a (dict, status) pair), with or without `compress`.

Everything else goes to a real APIGatewayHttpResolver, built once from the same routes and exception handlers: a
request that fails validation (so its 400 is Powertools' own error list), a path the route does not match, a parameter
shape or route option not listed above, any other Powertools attribute used on the app (`app.use(...)`,
`app.include_router(...)`: the app then always delegates), and POWERTOOLS_DEV. The OpenAPI document comes from that
resolver too (`get_openapi_schema`, tools/openapi.py), so it is what Powertools makes of the same routes.

`Query` and `Header` here are Powertools' markers of the same name, carried lazily: importing them from Powertools
(`aws_lambda_powertools.event_handler.openapi.params`) would import the whole event handler again.
"""

from __future__ import annotations

import base64
import inspect
import json
import os
import re
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints
from urllib.parse import parse_qs

from pydantic import BaseModel, ValidationError

# Powertools' route patterns (api_gateway.py), copied so that a path matches here exactly when it matches there;
# tests/unit/test_resolver.py checks them against the installed Powertools.
_SAFE_URI = "-._~()'!*:@,;=+&$"
_UNSAFE_URI = r"%<> \[\]{}|^"
_DYNAMIC_ROUTE_PATTERN = r"(<\w+>)"
_NAMED_GROUP_BOUNDARY_PATTERN = rf"(?P\1[{_SAFE_URI}{_UNSAFE_URI}\\w]+)"
_ROUTE_REGEX = "^{}$"
JSON = "application/json"
_TRUE = frozenset({"1", "y", "yes", "t", "true", "on"})

# Route options that only describe the route in the OpenAPI document, and those the fast path applies itself.
_DOC_OPTIONS = frozenset(
    {
        "summary", "description", "responses", "response_description", "tags", "operation_id", "include_in_schema",
        "security", "openapi_extensions", "deprecated",
    }
)  # fmt: skip
_FAST_OPTIONS = _DOC_OPTIONS | {"compress", "status_code"}
# Keyword arguments of a Query()/Header() marker that change nothing at run time beyond the name it reads.
_DOC_MARKER_ARGS = frozenset({"alias", "description", "title", "examples", "openapi_examples", "deprecated"})


class Param:
    """A parameter marker that becomes Powertools' marker of the same class name, with the same arguments."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def powertools(self) -> Any:
        from aws_lambda_powertools.event_handler.openapi import params

        return getattr(params, type(self).__name__)(**self.kwargs)


class Query(Param):
    """`Annotated[SomeQuery, Query()]`: the query string, as one model (Powertools' Query)."""


class Header(Param):
    """`Annotated[str | None, Header(alias="if-match")] = None`: one request header (Powertools' Header)."""


class Response:
    """What a route returns: Powertools' Response, with the same arguments and attributes."""

    def __init__(
        self,
        status_code: int,
        content_type: str | None = None,
        body: Any = None,
        headers: Mapping[str, str | list[str]] | None = None,
        cookies: list[Any] | None = None,
        compress: bool | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.base64_encoded = False
        self.headers: dict[str, str | list[str]] = dict(headers) if headers else {}
        self.cookies = cookies or []
        self.compress = compress
        self.content_type = content_type
        if content_type:
            self.headers.setdefault("Content-Type", content_type)

    def is_json(self) -> bool:
        content_type = self.headers.get("Content-Type", "")
        if isinstance(content_type, list):
            content_type = content_type[0]
        return content_type.startswith(JSON)


def _is_response(value: Any) -> bool:
    return isinstance(value, Response) or (
        type(value).__name__ == "Response" and type(value).__module__.startswith("aws_lambda_powertools.")
    )


def _powertools_response(value: Any) -> Any:
    """A Response of ours as Powertools' own (for the resolver we delegate to); anything else as it is."""
    if not isinstance(value, Response):
        return value
    from aws_lambda_powertools.event_handler import Response as PowertoolsResponse

    out = PowertoolsResponse(
        value.status_code, value.content_type, value.body, value.headers, value.cookies, value.compress
    )
    out.base64_encoded = value.base64_encoded
    return out


class Event:
    """The current request: `raw_event` here; anything else is read from Powertools' APIGatewayProxyEventV2 of it."""

    def __init__(self, raw_event: dict[str, Any], json_deserializer: Callable[[str], Any]) -> None:
        self.raw_event = raw_event
        self._json_deserializer = json_deserializer
        self._proxy: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._proxy is None:
            from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

            self._proxy = APIGatewayProxyEventV2(self.raw_event, self._json_deserializer)
        return getattr(self._proxy, name)

    def __getitem__(self, key: str) -> Any:
        return self.raw_event[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw_event.get(key, default)


@dataclass(frozen=True)
class _Arg:
    name: str
    source: str  # "path", "body", "query" (a model) or "header"
    model: Any = None  # the body or query model
    alias: str = ""  # the header's name
    default: Any = inspect.Parameter.empty


def _marker(obj: Any) -> tuple[str, str | None, bool] | None:
    """(kind, alias, plain) of a Query/Header marker, ours or Powertools'; plain: it only names what it reads."""
    if isinstance(obj, Param):
        return type(obj).__name__, obj.kwargs.get("alias"), set(obj.kwargs) <= _DOC_MARKER_ARGS
    if type(obj).__module__ == "aws_lambda_powertools.event_handler.openapi.params":
        return type(obj).__name__, getattr(obj, "alias", None), not getattr(obj, "metadata", None)
    return None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _analyse(func: Callable[..., Any], path_names: Mapping[str, int]) -> list[_Arg] | None:
    """The route function's parameters as the fast path reads them; None if any of them is a shape it does not model."""
    try:
        hints = get_type_hints(func, include_extras=True)
        signature = inspect.signature(func)
    except Exception:
        return None
    if "return" in hints:  # Powertools would validate the response against it
        return None
    args: list[_Arg] = []
    for p in signature.parameters.values():
        annotation = hints.get(p.name, inspect.Parameter.empty)
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) or annotation is inspect.Parameter.empty:
            return None
        base, extras = annotation, ()
        if get_origin(annotation) is Annotated:
            base, *rest = get_args(annotation)
            extras = tuple(rest)
        if not extras:
            if p.name in path_names and base is str and p.default is p.empty:
                args.append(_Arg(p.name, "path"))
            elif _is_model(base) and p.default is p.empty:
                args.append(_Arg(p.name, "body", model=base))
            else:
                return None
            continue
        marker = _marker(extras[0]) if len(extras) == 1 else None
        if marker is None or not marker[2]:
            return None
        kind, alias = marker[0], marker[1]
        if kind == "Query" and _is_model(base) and p.default is p.empty:
            args.append(_Arg(p.name, "query", model=base))
        elif kind == "Header" and alias and alias == alias.lower() and base in (str, str | None):
            if base is str and p.default is not p.empty:
                return None
            args.append(_Arg(p.name, "header", alias=alias, default=p.default))
        else:
            return None
    if sum(a.source == "body" for a in args) > 1:  # several body models are embedded by name: Powertools' business
        return None
    return args


def _compile(rule: str) -> re.Pattern[str]:
    """Powertools' `_compile_regex`: `<name>` placeholders as named groups of URI characters."""
    return re.compile(_ROUTE_REGEX.format(re.sub(_DYNAMIC_ROUTE_PATTERN, _NAMED_GROUP_BOUNDARY_PATTERN, rule)))


class Route:
    """One `@app.<method>(rule, **options)` registration."""

    def __init__(self, method: str, rule: str, func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.method = method.upper()
        self.rule = rule
        self.func = func
        self.options = options
        self.regex = _compile(rule)
        self.args = _analyse(func, self.regex.groupindex)
        self.fast = self.args is not None and set(options) <= _FAST_OPTIONS

    @property
    def has_body(self) -> bool | None:
        """Whether the route takes a body model; None when its parameters are not ones the fast path models."""
        return None if self.args is None else any(a.source == "body" for a in self.args)


_SEQUENCE_TYPES = (Sequence, list, tuple, set, frozenset, deque)


def _lenient_issubclass(cls: Any, types: Any) -> bool:
    try:
        return isinstance(cls, type) and issubclass(cls, types)
    except TypeError:
        return False


def _annotation_is_sequence(annotation: Any) -> bool:
    return not _lenient_issubclass(annotation, str | bytes) and _lenient_issubclass(annotation, _SEQUENCE_TYPES)


def _is_sequence(annotation: Any) -> bool:
    """Powertools' `_is_or_contains_sequence`: whether a query model field takes a comma list."""
    if _annotation_is_sequence(annotation) or _annotation_is_sequence(get_origin(annotation)):
        return True
    if get_origin(annotation) in (Union, UnionType):
        return any(_is_sequence(arg) for arg in get_args(annotation))
    if _lenient_issubclass(annotation, BaseModel) and getattr(annotation, "__pydantic_root_model__", False):
        root = annotation.model_fields.get("root")
        return root is not None and _is_sequence(root.annotation)
    return False


def _query_data(model: type[BaseModel], params: dict[str, list[str]], repeated: set[str]) -> dict[str, Any]:
    """The query string as Powertools hands it to a query model (`_process_model_param`)."""
    data: dict[str, Any] = {}
    by_name = bool(model.model_config.get("validate_by_name") or model.model_config.get("populate_by_name"))
    for name, info in model.model_fields.items():
        alias = info.alias or name
        value: Any = params.get(alias)
        if value is None and by_name:
            value = params.get(name)
        if value is None:
            continue
        sequence = _is_sequence(info.annotation)
        if not sequence:
            source = alias if params.get(alias) is not None else name
            if isinstance(value, list) and len(value) > 1 and source not in repeated:
                value = ",".join(value)
        if not sequence and isinstance(value, list) and value:
            value = value[0]
        data[alias] = value
    return data


def _debug() -> bool:
    return any(os.environ.get(v, "0").strip().lower() in _TRUE for v in ("POWERTOOLS_DEV", "POWERTOOLS_DEBUG"))


def _well_formed(event: dict[str, Any]) -> bool:
    """An event whose parts Powertools reads on every request are all there, with the types API Gateway sends; any
    other event goes to Powertools, which fails on it as it does."""
    context = event.get("requestContext")
    if not isinstance(context, dict) or not isinstance(context.get("http"), dict):
        return False
    if not isinstance(context["http"].get("method"), str) or "stage" not in context:
        return False
    if not isinstance(event.get("rawPath"), str) or not isinstance(event.get("rawQueryString") or "", str):
        return False
    headers, query = event.get("headers") or {}, event.get("queryStringParameters") or {}
    if not isinstance(headers, dict) or not isinstance(query, dict):
        return False
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        return False
    if not all(isinstance(v, str) for v in query.values()):
        return False
    cookies = event.get("cookies")
    return cookies is None or (isinstance(cookies, list) and all(isinstance(c, str) for c in cookies))


def _path(event: dict[str, Any]) -> str:
    """APIGatewayProxyEventV2.path: the raw path without a named stage."""
    stage, path = event["requestContext"]["stage"], event["rawPath"]
    return str(path[len("/" + stage) :] if stage != "$default" else path)


def _headers(event: dict[str, Any]) -> dict[str, str]:
    """The request's headers by lowercase name (the last of names that differ only in case, as Powertools reads)."""
    return {k.lower(): v for k, v in (event.get("headers") or {}).items()}


class _Delegate(Exception):
    """The request is one for Powertools to answer."""


class Api:
    """An APIGatewayHttpResolver for a one-route function (see the module docstring)."""

    def __init__(self, **options: Any) -> None:
        self._options = options  # APIGatewayHttpResolver's own arguments
        self._json_deserializer: Callable[[str], Any] = options.get("json_body_deserializer") or json.loads
        self._routes: list[Route] = []
        self._handlers: dict[type[Exception], Callable[[Any], Any]] = {}
        self._not_found: Callable[[Any], Any] | None = None
        self._validation_error: Callable[[Any], Any] | None = None
        self._resolver: Any = None
        self._powertools_only = bool(set(options) - {"enable_validation", "json_body_deserializer"}) or not options.get(
            "enable_validation"
        )
        self.context: dict[str, Any] = {}
        self.current_event: Event | None = None
        self.lambda_context: Any = None

    # ------------------------------------------------------------------ registration (as Powertools')

    def route(self, rule: str, method: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            route = Route(method, rule, func, options)
            self._routes.append(route)
            if self._resolver is not None:
                self._resolver.route(rule, method, **options)(_view(func))
            return func

        return register

    def get(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, "GET", **options)

    def post(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, "POST", **options)

    def put(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, "PUT", **options)

    def patch(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, "PATCH", **options)

    def delete(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, "DELETE", **options)

    def exception_handler(
        self, exc_class: type[Exception] | list[type[Exception]]
    ) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
        def register(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
            for cls in exc_class if isinstance(exc_class, list) else [exc_class]:
                self._handlers[cls] = func
                if self._resolver is not None:
                    self._resolver.exception_handler(cls)(_converted(func))
            return func

        return register

    def not_found(self, func: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """The answer to a path the route does not match (Powertools' NotFoundError: only Powertools raises it)."""
        self._not_found = func
        if self._resolver is not None:
            self._resolver.not_found(_converted(func))
        return func

    def validation_error(self, func: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """The answer to a request that fails validation (Powertools' RequestValidationError: only Powertools raises
        it, as every such request is Powertools' to answer)."""
        self._validation_error = func
        if self._resolver is not None:
            self._register_validation_error(self._resolver)
        return func

    def append_context(self, **additional_context: Any) -> None:
        self.context.update(**additional_context)

    def clear_context(self) -> None:
        self.context = {}

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    def takes_body(self) -> bool:
        """Whether a route declares a body model."""
        known = [r.has_body for r in self._routes]
        if all(k is not None for k in known):
            return any(known)
        resolver = self.powertools()
        return any(route.dependant.body_params for route in [*resolver._static_routes, *resolver._dynamic_routes])

    # ------------------------------------------------------------------ the Powertools resolver

    def powertools(self) -> Any:
        """The APIGatewayHttpResolver with the same routes and handlers, built on first use."""
        if self._resolver is None:
            from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

            resolver = APIGatewayHttpResolver(**self._options)
            for cls, func in self._handlers.items():
                resolver.exception_handler(cls)(_converted(func))
            if self._not_found is not None:
                resolver.not_found(_converted(self._not_found))
            if self._validation_error is not None:
                self._register_validation_error(resolver)
            for route in self._routes:
                resolver.route(route.rule, route.method, **route.options)(_view(route.func))
            self._resolver = resolver
        return self._resolver

    def _register_validation_error(self, resolver: Any) -> None:
        from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

        assert self._validation_error is not None
        resolver.exception_handler(RequestValidationError)(_converted(self._validation_error))

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        return self.powertools().get_openapi_schema(**kwargs)

    def __getattr__(self, name: str) -> Any:
        # Anything else is Powertools' (middlewares, routers, Swagger UI...): from now on Powertools answers every
        # request, as the app may rely on what was configured there.
        if name.startswith("_"):
            raise AttributeError(name)
        self._powertools_only = True
        return getattr(self.powertools(), name)

    # ------------------------------------------------------------------ answering

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.current_event = Event(event, self._json_deserializer)
        self.lambda_context = context
        try:
            try:
                if self._powertools_only or _debug() or not _well_formed(event):
                    raise _Delegate
                route, route_args = self._match(event)
                kwargs = self._arguments(route, route_args, event)
            except _Delegate:
                resolver = self.powertools()
                resolver.context = self.context  # what the handler appended before resolving (the principal)
                result: dict[str, Any] = resolver.resolve(event, context)
                return result
            self.append_context(_route=route, _path=_path(event), _route_args=kwargs)
            return self._call(route, kwargs, event)
        finally:
            self.clear_context()

    def fast_arguments(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """What the fast path would call the route function with; None when Powertools answers (tests compare)."""
        try:
            if self._powertools_only or _debug() or not _well_formed(event):
                return None
            route, route_args = self._match(event)
            return self._arguments(route, route_args, event)
        except _Delegate:
            return None

    def _match(self, event: dict[str, Any]) -> tuple[Route, dict[str, str]]:
        method, path = event["requestContext"]["http"]["method"].upper(), _path(event)
        for route in self._routes:
            if method == route.method and (found := route.regex.match(path)):
                if not route.fast:
                    raise _Delegate
                return route, found.groupdict()
        raise _Delegate  # not found: the not_found handler runs in Powertools

    def _arguments(self, route: Route, route_args: dict[str, str], event: dict[str, Any]) -> dict[str, Any]:
        """The route function's arguments, validated as Powertools validates them; _Delegate if any is invalid."""
        assert route.args is not None
        kwargs: dict[str, Any] = {}
        for arg in route.args:
            if arg.source == "path":
                if arg.name not in route_args:
                    raise _Delegate
                kwargs[arg.name] = route_args[arg.name]
            elif arg.source == "header":
                value = _headers(event).get(arg.alias)
                if value is None:
                    if arg.default is inspect.Parameter.empty:
                        raise _Delegate
                    value = arg.default
                kwargs[arg.name] = value
            elif arg.source == "query":
                params = {k: v.split(",") for k, v in (event.get("queryStringParameters") or {}).items()}
                raw = event.get("rawQueryString") or ""
                repeated = {k for k, v in parse_qs(raw, keep_blank_values=True).items() if len(v) > 1} if raw else set()
                kwargs[arg.name] = self._validated(arg.model, _query_data(arg.model, params, repeated))
            else:
                kwargs[arg.name] = self._validated(arg.model, self._body(event))
        return kwargs

    def _body(self, event: dict[str, Any]) -> dict[str, Any]:
        content_type = str(_headers(event).get("content-type") or "").strip()
        if content_type and not content_type.startswith(JSON):
            raise _Delegate  # forms, multipart, unsupported types: Powertools' own handling
        body = event.get("body")
        if body and event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(str(body).encode()).decode()
            except Exception:
                raise _Delegate from None
        if not body:
            raise _Delegate  # a missing body: Powertools' "Field required"
        try:
            data = self._json_deserializer(body)
        except Exception:
            raise _Delegate from None  # Powertools parses it again and answers as it does
        if not isinstance(data, dict):
            raise _Delegate
        return data

    @staticmethod
    def _validated(model: type[BaseModel], data: Any) -> BaseModel:
        try:
            return model.model_validate(data, from_attributes=True)
        except ValidationError:
            raise _Delegate from None

    def _call(self, route: Route, kwargs: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._response(route, route.func(**kwargs))
        except Exception as exc:
            handler = next((self._handlers[c] for c in type(exc).__mro__ if c in self._handlers), None)
            if handler is None:
                import logging

                logging.getLogger("aws_lambda_powertools.event_handler.api_gateway").exception(exc)
                raise
            response = handler(exc)
        return _built(response, route, event)

    def _response(self, route: Route, result: Any) -> Any:
        """`_to_response`, then the response validation middleware (a route without a return annotation)."""
        if _is_response(result):
            response = result
        elif isinstance(result, tuple) and len(result) == 2:
            response = Response(status_code=result[1], content_type=JSON, body=result[0])
        else:
            response = Response(status_code=route.options.get("status_code", 200), content_type=JSON, body=result)
        if response.is_json() and not isinstance(response.body, str):
            from aws_lambda_powertools.event_handler.openapi.encoders import jsonable_encoder

            response.body = jsonable_encoder(response.body)
        return response


def _built(response: Any, route: Route, event: dict[str, Any]) -> dict[str, Any]:
    """Powertools' ResponseBuilder.build for an HTTP API (no CORS, no cache control)."""
    if response.is_json() and not isinstance(response.body, str):
        from aws_lambda_powertools.event_handler.api_gateway import _JSON_DUMP_CALL

        response.body = _JSON_DUMP_CALL(response.body)
    encoding = _headers(event).get("accept-encoding", "")
    if "gzip" in encoding:
        gzip = response.compress if response.compress is not None else bool(route.options.get("compress", False))
        if gzip and response.body is not None:
            response.headers["Content-Encoding"] = "gzip"
            if isinstance(response.body, str):
                response.body = bytes(response.body, "utf-8")
            compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
            response.body = compressor.compress(response.body) + compressor.flush()
    if isinstance(response.body, bytes):
        response.base64_encoded = True
        response.body = base64.b64encode(response.body).decode()
    headers: dict[str, str] = {}
    for key, values in response.headers.items():
        if values is None:
            continue
        headers[key] = values if isinstance(values, str) else ", ".join(values)
    return {
        "statusCode": response.status_code,
        "body": response.body,
        "isBase64Encoded": response.base64_encoded,
        "headers": headers,
        "cookies": [str(c) for c in response.cookies],
    }


def _converted(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An exception handler of ours, answering with Powertools' Response inside Powertools."""

    def handler(exc: Any) -> Any:
        return _powertools_response(func(exc))

    handler.__name__ = getattr(func, "__name__", "handler")
    return handler


def _translated(annotation: Any) -> Any:
    """An annotation with our Query()/Header() markers replaced by Powertools' own."""
    if get_origin(annotation) is Annotated:
        base, *extras = get_args(annotation)
        return Annotated[(base, *(e.powertools() if isinstance(e, Param) else e for e in extras))]
    return annotation


def _view(func: Callable[..., Any]) -> Callable[..., Any]:
    """The route function as Powertools sees it: Powertools' markers in its signature, Powertools' Response out."""
    import functools

    signature = inspect.signature(func)
    try:
        hints = get_type_hints(func, include_extras=True)
    except Exception:
        hints = {}
    params = [p.replace(annotation=_translated(hints.get(p.name, p.annotation))) for p in signature.parameters.values()]
    returns = hints.get("return", signature.return_annotation)

    @functools.wraps(func)
    def view(*args: Any, **kwargs: Any) -> Any:
        return _powertools_response(func(*args, **kwargs))

    view.__signature__ = signature.replace(parameters=params, return_annotation=returns)  # type: ignore[attr-defined]
    view.__annotations__ = {p.name: p.annotation for p in params if p.annotation is not p.empty}
    if returns is not signature.empty:
        view.__annotations__["return"] = returns
    return view
