"""Read and write the serialized form (CDR) of the stack's high-rate messages directly.

Why: rclpy turns a serialized message into Python objects one nested field at a time. A
TactileFrame (six pads, each with a Pose) cost a tactile driver ~1-5 ms to take, and a
ContactArray (six contacts with headers, points and vectors) a grasp controller ~1 ms: most of
what those nodes spent at 100 Hz in the whole chain. Read here, the same messages are a few
dozen ``struct.unpack_from`` calls and zero-copy numpy views of the arrays (~20-50 us).

Format: the RMW's plain CDR (XCDR1, little-endian; OMG DDS-XTypes 1.3, section 7.4.3.5, and the
CDR chapter of CORBA 3.0, section 15.3): a 4-byte encapsulation header (``00 01`` then two
option bytes), then the fields in declaration order, each primitive aligned to its own size
(at most 8) counted from the end of that header, strings as a uint32 length including the
terminating NUL, sequences as a uint32 count then the elements. Anything else (big-endian,
XCDR2) raises :class:`CdrError`; callers fall back to rclpy's deserialization, and
``test/test_cdr.py`` checks both directions against rclpy on random messages.

No ROS imports: plain bytes in, tuples and numpy arrays out (and back).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

PLAIN_CDR_LE = b"\x00\x01"
_ORIGIN = 4  # alignment is counted from the end of the encapsulation header

_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_F64X3 = struct.Struct("<3d")
_F64X7 = struct.Struct("<7d")
_STAMP = struct.Struct("<iI")


class CdrError(ValueError):
    """Bytes that are not a plain little-endian CDR message of the expected type."""


def leading_stamp_ns(buffer: bytes) -> int:
    """The time a serialized message starts with (a std_msgs/Header's stamp, or a
    builtin_interfaces/Time such as rosgraph_msgs/Clock) [ns], in either byte order.

    Cheap enough for every sample of a stream that is otherwise only counted or kept serialized.
    """
    if len(buffer) < _ORIGIN + 8:
        raise CdrError(f"{len(buffer)} bytes: too short for a stamp")
    sec, nanosec = struct.unpack_from("<iI" if buffer[1] & 1 else ">iI", buffer, _ORIGIN)
    return sec * 1_000_000_000 + nanosec


class CdrReader:
    """Sequential reader of one message's fields.

    With ``record``, it also lists in ``fixed`` the byte ranges of what fixes the message's
    layout (strings, sequence lengths, and blocks read with ``fixed=True``), for
    :class:`Layout`. Alignment padding is never in a range: serializers may leave it
    uninitialised.
    """

    __slots__ = ("buffer", "position", "fixed")

    def __init__(self, buffer: bytes, record: bool = False):
        if len(buffer) < _ORIGIN or buffer[:2] != PLAIN_CDR_LE:
            raise CdrError(f"not plain little-endian CDR (encapsulation {bytes(buffer[:2])!r})")
        self.buffer = buffer
        self.position = _ORIGIN
        self.fixed: list[tuple[int, int]] | None = [] if record else None

    def _take(self, size: int) -> int:
        """Align to ``size`` and reserve ``size`` bytes; returns their offset."""
        position = self.position
        position += -(position - _ORIGIN) % size
        end = position + size
        if end > len(self.buffer):
            raise CdrError(f"message ends at byte {len(self.buffer)}, a field needs {end}")
        self.position = end
        return position

    def u8(self) -> int:
        return self.buffer[self._take(1)]

    def boolean(self) -> bool:
        return self.buffer[self._take(1)] != 0

    def u16(self) -> int:
        return _U16.unpack_from(self.buffer, self._take(2))[0]

    def u32(self) -> int:
        return _U32.unpack_from(self.buffer, self._take(4))[0]

    def i32(self) -> int:
        return _I32.unpack_from(self.buffer, self._take(4))[0]

    def f32(self) -> float:
        return _F32.unpack_from(self.buffer, self._take(4))[0]

    def f64(self) -> float:
        return _F64.unpack_from(self.buffer, self._take(8))[0]

    def f64x3(self) -> tuple[float, float, float]:
        position = self._take(8)
        self.position = position + 24
        if self.position > len(self.buffer):
            raise CdrError("message ends inside a 3-vector")
        return _F64X3.unpack_from(self.buffer, position)

    def f64x7(self) -> tuple[float, ...]:
        position = self._take(8)
        self.position = position + 56
        if self.position > len(self.buffer):
            raise CdrError("message ends inside a pose")
        return _F64X7.unpack_from(self.buffer, position)

    def block(self, layout: struct.Struct, alignment: int, fixed: bool = False) -> tuple:
        """Consecutive fields read with one ``struct`` (no padding inside), aligned to
        ``alignment``; ``fixed``: part of the layout (see the class)."""
        position = self.position
        position += -(position - _ORIGIN) % alignment
        end = position + layout.size
        if end > len(self.buffer):
            raise CdrError(f"message ends at byte {len(self.buffer)}, a field needs {end}")
        self.position = end
        if fixed and self.fixed is not None:
            self.fixed.append((position, end))
        return layout.unpack_from(self.buffer, position)

    def count(self) -> int:
        """A sequence's length (part of the layout)."""
        position = self._take(4)
        if self.fixed is not None:
            self.fixed.append((position, position + 4))
        return _U32.unpack_from(self.buffer, position)[0]

    def string(self) -> str:
        length_at = self._take(4)
        length = _U32.unpack_from(self.buffer, length_at)[0]
        start, end = self.position, self.position + length
        if length == 0 or end > len(self.buffer) or self.buffer[end - 1] != 0:
            raise CdrError(f"bad string of length {length} at byte {start}")
        self.position = end
        if self.fixed is not None:
            self.fixed.append((length_at, end))
        return bytes(self.buffer[start : end - 1]).decode("utf-8")

    def array(self, dtype: str) -> np.ndarray:
        """A sequence of a numeric type (``"<f4"``, ``"<f8"``, ``"u1"``), as a read-only view."""
        count = self.count()
        item = np.dtype(dtype).itemsize
        if count == 0:
            return np.zeros(0, dtype)
        start = self._take(item)
        end = start + count * item
        if end > len(self.buffer):
            raise CdrError(f"sequence of {count} x {item} bytes runs past the message end")
        self.position = end
        return np.frombuffer(self.buffer, dtype, count, start)

    def stamp_ns(self) -> int:
        sec = self.i32()
        return sec * 1_000_000_000 + self.u32()

    def header(self) -> tuple[int, str]:
        """std_msgs/Header: (stamp [ns], frame_id)."""
        stamp = self.stamp_ns()
        return stamp, self.string()


