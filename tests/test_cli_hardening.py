"""Every command against a hostile user (issue 19): outputs checked before any work and never left half-made,
arguments checked before a model loads, one command check for the CLI and the ROS commander, and a fuzz run
of malformed files and arguments through every file command: one line on stderr, a non-zero exit, nothing
left behind.

Model commands get `--model <a folder with no model>`: an argument that passes its check reaches the model
load and fails there, so an error that names the argument proves the argument was checked first."""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from motionllm import cli
from motionllm.errors import MotionLLMError
from motionllm.fileio import check_output_path, command_outputs

SQUAT = Path(__file__).parent / "data" / "generated_deep_squat.npy"  # a real (generated) motion, 6 s
UNWRITABLE = Path("/proc")  # no one may create files here, not even root


def run_cli(capsys, *args) -> tuple[int, str, str]:
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exc:  # argparse: usage and one error line
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def assert_one_line_error(code, err, command: str, *needles: str) -> None:
    assert code not in (0, None), err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"motionllm {command}: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# --- the output helper ------------------------------------------------------------------------------------

def test_an_output_path_is_checked_before_any_work(tmp_path):
    check_output_path(tmp_path / "ok.npy")
    for path, message in [(tmp_path, "is a folder"), (tmp_path / "missing" / "x.npy", "does not exist"),
                          (UNWRITABLE / "x.npy", "cannot write"), (Path(""), "not a file name")]:
        with pytest.raises(MotionLLMError, match=message):
            check_output_path(path)
    assert not (tmp_path / "missing").exists(), "a folder nobody asked for was created"
    assert list(tmp_path.iterdir()) == [], "the write probe was left behind"


def test_outputs_appear_together_or_not_at_all(tmp_path):
    first, second = tmp_path / "a.npy", tmp_path / "b.json"
    second.write_text("the previous report")
    with pytest.raises(RuntimeError):
        with command_outputs(first, second, None) as (a, b, none):
            assert none is None and a.suffix == ".npy" and a.parent == tmp_path
            a.write_text("motion")
            raise RuntimeError("the render failed")
    assert files_under(tmp_path) == {second} and second.read_text() == "the previous report"
    with command_outputs(first, second) as (a, b):
        a.write_text("motion")
        b.write_text("report")
    assert first.read_text() == "motion" and second.read_text() == "report"
    assert files_under(tmp_path) == {first, second}


# --- outputs of each command ------------------------------------------------------------------------------

OUTPUT_COMMANDS = {  # command line with {out}: where an output goes, and the option the error must name
    "convert": (["convert", SQUAT, "{out}.npy"], "output"),
    "render": (["render", SQUAT, "{out}.gif"], "output"),
    "retarget": (["retarget", SQUAT, "-o", "{out}.npz"], "--output"),
    "retarget --report": (["retarget", SQUAT, "-o", "{tmp}/ok.npz", "--report", "{out}.json"], "--report"),
    "retarget --render": (["retarget", SQUAT, "-o", "{tmp}/ok.npz", "--render", "{out}.gif"], "--render"),
    "generate": (["generate", "wave with the right hand", "-o", "{out}.npy", "--model", "{tmp}/no_model"], "--out"),
    "generate --render": (["generate", "wave", "-o", "{tmp}/ok.npy", "--render", "{out}.gif", "--model",
                           "{tmp}/no_model"], "--render"),
    "predict": (["predict", SQUAT, "-o", "{out}.npy", "--model", "{tmp}/no_model"], "--out"),
    "pose": (["pose", "{tmp}/video.mp4", "-o", "{out}.npy"], "--output"),
}


@pytest.mark.parametrize("place", ["missing folder", "unwritable", "a folder"])
@pytest.mark.parametrize("name", list(OUTPUT_COMMANDS))
def test_every_command_refuses_a_bad_output_before_working(capsys, tmp_path, name, place):
    template, option = OUTPUT_COMMANDS[name]
    work = tmp_path / "work"
    work.mkdir()
    (work / "video.mp4").write_bytes(b"not a video")
    out = {"missing folder": work / "missing" / "x", "unwritable": UNWRITABLE / "x", "a folder": work / "dir"}[place]
    if place == "a folder":
        for suffix in (".npy", ".gif", ".npz", ".json"):
            (work / f"dir{suffix}").mkdir()
    before = files_under(work)
    args = [str(a).format(out=out, tmp=work) for a in template]
    code, _, err = run_cli(capsys, *args)
    assert_one_line_error(code, err, args[0], option)
    assert files_under(work) == before, "a failed command left something behind"


