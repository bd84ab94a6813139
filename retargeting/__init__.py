"""motionllm.retargeting: SMPL-22 human motion -> joint trajectories a humanoid robot can execute.

    from motionllm.retargeting import Retargeter, evaluate
    retargeter = Retargeter("g1")                  # a built-in profile (g1, talos) or a profile .yaml
    motion = retargeter.retarget(joints, fps=20)   # RobotMotion at the robot's control rate
    report = evaluate(motion, retargeter.robot)    # QualityReport: limits, sliding, tracking, collisions
    motion.save("walk_g1.npz")
    plan = command_trajectory(motion, retargeter.robot, start)   # what a robot is sent: lead-in, checked
    imitation = LiveImitation(chunk_seconds=1.0)   # live skeletons -> chunks to retarget (imitation.py)
    plan = continue_trajectory(chunk_motion, retargeter.robot, start, pending)  # a chunk after the one playing

Nouns: `RobotProfile` (YAML: URDF, keypoints, scaling, rates, margins), `Robot` (Pinocchio model +
profile), `Retargeter` (pink IK per control frame), `RobotMotion` (the trajectory), `QualityReport`,
`LiveImitation` (a tracked person's skeletons cut into chunks for live imitation).
Pinocchio and pink are imported when a robot is built, not when this package is imported.
"""
from motionllm.retargeting.imitation import ImitationChunk, LiveImitation
from motionllm.retargeting.motion import RobotMotion
from motionllm.retargeting.playback import (CommandTrajectory, TrajectoryRefused, command_trajectory,
                                            continue_trajectory)
from motionllm.retargeting.profile import (DEFAULT_ROBOT, ProfileError, RobotProfile, available_robots,
                                           load_profile)
from motionllm.retargeting.quality import QualityReport, evaluate
from motionllm.retargeting.render import render_retarget
from motionllm.retargeting.retargeter import Retargeter
from motionllm.retargeting.robot import Robot

__all__ = ["DEFAULT_ROBOT", "CommandTrajectory", "ImitationChunk", "LiveImitation", "ProfileError", "QualityReport",
           "Retargeter", "Robot", "RobotMotion", "RobotProfile", "TrajectoryRefused", "available_robots",
           "command_trajectory", "continue_trajectory", "evaluate", "load_profile", "render_retarget"]
