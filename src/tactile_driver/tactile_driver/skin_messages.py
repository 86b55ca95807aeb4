"""TactileFrame and ContactArray messages of one skin, filled from a processed frame.

Two ways to produce the same bytes on the wire:
  - ``fill``: message objects updated in place (the reference path);
  - ``patch``: pre-serialized CDR buffers (``cdr_template``) overwritten in place, about ten
    times cheaper at 1 kHz. Used only after ``SkinMessages`` checked, at start-up, that it
    gives exactly the bytes of the reference path on random data; otherwise the driver
    publishes message objects.
"""

from __future__ import annotations

import array

import numpy as np
from builtin_interfaces.msg import Time
from rclpy.serialization import deserialize_message, serialize_message

from humanoid_interfaces.msg import Contact, ContactArray, TactileFrame, TactilePad
from tactile_driver.cdr_template import CdrTemplate, TemplateError
from tactile_driver.core.pipeline import SkinOutput

# Contact fields written per frame, in the order of ``_contact_doubles``.
_DOUBLE_FIELDS = (
    ("force_n", None),
    ("cop", "x"),
    ("cop", "y"),
    ("cop", "z"),
    ("cop_pad", "x"),
    ("cop_pad", "y"),
    ("cop_pad", "z"),
    ("normal", "x"),
    ("normal", "y"),
    ("normal", "z"),
    ("shear_n", "x"),
    ("shear_n", "y"),
    ("shear_n", "z"),
    ("area_m2", None),
    ("slip_score", None),
)


def _floats(values: np.ndarray) -> array.array:
    return array.array("f", np.ascontiguousarray(values, dtype=np.float32).tobytes())


def _time(nanoseconds: int) -> Time:
    nanoseconds = max(int(nanoseconds), 0)
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def _contact_doubles(output: SkinOutput) -> np.ndarray:
    """(pads, 15) float64: the per-frame numbers of every pad's Contact, in _DOUBLE_FIELDS order."""
    # One flat list of Python numbers (tolist: no numpy scalar per vector element), one array.
    values = []
    for pad in output.pads:
        c = pad.contact
        values.append(c.force_n)
        values += np.asarray(c.cop_link)[:3].tolist()
        values += np.asarray(c.cop_pad)[:3].tolist()
        values += np.asarray(c.normal_link)[:3].tolist()
        values += np.asarray(c.shear_n_link)[:3].tolist()
        values.append(c.area_m2)
        values.append(pad.slip_score)
    return np.array(values, dtype=np.float64).reshape(len(output.pads), len(_DOUBLE_FIELDS))