def test_a_command_that_fails_part_way_leaves_none_of_its_outputs(capsys, tmp_path, monkeypatch):
    import motionllm.retargeting.render as retarget_render

    def broken_render(*args, **kwargs):
        raise MotionLLMError("cannot render: the video encoder is missing")

    monkeypatch.setattr(retarget_render, "render_retarget", broken_render)
    (tmp_path / "r.json").write_text("yesterday's report")
    code, _, err = run_cli(capsys, "retarget", SQUAT, "-o", tmp_path / "r.npz", "--report", tmp_path / "r.json",
                           "--render", tmp_path / "r.gif")
    assert_one_line_error(code, err, "retarget", "video encoder")
    assert files_under(tmp_path) == {tmp_path / "r.json"} and (tmp_path / "r.json").read_text() == "yesterday's report"


# --- arguments before models ------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["generate", "fly to the moon", "-o", "{tmp}/x.npy"], "not a motion command"),  # the ROS commander's check
    (["generate", "   ", "-o", "{tmp}/x.npy"], "the command is empty"),
    (["generate", "wave", "-o", "{tmp}/x.npy", "--seconds", "-1"], "--seconds: seconds must be in (0, 10]"),
    (["generate", "wave", "-o", "{tmp}/x.npy", "--seconds", "nan"], "got nan"),
    (["generate", "wave", "-o", "{tmp}/x.npy", "--seconds", "60"], "got 60"),
    (["generate", "wave", "-o", "{tmp}/x.npy", "--top-p", "0"], "top-p"),
    (["generate", "jump forward twice", "-o", "{tmp}/x.npy"], None),  # passes every check
    (["predict", SQUAT, "-o", "{tmp}/x.npy", "--seconds", "0"], "--seconds"),
    (["predict", "{tmp}/missing.npy", "-o", "{tmp}/x.npy"], "not found"),
    (["inbetween", SQUAT, "{tmp}/missing.npy", "-o", "{tmp}/x.npy"], "not found"),
    (["caption", SQUAT, "--window", "0.01"], "--window must be in [0.2, 10]"),
    (["caption", "{tmp}/missing.npy"], "not found"),
    (["describe-video", "{tmp}/missing.mp4", "--window", "0"], "--window must be in 0.4..10"),  # not --step
    (["describe-video", "{tmp}/missing.mp4", "--window", "30"], "--window must be in"),  # not window_seconds
    (["describe-video", "{tmp}/missing.mp4", "--step", "-1"], "--step must be in"),
    (["describe-video", "{tmp}/missing.mp4", "--max-gap", "nan"], "--max-gap"),
    (["ask", SQUAT, ""], "the question is empty"),
    (["ask", SQUAT, "what is the capital of France?"], "not a question about the motion"),
    (["ask", "{tmp}/missing.npy", "which hand?"], "not found"),
])
def test_arguments_are_checked_before_the_model_loads(capsys, tmp_path, args, message):
    args = [str(a).format(tmp=tmp_path) for a in args] + ["--model", str(tmp_path / "no_model")]
    code, _, err = run_cli(capsys, *args)
    if message is None:  # passes every check: the model load is what fails
        assert_one_line_error(code, err, args[0], "no_model")
    else:
        assert_one_line_error(code, err, args[0], message)
    assert list(tmp_path.iterdir()) == []


# --- fuzz: malformed files and arguments through every file command ----------------------------------------

