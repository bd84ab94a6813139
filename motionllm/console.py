"""What our commands and nodes print, in one place.

- Progress bars (`progress_bar`) only on a terminal: a log file or a pipe gets no 13 KB of carriage returns.
- The start-up noise of libraries we load is silenced (`quiet_libraries`): TensorFlow Lite / MediaPipe's
  glog and absl lines, OpenCV's and FFmpeg's, protobuf's deprecation warnings, Hugging Face's weight-loading
  progress bars and its advice. What they report that matters reaches us as exceptions.
- What C++ libraries print straight to the terminal at start-up is dropped (`native_stderr_silenced`).
- Log lines are bounded (`bounded`): a caption or a bad message cannot make a 5,000-character line.
"""
from __future__ import annotations

import contextlib
import os
import sys
import warnings

MAX_LINE_CHARS = 300


def on_terminal(stream=None) -> bool:
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a file
        return False


def progress_bar(iterable=None, enabled: bool = True, **options):
    """tqdm, shown only when `enabled` and stderr is a terminal."""
    from tqdm import tqdm

    return tqdm(iterable, disable=not (enabled and on_terminal()), **options)


def quiet_libraries() -> None:
    """Silence the start-up noise of MediaPipe (TensorFlow Lite, glog, absl), protobuf and Hugging Face.
    Safe to call more than once; call it before those libraries are imported (their C++ logging reads the
    environment once)."""
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ INFO/WARNING lines
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow Lite's
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own lines ("moov atom not found"): quiet
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local; never reach for a hub
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore", module=r"google\.protobuf.*")
    warnings.filterwarnings("ignore", message=r".*SymbolDatabase\.GetPrototype\(\) is deprecated.*")
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass
    if "transformers" in sys.modules:  # already imported: its environment variables were read
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()


@contextlib.contextmanager
def native_stderr_silenced(enabled: bool = True):
    """Silence what C++ libraries write straight to file descriptor 2 inside the block (MediaPipe's TensorFlow
    Lite and absl start-up lines ignore every logging setting). Python exceptions still propagate; keep the
    block short, as anything else written to stderr meanwhile is lost. enabled=False: a block like any other."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def warn(message: str) -> None:
    """A warning for the user, one line on stderr (a Python warning would print its source line too)."""
    print(f"warning: {bounded(message)}", file=sys.stderr)


def bounded(text: object, limit: int = MAX_LINE_CHARS) -> str:
    """One line of at most `limit` characters: newlines folded, the middle elided."""
    line = " ".join(str(text).split())
    if len(line) <= limit:
        return line
    keep = limit - 5
    return f"{line[: keep - keep // 3]} ... {line[-(keep // 3):]}"