class Layout:
    """The layout of one serialized message, to recognise later messages with the same one.

    Streams from one publisher repeat their layout: the same strings, sequence lengths and
    constant blocks, at the same offsets, with only numbers changing. A reader that recorded
    the first message's layout (``CdrReader(buffer, record=True)``) can read the numbers of
    the next ones at the recorded offsets, after one comparison per fixed range instead of
    one Python call per field.
    """

    __slots__ = ("size", "checks")

    def __init__(self, buffer: bytes, fixed: list[tuple[int, int]]):
        merged: list[list[int]] = []
        for start, end in sorted([(0, 2), *fixed]):  # with the encapsulation (byte order)
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.size = len(buffer)
        self.checks = [(start, end, bytes(buffer[start:end])) for start, end in merged]

    def matches(self, buffer: bytes) -> bool:
        """Whether ``buffer`` has this layout (same size and same bytes in every fixed range)."""
        if len(buffer) != self.size:
            return False
        for start, end, expected in self.checks:
            if buffer[start:end] != expected:
                return False
        return True


class LayoutCache:
    """Recently seen layouts of one message type, each with what its reader precomputed."""

    def __init__(self, capacity: int = 16):
        self.capacity = capacity
        self._by_size: dict[int, list[tuple[Layout, object]]] = {}
        self._count = 0

    def find(self, buffer: bytes):
        """What was stored with ``buffer``'s layout, or None."""
        for layout, plan in self._by_size.get(len(buffer), ()):
            if layout.matches(buffer):
                return plan
        return None

    def add(self, layout: Layout, plan) -> None:
        if self._count >= self.capacity:  # a stream of ever new layouts: start again
            self._by_size.clear()
            self._count = 0
        self._by_size.setdefault(layout.size, []).append((layout, plan))
        self._count += 1


