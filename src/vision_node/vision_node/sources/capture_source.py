"""OpenCV capture sources: a live camera (``camera``) and a video file (``video``).

``camera`` options: ``device`` (an index such as 0, or a path such as /dev/video2 or a GStreamer
/ URL string OpenCV understands; default 0), ``api`` (``v4l2`` (default) or ``any``),
``width``, ``height``, ``fps`` (requested from the driver; 0 keeps its default) and ``fourcc``
(e.g. MJPG). A camera that stops delivering is reopened every second.

``video`` options: ``path`` (the file), ``rate_hz`` (playback rate; 0 plays at the file's own
rate) and ``loop`` (start again at the end; default true).

Frames are stamped with the node's clock when grabbed and carry no depth; their intrinsics come
from the node's ``camera_info_file`` (a ROS camera_info YAML), without which nothing is
localised in 3D.
"""

from __future__ import annotations

import pathlib
import threading
import time

import cv2
import numpy as np

from vision_node.errors import SourceError
from vision_node.pipeline import Frame
from vision_node.sources.base import FrameSource, Packet


class _CaptureSource(FrameSource):
    """Reads an OpenCV VideoCapture in a thread and pushes its frames."""

    def __init__(self, options, context):
        super().__init__(options, context)
        self._capture = None
        self._running = False
        self._thread: threading.Thread | None = None
        self.counters = {"frames": 0, "read_failures": 0, "reopens": 0}

    def _open(self) -> cv2.VideoCapture:
        raise NotImplementedError

    def _period_s(self) -> float:
        return 0.0

    def start(self) -> None:
        self._capture = self._open()
        self._running = True
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=3.0)
        if self._capture is not None:
            self._capture.release()

    def _frame(self, bgr: np.ndarray, stamp_ns: int) -> Frame:
        rgb = (
            cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            if bgr.ndim == 3
            else cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
        )
        return Frame(rgb, None, self.context.intrinsics, stamp_ns, self.context.frame_id)

    def _end_of_stream(self) -> bool:
        """Handle a failed read; False stops the thread."""
        self.count("read_failures")
        time.sleep(1.0)
        self._capture.release()
        try:
            self._capture = self._open()
            self.count("reopens")
        except SourceError as error:
            if self.context.logger:
                self.context.logger.warning(f"{error}; retrying", throttle_duration_sec=5.0)
        return True

    def _run(self) -> None:
        period = self._period_s()
        next_time = time.monotonic()
        while self._running:
            ok, bgr = self._capture.read()
            if not ok or bgr is None:
                if not self._end_of_stream():
                    return
                next_time = time.monotonic()
                continue
            stamp = self.context.now_ns()
            self.count("frames")
            self.context.sink(
                Packet(time.monotonic_ns(), lambda bgr=bgr, stamp=stamp: self._frame(bgr, stamp))
            )
            if period > 0:
                next_time += period
                delay = next_time - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    next_time = time.monotonic()


class CameraSource(_CaptureSource):
    """A live camera through OpenCV (registered as ``camera``)."""

    allowed_options = frozenset({"device", "api", "width", "height", "fps", "fourcc"})

    def _open(self) -> cv2.VideoCapture:
        device = self.options.get("device", 0)
        api = str(self.options.get("api", "v4l2")).lower()
        if api not in ("v4l2", "any"):
            raise SourceError(f"camera option api = {api!r}: expected 'v4l2' or 'any'")
        backend = cv2.CAP_V4L2 if api == "v4l2" else cv2.CAP_ANY
        if isinstance(device, str) and device.isdigit():
            device = int(device)
        if (
            isinstance(device, str)
            and device.startswith("/dev/")
            and not pathlib.Path(device).exists()
        ):
            raise SourceError(f"camera device {device} does not exist")
        capture = cv2.VideoCapture(device, backend)
        if not capture.isOpened():
            raise SourceError(f"camera device {device!r} cannot be opened (api {api})")
        fourcc = self.options.get("fourcc")
        if fourcc:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*str(fourcc)[:4]))
        for key, prop in (
            ("width", cv2.CAP_PROP_FRAME_WIDTH),
            ("height", cv2.CAP_PROP_FRAME_HEIGHT),
            ("fps", cv2.CAP_PROP_FPS),
        ):
            if self.options.get(key):
                capture.set(prop, float(self.options[key]))
        return capture

    def describe(self) -> str:
        return f"camera {self.options.get('device', 0)} ({self.options.get('api', 'v4l2')})"


class VideoSource(_CaptureSource):
    """Playback of a video file (registered as ``video``)."""

    allowed_options = frozenset({"path", "rate_hz", "loop"})

    def __init__(self, options, context):
        super().__init__(options, context)
        self.counters["loops"] = 0

    def _path(self) -> pathlib.Path:
        from vision_node.resources import resolve_path

        if not self.options.get("path"):
            raise SourceError("video source needs option 'path' (the video file)")
        return resolve_path(str(self.options["path"]))

    def _open(self) -> cv2.VideoCapture:
        path = self._path()
        if not path.is_file():
            raise SourceError(f"video file {path} does not exist")
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise SourceError(f"video file {path} cannot be opened by OpenCV")
        return capture

    def _period_s(self) -> float:
        rate = float(self.options.get("rate_hz", 0.0) or 0.0)
        if rate <= 0.0:
            rate = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
        return 1.0 / rate

    def _end_of_stream(self) -> bool:
        if not self.options.get("loop", True):
            self.count("ended")
            return False
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self.count("loops")
        return True

    def describe(self) -> str:
        return f"video {self._path()} at {1.0 / self._period_s():.1f} Hz"
