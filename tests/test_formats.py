"""Motion file formats against real files (LaFAN1 and Blender BVH, CMU ASF/AMC, DeepMimic, MediaPipe on a
real video, HumanML3D) and against synthetic files built to check one rule at a time.

Real registry samples are fetched on first use (motionllm.motion.samples) into $MOTIONLLM_CACHE or
~/.cache/motionllm; tests that need them skip when the fetch fails.
"""
from __future__ import annotations

import json
import pickle
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.motion.canonical import canonicalize
from motionllm.motion.formats import bvh, deepmimic, read_motion, read_raw, skeleton_map, write_motion
from motionllm.motion.formats.mediapipe_landmarks import (
    LANDMARK_INDEX, WEIGHTS, mediapipe33_to_smpl22, world_to_y_up,
)
from motionllm.motion.quaternion import quat_from_axis_angle, qrot
from motionllm.motion.skeleton import (
    JOINT_INDEX as J, JOINT_NAMES, PARENTS, REFERENCE_BONE_LENGTHS, Skeleton, bone_lengths, facing_directions,
)

HML = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "humanml3d_sample"
VIDEO = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "video" / "pose2sim_single_cam01.mp4"


@pytest.fixture(scope="module")
def hml_joints() -> np.ndarray:
    if not (HML / "new_joints_012314.npy").is_file():
        pytest.skip(f"real HumanML3D sample not found at {HML.resolve()} (../shared/data)")
    return np.load(HML / "new_joints_012314.npy")


def assert_canonical_person(joints: np.ndarray, head_height: tuple[float, float], upright_fraction: float = 1.0,
                            bone_std: float = 1e-3, loose_bones: tuple[str, ...] = ()) -> None:
    """Canonical form, and a person: upright, feet forward (+Z), human size, rigid bones."""
    assert joints.dtype == np.float32 and joints.ndim == 3 and joints.shape[1:] == (22, 3)
    assert np.isfinite(joints).all()
    assert abs(joints[..., 1].min()) < 1e-5, "on the floor"
    np.testing.assert_allclose(joints[0, 0, [0, 2]], 0, atol=1e-5)
    assert facing_directions(joints[:1].astype(np.float64))[0] @ [0, 0, 1] > 0.999, "faces +Z at frame 0"
    # Independent of how facing is computed: toes point forward and the left side is +X.
    toes = joints[0, [J["left_foot"], J["right_foot"]]] - joints[0, [J["left_ankle"], J["right_ankle"]]]
    assert toes[:, 2].mean() > 0.03, f"toes should point to +Z at frame 0, got {toes}"
    assert joints[0, J["left_hip"], 0] > joints[0, J["right_hip"], 0]
    assert joints[0, J["left_shoulder"], 0] > joints[0, J["right_shoulder"], 0]
    head = joints[:, J["head"], 1] - joints[:, [J["left_ankle"], J["right_ankle"]], 1].min(axis=1)
    assert head_height[0] < head[0] < head_height[1], f"head {head[0]:.2f} m above the ankles at frame 0"
    height = joints[..., 1]
    upright = (height[:, J["head"]] > height[:, J["pelvis"]]) & (height[:, J["pelvis"]] > height[:, J["left_ankle"]])
    assert upright.mean() >= upright_fraction
    stds = bone_lengths(joints).std(axis=0)
    for i in range(1, 22):
        if JOINT_NAMES[i] not in loose_bones:
            assert stds[i] < bone_std, f"bone to {JOINT_NAMES[i]} varies by {stds[i] * 1000:.2f} mm"


def frames_at_20fps(n_frames: int, fps: float) -> int:
    return int(np.floor((n_frames - 1) / fps * 20 + 1e-6)) + 1


# --- BVH: real files ---------------------------------------------------------------------------------

