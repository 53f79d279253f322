"""Value records of the OPC UA binary encoding that events carry (Variant, DataValue).

Part 6, 5.2.2.16 (DataValue) and 5.2.2.17 (Variant). Scalars of the numeric and boolean
built-in types keep their JSON type; every other built-in type is rendered as text: node ids in
the Part 6, 5.3.1.10 string form (``ns=2;s=Pump1``), DateTime in ISO 8601 UTC, ByteString in hex
(capped), LocalizedText as its text, QualifiedName as ``ns:name``, ExtensionObject as
``ExtensionObject(<type id>)``.
"""

from __future__ import annotations

import msgspec

__all__ = ["OpcuaDataValue", "OpcuaVariant", "Scalar"]

Scalar = bool | int | float | str | None


class OpcuaVariant(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A Variant: its built-in type name and the scalar value or the (capped) array."""

    type: str
    """Built-in type name (``Double``, ``String``, ``ExtensionObject``...)."""
    value: Scalar = None
    """The value of a scalar variant."""
    values: tuple[Scalar, ...] | None = None
    """The elements of an array variant (the first ones when ``truncated``)."""
    array_length: int | None = None
    """Number of elements of an array variant (-1 for a null array)."""
    dimensions: tuple[int, ...] | None = None
    """ArrayDimensions of a multi-dimensional array."""
    truncated: bool = False


class OpcuaDataValue(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A DataValue: value, status code and timestamps (each optional on the wire)."""

    value: OpcuaVariant | None = None
    status: int | None = None
    status_name: str | None = None
    source_timestamp: str | None = None
    server_timestamp: str | None = None
