"""The simulator refuses bad parameters, naming them, and lockstep mode is deterministic.

Separate from test_sim_node.py, whose module-scoped simulator would otherwise publish on the
same DDS domain as the simulators started here.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import time
from pathlib import Path

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState
from test_sim_node import STARTUP_S, sim_spec

from harness.processes import NodeGroup, node_command
from harness.ros import TestNode, reliable_qos
from humanoid_interfaces.msg import JointCommand, TactileFrame
from humanoid_sim.camera_stream import without_node_name


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("mode:=fast", "mode"),
        ("timestep:=0.5", "timestep"),
        ("camera_rate_hz:=0", "camera_rate_hz"),
        ("clock_rate_hz:=1000.0", "clock_rate_hz"),  # above control_rate_hz
        ("scene:=/no/such/scene.yaml", "scene"),
    ],
)
def test_bad_parameter_refuses_to_start(override: str, named: str, node_logs: Path) -> None:
    spec = sim_spec()
    command = [*node_command(spec), "-p", override]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr and "refusing to start" in result.stderr


def run_lockstep(
    node_logs: Path,
    steps: int,
    arrivals: dict[int, float] | None = None,
    clocks: list[int] | None = None,
    targets=None,
    **params,
) -> dict[int, tuple[float, ...]]:
    """Run a lockstep sim answered by a deterministic arm controller; return q by stamp (and
    fill ``arrivals``: wall time [s] by stamp; ``clocks``: the /clock times [ns]).
    ``targets(t)``: the elbow's and shoulder's position targets for the state at ``t`` [s]."""
    if targets is None:

        def targets(t: float) -> list[float]:
            return [1.2 - 0.5 * math.sin(6.0 * t), -0.3 * t]

    spec = sim_spec(
        mode="lockstep",
        lockstep_sources=["tester"],
        camera_rate_hz=0.0,
        tactile_rate_hz=0.0,
        seed=7,
        **params,
    )
    trajectory: dict[int, tuple[float, ...]] = {}
    arrivals = {} if arrivals is None else arrivals
    names: list[str] = []
    with TestNode("lockstep_tester") as node:
        publisher = node.publisher("/joint_command", JointCommand, reliable_qos(50))

        def answer(state: JointState) -> None:
            stamp = state.header.stamp
            t = stamp.sec + stamp.nanosec * 1e-9
            trajectory[stamp.sec * 10**9 + stamp.nanosec] = tuple(state.position)
            arrivals.setdefault(stamp.sec * 10**9 + stamp.nanosec, time.monotonic())
            names[:] = state.name
            command = JointCommand(
                source="tester",
                name=["right_elbow_joint", "right_shoulder_pitch_joint"],
                position=targets(t),
                kp=[60.0, 60.0],
                kd=[2.0, 2.0],
            )
            command.header.stamp = stamp
            publisher.publish(command)

        node.node.create_subscription(JointState, "/joint_states", answer, reliable_qos(100))
        if clocks is not None:
            node.node.create_subscription(
                Clock,
                "/clock",
                lambda m: clocks.append(m.clock.sec * 10**9 + m.clock.nanosec),
                reliable_qos(100),
            )
        with NodeGroup([spec], node_logs) as group:
            deadline = time.monotonic() + STARTUP_S + 60.0
            while len(trajectory) < steps:
                group.assert_running()
                assert time.monotonic() < deadline, f"only {len(trajectory)} lockstep steps"
                time.sleep(0.05)
    return trajectory, names


def test_lockstep_is_deterministic(node_logs: Path) -> None:
    steps = 400
    (node_logs / "a").mkdir()
    (node_logs / "b").mkdir()
    first, names = run_lockstep(node_logs / "a", steps)
    second, _ = run_lockstep(node_logs / "b", steps)
    common = sorted(set(first) & set(second))[:steps]
    assert len(common) >= steps - 5
    for stamp in common:  # any difference in any joint at any common stamp fails
        assert first[stamp] == second[stamp], f"trajectories differ at t={stamp / 1e9:.3f} s"
    # The controller really drove the arm (the test is not comparing two idle robots).
    elbow = names.index("right_elbow_joint")
    moved = [abs(first[s][elbow] - first[common[0]][elbow]) for s in common]
    assert max(moved) > 0.05


def test_a_command_delay_pipelines_lockstep_deterministically(node_logs: Path) -> None:
    """``lockstep_command_delay_steps`` 1: the answer to the state at ``t`` acts from the step
    after ``t + period`` on. The tester commands the elbow to 0.3 rad until 1 s and to 1.3 rad
    from then on; without the delay the elbow has moved at the next state, with it only one
    state later. Two delayed runs, the source named in ``lockstep_delayed_sources`` or all
    sources by default, are identical."""
    period_ns = 10_000_000
    jump_ns = 10**9

    def targets(t: float) -> list[float]:
        return [1.3 if t >= jump_ns * 1e-9 - 1e-6 else 0.3, 0.0]

    runs = {}
    for name, delay, delayed in (
        ("plain", 0, [""]),
        ("delayed", 1, ["tester"]),  # the source named
        ("delayed_again", 1, [""]),  # every lockstep source
    ):
        (node_logs / name).mkdir()
        runs[name] = run_lockstep(
            node_logs / name,
            150,
            targets=targets,
            control_rate_hz=100.0,
            lockstep_command_delay_steps=delay,
            lockstep_delayed_sources=delayed,
        )
    names = runs["plain"][1]
    elbow = names.index("right_elbow_joint")

    def moved(run: str, periods: int) -> float:
        q = runs[run][0]
        return abs(q[jump_ns + periods * period_ns][elbow] - q[jump_ns][elbow])

    assert moved("plain", 1) > 0.01
    assert moved("delayed", 1) < 0.2 * moved("plain", 1)
    assert moved("delayed", 2) > 0.01
    first, second = runs["delayed"][0], runs["delayed_again"][0]
    common = sorted(set(first) & set(second))
    assert len(common) >= 140
    for stamp in common:
        assert first[stamp] == second[stamp], f"delayed runs differ at t={stamp / 1e9:.3f} s"


def test_lockstep_speed_cap(node_logs: Path) -> None:
    """``lockstep_max_real_time_factor`` 0.5: simulated time never runs ahead of half the wall
    time (a loaded machine only makes it slower, so this bound cannot fail from load)."""
    arrivals: dict[int, float] = {}
    run_lockstep(node_logs, 400, arrivals, lockstep_max_real_time_factor=0.5)
    stamps = sorted(arrivals)[50:]  # past the start-up
    assert len(stamps) >= 300
    for first, last in ((stamps[0], stamps[-1]), (stamps[100], stamps[200])):
        sim_s = (last - first) * 1e-9
        wall_s = arrivals[last] - arrivals[first]
        assert sim_s > 0.1
        assert sim_s <= 0.5 * wall_s + 0.01, f"{sim_s:.3f} s simulated in {wall_s:.3f} s"


def test_clock_rate(node_logs: Path) -> None:
    """``clock_rate_hz`` 25 with states at 100 Hz: /clock every fourth state, on its instant."""
    clocks: list[int] = []
    states, _ = run_lockstep(
        node_logs, 200, clocks=clocks, control_rate_hz=100.0, clock_rate_hz=25.0
    )
    # From the first /clock this subscription got (its match may complete after the states')
    # to the last states but two (a state's /clock follows the answer to it, which the run may
    # end before): exactly the states at multiples of 40 ms (one in four) had a /clock.
    assert clocks, "no /clock"
    first, last = max(min(states), min(clocks)), sorted(states)[-3]
    ticks = sorted(t for t in set(clocks) if first <= t <= last)
    assert len(ticks) >= 40
    assert ticks == sorted(t for t in states if first <= t <= last and t % 40_000_000 == 0)
    assert sum(1 for t in states if first <= t <= last) >= 3.5 * len(ticks)


def test_an_unanswered_state_is_published_again(node_logs: Path) -> None:
    """A lost command (or state) costs ``lockstep_resend_s``, not ``lockstep_timeout_s``.

    The tester ignores the first delivery of every 20th state, as if its command had been lost.
    The simulator must publish that state again (same stamp, same positions) and wait for the
    answer: lockstep_timeout_s is 60 s, so a simulator that only waited would not reach 200
    steps, and one that stepped anyway would have counted a timeout.
    """
    spec = sim_spec(
        mode="lockstep",
        lockstep_sources=["tester"],
        lockstep_timeout_s=60.0,
        lockstep_resend_s=0.05,
        camera_rate_hz=0.0,
        tactile_rate_hz=0.0,
    )
    seen: dict[int, list[tuple[float, ...]]] = {}
    with TestNode("lockstep_resend_tester") as node:
        publisher = node.publisher("/joint_command", JointCommand, reliable_qos(50))

        def answer(state: JointState) -> None:
            stamp_ns = state.header.stamp.sec * 10**9 + state.header.stamp.nanosec
            deliveries = seen.setdefault(stamp_ns, [])
            deliveries.append(tuple(state.position))
            if len(seen) % 20 == 0 and len(deliveries) == 1:
                return  # "lost"
            command = JointCommand(source="tester", name=["right_elbow_joint"], position=[0.5])
            command.kp, command.kd = [40.0], [2.0]
            command.header.stamp = state.header.stamp
            publisher.publish(command)

        node.node.create_subscription(JointState, "/joint_states", answer, reliable_qos(100))
        diagnostics = node.collect("/diagnostics", DiagnosticArray, reliable_qos(10))
        with NodeGroup([spec], node_logs) as group:
            deadline = time.monotonic() + STARTUP_S + 60.0
            while len(seen) < 200:
                group.assert_running()
                assert time.monotonic() < deadline, f"only {len(seen)} lockstep steps"
                time.sleep(0.05)
            values = {}
            while "lockstep_resends" not in values:
                assert time.monotonic() < deadline, "no lockstep figures on /diagnostics"
                for message in diagnostics.messages:
                    for status in message.status:
                        values.update({kv.key: kv.value for kv in status.values})
                time.sleep(0.1)
    repeated = {stamp: d for stamp, d in seen.items() if len(d) > 1}
    ignored = [stamp for i, stamp in enumerate(sorted(seen), start=1) if i % 20 == 0]
    # Every ignored state came again, identical; startup republishing may add a few more.
    assert set(ignored[:-1]) <= set(repeated)
    assert all(len(set(d)) == 1 for d in repeated.values())
    assert int(values["lockstep_timeouts"]) == 0
    # /diagnostics (1 Hz) lags the steps counted above: it has seen some resends, no timeout.
    assert int(values["lockstep_resends"]) >= 1


def test_lockstep_camera_frames_carry_state_instants(node_logs: Path) -> None:
    """The camera renders in a thread of its own and publishes from a participant of its own
    (humanoid_sim.camera_stream); its frames must still be stamped with the instant of a
    published state, on the camera's grid (every round(control_rate / camera_rate) states),
    and come from the ``<simulator>_camera`` node."""
    spec = sim_spec(mode="lockstep", lockstep_sources=["tester"], tactile_rate_hz=0.0)
    states: set[int] = set()
    with TestNode("lockstep_camera_tester") as node:
        publisher = node.publisher("/joint_command", JointCommand, reliable_qos(50))

        def answer(state: JointState) -> None:
            states.add(state.header.stamp.sec * 10**9 + state.header.stamp.nanosec)
            command = JointCommand(source="tester", name=["right_elbow_joint"], position=[0.5])
            command.kp, command.kd = [40.0], [2.0]
            command.header.stamp = state.header.stamp
            publisher.publish(command)

        node.node.create_subscription(JointState, "/joint_states", answer, reliable_qos(100))
        images = node.collect("/camera/color/image_raw", Image, reliable_qos(10))
        with NodeGroup([spec], node_logs) as group:
            deadline = time.monotonic() + STARTUP_S + 90.0
            while len(images.messages) < 12:
                group.assert_running()
                assert time.monotonic() < deadline, f"{len(images.messages)} camera frames"
                time.sleep(0.05)
            publishers = node.node.get_publishers_info_by_topic("/camera/color/image_raw")
    assert [p.node_name for p in publishers] == ["humanoid_sim_camera"]
    stamps = sorted({m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in images.messages})
    assert set(stamps) <= states, sorted(set(stamps) - states)[:3]
    period_ns = round(500 / 15) * 2_000_000  # 500 Hz states (the default), camera at 15 Hz
    assert all((b - a) % period_ns == 0 for a, b in itertools.pairwise(stamps)), stamps
    frame = images.messages[-1]
    assert (frame.width, frame.height, frame.encoding) == (640, 480, "rgb8")
    assert len(set(frame.data[::97])) > 10  # a rendered scene, not a blank buffer


def test_the_camera_draws_only_while_someone_subscribes(node_logs: Path) -> None:
    """No subscriber to the images or camera_info: no frame is drawn (a quarter of a core on a
    CPU rasteriser); one subscribes: frames come, on the camera's grid."""
    spec = sim_spec(mode="lockstep", tactile_rate_hz=0.0, diagnostics_rate_hz=5.0)
    with TestNode("camera_subscriber_tester") as node:
        diagnostics = node.collect("/diagnostics", DiagnosticArray, reliable_qos(50))

        def values() -> dict[str, str]:
            message = diagnostics.messages[-1]
            return {kv.key: kv.value for kv in message.status[0].values}

        with NodeGroup([spec], node_logs) as group:
            # Free-run: simulated time races on; wait until well past several camera periods.
            diagnostics.wait_until(
                lambda m: any(
                    kv.key == "sim_time_s" and float(kv.value) > 2.0 for kv in m.status[0].values
                ),
                STARTUP_S,
            )
            assert values()["camera_frames"] == "0", values()
            image = node.wait_for_message("/camera/color/image_raw", Image, 60.0, reliable_qos(2))
            assert (image.width, image.height) == (640, 480)
            diagnostics.wait_until(  # /diagnostics (5 Hz) counts the frames drawn
                lambda m: any(
                    kv.key == "camera_frames" and int(kv.value) >= 1 for kv in m.status[0].values
                ),
                30.0,
            )
            group.assert_running()


