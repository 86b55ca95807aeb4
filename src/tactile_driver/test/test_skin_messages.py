"""The pre-serialized output path gives exactly the messages of the reference path."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message

from humanoid_interfaces.msg import ContactArray, TactileFrame, TactilePad
from tactile_driver.cdr_template import CdrTemplate, TemplateError
from tactile_driver.core.calibration_file import default_skin_calibration
from tactile_driver.core.frames import RawFrame, RawPad
from tactile_driver.core.pad_geometry import load_skin_geometry
from tactile_driver.core.pipeline import ProcessorParams, SkinProcessor
from tactile_driver.skin_messages import SkinMessages

ROBOT_YAML = pathlib.Path(__file__).resolve().parents[3] / "config" / "robots" / "g1_dex3.yaml"
SKIN = load_skin_geometry(ROBOT_YAML, "right_hand")


def pad_templates():
    return [
        TactilePad(name=p.name, frame_id=p.link, rows=p.rows, cols=p.cols, pitch_x=0.004)
        for p in SKIN.pads
    ]


def processed_frames(shear: bool, count: int = 60):
    """Frames through the real pipeline: tare, then a press that grows and moves (slip)."""
    processor = SkinProcessor(SKIN, default_skin_calibration(SKIN), ProcessorParams())
    rng = np.random.default_rng(3)
    outputs = []
    for i in range(count):
        pads = []
        for k, p in enumerate(SKIN.pads):
            n = p.rows * p.cols
            counts = 1000 + rng.integers(0, 4, n)
            if i > 30:
                counts[(i + k) % n] += 30 * (i - 30)
            pads.append(
                RawPad(
                    k,
                    p.rows,
                    p.cols,
                    counts.astype(np.uint16),
                    rng.integers(-50, 50, (2, n)).astype(np.int16) if shear else None,
                )
            )
        outputs.append(processor.process(RawFrame(2, i, i * 1000, pads), i * 1e-3))
    return outputs


@pytest.mark.parametrize("shear", [False, True])
def test_patched_bytes_decode_to_the_reference_messages(shear):
    messages = SkinMessages("right_hand", "pelvis", pad_templates(), [shear] * len(SKIN.pads))
    assert messages.fast, messages.fast_error
    in_contact_seen = False
    for i, output in enumerate(processed_frames(shear)):
        stamp_ns = 1_700_000_000_123_456_789 + i * 1_000_000
        frame_bytes, contact_bytes = messages.patch(output, stamp_ns, 2**32 + i)
        messages.fill(output, stamp_ns, 2**32 + i)
        frame = deserialize_message(frame_bytes, TactileFrame)
        contacts = deserialize_message(contact_bytes, ContactArray)
        assert frame == deserialize_message(serialize_message(messages.frame), TactileFrame)
        assert contacts == deserialize_message(serialize_message(messages.contacts), ContactArray)
        # And the values are this frame's, not the template's.
        assert frame.sequence == i
        assert frame.header.stamp.sec == 1_700_000_000
        assert frame.header.stamp.nanosec == 123_456_789 + i * 1_000_000
        for pad_msg, pad in zip(frame.pads, output.pads, strict=True):
            np.testing.assert_array_equal(np.asarray(pad_msg.pressure), pad.pressure_kpa)
            assert len(pad_msg.shear_x) == (pad.pressure_kpa.size if shear else 0)
        for contact, pad in zip(contacts.contacts, output.pads, strict=True):
            assert contact.force_n == pytest.approx(pad.contact.force_n)
            assert contact.in_contact == bool(pad.contact.in_contact)
            assert contact.header.stamp == frame.header.stamp
            in_contact_seen |= contact.in_contact
    assert in_contact_seen  # the check covered loaded pads, not only zeros


def test_a_field_outside_the_message_is_refused():
    frame = TactileFrame()
    stranger = TactileFrame()
    template = CdrTemplate(frame, serialize_message)
    with pytest.raises(TemplateError, match="found 0 times"):
        template.scalar("sequence", stranger, "sequence", "u4")
    # The registration left both messages as they were.
    assert stranger.sequence == 0 and frame.sequence == 0
