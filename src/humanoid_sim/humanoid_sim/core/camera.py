"""Offscreen RGB-D rendering of the head camera: colour and metric depth from one render pass.

One ``mjr_render`` fills both the colour and the depth buffer, and one ``mjr_readPixels`` reads
both, so an RGB-D frame costs one render instead of the two that ``mujoco.Renderer`` needs.
Only the robot's visual meshes and the scene are drawn (not the collision meshes, which would
double the triangles), without shadows, reflections or skybox, and robot meshes whose bounding
sphere lies outside the view frustum are culled before the scene is built (MuJoCo submits every
geom to OpenGL, and on a CPU rasteriser the robot's 230k-vertex meshes cost more than the pixels;
geoms with alpha 0 are skipped by ``mjv_updateScene``, so culling sets alpha 0 for one frame).
Needs an OpenGL backend: ``MUJOCO_GL=egl`` (default here) or ``osmesa``.

On Mesa's CPU rasteriser (llvmpipe, what EGL gives on a machine without a GPU) the camera asks
for rasterising in the calling thread (``LP_NUM_THREADS=0`` unless already set): with its
worker threads a 640x480 frame took 16-19 ms of process CPU, in the calling thread 15-16 ms,
for the same wall time (2-core machine, alternating runs): the simulator's other threads and
the other nodes need those cores.
"""

from __future__ import annotations

import os

import mujoco
import numpy as np

from humanoid_sim.core.model_builder import ROBOT_VISUAL_GROUP, SCENE_GROUP
from humanoid_sim.core.robot_description import CameraSpec
from humanoid_sim.errors import SimError


class RgbdCamera:
    """Renders a fixed model camera into an RGB image and a depth image in metres.

    Args:
        model: Compiled model (its near/far clip planes are set from ``spec``).
        camera_id: Model camera id.
        spec: Resolution, intrinsics and clip distances.
    """

    def __init__(self, model: mujoco.MjModel, camera_id: int, spec: CameraSpec):
        os.environ.setdefault("MUJOCO_GL", "egl")
        os.environ.setdefault("LP_NUM_THREADS", "0")  # read when Mesa's screen is made
        self.spec = spec
        self.width, self.height = spec.width, spec.height
        extent = float(model.stat.extent)
        model.vis.map.znear = spec.near_m / extent
        model.vis.map.zfar = spec.far_m / extent
        self._near, self._far = spec.near_m, spec.far_m
        # The offscreen buffer's samples are fixed when the GL context is made.
        model.vis.quality.offsamples = 4 if spec.antialias else 0
        try:
            self._gl = mujoco.GLContext(self.width, self.height)
            self._gl.make_current()
            self._context = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100)
        except Exception as error:  # noqa: BLE001 - any GL failure means no camera
            raise SimError(
                f"cannot create an OpenGL context with MUJOCO_GL={os.environ['MUJOCO_GL']}: "
                f"{error} (install libegl1 and libgl1-mesa-dri, or set MUJOCO_GL=osmesa)"
            ) from error
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._context)
        self._scene = mujoco.MjvScene(model, maxgeom=4000)
        for flag in (
            mujoco.mjtRndFlag.mjRND_SHADOW,
            mujoco.mjtRndFlag.mjRND_REFLECTION,
            mujoco.mjtRndFlag.mjRND_SKYBOX,
        ):
            self._scene.flags[flag] = False
        self._option = mujoco.MjvOption()
        self._option.geomgroup[:] = 0
        self._option.geomgroup[ROBOT_VISUAL_GROUP] = 1
        self._option.geomgroup[SCENE_GROUP] = 1
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._camera.fixedcamid = camera_id
        self._viewport = mujoco.MjrRect(0, 0, self.width, self.height)
        self._cullable = np.flatnonzero(
            (model.geom_group == ROBOT_VISUAL_GROUP) & (model.geom_rgba[:, 3] > 0)
        )
        self._camera_id = camera_id
        tan_x = (self.width / 2.0) / spec.fx
        tan_y = (self.height / 2.0) / spec.fy
        # Inward normals of the four side planes in the MuJoCo camera frame (looking along -z).
        planes = np.array([[-1, 0, -tan_x], [1, 0, -tan_x], [0, -1, -tan_y], [0, 1, -tan_y]])
        self._planes = planes / np.linalg.norm(planes, axis=1, keepdims=True)
        self.culled_last = 0
        self._rgb = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        self._depth = np.zeros((self.height, self.width), dtype=np.float32)

    def render(self, model: mujoco.MjModel, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """Render the current state (``capture`` then ``draw``).

        Returns:
            (rgb uint8 HxWx3, depth float32 HxW in metres along the optical axis; NaN where
            nothing is within the far clip distance).
        """
        self.capture(model, data)
        return self.draw()

    def capture(self, model: mujoco.MjModel, data: mujoco.MjData) -> None:
        """Take the current state into the camera's scene (CPU only, no OpenGL call).

        After this, ``data`` may change (the simulation steps on) while ``draw`` rasterises the
        captured scene, in another thread if the GL context was made there.
        """
        culled = self._outside_frustum(model, data)
        saved_alpha = model.geom_rgba[culled, 3].copy()
        model.geom_rgba[culled, 3] = 0.0
        try:
            mujoco.mjv_updateScene(
                model,
                data,
                self._option,
                None,
                self._camera,
                mujoco.mjtCatBit.mjCAT_ALL,
                self._scene,
            )
        finally:
            model.geom_rgba[culled, 3] = saved_alpha
        self.culled_last = int(culled.size)

    def draw(self) -> tuple[np.ndarray, np.ndarray]:
        """Rasterise the last captured scene; needs the thread that created the camera (its GL
        context is current there). Returns (rgb, depth) as ``render``."""
        self._gl.make_current()
        mujoco.mjr_render(self._viewport, self._scene, self._context)
        mujoco.mjr_readPixels(self._rgb, self._depth, self._viewport, self._context)
        rgb = np.flipud(self._rgb).copy()
        buffer = np.flipud(self._depth)
        near, far = self._near, self._far
        depth = (near / (1.0 - buffer * (1.0 - near / far))).astype(np.float32)
        depth[buffer >= 1.0] = np.nan
        return rgb, depth

    def _outside_frustum(self, model, data) -> np.ndarray:
        """Robot visual geoms whose bounding sphere is entirely outside the view frustum."""
        geoms = self._cullable
        position = data.cam_xpos[self._camera_id]
        rotation = data.cam_xmat[self._camera_id].reshape(3, 3)
        local = (data.geom_xpos[geoms] - position) @ rotation  # rows: points in camera frame
        radius = model.geom_rbound[geoms]
        outside = (local @ self._planes.T < -radius[:, None]).any(axis=1)
        outside |= -local[:, 2] < self._near - radius  # entirely behind the near plane
        return geoms[outside]

    def intrinsics(self) -> np.ndarray:
        """3x3 pinhole matrix K of the rendered images."""
        s = self.spec
        return np.array([[s.fx, 0.0, s.cx], [0.0, s.fy, s.cy], [0.0, 0.0, 1.0]])

    def close(self) -> None:
        """Release the GL context."""
        self._context.free()
        self._gl.free()
