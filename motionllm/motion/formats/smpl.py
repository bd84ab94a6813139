"""SMPL / SMPL-H / SMPL-X parameter files (AMASS .npz) -> SMPL-22 joints, through `smplx`: input only.

A motion .npz holds `poses` (T, N) axis-angle, `trans` (T, 3), `betas`, `gender` and the capture rate
(`mocap_framerate`, or `mocap_frame_rate` in AMASS's SMPL-X release). The body model follows from N:
72 -> SMPL (24 joints), 156 -> SMPL-H (52), 165 -> SMPL-X (55). The first 22 joints of all three are
SMPL-22 in T2M order. AMASS is Z up; joints are turned to Y up.

Body models are licensed files the user supplies (`body_model`: a model file, or a folder laid out like
AMASS's `smplh/male/model.npz` or smplx's `SMPLH_MALE.npz` / `smplh/SMPLH_MALE.npz`); the file's gender
is preferred, then neutral. Pickles can run code when loaded, so .pkl body models are refused unless
`trust_pickle`. SMPL and SMPL-H .npz models are read here with allow_pickle=False and handed to smplx;
SMPL-X .npz models are opened by smplx itself (np.load with allow_pickle=True, accepted for .npz).
"""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.motion.canonical import z_up_to_y_up

MODEL_TYPES = {72: "smpl", 156: "smplh", 165: "smplx"}  # pose vector size -> body model
# Keys smplx's SMPL and SMPL-H classes read from a body model.
MODEL_KEYS = {
    "smpl": ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f"),
    "smplh": ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f",
              "hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr"),
}
FRAMES_PER_BATCH = 256


def _load_npz(path: Path, what: str):
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise MotionFormatError(f"file not found: {path}") from None
    except (ValueError, OSError, EOFError) as exc:
        raise MotionFormatError(f"{what}: not a readable .npz archive ({exc})") from None


def _array(archive, key: str, what: str) -> np.ndarray:
    try:
        return archive[key]
    except KeyError:
        raise MotionFormatError(f"{what}: missing '{key}'") from None
    except ValueError as exc:  # object arrays need pickle, which we do not allow
        raise MotionFormatError(f"{what}: '{key}' cannot be read without unpickling ({exc})") from None


def load_parameters(path: Path) -> dict:
    """The motion's poses (T, N), trans (T, 3), betas (B,), gender and frame rate (None if absent)."""
    what = path.name
    archive = _load_npz(path, what)
    if "v_template" in archive.files:
        raise MotionFormatError(f"{what} is a body model, not a motion: pass it with --body-model")
    if "poses" in archive.files:
        poses = _array(archive, "poses", what)
    elif "root_orient" in archive.files and "pose_body" in archive.files:
        parts = [_array(archive, k, what) for k in ("root_orient", "pose_body", "pose_jaw", "pose_eye", "pose_hand")
                 if k in archive.files]
        poses = np.concatenate(parts, axis=1)
    else:
        raise MotionFormatError(f"{what}: no 'poses' array (not an AMASS/SMPL parameter file?)")
    trans = _array(archive, "trans", what)
    betas = _array(archive, "betas", what).reshape(-1) if "betas" in archive.files else np.zeros(10)
    gender = _array(archive, "gender", what) if "gender" in archive.files else np.array("neutral")
    gender = gender.item()
    gender = (gender.decode() if isinstance(gender, bytes) else str(gender)).strip().lower() or "neutral"
    fps = None
    for key in ("mocap_framerate", "mocap_frame_rate"):
        if key in archive.files:
            fps = float(_array(archive, key, what))
    if poses.ndim != 2 or poses.shape[1] not in MODEL_TYPES:
        raise MotionFormatError(
            f"{what}: poses of shape {poses.shape}; expected (T, N) with N = 72 (SMPL), 156 (SMPL-H) or 165 (SMPL-X)")
    if trans.shape != (len(poses), 3):
        raise MotionFormatError(f"{what}: trans has shape {trans.shape}, expected ({len(poses)}, 3)")
    for name, array in (("poses", poses), ("trans", trans), ("betas", betas)):
        if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
            raise MotionFormatError(f"{what}: '{name}' must be finite numbers")
    if len(poses) < 2:
        raise MotionFormatError(f"{what}: needs at least 2 frames, has {len(poses)}")
    return {"poses": poses.astype(np.float32), "trans": trans.astype(np.float32),
            "betas": betas.astype(np.float32), "gender": gender, "fps": fps,
            "model_type": MODEL_TYPES[poses.shape[1]]}


