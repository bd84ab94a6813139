"""Camera bags from videos (`motionllm bag from-video`, motionllm.replay.bags): read back with rosbags and with
rclpy's own deserialisation; bad input in one line, nothing left behind."""
from __future__ import annotations

import numpy as np
import pytest

from motionllm import cli

START = 1_700_000_000.0


def read_bag(path):
    from rosbags.rosbag2 import Reader
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_KILTED)
    with Reader(path) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        messages = [(c.topic, t, raw, store.deserialize_cdr(raw, c.msgtype)) for c, t, raw in reader.messages()]
    return counts, messages


def test_a_video_becomes_a_camera_bag_at_its_own_timing(video_path, tmp_path, capsys):
    from motionllm.perception.root import focal_length
    from motionllm.perception.sources import VideoFileSource

    out = tmp_path / "camera_bag"
    assert cli.main(["bag", "from-video", str(video_path), "-o", str(out), "--width", "360", "--seconds", "0.5",
                     "--start-time", str(START), "--json"]) == 0
    assert '"frames": 30' in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["camera_bag.mcap", "metadata.yaml"]
    assert [p.name for p in tmp_path.iterdir()] == ["camera_bag"], "the staging folder was left behind"
    counts, messages = read_bag(out)
    assert counts == {"/camera/image_raw": 30, "/camera/camera_info": 30}
    images = [m for topic, _, _, m in messages if topic == "/camera/image_raw"]
    stamps = np.array([m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in images])
    assert stamps[0] == int(START * 1e9) and np.allclose(np.diff(stamps), 1e9 / 60, atol=1)  # the video: 60 fps
    with VideoFileSource(video_path, fps=None, width=360) as source:
        first, _ = next(iter(source))
    image = images[0]
    assert (image.encoding, image.width, image.height, image.step) == ("rgb8", 360, 640, 1080)
    np.testing.assert_array_equal(np.asarray(image.data).reshape(640, 360, 3), first)
    info = next(m for topic, _, _, m in messages if topic == "/camera/camera_info")
    assert info.k[0] == pytest.approx(focal_length(360)) and info.k[2] == 180.0 and info.header.frame_id == "camera"

    # the bytes are ROS 2's own CDR: rclpy reads them as its sensor_msgs/Image
    rclpy_serialization = pytest.importorskip("rclpy.serialization")
    from sensor_msgs.msg import Image

    raw = next(raw for topic, _, raw, _ in messages if topic == "/camera/image_raw")
    message = rclpy_serialization.deserialize_message(raw, Image)
    assert (message.width, message.height, message.encoding) == (360, 640, "rgb8")
    np.testing.assert_array_equal(np.frombuffer(bytes(message.data), np.uint8).reshape(640, 360, 3), first)


@pytest.mark.parametrize("case, message", [
    ("exists", "already exists"), ("no folder", "does not exist"), ("not a video", "cannot open as a video"),
    ("missing video", "missing.mp4"), ("bad seconds", "--seconds must be positive"), ("bad width", "--width"),
])
def test_bad_bag_requests_fail_in_one_line_and_leave_nothing(video_path, tmp_path, capsys, case, message):
    (tmp_path / "exists").mkdir()
    (tmp_path / "image.mp4").write_bytes(b"\x00" * 2048)
    source, out, extra = str(video_path), tmp_path / "bag", []
    if case == "exists":
        out = tmp_path / "exists"
    elif case == "no folder":
        out = tmp_path / "nowhere" / "bag"
    elif case == "not a video":
        source = str(tmp_path / "image.mp4")
    elif case == "missing video":
        source = str(tmp_path / "missing.mp4")
    elif case == "bad seconds":
        extra = ["--seconds", "-1"]
    else:
        extra = ["--width", "-5"]
    before = sorted(p.name for p in tmp_path.iterdir())
    assert cli.main(["bag", "from-video", source, "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("motionllm bag: error:") and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