def malformed_files(folder: Path, rng: np.random.Generator) -> list[Path]:
    good = io.BytesIO()
    np.save(good, np.load(SQUAT))
    files = {
        "empty.npy": b"",
        "noise.npy": rng.bytes(400),
        "truncated.npy": good.getvalue()[:300],
        "noise.bvh": rng.bytes(300),
        "header_only.bvh": b"HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n",
        "noise.mp4": rng.bytes(2000),
        "noise.json": b"{[" + rng.bytes(50),
        "noise.npz": rng.bytes(500),
        "noise.amc": b":FULLY-SPECIFIED\n1\nroot x y z\n",
    }
    paths = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    arrays = {"wrong_shape.npy": rng.normal(size=(30, 5)), "nan.npy": np.full((30, 22, 3), np.nan),
              "zeros.npy": np.zeros((30, 22, 3)), "no_frames.npy": np.zeros((0, 22, 3)),
              "inf.npy": np.full((30, 22, 3), np.inf), "strings.npy": np.array(["a", "b"])}
    for name, array in arrays.items():
        np.save(folder / name, array)
        paths.append(folder / name)
    np.save(folder / "pickled.npy", np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    paths.append(folder / "pickled.npy")
    return paths


FUZZ_COMMANDS = [  # {in}: a malformed file; {out}: an output in a clean folder; {x}: a random argument value
    ["convert", "{in}", "{out}.npy"],
    ["convert", "{in}", "{out}.bvh", "--fps", "{x}"],
    ["render", "{in}", "{out}.gif"],
    ["retarget", "{in}", "-o", "{out}.npz", "--report", "{out}.json"],
    ["retarget", "{in}", "-o", "{out}.npz", "--fps", "{x}"],
    ["pose", "{in}", "-o", "{out}.npy"],
    ["caption", "{in}", "--model", "{none}"],
    ["caption", "{in}", "--window", "{x}", "--model", "{none}"],
    ["ask", "{in}", "which hand moves?", "--model", "{none}"],
    ["predict", "{in}", "-o", "{out}.npy", "--seconds", "{x}", "--model", "{none}"],
    ["inbetween", "{in}", "{in}", "-o", "{out}.npy", "--model", "{none}"],
    ["generate", "{text}", "-o", "{out}.npy", "--seconds", "{x}", "--model", "{none}"],
    ["corpus", "--validate", "{in}"],
    ["bag", "from-video", "{in}", "-o", "{out}", "--seconds", "{x}"],
]
ODD_VALUES = ["-1", "0", "nan", "inf", "-inf", "1e308", "-3", "1e-9"]
ODD_TEXTS = ["", "   ", "fly to the moon", "\x00\x01", "jump " * 300, "what is the capital of France?", "🤖" * 20]


def test_fuzz_every_file_command_fails_in_one_line_and_leaves_nothing(capsys, tmp_path):
    rng = np.random.default_rng(19)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    malformed = malformed_files(inputs, rng)
    before = files_under(inputs)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    failures = []
    for command, path in [(command, path) for command in FUZZ_COMMANDS for path in malformed]:  # every pair
        values = {"in": path, "out": out_dir / "result", "none": tmp_path / "no_model",
                  "x": rng.choice(ODD_VALUES), "text": rng.choice(ODD_TEXTS)}
        args = [a.format(**values) for a in command]
        with warnings.catch_warnings(record=True) as warned:  # a warning prints its source line: noise too
            warnings.simplefilter("always")
            try:
                code, out, err = run_cli(capsys, *args)
            except Exception as exc:  # noqa: BLE001 - a traceback the user would see
                failures.append(f"{' '.join(args)[:160]} -> raised {type(exc).__name__}: {str(exc)[:200]}")
                capsys.readouterr()
                continue
        if warned:
            failures.append(f"{' '.join(args)[:160]} -> warned {warned[0].category.__name__}: {warned[0].message}")
        lines = err.strip().splitlines()
        one_line = len(lines) == 1 and lines[0].startswith(f"motionllm {args[0]}") and ": error: " in lines[0]
        if args[:2] == ["corpus", "--validate"] and code == 1 and not err and "0/1 clips pass" in out:
            one_line = True  # a validator's verdict, not an error: the clip failed its checks, the report says which
        if code in (0, None) or not one_line or "Traceback" in out + err or any(out_dir.iterdir()):
            failures.append(f"{' '.join(args)[:160]} -> exit {code}, stderr {err[-400:]!r}, "
                            f"left {sorted(p.name for p in out_dir.iterdir())}")
        for p in out_dir.iterdir():
            p.unlink()
    assert files_under(inputs) == before, "an input was changed or a file was written beside it"
    assert not (tmp_path / "no_model").exists()
    assert not failures, "\n".join(failures)


def test_the_entry_point_prints_one_line_with_no_library_noise(tmp_path):
    """A refused command in a fresh process: no TensorFlow Lite, absl, protobuf or weight-loading lines."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY")}
    result = subprocess.run([sys.executable, "-m", "motionllm.cli", "generate", "fly to the moon", "-o",
                             str(tmp_path / "x.npy")], capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "not a motion command" in result.stderr, result.stderr


def test_pose_on_a_real_video_prints_no_tensorflow_lite_or_absl_lines(tmp_path, video_path):
    """MediaPipe's C++ start-up lines ("Created TensorFlow Lite XNNPACK delegate", absl's "All log messages
    before absl::InitializeLog()", the feedback manager's) go straight to the terminal unless silenced."""
    import subprocess
    import sys

    import cv2

    frames = tmp_path / "frames"
    frames.mkdir()
    capture = cv2.VideoCapture(str(video_path))
    for k in range(8):
        ok, image = capture.read()
        assert ok
        cv2.imwrite(str(frames / f"{k:03d}.png"), image)
    result = subprocess.run([sys.executable, "-m", "motionllm.cli", "pose", str(frames), "-o", str(tmp_path / "p.npy")],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    assert "person found in 8" in result.stdout


def test_a_person_of_implausible_size_is_warned_about(capsys, tmp_path):
    np.save(tmp_path / "mm.npy", np.load(SQUAT) * 1000.0)  # millimetres given as metres
    code, out, err = run_cli(capsys, "convert", tmp_path / "mm.npy", tmp_path / "out.npy")
    assert code == 0 and err.startswith("warning: mm.npy: the person would be") and "m tall" in err, err
    assert err.count("\n") == 1 and "--units" in err
    code, _, err = run_cli(capsys, "convert", SQUAT, tmp_path / "ok.npy")
    assert code == 0 and err == ""
