"""Build the MuJoCo model of the robot in its scene with MjSpec.

The robot comes from its URDF (example-robot-data); the importer adds no free joint, floor,
actuators or sensors, so they are added here: a free base, a floor, a table, graspable objects,
one PD actuator per revolute joint, an IMU, six-axis force/torque sensors at both ankles and a
head RGB-D camera. Tactile pads are laid out after compilation (see :mod:`tactile`).

Actuators implement the joint command law of ``humanoid_interfaces/JointCommand`` exactly:
``effort = effort_ff + kp (q_ref - q) + kd (dq_ref - dq)``, clipped to the URDF effort limit.
They are MuJoCo "general" actuators with gain 1 and affine bias ``[0, -kp, -kd]`` driven by
``ctrl = effort_ff + kp q_ref + kd dq_ref``; the velocity term is then integrated implicitly by the
``implicitfast`` integrator, which keeps high-gain PD stable at a 2 ms step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import mujoco
import numpy as np

from humanoid_sim.core.robot_description import RobotDescription
from humanoid_sim.core.scene import SceneConfig, sample_object_poses
from humanoid_sim.errors import SimError

# Geom groups: robot collision geoms stay in group 0 (hidden from the camera), robot visual
# meshes in group 1, the scene (floor, table, objects) in group 2.
ROBOT_COLLISION_GROUP = 0
ROBOT_VISUAL_GROUP = 1
SCENE_GROUP = 2
CAMERA_NAME = "head_rgbd"
FIXED_BASE_WELD = "fixed_base"


@dataclass
class BuiltModel:
    """A compiled model with the indices the simulator needs.

    Attributes:
        model: The compiled MuJoCo model.
        joint_names: Actuated joint names, in actuator order.
        qpos_index: qpos address of each actuated joint.
        qvel_index: qvel address of each actuated joint.
        effort_limit: Effort limit of each actuated joint [N*m].
        base_body: Body id of the floating base.
        object_bodies: Object name -> body id.
        object_qpos: Object name -> qpos address of its free joint.
        foot_sensor_adr: Foot side -> (force sensor adr, torque sensor adr).
        foot_site: Foot side -> site id of the ankle F/T sensor.
        imu_sensor_adr: Dict with 'quat', 'gyro', 'acc' sensor addresses.
        camera_id: Id of the head camera.
    """

    model: mujoco.MjModel
    joint_names: tuple[str, ...]
    qpos_index: np.ndarray
    qvel_index: np.ndarray
    effort_limit: np.ndarray
    base_body: int
    object_bodies: dict[str, int]
    object_qpos: dict[str, int]
    foot_sensor_adr: dict[str, tuple[int, int]]
    foot_site: dict[str, int]
    imu_sensor_adr: dict[str, int]
    imu_site: int
    camera_id: int


def _urdf_for_mujoco(robot: RobotDescription) -> str:
    text = robot.urdf_path.read_text()
    # Mesh URIs become bare file names resolved against meshdir.
    text = re.sub(r'filename="[^"]*/([^/"]+)"', r'filename="\1"', text)
    compiler = (
        f'<mujoco><compiler meshdir="{robot.mesh_dir}" balanceinertia="true" '
        'discardvisual="false" fusestatic="false" strippath="true"/></mujoco>'
    )
    text, count = re.subn(r"(<robot[^>]*>)", r"\1" + compiler, text, count=1)
    if count != 1:
        raise SimError(f"{robot.urdf_path}: no <robot> element")
    return text


def _add_scene(spec: mujoco.MjSpec, scene: SceneConfig, object_poses: dict) -> None:
    world = spec.worldbody
    spec.add_texture(
        name="grid",
        type=mujoco.mjtTexture.mjTEXTURE_2D,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.55, 0.57, 0.6],
        rgb2=[0.45, 0.47, 0.5],
        width=256,
        height=256,
    )
    spec.add_material(name="floor", textures=["", "grid"], texrepeat=[8, 8])
    world.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[20.0, 20.0, 0.05],
        friction=[scene.floor_friction, 0.005, 0.0001],
        material="floor",
        group=SCENE_GROUP,
    )
    world.add_light(name="sun", pos=[0.5, 0.0, 3.0], dir=[0.0, 0.0, -1.0], castshadow=False)
    if scene.table is not None:
        t = scene.table
        table = world.add_body(name="table", pos=[t.position[0], t.position[1], 0.0])
        table.add_geom(
            name="table_top",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=[t.size[0] / 2, t.size[1] / 2, t.thickness / 2],
            pos=[0, 0, t.height - t.thickness / 2],
            friction=[t.friction, 0.005, 0.0001],
            rgba=[0.55, 0.4, 0.25, 1.0],
            group=SCENE_GROUP,
        )
        leg_height = t.height - t.thickness
        for i, (sx, sy) in enumerate([(1, 1), (1, -1), (-1, 1), (-1, -1)]):
            table.add_geom(
                name=f"table_leg_{i}",
                type=mujoco.mjtGeom.mjGEOM_BOX,
                size=[0.02, 0.02, leg_height / 2],
                pos=[sx * (t.size[0] / 2 - 0.03), sy * (t.size[1] / 2 - 0.03), leg_height / 2],
                rgba=[0.4, 0.3, 0.2, 1.0],
                group=SCENE_GROUP,
            )
    shapes = {
        "box": (mujoco.mjtGeom.mjGEOM_BOX, lambda s: [s[0] / 2] * 3),
        "cylinder": (mujoco.mjtGeom.mjGEOM_CYLINDER, lambda s: [s[0], s[1], 0.0]),
        "sphere": (mujoco.mjtGeom.mjGEOM_SPHERE, lambda s: [s[0], 0.0, 0.0]),
    }
    for obj in scene.objects:
        pose = object_poses[obj.name]
        body = world.add_body(name=obj.name, pos=pose[:3], quat=pose[3:])
        body.add_freejoint(name=f"{obj.name}_free")
        geom_type, size = shapes[obj.shape]
        body.add_geom(
            name=f"{obj.name}_geom",
            type=geom_type,
            size=size(obj.size),
            mass=obj.mass,
            friction=[obj.friction, 0.005, 0.0001],
            rgba=list(obj.rgba),
            group=SCENE_GROUP,
            condim=4,
        )


def _add_robot_io(spec: mujoco.MjSpec, robot: RobotDescription) -> None:
    for joint in robot.actuated_joints:
        group = robot.group_of(joint)
        mj_joint = spec.joint(joint)
        if mj_joint is None:
            raise SimError(f"robot description names joint {joint!r} that the URDF lacks")
        mj_joint.armature = robot.armature.get(group, 0.0)
        mj_joint.damping = [robot.damping.get(group, 0.0), 0.0, 0.0]
    imu_body = spec.body(robot.imu_link)
    if imu_body is None:
        raise SimError(f"IMU link {robot.imu_link!r} not in the URDF")
    imu_body.add_site(name="imu")
    spec.add_sensor(
        name="imu_quat",
        type=mujoco.mjtSensor.mjSENS_FRAMEQUAT,
        objtype=mujoco.mjtObj.mjOBJ_SITE,
        objname="imu",
    )
    spec.add_sensor(
        name="imu_gyro",
        type=mujoco.mjtSensor.mjSENS_GYRO,
        objtype=mujoco.mjtObj.mjOBJ_SITE,
        objname="imu",
    )
    spec.add_sensor(
        name="imu_acc",
        type=mujoco.mjtSensor.mjSENS_ACCELEROMETER,
        objtype=mujoco.mjtObj.mjOBJ_SITE,
        objname="imu",
    )
    for side, (link, _sole) in robot.feet.items():
        body = spec.body(link)
        if body is None:
            raise SimError(f"foot link {link!r} not in the URDF")
        # The sensor site sits on the ankle roll axis, where a real G1 ankle F/T sensor would.
        body.add_site(name=f"{side}_ankle_ft")
        spec.add_sensor(
            name=f"{side}_foot_force",
            type=mujoco.mjtSensor.mjSENS_FORCE,
            objtype=mujoco.mjtObj.mjOBJ_SITE,
            objname=f"{side}_ankle_ft",
        )
        spec.add_sensor(
            name=f"{side}_foot_torque",
            type=mujoco.mjtSensor.mjSENS_TORQUE,
            objtype=mujoco.mjtObj.mjOBJ_SITE,
            objname=f"{side}_ankle_ft",
        )
    cam = robot.camera
    cam_body = spec.body(cam.link)
    if cam_body is None:
        raise SimError(f"camera link {cam.link!r} not in the URDF")
    # MuJoCo cameras look along -z with y up; the link looks along +x with z up.
    fovy = float(np.degrees(2.0 * np.arctan2(cam.height / 2.0, cam.fy)))
    cam_body.add_camera(name=CAMERA_NAME, fovy=fovy, quat=_quat_from_xyaxes([0, -1, 0], [0, 0, 1]))
    for first, second in robot.collision_exclusions:
        spec.add_exclude(bodyname1=first, bodyname2=second)


def _quat_from_xyaxes(x_axis, y_axis) -> list[float]:
    x = np.asarray(x_axis, float)
    y = np.asarray(y_axis, float)
    z = np.cross(x, y)
    rotation = np.column_stack([x, y, z])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, rotation.flatten())
    return quat.tolist()


def build_model(
    robot: RobotDescription,
    scene: SceneConfig,
    seed: int,
    timestep: float = 0.002,
    fixed_base: bool = False,
) -> BuiltModel:
    """Build and compile the robot in its scene.

    Args:
        robot: Robot description.
        scene: Floor, table and objects.
        seed: Seed for the object poses.
        timestep: Physics step [s].
        fixed_base: Add a weld equality ``FIXED_BASE_WELD`` holding the base link where
            :meth:`Simulation.reset` places it (a test stand, for manipulation benches).

    Returns:
        The compiled model and its indices.

    Raises:
        SimError: The description names links or joints the URDF lacks, or compilation fails.
    """
    if not 0.0 < timestep <= 0.01:
        raise SimError(f"timestep must be in (0, 0.01] s, got {timestep}")
    spec = mujoco.MjSpec.from_string(_urdf_for_mujoco(robot))
    spec.option.timestep = timestep
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0
    spec.visual.global_.offwidth = max(640, robot.camera.width)
    spec.visual.global_.offheight = max(480, robot.camera.height)
    spec.visual.quality.shadowsize = 0
    spec.visual.map.znear = robot.camera.near_m / 10.0
    spec.visual.map.zfar = robot.camera.far_m / 10.0
    base = spec.body(robot.base_link)
    if base is None:
        raise SimError(f"base link {robot.base_link!r} not in the URDF")
    base.add_freejoint(name="floating_base")
    if fixed_base:
        # A stiff weld (time constant two steps) to the world; its relative pose is set at reset.
        weld = spec.add_equality(
            type=mujoco.mjtEq.mjEQ_WELD,
            name=FIXED_BASE_WELD,
            name1=robot.base_link,
            objtype=mujoco.mjtObj.mjOBJ_BODY,
        )
        weld.solref = [2.0 * timestep, 1.0]
    for geom in spec.geoms:
        if geom.contype == 0 and geom.conaffinity == 0:
            geom.group = ROBOT_VISUAL_GROUP
    _add_scene(spec, scene, sample_object_poses(scene, seed))
    _add_robot_io(spec, robot)
    limits = []
    for joint in robot.actuated_joints:
        mj_joint = spec.joint(joint)
        kp, kd = robot.stand_gains[robot.group_of(joint)]
        effort = float(mj_joint.actfrcrange[1]) if mj_joint.actfrclimited else 0.0
        if effort <= 0:
            raise SimError(f"joint {joint!r} has no effort limit in the URDF")
        limits.append(effort)
        gain = np.zeros(10)
        gain[0] = 1.0
        bias = np.zeros(10)
        bias[1], bias[2] = -kp, -kd
        spec.add_actuator(
            name=joint,
            target=joint,
            trntype=mujoco.mjtTrn.mjTRN_JOINT,
            gaintype=mujoco.mjtGain.mjGAIN_FIXED,
            gainprm=gain,
            biastype=mujoco.mjtBias.mjBIAS_AFFINE,
            biasprm=bias,
            forcelimited=mujoco.mjtLimited.mjLIMITED_TRUE,
            forcerange=[-effort, effort],
            ctrllimited=mujoco.mjtLimited.mjLIMITED_FALSE,
        )
    try:
        model = spec.compile()
    except ValueError as error:
        raise SimError(f"MuJoCo compilation failed: {error}") from error

    def sensor_adr(name: str) -> int:
        return int(model.sensor_adr[model.sensor(name).id])

    joint_ids = [model.joint(j).id for j in robot.actuated_joints]
    return BuiltModel(
        model=model,
        joint_names=robot.actuated_joints,
        qpos_index=np.array([model.jnt_qposadr[j] for j in joint_ids]),
        qvel_index=np.array([model.jnt_dofadr[j] for j in joint_ids]),
        effort_limit=np.array(limits),
        base_body=model.body(robot.base_link).id,
        object_bodies={o.name: model.body(o.name).id for o in scene.objects},
        object_qpos={
            o.name: int(model.jnt_qposadr[model.joint(f"{o.name}_free").id]) for o in scene.objects
        },
        foot_sensor_adr={
            side: (sensor_adr(f"{side}_foot_force"), sensor_adr(f"{side}_foot_torque"))
            for side in robot.feet
        },
        foot_site={side: model.site(f"{side}_ankle_ft").id for side in robot.feet},
        imu_sensor_adr={k: sensor_adr(f"imu_{k}") for k in ("quat", "gyro", "acc")},
        imu_site=model.site("imu").id,
        camera_id=model.camera(CAMERA_NAME).id,
    )
