"""The scene-object detector's decision rules (what it keeps of its two networks' outputs).

No rendering: :meth:`HeatmapDetector.decide` is fed made-up candidates and classifier outputs.
"""

import numpy as np
import pytest
import yaml

from vision_node.core.detections import Box2D, Detection
from vision_node.detectors.base import DetectorConfig
from vision_node.detectors.heatmap_detector import DecisionRules, HeatmapDetector
from vision_node.errors import ModelError

CUBE, CYLINDER, SPHERE, BACKGROUND = range(4)


@pytest.fixture(scope="module")
def detector() -> HeatmapDetector:
    return HeatmapDetector(DetectorConfig())


def candidate(x: float, y: float, size: float = 40.0, peak: float = 0.5) -> Detection:
    """A stage-1 proposal: its score is the heatmap peak."""
    return Detection(0, "cube", peak, Box2D(x, y, size, size))


def outputs(*rows, mirrored=None) -> np.ndarray:
    """(2, N, 4) classifier outputs: each row's probabilities, and the mirror images'."""
    first = np.asarray(rows, dtype=np.float32)
    second = first if mirrored is None else np.asarray(mirrored, dtype=np.float32)
    return np.stack([first, second])


PLAIN = DecisionRules(
    proposal_threshold=0.1, score_threshold=0.5, mirror="mean", containment=0.5, peak_weight=0.0
)


def test_shipped_class_file_names_valid_rules(detector):
    rules = detector.rules
    assert rules.mirror in ("mean", "min", "none")
    assert 0.0 < rules.proposal_threshold < 0.5
    assert rules.score_threshold == DetectorConfig().score_threshold
    assert detector.proposal_threshold == rules.proposal_threshold


def test_class_and_background_from_the_classifier(detector):
    kept = detector.decide(
        [candidate(100, 100), candidate(300, 300), candidate(500, 200)],
        outputs([0.1, 0.8, 0.05, 0.05], [0.2, 0.1, 0.1, 0.6], [0.05, 0.05, 0.55, 0.35]),
        PLAIN,
    )
    assert [(d.class_name, round(d.score, 2)) for d in kept] == [
        ("cylinder", 0.8),
        ("sphere", 0.55),
    ]


def test_per_class_thresholds_and_background_margin(detector):
    candidates = [candidate(100, 100), candidate(300, 300)]
    probabilities = outputs([0.6, 0.0, 0.0, 0.4], [0.0, 0.0, 0.6, 0.4])
    rules = PLAIN.replace(class_thresholds=(0.5, 0.5, 0.7))
    assert [d.class_name for d in detector.decide(candidates, probabilities, rules)] == ["cube"]
    # The floor (the node's score_threshold) still counts where a class threshold is lower.
    assert detector.decide(candidates, probabilities, rules.replace(score_threshold=0.65)) == []
    margin = PLAIN.replace(background_margin=0.25)
    assert detector.decide(candidates, probabilities, margin) == []


def test_mirror_modes(detector):
    probabilities = outputs([0.9, 0.0, 0.0, 0.1], mirrored=[[0.45, 0.0, 0.0, 0.55]])
    box = [candidate(100, 100)]
    assert detector.decide(box, probabilities, PLAIN)[0].score == pytest.approx(0.675)
    assert detector.decide(box, probabilities, PLAIN.replace(mirror="min")) == []
    single = probabilities[:1]
    assert detector.decide(box, single, PLAIN.replace(mirror="none"))[0].score == pytest.approx(0.9)


def test_peak_weight_combines_the_heatmap_peak(detector):
    rules = PLAIN.replace(peak_weight=0.2)
    probabilities = outputs([0.9, 0.0, 0.0, 0.1], [0.9, 0.0, 0.0, 0.1])
    kept = detector.decide(
        [candidate(100, 100, peak=0.6), candidate(300, 300, peak=0.02)], probabilities, rules
    )
    # Kept on 0.9 ** 0.8 * 0.6 ** 0.2 = 0.83 (dropped on 0.9 ** 0.8 * 0.02 ** 0.2 = 0.42); the
    # score stays the classifier's.
    assert len(kept) == 1
    assert kept[0].score == pytest.approx(0.9)
    assert kept[0].box.center_x == 100


def test_duplicates_suppressed_within_and_across_classes(detector):
    whole = candidate(200, 200, size=100)
    part = candidate(180, 180, size=30)
    same = outputs([0.9, 0.0, 0.0, 0.1], [0.8, 0.0, 0.0, 0.2])
    assert len(detector.decide([whole, part], same, PLAIN)) == 1
    other = outputs([0.9, 0.0, 0.0, 0.1], [0.0, 0.8, 0.0, 0.2])
    assert len(detector.decide([whole, part], other, PLAIN)) == 2
    cross = PLAIN.replace(cross_class_containment=True)
    assert [d.class_name for d in detector.decide([whole, part], other, cross)] == ["cube"]


def test_containment_over_the_smaller_box_drops_a_worse_whole(detector):
    whole = candidate(200, 200, size=100)
    part = candidate(190, 190, size=50)
    better_part = outputs([0.7, 0.0, 0.0, 0.3], [0.9, 0.0, 0.0, 0.1])
    assert len(detector.decide([whole, part], better_part, PLAIN)) == 2
    smaller = PLAIN.replace(containment_smaller=True)
    kept = detector.decide([whole, part], better_part, smaller)
    assert [(d.box.width, round(d.score, 2)) for d in kept] == [(50, 0.9)]


@pytest.mark.parametrize(
    "changes",
    [{"mirror": "both"}, {"score_threshold": 1.5}, {"containment": 0.0}, {"peak_weight": -0.1}],
)
def test_invalid_rules_raise(changes):
    with pytest.raises(ModelError):
        PLAIN.replace(**changes)


def test_class_file_thresholds_must_name_known_classes(tmp_path):
    models = HeatmapDetector(DetectorConfig()).class_path.parent
    data = yaml.safe_load((models / "scene_objects.yaml").read_text())
    data["score_thresholds"] = {"cube": 0.6, "banana": 0.5}
    bad = tmp_path / "scene_objects.yaml"
    bad.write_text(yaml.safe_dump(data))
    (tmp_path / "scene_objects_classifier.onnx").symlink_to(
        models / "scene_objects_classifier.onnx"
    )
    with pytest.raises(ModelError, match="banana"):
        HeatmapDetector(DetectorConfig(class_names=str(bad)))