class SkinMessages:
    """The two output messages of a skin, with a fast serialized path when it checks out.

    Args:
        skin_id: Skin name (``skin_id`` of both messages).
        base_link: ``header.frame_id`` of the frame and the contact array.
        pad_templates: One TactilePad per pad with its fixed fields (name, frame, pose, size).
        shear: Per pad, whether its frames carry shear.
    """

    def __init__(
        self, skin_id: str, base_link: str, pad_templates: list[TactilePad], shear: list[bool]
    ):
        self.frame = TactileFrame()
        self.frame.header.frame_id = base_link
        self.frame.skin_id = skin_id
        self.frame.pads = pad_templates
        self.contacts = ContactArray()
        self.contacts.header.frame_id = base_link
        self.contacts.skin_id = skin_id
        self.shear = list(shear)
        self._sizes = [p.rows * p.cols for p in pad_templates]
        for pad, n, has_shear in zip(pad_templates, self._sizes, self.shear, strict=True):
            pad.pressure = _floats(np.zeros(n))
            pad.status = bytes(n)
            if has_shear:
                pad.shear_x = _floats(np.zeros(n))
                pad.shear_y = _floats(np.zeros(n))
            contact = Contact()
            contact.header.frame_id, contact.pad = pad.frame_id, pad.name
            self.contacts.contacts.append(contact)
        self.fast = False
        self.fast_error = ""
        try:
            self._build_templates()
            self.fast = self._self_check()
            if not self.fast:
                self.fast_error = "patched bytes differ from serialize_message"
        except TemplateError as error:
            self.fast_error = str(error)

    # -------------------------------------------------------------- reference path
    def fill(self, output: SkinOutput, stamp_ns: int, sequence: int) -> None:
        """Write the frame into the message objects."""
        stamp = _time(stamp_ns)
        self.frame.header.stamp = stamp
        self.frame.sequence = sequence & 0xFFFFFFFF
        self.contacts.header.stamp = stamp
        doubles = _contact_doubles(output)
        for template, contact, pad, values in zip(
            self.frame.pads, self.contacts.contacts, output.pads, doubles, strict=True
        ):
            template.pressure = _floats(pad.pressure_kpa)
            if pad.shear_kpa is not None:
                template.shear_x = _floats(pad.shear_kpa[0])
                template.shear_y = _floats(pad.shear_kpa[1])
            template.status = pad.status.astype(np.uint8).tobytes()
            contact.header.stamp = stamp
            contact.in_contact = bool(pad.contact.in_contact)
            contact.slip = bool(pad.slip)
            for (field, axis), value in zip(_DOUBLE_FIELDS, values, strict=True):
                if axis is None:
                    setattr(contact, field, float(value))
                else:
                    setattr(getattr(contact, field), axis, float(value))

    # ------------------------------------------------------------------- fast path
    def _build_templates(self) -> None:
        frame = CdrTemplate(self.frame, serialize_message)
        frame.scalar("sec", self.frame.header.stamp, "sec", "i4")
        frame.scalar("nanosec", self.frame.header.stamp, "nanosec", "u4")
        frame.scalar("sequence", self.frame, "sequence", "u4")
        for i, (pad, n) in enumerate(zip(self.frame.pads, self._sizes, strict=True)):
            frame.array(f"pressure{i}", pad, "pressure", "<f4", n)
            frame.array(f"status{i}", pad, "status", "u1", n)
            if self.shear[i]:
                frame.array(f"shear_x{i}", pad, "shear_x", "<f4", n)
                frame.array(f"shear_y{i}", pad, "shear_y", "<f4", n)
        frame.freeze()
        contacts = CdrTemplate(self.contacts, serialize_message)
        contacts.scalar("sec", self.contacts.header.stamp, "sec", "i4")
        contacts.scalar("nanosec", self.contacts.header.stamp, "nanosec", "u4")
        double_keys, sec_keys, nanosec_keys = [], [], []
        for i, contact in enumerate(self.contacts.contacts):
            contacts.scalar(f"sec{i}", contact.header.stamp, "sec", "i4")
            contacts.scalar(f"nanosec{i}", contact.header.stamp, "nanosec", "u4")
            contacts.scalar(f"in_contact{i}", contact, "in_contact", "bool")
            contacts.scalar(f"slip{i}", contact, "slip", "bool")
            sec_keys.append(f"sec{i}")
            nanosec_keys.append(f"nanosec{i}")
            for field, axis in _DOUBLE_FIELDS:
                key = f"{field}.{axis}{i}"
                owner = contact if axis is None else getattr(contact, field)
                contacts.scalar(key, owner, field if axis is None else axis, "f8")
                double_keys.append(key)
        contacts.freeze()
        self._frame_template, self._contacts_template = frame, contacts
        self._doubles = contacts.gather(double_keys, "f8")
        self._double_keys = double_keys
        self._secs = contacts.gather(["sec", *sec_keys], "i4")
        self._nanosecs = contacts.gather(["nanosec", *nanosec_keys], "u4")
        if self._secs is None or self._nanosecs is None:
            raise TemplateError("contact stamps are not 4-byte aligned")
        self._frame_views = {
            "sec": frame.view("sec"),
            "nanosec": frame.view("nanosec"),
            "sequence": frame.view("sequence"),
        }
        self._pad_views = [
            (
                frame.view(f"pressure{i}"),
                frame.view(f"status{i}"),
                frame.view(f"shear_x{i}") if self.shear[i] else None,
                frame.view(f"shear_y{i}") if self.shear[i] else None,
            )
            for i in range(len(self._sizes))
        ]
        self._bool_views = [
            (contacts.view(f"in_contact{i}"), contacts.view(f"slip{i}"))
            for i in range(len(self._sizes))
        ]

    def patch(self, output: SkinOutput, stamp_ns: int, sequence: int) -> tuple[bytes, bytes]:
        """The serialized (frame, contacts) of a processed frame."""
        sec, nanosec = divmod(max(int(stamp_ns), 0), 1_000_000_000)
        views = self._frame_views
        views["sec"][0], views["nanosec"][0] = sec, nanosec
        views["sequence"][0] = sequence & 0xFFFFFFFF
        for (pressure, status, shear_x, shear_y), pad in zip(
            self._pad_views, output.pads, strict=True
        ):
            pressure[:] = pad.pressure_kpa
            status[:] = pad.status
            if shear_x is not None:
                shear_x[:] = pad.shear_kpa[0]
                shear_y[:] = pad.shear_kpa[1]
        lattice, index = self._secs
        lattice[index] = sec
        lattice, index = self._nanosecs
        lattice[index] = nanosec
        doubles = _contact_doubles(output).ravel()
        if self._doubles is not None:
            lattice, index = self._doubles
            lattice[index] = doubles
        else:
            for key, value in zip(self._double_keys, doubles, strict=True):
                self._contacts_template.view(key)[0] = value
        for (in_contact, slip), pad in zip(self._bool_views, output.pads, strict=True):
            in_contact[0] = bool(pad.contact.in_contact)
            slip[0] = bool(pad.slip)
        return self._frame_template.tobytes(), self._contacts_template.tobytes()

    def _self_check(self) -> bool:
        """Random frames through both paths must give identical bytes."""
        from tactile_driver.core.contacts import PadContact
        from tactile_driver.core.pipeline import PadOutput

        rng = np.random.default_rng(7)
        for _ in range(3):
            pads = []
            for n, has_shear in zip(self._sizes, self.shear, strict=True):
                contact = PadContact(
                    in_contact=bool(rng.integers(2)),
                    force_n=float(rng.normal()),
                    cop_pad=rng.normal(size=3),
                    cop_link=rng.normal(size=3),
                    normal_link=rng.normal(size=3),
                    shear_n_link=rng.normal(size=3),
                    area_m2=float(rng.random()),
                )
                pads.append(
                    PadOutput(
                        name="",
                        pressure_kpa=rng.random(n).astype(np.float32),
                        shear_kpa=rng.normal(size=(2, n)).astype(np.float32) if has_shear else None,
                        status=rng.integers(0, 4, n).astype(np.uint8),
                        contact=contact,
                        slip_score=float(rng.random()),
                        slip=bool(rng.integers(2)),
                    )
                )
            output = SkinOutput(t=0.0, pads=pads, ready=True, taring=False)
            stamp_ns = int(rng.integers(0, 2**31 * 1_000_000_000))
            sequence = int(rng.integers(0, 2**32))
            self.fill(output, stamp_ns, sequence)
            frame_bytes, contact_bytes = self.patch(output, stamp_ns, sequence)
            # Compared decoded: the serializer's alignment padding bytes are not deterministic.
            for fast, message in ((frame_bytes, self.frame), (contact_bytes, self.contacts)):
                kind = type(message)
                reference = deserialize_message(serialize_message(message), kind)
                if deserialize_message(fast, kind) != reference:
                    return False
        return True