def test_lafan1_bvh_reads_as_the_file_says(registry_sample):
    path = registry_sample("lafan1_test2.bvh")
    joints = read_motion(path)
    assert len(joints) == frames_at_20fps(3945, 1 / 0.033333)
    assert_canonical_person(joints, head_height=(1.4, 1.7))
    # Units (cm) and joint mapping, checked against the file's own OFFSETs: LeftLeg 43.5, LeftFoot 42.37.
    lengths = bone_lengths(joints).mean(axis=0)
    assert lengths[J["left_knee"]] == pytest.approx(0.435, abs=1e-4)
    assert lengths[J["left_ankle"]] == pytest.approx(0.42372, abs=1e-4)
    assert lengths[J["left_foot"]] == pytest.approx(0.173, abs=1e-4)  # LeftToe


def test_blender_rig_bvh_with_position_channels_on_every_joint(registry_sample):
    joints = read_motion(registry_sample("blender_test3.bvh"))
    assert len(joints) == frames_at_20fps(3089, 1 / 0.041667)
    # A small rig, in metres (thigh 0.33 m); the clavicle midpoint rides a rotating bone: ~2 mm play.
    assert_canonical_person(joints, head_height=(1.1, 1.4), loose_bones=("left_collar", "right_collar"))
    assert bone_lengths(joints).mean(axis=0)[J["left_knee"]] == pytest.approx(np.hypot(0.017273, 0.329597), abs=1e-4)


def test_bvh_forward_kinematics_on_known_rotations(tmp_path):
    """Euler order from the channel order, position channels replacing OFFSET, End Sites."""
    text = """HIERARCHY
ROOT Hips
{
  OFFSET 1 2 3
  CHANNELS 5 Yrotation Xposition Yposition Zposition Xrotation
  JOINT Arm
  {
    OFFSET 0 1 0
    CHANNELS 3 Xposition Yposition Zposition
    End Site
    {
      OFFSET 0 2 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
90 0 0 0 90 0 5 0
0 10 0 0 0 0 1 0
"""
    parsed = bvh.parse_bvh(text)
    positions = bvh.world_positions(parsed)
    # Frame 0: R = Ry(90) @ Rx(90) (listed order); Arm's position channels (0, 5, 0) replace OFFSET (0, 1, 0).
    np.testing.assert_allclose(positions[0, 1], [5, 0, 0], atol=1e-9)      # Ry(90) Rx(90) (0,5,0) = (5,0,0)
    np.testing.assert_allclose(positions[0, 2], [7, 0, 0], atol=1e-9)      # End Site: (0,2,0) the same way
    np.testing.assert_allclose(positions[1, 1], [10, 1, 0], atol=1e-9)
    assert [j.name for j in parsed.joints] == ["Hips", "Arm", "Arm/end"] and parsed.fps == 2.0


