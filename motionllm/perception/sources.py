"""Frame sources: a video file, a webcam or a folder of images, each read as RGB frames with capture stamps.

Every source is read the same way:

    with open_source("clip.mp4", loop=True) as source:
        while (frame := source.read()) is not None:   # None: the source is exhausted
            frame.rgb, frame.stamp_ns                    # (H, W, 3) uint8, capture time

or simply `for rgb, stamp_ns in source: ...` (iteration stops at the end, or at the first frame that
cannot be read; `read()` lets a caller skip a bad frame and go on).

- The stamp is the capture time: wall-clock nanoseconds since the Unix epoch (`time.time_ns()`, the same
  clock as ROS system time), taken when the frame is handed out, after any pacing wait.
- Pacing: a video file plays at its own frame rate (`fps=NATIVE`), at a fixed rate (`fps=25.0`) or as
  fast as frames can be decoded (`fps=None`). A webcam paces itself. A source that falls more than
  `MAX_LAG_S` behind its schedule starts a new schedule rather than bursting to catch up.
- `width`/`height` resize every frame; 0 keeps that side, or follows the other one's scaling (aspect
  ratio kept) when only one is given. When both are given the image is scaled to fit inside and padded
  with black bars (letterboxed), unless `keep_aspect=False` stretches it: a pose estimator needs square
  pixels, a stretched person has the wrong proportions.

Errors are `FrameSourceError` (a MotionLLMError) with a one-line reason: missing file, a file that is
not a video, an empty folder, an unreadable image, a webcam that cannot be opened.
"""
from __future__ import annotations

import re
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from motionllm.errors import MotionLLMError

NATIVE = "native"  # fps=NATIVE: pace a video at the rate stored in the file
FOLDER_FPS = 30.0  # an image folder stores no rate: its "native" rate
MAX_LAG_S = 1.0
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
WEBCAM_SPEC = re.compile(r"^(?:webcam:)?(\d+)$|^(/dev/video\d+)$")


class FrameSourceError(MotionLLMError):
    """A frame source cannot be opened, or one of its frames cannot be read."""


class Frame(NamedTuple):
    rgb: np.ndarray  # (H, W, 3) uint8, RGB
    stamp_ns: int    # capture time, ns since the Unix epoch


def output_size(width: int, height: int, target_width: int = 0, target_height: int = 0) -> tuple[int, int]:
    """The (width, height) a frame of `width` x `height` is resized to; 0 = keep / follow the other side."""
    if target_width < 0 or target_height < 0:
        raise FrameSourceError(f"resize size must not be negative, got {target_width}x{target_height}")
    if target_width and target_height:
        return target_width, target_height
    if target_width:
        return target_width, max(1, round(height * target_width / width))
    if target_height:
        return max(1, round(width * target_height / height)), target_height
    return width, height


