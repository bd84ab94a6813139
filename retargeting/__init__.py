"""motionllm.retargeting: SMPL-22 motion to humanoid robot joint trajectories (Pinocchio + pink)."""