def _renamed(text: str, names: dict[str, str]) -> str:
    for old, new in sorted(names.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(f"JOINT {old}\n", f"JOINT {new}\n").replace(f"ROOT {old}\n", f"ROOT {new}\n")
    return text


MIXAMO = {"pelvis": "Hips", "spine1": "Spine", "spine2": "Spine1", "spine3": "Spine2", "neck": "Neck",
          "head": "Head", **{f"{s}_{j}": f"{s.capitalize()}{m}" for s in ("left", "right") for j, m in (
              ("hip", "UpLeg"), ("knee", "Leg"), ("ankle", "Foot"), ("foot", "ToeBase"), ("collar", "Shoulder"),
              ("shoulder", "Arm"), ("elbow", "ForeArm"), ("wrist", "Hand"))}}


def test_bvh_round_trip_and_other_naming_conventions(hml_joints, tmp_path):
    joints = canonicalize(hml_joints)
    write_motion(tmp_path / "smpl.bvh", joints)
    back = read_motion(tmp_path / "smpl.bvh")
    assert np.abs(back - joints).max() < 1e-3, "joints -> BVH -> joints within 1 mm"
    text = (tmp_path / "smpl.bvh").read_text()
    # The same skeleton named the Mixamo way (namespace prefix included) and the SMPL "L_Hip" way.
    (tmp_path / "mixamo.bvh").write_text(_renamed(text, {k: f"mixamorig:{v}" for k, v in MIXAMO.items()}))
    smpl_short = {n: n.replace("left_", "L_").replace("right_", "R_").title() for n in JOINT_NAMES}
    (tmp_path / "short.bvh").write_text(_renamed(text, smpl_short))
    for name in ("mixamo.bvh", "short.bvh"):
        np.testing.assert_allclose(read_motion(tmp_path / name), back, atol=1e-6, err_msg=name)


CMU_BVH = """HIERARCHY
ROOT Hips
{ OFFSET 0 0 0 CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT LHipJoint { OFFSET 0 0 0 CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT LeftUpLeg { OFFSET 1.8559 -1.7395 0.8498 CHANNELS 3 Zrotation Yrotation Xrotation
      JOINT LeftLeg { OFFSET 2.3684 -6.5070 0 CHANNELS 3 Zrotation Yrotation Xrotation
        JOINT LeftFoot { OFFSET 2.5327 -6.9585 0 CHANNELS 3 Zrotation Yrotation Xrotation
          JOINT LeftToeBase { OFFSET 0.1594 -0.4378 1.9451 CHANNELS 3 Zrotation Yrotation Xrotation
            End Site { OFFSET 0 0 1.0066 } } } } } }
  JOINT RHipJoint { OFFSET 0 0 0 CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT RightUpLeg { OFFSET -1.6830 -1.7395 0.8498 CHANNELS 3 Zrotation Yrotation Xrotation
      JOINT RightLeg { OFFSET -2.4471 -6.7233 0 CHANNELS 3 Zrotation Yrotation Xrotation
        JOINT RightFoot { OFFSET -2.4384 -6.6995 0 CHANNELS 3 Zrotation Yrotation Xrotation
          JOINT RightToeBase { OFFSET -0.2085 -0.5730 2.0217 CHANNELS 3 Zrotation Yrotation Xrotation
            End Site { OFFSET 0 0 1.0559 } } } } } }
  JOINT LowerBack { OFFSET 0 0 0 CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT Spine { OFFSET -0.0156 2.2397 -0.0371 CHANNELS 3 Zrotation Yrotation Xrotation
      JOINT Spine1 { OFFSET 0.0549 2.1923 -0.1909 CHANNELS 3 Zrotation Yrotation Xrotation
        JOINT Neck { OFFSET 0 0 0 CHANNELS 3 Zrotation Yrotation Xrotation
          JOINT Neck1 { OFFSET -0.1240 1.4317 0.2759 CHANNELS 3 Zrotation Yrotation Xrotation
            JOINT Head { OFFSET 0.1786 1.4617 -0.3258 CHANNELS 3 Zrotation Yrotation Xrotation
              End Site { OFFSET 0.0722 1.5159 -0.1454 } } } }
        JOINT LeftShoulder { OFFSET 0 0 0 CHANNELS 3 Zrotation Yrotation Xrotation
          JOINT LeftArm { OFFSET 3.2765 0.8563 0.0540 CHANNELS 3 Zrotation Yrotation Xrotation
            JOINT LeftForeArm { OFFSET 4.9676 0 0 CHANNELS 3 Zrotation Yrotation Xrotation
              JOINT LeftHand { OFFSET 3.3575 0 0 CHANNELS 3 Zrotation Yrotation Xrotation
                End Site { OFFSET 0.7970 0 0 } } } } }
        JOINT RightShoulder { OFFSET 0 0 0 CHANNELS 3 Zrotation Yrotation Xrotation
          JOINT RightArm { OFFSET -3.2443 1.0203 0.3469 CHANNELS 3 Zrotation Yrotation Xrotation
            JOINT RightForeArm { OFFSET -5.2186 0 0 CHANNELS 3 Zrotation Yrotation Xrotation
              JOINT RightHand { OFFSET -3.3650 0 0 CHANNELS 3 Zrotation Yrotation Xrotation
                End Site { OFFSET -0.6204 0 0 } } } } } } } }
}
MOTION
Frames: 3
Frame Time: 0.0083333
"""


def test_cmu_style_bvh_zero_length_joints_and_units(tmp_path):
    """cgspeed's CMU BVH: 1/0.45-inch units, zero-length LHipJoint/LowerBack/Neck/LeftShoulder."""
    channels = 6 + 3 * CMU_BVH.count("CHANNELS 3")
    (tmp_path / "cmu.bvh").write_text(CMU_BVH + "\n".join(" ".join(["0"] * channels) for _ in range(3)) + "\n")
    parsed = bvh.parse_bvh((tmp_path / "cmu.bvh").read_text())
    bones, parents = bvh.bones_of(parsed, bvh.world_positions(parsed))
    points = skeleton_map.smpl_points(bones, parents, "cmu.bvh")
    assert points["left_collar"] == ("leftarm", 0.5), "LeftShoulder sits on the spine: use mid-clavicle"
    assert points["spine2"] == ("spine", 1.0) and points["spine3"][0] == "spine1"
    joints, fps = read_raw(tmp_path / "cmu.bvh")
    unit = 0.0254 / 0.45
    assert fps == 20.0
    assert bone_lengths(joints)[0, J["left_knee"]] == pytest.approx(np.hypot(2.3684, 6.5070) * unit, rel=1e-4)
    assert bvh.detect_unit(joints / unit) == "cmu"


def test_unit_detection_by_body_size():
    metres = Skeleton().rest_pose()[None]
    for unit, scale in bvh.UNITS.items():
        assert bvh.detect_unit(metres / scale) == unit
    assert bvh.detect_unit(metres * 1.3) == "m" and bvh.detect_unit(metres * 0.8 * 100) == "cm"


def test_unmappable_bvh_names_its_joints(tmp_path):
    (tmp_path / "robot.bvh").write_text(
        "HIERARCHY\nROOT base\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Zposition\n JOINT link1\n {\n"
        "  OFFSET 0 1 0\n  CHANNELS 1 Zrotation\n  End Site\n  {\n   OFFSET 0 1 0\n  }\n }\n}\n"
        "MOTION\nFrames: 2\nFrame Time: 0.1\n0 0 0 0\n0 0 0 10\n")
    with pytest.raises(MotionFormatError, match="cannot map this skeleton.*base, link1"):
        read_motion(tmp_path / "robot.bvh")


@pytest.mark.parametrize("cut, message", [
    (lambda t: t[: t.index("MOTION")], "no MOTION"),
    (lambda t: t[: len(t) - 200], "truncated"),
    (lambda t: t[: t.index("JOINT left_knee")] + t[t.index("MOTION"):], "ends early"),
    (lambda t: t.replace("Frame Time: 0.05", "Frame Time: 0.05\nabc", 1), "non-numeric"),
    (lambda t: t.replace("Frame Time: 0.05000000", "Frame Time: -1", 1), "positive"),
])
def test_malformed_bvh(tmp_path, cut, message):
    joints = Skeleton().rest_pose()[None].repeat(4, axis=0).astype(np.float32)
    joints[:, :, 2] += np.linspace(0, 0.3, 4)[:, None]
    write_motion(tmp_path / "ok.bvh", joints)
    (tmp_path / "bad.bvh").write_text(cut((tmp_path / "ok.bvh").read_text()))
    with pytest.raises(MotionFormatError, match=message):
        read_motion(tmp_path / "bad.bvh")


# --- CMU ASF/AMC -------------------------------------------------------------------------------------

def test_cmu_asf_amc(registry_sample):
    amc_path, asf_path = registry_sample("cmu_01.amc"), registry_sample("cmu_01.asf")
    joints = read_motion(amc_path, asf=asf_path)
    assert len(joints) == frames_at_20fps(2750, 120)
    assert_canonical_person(joints, head_height=(1.2, 1.6), bone_std=2e-3)
    lengths = bone_lengths(joints).mean(axis=0)
    inch_045 = 0.0254 / 0.45  # ":units length 0.45"
    assert lengths[J["left_knee"]] == pytest.approx(7.1578 * inch_045, abs=1e-4)  # lfemur length
    assert lengths[J["left_ankle"]] == pytest.approx(7.49137 * inch_045, abs=1e-4)  # ltibia length
    assert np.linalg.norm(joints[-1, 0, [0, 2]]) > 1.0, "subject 01 moves about"
    with pytest.raises(MotionFormatError, match="--asf"):
        read_motion(amc_path)


def test_asf_amc_forward_kinematics_on_known_rotations(tmp_path):
    """A dof turns a bone about the axes of its own frame C ("axis 0 0 90 XYZ"), not the world's."""
    asf = """:units
  length 0.45
  angle deg
:root
   order TX TY TZ RX RY RZ
   axis XYZ
:bonedata
  begin
     name arm
     direction 1 0 0
     length 0.45
     axis 0 0 90 XYZ
     dof rx
  end
:hierarchy
  begin
    root arm
  end
"""
    from motionllm.motion.formats import amc

    skeleton = amc.parse_asf(asf)
    motion = amc.parse_amc(":DEGREES\n1\nroot 0.45 0 0 0 0 0\narm 90\n2\nroot 0 0 0 0 90 0\narm 0\n", skeleton)
    bones = amc.bone_positions(skeleton, motion)
    inch = 0.0254  # 0.45 units of length 0.45 = 1 inch
    # Frame 0: C = Rz(90), so rx turns about world Y: (1, 0, 0) -> (0, 0, -1).
    np.testing.assert_allclose(bones["arm"][1][0], [inch, 0, -inch], atol=1e-12)
    # Frame 1: the root turned 90 degrees about Y takes the bone to (0, 0, -1) too.
    np.testing.assert_allclose(bones["arm"][1][1], [0, 0, -inch], atol=1e-12)


def test_truncated_amc(registry_sample, tmp_path):
    text = registry_sample("cmu_01.amc").read_text()
    (tmp_path / "cut.amc").write_text(text[: len(text) // 3])
    with pytest.raises(MotionFormatError, match="truncated|needs"):
        read_motion(tmp_path / "cut.amc", asf=registry_sample("cmu_01.asf"))


# --- DeepMimic -----------------------------------------------------------------------------------------

def test_deepmimic_offsets_match_the_shipped_urdf(registry_sample):
    root = ET.fromstring(registry_sample("humanoid.urdf").read_bytes().rstrip(b"\0"))  # the shipped file ends in a NUL
    for joint in root.iter("joint"):
        name = joint.get("name")
        if name in deepmimic.URDF_OFFSETS:
            parent, offset = deepmimic.URDF_OFFSETS[name]
            assert joint.find("parent").get("link") == parent
            xyz = [float(v) for v in joint.find("origin").get("xyz").split()]
            np.testing.assert_allclose(offset, xyz, atol=1e-6, err_msg=name)
    assert {j.get("name") for j in root.iter("joint")} >= set(deepmimic.URDF_OFFSETS)


@pytest.mark.parametrize("motion, frames, upright", [("walk", 26, 1.0), ("backflip", 36, 0.6)])
def test_deepmimic_motions(registry_sample, motion, frames, upright):
    joints = read_motion(registry_sample(f"deepmimic_{motion}.txt"))
    assert len(joints) == frames
    # The backflip is keyed at 16 fps; rotations are slerped, so bones keep their length.
    assert_canonical_person(joints, head_height=(1.2, 1.6), upright_fraction=upright, bone_std=1e-4)
    assert bone_lengths(joints).mean(axis=0)[J["left_knee"]] == pytest.approx(1.686184 * 0.25, abs=1e-5)


def test_deepmimic_rejects_bad_frames(tmp_path):
    (tmp_path / "short.txt").write_text(json.dumps({"Loop": "wrap", "Frames": [[0.1] * 44, [0.1] * 43]}))
    with pytest.raises(MotionFormatError, match="equal-length"):
        read_motion(tmp_path / "short.txt")
    (tmp_path / "garbage.txt").write_text("{\"Frames\": [[0.1, ")
    with pytest.raises(MotionFormatError, match="not valid JSON"):
        read_motion(tmp_path / "garbage.txt")


# --- MediaPipe ------------------------------------------------------------------------------------------

def test_mediapipe_mapping_is_affine_and_frame_free():
    assert np.allclose(WEIGHTS.sum(axis=1), 1.0) and (WEIGHTS >= 0).all()
    rng = np.random.default_rng(0)
    landmarks = rng.normal(size=(5, 33, 3))
    rotation = quat_from_axis_angle(np.array([0.3, 1.0, -0.2]), 0.7)
    moved = 1.7 * qrot(np.broadcast_to(rotation, landmarks.shape[:-1] + (4,)), landmarks) + [1.0, -2.0, 0.5]
    expected = 1.7 * qrot(np.broadcast_to(rotation, (5, 22, 4)), mediapipe33_to_smpl22(landmarks)) + [1.0, -2.0, 0.5]
    np.testing.assert_allclose(mediapipe33_to_smpl22(moved), expected, atol=1e-9)
    direct = {"left_hip": "left_hip", "right_knee": "right_knee", "left_wrist": "left_wrist"}
    for smpl, mp in direct.items():
        np.testing.assert_allclose(mediapipe33_to_smpl22(landmarks)[:, J[smpl]], landmarks[:, LANDMARK_INDEX[mp]])
    pelvis = mediapipe33_to_smpl22(landmarks)[:, J["pelvis"]]
    np.testing.assert_allclose(pelvis, landmarks[:, [23, 24]].mean(axis=1))


@pytest.fixture(scope="module")
def video_landmarks() -> np.ndarray:
    """MediaPipe Pose world landmarks of the first 40 frames (60 fps) of the shared real video."""
    if not VIDEO.is_file():
        pytest.skip(f"shared video not found at {VIDEO.resolve()}")
    mp = pytest.importorskip("mediapipe")
    import imageio.v2 as imageio

    out = []
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1) as pose:
        for k, frame in enumerate(imageio.get_reader(VIDEO)):
            if k == 40:
                break
            result = pose.process(frame)
            assert result.pose_world_landmarks is not None, f"no person found in frame {k}"
            out.append([[p.x, p.y, p.z, p.visibility] for p in result.pose_world_landmarks.landmark])
    return np.array(out, dtype=np.float32)


def test_mediapipe_on_real_video(video_landmarks, tmp_path):
    np.save(tmp_path / "lm.npy", video_landmarks)
    joints = read_motion(tmp_path / "lm.npy", fps=60)
    assert len(joints) == frames_at_20fps(40, 60)
    # Estimated landmarks: bone lengths wobble by centimetres, so only the gross shape is checked.
    assert_canonical_person(joints, head_height=(1.1, 1.8), bone_std=0.05)
    # The JSON forms give the same joints; without a rate the read fails.
    frames = [[{"x": float(x), "y": float(y), "z": float(z), "visibility": float(v)} for x, y, z, v in f]
              for f in video_landmarks]
    (tmp_path / "lm.json").write_text(json.dumps({"fps": 60, "frames": frames}))
    np.testing.assert_allclose(read_motion(tmp_path / "lm.json"), joints, atol=1e-5)
    (tmp_path / "list.json").write_text(json.dumps(video_landmarks[..., :3].tolist()))
    np.testing.assert_allclose(read_motion(tmp_path / "list.json", fps=60), joints, atol=1e-5)
    with pytest.raises(MotionFormatError, match="--fps"):
        read_motion(tmp_path / "list.json")


def test_mediapipe_world_axes():
    # MediaPipe: y down, z away from the camera. A person facing the camera: nose nearer (z < 0), head up (y < 0).
    nose = np.array([0.0, -0.6, -0.1])
    up_nose = world_to_y_up(nose)
    assert up_nose[1] > 0 and up_nose[2] > 0, "head up (+Y) and facing the camera (+Z)"


# --- SMPL / AMASS through smplx -------------------------------------------------------------------------

SMPL_PARENTS = list(PARENTS) + [20, 21]
SMPLH_PARENTS = list(PARENTS) + [20] * 15 + [21] * 15


def make_body_model(path: Path, parents: list[int], n_vertices: int = 80) -> None:
    """A small, structurally valid SMPL(-H) model whose joints are the reference body's rest pose."""
    rng = np.random.default_rng(0)
    n_joints = len(parents)
    rest = Skeleton().rest_pose()
    joints = np.concatenate([rest, rest[parents[22:]] + [0.0, -0.08, 0.0]])
    regressor = np.zeros((n_joints, n_vertices))
    regressor[:, :n_joints] = np.eye(n_joints)
    weights = np.zeros((n_vertices, n_joints))
    weights[np.arange(n_vertices), np.arange(n_vertices) % n_joints] = 1.0
    arrays = dict(
        v_template=np.concatenate([joints, rng.normal(0, 0.2, (n_vertices - n_joints, 3))]),
        shapedirs=np.zeros((n_vertices, 3, 10)), posedirs=rng.normal(0, 1e-3, (n_vertices, 3, 9 * (n_joints - 1))),
        J_regressor=regressor, weights=weights, f=rng.integers(0, n_vertices, (40, 3)),
        kintree_table=np.array([[2**32 - 1] + parents[1:], list(range(n_joints))], dtype=np.int64))
    if n_joints == 52:
        arrays.update(hands_componentsl=np.eye(45), hands_componentsr=np.eye(45),
                      hands_meanl=np.zeros(45), hands_meanr=np.zeros(45))
    np.savez(path, **arrays)


def make_amass_motion(path: Path, pose_size: int, n_frames: int = 240, fps: float = 120.0) -> None:
    t = np.arange(n_frames) / fps
    poses = np.zeros((n_frames, pose_size), dtype=np.float32)
    poses[:, 0] = np.pi / 2  # AMASS: the body's own Y-up frame turned so that up is world +Z
    poses[:, 3 * J["left_knee"]] = 1.2 * np.sin(np.pi * t / t[-1])  # the left knee bends and straightens
    trans = np.stack([0.4 * t, -0.2 * t, np.full_like(t, 0.9)], axis=1)
    np.savez(path, poses=poses, trans=trans, betas=np.zeros(16), gender=np.array("female"),
             mocap_framerate=np.array(fps))


@pytest.mark.parametrize("pose_size, parents", [(72, SMPL_PARENTS), (156, SMPLH_PARENTS)])
def test_amass_through_smplx(tmp_path, pose_size, parents):
    pytest.importorskip("smplx")
    kind = {72: "smpl", 156: "smplh"}[pose_size]
    (tmp_path / "models" / kind / "neutral").mkdir(parents=True)  # AMASS layout; no female model: neutral used
    make_body_model(tmp_path / "models" / kind / "neutral" / "model.npz", parents)
    make_amass_motion(tmp_path / "motion.npz", pose_size)
    joints = read_motion(tmp_path / "motion.npz", body_model=tmp_path / "models")
    assert len(joints) == frames_at_20fps(240, 120)
    assert_canonical_person(joints, head_height=(1.2, 1.6), bone_std=1e-5)
    np.testing.assert_allclose(bone_lengths(joints).mean(axis=0)[1:], REFERENCE_BONE_LENGTHS[1:], atol=1e-4)
    knee = joints[:, J["left_knee"]] - joints[:, J["left_hip"]]
    shin = joints[:, J["left_ankle"]] - joints[:, J["left_knee"]]
    bend = np.degrees(np.arccos((knee * shin).sum(-1) / np.linalg.norm(knee, axis=-1) / np.linalg.norm(shin, axis=-1)))
    assert bend[0] < 1 and bend.max() == pytest.approx(np.degrees(1.2), abs=2.0)


def test_pickled_body_models_need_trust(tmp_path):
    pytest.importorskip("smplx")
    make_body_model(tmp_path / "SMPL_NEUTRAL.npz", SMPL_PARENTS)
    make_amass_motion(tmp_path / "motion.npz", 72)
    expected = read_motion(tmp_path / "motion.npz", body_model=tmp_path / "SMPL_NEUTRAL.npz")

    class Tripwire:  # unpickling this would create a file
        def __reduce__(self):
            return (Path.touch, (tmp_path / "unpickled",))
    models = tmp_path / "pkl"
    models.mkdir()
    (models / "SMPL_NEUTRAL.pkl").write_bytes(pickle.dumps(Tripwire()))
    with pytest.raises(MotionLLMError, match="--trust-pickle"):
        read_motion(tmp_path / "motion.npz", body_model=models)
    assert not (tmp_path / "unpickled").exists(), "the pickle must not be loaded"
    # A trusted pickle holding the same model gives the same motion.
    arrays = dict(np.load(tmp_path / "SMPL_NEUTRAL.npz"))
    (models / "SMPL_NEUTRAL.pkl").write_bytes(pickle.dumps(arrays))
    np.testing.assert_allclose(read_motion(tmp_path / "motion.npz", body_model=models, trust_pickle=True),
                               expected, atol=1e-6)


def test_amass_rejects_unknown_pose_size(tmp_path):
    np.savez(tmp_path / "odd.npz", poses=np.zeros((10, 99)), trans=np.zeros((10, 3)), mocap_framerate=60.0)
    with pytest.raises(MotionFormatError, match="72 .SMPL., 156"):
        read_motion(tmp_path / "odd.npz", body_model=tmp_path)


# --- arrays ----------------------------------------------------------------------------------------------

def test_features_in_and_out(hml_joints, tmp_path):
    features = np.load(HML / "new_joint_vecs_012314.npy")
    np.save(tmp_path / "features.npy", features)
    from_features = read_motion(tmp_path / "features.npy")
    np.testing.assert_allclose(from_features, canonicalize(hml_joints), atol=1e-3)
    write_motion(tmp_path / "out.npy", from_features, features=True)
    assert np.load(tmp_path / "out.npy").shape == (len(hml_joints) - 1, 263)
    with pytest.raises(MotionFormatError, match="20 fps by definition"):
        read_motion(tmp_path / "features.npy", fps=30)


def test_joints_npy_rate_and_bad_arrays(hml_joints, tmp_path):
    np.save(tmp_path / "j.npy", hml_joints)
    assert len(read_motion(tmp_path / "j.npy", fps=40)) == frames_at_20fps(len(hml_joints), 40)
    bad = hml_joints.copy()
    bad[3, 4, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(MotionFormatError, match="NaN"):
        read_motion(tmp_path / "nan.npy")
    np.save(tmp_path / "shape.npy", hml_joints[:, :21])
    with pytest.raises(MotionFormatError, match="shape"):
        read_motion(tmp_path / "shape.npy")
    with pytest.raises(MotionLLMError, match="--asf does not apply"):
        read_motion(tmp_path / "j.npy", asf="x.asf")


@pytest.mark.parametrize("name", ["bad.npy", "bad.bvh"])
def test_writers_refuse_bad_joints_and_leave_nothing(tmp_path, name):
    joints = np.repeat(Skeleton().rest_pose()[None], 3, axis=0)
    joints[1, 5, 0] = np.nan
    with pytest.raises(MotionFormatError, match="NaN"):
        write_motion(tmp_path / name, joints)
    with pytest.raises(MotionFormatError, match="at least 2 frames"):
        write_motion(tmp_path / name, joints[:1], features=name.endswith(".npy"))
    assert list(tmp_path.iterdir()) == []
