"""tactile_driver as a ROS 2 node: real bytes through a real pseudo-terminal, real DDS.

The device is the ``tactile_emulator`` console script in its own process, speaking the wire
protocol (src/tactile_driver/PROTOCOL.md) into a pty; the driver reads it with pyserial, as it
would a USB e-skin board. Also: the ``sim`` backend against the simulator, a third-party backend
registered through an entry point from a separate package, and refusal of bad parameters.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from std_srvs.srv import Trigger

from harness.processes import NodeGroup, executable_exists, find_executable, node_command
from harness.ros import TestNode, reliable_qos
from harness.spec import NodeSpec
from harness.wiring import REPOSITORY_ROOT, node_specs
from humanoid_interfaces.msg import ContactArray, TactileFrame, TactileRaw

ROBOT = REPOSITORY_ROOT / "config" / "robots" / "g1_dex3.yaml"
RIGHT_PADS = {  # name: taxels, from config/robots/g1_dex3.yaml
    "right_thumb_tip": 18,
    "right_index_tip": 18,
    "right_middle_tip": 18,
    "right_index_proximal": 12,
    "right_middle_proximal": 12,
    "right_palm": 30,
}


def driver_spec(backend: str, options: str, **overrides) -> NodeSpec:
    spec = next(
        s
        for s in node_specs("tactile", {"tactile_backend": backend, "use_sim_time": "false"})
        if s.namespace.endswith("right_hand")
    )
    if not executable_exists(spec):
        pytest.skip("tactile_driver is not built (colcon build)")
    return dataclasses.replace(
        spec, overrides={**spec.overrides, "backend_options": options, **overrides}
    )


class Emulator:
    """The tactile_emulator console script on a pty, as a separate process."""

    def __init__(self, link: Path, *args: str):
        spec = NodeSpec(
            name="tactile_emulator", package="tactile_driver", executable="tactile_emulator"
        )
        command = [
            str(find_executable(spec)),
            "--link",
            str(link),
            "--robot",
            str(ROBOT),
            "--skin",
            "right_hand",
            "--board-id",
            "2",
            *args,
        ]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        line = self.process.stdout.readline()  # blocks until READY (or exit: empty line)
        assert line.startswith("READY"), f"emulator did not start: {line!r} {self.stderr()}"

    def stderr(self) -> str:
        if self.process.poll() is None:
            return ""
        return self.process.stderr.read()

    def stop(self) -> str:
        self.process.send_signal(2)
        _, err = self.process.communicate(timeout=10)
        assert self.process.returncode == 0, err
        return err


def values(diagnostics: DiagnosticArray) -> dict[str, str]:
    return {kv.key: kv.value for kv in diagnostics.status[0].values}


def test_serial_frames_contacts_and_clean_exit(tmp_path: Path, node_logs: Path) -> None:
    link = tmp_path / "eskin"
    emulator = Emulator(link, "--pattern", "press", "--rate-hz", "500")
    try:
        spec = driver_spec("serial", f"{{serial: {{port: {link}}}}}", publish_wire=True)
        with TestNode("tactile_test") as node, NodeGroup([spec], node_logs):
            frames = node.collect("/right_hand/tactile/frames", TactileFrame, reliable_qos(50))
            contacts = node.collect("/right_hand/tactile/contacts", ContactArray, reliable_qos(50))
            wire = node.collect("/right_hand/tactile/wire", TactileRaw, reliable_qos(50))
            received = frames.wait_for(100, 60.0)
            for frame in received[-20:]:
                assert {p.name: len(p.pressure) for p in frame.pads} == RIGHT_PADS
                assert frame.header.frame_id == "right_hand_palm_link"
                for pad in frame.pads:
                    pressure = np.asarray(pad.pressure)
                    assert np.all(np.isfinite(pressure)) and np.all(pressure >= 0)
            # The 'press' pattern loads a pad: some contact appears, with its force and CoP.
            pressed = contacts.wait_until(lambda m: any(c.in_contact for c in m.contacts), 30.0)
            touching = [c for c in pressed.contacts if c.in_contact]
            assert all(c.force_n > 0 and c.area_m2 > 0 for c in touching)
            sequences = [m.sequence for m in received]
            assert sequences == sorted(sequences)
            raw = wire.wait_for(1, 10.0)[0]
            assert bytes(raw.data[:2]) == b"\xa5\x5a" and raw.board_id == 2
            response = node.call_service(Trigger, "/right_hand/tactile_driver/tare", None, 10.0)
            assert response.success, response.message
    finally:
        emulator.stop()


def test_faults_are_counted_and_never_published(tmp_path: Path, node_logs: Path) -> None:
    link = tmp_path / "eskin"
    emulator = Emulator(
        link,
        "--pattern",
        "idle",
        "--rate-hz",
        "500",
        "--corrupt-every",
        "7",
        "--truncate-every",
        "11",
        "--garbage-every",
        "5",
        "--wrong-pads-every",
        "13",
        "--drop-every",
        "17",
    )
    try:
        spec = driver_spec("serial", f"{{serial: {{port: {link}}}}}", diagnostics_rate_hz=4.0)
        with TestNode("tactile_fault_test") as node, NodeGroup([spec], node_logs) as group:
            frames = node.collect("/right_hand/tactile/frames", TactileFrame, reliable_qos(100))
            diagnostics = node.collect("/diagnostics", DiagnosticArray, reliable_qos(50))

            def counted(message: DiagnosticArray) -> bool:
                v = values(message)
                return all(
                    float(v.get(f"backend_{k}", 0)) > 0
                    for k in ("crc_errors", "wrong_layout", "dropped_frames", "garbage_bytes")
                )

            message = diagnostics.wait_until(counted, 60.0)
            assert message.status[0].level != 0  # WARN: bad or dropped frames
            for frame in frames.wait_for(50, 30.0):  # every published frame is whole
                assert {p.name: len(p.pressure) for p in frame.pads} == RIGHT_PADS
            group.assert_running()
    finally:
        emulator.stop()


def test_device_disappears_and_comes_back(tmp_path: Path, node_logs: Path) -> None:
    link = tmp_path / "eskin"
    emulator = Emulator(link, "--rate-hz", "500", "--close-after", "2", "--reopen-after", "1.5")
    try:
        spec = driver_spec("serial", f"{{serial: {{port: {link}}}}}", diagnostics_rate_hz=10.0)
        with TestNode("tactile_reconnect_test") as node, NodeGroup([spec], node_logs) as group:
            diagnostics = node.collect("/diagnostics", DiagnosticArray, reliable_qos(100))
            diagnostics.wait_until(
                lambda m: "disconnected" in m.status[0].message or "stale" in m.status[0].message,
                30.0,
            )
            diagnostics.wait_until(
                lambda m: (
                    float(values(m).get("backend_reconnects", 0)) >= 1
                    and m.status[0].message == "streaming"
                ),
                30.0,
            )
            frames = node.collect("/right_hand/tactile/frames", TactileFrame, reliable_qos(50))
            frames.wait_for(20, 20.0)  # frames flow again after the device came back
            group.assert_running()
    finally:
        emulator.stop()


def test_sim_backend_reads_the_simulated_skin(node_logs: Path) -> None:
    sim = node_specs("simulator", {"sim_mode": "paced"})[0]
    sim = dataclasses.replace(sim, overrides={**sim.overrides, "camera_rate_hz": 0.0})
    spec = driver_spec("sim", "{sim: {}}", use_sim_time=True)
    with TestNode("tactile_sim_test") as node, NodeGroup([sim, spec], node_logs):
        frames = node.collect("/right_hand/tactile/frames", TactileFrame, reliable_qos(50))
        received = frames.wait_for(60, 90.0)
        last = received[-1]
        assert {p.name: len(p.pressure) for p in last.pads} == RIGHT_PADS
        # Stamped with the simulator's measurement time, not the wall clock.
        assert last.header.stamp.sec < 1000
        # Nothing touches the hand standing: after the start-up tare every pressure is ~0.
        assert max(max(p.pressure) for p in last.pads) < 1.0


def test_emulator_sends_the_simulated_skin_through_the_serial_path(
    tmp_path: Path, node_logs: Path
) -> None:
    """`tactile_emulator --pattern sim` -> pty -> serial backend -> driver: kPa in, kPa out.

    The test publishes simulator-format frames on /right_hand/tactile/sim_pressure (a stand-in
    for the simulator, so that the pressure is known): unloaded until the driver's start-up tare
    is done, then a 40 kPa press on the index fingertip. The driver, reading the pty with the
    serial backend, must publish that press within the sensor noise.
    """
    from humanoid_interfaces.msg import TactilePad
    from tactile_driver.core.pad_geometry import load_skin_geometry

    shapes = {p.name: (p.rows, p.cols) for p in load_skin_geometry(ROBOT, "right_hand").pads}
    index_tip = "right_index_tip"
    press = np.zeros(RIGHT_PADS[index_tip])
    press[7] = 40.0
    press[8] = 20.0

    def sim_frame(loaded: bool) -> TactileFrame:
        frame = TactileFrame()
        for name, (rows, cols) in shapes.items():
            pressure = press if (loaded and name == index_tip) else np.zeros(rows * cols)
            frame.pads.append(
                TactilePad(name=name, rows=rows, cols=cols, pressure=pressure.astype(np.float32))
            )
        return frame

    link = tmp_path / "eskin"
    with TestNode("tactile_sim_source_test") as node:
        sim = node.publisher("/right_hand/tactile/sim_pressure", TactileFrame)
        emulator = Emulator(link, "--pattern", "sim", "--rate-hz", "500")
        try:
            node.wait_for_subscribers(sim, 1, 30.0)
            spec = driver_spec("serial", f"{{serial: {{port: {link}}}}}")
            with NodeGroup([spec], node_logs):
                frames = node.collect("/right_hand/tactile/frames", TactileFrame, reliable_qos(50))
                deadline = time.monotonic() + 60.0
                # Unloaded until the driver streams (its start-up tare is over after 50 frames).
                while len(frames) < 100:
                    assert time.monotonic() < deadline, "the driver published no frames"
                    sim.publish(sim_frame(False))
                    time.sleep(0.02)

                def pressed(m: TactileFrame) -> bool:
                    pad = next(p for p in m.pads if p.name == index_tip)
                    return max(pad.pressure) > 30.0

                loaded = sim_frame(True)
                while True:
                    sim.publish(loaded)
                    try:
                        frame = frames.wait_until(pressed, 0.05)
                        break
                    except TimeoutError:
                        assert time.monotonic() < deadline, "the press never reached the driver"
                for pad in frame.pads:
                    expected = press if pad.name == index_tip else np.zeros(len(pad.pressure))
                    # 2-count noise at 30 counts/kPa, calibrated with the same gain.
                    np.testing.assert_allclose(np.asarray(pad.pressure), expected, atol=0.5)
        finally:
            stderr = emulator.stop()
    assert "sim_wrong_layout=0" in stderr
    # Both the unloaded and the loaded frames came through the emulator's subscription (how
    # many depends on how fast the loaded machine ran the loops above).
    frames_from_sim = int(stderr.split("sim_frames=")[1].split()[0])
    assert frames_from_sim >= 2


PLUGIN = textwrap.dedent('''
    """A third-party tactile backend: a constant press on the first pad (test fixture)."""
    import threading, time
    import numpy as np
    from tactile_driver.backends.base import TactileBackend
    from tactile_driver.core.frames import RawFrame, RawPad

    class ConstantPressBackend(TactileBackend):
        def start(self):
            self._sequence = 0
        def read(self, timeout):
            time.sleep(0.002)
            pads = []
            for index, shape in enumerate(self.context.pads):
                counts = np.full(shape.rows * shape.cols, 1000, np.uint16)
                if index == 0 and self._sequence > 100:
                    counts[:] = 1000 + 30 * 50  # 50 kPa once the start-up tare is done
                pads.append(RawPad(index, shape.rows, shape.cols, counts))
            self._sequence += 1
            return [RawFrame(self.context.board_id, self._sequence, 0, pads,
                             time.monotonic_ns())]
        def stop(self):
            pass
''')


def test_third_party_backend_registered_by_entry_point(tmp_path: Path, node_logs: Path) -> None:
    """An integrator's package, installed beside the driver, adds a backend by name."""
    site = tmp_path / "site"
    (site / "acme_skin").mkdir(parents=True)
    (site / "acme_skin" / "__init__.py").write_text(PLUGIN)
    info = site / "acme_skin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-skin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[tactile_driver.backends]\nacme = acme_skin:ConstantPressBackend\n"
    )
    spec = driver_spec("acme", "{acme: {}}")
    environment = {"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with TestNode("tactile_plugin_test") as node, NodeGroup([spec], node_logs, environment):
        contacts = node.collect("/right_hand/tactile/contacts", ContactArray, reliable_qos(50))
        message = contacts.wait_until(lambda m: m.contacts[0].in_contact, 60.0)
        first = message.contacts[0]
        area = 18 * 0.005 * 0.006
        assert first.force_n == pytest.approx(50e3 * area, rel=0.05)  # 50 kPa over the pad


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("backend:=no_such_backend", "no_such_backend"),
        ("skin:=tail", "tail"),
        ('backend_options:="[1, 2]"', "backend_options"),
        ("board_id:=300", "board_id"),
    ],
)
def test_bad_parameters_refuse_to_start(override: str, named: str) -> None:
    spec = driver_spec("serial", "{serial: {port: /dev/null}}")
    result = subprocess.run(
        [*node_command(spec), "-p", override], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr and "refusing to start" in result.stderr


def test_driver_keeps_running_without_a_device(tmp_path: Path, node_logs: Path) -> None:
    """No board on the port: the driver starts, reports stale/disconnected, and keeps trying."""
    spec = driver_spec(
        "serial", f"{{serial: {{port: {tmp_path / 'absent'}}}}}", diagnostics_rate_hz=5.0
    )
    with TestNode("tactile_absent_test") as node, NodeGroup([spec], node_logs) as group:
        message = node.wait_for_message(
            "/diagnostics",
            DiagnosticArray,
            30.0,
            reliable_qos(10),
            predicate=lambda m: m.status[0].level == b"\x02",
        )
        assert "disconnected" in message.status[0].message or "stale" in message.status[0].message
        time.sleep(0.5)  # it stays up (a check over time, not a wait on a condition)
        group.assert_running()
    assert sys.platform.startswith("linux")


@pytest.mark.parametrize("storage", ["MCAP", "SQLITE3"])
def test_replay_backend_plays_recorded_wire_bytes(
    storage: str, tmp_path: Path, node_logs: Path
) -> None:
    """A rosbag2 of tactile/wire (written with rosbags) replays through the decoder."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    from tactile_driver.backends.replay_backend import typestore_with_stack_types
    from tactile_driver.core.frames import RawFrame, RawPad
    from tactile_driver.core.protocol import encode_frame

    store = typestore_with_stack_types()
    raw_type = store.types["humanoid_interfaces/msg/TactileRaw"]
    header_type = store.types["std_msgs/msg/Header"]
    time_type = store.types["builtin_interfaces/msg/Time"]
    shapes = [(3, 6), (3, 6), (3, 6), (3, 4), (3, 4), (6, 5)]
    bag = tmp_path / "bag"
    recorded = list(range(500, 800))
    with Writer(bag, version=9, storage_plugin=getattr(StoragePlugin, storage)) as writer:
        connection = writer.add_connection(
            "/right_hand/tactile/wire", raw_type.__msgtype__, typestore=store
        )
        for sequence in recorded:
            pads = [
                RawPad(i, r, c, np.full(r * c, 1000, np.uint16)) for i, (r, c) in enumerate(shapes)
            ]
            data = encode_frame(RawFrame(2, sequence, sequence * 1000, pads))
            stamp_ns = sequence * 2_000_000
            message = raw_type(
                header=header_type(
                    stamp=time_type(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9),
                    frame_id="right_hand_palm_link",
                ),
                skin_id="right_hand",
                board_id=2,
                sequence=sequence,
                data=np.frombuffer(data, np.uint8),
            )
            writer.write(connection, stamp_ns, store.serialize_cdr(message, raw_type.__msgtype__))
    # Looping: the subscription may join after playback started; one whole pass must arrive.
    spec = driver_spec("replay", f"{{replay: {{bag: {bag}, rate: 1.0, loop: true}}}}")
    with TestNode("tactile_replay_test") as node, NodeGroup([spec], node_logs):
        frames = node.collect("/right_hand/tactile/frames", TactileFrame, reliable_qos(1000))
        received = frames.wait_for(2 * len(recorded) + 10, 60.0)
    sequences = [m.sequence for m in received]
    start = sequences.index(recorded[0])
    assert sequences[start : start + len(recorded)] == recorded  # every frame, once, in order
