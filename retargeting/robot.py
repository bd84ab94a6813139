"""`Robot`: a Pinocchio model of a humanoid (free-flyer base) together with its profile.

The robot's world is Z up, X forward, Y left (ROS REP 103), the ground is z = 0, and the robot
starts at the origin facing +X, the way the human starts facing +Z at the origin (keypoints.py).
Configurations q are Pinocchio's: base position (3), base quaternion (x, y, z, w), then one angle per
actuated joint, in `joint_names` order.
"""
from __future__ import annotations

import os
import sys
from functools import cached_property
from pathlib import Path

import numpy as np

from motionllm.retargeting.keypoints import Proportions
from motionllm.retargeting.profile import ProfileError, RobotProfile, load_profile

ERD_PREFIX = "example-robot-data:"
BASE_NQ = 7  # free-flyer coordinates at the front of q


def example_robot_data_dir() -> Path:
    """The `example-robot-data` share folder (URDFs and meshes), wherever its wheel or ROS put it."""
    candidates = []
    for entry in map(Path, sys.path):
        candidates.append(entry / "cmeel.prefix" / "share" / "example-robot-data")  # pip wheel (cmeel)
        if entry.name == "site-packages" and entry.parents[2].name == "cmeel.prefix":
            candidates.append(entry.parents[2] / "share" / "example-robot-data")
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) + [sys.prefix, "/opt/openrobots"]:
        if prefix:
            candidates.append(Path(prefix) / "share" / "example-robot-data")
    for candidate in candidates:
        if (candidate / "robots").is_dir():
            return candidate
    raise ProfileError("example-robot-data is not installed (pip install example-robot-data)")


def resolve_asset(spec: str, profile_path: Path | None) -> Path:
    """A profile's URDF/SRDF reference as a file path."""
    if spec.startswith(ERD_PREFIX):
        path = example_robot_data_dir() / spec[len(ERD_PREFIX):]
    else:
        path = Path(spec).expanduser()
        if not path.is_absolute() and profile_path is not None:
            path = profile_path.parent / path
    if not path.is_file():
        raise ProfileError(f"robot description not found: {path}")
    return path


