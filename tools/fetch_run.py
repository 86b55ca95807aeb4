"""One run of the "fetch the object" scenario, shared by ``tools/demo.py`` and
``bench/scenario.py``.

Starts a stack of ``launch/stack.yaml`` (default ``sim``: the simulator and the whole chain) as
real processes through the test harness, records the report's topics with ``humanoid_bag
record`` (MCAP, stamped with sim time), waits for the brain, calls ``/brain/start`` and watches
``/brain/status`` and ``/clock`` until the task ends (DONE, ABORTED), a node dies or the time
limit passes; then stops the recorder and the nodes (SIGINT, exit codes checked) and reads the
figures that need the whole run (steps, grasp force) back from the bag.

The observer (sim time, status, services, CPU use per node) is tools/fetch_watcher.py.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import signal
import sys
import time
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parents[1]
for entry in (ROOT / "test", ROOT / "tools"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from fetch_watcher import RateWindow, Watcher, cpu_seconds  # noqa: E402

REPORT_TOPICS = (
    "/gait/status",
    "/sim/base",
    "/odom",
    "/right_hand/tactile/contacts",
    "/vision/detections",
    "/sim/objects",
    "/brain/status",
)
END_STATES = ("DONE", "ABORTED")
DISCOVERY_GRACE_S = 3.0  # wall time between the first /clock and /gait/stand
BRAIN_PACKAGE = "humanoid_brain"


@dataclasses.dataclass
class FetchOptions:
    """What to run.

    Attributes:
        work_dir: Node logs go here, the bag to ``work_dir/bag``.
        seed: Simulator seed (object poses).
        timeout_s: Limit of the task in sim time [s].
        wall_timeout_s: Limit of the task in wall time [s]; None: none (a loaded machine may
            run the closed loop at a few percent of real time).
        stall_timeout_s: The task fails when sim time has not advanced for this long [s wall].
        startup_timeout_s: Wall time the stack may take to come up [s].
        stacks: Stacks of launch/stack.yaml started together (a node in several once).
        stack_arguments: Launch arguments besides ``seed`` (the stack's defaults otherwise).
        node_overrides: Extra parameters by node name (``{"humanoid_sim": {"real_time_factor":
            2.0}}``), applied after the stack's (for benches and diagnosis).
        record_topics: Topics recorded (empty: no recording; steps and forces then unknown).
        window_s: Wall window of the live real-time factor [s].
    """

    work_dir: pathlib.Path
    seed: int = 0
    timeout_s: float = 180.0
    wall_timeout_s: float | None = None
    stall_timeout_s: float = 120.0
    startup_timeout_s: float = 180.0
    stacks: tuple[str, ...] = ("sim",)
    stack_arguments: dict = dataclasses.field(default_factory=dict)
    node_overrides: dict = dataclasses.field(default_factory=dict)
    record_topics: tuple[str, ...] = REPORT_TOPICS
    window_s: float = 3.0


@dataclasses.dataclass
class Progress:
    """One live sample: the brain's phase, sim time [s], real-time factor over the window."""

    phase: str
    sim_time_s: float
    real_time_factor: float
    task_time_s: float
    status: dict


@dataclasses.dataclass
class FetchResult:
    """How one run went. Times are sim time unless named wall."""

    success: bool
    reason: str
    final_state: str
    task_time_s: float = 0.0
    wall_time_s: float = 0.0
    real_time_factor: float = 0.0
    steps: int | None = None
    peak_grasp_force_n: float | None = None
    hold_grasp_force_n: float | None = None
    phases: list = dataclasses.field(default_factory=list)
    load_average: float = 0.0
    cpu_percent: dict = dataclasses.field(default_factory=dict)
    cpu_per_sim_second: dict = dataclasses.field(default_factory=dict)
    # Medians over the task of the simulator's lockstep figures [ms]: each period's wall time
    # by stage (period_read/publish/wait/step_ms) and each source's answer latency
    # (answer_ms.<source>); empty when the simulator is not in lockstep.
    lockstep_ms: dict = dataclasses.field(default_factory=dict)
    node_exit_codes: dict = dataclasses.field(default_factory=dict)
    bag: str | None = None

    def row(self) -> dict:
        """The result as a flat JSON-able dict."""
        return dataclasses.asdict(self)


def interrupt_on_sigterm() -> None:
    """Turn the first SIGINT or SIGTERM into KeyboardInterrupt and ignore any further ones, so
    that an interrupted demo or bench still stops its nodes: they run in their own sessions
    and would outlive it, and a second signal (``timeout`` forwarding one, an impatient
    Ctrl-C) must not cut that clean-up short."""

    def handler(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def parse_launch_arguments(items: list[str]) -> dict[str, str]:
    """``["name:=value", ...]`` as a dict.

    Raises:
        ValueError: For an item without ``:=``.
    """
    arguments = {}
    for item in items:
        name, separator, value = item.partition(":=")
        if not separator or not name:
            raise ValueError(f"launch argument {item!r}: expected NAME:=VALUE")
        arguments[name] = value
    return arguments


def parse_parameter_overrides(items: list[str]) -> dict[str, dict]:
    """``["node.parameter:=value", ...]`` as ``{node: {parameter: value}}``; values are read
    as YAML scalars (``2`` an int, ``2.0`` a float, ``true`` a bool, else a string).

    Raises:
        ValueError: For an item that is not ``NODE.PARAMETER:=VALUE``.
    """
    import yaml

    overrides: dict[str, dict] = {}
    for item in items:
        target, separator, text = item.partition(":=")
        node, dot, parameter = target.partition(".")
        if not (separator and dot and node and parameter):
            raise ValueError(f"parameter override {item!r}: expected NODE.PARAMETER:=VALUE")
        overrides.setdefault(node, {})[parameter] = yaml.safe_load(text) if text else ""
    return overrides


def stack_has_brain(stack: str = "sim") -> bool:
    """Whether ``stack`` of launch/stack.yaml starts the brain (so the fetch scenario can run)."""
    from harness.wiring import load_stack_file

    description = load_stack_file()
    members = description.stacks.get(stack, ())
    return any(description.nodes[key].package == BRAIN_PACKAGE for key in members)


def recorder_spec(bag: pathlib.Path, topics: tuple[str, ...]):
    """``ros2 run humanoid_bag record -o BAG --topics ...`` on sim time, as a NodeSpec."""
    from harness.spec import NodeSpec

    return NodeSpec(
        name="humanoid_bag_recorder",
        package="humanoid_bag",
        executable="record",
        arguments=("-o", str(bag), "--storage", "mcap", "--topics", *topics),
        overrides={"use_sim_time": True},
    )


def run_fetch(
    options: FetchOptions, on_progress: Callable[[Progress], None] | None = None
) -> FetchResult:
    """Run the fetch task once (see the module docstring).

    Raises:
        harness.wiring.WiringError: For an unknown stack or argument.
        harness.processes.NodeExecutableNotFoundError: If the workspace is not built.
    """
    from harness.processes import NodeGroup, NodeProcess
    from harness.wiring import node_specs

    options.work_dir.mkdir(parents=True, exist_ok=True)
    # The stack's own defaults rule (the `sim` stack runs the simulator in lockstep with the
    # leg and hand controllers); --arg sim_mode:=paced paces it by the wall clock instead.
    arguments = {"seed": str(options.seed), **options.stack_arguments}
    specs = {}
    for stack in options.stacks:
        for spec in node_specs(stack, arguments):
            if spec.name in options.node_overrides:
                overrides = {**spec.overrides, **options.node_overrides[spec.name]}
                spec = dataclasses.replace(spec, overrides=overrides)
            specs.setdefault((spec.absolute_namespace, spec.name), spec)
    specs = list(specs.values())
    bag = options.work_dir / "bag"
    group = NodeGroup(specs, options.work_dir)
    recorder = None
    if options.record_topics:
        if bag.exists():
            raise FileExistsError(f"{bag} exists: give run_fetch a fresh work_dir")
        recorder = NodeProcess(recorder_spec(bag, options.record_topics), options.work_dir)
    has_gait = any(spec.package == "biped_gait" for spec in specs)
    result = FetchResult(False, "not started", "IDLE")
    group.start()
    if recorder is not None:
        recorder.start()
    watcher = None
    loads = []
    try:
        watcher = Watcher()
        result = _watch(options, group, recorder, watcher, has_gait, on_progress, loads)
    except Exception as error:  # noqa: BLE001 - report it as the run's failure, then clean up
        result = dataclasses.replace(result, reason=f"{type(error).__name__}: {error}")
    except KeyboardInterrupt:
        result = dataclasses.replace(result, reason="interrupted")
    finally:
        if watcher is not None:
            watcher.close()
        codes = {}
        if recorder is not None and recorder.started:
            codes["humanoid_bag_recorder"] = recorder.stop(timeout=15.0)
        codes.update(group.stop())
    result.node_exit_codes = codes
    result.load_average = round(sum(loads) / len(loads) if loads else os.getloadavg()[0], 2)
    if recorder is not None and (bag / "metadata.yaml").is_file():
        result.bag = str(bag)
        _figures_from_bag(result, bag)
    return result


def _wait_until_ready(options, group, watcher, has_gait, on_progress) -> str | None:
    """Wait for /clock and the brain's status, and (with a gait in the stack) for the robot to
    stand under the gait's control: the gait starts IDLE, the simulator holding the joints,
    until /gait/stand. Returns None when ready, else why not."""
    deadline = time.monotonic() + options.startup_timeout_s
    stand_answer, stand_called, stand_accepted = "not called", 0.0, False
    first_clock = None
    window = RateWindow(options.window_s)
    while True:
        group.assert_running()
        status, sim_now = watcher.latest_status(), watcher.sim_time_s
        gait_state = (status or {}).get("gait_state")  # the brain reports the gait's state
        if sim_now is not None and status is not None and (not has_gait or gait_state == "STAND"):
            return None
        now = time.monotonic()
        # In lockstep the simulator waits at t = 0 for the gait's first command, which comes
        # only once it stands. Ask once the simulator's state has been out for a while (the
        # gait answers a state once; an answer sent before the simulator's subscription is
        # matched is lost, and the simulator then waits forever), and until the gait accepts
        # (the brain's status, on sim time, lags at a low real-time factor).
        if sim_now is not None and first_clock is None:
            first_clock = now
        settled = first_clock is not None and now - first_clock > DISCOVERY_GRACE_S
        if has_gait and settled and not stand_accepted and now - stand_called > 5.0:
            stand_called = now
            stand_accepted, message = watcher.call("/gait/stand", timeout=5.0)
            stand_answer = message or str(stand_accepted)
        if now > deadline:
            if sim_now is None:
                return "no /clock"
            if status is None:  # the brain's timers run on sim time
                return (
                    f"no /brain/status, sim time stuck at {sim_now:.3f} s (a lockstep simulator "
                    f"waits for its sources' commands; /gait/stand: {stand_answer})"
                )
            return f"gait state {gait_state!r}, not STAND (/gait/stand: {stand_answer})"
        if sim_now is not None and on_progress is not None:
            rtf = window.add(now, sim_now)
            on_progress(Progress("STARTUP", sim_now, rtf, 0.0, status or {}))
        time.sleep(0.5)


def _watch(options, group, recorder, watcher, has_gait, on_progress, loads) -> FetchResult:
    """Wait for the stack, start the task, follow it to its end."""
    started = time.monotonic()
    why = _wait_until_ready(options, group, watcher, has_gait, on_progress)
    if why is not None:
        reason = f"stack not ready in {options.startup_timeout_s:.0f} s: {why}"
        return FetchResult(False, reason, "IDLE")
    deadline = started + options.startup_timeout_s
    if recorder is not None:
        _wait_for_recorder(recorder, options.record_topics, deadline)
    accepted, message = watcher.call("/brain/start", timeout=20.0)
    if not accepted:
        return FetchResult(False, f"/brain/start refused: {message}", "IDLE")
    task = _task_number(message)
    processes = [*group.processes, *([recorder] if recorder is not None else [])]
    cpu0 = cpu_seconds(processes)
    lockstep0 = len(watcher.lockstep)
    wall0, sim0 = time.monotonic(), watcher.sim_time_s
    window = RateWindow(options.window_s)
    window.add(wall0, sim0)
    last_advance = (wall0, sim0)  # when sim time last moved on
    phases: list = []
    state, status = "STARTING", {}
    while True:
        time.sleep(0.5)
        group.assert_running()
        now, sim_now = time.monotonic(), watcher.sim_time_s
        rtf = window.add(now, sim_now)
        loads.append(os.getloadavg()[0])
        latest = watcher.latest_status() or {}
        if task is None or latest.get("task") == task:
            status, state = latest, latest.get("state", state)
        if not phases or phases[-1][0] != state:
            phases.append((state, round(sim_now - sim0, 2)))
        if on_progress is not None:
            on_progress(Progress(state, sim_now, rtf, sim_now - sim0, status))
        task_time = sim_now - sim0
        if sim_now > last_advance[1]:
            last_advance = (now, sim_now)
        ended = state in END_STATES
        limit = _limit_reached(options, task_time, now - wall0, now - last_advance[0])
        if ended or limit:
            break
    wall = time.monotonic() - wall0
    used = {n: s - cpu0[n] for n, s in cpu_seconds(processes).items() if n in cpu0}
    cpu = {name: round(100.0 * seconds / wall, 1) for name, seconds in used.items()}
    # CPU seconds per simulated second: the cores each node needs to run in real time,
    # nearly independent of how loaded the shared machine was.
    per_sim = {n: round(s / task_time, 3) for n, s in used.items()} if task_time > 0 else {}
    if ended:
        reason = status.get("reason") or state
    else:
        reason = f"{limit} in {state}"
        aborted, message = watcher.call("/brain/abort", timeout=10.0)
        if not aborted:
            reason += f"; abort: {message}"
    return FetchResult(
        success=state == "DONE",
        reason=str(reason),
        final_state=state,
        task_time_s=round(task_time, 2),
        wall_time_s=round(wall, 2),
        real_time_factor=round(task_time / wall, 3) if wall > 0 else 0.0,
        phases=phases,
        cpu_percent=cpu,
        cpu_per_sim_second=per_sim,
        lockstep_ms=watcher.lockstep_since(lockstep0),
    )


def _limit_reached(options, task_s: float, wall_s: float, stalled_s: float) -> str | None:
    """Which limit of the task was passed, if any (sim time, wall time, stalled clock)."""
    if task_s > options.timeout_s:
        return f"timeout ({options.timeout_s:.0f} s of sim time)"
    if options.wall_timeout_s is not None and wall_s > options.wall_timeout_s:
        return f"timeout ({options.wall_timeout_s:.0f} s of wall time)"
    if stalled_s > options.stall_timeout_s:
        return f"stalled (sim time did not advance for {options.stall_timeout_s:.0f} s)"
    return None


def _task_number(message: str) -> int | None:
    """The task number in the brain's answer "fetch task N started"."""
    words = message.split()
    for before, word in zip(words, words[1:], strict=False):
        if before == "task" and word.isdigit():
            return int(word)
    return None


def _wait_for_recorder(recorder, topics, deadline: float, patience_s: float = 10.0) -> None:
    """Wait (until ``deadline``, at most ``patience_s``) for the recorder to subscribe to every
    topic; a topic that nobody publishes (its node is not in the stack) is not waited for
    longer than that."""
    until = min(deadline, time.monotonic() + patience_s)
    while time.monotonic() < until and recorder.is_running():
        output = recorder.output()
        if all(f"subscribed {topic} " in output for topic in topics):
            return
        time.sleep(0.1)


def _figures_from_bag(result: FetchResult, bag: pathlib.Path) -> None:
    """Steps and grasp forces of the run, read from its recording."""
    import report_metrics
    from report_data import read_recording

    try:
        recording = read_recording(bag)
    except Exception as error:  # noqa: BLE001 - a truncated bag loses figures, not the run
        result.reason += f" (bag unreadable: {error})"
        return
    summary = report_metrics.summarize(recording)
    if "brain" in summary:
        result.phases = [(p["state"], p["start_s"]) for p in summary["brain"]["phases"]]
    if "gait" in summary:
        result.steps = summary["gait"]["steps"]
    if "grasp" in summary:
        result.peak_grasp_force_n = summary["grasp"]["peak_total_force_n"]
        result.hold_grasp_force_n = summary["grasp"].get("mean_hold_force_n")
