"""Live imitation: one tracked person's skeletons, as they arrive -> chunks of motion for the retargeter.

    imitation = LiveImitation(chunk_seconds=1.0)
    imitation.add(t, joints)                    # every skeleton of the body: capture time (s), (22, 3) SMPL-22, Y up
    while (chunk := imitation.next_chunk()) is not None:
        motion = chunk.played(retargeter.retarget(chunk.joints, chunk.fps))   # the window retargeted, cut back
        if chunk.continues:                       # (and the previous chunk was planned)
            plan = continue_trajectory(motion, robot, last_sent, not_yet_sent)
        else:
            plan = command_trajectory(motion, robot, last_sent, keep_time=True)

Used by the retargeter ROS node (parameter `imitate`). ROS-free; no model, no robot here.

- **Chunks.** Capture time is cut into consecutive chunks of `chunk_seconds` (default 1 s), counted from
  the first skeleton of the timeline, on a 20 fps grid. Chunk k covers frames k*n .. (k+1)*n (n =
  chunk_seconds * 20): each chunk starts on the frame the previous one ended on, so played one after the
  other they are one contiguous motion. Time is the data's, not the wall clock's: a recording gives the
  same chunks at any processing speed.
- **Context and lookahead.** A chunk is handed over with `context_seconds` (0.5) of the motion before it and
  `lookahead_seconds` (0.25) after it: the retargeter detects foot contacts and places the floor on the whole
  window, so the decisions at a chunk's ends are made on the motion around them, as in the neighbouring
  chunks. Retargeted alone, consecutive 1 s chunks of a walk disagree at their joins by up to 0.56 rad (a
  foot that touches down at the very end of one chunk is a contact only in the next): fading that out over
  0.2 s (playback.continue_trajectory) would be a visible jerk. With the defaults the largest disagreement
  on the same walk is 0.07 rad (tests/test_imitation.py). `ImitationChunk.played` cuts the retargeted
  window back to the chunk.
- **When.** A chunk is due once a skeleton at or after the end of its lookahead has arrived; `next_chunk()`
  returns the due chunks in order (call it until None). The resampling is linear between skeletons.
- **Timelines.** A skeleton earlier than the last one (a looping recording, a restarted source) or more than
  `max_gap` (0.5 s) after it (a lost track) starts a new timeline: what was not yet handed over is dropped,
  and the next chunk comes `chunk_seconds + lookahead_seconds` after the new first skeleton. `reset()` does
  the same explicitly (another body to follow).

Bad skeletons (wrong shape, NaN or infinite values, a non-finite time) raise `MotionFormatError` and change
nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.motion.skeleton import FPS
from motionllm.motion.window import PersonWindow, check_skeleton
from motionllm.retargeting.motion import RobotMotion

CHUNK_SECONDS = 1.0
CONTEXT_SECONDS = 0.5
LOOKAHEAD_SECONDS = 0.25
MAX_GAP = 0.5
# A player (the retargeter node) appends a chunk to the plan it continues unless more than this is still to be
# played of that plan: the robot has fallen behind (a long lead-in), and it rejoins the body on time instead.
MAX_BACKLOG_SECONDS = 0.5
CHUNK_RANGE = (0.25, 5.0)  # at least 5 frames at 20 fps; beyond 5 s a robot lags too far behind
CONTEXT_RANGE = (0.0, 5.0)
LOOKAHEAD_RANGE = (0.0, 2.0)
MAX_GAP_RANGE = (0.05, 5.0)


@dataclass(frozen=True)
class ImitationChunk:
    joints: np.ndarray  # (N, 22, 3) float32 at `fps`: context, the chunk, lookahead
    fps: float
    start: float  # capture time (s) of the chunk's first frame
    end: float  # capture time (s) of its last frame (the next chunk's first)
    window_start: float  # capture time of joints[0]
    window_end: float  # capture time of joints[-1]
    newest: float  # capture time of the newest skeleton when the chunk was cut (>= window_end)
    index: int  # chunks before this one on its timeline (0: the first after a start or a reset)
    timeline: int  # which timeline (1 for the first; each restart or reset starts the next)

    @property
    def continues(self) -> bool:
        """Starts where the previous chunk ended (same timeline)."""
        return self.index > 0

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def played(self, motion: RobotMotion) -> RobotMotion:
        """The part of `motion` (the retargeted window, at its control rate, from window_start) that is the chunk,
        times from 0."""
        rate = motion.control_rate
        first = int(round((self.start - self.window_start) * rate))
        count = int(round(self.seconds * rate)) + 1
        if first + count > len(motion):
            raise MotionLLMError(f"the retargeted window has {len(motion)} control frames; the chunk needs frames "
                                 f"{first}..{first + count - 1}")
        return motion.part(first, first + count)


def checked_skeleton(window: PersonWindow, t: float, joints: np.ndarray, max_gap: float
                     ) -> tuple[float, np.ndarray, bool]:
    """A live skeleton checked (MotionFormatError if malformed or its time is not finite), and whether it starts
    a new timeline: earlier than the newest in `window` (a looping recording, a restarted source) or more than
    `max_gap` after it (a lost track)."""
    joints = check_skeleton(joints)
    if not np.isfinite(t):
        raise MotionFormatError(f"skeleton: capture time must be finite, got {t}")
    t = float(t)
    return t, joints, bool(window.times) and (t < window.last or t - window.last > max_gap)


def _check_range(name: str, value: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    if not (np.isfinite(value) and low <= value <= high):
        raise MotionLLMError(f"{name} must be in {low:g}..{high:g}, got {value}")
    return float(value)


class LiveImitation:
    """Chunks of one body's motion, cut on its capture times. Not thread-safe: one caller (the node's executor)."""

    def __init__(self, chunk_seconds: float = CHUNK_SECONDS, context_seconds: float = CONTEXT_SECONDS,
                 lookahead_seconds: float = LOOKAHEAD_SECONDS, max_gap: float = MAX_GAP, fps: float = FPS) -> None:
        _check_range("chunk_seconds", chunk_seconds, CHUNK_RANGE)
        _check_range("context_seconds", context_seconds, CONTEXT_RANGE)
        _check_range("lookahead_seconds", lookahead_seconds, LOOKAHEAD_RANGE)
        self.max_gap = _check_range("max_gap", max_gap, MAX_GAP_RANGE)
        if not (np.isfinite(fps) and fps > 0):
            raise MotionLLMError(f"fps must be positive, got {fps}")
        self.fps = float(fps)
        # Everything on the fps grid, in frames: chunks, context and lookahead are whole frames.
        self.chunk_frames = max(int(round(chunk_seconds * fps)), 1)
        self.context_frames = int(round(context_seconds * fps))
        self.lookahead_frames = int(round(lookahead_seconds * fps))
        window_seconds = (self.context_frames + self.chunk_frames + self.lookahead_frames) / fps
        self.window = PersonWindow(keep_seconds=window_seconds + max_gap + 1.0)
        self._origin: float | None = None  # capture time of the timeline's first skeleton (frame 0)
        self._next = 0  # the next chunk to hand over
        self.timeline = 0  # the current timeline's number (0: none started yet)
        self.skeletons = 0  # accepted
        self.chunks = 0  # handed over
        self.restarts = 0  # timelines started again because time went back or a gap was too long

    @property
    def chunk_seconds(self) -> float:
        return self.chunk_frames / self.fps

    @property
    def started(self) -> bool:
        return self._origin is not None

    def add(self, t: float, joints: np.ndarray) -> None:
        """A skeleton captured at `t` s. Raises MotionFormatError for a malformed one (nothing changes)."""
        t, joints, restart = checked_skeleton(self.window, t, joints, self.max_gap)
        if restart:
            self.reset()
            self.restarts += 1
        if self._origin is None:
            self._origin = t
            self.timeline += 1
        self.window.add(t, joints)
        self.skeletons += 1

    def reset(self) -> None:
        """Forget the timeline: the next skeleton starts a new one."""
        self.window.clear()
        self._origin, self._next = None, 0

    def _time(self, frame: int) -> float:
        return self._origin + frame / self.fps

    def due(self) -> bool:
        """Whether next_chunk() has a chunk to hand over."""
        if self._origin is None or not self.window.times:
            return False
        cut = (self._next + 1) * self.chunk_frames + self.lookahead_frames
        return self.window.last >= self._time(cut) - 1e-6

    def next_chunk(self) -> ImitationChunk | None:
        """The next due chunk (in order), or None."""
        if not self.due():
            return None
        k = self._next
        first, last = k * self.chunk_frames, (k + 1) * self.chunk_frames
        window_first = max(first - self.context_frames, 0)
        window_last = last + self.lookahead_frames
        joints, _ = self.window.resample(self._origin + np.arange(window_first, window_last + 1) / self.fps)
        self._next += 1
        self.chunks += 1
        return ImitationChunk(joints=joints, fps=self.fps, start=self._time(first), end=self._time(last),
                              window_start=self._time(window_first), window_end=self._time(window_last),
                              newest=self.window.last, index=k, timeline=self.timeline)
