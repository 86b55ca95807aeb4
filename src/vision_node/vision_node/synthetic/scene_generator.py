"""Randomised RGB-D frames of table-top scenes with their ground truth (domain randomisation).

Each frame draws, from its own seed: a camera pose looking at a table (distance, elevation,
azimuth, roll), the table's size and colour, the floor, an optional wall, 0-6 graspable objects
(cube, cylinder, sphere; size scaled around the scene's nominal size; the scene's colour or any
colour; resting, lying or lifted), 0-4 distractors (capsules, ellipsoids, plates, bars, slabs,
often in the classes' colours so that shape, not colour, decides), the robot's hands near the
objects, and the lighting. Objects are placed by casting rays through random pixels onto the
table top, so they are in view. Colour and depth come from the simulator's camera
(:class:`humanoid_sim.core.camera.RgbdCamera`, the same rendering the simulator publishes);
a segmentation pass at ``label_scale`` resolution tells which object pixels are visible.

Ground truth per object: class, centre and rotation in the camera optical frame [m], extents,
the box of its visible pixels and the visible fraction of its silhouette. Objects less than
``min_visible_fraction`` (half) visible, occluded or cut by the image border, are marked not
required: a detector need not find them, and finding them is not a false positive.
"""

from __future__ import annotations

import colorsys
import os
from dataclasses import dataclass, field

import cv2
import mujoco
import numpy as np

from humanoid_sim.core.camera import RgbdCamera
from humanoid_sim.core.robot_description import load_robot_description
from humanoid_sim.core.scene import load_scene
from vision_node.core.projection import CameraIntrinsics
from vision_node.synthetic.scene_model import (
    CLASS_NAMES,
    SHAPE_OF_CLASS,
    Slot,
    build_scene_model,
)
from vision_node.synthetic.scene_sampling import (
    look_at_rotation,
    object_geometry,
    quat_from_matrix,
    sample_distractor_geometry,
    sample_hands,
    sample_lighting,
    surface_points,
)


@dataclass(frozen=True)
class GeneratorConfig:
    """Ranges of the randomisation (angles [deg], lengths [m])."""

    distance_m: tuple[float, float] = (0.35, 1.35)
    elevation_deg: tuple[float, float] = (20.0, 75.0)
    azimuth_deg: tuple[float, float] = (-50.0, 50.0)
    roll_deg: float = 6.0
    table_height_m: tuple[float, float] = (0.6, 0.8)
    max_per_class: int = 2
    size_scale: tuple[float, float] = (0.8, 1.25)
    nominal_colour_probability: float = 0.5
    lying_cylinder_probability: float = 0.15
    lifted_probability: float = 0.06
    max_distractors: int = 4
    distractor_class_colour_probability: float = 0.3
    hand_probability: float = 0.35
    wall_probability: float = 0.4
    label_scale: float = 0.5
    min_visible_fraction: float = 0.5
    min_visible_pixels: int = 12


@dataclass(frozen=True)
class ObjectTruth:
    """Ground truth of one object in one frame.

    Attributes:
        class_id: Index into :data:`CLASS_NAMES`.
        class_name: Class label.
        position: Centre in the camera optical frame [m].
        rotation: Object axes in the optical frame (3x3).
        extents: Bounding-box extents along the object axes [m].
        visible_box: (centre u, centre v, width, height) of the visible pixels [px]; zeros if
            none is visible.
        visible_fraction: Visible pixels over the unoccluded silhouette's area.
        required: A detector must find it (visible enough and centre in the image).
    """

    class_id: int
    class_name: str
    position: np.ndarray
    rotation: np.ndarray
    extents: np.ndarray
    visible_box: tuple[float, float, float, float]
    visible_fraction: float
    required: bool


@dataclass
class RenderedScene:
    """One rendered frame: colour, depth [m] (NaN: no return), intrinsics and ground truth."""

    rgb: np.ndarray
    depth: np.ndarray
    intrinsics: CameraIntrinsics
    objects: list[ObjectTruth] = field(default_factory=list)
    segmentation: np.ndarray | None = None
    index: int = 0


