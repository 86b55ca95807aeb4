"""Publish fixed-layout messages from a pre-serialized CDR buffer patched in place.

At 1 kHz, converting a TactileFrame (six nested pads) and a ContactArray (six nested contacts)
from Python objects to C structs and then to CDR cost about 100-300 us per frame, more than
computing the frame. Both messages keep the same layout from frame to frame (same pads, same
string lengths, same array sizes), so the driver serializes each once with rclpy and, per frame,
only overwrites the bytes of the fields that change (stamps, sequence, pressures, contact
numbers), then publishes the bytes (``Publisher.publish(bytes)``, rclpy's serialized publish).

Offsets are not hand-computed from the CDR rules: each field is located by serializing the
message with two marker values and diffing the bytes, so the template follows whatever encoding
the RMW uses (XCDR1 or XCDR2 alignment). ``CdrTemplate.verify`` compares the patched bytes with a
normal serialization before the driver trusts the template; on any mismatch it falls back to
publishing message objects.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Scalar kinds: numpy dtype of the field, and two marker values whose bytes all differ.
_MARKERS = {
    "f8": (
        struct.unpack("<d", bytes(range(1, 9)))[0],
        struct.unpack("<d", bytes(range(17, 25)))[0],
    ),
    "i4": (0x04030201, 0x24232221),
    "u4": (0x04030201, 0x24232221),
    "bool": (False, True),
}
_DTYPES = {"f8": "<f8", "i4": "<i4", "u4": "<u4", "bool": "u1"}


class TemplateError(Exception):
    """The message could not be turned into a fixed-layout template."""


@dataclass(frozen=True)
class Slot:
    """Where one field lives in the serialized buffer.

    Attributes:
        offset: First byte of the field [bytes from the buffer start].
        size: Bytes the field occupies.
        dtype: numpy dtype of its elements (little-endian).
    """

    offset: int
    size: int
    dtype: str


def _diff_slot(serialize: Callable[[], bytes], set_value, values, size: int, dtype: str) -> Slot:
    """Locate a field: the one offset holding marker A in one serialization and B in the other.

    A plain byte diff is not enough: the serializer leaves alignment padding uninitialised, so
    two serializations of the same message can differ in their padding bytes.
    """
    markers = [np.asarray([v], dtype=_DTYPES.get(dtype, dtype)).tobytes() for v in values[:1]]
    set_value(values[0])
    first = serialize()
    set_value(values[1])
    second = serialize()
    if len(first) != len(second):
        raise TemplateError("the serialized size depends on the field's value")
    if isinstance(values[0], np.ndarray):
        marker_a, marker_b = values[0].tobytes(), values[1].tobytes()
    else:
        marker_a = markers[0]
        marker_b = np.asarray([values[1]], dtype=_DTYPES.get(dtype, dtype)).tobytes()
    found = []
    start = first.find(marker_a)
    while start >= 0:
        if second[start : start + len(marker_b)] == marker_b:
            found.append(start)
        start = first.find(marker_a, start + 1)
    if len(found) != 1:
        raise TemplateError(
            f"a {dtype} field of {size} bytes is found {len(found)} times, expected once"
        )
    return Slot(found[0], size, dtype)


class CdrTemplate:
    """A serialized message whose variable fields are overwritten in place.

    Args:
        message: The message, filled with its fixed parts (names, frame ids, array sizes).
        serialize: ``rclpy.serialization.serialize_message``.
    """

    def __init__(self, message, serialize: Callable[[object], bytes]):
        self._message = message
        self._serialize = serialize
        self.buffer: np.ndarray | None = None
        self._slots: dict[str, Slot] = {}

    def scalar(self, key: str, owner, attribute: str, kind: str) -> None:
        """Register a scalar field ``owner.attribute`` of kind f8, i4, u4 or bool under ``key``."""
        saved = getattr(owner, attribute)
        size = np.dtype(_DTYPES[kind]).itemsize

        def set_value(value):
            setattr(owner, attribute, value)

        try:
            self._slots[key] = _diff_slot(
                lambda: self._serialize(self._message), set_value, _MARKERS[kind], size, kind
            )
        finally:
            setattr(owner, attribute, saved)

    def array(self, key: str, owner, attribute: str, dtype: str, length: int) -> None:
        """Register a fixed-length array field (float32 ``<f4`` or uint8 ``u1``) under ``key``."""
        saved = getattr(owner, attribute)
        itemsize = np.dtype(dtype).itemsize
        size = itemsize * length
        marks = (
            np.frombuffer(bytes((i % 251) + 1 for i in range(size)), dtype),
            np.frombuffer(bytes(((i + 101) % 251) + 1 for i in range(size)), dtype),
        )

        def set_value(value):
            if dtype == "u1":
                setattr(owner, attribute, value.tobytes())
            else:
                import array

                setattr(owner, attribute, array.array("f", value.tobytes()))

        try:
            self._slots[key] = _diff_slot(
                lambda: self._serialize(self._message), set_value, marks, size, dtype
            )
        finally:
            setattr(owner, attribute, saved)

    def freeze(self) -> None:
        """Serialize the message once more as the template; registration is over."""
        self.buffer = np.frombuffer(bytearray(self._serialize(self._message)), np.uint8).copy()
        self._views = {
            key: self.buffer[s.offset : s.offset + s.size].view(_DTYPES.get(s.dtype, s.dtype))
            for key, s in self._slots.items()
        }

    def view(self, key: str) -> np.ndarray:
        """Writable numpy view of the field ``key`` inside the buffer."""
        return self._views[key]

    def gather(self, keys: list[str], kind: str) -> tuple[np.ndarray, np.ndarray] | None:
        """One strided view and indices writing many same-kind scalars with one numpy call.

        Returns ``(view, index)`` with ``view[index] = values`` writing ``keys`` in order, or
        None when the fields are not aligned to their size in one common lattice (then write
        them one by one through ``view(key)``).
        """
        size = np.dtype(_DTYPES[kind]).itemsize
        offsets = np.array([self._slots[k].offset for k in keys])
        base = int(offsets.min()) % size
        if np.any((offsets - base) % size):
            return None
        count = (self.buffer.size - base) // size
        lattice = self.buffer[base : base + count * size].view(_DTYPES[kind])
        return lattice, (offsets - base) // size

    def tobytes(self) -> bytes:
        return self.buffer.tobytes()
