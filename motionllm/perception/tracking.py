"""Track ids: the same id for the same person from frame to frame, for any number of people (0..N).

Each frame's people are matched to the live tracks by where they are in the image: the distance between
the centres of their 2D keypoint boxes, divided by the larger box diagonal. The optimal one-to-one
assignment (Hungarian algorithm) is taken, and a pair further apart than `max_jump` box diagonals is no
match. A person with no match starts a new track; a track that has matched nobody for more than
`timeout_s` seconds ends, so a person who comes back after that gets a new id. Ids are positive integers,
increasing, never reused by a tracker.

Image positions, not 3D ones: monocular world landmarks are centred on each person's own hips, so they
say nothing about where people are.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from motionllm.perception.pose import PersonPose

TIMEOUT_S = 1.0
MAX_JUMP = 0.5
CONFIDENT = 0.5  # keypoints below this confidence do not count for a person's box, if enough others do


@dataclass
class Track:
    id: int
    center: np.ndarray   # (2,) box centre, pixels
    diagonal: float      # box diagonal, pixels
    first_seen: float    # seconds
    last_seen: float
    hits: int = 1


def keypoint_box(keypoints: np.ndarray, confidences: np.ndarray) -> tuple[np.ndarray, float]:
    """(centre (2,), diagonal) of the box around a person's confident keypoints (all of them when fewer than 3)."""
    confident = confidences >= CONFIDENT
    points = keypoints[confident] if confident.sum() >= 3 else keypoints
    low, high = points.min(axis=0), points.max(axis=0)
    return (low + high) / 2.0, float(max(np.linalg.norm(high - low), 1.0))


class Tracker:
    def __init__(self, timeout_s: float = TIMEOUT_S, max_jump: float = MAX_JUMP) -> None:
        if not (timeout_s >= 0 and max_jump > 0):
            raise ValueError(f"tracker needs timeout_s >= 0 and max_jump > 0, got {timeout_s}, {max_jump}")
        self.timeout_s, self.max_jump = timeout_s, max_jump
        self.tracks: dict[int, Track] = {}
        self._last_id = 0

    @property
    def active_ids(self) -> list[int]:
        return sorted(self.tracks)

    def expire(self, t: float) -> list[int]:
        """End the tracks unseen for more than timeout_s at time `t`; return their ids."""
        ended = [i for i, track in self.tracks.items() if t - track.last_seen > self.timeout_s]
        for track_id in ended:
            del self.tracks[track_id]
        return ended

    def end_all(self) -> list[int]:
        """End every track (e.g. when time jumps backwards); return their ids. New ids keep increasing."""
        ended = sorted(self.tracks)
        self.tracks.clear()
        return ended

    def update(self, people: Sequence[PersonPose], t: float) -> tuple[list[int], list[int]]:
        """Assign ids to one frame's `people` seen at time `t` (seconds, increasing).

        Returns (the id of each person, in order; the ids of tracks that ended).
        """
        ended = self.expire(t)
        boxes = [keypoint_box(p.keypoints, p.confidences) for p in people]
        track_list = list(self.tracks.values())
        ids: list[int | None] = [None] * len(people)
        if boxes and track_list:
            cost = np.array([[np.linalg.norm(center - track.center) / max(diagonal, track.diagonal)
                              for track in track_list] for center, diagonal in boxes])
            for person, k in zip(*linear_sum_assignment(cost)):
                if cost[person, k] <= self.max_jump:
                    ids[person] = track_list[k].id
        for person, (center, diagonal) in enumerate(boxes):
            if ids[person] is None:
                self._last_id += 1
                ids[person] = self._last_id
                self.tracks[self._last_id] = Track(self._last_id, center, diagonal, t, t, hits=0)
            track = self.tracks[ids[person]]
            track.center, track.diagonal, track.last_seen = center, diagonal, t
            track.hits += 1
        return ids, ended
