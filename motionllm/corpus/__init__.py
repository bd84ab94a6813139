"""The embedded motion-language corpus: a generator of HumanML3D-format training data.

HumanML3D itself cannot be redistributed, so the project generates its own: kinematically animated
people (`body`, `rig`, `steps`, `paths`, `actions`) doing sequences of everyday actions (`sequence`),
captioned from structured labels (`captions`), checked for physical plausibility (`validate`) and
written like HumanML3D (`generate`). The `motionllm corpus` command is in `cli`. See docs/corpus.md.
"""

GENERATOR_VERSION = "1.0"
