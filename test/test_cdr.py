"""humanoid_common.cdr against rclpy's own serialization, on random skin messages."""

from __future__ import annotations

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message

from humanoid_common import cdr
from humanoid_interfaces.msg import Contact, ContactArray, JointCommand, TactileFrame, TactilePad


def random_frame(rng: np.random.Generator, shear: bool, status: bool) -> TactileFrame:
    msg = TactileFrame()
    msg.header.stamp.sec = int(rng.integers(0, 2**31 - 1))
    msg.header.stamp.nanosec = int(rng.integers(0, 10**9))
    msg.header.frame_id = "link_" * int(rng.integers(0, 4))
    msg.skin_id = "right_hand"[: int(rng.integers(0, 11))]
    msg.sequence = int(rng.integers(0, 2**32))
    for index in range(int(rng.integers(0, 7))):
        pad = TactilePad()
        pad.name = f"pad{index}" + "x" * int(rng.integers(0, 5))
        pad.frame_id = "f" * int(rng.integers(0, 9))
        pad.pose.position.x, pad.pose.position.y, pad.pose.position.z = rng.normal(size=3)
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        o = pad.pose.orientation
        o.x, o.y, o.z, o.w = (float(v) for v in q)
        pad.rows, pad.cols = int(rng.integers(0, 5)), int(rng.integers(0, 5))
        pad.pitch_x, pad.pitch_y = (float(v) for v in rng.uniform(0.001, 0.01, size=2))
        count = pad.rows * pad.cols
        pad.pressure = rng.uniform(0, 300, size=count).astype(np.float32).tolist()
        if shear:
            pad.shear_x = rng.normal(size=count).astype(np.float32).tolist()
            pad.shear_y = rng.normal(size=count).astype(np.float32).tolist()
        if status:
            pad.status = bytes(rng.integers(0, 4, size=count, dtype=np.uint8).tolist())
        msg.pads.append(pad)
    return msg


def random_contacts(rng: np.random.Generator) -> ContactArray:
    msg = ContactArray()
    msg.header.stamp.sec = int(rng.integers(-(2**31), 2**31 - 1))
    msg.header.stamp.nanosec = int(rng.integers(0, 10**9))
    msg.header.frame_id = "b" * int(rng.integers(0, 6))
    msg.skin_id = "s" * int(rng.integers(0, 6))
    for index in range(int(rng.integers(0, 8))):
        c = Contact()
        c.header.stamp.sec = int(rng.integers(0, 1000))
        c.header.stamp.nanosec = int(rng.integers(0, 10**9))
        c.header.frame_id = "l" * int(rng.integers(0, 7))
        c.pad = f"p{index}" * int(rng.integers(1, 3))
        c.in_contact = bool(rng.integers(0, 2))
        c.force_n = float(rng.uniform(0, 30))
        for vector in (c.cop, c.cop_pad, c.normal, c.shear_n):
            vector.x, vector.y, vector.z = (float(v) for v in rng.normal(size=3))
        c.area_m2, c.slip_score = float(rng.uniform(0, 1e-3)), float(rng.uniform(0, 1))
        c.slip = bool(rng.integers(0, 2))
        msg.contacts.append(c)
    return msg


@pytest.mark.parametrize("seed", range(40))
def test_a_tactile_frame_reads_as_rclpy_wrote_it(seed: int) -> None:
    rng = np.random.default_rng(seed)
    msg = random_frame(rng, shear=seed % 2 == 0, status=seed % 3 == 0)
    data = cdr.read_tactile_frame(serialize_message(msg))
    stamp = msg.header.stamp
    assert data.stamp_ns == stamp.sec * 10**9 + stamp.nanosec
    assert (data.frame_id, data.skin_id, data.sequence) == (
        msg.header.frame_id,
        msg.skin_id,
        msg.sequence,
    )
    assert len(data.pads) == len(msg.pads)
    for read, pad in zip(data.pads, msg.pads, strict=True):
        p, o = pad.pose.position, pad.pose.orientation
        assert read.layout.name == pad.name and read.layout.frame_id == pad.frame_id
        assert read.layout.pose == (p.x, p.y, p.z, o.x, o.y, o.z, o.w)
        assert (read.layout.rows, read.layout.cols) == (pad.rows, pad.cols)
        assert read.layout.pitch_x == pytest.approx(pad.pitch_x, rel=1e-6)
        np.testing.assert_array_equal(read.pressure, np.asarray(pad.pressure, np.float32))
        np.testing.assert_array_equal(read.shear_x, np.asarray(pad.shear_x, np.float32))
        np.testing.assert_array_equal(read.shear_y, np.asarray(pad.shear_y, np.float32))
        np.testing.assert_array_equal(read.status, np.frombuffer(bytes(pad.status), np.uint8))


