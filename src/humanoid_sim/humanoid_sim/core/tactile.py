"""Simulated tactile skin: taxel grids that conform to the link surfaces, loaded by contacts.

Layout: each pad's taxel grid is laid out in a plane (pad x along the segment, pad y = normal x
axis) and every taxel is projected onto the link's collision surface by a ray cast along the
inward normal, so pads follow rounded fingertips instead of sticking out as flat plates.

Loading: each MuJoCo contact on a pad link is spread over that pad's taxels with a Gaussian
kernel (sigma ~ one pitch) on the taxel-to-contact distance, normalised so the taxel forces sum
to the contact's normal force when the contact lies on the pad. This conserves force, gives a
contact patch a few taxels wide (like an elastomer skin spreads load), and yields shear from the
contact's friction force. Pressure = taxel force / taxel area, in kPa.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from humanoid_sim.core.robot_description import PadSpec, SkinSpec
from humanoid_sim.errors import SimError

KERNEL_SIGMA_PITCHES = 0.6  # kernel width in taxel pitches
CAPTURE_RADIUS_PITCHES = 1.5  # a contact farther than this from every taxel misses the pad


@dataclass
class PadLayout:
    """A pad laid out on its link.

    Attributes:
        spec: The pad's description.
        body_id: MuJoCo body id of the link.
        taxels_link: (rows*cols, 3) taxel positions in the link frame [m], row-major.
        normals_link: (rows*cols, 3) outward surface normals at the taxels (link frame).
        rotation_link_pad: (3, 3) pad frame axes (x, y, z=normal) in the link frame.
        origin_link: Pad frame origin (grid centre on the surface) in the link frame [m].
        taxel_area: Area of one taxel [m^2].
        projected: (rows*cols,) True where the ray cast hit the surface.
    """

    spec: PadSpec
    body_id: int
    taxels_link: np.ndarray
    normals_link: np.ndarray
    rotation_link_pad: np.ndarray
    origin_link: np.ndarray
    taxel_area: float
    projected: np.ndarray


@dataclass
class PadReading:
    """One pad's taxel values at one instant (row-major, rows*cols each)."""

    pressure_kpa: np.ndarray
    shear_x_kpa: np.ndarray
    shear_y_kpa: np.ndarray


def _ray_to_body(model, data, body_id: int, point: np.ndarray, direction: np.ndarray):
    """Nearest hit of a ray with the collision geoms of one body: (distance, normal) or None."""
    best = None
    for geom in range(model.ngeom):
        if model.geom_bodyid[geom] != body_id or model.geom_contype[geom] == 0:
            continue
        normal = np.zeros(3)
        if model.geom_type[geom] == mujoco.mjtGeom.mjGEOM_MESH:
            distance = mujoco.mj_rayMesh(model, data, geom, point, direction, normal)
        else:
            distance = mujoco.mju_rayGeom(
                data.geom_xpos[geom],
                data.geom_xmat[geom],
                model.geom_size[geom],
                point,
                direction,
                int(model.geom_type[geom]),
                normal,
            )
        if distance >= 0 and (best is None or distance < best[0]):
            best = (distance, normal)
    return best


def layout_pad(model: mujoco.MjModel, data: mujoco.MjData, pad: PadSpec) -> PadLayout:
    """Project a pad's taxel grid onto its link surface.

    Args:
        model: Compiled model.
        data: Data with kinematics computed (any configuration).
        pad: The pad's description.

    Returns:
        The pad's layout in the link frame.

    Raises:
        SimError: The link does not exist or the grid centre misses the surface.
    """
    try:
        body_id = model.body(pad.link).id
    except KeyError as error:
        raise SimError(f"tactile pad {pad.name!r}: link {pad.link!r} not in the model") from error
    x_axis = pad.axis
    y_axis = np.cross(pad.normal, x_axis)
    rotation = np.column_stack([x_axis, y_axis, pad.normal])
    body_rot = data.xmat[body_id].reshape(3, 3)
    body_pos = data.xpos[body_id]
    standoff = 0.05

    def project(point_link: np.ndarray):
        start = body_pos + body_rot @ (point_link + pad.normal * standoff)
        hit = _ray_to_body(model, data, body_id, start, body_rot @ -pad.normal)
        if hit is None:
            return None
        distance, normal_world = hit
        surface = point_link + pad.normal * (standoff - distance)
        normal_link = body_rot.T @ normal_world
        if normal_link @ pad.normal < 0.2:
            normal_link = pad.normal
        return surface, normal_link / np.linalg.norm(normal_link)

    centre = project(pad.center)
    if centre is None:
        raise SimError(f"tactile pad {pad.name!r}: centre {pad.center.tolist()} misses {pad.link}")
    origin = centre[0]
    count = pad.rows * pad.cols
    taxels = np.zeros((count, 3))
    normals = np.zeros((count, 3))
    projected = np.zeros(count, dtype=bool)
    for row in range(pad.rows):
        for col in range(pad.cols):
            offset_x = (col - (pad.cols - 1) / 2.0) * pad.pitch[0]
            offset_y = (row - (pad.rows - 1) / 2.0) * pad.pitch[1]
            planar = pad.center + x_axis * offset_x + y_axis * offset_y
            hit = project(planar)
            index = row * pad.cols + col
            if hit is not None and (origin - hit[0]) @ pad.normal > max(pad.pitch):
                hit = None  # the ray went past an edge or into a cavity, far below the skin
            if hit is None:
                # Off the edge of a rounded segment: keep the taxel on the tangent plane.
                taxels[index] = origin + x_axis * offset_x + y_axis * offset_y
                normals[index] = pad.normal
            else:
                taxels[index], normals[index] = hit
                projected[index] = True
    return PadLayout(
        pad, body_id, taxels, normals, rotation, origin, pad.pitch[0] * pad.pitch[1], projected
    )


