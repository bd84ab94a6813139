"""Maps the library folders of the design card onto one import namespace, `motionllm`.

`models/`, `engines/` and `retargeting/` live at the repository root (the user's layout) but import as
`motionllm.models`, `motionllm.engines`, `motionllm.retargeting`; nothing imports as a bare `models`.
Metadata lives in pyproject.toml.
"""
from setuptools import find_packages, setup

FOLDERS = {
    "motionllm": "motionllm",
    "motionllm.models": "models",
    "motionllm.engines": "engines",
    "motionllm.retargeting": "retargeting",
}

packages, package_dir = [], {}
for name, folder in FOLDERS.items():
    package_dir[name] = folder
    packages += [name] + [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=package_dir)
