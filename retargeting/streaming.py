"""`StreamingRetargeter`: one body's skeletons as they arrive -> the robot's next control frames, at once.

    stream = StreamingRetargeter(Retargeter("g1"))
    motion = stream.add(t, joints)   # capture time (s), (22, 3) SMPL-22, Y up -> a RobotMotion of the control
                                     # frames up to t not given before (None: none yet); times: capture seconds

Live imitation (the retargeter node's imitation_mode `stream`, its default) needs the robot a control period
behind the person, not a chunk. The IK is the clips' (`Retargeter.solve_frame`: warm-started frame to frame,
the same tasks and constraints, joint steps within the velocity limits); the targets are made from the past
only, with state where the clip path looks at the whole clip (keypoints.py):

- Calibration: body scale, limb scales and standing ankle height come from the timeline's first
  CALIBRATION_SECONDS (nothing is given before that), then stay, so the targets do not breathe.
- Contacts: low and slow over the last HISTORY_SECONDS; a contact counts once it has lasted the profile's
  min_duration (the foot was slow meanwhile); while no contact counts, the lowest foot that is low stands
  for one. A foot in contact is pinned where its contact began and let go over BLEND_SECONDS after
  lift-off. Its stance costs ease out over BLEND_SECONDS after lift-off as for clips; its flat-foot
  (orientation) costs ease in over STANCE_EASE_IN after touch-down (clips ease in before it, which a stream
  has not seen yet; switched on at once they snapped the hip yaw: 7.6 frames per 1000 over 10 rad/s on
  LaFAN1), its position cost rises at once (eased, the foot slid 0.4 cm). Foot headings are low-passed
  (exponential, HEADING_TAU).
- No foot on the ground (no contact and no ankle low: a jump; a running stride's flight too) with
  capabilities.jump = adapt: the robot's feet stay down where they were, the body does not travel meanwhile
  (everything after moves back by the distance covered) and rises no higher than at take-off. The clip
  path turns the rise into a dip (squat-and-rise), which needs the landing a stream has not seen yet: a dip
  that ended when the person landed lifted the loaded foot 1.2 cm (0.8 without it). Each flight is stated in `adaptations`
  once it has landed.
- A robot that may not walk keeps its pelvis over where the calibration found it (upper body only: the legs
  as they were then too).
- Approach: a timeline starts from the robot's configuration (`reset(q)`: where it was last commanded; at
  first the reference posture), and the IK's joint speed limit rises geometrically from `approach_speed`
  to the full limit over APPROACH_SECONDS (for a 29 rad/s joint: 2.3 rad/s after 0.5 s, 5.4 after 1 s):
  the robot moves to the person gently, instead of a lead-in the person would have walked away from.
- Every frame given is within the URDF limits (the IK's own bounds, and a clamp from the frame before for
  rounding, which sets `last_repaired`: the node refuses such frames rather than send them altered).

Timelines: a skeleton earlier than the last one or more than `max_gap` after it starts a new one, as
`LiveImitation` does; `reset()` does that explicitly. Not thread-safe: one caller.
"""
from __future__ import annotations

import numpy as np

from motionllm.motion.skeleton import JOINT_INDEX
from motionllm.motion.window import PersonWindow
from motionllm.retargeting.imitation import MAX_GAP, checked_skeleton
from motionllm.retargeting.keypoints import (BLEND_SECONDS, FOOT_CHAINS, ORIENTED, body_targets, calibrate,
                                             detect_contacts, flat_frame, foot_heading, held_in_place, limb_directions)
from motionllm.retargeting.motion import RobotMotion
from motionllm.retargeting.retargeter import STANCE_EASE_IN, Retargeter
from motionllm.retargeting.robot import BASE_NQ
from motionllm.retargeting.safety import make_safe

CALIBRATION_SECONDS = 0.5
HISTORY_SECONDS = 1.0  # of motion the contact detection looks back over
HEADING_TAU = 0.15  # s; the clip path's Gaussian looks both ways, a causal filter only lags
APPROACH_SECONDS = 2.0
APPROACH_SPEED = 1.0  # rad/s, as a clip's lead-in (playback.DEFAULT_LEAD_IN_SPEED)
PELVIS = JOINT_INDEX["pelvis"]
FEET_JOINTS = [JOINT_INDEX[j] for chain in FOOT_CHAINS.values() for j in chain]


