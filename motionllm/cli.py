"""The `motionllm` command. Each subcommand lives beside the code it drives and registers itself here.

A command module defines `add_parser(subparsers)`, which adds its parser and sets `func=run`, where
`run(args) -> int` returns the exit code. Modules keep heavy imports (torch, mediapipe, rclpy) inside
`run`, so `motionllm --help` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from motionllm import __version__
from motionllm.console import quiet_libraries
from motionllm.errors import MotionLLMError

# Order is the order shown by --help.
COMMAND_MODULES = (
    "motionllm.motion.convert",
    "motionllm.motion.render",
    "motionllm.corpus.cli",
    "motionllm.realdata.cli",
    "motionllm.retargeting.cli",
    "motionllm.perception.cli",
    "motionllm.perception.describe_cli",
    "motionllm.models.cli",
    "motionllm.models.llm_cli",
    "motionllm.ros_cli",
    "motionllm.replay.cli",
    "motionllm.quickstart",
)


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (pointing to --help) rather than the usage block first."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="motionllm",
        description="Motion-language tools for robots: motion data, models, retargeting, ROS 2 bring-up.",
    )
    parser.add_argument("--version", action="version", version=f"motionllm {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=OneLineParser)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_libraries()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MotionLLMError as exc:
        print(f"motionllm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a disk that fills up, a file that vanishes: one line, as for bad input
        where = f": {exc.filename}" if exc.filename else ""
        print(f"motionllm {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"motionllm {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
