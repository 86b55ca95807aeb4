"""``ros2 run humanoid_bag info DIR``: what a bag holds (like ``ros2 bag info``), no ROS graph."""

from __future__ import annotations

import argparse
import sys

from humanoid_bag.errors import HumanoidBagError
from humanoid_bag.storage import BagReader


def describe(path: str) -> str:
    """A multi-line summary: duration, message count, and per topic type, count and QoS."""
    with BagReader(path) as bag:
        span_s = (bag.end_ns - bag.start_ns) / 1e9 if bag.message_count else 0.0
        lines = [
            f"bag:       {bag.path}",
            f"distro:    {bag.ros_distro or '?'}",
            f"messages:  {bag.message_count}",
            f"duration:  {span_s:.3f} s",
            f"start:     {bag.start_ns / 1e9:.9f} s" if bag.message_count else "start:     -",
            "topics:",
        ]
        for name, topic in sorted(bag.topics.items()):
            qos = sorted({f"{p.reliability}/{p.durability}" for p in topic.offered_qos})
            lines.append(
                f"  {name:40s} {topic.msgtype:40s} {topic.message_count:8d}  "
                f"{', '.join(qos) or 'no QoS recorded'}"
            )
    return "\n".join(lines)


def main(args: list[str] | None = None) -> int:
    """Console script ``info``."""
    parser = argparse.ArgumentParser(prog="ros2 run humanoid_bag info")
    parser.add_argument("bag", help="bag directory or .mcap/.db3 file")
    options = parser.parse_args((args if args is not None else sys.argv)[1:])
    try:
        print(describe(options.bag))
    except HumanoidBagError as error:
        print(f"info: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
