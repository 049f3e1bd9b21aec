"""Copying between a domain record (a frozen dataclass) and the pynamodb item that stores it.

The records and the models name their fields alike, so the field list is written once, in the
dataclass; a store module passes only the values that need converting on the way.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from pynamodb.models import Model

if TYPE_CHECKING:
    # typeshed's protocol for "any dataclass"; it exists for type checkers only
    from _typeshed import DataclassInstance

_M = TypeVar("_M", bound=Model)
_R = TypeVar("_R", bound="DataclassInstance")


def to_item(model: type[_M], record: DataclassInstance, **converted: Any) -> _M:
    """A `model` item holding every field of `record`, with `converted` ones as given."""
    values = {f.name: getattr(record, f.name) for f in fields(record)}
    return model(**(values | converted))


def to_record(record_type: type[_R], item: Model, **converted: Any) -> _R:
    """A `record_type` built from the item's attributes of the same names, `converted` as given."""
    values = {f.name: getattr(item, f.name) for f in fields(record_type)}
    return record_type(**(values | converted))
