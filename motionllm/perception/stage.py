"""The pose stage: one RGB frame -> the tracked, smoothed SMPL-22 skeleton of every person in it.

    stage = PoseStage(make_estimator("blazepose"), Tracker(), SkeletonSmoother())
    bodies, ended = stage.process(rgb, t)     # t: capture time in seconds
    for body in bodies:
        body.id, body.joints, body.pose.keypoints

Used by the pose_estimator ROS node and by `motionllm pose`. Skeletons are in the world frame
(`motionllm.perception.root`: on the floor below the camera, Y up against gravity, each person where they
are in the room) unless the stage is made with `root=None`, which gives the per-image estimate as it was
before there was a root: pelvis at the origin, axes tilted with the camera.

A person whose root cannot be solved in a frame (RootError: a detection the pinhole puts behind the
camera) is left out of that frame and counted in `root_failures`; the track goes on. Errors of the
estimator (ImageError, InvalidLandmarksError) pass through; the tracks are then left as they
were. Frames must come in capture order: when time goes backwards every track ends (new ids) rather than
mixing timelines.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionllm.perception.pose import PersonPose, PoseEstimator
from motionllm.perception.root import RootError, RootEstimator
from motionllm.perception.smoothing import SkeletonSmoother
from motionllm.perception.tracking import Tracker

WORLD, BODY = "world", "body"  # the frames a TrackedBody's joints can be in


@dataclass(frozen=True)
class TrackedBody:
    id: int
    pose: PersonPose    # the estimate for this frame, unsmoothed (pose.joints: pelvis at the origin)
    joints: np.ndarray  # (22, 3) float32: the world-frame skeleton (or pose.joints), after the track's filter
    frame: str = WORLD  # "world" (rooted, gravity-aligned) or "body" (pose.joints: pelvis at the origin)


class PoseStage:
    def __init__(self, estimator: PoseEstimator, tracker: Tracker | None = None,
                 smoother: SkeletonSmoother | None = None, root: RootEstimator | None | bool = True) -> None:
        """`smoother=None` publishes the raw estimates. `root`: True (default) a RootEstimator with the
        default camera (60 degree horizontal field of view, tilt and height estimated), or a configured one;
        None or False the old body frame (pelvis at the origin, camera-tilted axes)."""
        self.estimator = estimator
        self.tracker = tracker if tracker is not None else Tracker()
        self.smoother = smoother
        self.root = RootEstimator() if root is True else (root or None)
        self.last_t: float | None = None
        self.root_failures = 0  # people left out of a frame because their root could not be solved

    @property
    def frame(self) -> str:
        return BODY if self.root is None else WORLD

    def process(self, rgb: np.ndarray, t: float) -> tuple[list[TrackedBody], list[int]]:
        """(the bodies in the frame captured at `t` seconds; the ids of tracks that ended)."""
        people = self.estimator.estimate(rgb)
        restarted = []
        if self.last_t is not None and t < self.last_t:
            # Time went backwards (a looping recording, a restarted camera): old tracks and filter states
            # would mix two timelines, so every track ends and the people found now start new ones.
            restarted = self.tracker.end_all()
        self.last_t = t
        ids, ended = self.tracker.update(people, t)
        ended = restarted + ended
        height, width = rgb.shape[:2]
        bodies = []
        for track_id, person in zip(ids, people):
            if self.root is None:
                joints = person.joints
            else:
                try:
                    joints = self.root(person, width, height)
                except RootError:
                    # A detection the pinhole cannot place (behind the camera, no extent): that person is
                    # left out of this frame; the track goes on.
                    self.root_failures += 1
                    continue
            if self.smoother is not None:
                # The root is filtered with the joints: its depth, from the body's pixel size, jitters most.
                joints = self.smoother(track_id, joints, t).astype(np.float32)
            bodies.append(TrackedBody(track_id, person, joints, self.frame))
        if self.smoother is not None:
            self.smoother.forget(ended)
        return bodies, ended

    def close(self) -> None:
        self.estimator.close()
