"""Randomised synthetic table-top scenes rendered with MuJoCo, with ground truth.

Training- and evaluation-time only (the detector's training script, ``bench/vision_accuracy.py``
and the tests that check the shipped model): it needs ``mujoco`` and ``humanoid_sim``, which the
vision node itself never imports.
"""
