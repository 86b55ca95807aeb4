"""Class-name files: the ``names:`` of an Ultralytics data YAML, plus optional per-class hints.

Accepted forms::

    names: [cube, cylinder, sphere]          # or {0: cube, 1: cylinder, 2: sphere}
    centre_offset: {cube: 0.42, sphere: 0.36} # optional: surface-to-centre, in object widths
    marker_shape: {cube: cube, cylinder: cylinder}  # optional: RViz marker shape per class
    # optional, per class, instead of centre_offset: offset [m] = a x the box's smaller extent
    # [m] + b x the depth spread (p90 - p10) of the object's pixels [m] + c [m]
    centre_offset_model: {cylinder: [0.5, -0.3, 0.05]}
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from vision_node.errors import ModelError

MARKER_SHAPES = ("cube", "cylinder", "sphere")


@dataclass(frozen=True)
class ClassFile:
    """Parsed class file.

    Attributes:
        names: Class labels by class id.
        centre_offset: Class -> surface-to-centre distance in object widths.
        marker_shape: Class -> RViz marker shape.
        metadata: Other top-level keys (kept for the detector that owns the file).
        centre_offset_model: Class -> (a, b, c): surface-to-centre distance [m] = a x smaller
            box extent + b x depth spread + c (see :func:`vision_node.core.localize.localize`).
    """

    names: tuple[str, ...]
    centre_offset: Mapping[str, float] = field(default_factory=dict)
    marker_shape: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping = field(default_factory=dict)
    centre_offset_model: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)


def load_class_file(path: pathlib.Path) -> ClassFile:
    """Read a class-name YAML.

    Raises:
        ModelError: If the file is missing, not YAML, or its ``names`` are not a list or a
            mapping of consecutive ids from 0.
    """
    if not path.is_file():
        raise ModelError(f"class-name file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ModelError(f"class-name file {path} is not readable YAML: {error}") from error
    if not isinstance(data, Mapping) or "names" not in data:
        raise ModelError(f"class-name file {path}: expected a mapping with a 'names' key")
    names = data["names"]
    if isinstance(names, Mapping):
        try:
            ids = sorted(int(k) for k in names)
        except (TypeError, ValueError) as error:
            raise ModelError(f"class-name file {path}: names keys must be integers") from error
        if ids != list(range(len(ids))):
            raise ModelError(f"class-name file {path}: names ids {ids}: expected 0..{len(ids) - 1}")
        names = [names[k] if k in names else names[str(k)] for k in ids]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ModelError(f"class-name file {path}: names = {names!r}: expected a list of strings")
    offsets = data.get("centre_offset", {}) or {}
    shapes = data.get("marker_shape", {}) or {}
    if not isinstance(offsets, Mapping) or not all(
        isinstance(v, (int, float)) and 0.0 <= v <= 2.0 for v in offsets.values()
    ):
        raise ModelError(f"class-name file {path}: centre_offset must map classes to 0..2")
    if not isinstance(shapes, Mapping) or not set(shapes.values()) <= set(MARKER_SHAPES):
        raise ModelError(f"class-name file {path}: marker_shape values must be {MARKER_SHAPES}")
    models = data.get("centre_offset_model", {}) or {}
    if not isinstance(models, Mapping) or not all(
        isinstance(v, list)
        and len(v) == 3
        and all(isinstance(x, (int, float)) and abs(x) <= 5.0 for x in v)
        for v in models.values()
    ):
        raise ModelError(
            f"class-name file {path}: centre_offset_model must map classes to [a, b, c] "
            "(numbers, |x| <= 5)"
        )
    known = ("names", "centre_offset", "marker_shape", "centre_offset_model")
    extra = {k: v for k, v in data.items() if k not in known}
    return ClassFile(
        tuple(names),
        {str(k): float(v) for k, v in offsets.items()},
        {str(k): str(v) for k, v in shapes.items()},
        extra,
        {str(k): tuple(float(x) for x in v) for k, v in models.items()},
    )
