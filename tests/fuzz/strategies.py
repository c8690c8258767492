"""Hypothesis strategies for hostile input, derived from the proto descriptors where there are any.

``message`` builds any protobuf message from its descriptor: every scalar
type over its whole range, strings that mix markup, control characters and
very long runs, unknown enum values, nested messages and repeated fields.
``near`` starts from a valid message and replaces a few fields, which gets
past the first check far more often than a message drawn from nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

# Strings a hostile counterpart would try: terminal markup, escape sequences,
# bidi overrides, NULs, separators, overlong text and plausible vocabulary.
HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "[/bold]",
        "[conceal]hidden[/conceal]",
        "[red",
        "\x1b[2J\x1b]0;owned\x07",
        "\u202eevil",
        "\x00",
        "a\r\nb",
        "\u2028",
        "v1|phone|+84912345678",
        "v1||",
        "|||",
        "criminal_investigation",
        "CITES-Art-VIII",
        "wildlife_trafficking",
        "identity",
        "3f1c8a52-5d0e-4a51-9d69-2a7de1c0b001",
        "ab" * 32,
        "x" * 300,
        "y" * 5000,
    ]
)
TEXT = st.one_of(HOSTILE_TEXT, st.text(max_size=40), st.text(max_size=2000))

_INT_RANGES: Mapping[int, tuple[int, int]] = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    edges = [v for v in (lo, hi, 0, 1, -1, 2**31 - 1, 2**31, 2**63 - 1) if lo <= v <= hi]
    return st.one_of(st.sampled_from(edges), st.integers(0, 100).filter(lambda v: lo <= v <= hi),
                     st.integers(lo, hi))  # fmt: skip


def scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    """Any value of a scalar field's type."""
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return TEXT
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=512)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    if kind == FieldDescriptor.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values]
        # Proto3 enums are open: a peer can send numbers the schema does not name.
        return st.one_of(st.sampled_from(known), st.integers(-(2**31), 2**31 - 1))
    lo, hi = _INT_RANGES[kind]
    return _integers(lo, hi)


def _field(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if depth <= 0:
            return st.none()
        one: st.SearchStrategy[Any] = message(field.message_type, depth - 1)
    else:
        one = scalar(field)
    if field.label == FieldDescriptor.LABEL_REPEATED:
        return st.one_of(
            st.lists(one, max_size=4),
            # Many copies of one value: the million-key-types shape, kept small here.
            st.builds(lambda v, n: [v] * n, one, st.integers(0, 3000)),
        )
    return one


def message(descriptor: Descriptor | type[Message], depth: int = 2) -> st.SearchStrategy[Any]:
    """Messages of ``descriptor``'s type with any subset of fields set to any value."""
    desc: Descriptor = getattr(descriptor, "DESCRIPTOR", descriptor)  # type: ignore[assignment]
    cls = _class_of(desc)
    fields = {f.name: _field(f, depth) for f in desc.fields}
    return st.fixed_dictionaries({}, optional=fields).map(lambda values: _build(cls, values))


def near(valid: Message, depth: int = 1) -> st.SearchStrategy[Any]:
    """Copies of ``valid`` with one to three fields replaced by hostile values."""
    desc = valid.DESCRIPTOR
    fields = {f.name: _field(f, depth) for f in desc.fields}

    def build(values: dict[str, Any]) -> Any:
        copy = type(valid)()
        copy.CopyFrom(valid)
        for name, value in values.items():
            copy.ClearField(name)
            _assign(copy, desc.fields_by_name[name], value)
        return copy

    if not fields:
        return st.just(valid)
    chosen = st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=3, unique=True)
    return chosen.flatmap(lambda names: st.fixed_dictionaries({n: fields[n] for n in names})).map(
        build
    )


def _class_of(desc: Descriptor) -> type[Message]:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(desc)


def _build(cls: type[Message], values: dict[str, Any]) -> Message:
    msg = cls()
    for name, value in values.items():
        _assign(msg, msg.DESCRIPTOR.fields_by_name[name], value)
    return msg


def _assign(msg: Message, field: FieldDescriptor, value: Any) -> None:
    if value is None:
        return
    target = getattr(msg, field.name)
    if field.label == FieldDescriptor.LABEL_REPEATED:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value:
                if item is not None:
                    target.add().CopyFrom(item)
        else:
            target.extend(value)
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        target.CopyFrom(value)
    else:
        setattr(msg, field.name, value)


# -- PSI setups and responses -------------------------------------------------------


def mutated_bytes(original: bytes) -> st.SearchStrategy[bytes]:
    """``original`` truncated, extended, bit-flipped or spliced."""

    def flip(data: bytes, positions: list[int]) -> bytes:
        out = bytearray(data)
        for p in positions:
            if out:
                out[p % len(out)] ^= 1 << (p % 8)
        return bytes(out)

    return st.one_of(
        st.integers(0, len(original)).map(lambda n: original[:n]),
        st.binary(max_size=64).map(lambda tail: original + tail),
        st.lists(st.integers(0, 8 * max(len(original), 1)), min_size=1, max_size=8).map(
            lambda ps: flip(original, ps)
        ),
        st.tuples(st.integers(0, len(original)), st.binary(max_size=64)).map(
            lambda t: original[: t[0]] + t[1] + original[t[0] :]
        ),
    )


def json_values(depth: int = 2) -> st.SearchStrategy[Any]:
    """JSON values a record line could hold, with hostile strings."""
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
    if depth <= 0:
        return leaves
    inner = json_values(depth - 1)
    return st.one_of(
        leaves,
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(HOSTILE_TEXT, st.text(max_size=12)), inner, max_size=4),
    )
