"""Make this directory's helper modules (hand_plant.py) importable by its tests."""

import sys
from pathlib import Path

TEST_DIRECTORY = str(Path(__file__).resolve().parent)
if TEST_DIRECTORY not in sys.path:
    sys.path.insert(0, TEST_DIRECTORY)