class SceneGenerator:
    """Renders randomised frames; frame ``index`` of generator ``seed`` is always the same.

    Args:
        robot_description: Path of the robot description YAML (camera and hand meshes).
        scene: Path of the scene YAML (table height, nominal object sizes and colours).
        seed: Seed of this generator (training and evaluation use different seeds).
        config: Randomisation ranges.
        with_hands: Add the robot's hands as distractors.
    """

    def __init__(
        self,
        robot_description: str | os.PathLike,
        scene: str | os.PathLike,
        seed: int = 0,
        config: GeneratorConfig | None = None,
        with_hands: bool = True,
    ):
        self.robot = load_robot_description(robot_description)
        self.scene = load_scene(scene)
        self.seed = int(seed)
        self.config = config or GeneratorConfig()
        self.scene_model = build_scene_model(self.robot, self.scene, with_hands)
        self.model = self.scene_model.model
        self.data = mujoco.MjData(self.model)
        spec = self.robot.camera
        self.intrinsics = CameraIntrinsics(
            spec.fx, spec.fy, spec.cx, spec.cy, spec.width, spec.height
        )
        self.camera = RgbdCamera(self.model, self.scene_model.camera_id, spec)
        scale = self.config.label_scale
        self.label_size = (round(spec.width * scale), round(spec.height * scale))
        self.segmenter = mujoco.Renderer(self.model, self.label_size[1], self.label_size[0])
        self.segmenter.enable_segmentation_rendering()
        self.nominal = {
            class_name: next(o for o in self.scene.objects if o.shape == SHAPE_OF_CLASS[class_name])
            for class_name in CLASS_NAMES
        }

    def close(self) -> None:
        """Release the GL contexts."""
        self.segmenter.close()
        self.camera.close()

    def __enter__(self) -> SceneGenerator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------------------------- frames
    def render(self, index: int) -> RenderedScene:
        """Sample scene ``index``, render it and compute its ground truth."""
        rng = np.random.default_rng((self.seed, int(index)))
        model, sm, cfg = self.model, self.scene_model, self.config
        self._hide_all()
        height = rng.uniform(*cfg.table_height_m)
        eye, rotation = self._place_camera(rng, height)
        self._place_table(rng, height, eye)
        placed: list[tuple[np.ndarray, float]] = []
        objects = []
        for class_name in CLASS_NAMES:
            count = rng.choice(cfg.max_per_class + 1, p=_count_probabilities(cfg.max_per_class))
            slots = [s for s in sm.objects if s.kind == class_name][:count]
            for slot in slots:
                truth = self._place_object(rng, slot, height, eye, rotation, placed)
                if truth is not None:
                    objects.append(truth)
        count = rng.integers(0, cfg.max_distractors + 1)
        for slot_index in rng.permutation(len(sm.distractors))[:count]:
            self._place_distractor(rng, sm.distractors[slot_index], height, eye, rotation, placed)
        anchors = [self.data.mocap_pos[slot.mocap].copy() for slot, _ in objects]
        sample_hands(rng, model, self.data, sm.hands, anchors, height, cfg.hand_probability)
        sample_lighting(rng, model, sm.lights)
        mujoco.mj_kinematics(model, self.data)
        mujoco.mj_camlight(model, self.data)
        rgb, depth = self.camera.render(model, self.data)
        self.segmenter.update_scene(self.data, camera=sm.camera_id)
        segmentation = self.segmenter.render()
        geom_ids = np.where(
            segmentation[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM), segmentation[..., 0], -1
        )
        truths = [self._truth(slot, info, geom_ids, eye, rotation) for slot, info in objects]
        return RenderedScene(rgb, depth, self.intrinsics, truths, geom_ids, int(index))

    # --------------------------------------------------------------------------- sampling
    def _hide_all(self) -> None:
        sm = self.scene_model
        for slot in (*sm.objects, *sm.distractors, *sm.hands, sm.wall):
            self.model.geom_rgba[slot.geom, 3] = 0.0
            self.data.mocap_pos[slot.mocap] = (0.0, 0.0, -5.0)

    def _place_camera(self, rng, height: float) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        distance = rng.uniform(*cfg.distance_m)
        elevation = np.radians(rng.uniform(*cfg.elevation_deg))
        azimuth = np.radians(rng.uniform(*cfg.azimuth_deg))
        target = np.array([rng.uniform(-0.1, 0.1), rng.uniform(-0.15, 0.15), height])
        direction = np.array(
            [
                -np.cos(elevation) * np.cos(azimuth),
                -np.cos(elevation) * np.sin(azimuth),
                np.sin(elevation),
            ]
        )
        eye = target + distance * direction
        rotation = look_at_rotation(target - eye, np.radians(rng.uniform(-1, 1) * cfg.roll_deg))
        camera = self.scene_model.camera_id
        self.model.cam_pos[camera] = eye
        # MuJoCo cameras look along -z with y up: axes (right, up, backward) = (x, -y, -z) optical.
        self.model.cam_quat[camera] = quat_from_matrix(rotation * np.array([1.0, -1.0, -1.0]))
        return eye, rotation

    def _place_table(self, rng, height: float, eye: np.ndarray) -> None:
        model, sm = self.model, self.scene_model
        half = np.array([rng.uniform(0.25, 0.6), rng.uniform(0.3, 0.8)])
        centre = rng.uniform(-0.6, 0.6, size=2) * (half - 0.15)
        self.data.mocap_pos[sm.table.mocap] = (centre[0], centre[1], height - 0.02)
        self._table = (centre, half, height)
        model.geom_size[sm.table.geom] = (half[0], half[1], 0.02)
        model.geom_rgba[sm.table.geom] = _random_colour(rng, wood=rng.random() < 0.5)
        for leg, (sx, sy) in zip(sm.table_legs, [(1, 1), (1, -1), (-1, 1), (-1, -1)], strict=True):
            model.geom_pos[leg] = (sx * (half[0] - 0.04), sy * (half[1] - 0.04), -height / 2)
            model.geom_size[leg] = (0.02, 0.02, height / 2 - 0.02)
            model.geom_rgba[leg] = model.geom_rgba[sm.table.geom] * (0.75, 0.75, 0.75, 1.0)
        material = sm.floor_materials[rng.integers(len(sm.floor_materials))]
        model.geom_matid[sm.floor_geom] = material
        model.mat_rgba[sm.floor_materials[-1]] = _random_colour(rng, value=(0.2, 0.8))
        if rng.random() < self.config.wall_probability:
            wall = sm.wall
            away = -eye[:2] / max(np.linalg.norm(eye[:2]), 1e-6)
            position = np.append(away * rng.uniform(0.8, 2.5), 1.0)
            yaw = np.arctan2(away[1], away[0])
            self.data.mocap_pos[wall.mocap] = position
            self.data.mocap_quat[wall.mocap] = (np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))
            model.geom_rgba[wall.geom] = _random_colour(rng)

    def _spot_on_table(self, rng, eye, rotation, z: float, radius: float, placed) -> np.ndarray:
        """A free point on the table top, seen through a random pixel; None if none found."""
        centre, half, _ = self._table
        k = self.intrinsics
        for _ in range(30):
            u = rng.uniform(-0.05, 1.05) * k.width
            v = rng.uniform(-0.05, 1.05) * k.height
            ray = rotation @ np.array([(u - k.cx) / k.fx, (v - k.cy) / k.fy, 1.0])
            if ray[2] >= -1e-3:
                continue
            point = eye + ray * (z - eye[2]) / ray[2]
            inside = np.all(np.abs(point[:2] - centre) <= half - radius)
            free = all(np.linalg.norm(point[:2] - p[:2]) > radius + r + 0.005 for p, r in placed)
            if inside and free:
                placed.append((point, radius))
                return point
        return None

    def _place_object(self, rng, slot: Slot, height, eye, rotation, placed):
        cfg = self.config
        nominal = self.nominal[slot.kind]
        scale = rng.uniform(*cfg.size_scale, size=2)
        lying = slot.kind == "cylinder" and rng.random() < cfg.lying_cylinder_probability
        geometry = object_geometry(slot.kind, nominal.size, scale, lying, rng)
        point = self._spot_on_table(rng, eye, rotation, height, geometry.footprint_radius, placed)
        if point is None:
            return None
        position = point + (0.0, 0.0, geometry.rest_height + 0.0005)
        orientation = geometry.quaternion
        if rng.random() < cfg.lifted_probability:
            position[2] += rng.uniform(0.03, 0.2)
            orientation = _random_quaternion(rng)
        self._show(slot, position, orientation, geometry.geom_size, geometry.bound)
        if rng.random() < cfg.nominal_colour_probability:
            colour = _jitter(rng, np.asarray(nominal.rgba))
        else:
            colour = _random_colour(rng)
        self.model.geom_rgba[slot.geom] = colour
        return slot, geometry

    def _place_distractor(self, rng, slot: Slot, height, eye, rotation, placed) -> None:
        geometry = sample_distractor_geometry(slot.kind, rng)
        point = self._spot_on_table(rng, eye, rotation, height, geometry.footprint_radius, placed)
        if point is None:
            return
        position = point + (0.0, 0.0, geometry.rest_height + 0.0005)
        self._show(slot, position, geometry.quaternion, geometry.geom_size, geometry.bound)
        if rng.random() < self.config.distractor_class_colour_probability:
            nominal = self.nominal[CLASS_NAMES[rng.integers(len(CLASS_NAMES))]]
            self.model.geom_rgba[slot.geom] = _jitter(rng, np.asarray(nominal.rgba))
        else:
            self.model.geom_rgba[slot.geom] = _random_colour(rng)

    def _show(self, slot: Slot, position, quaternion, geom_size, bound: float) -> None:
        self.data.mocap_pos[slot.mocap] = position
        self.data.mocap_quat[slot.mocap] = quaternion
        self.model.geom_size[slot.geom] = geom_size
        self.model.geom_rbound[slot.geom] = bound

    # ------------------------------------------------------------------------ ground truth
    def _truth(self, slot: Slot, geometry, geom_ids, eye, rotation) -> ObjectTruth:
        cfg, k = self.config, self.intrinsics
        world_rotation = self.data.xmat[self.model.geom_bodyid[slot.geom]].reshape(3, 3)
        centre_world = self.data.mocap_pos[slot.mocap]
        position = rotation.T @ (centre_world - eye)
        object_rotation = rotation.T @ world_rotation
        points = (surface_points(slot.kind, geometry.geom_size) @ object_rotation.T) + position
        scale = cfg.label_scale
        mask = geom_ids == slot.geom
        visible = int(np.count_nonzero(mask))
        fraction = 0.0
        if np.all(points[:, 2] > 0.02):
            uv = np.column_stack(
                [
                    k.fx * points[:, 0] / points[:, 2] + k.cx,
                    k.fy * points[:, 1] / points[:, 2] + k.cy,
                ]
            )
            hull = cv2.convexHull(((uv + 0.5) * scale - 0.5).astype(np.float32))
            area = cv2.contourArea(hull) + 0.5 * cv2.arcLength(hull, True)
            fraction = visible / max(area, 1.0)
        box = (0.0, 0.0, 0.0, 0.0)
        if visible:
            rows, cols = np.nonzero(mask)
            c0, c1, r0, r1 = cols.min(), cols.max() + 1, rows.min(), rows.max() + 1
            box = (
                (c0 + c1) / (2 * scale) - 0.5,
                (r0 + r1) / (2 * scale) - 0.5,
                (c1 - c0) / scale,
                (r1 - r0) / scale,
            )
        centre_uv = (
            k.fx * position[0] / position[2] + k.cx,
            k.fy * position[1] / position[2] + k.cy,
        )
        in_image = 0 <= centre_uv[0] < k.width and 0 <= centre_uv[1] < k.height
        required = (
            in_image
            and position[2] > 0.1
            and fraction >= cfg.min_visible_fraction
            and visible >= cfg.min_visible_pixels
        )
        return ObjectTruth(
            class_id=CLASS_NAMES.index(slot.kind),
            class_name=slot.kind,
            position=position,
            rotation=object_rotation,
            extents=np.asarray(geometry.extents, dtype=float),
            visible_box=tuple(float(v) for v in box),
            visible_fraction=float(min(fraction, 1.0)),
            required=bool(required),
        )


