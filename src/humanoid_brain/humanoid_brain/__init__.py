"""Task-level behaviour of the humanoid."""