def resize(rgb: np.ndarray, target_width: int = 0, target_height: int = 0, keep_aspect: bool = True) -> np.ndarray:
    """`rgb` at the size `output_size` gives; letterboxed (centred, black bars) when both sides are given
    and `keep_aspect`."""
    import cv2

    height, width = rgb.shape[:2]
    size = output_size(width, height, target_width, target_height)
    if size == (width, height):
        return rgb
    inner = size
    if keep_aspect and target_width and target_height:
        scale = min(target_width / width, target_height / height)
        inner = (min(target_width, max(1, round(width * scale))), min(target_height, max(1, round(height * scale))))
    # INTER_AREA for shrinking (no aliasing), linear for enlarging.
    shrinking = inner[0] * inner[1] < width * height
    scaled = cv2.resize(rgb, inner, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    if inner == size:
        return scaled
    out = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    top, left = (size[1] - inner[1]) // 2, (size[0] - inner[0]) // 2
    out[top:top + inner[1], left:left + inner[0]] = scaled
    return out


class FrameSource(ABC):
    """Base of every source: pacing, stamping and resizing around `_grab()`, which subclasses define."""

    description = "frame source"

    def __init__(self, fps: float | None = None, width: int = 0, height: int = 0, keep_aspect: bool = True) -> None:
        if fps is not None and not fps > 0:
            raise FrameSourceError(f"{self.description}: fps must be positive, got {fps}")
        output_size(1, 1, width, height)  # validates the sizes
        self.fps = fps          # pacing rate in Hz; None: no pacing
        self.width, self.height, self.keep_aspect = width, height, keep_aspect
        self.frames_read = 0
        self._schedule_start: float | None = None
        self._interrupted = threading.Event()

    @abstractmethod
    def _grab(self) -> np.ndarray | None:
        """The next frame as RGB uint8 (H, W, 3), or None when the source is exhausted."""

    def read(self) -> Frame | None:
        """The next frame, paced and stamped; None when the source is exhausted.

        Raises FrameSourceError for a frame that cannot be read; the next call reads the frame after it.
        """
        if self._interrupted.is_set():
            return None
        rgb = self._grab()
        if rgb is None:
            return None
        self._wait_for_slot()
        if self._interrupted.is_set():
            return None
        stamp_ns = time.time_ns()
        self.frames_read += 1
        return Frame(resize(rgb, self.width, self.height, self.keep_aspect), stamp_ns)

    def _wait_for_slot(self) -> None:
        """Sleep until this frame is due at `fps`; restart the schedule when far behind it."""
        if self.fps is None:
            return
        now = time.monotonic()
        if self._schedule_start is None:
            self._schedule_start, self._scheduled = now, 0
            return
        self._scheduled += 1
        due = self._schedule_start + self._scheduled / self.fps
        if now - due > MAX_LAG_S:
            self._schedule_start, self._scheduled = now, 0
        elif due > now:
            self._interrupted.wait(due - now)

    def interrupt(self) -> None:
        """From another thread: end the source; a `read()` waiting for its slot returns None at once."""
        self._interrupted.set()

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"


class VideoFileSource(FrameSource):
    """A video file decoded with OpenCV (FFmpeg), optionally looping."""

    def __init__(self, path: str | Path, loop: bool = False, fps: float | str | None = NATIVE,
                 width: int = 0, height: int = 0, keep_aspect: bool = True) -> None:
        import cv2

        path = Path(path)
        self.description = str(path)
        if not path.is_file():
            raise FrameSourceError(f"{path}: no such video file")
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            raise FrameSourceError(f"{path}: cannot open as a video")
        stored_fps = self._capture.get(cv2.CAP_PROP_FPS)
        # Some containers store no rate (0 or NaN): fall back to a common camera rate.
        self.native_fps = float(stored_fps) if np.isfinite(stored_fps) and stored_fps > 0 else 30.0
        self.frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.loop = loop
        self.loops = 0  # how many times the file was rewound
        try:
            super().__init__(self.native_fps if fps == NATIVE else fps, width, height, keep_aspect)
            if self._decode() is None:
                raise FrameSourceError(f"{path}: the video has no readable frames")
        except FrameSourceError:
            self._capture.release()
            raise
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def _decode(self) -> np.ndarray | None:
        import cv2

        ok, bgr = self._capture.read()
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if ok else None

    def _grab(self) -> np.ndarray | None:
        import cv2

        rgb = self._decode()
        if rgb is None and self.loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self.loops += 1
            rgb = self._decode()
        return rgb

    def close(self) -> None:
        self._capture.release()


class WebcamSource(FrameSource):
    """A camera device through OpenCV: an index (0 = the first camera) or a /dev/videoN path."""

    def __init__(self, device: int | str = 0, width: int = 0, height: int = 0, keep_aspect: bool = True) -> None:
        import cv2

        self.description = f"webcam {device}"
        self._capture = cv2.VideoCapture(device)
        if not self._capture.isOpened():
            self._capture.release()
            raise FrameSourceError(f"cannot open webcam {device} (no such device, or it is busy)")
        rate = self._capture.get(cv2.CAP_PROP_FPS)
        self.native_fps = float(rate) if np.isfinite(rate) and rate > 0 else None
        try:
            super().__init__(None, width, height, keep_aspect)  # the device delivers frames at its own rate
        except FrameSourceError:
            self._capture.release()
            raise

    def _grab(self) -> np.ndarray:
        import cv2

        ok, bgr = self._capture.read()
        if not ok:
            raise FrameSourceError(f"{self.description} delivered no frame (unplugged?)")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()


class ImageFolderSource(FrameSource):
    """The images of a folder in name order (PNG, JPEG, BMP, TIFF, WebP, PPM/PGM), optionally looping."""

    def __init__(self, folder: str | Path, loop: bool = False, fps: float | str | None = NATIVE,
                 width: int = 0, height: int = 0, keep_aspect: bool = True) -> None:
        folder = Path(folder)
        self.description = str(folder)
        if not folder.is_dir():
            raise FrameSourceError(f"{folder}: no such folder")
        self.paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self.paths:
            raise FrameSourceError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
        self.loop = loop
        self._next = 0
        super().__init__(FOLDER_FPS if fps == NATIVE else fps, width, height, keep_aspect)

    def _grab(self) -> np.ndarray | None:
        import cv2

        if self._next >= len(self.paths):
            if not self.loop:
                return None
            self._next = 0
        path = self.paths[self._next]
        self._next += 1
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)  # 8-bit, 3 channels, whatever the file holds
        if bgr is None:
            raise FrameSourceError(f"{path.name}: not a readable image")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def open_source(spec: str | int, loop: bool = False, fps: float | str | None = NATIVE,
                width: int = 0, height: int = 0, keep_aspect: bool = True) -> FrameSource:
    """A source from a spec: a webcam ("0", "webcam:1", "/dev/video2"), an image folder or a video file.

    `loop` and `fps` apply to files and folders (a folder's native rate is FOLDER_FPS).
    """
    spec = str(spec).strip()
    if not spec:
        raise FrameSourceError("no source given: a video file, an image folder or a webcam (0, /dev/video0)")
    webcam = WEBCAM_SPEC.match(spec)
    if webcam:
        index, device = webcam.groups()
        return WebcamSource(int(index) if index is not None else device, width, height, keep_aspect)
    if Path(spec).is_dir():
        return ImageFolderSource(spec, loop, fps, width, height, keep_aspect)
    return VideoFileSource(spec, loop, fps, width, height, keep_aspect)