def find_body_model(location: Path, model_type: str, gender: str, trust_pickle: bool) -> Path:
    """The body-model file for this model type and gender under `location` (or `location` itself)."""
    if location.is_file():
        candidates = [location]
    elif location.is_dir():
        candidates = []
        for g in dict.fromkeys([gender, "neutral"]):
            stem = f"{model_type.upper()}_{g.upper()}"
            for ext in ("npz", "pkl"):
                candidates += [location / model_type / g / f"model.{ext}", location / model_type / f"{stem}.{ext}",
                               location / f"{stem}.{ext}", location / g / f"model.{ext}"]
    else:
        raise MotionLLMError(f"body model not found: {location}")
    found = [c for c in candidates if c.is_file()]
    usable = [c for c in found if c.suffix == ".npz" or (c.suffix == ".pkl" and trust_pickle)]
    if usable:
        return usable[0]
    pickles = [c for c in found if c.suffix == ".pkl"]
    if pickles:
        raise MotionLLMError(
            f"body model {pickles[0]} is a pickle, which can run code when loaded: convert it to .npz, "
            f"or pass --trust-pickle if you trust the file")
    if location.is_file():
        raise MotionLLMError(f"body model must be a .npz (or a trusted .pkl) file, got {location.name}")
    raise MotionLLMError(
        f"no {model_type.upper()} body model for gender '{gender}' (or neutral) in {location} "
        f"(looked for e.g. {model_type}/{gender}/model.npz and {model_type.upper()}_{gender.upper()}.npz)")


def build_model(model_file: Path, model_type: str, gender: str, num_betas: int):
    """An smplx body model for `model_file`, with the extra vertex keypoints pointed at vertex 0.

    We keep only the 22 kinematic joints; smplx also appends keypoints read off fixed vertex ids, which
    would not exist on a smaller mesh, so for SMPL/SMPL-H they all read vertex 0.
    """
    import smplx
    from smplx.utils import Struct
    from smplx.vertex_ids import vertex_ids as smplx_vertex_ids

    common = dict(gender=gender, num_betas=num_betas, batch_size=1)
    hands = dict(use_pca=False, flat_hand_mean=True)
    dummy_ids = {key: 0 for key in smplx_vertex_ids["smplh"]}
    # smplx prints notices (e.g. about the number of shape coefficients) on stdout: keep stdout clean.
    with contextlib.redirect_stdout(io.StringIO()):
        if model_file.suffix == ".pkl":  # trusted by the user: smplx unpickles it
            if model_type == "smpl":
                return smplx.SMPL(str(model_file), vertex_ids=dummy_ids, **common)
            if model_type == "smplh":
                return smplx.SMPLH(str(model_file), ext="pkl", vertex_ids=dummy_ids, **common, **hands)
            return smplx.SMPLX(str(model_file), ext="pkl", **common, **hands)
        if model_type == "smplx":
            return smplx.SMPLX(str(model_file), ext="npz", **common, **hands)
        archive = _load_npz(model_file, model_file.name)
        struct = Struct(**{key: _array(archive, key, model_file.name) for key in MODEL_KEYS[model_type]})
        if model_type == "smpl":
            return smplx.SMPL(str(model_file), data_struct=struct, vertex_ids=dummy_ids, **common)
        return smplx.SMPLH(str(model_file), data_struct=struct, vertex_ids=dummy_ids, **common, **hands)


def body_joints(model, model_type: str, poses: np.ndarray, trans: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """(T, 22, 3) joints of the posed body, in the parameters' own frame."""
    import torch

    out = []
    betas_t = torch.from_numpy(betas[: model.num_betas].copy())[None]
    with torch.no_grad():
        for start in range(0, len(poses), FRAMES_PER_BATCH):
            pose = torch.from_numpy(poses[start:start + FRAMES_PER_BATCH])
            n = len(pose)
            args = dict(betas=betas_t.expand(n, -1), global_orient=pose[:, :3],
                        transl=torch.from_numpy(trans[start:start + n]))
            if model_type == "smpl":
                args["body_pose"] = pose[:, 3:72]
            else:
                args["body_pose"] = pose[:, 3:66]
                hands = pose[:, 66:156] if model_type == "smplh" else pose[:, 75:165]
                args["left_hand_pose"], args["right_hand_pose"] = hands[:, :45], hands[:, 45:]
            if model_type == "smplx":
                args.update(jaw_pose=pose[:, 66:69], leye_pose=pose[:, 69:72], reye_pose=pose[:, 72:75],
                            expression=torch.zeros(n, model.num_expression_coeffs))
            out.append(model(**args).joints[:, :22].numpy())
    return np.concatenate(out).astype(np.float64)


def read(path: str | os.PathLike, body_model: str | os.PathLike | None = None, trust_pickle: bool = False,
         fps: float | None = None) -> tuple[np.ndarray, float]:
    """AMASS-style parameters -> (SMPL-22 joints (T, 22, 3) in metres, Y up; frames per second)."""
    path = Path(path)
    params = load_parameters(path)
    if body_model is None:
        raise MotionLLMError(f"{path.name}: SMPL parameters need body-model files: pass --body-model DIR")
    rate = fps or params["fps"]
    if rate is None:
        raise MotionFormatError(f"{path.name}: no mocap_framerate stored: pass --fps")
    model_type, gender = params["model_type"], params["gender"]
    model_file = find_body_model(Path(body_model), model_type, gender, trust_pickle)
    num_betas = len(params["betas"])
    try:
        model = build_model(model_file, model_type, gender, num_betas)
        joints = body_joints(model, model_type, params["poses"], params["trans"], params["betas"])
    except MotionLLMError:
        raise
    except Exception as exc:  # smplx/torch raise many kinds of errors on a malformed or mismatched model
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MotionFormatError(f"body model {model_file.name} does not fit {path.name} ({message})") from None
    return z_up_to_y_up(joints), float(rate)
