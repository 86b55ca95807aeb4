"""The MuJoCo model behind the synthetic scenes: a table, object and distractor slots, lights.

The model is compiled once; every frame only moves mocap bodies and changes sizes, colours,
materials, lights and the camera pose in ``mjModel`` arrays, which the renderer reads afresh each
frame. Unused slots are hidden with alpha 0 (``mjv_updateScene`` skips such geoms).

The graspable objects are the scene's shapes (``config/scenes/table_objects.yaml``: box ->
class ``cube``, cylinder, sphere); distractors are shapes that are not in a class (capsules,
ellipsoids, flat and long boxes) and the robot's own Dex3 hands (visual meshes of the G1 URDF,
merged into one mesh per hand posture), which appear next to the objects while grasping.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from humanoid_sim.core.model_builder import ROBOT_VISUAL_GROUP, SCENE_GROUP, build_model
from humanoid_sim.core.robot_description import RobotDescription
from humanoid_sim.core.scene import SceneConfig

CLASS_NAMES = ("cube", "cylinder", "sphere")
SHAPE_OF_CLASS = {"cube": "box", "cylinder": "cylinder", "sphere": "sphere"}
SLOTS_PER_CLASS = 3
DISTRACTOR_KINDS = ("capsule", "capsule", "ellipsoid", "ellipsoid", "plate", "bar", "slab")
CAMERA_NAME = "eye"
_GEOM_TYPES = {
    "box": mujoco.mjtGeom.mjGEOM_BOX,
    "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
    "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
    "capsule": mujoco.mjtGeom.mjGEOM_CAPSULE,
    "ellipsoid": mujoco.mjtGeom.mjGEOM_ELLIPSOID,
    "plate": mujoco.mjtGeom.mjGEOM_BOX,
    "bar": mujoco.mjtGeom.mjGEOM_BOX,
    "slab": mujoco.mjtGeom.mjGEOM_BOX,
}
# Hand postures [rad] of the Dex3 finger joints (without the side prefix): open and closed.
HAND_POSTURES = {
    "open": {},
    "closed": {
        "hand_index_0_joint": -1.0,
        "hand_index_1_joint": -1.2,
        "hand_middle_0_joint": -1.0,
        "hand_middle_1_joint": -1.2,
        "hand_thumb_1_joint": 0.6,
        "hand_thumb_2_joint": 1.0,
    },
}
HAND_VARIANTS = (("right", "open"), ("right", "closed"), ("left", "open"))


@dataclass
class Slot:
    """One movable body of the scene model.

    Attributes:
        kind: Class name (objects), distractor kind, or ``hand``.
        mocap: Index into ``data.mocap_pos``.
        geom: Geom id (the one whose pixels the segmentation reports).
    """

    kind: str
    mocap: int
    geom: int


@dataclass
class SceneModel:
    """The compiled scene model and the indices the generator changes per frame."""

    model: mujoco.MjModel
    camera_id: int
    table: Slot
    table_legs: tuple[int, ...]
    wall: Slot
    floor_geom: int
    floor_materials: tuple[int, ...]
    objects: tuple[Slot, ...]
    distractors: tuple[Slot, ...]
    hands: tuple[Slot, ...]
    lights: tuple[int, ...]


def _hand_meshes(robot: RobotDescription) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Vertices (in the palm frame) and faces of each hand variant, merged into one mesh."""
    built = build_model(robot, SceneConfig(0.9, None, ()), seed=0)
    model = built.model
    data = mujoco.MjData(model)
    meshes = {}
    for side, posture in HAND_VARIANTS:
        data.qpos[:] = model.qpos0
        for joint, angle in HAND_POSTURES[posture].items():
            name = f"{side}_{joint}"
            address = model.jnt_qposadr[model.joint(name).id]
            low, high = model.jnt_range[model.joint(name).id]
            data.qpos[address] = np.clip(angle, low, high) if high > low else angle
        mujoco.mj_kinematics(model, data)
        palm = model.body(f"{side}_hand_palm_link").id
        palm_position, palm_rotation = data.xpos[palm], data.xmat[palm].reshape(3, 3)
        vertices, faces, offset = [], [], 0
        for geom in range(model.ngeom):
            body_name = model.body(model.geom_bodyid[geom]).name
            if not (body_name.startswith(f"{side}_hand_") or body_name == f"{side}_wrist_yaw_link"):
                continue
            if model.geom_group[geom] != ROBOT_VISUAL_GROUP:
                continue
            if model.geom_type[geom] != mujoco.mjtGeom.mjGEOM_MESH:
                continue
            mesh = model.geom_dataid[geom]
            start, count = model.mesh_vertadr[mesh], model.mesh_vertnum[mesh]
            local = model.mesh_vert[start : start + count]
            world = data.geom_xpos[geom] + local @ data.geom_xmat[geom].reshape(3, 3).T
            vertices.append((world - palm_position) @ palm_rotation)
            face_start, face_count = model.mesh_faceadr[mesh], model.mesh_facenum[mesh]
            faces.append(model.mesh_face[face_start : face_start + face_count] + offset)
            offset += count
        meshes[(side, posture)] = (np.concatenate(vertices), np.concatenate(faces))
    return meshes


def _mocap_slot(spec: mujoco.MjSpec, name: str, kind: str, geom_type, **geom) -> None:
    body = spec.worldbody.add_body(name=name, mocap=True, pos=[0.0, 0.0, -5.0])
    body.add_geom(name=f"{name}_geom", type=geom_type, contype=0, conaffinity=0, **geom)


