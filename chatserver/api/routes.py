"""The REST API v1 (docs: ``/api/v1/reference``; machine-readable: ``/api/v1/openapi.json``).

Every request is authenticated by an API key (chatserver.api_keys), counted against the
key's per-minute limit and checked against its scope before its handler runs; bodies and
parameters are validated against the same schemas the OpenAPI document publishes. Every
write goes through the store's scripts, exactly as the sockets' do, so the same atomic
checks (who holds the chat, capacity, the state machine) apply.
"""

from __future__ import annotations

from math import ceil
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver import api_keys
from chatserver.api import spec
from chatserver.api.context import ApiError, Ctx
from chatserver.api.endpoints import ENDPOINTS
from chatserver.api.reference import reference_page
from chatserver.api.spec import Endpoint
from chatserver.api_keys import ApiKey
from chatserver.log import get_logger
from chatserver.services import Services
from chatserver.store import StoreError

log = get_logger(__name__)

MAX_BODY = 64 * 1024


def error_response(code: str, message: str, field: str | None = None, **headers: str) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=spec.ERRORS[code][0], headers=headers)


# --- shared steps -----------------------------------------------------------------------
async def _authenticate(request: Request, services: Services) -> ApiKey:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    parsed = api_keys.parse(token.strip()) if scheme.lower() == "bearer" else None
    if parsed is None:
        raise ApiError("unauthorized", "send an API key: Authorization: Bearer csk_…")
    found = await services.store.api_key(parsed[0])
    if found is None or not found[0].active or not api_keys.matches(parsed[1], found[1]):
        raise ApiError("unauthorized", "that API key is unknown or revoked")
    return found[0]


_STORE_ERRORS = {
    "closed": "conversation_closed",
    "none": "agent_unavailable",
}


def _parse_params(ep: Endpoint, request: Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in ep.params:
        raw = (request.path_params if p.where == "path" else request.query_params).get(p.name)
        if raw is None:
            if p.required:
                raise ApiError("invalid_request", f"{p.name} is required", p.name)
            continue
        value: Any = raw
        if p.schema.get("type") == "integer":
            if not str(raw).isdigit():
                raise ApiError("invalid_request", f"{p.name} must be a whole number", p.name)
            value = int(raw)
        error = next(iter(_validators[id(p)].iter_errors(value)), None)
        if error is not None:
            raise ApiError("invalid_request", f"{p.name}: {error.message}", p.name)
        out[p.name] = value
    return out


async def _parse_body(ep: Endpoint, request: Request) -> dict[str, Any]:
    assert ep.body is not None
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError("invalid_request", f"the body is over {MAX_BODY} bytes")
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise ApiError("invalid_request", "the body is not JSON") from None
    error = next(iter(_validators[id(ep)].iter_errors(body)), None)
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            where = str(error.message).split("'")[1]
        elif error.validator == "additionalProperties":
            where = where or "body"
        elif error.validator == "oneOf" and not where:
            names = [branch["required"][0] for branch in error.validator_value]
            raise ApiError("invalid_request", f"give exactly one of {' and '.join(names)}")
        raise ApiError("invalid_request", error.message, where or None)
    result: dict[str, Any] = body
    return result


# Built once: a validator compiles its schema, which no request should pay for.
_validators: dict[int, Draft202012Validator] = {
    id(ep): Draft202012Validator(ep.body) for ep in ENDPOINTS if ep.body is not None
}
_validators.update({id(p): Draft202012Validator(p.schema) for ep in ENDPOINTS for p in ep.params})


def _route(ep: Endpoint) -> Route:
    async def endpoint(request: Request) -> Response:
        services: Services = request.app.state.services
        try:
            key = await _authenticate(request, services)
            if not key.allows(ep.scope):
                raise ApiError("forbidden", f"this key's scope is {key.scope}; {ep.scope} needed")
            wait = await services.limits.api_request(key.id)
            if wait:
                return error_response(
                    "rate_limited",
                    "too many requests with this key; retry later",
                    **{"Retry-After": str(ceil(wait))},
                )
            ip = services.limits.client_ip(request.scope, request.headers)
            used = f"{ep.method} /api/v1{ep.path} from {ip}"
            await services.store.api_key_used(key, services.hub.clock(), used)
            kwargs = _parse_params(ep, request)
            if ep.body is not None:
                kwargs["body"] = await _parse_body(ep, request)
            assert ep.handler is not None
            result = await ep.handler(Ctx(services, key), **kwargs)
        except ApiError as exc:
            return error_response(exc.code, exc.message, exc.field)
        except StoreError as exc:
            code = _STORE_ERRORS.get(exc.code, exc.code)
            if code not in spec.ERRORS:
                log.warning("api_unmapped_refusal", code=exc.code)
                code = "conflict"
            return error_response(code, exc.detail or code.replace("_", " "))
        except (RedisError, OSError) as exc:
            log.warning("redis_unavailable", error=str(exc))
            return error_response("unavailable", "the service is unavailable; retry")
        return JSONResponse(result, status_code=ep.status)

    endpoint.__name__ = ep.operation_id
    return Route(f"/api/v1{ep.path}", endpoint, methods=[ep.method])


async def openapi_json(request: Request) -> Response:
    return JSONResponse(DOCUMENT)


DOCUMENT = spec.openapi(ENDPOINTS)
routes = [
    Route("/api/v1/openapi.json", openapi_json),
    Route("/api/v1/reference", reference_page(DOCUMENT)),
    *(_route(ep) for ep in ENDPOINTS),
]