class TactileSkinSim:
    """Computes taxel pressures of all pads of all skins from the current contacts."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, skins: tuple[SkinSpec, ...]):
        """Lay out every pad (uses ``data``'s current kinematics; mj_kinematics is run)."""
        mujoco.mj_kinematics(model, data)
        self.skins = skins
        self.layouts: dict[str, list[PadLayout]] = {
            skin.name: [layout_pad(model, data, pad) for pad in skin.pads] for skin in skins
        }
        self._pads_by_body: dict[int, list[tuple[str, int]]] = {}
        for skin_name, layouts in self.layouts.items():
            for index, layout in enumerate(layouts):
                self._pads_by_body.setdefault(layout.body_id, []).append((skin_name, index))
        # Body id -> carries a pad: contacts elsewhere are skipped with one numpy lookup.
        self._is_pad_body = np.zeros(model.nbody, dtype=bool)
        self._is_pad_body[list(self._pads_by_body)] = True
        self._force = np.zeros(6)
        self._zero = {
            skin: [self._reading(pad, np.zeros((len(pad.taxels_link), 3))) for pad in layouts]
            for skin, layouts in self.layouts.items()
        }

    @staticmethod
    def _reading(layout: PadLayout, taxel_force: np.ndarray) -> PadReading:
        local = taxel_force @ layout.rotation_link_pad  # (n, 3) in pad axes
        scale = 1e-3 / layout.taxel_area  # N -> kPa
        # Force on the skin: compression points along -normal; shear is tangential.
        return PadReading(
            np.maximum(-local[:, 2], 0.0) * scale, local[:, 0] * scale, local[:, 1] * scale
        )

    def read(self, model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, list[PadReading]]:
        """Taxel readings of every pad from the contacts in ``data``.

        Returns:
            Skin name -> one PadReading per pad, in description order.
        """
        forces: dict[tuple[str, int], np.ndarray] = {}
        if data.ncon:
            # The contacts' fields as arrays (one binding call each, not one per contact).
            contacts = data.contact
            bodies = model.geom_bodyid[contacts.geom]  # (ncon, 2): geom1's and geom2's bodies
            touching = np.flatnonzero(self._is_pad_body[bodies].any(axis=1)).tolist()
            if touching:
                frames, positions = contacts.frame, contacts.pos
            for contact_id in touching:
                body1, body2 = bodies[contact_id].tolist()
                mujoco.mj_contactForce(model, data, contact_id, self._force)
                frame = frames[contact_id].reshape(3, 3)  # rows: normal (geom1 -> 2), tangents
                force_on_geom2 = frame.T @ self._force[:3]
                for body, sign in ((body1, -1.0), (body2, 1.0)):
                    for key in self._pads_by_body.get(body, ()):
                        layout = self.layouts[key[0]][key[1]]
                        if key not in forces:
                            forces[key] = np.zeros((len(layout.taxels_link), 3))
                        self._spread(
                            data, layout, positions[contact_id], sign * force_on_geom2, forces[key]
                        )
        # Untouched pads share precomputed zero readings (treat readings as read-only).
        readings = {skin: list(pads) for skin, pads in self._zero.items()}
        for (skin, index), taxel_force in forces.items():
            readings[skin][index] = self._reading(self.layouts[skin][index], taxel_force)
        return readings

    @staticmethod
    def _spread(data, layout: PadLayout, point_world, force_world, out: np.ndarray) -> None:
        """Add one contact's force on the pad's link (world frame) to the taxel forces."""
        rotation = data.xmat[layout.body_id].reshape(3, 3)
        point_link = rotation.T @ (point_world - data.xpos[layout.body_id])
        force_link = rotation.T @ force_world
        if force_link @ layout.rotation_link_pad[:, 2] >= 0.0:
            return  # the force pulls the skin outward: skins only sense compression
        pitch = min(layout.spec.pitch)
        offsets = layout.taxels_link - point_link
        np.square(offsets, out=offsets)
        squared = offsets.sum(axis=1)
        if squared.min() > (CAPTURE_RADIUS_PITCHES * pitch) ** 2:
            return  # the contact is on the link but off this pad
        weights = np.exp(-squared / (2.0 * (KERNEL_SIGMA_PITCHES * pitch) ** 2))
        weights /= weights.sum()
        out += weights[:, np.newaxis] * force_link  # the outer product
