"""Swappable sources of raw tactile frames, chosen by name through one registry."""