class StreamingRetargeter:
    def __init__(self, retargeter: Retargeter, approach_speed: float = APPROACH_SPEED, max_gap: float = MAX_GAP):
        self.retargeter = retargeter
        self.robot = retargeter.robot
        self.profile = self.robot.profile
        self.rate = float(self.robot.control_rate)
        self.approach_speed = float(approach_speed)
        self.max_gap = float(max_gap)
        self.window = PersonWindow(keep_seconds=max(HISTORY_SECONDS, CALIBRATION_SECONDS) + max_gap + 1.0)
        names = [k.human for k in self.profile.keypoints]
        self._ankles = [names.index(foot.ankle) for foot in self.profile.feet]
        self._blend = int(round(BLEND_SECONDS * self.rate))
        self._heading_alpha = 1.0 - np.exp(-1.0 / (self.rate * HEADING_TAU))
        self._history = int(round(HISTORY_SECONDS * self.rate))
        # stance weights (Retargeter.stance_weights) fall by this per frame after lift-off (over BLEND_SECONDS);
        # the orientation's rise by the other after touch-down (over STANCE_EASE_IN)
        self._stance_steps = (1.0 / (self._blend + 1), 1.0 / max(round(STANCE_EASE_IN * self.rate), 1))
        self._start_q = self.robot.reference_q.copy()  # where the robot is: the next timeline starts there
        self.timeline = 0  # the current timeline's number (0: none yet)
        self.restarts = 0  # timelines started again because time went back or a gap was too long
        self.last_repaired = False  # whether the last frames given needed the final clamp
        self.reset()

    def reset(self, q: np.ndarray | None = None) -> None:
        """Forget the timeline: the next skeleton starts a new one, from configuration `q` (nq,), where the robot
        is (default: the last frame given, or the reference posture before any)."""
        if q is not None:
            q = np.asarray(q, dtype=np.float64)
            if q.shape != (self.robot.nq,) or not np.all(np.isfinite(q)):
                raise ValueError(f"reset: expected a finite configuration of {self.robot.nq} values")
            self._start_q = q.copy()
        self.window.clear()
        self._origin: float | None = None  # capture time of the timeline's first skeleton
        self._first = self._next = 0  # the timeline's first control frame given, and the next one to give
        self._calibration = None
        self._reference: np.ndarray | None = None  # (22, 3) the calibration's most upright frame
        self._configuration = None
        feet = len(self._ankles)
        self._pins: list[np.ndarray | None] = [None] * feet  # where each foot in contact is held
        self._corrections = [np.zeros(3)] * feet  # pin - target at each foot's last contact frame
        self._released: list[int | None] = [None] * feet  # frames since lift-off, while it is let go
        self._headings: list[np.ndarray | None] = [None] * feet
        self._travel = np.zeros(3)  # human metres (x, z) taken out so far: the distances flown
        self._takeoff: tuple[np.ndarray, np.ndarray, float] | None = None  # pelvis, travel, time at take-off
        self._stance = np.zeros(feet)  # for the position costs
        self._flat = np.zeros(feet)  # for the orientation costs

    @property
    def calibrated(self) -> bool:
        return self._calibration is not None

    def add(self, t: float, joints: np.ndarray) -> RobotMotion | None:
        """A skeleton captured at `t` s -> the control frames up to t not given before (None: none yet).
        Raises MotionFormatError for a malformed skeleton (nothing changes)."""
        t, joints, restart = checked_skeleton(self.window, t, joints, self.max_gap)
        if restart:
            self.reset()
            self.restarts += 1
        if self._origin is None:
            self._origin = t
            self.timeline += 1
        self.window.add(t, joints)
        last = int(np.floor((t - self._origin) * self.rate + 1e-6))
        if self._calibration is None:
            if t - self._origin < CALIBRATION_SECONDS - 1e-9:
                return None
            self._calibrate(last)
        if last < self._next:
            return None
        return self._solve(np.arange(self._next, last + 1))

    # --- internals --------------------------------------------------------------------------------------

    def _human(self, frames: np.ndarray) -> np.ndarray:
        joints, _ = self.window.resample(self._origin + frames / self.rate)
        return joints.astype(np.float64)

    def _calibrate(self, last: int) -> None:
        human = self._human(np.arange(last + 1))
        self._calibration = calibrate(human, self.profile, self.robot.proportions)
        self._reference = human[int(np.argmax(human[:, PELVIS, 1]))]
        self._first = self._next = last  # the stream starts now; the calibration's past is not played
        self._configuration = self.retargeter.start(self._start_q)
        self.retargeter.step_limit.set_previous(self._start_q)  # the robot is there

    def _contacts(self, history: np.ndarray) -> np.ndarray:
        """(F,) whether each foot is in contact at the last frame of `history` (M, 22, 3), from the past only."""
        if self.profile.capabilities.in_place:
            return np.ones(len(self._ankles), dtype=bool)
        rest = self._calibration.rest_height
        return np.array([detect_contacts(history[:, JOINT_INDEX[foot.ankle]], self.rate, rest, self.profile.contact)[-1]
                         for foot in self.profile.feet], dtype=bool)

    def _adapt(self, human: np.ndarray, contact: np.ndarray, t: float, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """One frame (22, 3) as the robot may do it, and the contacts (F,) its feet keep."""
        capabilities = self.profile.capabilities
        if capabilities.in_place:
            return held_in_place(human[None], capabilities.upper_body_only, self._reference)[0], contact
        if capabilities.jump != "adapt" or not len(contact):
            return human - self._travel, contact
        pelvis = human[PELVIS]
        ankles = [JOINT_INDEX[foot.ankle] for foot in self.profile.feet]
        low = human[ankles, 1] - self._calibration.rest_height <= self.profile.contact.max_height
        # in the air: no contact and no foot low (a foot that has just come down is low before its contact
        # counts): held down where it took off, the travel taken out, the rise a dip
        if not contact.any() and (self._takeoff is not None or not low.any()):
            if self._takeoff is None:
                self._takeoff = (pelvis.copy(), self._travel.copy(), t)
            takeoff, travel, _ = self._takeoff
            self._travel = travel.copy()
            self._travel[[0, 2]] += pelvis[[0, 2]] - takeoff[[0, 2]]
            out = human - self._travel
            body = np.setdiff1d(np.arange(len(out)), FEET_JOINTS)
            out[body, 1] -= max(pelvis[1] - takeoff[1], 0.0)
            return out, np.ones_like(contact)
        if not contact.any():  # a foot has come down, its contact not counted yet: it is the one on the floor
            contact = contact.copy()
            contact[int(np.argmin(np.where(low, human[ankles, 1], np.inf)))] = True
        if self._takeoff is not None:
            notes.append(f"flight at {self._takeoff[2]:.2f}-{t:.2f} s: done in place, feet kept on the floor "
                         "(no flight phase)")
            self._takeoff = None
        return human - self._travel, contact

    def _solve(self, frames: np.ndarray) -> RobotMotion:
        rate, profile, retargeter = self.rate, self.profile, self.retargeter
        span = np.arange(max(frames[-1] - self._history, 0), frames[-1] + 1)
        history = self._human(span)
        times = self._origin + frames / rate
        notes: list[str] = []
        adapted, contacts = [], []
        for frame, t in zip(frames, times):
            row = frame - span[0]
            human, contact = self._adapt(history[row], self._contacts(history[:row + 1]), float(t), notes)
            adapted.append(human)
            contacts.append(contact)
        adapted, contacts = np.array(adapted), np.array(contacts).reshape(len(frames), len(self._ankles))
        positions, rotations = body_targets(adapted, profile, self.robot.proportions, self._calibration)
        directions = limb_directions(adapted, retargeter.driven_directions)
        full_speed = self.robot.ik_velocity_limit()
        q = np.empty((len(frames), self.robot.nq))
        for n, frame in enumerate(frames):
            self._feet(positions[n], rotations[n], contacts[n])
            fall, rise = self._stance_steps
            self._stance = np.where(contacts[n], 1.0, np.maximum(self._stance - fall, 0.0))
            self._flat = np.clip(np.where(contacts[n], self._flat + rise, self._flat - fall), 0.0, 1.0)
            position_costs, orientation_costs = retargeter.frame_costs(self._stance[None], self._flat[None])
            ramp = min((frame - self._first) / (APPROACH_SECONDS * rate), 1.0)  # geometric: slow at first
            retargeter.step_limit.max_velocity = np.minimum(
                full_speed, self.approach_speed * (np.maximum(full_speed / self.approach_speed, 1.0) ** ramp))
            q[n] = retargeter.solve_frame(self._configuration, positions[n], rotations[n], directions[n],
                                          position_costs[-1], orientation_costs[-1],
                                          np.where(contacts[n], np.inf, 0.0), first=frame == self._first)
        retargeter.step_limit.max_velocity = full_speed
        robot = self.robot
        angles, _, self.last_repaired = make_safe(np.vstack([self._start_q[None, BASE_NQ:], q[:, BASE_NQ:]]),
                                                  robot.lower, robot.upper, robot.velocity_limit, rate,
                                                  robot.joint_names)
        self._start_q = np.concatenate([q[-1, :BASE_NQ], angles[-1]])
        self._next = int(frames[-1]) + 1
        return RobotMotion(
            robot=robot.name, control_rate=rate, times=times, joint_names=robot.joint_names,
            joint_positions=angles[1:], root_pose=q[:, :BASE_NQ], foot_names=tuple(f.side for f in profile.feet),
            contacts=contacts, keypoint_frames=tuple(k.frame for k in profile.keypoints), keypoint_targets=positions,
            scale=self._calibration.scale, adaptations=tuple(notes))

    def _feet(self, positions: np.ndarray, rotations: np.ndarray, contact: np.ndarray) -> None:
        """Pin (or let go) each foot's target and low-pass its heading, in place, for one frame."""
        proportions = self.robot.proportions
        for f, (index, foot) in enumerate(zip(self._ankles, self.profile.feet)):
            if contact[f]:
                if self._pins[f] is None:
                    self._pins[f] = np.array([*positions[index, :2], proportions.ankle_heights[f]])
                    self._released[f] = None
                self._corrections[f] = self._pins[f] - positions[index]
                positions[index] = self._pins[f]
            else:
                if self._pins[f] is not None:
                    self._pins[f], self._released[f] = None, 0
                if self._released[f] is not None:
                    self._released[f] += 1
                    if self._released[f] > self._blend:
                        self._released[f] = None
                    else:
                        positions[index] += (1.0 - self._released[f] / (self._blend + 1)) * self._corrections[f]
            if foot.ankle in ORIENTED:
                rest = proportions.rest_rotations[index]
                heading = foot_heading(rotations[index][None], rest)[0]
                if self._headings[f] is not None:
                    heading = self._headings[f] + self._heading_alpha * (heading - self._headings[f])
                self._headings[f] = heading
                rotations[index] = flat_frame(heading[None])[0] @ rest
