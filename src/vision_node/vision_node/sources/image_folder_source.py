"""Playback of an image folder (registered as ``images``), with optional aligned depth.

Options: ``path`` (folder of colour images: .png, .jpg, .jpeg, .bmp, in name order),
``depth_path`` (optional folder holding, for each colour image, the depth image of the same
stem: a 16-bit PNG in ``depth_scale`` units (default 0.001: millimetres, as RealSense saves)
or a .npy of float metres), ``rate_hz`` (default 10) and ``loop`` (default true).

Files are read when the node takes the frame from its queue, so a slow node skips files
instead of reading them for nothing.
"""

from __future__ import annotations

import pathlib
import threading
import time

import cv2
import numpy as np

from vision_node.errors import InputError, SourceError
from vision_node.pipeline import Frame
from vision_node.resources import resolve_path
from vision_node.sources.base import FrameSource, Packet

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


class ImageFolderSource(FrameSource):
    """Images (and depth) from folders at a fixed rate."""

    allowed_options = frozenset({"path", "depth_path", "depth_scale", "rate_hz", "loop"})

    def __init__(self, options, context):
        super().__init__(options, context)
        self.counters = {"frames": 0, "loops": 0, "missing_depth": 0}
        self._running = False
        self._thread: threading.Thread | None = None
        self._configure()

    def _configure(self) -> None:
        """Check the options and list the files (at construction, so a bad folder refuses the
        node's start and :meth:`describe` works before :meth:`start`)."""
        if not self.options.get("path"):
            raise SourceError("images source needs option 'path' (the image folder)")
        folder = resolve_path(str(self.options["path"]))
        if not folder.is_dir():
            raise SourceError(f"image folder {folder} does not exist")
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise SourceError(f"image folder {folder} holds no {'/'.join(IMAGE_SUFFIXES)} files")
        self.depth_folder = None
        if self.options.get("depth_path"):
            self.depth_folder = resolve_path(str(self.options["depth_path"]))
            if not self.depth_folder.is_dir():
                raise SourceError(f"depth folder {self.depth_folder} does not exist")
        self.depth_scale = float(self.options.get("depth_scale", 0.001))
        rate = float(self.options.get("rate_hz", 10.0))
        if not rate > 0:
            raise SourceError(f"images option rate_hz = {rate}: expected > 0")
        self.period = 1.0 / rate
        self.folder = folder

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=self._run, name="images", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=3.0)

    def _depth_file(self, colour: pathlib.Path) -> pathlib.Path | None:
        for suffix in (".png", ".npy", ".tiff", ".tif"):
            candidate = self.depth_folder / (colour.stem + suffix)
            if candidate.is_file():
                return candidate
        return None

    def _load(self, path: pathlib.Path, stamp_ns: int) -> Frame:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise InputError(f"image file {path} cannot be read as an image")
        depth, scale = None, 1.0
        if self.depth_folder is not None:
            depth_path = self._depth_file(path)
            if depth_path is None:
                self.count("missing_depth")
            elif depth_path.suffix == ".npy":
                depth = np.load(depth_path).astype(np.float32)
            else:
                depth = cv2.imread(str(depth_path), cv2.IMREAD_UNCHANGED)
                if depth is None:
                    raise InputError(f"depth file {depth_path} cannot be read")
                scale = self.depth_scale if depth.dtype == np.uint16 else 1.0
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return Frame(rgb, depth, self.context.intrinsics, stamp_ns, self.context.frame_id, scale)

    def _run(self) -> None:
        index = 0
        next_time = time.monotonic()
        while self._running:
            if index == len(self.files):
                if not self.options.get("loop", True):
                    return
                index = 0
                self.count("loops")
            path = self.files[index]
            index += 1
            stamp = self.context.now_ns()
            self.count("frames")
            self.context.sink(Packet(time.monotonic_ns(), lambda p=path, s=stamp: self._load(p, s)))
            next_time += self.period
            delay = next_time - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_time = time.monotonic()

    def describe(self) -> str:
        depth = f", depth {self.depth_folder}" if self.depth_folder else ""
        return f"images {self.folder} ({len(self.files)} files{depth}) at {1 / self.period:.1f} Hz"
