"""Tactile skin driver: turns raw taxel readings into calibrated pressures and forces."""
