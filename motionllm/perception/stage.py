"""The pose stage: one RGB frame -> the tracked, smoothed SMPL-22 skeleton of every person in it.

    stage = PoseStage(make_estimator("blazepose"), Tracker(), SkeletonSmoother())
    bodies, ended = stage.process(rgb, t)     # t: capture time in seconds
    for body in bodies:
        body.id, body.joints, body.pose.keypoints

Used by the pose_estimator ROS node and by `motionllm pose`. Errors of the estimator (ImageError,
InvalidLandmarksError) pass through; the tracks are then left as they were. Frames must come in
capture order: when time goes backwards every track ends (new ids) rather than mixing timelines.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionllm.perception.pose import PersonPose, PoseEstimator
from motionllm.perception.smoothing import SkeletonSmoother
from motionllm.perception.tracking import Tracker


@dataclass(frozen=True)
class TrackedBody:
    id: int
    pose: PersonPose    # the estimate for this frame, unsmoothed
    joints: np.ndarray  # (22, 3) float32: pose.joints after the track's One-Euro filter (the same without one)


class PoseStage:
    def __init__(self, estimator: PoseEstimator, tracker: Tracker | None = None,
                 smoother: SkeletonSmoother | None = None) -> None:
        """`smoother=None` publishes the raw estimates."""
        self.estimator = estimator
        self.tracker = tracker if tracker is not None else Tracker()
        self.smoother = smoother
        self.last_t: float | None = None

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
        bodies = []
        for track_id, person in zip(ids, people):
            joints = person.joints
            if self.smoother is not None:
                joints = self.smoother(track_id, joints, t).astype(np.float32)
            bodies.append(TrackedBody(track_id, person, joints))
        if self.smoother is not None:
            self.smoother.forget(ended)
        return bodies, ended

    def close(self) -> None:
        self.estimator.close()