def _view(buffer: bytes, dtype: str, slot: tuple[int, int]) -> np.ndarray:
    start, count = slot
    if count == 0:
        return np.zeros(0, dtype)
    return np.frombuffer(buffer, dtype, count, start)


def _array_slot(reader: CdrReader, dtype: str) -> tuple[np.ndarray, tuple[int, int]]:
    """Read a numeric sequence; also return where its data starts and its length."""
    values = reader.array(dtype)
    return values, (reader.position - values.nbytes, values.size)


class CdrWriter:
    """Sequential writer of one message's fields."""

    __slots__ = ("parts", "size")

    def __init__(self):
        self.parts: list[bytes] = [PLAIN_CDR_LE + b"\x00\x00"]
        self.size = _ORIGIN

    def _pad(self, alignment: int) -> None:
        padding = -(self.size - _ORIGIN) % alignment
        if padding:
            self.parts.append(b"\x00" * padding)
            self.size += padding

    def raw(self, data: bytes, alignment: int) -> None:
        self._pad(alignment)
        self.parts.append(data)
        self.size += len(data)

    def u8(self, value: int) -> None:
        self.raw(bytes((value,)), 1)

    def u16(self, value: int) -> None:
        self.raw(_U16.pack(value), 2)

    def u32(self, value: int) -> None:
        self.raw(_U32.pack(value), 4)

    def i32(self, value: int) -> None:
        self.raw(_I32.pack(value), 4)

    def f32(self, value: float) -> None:
        self.raw(_F32.pack(value), 4)

    def f64x7(self, values) -> None:
        self.raw(_F64X7.pack(*values), 8)

    def string(self, text: str) -> None:
        data = text.encode("utf-8") + b"\x00"
        self.u32(len(data))
        self.raw(data, 1)

    def array(self, values: np.ndarray, dtype: str) -> None:
        data = np.ascontiguousarray(values, dtype=dtype)
        self.u32(data.size)
        if data.size:
            self.raw(data.tobytes(), data.dtype.itemsize)

    def header(self, stamp_ns: int, frame_id: str) -> None:
        sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
        self.i32(sec)
        self.u32(nanosec)
        self.string(frame_id)

    def bytes(self) -> bytes:
        return b"".join(self.parts)


# ------------------------------------------------ state messages of fixed layout (the simulator)
def _pack_stamp(buffer: bytearray, stamp_ns: int) -> None:
    """Overwrite the stamp a serialized message starts with (a Header's, or a Time)."""
    _STAMP.pack_into(buffer, _ORIGIN, *divmod(int(stamp_ns), 1_000_000_000))


def write_time(stamp_ns: int) -> bytes:
    """A serialized builtin_interfaces/Time, which is also a rosgraph_msgs/Clock."""
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return PLAIN_CDR_LE + b"\x00\x00" + _STAMP.pack(sec, nanosec)


class StampedDoublesWriter:
    """Writes a message made of a std_msgs/Header, then only float64 fields, from a template:
    sensor_msgs/Imu (37 values: orientation x y z w, its covariance, angular velocity, its
    covariance, linear acceleration, its covariance) or geometry_msgs/WrenchStamped (6 values:
    force, torque); with ``strings`` after the header, nav_msgs/Odometry (child_frame_id, then
    85 values: see :func:`read_stamped_doubles`). The frame_id and strings are fixed; each
    write overwrites the stamp and the values."""

    def __init__(self, frame_id: str, count: int, strings: tuple[str, ...] = ()):
        writer = CdrWriter()
        writer.header(0, frame_id)
        for text in strings:
            writer.string(text)
        writer.raw(bytes(8 * count), 8)
        self._template = writer.bytes()
        self._values_at = writer.size - 8 * count
        self.count = count

    def write(self, stamp_ns: int, values) -> bytes:
        data = np.asarray(values, dtype="<f8")
        if data.size != self.count:
            raise CdrError(f"{data.size} values for a message of {self.count}")
        buffer = bytearray(self._template)
        _pack_stamp(buffer, stamp_ns)
        buffer[self._values_at :] = data.tobytes()
        return bytes(buffer)