class Robot:
    """A humanoid's kinematic model (URDF + profile): frames, limits, reference posture, collisions."""

    def __init__(self, profile: RobotProfile | str | os.PathLike = "g1"):
        import pinocchio as pin

        self.profile = profile if isinstance(profile, RobotProfile) else load_profile(profile)
        p = self.profile
        self.urdf_path = resolve_asset(p.urdf, p.source)
        self.srdf_path = resolve_asset(p.srdf, p.source) if p.srdf else None
        try:
            full = pin.buildModelFromUrdf(str(self.urdf_path), pin.JointModelFreeFlyer())
        except (RuntimeError, ValueError) as exc:
            raise ProfileError(f"{p.name}: cannot read {self.urdf_path.name}: {str(exc).splitlines()[0]}") from None
        self._full_model = full
        self._locked_ids, self._locked_q = self._locked_joints(full)
        model = pin.buildReducedModel(full, self._locked_ids, self._locked_q) if self._locked_ids else full
        for frame in p.frames:
            self._add_frame(model, frame.name, frame.parent, frame.translation)
        for foot in p.feet:
            parent = p.keypoint(foot.ankle).frame
            for i, point in enumerate(foot.contact_points):
                self._add_frame(model, contact_frame_name(foot.side, i), parent, point)
        self.model = model
        self.data = model.createData()

        if any(model.joints[j].nq != 1 for j in range(2, model.njoints)):
            raise ProfileError(f"{p.name}: only revolute/prismatic actuated joints are supported")
        self.joint_names = tuple(model.names[2:])
        for name in p.reference_posture:
            if name not in self.joint_names:
                raise ProfileError(f"{p.name}: reference_posture: no actuated joint '{name}'")
        for frames in ([k.frame for k in p.keypoints], p.body_scale.robot, *[limb.robot for limb in p.limbs],
                       *[(pair.a, pair.b) for pair in p.keep_apart], *[d.robot for d in p.directions]):
            for name in frames:
                self.frame_id(name)
        self.lower = model.lowerPositionLimit[BASE_NQ:].copy()
        self.upper = model.upperPositionLimit[BASE_NQ:].copy()
        self.velocity_limit = model.velocityLimit[6:].copy()
        bad = [n for n, lo, hi, v in zip(self.joint_names, self.lower, self.upper, self.velocity_limit)
               if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi and 0 < v < 1e10)]
        if bad:
            raise ProfileError(f"{p.name}: joints without URDF position/velocity limits: {', '.join(bad)}")
        self.speed_cap = self._speed_cap()
        self.reference_q = self._reference_configuration()

    # --- construction helpers ---------------------------------------------------------------------

    def _speed_cap(self) -> np.ndarray:
        """(J,) rad/s from the profile's max_joint_speed patterns (inf where none matches)."""
        import re

        cap = np.full(len(self.joint_names), np.inf)
        for pattern, speed in self.profile.max_joint_speed.items():
            try:
                matched = [i for i, name in enumerate(self.joint_names) if re.fullmatch(pattern, name)]
            except re.error as exc:
                raise ProfileError(f"{self.profile.name}: max_joint_speed: '{pattern}' is not a regular "
                                   f"expression ({exc})") from None
            if not matched or not speed > 0:
                raise ProfileError(f"{self.profile.name}: max_joint_speed: '{pattern}' "
                                   + ("must be a positive speed" if matched else "matches no actuated joint"))
            cap[matched] = np.minimum(cap[matched], speed)
        return cap

    def _locked_joints(self, full) -> tuple[list[int], np.ndarray]:
        import pinocchio as pin

        q = pin.neutral(full)
        ids = []
        for name, value in self.profile.locked_joints.items():
            if not full.existJointName(name):
                raise ProfileError(f"{self.profile.name}: locked_joints: no joint '{name}' in the URDF")
            joint_id = full.getJointId(name)
            ids.append(joint_id)
            q[full.joints[joint_id].idx_q] = value
        return sorted(ids), q

    def _add_frame(self, model, name: str, parent: str, translation) -> None:
        import pinocchio as pin

        if model.existFrame(name):
            raise ProfileError(f"{self.profile.name}: frame '{name}' already exists in the URDF")
        if not model.existFrame(parent):
            raise ProfileError(f"{self.profile.name}: frame '{name}': no parent frame '{parent}'")
        parent_frame = model.frames[model.getFrameId(parent)]
        placement = parent_frame.placement * pin.SE3(np.eye(3), np.asarray(translation, dtype=float))
        model.addFrame(pin.Frame(name, parent_frame.parentJoint, model.getFrameId(parent), placement,
                                 pin.FrameType.OP_FRAME))

    def _reference_configuration(self) -> np.ndarray:
        """Reference posture (profile values, others 0, inside the margins), feet on the ground."""
        import pinocchio as pin

        q = pin.neutral(self.model)
        angles = np.array([self.profile.reference_posture.get(n, 0.0) for n in self.joint_names])
        lower, upper = self.ik_bounds()
        q[BASE_NQ:] = np.clip(angles, lower, upper)
        lowest = self.frame_positions(q[None], self.contact_frames)[0, :, 2].min()
        q[2] -= lowest
        return q

    # --- frames -----------------------------------------------------------------------------------

    def frame_id(self, name: str) -> int:
        if not self.model.existFrame(name):
            raise ProfileError(f"{self.profile.name}: no frame '{name}' in {self.urdf_path.name}")
        return self.model.getFrameId(name)

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def control_rate(self) -> float:
        return self.profile.control_rate

    @property
    def nq(self) -> int:
        return self.model.nq

    @cached_property
    def base_link(self) -> str:
        """The link the floating base moves (the URDF's root link: "pelvis" on the G1, "base_link" on Talos)."""
        import pinocchio as pin

        return next(f.name for f in self.model.frames if f.parentJoint == 1 and f.type == pin.FrameType.BODY)

    @cached_property
    def sole_frames(self) -> tuple[tuple[str, ...], ...]:
        """Per profile foot, the frames of its sole contact points."""
        return tuple(tuple(contact_frame_name(f.side, i) for i in range(len(f.contact_points)))
                     for f in self.profile.feet)

    @cached_property
    def contact_frames(self) -> tuple[str, ...]:
        """Every foot's sole frames, one foot after the other."""
        return tuple(name for foot in self.sole_frames for name in foot)

    def frame_positions(self, q: np.ndarray, frames) -> np.ndarray:
        """World positions (N, F, 3) of the named frames for configurations q (N, nq)."""
        import pinocchio as pin

        ids = [self.frame_id(f) for f in frames]
        out = np.empty((len(q), len(ids), 3))
        for n, qn in enumerate(q):
            pin.forwardKinematics(self.model, self.data, qn)
            for k, fid in enumerate(ids):
                out[n, k] = pin.updateFramePlacement(self.model, self.data, fid).translation
        return out

    def frame_rotation_at_reference(self, frame: str) -> np.ndarray:
        """The frame's orientation relative to the base at the reference posture (3, 3)."""
        import pinocchio as pin

        q = self.reference_q.copy()
        q[3:7] = (0, 0, 0, 1)
        pin.forwardKinematics(self.model, self.data, q)
        return pin.updateFramePlacement(self.model, self.data, self.frame_id(frame)).rotation.copy()

    def chain_length(self, frames) -> float:
        """Summed distances between consecutive frames at the reference posture (m)."""
        p = self.frame_positions(self.reference_q[None], frames)[0]
        return float(np.linalg.norm(np.diff(p, axis=0), axis=-1).sum())

    @cached_property
    def proportions(self) -> Proportions:
        """The sizes keypoint targets need: chain lengths, ankle heights, frames' rest orientations."""
        import pinocchio as pin

        p = self.profile
        q = pin.neutral(self.model)  # the URDF's zero posture: G1 and Talos frames are axis-aligned there
        pin.framesForwardKinematics(self.model, self.data, q)
        rest = np.array([self.data.oMf[self.frame_id(k.frame)].rotation for k in p.keypoints])
        frames = {k.human: k.frame for k in p.keypoints}
        separations = tuple(  # sideways: the robot faces +X at the neutral posture, its left is +Y
            (joint, float(abs(self.data.oMf[self.frame_id(frames[f"left_{joint}"])].translation[1]
                              - self.data.oMf[self.frame_id(frames[f"right_{joint}"])].translation[1])))
            for joint in ("knee", "ankle") if f"left_{joint}" in frames and f"right_{joint}" in frames)
        return Proportions(
            body_length=self.chain_length(p.body_scale.robot),
            limb_lengths=tuple(self.chain_length(limb.robot) for limb in p.limbs),
            # the sole is flat in the ankle frame at rest: the ankle is as high as its lowest sole point is deep
            ankle_heights=tuple(float(-foot.points[:, 2].min()) for foot in p.feet),
            rest_rotations=rest,
            leg_separations=separations,
        )

    # --- limits -----------------------------------------------------------------------------------

    def ik_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Joint bounds the IK works within: the URDF's, less the profile's margin (never inverted)."""
        margin = np.minimum(self.profile.position_margin, 0.25 * (self.upper - self.lower))
        return self.lower + margin, self.upper - margin

    def ik_velocity_limit(self) -> np.ndarray:
        """Per joint (J,): velocity_scale of the URDF limit, or of the profile's max_joint_speed if lower."""
        return self.profile.velocity_scale * np.minimum(self.velocity_limit, self.speed_cap)

    # --- collisions -------------------------------------------------------------------------------

    @cached_property
    def collision_model(self):
        """URDF collision geometry with the pairs that can collide: all pairs, less those on adjacent
        bodies, those the SRDF disables, and those already touching at the reference posture
        (touching by design, e.g. the G1's hip links)."""
        return self._collision_model()

    @cached_property
    def convex_collision_model(self):
        """`collision_model` with each mesh replaced by its convex hull, the same pairs: what the IK keeps
        apart (limits.SelfCollisionLimit). GJK/EPA on hulls gives a signed distance with witness points in
        microseconds; a hull encloses its mesh, so hulls apart means meshes apart."""
        geom = self._collision_model()
        for obj in geom.geometryObjects:
            if hasattr(obj.geometry, "buildConvexHull"):  # a mesh (BVH), not a primitive
                # qhull's hull, not buildConvexRepresentation: that keeps the mesh's own vertex graph, on
                # which GJK's hill-climbing support search stops at local maxima of a non-convex mesh
                obj.geometry.buildConvexHull(True, "Qt")
                obj.geometry = obj.geometry.convex
        return geom

    def _collision_model(self):
        import pinocchio as pin

        package_dirs = [str(example_robot_data_dir().parent)]
        geom = pin.buildGeomFromUrdf(self._full_model, str(self.urdf_path), pin.GeometryType.COLLISION,
                                     package_dirs=package_dirs)
        if self._locked_ids:
            _, geom = pin.buildReducedModel(self._full_model, geom, self._locked_ids, self._locked_q)
        geom.addAllCollisionPairs()
        if self.srdf_path is not None:
            pin.removeCollisionPairs(self.model, geom, str(self.srdf_path))
        parents = self.model.parents
        data = self.model.createData()
        geom_data = pin.GeometryData(geom)
        pin.computeCollisions(self.model, data, geom, geom_data, self.reference_q, False)
        keep = []
        for k, pair in enumerate(geom.collisionPairs):
            j1 = geom.geometryObjects[pair.first].parentJoint
            j2 = geom.geometryObjects[pair.second].parentJoint
            adjacent = j1 == j2 or parents[j1] == j2 or parents[j2] == j1
            if not adjacent and not geom_data.collisionResults[k].isCollision():
                keep.append(pair)
        geom.removeAllCollisionPairs()
        for pair in keep:
            geom.addCollisionPair(pair)
        return geom

    def self_collisions(self, q: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
        """Per-frame self-collision depth (N,), metres (0: no contact; coal's estimate for touching
        meshes), and how many frames each colliding pair touched."""
        import pinocchio as pin

        geom = self.collision_model
        geom_data = pin.GeometryData(geom)
        data = self.model.createData()
        depth = np.zeros(len(q))
        pairs: dict[str, int] = {}
        for n, qn in enumerate(q):
            if not pin.computeCollisions(self.model, data, geom, geom_data, qn, False):
                continue
            for k, result in enumerate(geom_data.collisionResults):
                if not result.isCollision():
                    continue
                contacts = [abs(result.getContact(i).penetration_depth) for i in range(result.numContacts())]
                depth[n] = max(depth[n], max(contacts, default=0.0), 1e-9)
                pair = geom.collisionPairs[k]
                names = (geom.geometryObjects[pair.first].name, geom.geometryObjects[pair.second].name)
                key = " / ".join(sorted(names))
                pairs[key] = pairs.get(key, 0) + 1
        return depth, pairs


def contact_frame_name(side: str, index: int) -> str:
    return f"{side}_sole_point_{index}"
