"""Cursor pagination by id: stable under inserts, O(page) on any table size.

``?page_size=`` (1..500, default 100) and an opaque ``?cursor=`` taken from ``next`` /
``previous``. A cursor that cannot be decoded is a 400, not a 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    invalid_cursor_message = "Invalid cursor: use the 'next' or 'previous' link of a response."

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise ValidationError({"page_size": "must be a whole number from 1 to 500."}) from None
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({"page_size": "must be a whole number from 1 to 500."})
        return size

    def decode_cursor(self, request: Request) -> Any:
        try:
            cursor = super().decode_cursor(request)
            position = None if cursor is None else cursor.position
            if position is not None and not 0 <= int(position) < 2**63:
                raise ValueError(position)
        except (NotFound, ValueError, OverflowError):
            raise ValidationError({"cursor": self.invalid_cursor_message}) from None
        return cursor

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.page_size_query_param:
                param["schema"] = {"type": "integer", "minimum": 1, "maximum": 500}
        return params


def paginate(view: Any, request: Request, queryset: Any, serializer_class: Any) -> Any:
    """The paginated response of ``queryset`` serialised with ``serializer_class``."""
    paginator = IdCursorPagination()
    page: Any = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, context={"request": request}).data
    return paginator.get_paginated_response(data)


RANK_OFFSET_MAX = 10_000_000


def rank_offset(request: Request) -> int:
    """The ``cursor`` of a ranked list (``text=``, ``similar_to=``): a rank offset, 0 first."""
    raw = request.query_params.get("cursor") or "0"
    try:
        offset = int(raw)
    except ValueError:
        offset = -1
    if not 0 <= offset <= RANK_OFFSET_MAX:
        raise ValidationError({"cursor": IdCursorPagination.invalid_cursor_message})
    return offset


def ranked_response(
    request: Request,
    *,
    items: list[dict[str, Any]],
    values: Sequence[float],
    field: str,
    offset: int,
    size: int,
    more: bool,
) -> Response:
    """A page of a ranked list shaped like every sample list (``next``, ``previous``,
    ``results``), each item with its rank value in ``field`` (null for NaN: no vector)."""
    for item, value in zip(items, values, strict=False):
        item[field] = None if value != value else round(value, 6)
    url = request.build_absolute_uri()
    following = replace_query_param(url, "cursor", offset + size) if more else None
    previous = replace_query_param(url, "cursor", max(0, offset - size)) if offset else None
    return Response({"next": following, "previous": previous, "results": items})