class JointStateWriter:
    """Writes sensor_msgs/JointState of fixed joint names from a template: each write
    overwrites the stamp and the position, velocity and effort arrays."""

    def __init__(self, names, frame_id: str = ""):
        self.names = tuple(names)
        count = len(self.names)
        writer = CdrWriter()
        writer.header(0, frame_id)
        writer.u32(count)
        for name in self.names:
            writer.string(name)
        self._slots = []
        for _ in range(3):
            writer.u32(count)
            if count:
                writer.raw(bytes(8 * count), 8)
            self._slots.append(writer.size - 8 * count)
        self._template = writer.bytes()

    def write(self, stamp_ns: int, position, velocity, effort) -> bytes:
        buffer = bytearray(self._template)
        _pack_stamp(buffer, stamp_ns)
        count = len(self.names)
        for start, values in zip(self._slots, (position, velocity, effort), strict=True):
            data = np.asarray(values, dtype="<f8")
            if data.size != count:
                raise CdrError(f"{data.size} values for {count} joints")
            buffer[start : start + 8 * count] = data.tobytes()
        return bytes(buffer)


@dataclass(frozen=True)
class JointStateData:
    stamp_ns: int
    frame_id: str
    name: tuple[str, ...]
    position: np.ndarray  # read-only views of the message bytes
    velocity: np.ndarray
    effort: np.ndarray


def _read_named_arrays(
    buffer: bytes, layouts: LayoutCache, strings: int, arrays: int
) -> tuple[int, tuple[str, ...], tuple[str, ...], list[np.ndarray]]:
    """A message made of a Header, ``strings`` strings, a sequence of names and ``arrays``
    float64 sequences (JointState, JointCommand): (stamp [ns], (frame_id, strings...), names,
    arrays as read-only views). A layout seen before is read at the recorded offsets, without
    decoding the names again."""
    plan = layouts.find(buffer)
    if plan is not None:
        texts, names, slots = plan
        return leading_stamp_ns(buffer), texts, names, [_view(buffer, "<f8", s) for s in slots]
    reader = CdrReader(buffer, record=True)
    stamp, frame_id = reader.header()
    texts = (frame_id, *(reader.string() for _ in range(strings)))
    names = tuple(reader.string() for _ in range(reader.count()))
    read = [_array_slot(reader, "<f8") for _ in range(arrays)]
    layouts.add(Layout(buffer, reader.fixed), (texts, names, [slot for _, slot in read]))
    return stamp, texts, names, [values for values, _ in read]


_JOINT_STATE_LAYOUTS = LayoutCache()


def read_joint_state(buffer: bytes) -> JointStateData:
    """A serialized sensor_msgs/JointState; arrays are read-only views (layout cached)."""
    stamp, (frame_id,), names, arrays = _read_named_arrays(buffer, _JOINT_STATE_LAYOUTS, 0, 3)
    return JointStateData(stamp, frame_id, names, *arrays)


def read_stamped_doubles(
    buffer: bytes, count: int, strings: int = 0
) -> tuple[int, str, tuple[str, ...], np.ndarray]:
    """A message made of a std_msgs/Header, ``strings`` strings, then ``count`` float64 (the
    layout :class:`StampedDoublesWriter` writes): (stamp [ns], frame_id, strings, values).

    sensor_msgs/Imu: count 37, geometry_msgs/WrenchStamped: 6, nav_msgs/Odometry: 1 string
    (child_frame_id) and 85 (pose position, orientation x y z w, its covariance 36, twist linear,
    angular, its covariance 36).
    """
    reader = CdrReader(buffer)
    stamp, frame_id = reader.header()
    texts = tuple(reader.string() for _ in range(strings))
    start = reader.position + (-(reader.position - _ORIGIN) % 8)
    if start + 8 * count != len(buffer):
        raise CdrError(f"{len(buffer) - start} bytes after the header for {count} float64")
    return stamp, frame_id, texts, np.frombuffer(buffer, "<f8", count, start)


