"""Biped walking for the G1: pendulum models, and later footstep planning and control."""
