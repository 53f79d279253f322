"""Pagination of every list endpoint: ``?page=1&per_page=50`` in, ``{items, total, page,
per_page}`` out.

Pages are numbered from 1; ``per_page`` is capped at :data:`MAX_PER_PAGE` so one request cannot
pull the whole alert table. A page past the end is an empty list with the true ``total`` (a
client that deleted rows while paging must not get an error).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

import msgspec
from fastapi import Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel

__all__ = ["DEFAULT_PER_PAGE", "MAX_PER_PAGE", "Page", "PageParams", "json_response",
           "page_params", "page_response"]

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_PAGE = 1_000_000
"""Far past any real table; bounds the offset so the database never sees an absurd one."""

T = TypeVar("T")


class PageParams(BaseModel):
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def limit(self) -> int:
        return self.per_page


def _page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE,
                                   description="Items per page (at most 500).")
                        ] = DEFAULT_PER_PAGE,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


page_params = Depends(_page_params)
"""The dependency every list endpoint takes: ``params: PageParams = page_params``."""


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @classmethod
    def of(cls, items: list[T], total: int, params: PageParams) -> Page[T]:
        return cls(items=items, total=total, page=params.page, per_page=params.per_page)


_encoder = msgspec.json.Encoder()


def json_response(value: object, status_code: int = 200) -> Response:
    """``value`` (msgspec structs, dicts, lists) encoded by msgspec, as the answer.

    The list endpoints answer this way on their hot path: the store already hands out typed
    msgspec views, and encoding them directly skips pydantic's validate-then-serialise of every
    item (FastAPI does both for a returned model), which dominated a 500-item page. The route
    still declares its pydantic ``response_model`` for the OpenAPI schema, and the
    schemathesis test checks every answer against that schema, so the two cannot drift."""
    return Response(_encoder.encode(value), status_code=status_code,
                    media_type="application/json")


def page_response(items: list[Any], total: int, params: PageParams) -> Response:
    """One page (``{items, total, page, per_page}``) as a :func:`json_response`."""
    return json_response({"items": items, "total": total, "page": params.page,
                          "per_page": params.per_page})