# ------------------------------------------------------------ humanoid_interfaces/TactileFrame
@dataclass(frozen=True)
class PadLayout:
    """The fields of a TactilePad that do not change from frame to frame."""

    name: str
    frame_id: str
    pose: tuple[float, ...]  # position x, y, z, orientation x, y, z, w (Pose field order)
    rows: int
    cols: int
    pitch_x: float
    pitch_y: float


@dataclass(frozen=True)
class PadData:
    """One pad of a read TactileFrame; arrays are read-only views of the message bytes."""

    layout: PadLayout
    pressure: np.ndarray  # float32 [kPa]
    shear_x: np.ndarray
    shear_y: np.ndarray
    status: np.ndarray  # uint8


@dataclass(frozen=True)
class TactileFrameData:
    stamp_ns: int
    frame_id: str
    skin_id: str
    sequence: int
    pads: list[PadData]


class TactileTaxels(NamedTuple):
    """The taxel arrays of a read TactileFrame, each kind of all pads concatenated in pad order.

    Attributes:
        stamp_ns: Header stamp [ns].
        sequence: Frame sequence number.
        layouts: The pads' constant fields; the same tuple object for every frame read with
            the same layout, so a caller can check a layout once and recognise it by identity.
        sizes: Per pad, the lengths of its (pressure, shear_x, shear_y) arrays.
        pressure: float32, every pad's pressures one after the other (a copy).
        shear: float32 (2, n): the pads' shear_x, then shear_y, concatenated like
            ``pressure``, when every pad's shear arrays have as many values as its pressures;
            else None.
    """

    stamp_ns: int
    sequence: int
    layouts: tuple[PadLayout, ...]
    sizes: tuple[tuple[int, int, int], ...]
    pressure: np.ndarray
    shear: np.ndarray | None


