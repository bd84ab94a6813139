"""The action library: every action type registers itself in `REGISTRY` (see `common.action`)."""
from motionllm.corpus.actions import arms, idle, jumps, locomotion, stairs, whole_body  # noqa: F401
from motionllm.corpus.actions.common import REGISTRY, ActionType, Ctx, Segment, State

__all__ = ["REGISTRY", "ActionType", "Ctx", "Segment", "State"]