def build_scene_model(
    robot: RobotDescription, scene: SceneConfig, with_hands: bool = True
) -> SceneModel:
    """Build and compile the randomisable scene model.

    Args:
        robot: Robot description: camera resolution and intrinsics, and the hand meshes.
        scene: The table-top scene; its table height and objects give the nominal sizes.
        with_hands: Add the robot's hands as distractors (loads the G1 meshes, about 1 s).

    Returns:
        The compiled model and its slot indices.
    """
    camera = robot.camera
    spec = mujoco.MjSpec()
    spec.visual.global_.offwidth = max(640, camera.width)
    spec.visual.global_.offheight = max(480, camera.height)
    spec.visual.quality.shadowsize = 0
    spec.stat.extent = 2.0
    spec.stat.center = [0.0, 0.0, 0.5]
    for index, (first, second) in enumerate(
        [([0.55, 0.57, 0.6], [0.45, 0.47, 0.5]), ([0.8, 0.8, 0.8], [0.6, 0.6, 0.6])]
    ):
        spec.add_texture(
            name=f"checker_{index}",
            type=mujoco.mjtTexture.mjTEXTURE_2D,
            builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
            rgb1=first,
            rgb2=second,
            width=256,
            height=256,
        )
        spec.add_material(
            name=f"floor_{index}", textures=["", f"checker_{index}"], texrepeat=[8, 8]
        )
    spec.add_material(name="floor_plain", rgba=[0.5, 0.5, 0.5, 1.0])
    world = spec.worldbody
    world.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[20.0, 20.0, 0.05],
        material="floor_0",
        group=SCENE_GROUP,
    )
    world.add_light(name="sun", pos=[0.5, 0.0, 3.0], dir=[0.0, 0.0, -1.0], castshadow=False)
    world.add_light(name="fill", pos=[0.0, 0.0, 3.0], dir=[0.3, 0.3, -1.0], castshadow=False)
    fovy = float(np.degrees(2.0 * np.arctan2(camera.height / 2.0, camera.fy)))
    world.add_camera(name=CAMERA_NAME, fovy=fovy)
    table = world.add_body(name="table", mocap=True, pos=[0.0, 0.0, 0.0])
    table.add_geom(
        name="table_top",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[0.25, 0.4, 0.02],
        rgba=[0.55, 0.4, 0.25, 1.0],
        group=SCENE_GROUP,
    )
    for leg, (sx, sy) in enumerate([(1, 1), (1, -1), (-1, 1), (-1, -1)]):
        # Off the body origin, so the compiler does not mark them "same frame as the body"
        # (which would make the kinematics ignore the per-frame geom_pos).
        table.add_geom(
            name=f"table_leg_{leg}",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            pos=[0.2 * sx, 0.3 * sy, -0.35],
            size=[0.02, 0.02, 0.33],
            rgba=[0.4, 0.3, 0.2, 1.0],
            group=SCENE_GROUP,
        )
    _mocap_slot(spec, "wall", "wall", mujoco.mjtGeom.mjGEOM_BOX, size=[0.05, 2.0, 1.5])
    for class_name in CLASS_NAMES:
        for index in range(SLOTS_PER_CLASS):
            _mocap_slot(
                spec,
                f"{class_name}_{index}",
                class_name,
                _GEOM_TYPES[SHAPE_OF_CLASS[class_name]],
                size=[0.03, 0.03, 0.03],
                group=SCENE_GROUP,
            )
    for index, kind in enumerate(DISTRACTOR_KINDS):
        _mocap_slot(
            spec,
            f"distractor_{index}",
            kind,
            _GEOM_TYPES[kind],
            size=[0.03, 0.03, 0.03],
            group=SCENE_GROUP,
        )
    hand_names = []
    if with_hands:
        for (side, posture), (vertices, faces) in _hand_meshes(robot).items():
            name = f"hand_{side}_{posture}"
            spec.add_mesh(
                name=f"{name}_mesh",
                uservert=vertices.ravel().tolist(),
                userface=faces.ravel().tolist(),
            )
            body = world.add_body(name=name, mocap=True, pos=[0.0, 0.0, -5.0])
            body.add_geom(
                name=f"{name}_geom",
                type=mujoco.mjtGeom.mjGEOM_MESH,
                meshname=f"{name}_mesh",
                contype=0,
                conaffinity=0,
                rgba=[0.7, 0.7, 0.7, 1.0],
                group=ROBOT_VISUAL_GROUP,
            )
            hand_names.append(name)
    model = spec.compile()

    def slot(name: str, kind: str) -> Slot:
        body = model.body(name).id
        return Slot(kind, int(model.body_mocapid[body]), int(model.geom(f"{name}_geom").id))

    table_id = model.body("table").id
    return SceneModel(
        model=model,
        camera_id=model.camera(CAMERA_NAME).id,
        table=Slot("table", int(model.body_mocapid[table_id]), model.geom("table_top").id),
        table_legs=tuple(model.geom(f"table_leg_{leg}").id for leg in range(4)),
        wall=slot("wall", "wall"),
        floor_geom=model.geom("floor").id,
        floor_materials=tuple(
            model.material(name).id for name in ("floor_0", "floor_1", "floor_plain")
        ),
        objects=tuple(slot(f"{c}_{i}", c) for c in CLASS_NAMES for i in range(SLOTS_PER_CLASS)),
        distractors=tuple(slot(f"distractor_{i}", k) for i, k in enumerate(DISTRACTOR_KINDS)),
        hands=tuple(slot(name, "hand") for name in hand_names),
        lights=(model.light("sun").id, model.light("fill").id),
    )