class _TaxelGather:
    """Where a TactileFrame layout keeps its float arrays, as indices into a float32 view."""

    __slots__ = ("layouts", "sizes", "pressure", "shear")

    def __init__(self, pad_plans) -> None:
        self.layouts = tuple(plan[0] for plan in pad_plans)
        # Slots: (first byte, count); every float32 sequence starts 4-aligned in the buffer.
        self.sizes = tuple((p[1][1], p[2][1], p[3][1]) for p in pad_plans)

        def index(slots) -> np.ndarray:
            parts = [np.arange(count, dtype=np.intp) + start // 4 for start, count in slots]
            return np.concatenate(parts) if parts else np.zeros(0, np.intp)

        self.pressure = index([p[1] for p in pad_plans])
        self.shear = None
        if all(sx == sy == n for n, sx, sy in self.sizes):
            self.shear = np.stack(
                [index([p[2] for p in pad_plans]), index([p[3] for p in pad_plans])]
            )


_POSE = struct.Struct("<7d")
_PAD_GRID = struct.Struct("<HHff")  # rows, cols, pitch_x, pitch_y: consecutive, no padding
_TACTILE_LAYOUTS = LayoutCache()


def read_tactile_frame(buffer: bytes) -> TactileFrameData:
    """A serialized humanoid_interfaces/TactileFrame.

    A frame with the layout of one read before (the same skin) is read at the recorded offsets.
    """
    plan = _TACTILE_LAYOUTS.find(buffer)
    if plan is not None:
        frame_id, skin_id, sequence_at, pad_plans, _ = plan
        stamp = leading_stamp_ns(buffer)
        pads = [
            PadData(
                layout,
                _view(buffer, "<f4", pressure),
                _view(buffer, "<f4", shear_x),
                _view(buffer, "<f4", shear_y),
                _view(buffer, "u1", status),
            )
            for layout, pressure, shear_x, shear_y, status in pad_plans
        ]
        sequence = _U32.unpack_from(buffer, sequence_at)[0]
        return TactileFrameData(stamp, frame_id, skin_id, sequence, pads)
    reader = CdrReader(buffer, record=True)
    stamp, frame_id = reader.header()
    skin_id = reader.string()
    sequence_at = reader._take(4)
    sequence = _U32.unpack_from(buffer, sequence_at)[0]
    pads, pad_plans = [], []
    for _ in range(reader.count()):
        name, pad_frame = reader.string(), reader.string()
        pose = reader.block(_POSE, 8, fixed=True)
        rows, cols, pitch_x, pitch_y = reader.block(_PAD_GRID, 2, fixed=True)
        layout = PadLayout(name, pad_frame, pose, rows, cols, pitch_x, pitch_y)
        pressure, shear_x, shear_y = (_array_slot(reader, "<f4") for _ in range(3))
        status = _array_slot(reader, "u1")
        pads.append(PadData(layout, pressure[0], shear_x[0], shear_y[0], status[0]))
        pad_plans.append((layout, pressure[1], shear_x[1], shear_y[1], status[1]))
    _TACTILE_LAYOUTS.add(
        Layout(buffer, reader.fixed),
        (frame_id, skin_id, sequence_at, pad_plans, _TaxelGather(pad_plans)),
    )
    return TactileFrameData(stamp, frame_id, skin_id, sequence, pads)


def read_tactile_taxels(buffer: bytes) -> TactileTaxels:
    """A serialized humanoid_interfaces/TactileFrame's stamp, sequence and taxel arrays, each
    kind of all pads concatenated (what a consumer of whole frames needs, in a few numpy calls
    instead of a view per array). Values are those :func:`read_tactile_frame` reads.

    Raises:
        CdrError: As :func:`read_tactile_frame`.
    """
    plan = _TACTILE_LAYOUTS.find(buffer)
    if plan is None:
        read_tactile_frame(buffer)  # checks the message and records its layout
        plan = _TACTILE_LAYOUTS.find(buffer)
    _, _, sequence_at, _, gather = plan
    floats = np.frombuffer(buffer, "<f4", len(buffer) // 4)
    return TactileTaxels(
        leading_stamp_ns(buffer),
        _U32.unpack_from(buffer, sequence_at)[0],
        gather.layouts,
        gather.sizes,
        floats[gather.pressure],
        None if gather.shear is None else floats[gather.shear],
    )


def write_tactile_frame(
    stamp_ns: int,
    frame_id: str,
    skin_id: str,
    sequence: int,
    layouts: list[PadLayout],
    pressures,
    shears_x=None,
    shears_y=None,
) -> bytes:
    """A serialized humanoid_interfaces/TactileFrame (no per-taxel status)."""
    writer = CdrWriter()
    writer.header(stamp_ns, frame_id)
    writer.string(skin_id)
    writer.u32(sequence & 0xFFFFFFFF)
    writer.u32(len(layouts))
    empty = np.zeros(0, np.float32)
    for index, layout in enumerate(layouts):
        writer.string(layout.name)
        writer.string(layout.frame_id)
        writer.f64x7(layout.pose)
        writer.u16(layout.rows)
        writer.u16(layout.cols)
        writer.f32(layout.pitch_x)
        writer.f32(layout.pitch_y)
        writer.array(pressures[index], "<f4")
        writer.array(empty if shears_x is None else shears_x[index], "<f4")
        writer.array(empty if shears_y is None else shears_y[index], "<f4")
        writer.u32(0)  # status: empty (all taxels OK)
    return writer.bytes()


class TactileFrameWriter:
    """Writes the TactileFrames of one skin, whose layout never changes, from a template.

    The frame is serialized once with :func:`write_tactile_frame`; each frame then copies the
    template and overwrites the stamp, the sequence number and the taxel arrays in place
    (~20 us, against ~300 us for a field-by-field write).
    """

    def __init__(self, frame_id: str, skin_id: str, layouts: list[PadLayout], shear: bool):
        self._layouts = list(layouts)
        self._shear = shear
        sizes = [layout.rows * layout.cols for layout in self._layouts]
        zeros = [np.zeros(n, np.float32) for n in sizes]
        self._template = bytearray(
            write_tactile_frame(
                0,
                frame_id,
                skin_id,
                0,
                self._layouts,
                zeros,
                zeros if shear else None,
                zeros if shear else None,
            )
        )
        # Locate every taxel array by reading the template back.
        reader = CdrReader(bytes(self._template))
        reader.header()
        reader.string()
        self._sequence_at = reader._take(4)
        self._slots: list[tuple[int, int]] = []  # (first byte, taxel count) per array
        for _ in range(reader.u32()):
            reader.string(), reader.string(), reader.f64x7()
            reader.u16(), reader.u16(), reader.f32(), reader.f32()
            for _ in range(3):
                count = reader.u32()
                if count:
                    start = reader._take(4)
                    reader.position = start + 4 * count
                    self._slots.append((start, count))
                else:
                    self._slots.append((reader.position, 0))
            reader.array("u1")
        # The float32 words of the written arrays, in write order (pad by pad: pressure, then
        # shear x and y with shear): one assignment of all values per frame.
        written = [
            slot
            for index in range(len(self._layouts))
            for slot in self._slots[3 * index : 3 * index + (3 if shear else 1)]
        ]
        self._counts = [count for _, count in written]
        words = [np.arange(count, dtype=np.intp) + start // 4 for start, count in written]
        self._words = np.concatenate(words) if words else np.zeros(0, np.intp)

    def write(self, stamp_ns: int, sequence: int, pressures, shears_x=None, shears_y=None):
        """The frame's bytes; arrays as in :func:`write_tactile_frame`."""
        buffer = bytearray(self._template)
        _pack_stamp(buffer, stamp_ns)
        _U32.pack_into(buffer, self._sequence_at, sequence & 0xFFFFFFFF)
        arrays = []
        for index in range(len(self._layouts)):
            arrays.append(pressures[index])
            if self._shear:
                arrays += (shears_x[index], shears_y[index])
        per_pad = 3 if self._shear else 1
        for position, (values, count) in enumerate(zip(arrays, self._counts, strict=True)):
            if len(values) != count:
                index = position // per_pad
                raise CdrError(f"pad {index}: {len(values)} values for {count} taxels")
        if arrays:
            # Every taxel array starts 4-aligned: assign through one float32 view of the buffer.
            floats = np.frombuffer(buffer, "<f4", len(buffer) // 4)
            floats[self._words] = np.concatenate(arrays)
        return bytes(buffer)


# ------------------------------------------------------------ humanoid_interfaces/ContactArray
@dataclass(frozen=True)
class ContactData:
    stamp_ns: int
    frame_id: str
    pad: str
    in_contact: bool
    force_n: float
    cop: tuple[float, float, float]
    cop_pad: tuple[float, float, float]
    normal: tuple[float, float, float]
    shear_n: tuple[float, float, float]
    area_m2: float
    slip_score: float
    slip: bool


_CONTACT_VALUES = struct.Struct("<15d")  # force, cop, cop_pad, normal, shear, area, slip_score
_CONTACT_LAYOUTS = LayoutCache()


def _contact(stamp, frame_id, pad, in_contact, values, slip) -> ContactData:
    return ContactData(
        stamp,
        frame_id,
        pad,
        in_contact,
        values[0],
        values[1:4],
        values[4:7],
        values[7:10],
        values[10:13],
        values[13],
        values[14],
        slip,
    )


def read_contact_array(buffer: bytes) -> tuple[int, str, str, list[ContactData]]:
    """A serialized humanoid_interfaces/ContactArray: (stamp [ns], frame_id, skin_id, contacts).

    An array with the layout of one read before (the same skin) is read at the recorded
    offsets.
    """
    plan = _CONTACT_LAYOUTS.find(buffer)
    if plan is not None:
        frame_id, skin_id, contact_plans = plan
        contacts = []
        for stamp_at, contact_frame, pad, in_contact_at, values_at, slip_at in contact_plans:
            sec, nanosec = _STAMP.unpack_from(buffer, stamp_at)
            contacts.append(
                _contact(
                    sec * 1_000_000_000 + nanosec,
                    contact_frame,
                    pad,
                    buffer[in_contact_at] != 0,
                    _CONTACT_VALUES.unpack_from(buffer, values_at),
                    buffer[slip_at] != 0,
                )
            )
        return leading_stamp_ns(buffer), frame_id, skin_id, contacts
    reader = CdrReader(buffer, record=True)
    stamp, frame_id = reader.header()
    skin_id = reader.string()
    contacts, contact_plans = [], []
    for _ in range(reader.count()):
        stamp_at = reader._take(4)
        reader.position = stamp_at
        contact_stamp, contact_frame = reader.header()
        pad = reader.string()
        in_contact_at = reader._take(1)
        values = reader.block(_CONTACT_VALUES, 8)
        values_at = reader.position - _CONTACT_VALUES.size
        slip_at = reader._take(1)
        in_contact, slip = buffer[in_contact_at] != 0, buffer[slip_at] != 0
        contacts.append(_contact(contact_stamp, contact_frame, pad, in_contact, values, slip))
        contact_plans.append((stamp_at, contact_frame, pad, in_contact_at, values_at, slip_at))
    _CONTACT_LAYOUTS.add(Layout(buffer, reader.fixed), (frame_id, skin_id, contact_plans))
    return stamp, frame_id, skin_id, contacts


# ------------------------------------------------------------ humanoid_interfaces/JointCommand
@dataclass(frozen=True)
class JointCommandData:
    stamp_ns: int
    source: str
    name: tuple[str, ...]
    position: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray
    kp: np.ndarray
    kd: np.ndarray


class JointCommandWriter:
    """Writes the JointCommands of one sender from templates, one per joint set and pattern of
    empty arrays (velocity and effort may be empty): each write overwrites the stamp and the
    arrays."""

    FIELDS = ("position", "velocity", "effort", "kp", "kd")

    def __init__(self, source: str):
        self.source = source
        self._templates: dict[tuple, tuple[bytes, list[int]]] = {}

    def _template(self, names: tuple[str, ...], present: tuple[bool, ...]):
        writer = CdrWriter()
        writer.header(0, "")
        writer.string(self.source)
        writer.u32(len(names))
        for name in names:
            writer.string(name)
        slots = []
        for full in present:
            count = len(names) if full else 0
            writer.u32(count)
            if count:
                writer.raw(bytes(8 * count), 8)
            slots.append(writer.size - 8 * count)
        template = (writer.bytes(), slots)
        if len(self._templates) > 16:
            self._templates.clear()
        self._templates[(names, present)] = template
        return template

    def write(self, stamp_ns: int, names, position, velocity, effort, kp, kd) -> bytes:
        """The command's bytes; arrays of ``len(names)`` values, velocity and effort may be
        empty (``None`` or size 0)."""
        names = tuple(names)
        arrays = [
            np.zeros(0) if values is None else np.asarray(values, dtype="<f8")
            for values in (position, velocity, effort, kp, kd)
        ]
        count = len(names)
        for field, data in zip(self.FIELDS, arrays, strict=True):
            if data.size not in (count, 0) or (
                data.size == 0 and field in ("position", "kp", "kd") and count
            ):
                raise CdrError(f"{field}: {data.size} values for {count} joints")
        present = tuple(data.size > 0 for data in arrays)
        template, slots = self._templates.get((names, present)) or self._template(names, present)
        buffer = bytearray(template)
        _pack_stamp(buffer, stamp_ns)
        for start, data in zip(slots, arrays, strict=True):
            if data.size:
                buffer[start : start + 8 * count] = data.tobytes()
        return bytes(buffer)


def restamp(buffer: bytes, stamp_ns: int) -> bytes:
    """A serialized message that starts with a stamp (a Header), with that stamp replaced."""
    copy = bytearray(buffer)
    _pack_stamp(copy, stamp_ns)
    return bytes(copy)


_COMMAND_LAYOUTS = LayoutCache()


def read_joint_command(buffer: bytes) -> JointCommandData:
    """A serialized humanoid_interfaces/JointCommand; arrays are read-only views (layout
    cached: a sender's joint names are decoded once)."""
    stamp, (_, source), names, arrays = _read_named_arrays(buffer, _COMMAND_LAYOUTS, 1, 5)
    return JointCommandData(stamp, source, names, *arrays)