def test_the_camera_node_keeps_its_name_and_the_other_ros_arguments() -> None:
    arguments = [
        "sim_node",
        "--ros-args",
        "-r",
        "__node:=sim",
        "-r",
        "__ns:=/g1",
        "-r",
        "/camera/color/image_raw:=/head/rgb",
        "--remap",
        "__name:=x",
        "__node:=y",
        "--log-level",
        "warn",
    ]
    assert without_node_name(arguments) == [
        "sim_node",
        "--ros-args",
        "-r",
        "__ns:=/g1",
        "-r",
        "/camera/color/image_raw:=/head/rgb",
        "--log-level",
        "warn",
    ]


def test_lockstep_reports_where_a_period_goes_and_sends_the_clock_after_the_answers(
    node_logs: Path,
) -> None:
    """/diagnostics splits each period's wall time by stage and gives each lockstep source's
    answer latency; /clock, which no controller waits for, is sent once the sources answered,
    the skins with the state.

    The tester answers every state 30 ms after it arrives: its answer latency and the
    simulator's waiting must be at least that; each /clock (one per state here) must come after
    the answer to its state was sent, each skin frame before. Both skins' frames of one state
    carry one sequence number, one more than the state before.
    """
    delay_s = 0.03
    spec = sim_spec(
        mode="lockstep",
        lockstep_sources=["tester"],
        camera_rate_hz=0.0,
        tactile_rate_hz=100.0,
        control_rate_hz=100.0,
        diagnostics_rate_hz=2.0,
    )
    answered: dict[int, int] = {}  # stamp -> system time of the answer [ns]
    resent: set[int] = set()
    clock_arrivals: dict[int, int] = {}
    skins: dict[str, dict[int, tuple[int, int]]] = {"left_hand": {}, "right_hand": {}}
    with TestNode("lockstep_timing_tester") as node:
        publisher = node.publisher("/joint_command", JointCommand, reliable_qos(50))

        def answer(state: JointState) -> None:
            stamp_ns = state.header.stamp.sec * 10**9 + state.header.stamp.nanosec
            if stamp_ns in answered:
                resent.add(stamp_ns)  # re-sent (startup, or a slow answer): /clock goes too
                return
            time.sleep(delay_s)
            command = JointCommand(source="tester", name=["right_elbow_joint"], position=[0.5])
            command.kp, command.kd = [40.0], [2.0]
            command.header.stamp = state.header.stamp
            answered[stamp_ns] = time.time_ns()
            publisher.publish(command)

        # Arrival: the middleware's reception time (system clock), not the callback's, which
        # waits while the executor sleeps in answer().
        def on_clock(message: Clock, info) -> None:
            clock_arrivals.setdefault(
                message.clock.sec * 10**9 + message.clock.nanosec, info["received_timestamp"]
            )

        def on_skin(skin: str, frame: TactileFrame, info) -> None:
            stamp_ns = frame.header.stamp.sec * 10**9 + frame.header.stamp.nanosec
            skins[skin].setdefault(stamp_ns, (info["received_timestamp"], frame.sequence))

        node.node.create_subscription(JointState, "/joint_states", answer, reliable_qos(100))
        node.node.create_subscription(Clock, "/clock", on_clock, reliable_qos(100))
        for skin in skins:
            node.node.create_subscription(
                TactileFrame,
                f"/{skin}/tactile/sim_pressure",
                lambda frame, info, skin=skin: on_skin(skin, frame, info),
                reliable_qos(100),
            )
        diagnostics = node.collect("/diagnostics", DiagnosticArray, reliable_qos(10))
        with NodeGroup([spec], node_logs) as group:
            deadline = time.monotonic() + STARTUP_S + 60.0
            figures: dict[str, str] = {}
            while not (len(answered) >= 100 and "answer_ms.tester" in figures):
                group.assert_running()
                assert time.monotonic() < deadline, f"{len(answered)} steps, figures {figures}"
                for message in diagnostics.messages:
                    for status in message.status:
                        values = {kv.key: kv.value for kv in status.values}
                        if values.get("answer_ms.tester"):
                            figures = values
                time.sleep(0.05)
    assert float(figures["answer_ms.tester"]) >= 1e3 * delay_s
    assert float(figures["period_wait_ms"]) >= 0.8e3 * delay_s  # the rest is the publishing
    assert float(figures["period_step_ms"]) > 0.0
    assert float(figures["period_publish_ms"]) > 0.0
    assert float(figures["period_read_ms"]) > 0.0
    # Every state answered (after the start-up republishing) had its /clock after the answer.
    common = set(answered) & set(clock_arrivals) & set(skins["left_hand"]) - resent
    common = sorted(common & set(skins["right_hand"]))[5:-1]  # the last: maybe on shutdown
    assert len(common) >= 50
    assert all(clock_arrivals[t] > answered[t] for t in common)
    assert all(skins["left_hand"][t][0] < answered[t] for t in common)
    assert all(skins["right_hand"][t][0] < answered[t] for t in common)
    sequences = [skins["right_hand"][t][1] for t in common]
    assert sequences == [skins["left_hand"][t][1] for t in common]
    # One sequence number per state (a state sent again keeps its number): 10 ms apart, 1 apart.
    assert all(
        b - a == (u - t) // 10_000_000
        for (t, a), (u, b) in itertools.pairwise(zip(common, sequences, strict=True))
    )