@pytest.mark.parametrize("seed", range(20))
def test_a_written_tactile_frame_is_what_rclpy_reads(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    msg = random_frame(rng, shear=seed % 2 == 0, status=False)
    layouts = [
        cdr.PadLayout(
            p.name,
            p.frame_id,
            (
                p.pose.position.x,
                p.pose.position.y,
                p.pose.position.z,
                p.pose.orientation.x,
                p.pose.orientation.y,
                p.pose.orientation.z,
                p.pose.orientation.w,
            ),
            p.rows,
            p.cols,
            p.pitch_x,
            p.pitch_y,
        )
        for p in msg.pads
    ]
    stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
    shear = seed % 2 == 0
    raw = cdr.write_tactile_frame(
        stamp,
        msg.header.frame_id,
        msg.skin_id,
        msg.sequence,
        layouts,
        [np.asarray(p.pressure) for p in msg.pads],
        [np.asarray(p.shear_x) for p in msg.pads] if shear else None,
        [np.asarray(p.shear_y) for p in msg.pads] if shear else None,
    )
    # Compared with rclpy's own round trip (float32 fields are rounded on the way).
    assert deserialize_message(raw, TactileFrame) == deserialize_message(
        serialize_message(msg), TactileFrame
    )


@pytest.mark.parametrize("seed", range(40))
def test_a_contact_array_reads_as_rclpy_wrote_it(seed: int) -> None:
    msg = random_contacts(np.random.default_rng(200 + seed))
    stamp, frame_id, skin_id, contacts = cdr.read_contact_array(serialize_message(msg))
    s = msg.header.stamp
    assert (stamp, frame_id, skin_id) == (
        s.sec * 10**9 + s.nanosec,
        msg.header.frame_id,
        msg.skin_id,
    )
    assert len(contacts) == len(msg.contacts)
    for read, c in zip(contacts, msg.contacts, strict=True):
        assert read.stamp_ns == c.header.stamp.sec * 10**9 + c.header.stamp.nanosec
        assert (read.frame_id, read.pad, read.in_contact, read.slip) == (
            c.header.frame_id,
            c.pad,
            c.in_contact,
            c.slip,
        )
        assert (read.force_n, read.area_m2, read.slip_score) == (
            c.force_n,
            c.area_m2,
            c.slip_score,
        )
        for got, vector in zip(
            (read.cop, read.cop_pad, read.normal, read.shear_n),
            (c.cop, c.cop_pad, c.normal, c.shear_n),
            strict=True,
        ):
            assert got == (vector.x, vector.y, vector.z)


@pytest.mark.parametrize("seed", range(12))
def test_taxels_are_the_frames_arrays_concatenated(seed: int) -> None:
    """read_tactile_taxels gives read_tactile_frame's arrays, each kind of all pads one after the
    other, the pads' array lengths, and shear only when every pad has as much as pressure."""
    rng = np.random.default_rng(900 + seed)
    msg = random_frame(rng, shear=seed % 3 != 0, status=seed % 2 == 0)
    if seed % 3 == 2 and msg.pads:  # one pad's shear shorter than its pressures
        msg.pads[-1].shear_x = msg.pads[-1].shear_y = [1.5] * max(len(msg.pads[-1].pressure) - 1, 0)
    raw = serialize_message(msg)
    for _ in range(2):  # the first read records the layout, the second reads with it
        frame = cdr.read_tactile_frame(raw)
        taxels = cdr.read_tactile_taxels(raw)
        assert (taxels.stamp_ns, taxels.sequence) == (frame.stamp_ns, frame.sequence)
        assert taxels.layouts == tuple(pad.layout for pad in frame.pads)
        assert taxels.sizes == tuple(
            (len(p.pressure), len(p.shear_x), len(p.shear_y)) for p in frame.pads
        )

        def joined(kind, pads=frame.pads):
            return np.concatenate([np.zeros(0, np.float32)] + [getattr(p, kind) for p in pads])

        assert taxels.pressure.dtype == np.float32
        np.testing.assert_array_equal(taxels.pressure, joined("pressure"))
        if all(len(p.shear_x) == len(p.shear_y) == len(p.pressure) for p in frame.pads):
            assert taxels.shear.dtype == np.float32
            np.testing.assert_array_equal(taxels.shear, [joined("shear_x"), joined("shear_y")])
        else:
            assert taxels.shear is None
    assert cdr.read_tactile_taxels(raw).layouts is taxels.layouts  # one object per layout


def test_truncated_or_foreign_bytes_are_refused() -> None:
    raw = serialize_message(random_contacts(np.random.default_rng(5)))
    while len(cdr.read_contact_array(raw)[3]) == 0:  # make sure there is something to cut
        raw = serialize_message(random_contacts(np.random.default_rng(len(raw))))
    for cut in (3, 10, len(raw) // 2, len(raw) - 9):
        with pytest.raises(cdr.CdrError):
            cdr.read_contact_array(raw[:cut])
    with pytest.raises(cdr.CdrError, match="encapsulation"):
        cdr.read_contact_array(b"\x00\x00" + raw[2:])  # big-endian
    frame = serialize_message(random_frame(np.random.default_rng(3), True, True))
    with pytest.raises(cdr.CdrError):
        cdr.read_tactile_frame(frame[: len(frame) - 13])


@pytest.mark.parametrize("seed", range(10))
def test_the_template_writer_matches_the_field_by_field_write(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    msg = random_frame(rng, shear=True, status=False)
    layouts = [
        cdr.PadLayout(
            p.name, p.frame_id, (0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 1.0), p.rows, p.cols, 0.004, 0.005
        )
        for p in msg.pads
    ]
    shear = seed % 2 == 0
    writer = cdr.TactileFrameWriter("hand", "skin", layouts, shear=shear)
    for _ in range(3):  # the template is reused: nothing of a frame leaks into the next
        stamp, sequence = int(rng.integers(0, 2**60)), int(rng.integers(0, 2**33))
        arrays = [[rng.normal(size=lay.rows * lay.cols) for lay in layouts] for _ in range(3)]
        expected = cdr.write_tactile_frame(
            stamp,
            "hand",
            "skin",
            sequence,
            layouts,
            arrays[0],
            arrays[1] if shear else None,
            arrays[2] if shear else None,
        )
        got = writer.write(stamp, sequence, *(arrays if shear else arrays[:1]))
        assert deserialize_message(got, TactileFrame) == deserialize_message(expected, TactileFrame)
    if layouts and layouts[0].rows * layouts[0].cols:
        wrong = [np.zeros(lay.rows * lay.cols + 1) for lay in layouts]
        with pytest.raises(cdr.CdrError, match="taxels"):
            writer.write(0, 0, wrong, wrong, wrong)


@pytest.mark.parametrize("seed", range(20))
def test_a_joint_command_reads_as_rclpy_wrote_it(seed: int) -> None:
    rng = np.random.default_rng(400 + seed)
    msg = JointCommand()
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(rng.integers(0, 10**6)), 123
    msg.header.frame_id = "x" * int(rng.integers(0, 4))
    msg.source = "right_hand"[: int(rng.integers(0, 11))]
    count = int(rng.integers(0, 30))
    msg.name = [f"joint_{i}" + "_" * int(rng.integers(0, 4)) for i in range(count)]
    msg.position = rng.normal(size=count).tolist()
    msg.velocity = rng.normal(size=count).tolist() if seed % 2 else []
    msg.effort = rng.normal(size=count).tolist() if seed % 3 else []
    msg.kp, msg.kd = (
        rng.uniform(0, 100, size=count).tolist(),
        rng.uniform(0, 5, size=count).tolist(),
    )
    data = cdr.read_joint_command(serialize_message(msg))
    assert data.stamp_ns == msg.header.stamp.sec * 10**9 + 123
    assert (data.source, data.name) == (msg.source, tuple(msg.name))
    for field in ("position", "velocity", "effort", "kp", "kd"):
        np.testing.assert_array_equal(getattr(data, field), np.asarray(getattr(msg, field)))


def test_the_leading_stamp_of_a_serialized_message() -> None:
    msg = random_contacts(np.random.default_rng(9))
    raw = serialize_message(msg)
    s = msg.header.stamp
    assert cdr.leading_stamp_ns(raw) == s.sec * 10**9 + s.nanosec
    big = b"\x00\x00\x00\x00" + (-3).to_bytes(4, "big", signed=True) + (7).to_bytes(4, "big")
    assert cdr.leading_stamp_ns(big) == -3 * 10**9 + 7
    with pytest.raises(cdr.CdrError):
        cdr.leading_stamp_ns(raw[:10])


def _renumbered_frame(msg: TactileFrame, rng: np.random.Generator) -> TactileFrame:
    """The same layout (strings, sizes, pad geometry) with new stamps and taxel values."""
    new = deserialize_message(serialize_message(msg), TactileFrame)
    new.header.stamp.sec, new.header.stamp.nanosec = int(rng.integers(0, 2**31)), 7
    new.sequence = int(rng.integers(0, 2**32))
    for pad in new.pads:
        count = pad.rows * pad.cols
        pad.pressure = rng.uniform(0, 300, size=count).astype(np.float32).tolist()
        if len(pad.shear_x):
            pad.shear_x = rng.normal(size=count).astype(np.float32).tolist()
            pad.shear_y = rng.normal(size=count).astype(np.float32).tolist()
        if len(pad.status):
            pad.status = bytes(rng.integers(0, 4, size=count, dtype=np.uint8).tolist())
    return new


@pytest.mark.parametrize("seed", range(10))
def test_repeated_layouts_are_read_with_their_own_values(seed: int) -> None:
    """The layout caches: a message with a known layout is read at the recorded offsets and
    still yields its own stamps and numbers; one that differs only in a string's characters
    (same size) or a constant block is not taken for the known layout."""
    rng = np.random.default_rng(500 + seed)
    first = random_frame(rng, shear=seed % 2 == 0, status=seed % 3 == 0)
    first.pads.append(TactilePad(name="tip", frame_id="tip_link", rows=2, cols=2))
    first.pads[-1].pressure = [1.0, 2.0, 3.0, 4.0]
    cdr.read_tactile_frame(serialize_message(first))
    for _ in range(3):
        msg = _renumbered_frame(first, rng)
        raw = serialize_message(msg)
        assert cdr._TACTILE_LAYOUTS.find(raw) is not None  # the fast path is taken
        data = cdr.read_tactile_frame(raw)
        assert data.stamp_ns == msg.header.stamp.sec * 10**9 + 7
        assert data.sequence == msg.sequence
        for read, pad in zip(data.pads, msg.pads, strict=True):
            np.testing.assert_array_equal(read.pressure, np.asarray(pad.pressure, np.float32))
            np.testing.assert_array_equal(read.shear_y, np.asarray(pad.shear_y, np.float32))
            np.testing.assert_array_equal(read.status, np.frombuffer(bytes(pad.status), "u1"))
    for change in ("name", "pitch"):
        other = _renumbered_frame(first, rng)
        if change == "name":
            other.pads[-1].name = "tap"  # same length
        else:
            other.pads[-1].pitch_x = 0.123
        raw = serialize_message(other)
        assert cdr._TACTILE_LAYOUTS.find(raw) is None
        assert cdr.read_tactile_frame(raw).pads[-1].layout.name == other.pads[-1].name
        assert cdr.read_tactile_frame(raw).pads[-1].layout.pitch_x == pytest.approx(
            other.pads[-1].pitch_x
        )

    contacts = random_contacts(rng)
    contacts.contacts.append(Contact(pad="palm"))
    cdr.read_contact_array(serialize_message(contacts))
    for _ in range(3):
        for c in contacts.contacts:
            c.header.stamp.sec = int(rng.integers(0, 1000))
            c.in_contact, c.slip = bool(rng.integers(0, 2)), bool(rng.integers(0, 2))
            c.force_n, c.slip_score = float(rng.uniform(0, 30)), float(rng.uniform(0, 1))
            c.normal.x, c.shear_n.z = float(rng.normal()), float(rng.normal())
        raw = serialize_message(contacts)
        assert cdr._CONTACT_LAYOUTS.find(raw) is not None
        _, _, _, read = cdr.read_contact_array(raw)
        for got, c in zip(read, contacts.contacts, strict=True):
            assert got.stamp_ns == c.header.stamp.sec * 10**9 + c.header.stamp.nanosec
            assert (got.in_contact, got.slip, got.pad) == (c.in_contact, c.slip, c.pad)
            assert (got.force_n, got.slip_score) == (c.force_n, c.slip_score)
            assert (got.normal[0], got.shear_n[2]) == (c.normal.x, c.shear_n.z)
    contacts.contacts[-1].pad = "mlap"
    raw = serialize_message(contacts)
    assert cdr._CONTACT_LAYOUTS.find(raw) is None
    assert cdr.read_contact_array(raw)[3][-1].pad == "mlap"

    command = JointCommand(source="gait", name=["hip", "knee", "ankle"], position=[1.0, 2.0, 3.0])
    command.kp = [10.0, 20.0, 30.0]
    cdr.read_joint_command(serialize_message(command))
    command.position, command.header.stamp.sec = rng.normal(size=3).tolist(), 42
    raw = serialize_message(command)
    assert cdr._COMMAND_LAYOUTS.find(raw) is not None
    data = cdr.read_joint_command(raw)
    assert data.stamp_ns == 42 * 10**9 and data.name == ("hip", "knee", "ankle")
    np.testing.assert_array_equal(data.position, command.position)
    command.name = ["hip", "knee", "elbow"]  # another sender's joints, another length
    command.kp = []
    data = cdr.read_joint_command(serialize_message(command))
    assert data.name == ("hip", "knee", "elbow") and data.kp.size == 0


@pytest.mark.parametrize("seed", range(5))
def test_the_state_writers_write_what_rclpy_reads(seed: int) -> None:
    from geometry_msgs.msg import WrenchStamped
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Imu, JointState

    rng = np.random.default_rng(600 + seed)
    stamp = int(rng.integers(0, 2**40))
    clock = deserialize_message(cdr.write_time(stamp), Clock)
    assert clock.clock.sec * 10**9 + clock.clock.nanosec == stamp

    names = [f"joint_{i}" + "x" * int(rng.integers(0, 4)) for i in range(int(rng.integers(0, 44)))]
    joints = cdr.JointStateWriter(names, frame_id="f" * seed)
    for _ in range(2):  # the template is reused
        q, dq, tau = rng.normal(size=(3, len(names)))
        msg = deserialize_message(joints.write(stamp, q, dq, tau), JointState)
        assert msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec == stamp
        assert (msg.header.frame_id, list(msg.name)) == ("f" * seed, names)
        for got, expected in ((msg.position, q), (msg.velocity, dq), (msg.effort, tau)):
            np.testing.assert_array_equal(got, expected)
    with pytest.raises(cdr.CdrError, match="joints"):
        joints.write(stamp, np.zeros(len(names) + 1), q, tau)

    imu = cdr.StampedDoublesWriter("imu_link", 37)
    values = rng.normal(size=37)
    msg = deserialize_message(imu.write(stamp, values), Imu)
    assert msg.header.frame_id == "imu_link"
    o, w, a = msg.orientation, msg.angular_velocity, msg.linear_acceleration
    assert (o.x, o.y, o.z, o.w) == tuple(values[0:4])
    np.testing.assert_array_equal(msg.orientation_covariance, values[4:13])
    assert (w.x, w.y, w.z, a.x, a.y, a.z) == (*values[13:16], *values[25:28])
    np.testing.assert_array_equal(msg.linear_acceleration_covariance, values[28:37])

    wrench = cdr.StampedDoublesWriter("left_ankle_roll_link" * (seed % 2), 6)
    values = rng.normal(size=6)
    msg = deserialize_message(wrench.write(stamp, values), WrenchStamped)
    f, t = msg.wrench.force, msg.wrench.torque
    assert (f.x, f.y, f.z, t.x, t.y, t.z) == tuple(values)
    with pytest.raises(cdr.CdrError):
        wrench.write(stamp, values[:5])


@pytest.mark.parametrize("seed", range(6))
def test_joint_states_odometry_and_commands_round_trip_with_rclpy(seed: int) -> None:
    from nav_msgs.msg import Odometry
    from sensor_msgs.msg import JointState

    rng = np.random.default_rng(700 + seed)
    count = int(rng.integers(0, 44))
    names = [f"j{i}" + "_" * int(rng.integers(0, 3)) for i in range(count)]
    for _ in range(3):  # the second and third take the layout cache's path
        state = JointState(name=names)
        state.header.stamp.sec, state.header.stamp.nanosec = int(rng.integers(0, 10**6)), 5
        state.header.frame_id = "base" * (seed % 2)
        state.position, state.velocity = rng.normal(size=(2, count)).tolist()
        state.effort = rng.normal(size=count).tolist() if seed % 3 else []
        data = cdr.read_joint_state(serialize_message(state))
        assert data.stamp_ns == state.header.stamp.sec * 10**9 + 5
        assert (data.frame_id, data.name) == (state.header.frame_id, tuple(names))
        for field in ("position", "velocity", "effort"):
            np.testing.assert_array_equal(getattr(data, field), getattr(state, field))

    odom = Odometry(child_frame_id="pelvis" * (seed % 3))
    odom.header.frame_id = "odom"
    odom.header.stamp.sec = 12
    odom.pose.pose.position.x, odom.pose.pose.orientation.w = 1.5, 0.5
    odom.pose.covariance = rng.normal(size=36).tolist()
    odom.twist.twist.linear.y, odom.twist.twist.angular.z = -0.25, 0.75
    stamp, frame, texts, values = cdr.read_stamped_doubles(serialize_message(odom), 85, 1)
    assert (stamp, frame, texts) == (12 * 10**9, "odom", (odom.child_frame_id,))
    assert (values[0], values[6], values[44], values[48]) == (1.5, 0.5, -0.25, 0.75)
    np.testing.assert_array_equal(values[7:43], odom.pose.covariance)
    writer = cdr.StampedDoublesWriter("odom", 85, (odom.child_frame_id,))
    assert deserialize_message(writer.write(12 * 10**9, values), Odometry) == odom
    with pytest.raises(cdr.CdrError):
        cdr.read_stamped_doubles(serialize_message(odom), 84, 1)

    commands = cdr.JointCommandWriter("right_hand")
    for velocity in (None, rng.normal(size=count)):
        position, kp, kd = rng.normal(size=(3, count))
        effort = rng.normal(size=count) if seed % 2 else np.zeros(0)
        raw = commands.write(99, names, position, velocity, effort, kp, kd)
        msg = deserialize_message(raw, JointCommand)
        assert (msg.source, list(msg.name), msg.header.stamp.nanosec) == ("right_hand", names, 99)
        np.testing.assert_array_equal(msg.position, position)
        np.testing.assert_array_equal(msg.velocity, [] if velocity is None else velocity)
        np.testing.assert_array_equal(msg.effort, effort)
        np.testing.assert_array_equal(msg.kd, kd)
        again = deserialize_message(cdr.restamp(raw, 7 * 10**9 + 3), JointCommand)
        assert (again.header.stamp.sec, again.header.stamp.nanosec) == (7, 3)
        np.testing.assert_array_equal(again.kp, kp)
    if count:
        with pytest.raises(cdr.CdrError, match="position"):
            commands.write(0, names, np.zeros(count + 1), None, None, kp, kd)