def _count_probabilities(maximum: int) -> np.ndarray:
    weights = np.array([1.5] + [1.0] * maximum)
    return weights / weights.sum()


def _random_colour(rng, wood: bool = False, value=(0.12, 1.0)) -> np.ndarray:
    if wood:
        hue, saturation, brightness = (
            rng.uniform(0.05, 0.11),
            rng.uniform(0.3, 0.7),
            rng.uniform(0.3, 0.8),
        )
    else:
        hue, saturation, brightness = rng.random(), rng.random(), rng.uniform(*value)
    return np.array([*colorsys.hsv_to_rgb(hue, saturation, brightness), 1.0])


def _jitter(rng, rgba: np.ndarray) -> np.ndarray:
    hue, saturation, value = colorsys.rgb_to_hsv(*rgba[:3])
    hue = (hue + rng.uniform(-0.03, 0.03)) % 1.0
    saturation = float(np.clip(saturation * rng.uniform(0.8, 1.15), 0.0, 1.0))
    value = float(np.clip(value * rng.uniform(0.75, 1.2), 0.05, 1.0))
    return np.array([*colorsys.hsv_to_rgb(hue, saturation, value), 1.0])


def _random_quaternion(rng) -> np.ndarray:
    q = rng.normal(size=4)
    return q / np.linalg.norm(q)
