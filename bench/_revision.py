"""Helper of the benches' ``--compare REF``: a package as at a git revision, run alternately with
the working tree in child processes (so that a change of the machine's load hits both alike).

The package's sources at ``REF`` are extracted with ``git archive`` into a temporary directory
that the child imports first (``PYTHONPATH``); nothing of the old code is kept or committed.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def alternate_runs(
    ref: str, package: str, script: str, arguments: list[str], rounds: int
) -> dict[str, list]:
    """Run ``script arguments --dump FILE`` ``rounds`` times with ``src/<package>`` as at
    ``ref`` ("ref") and as in the working tree ("new"), alternated. Each child prints a final
    JSON line and dumps its commands to FILE (.npy); returns name -> [(summary, commands)]."""
    with tempfile.TemporaryDirectory(prefix=f"{package}_at_ref_") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, f"src/{package}"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        results: dict[str, list] = {"ref": [], "new": []}
        for name, path in (("ref", pathlib.Path(tmp) / "src" / package), ("new", None)) * rounds:
            env = dict(os.environ)
            if path is not None:
                env["PYTHONPATH"] = f"{path}{os.pathsep}{env.get('PYTHONPATH', '')}"
            dump = os.path.join(tmp, f"{name}.npy")
            run = subprocess.run(
                [sys.executable, script, *arguments, "--dump", dump],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            summary = json.loads(run.stdout.strip().splitlines()[-1])
            results[name].append((summary, np.load(dump)))
    return results
