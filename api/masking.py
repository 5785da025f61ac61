"""One masking step per role (design §6): every JSON and text body an API route answers passes through it.

Roles that work cases (and a citizen, who sees only their own record) see 公民身份号码 and phone numbers
in full; every other role sees them masked, by what a value is (`forms.personal`), in whatever route it
appears. Files that are not text — the XLSX reports and the printable PDF forms — are built masked at
their source with `for_actor`; the scans of the original paperwork are documents, read under audit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from canbao.actors import Actor
from forms import personal

from .policy import UNMASKED_ROLES

EVIDENCE = "application/vnd.canbao.signed+json"
"""The signed case export: evidence whose hashes an outside checker recomputes, so it carries the data
unmasked, and every export is audited as `audit.export`. The one body this step leaves alone."""


def sees_unmasked(actor: Actor) -> bool:
    return bool(UNMASKED_ROLES.intersection(actor.roles))


def for_actor(actor: Actor) -> Callable[[Any], Any]:
    """What a value becomes when shown to `actor`."""
    return (lambda value: value) if sees_unmasked(actor) else personal.mask


def _masked(response: Response) -> Response:
    if not hasattr(response, "body") or not response.body:  # streamed (a document's bytes), or empty (204)
        return response
    media = (response.media_type or response.headers.get("content-type") or "").split(";")[0]
    if media.endswith("json") and media != EVIDENCE:
        body = json.dumps(
            personal.mask(json.loads(response.body)), ensure_ascii=False, separators=(",", ":")
        ).encode()
    elif media.startswith("text/"):
        body = personal.mask_text(response.body.decode(response.charset)).encode(response.charset)
    else:
        return response
    response.body = body
    response.headers["content-length"] = str(len(body))
    return response


class MaskingRoute(APIRoute):
    """The route class of every API router: the actor the request was authorized as (`deps.current_actor`
    leaves it on the request) decides whether the body is masked."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def masked(request: Request) -> Response:
            response = await handle(request)
            actor = getattr(request.state, "actor", None)
            return response if actor is None or sees_unmasked(actor) else _masked(response)

        return masked
