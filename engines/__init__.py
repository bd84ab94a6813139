"""motionllm.engines: ONNX export, ONNX Runtime CPU inference and TensorRT compilation.

Light on purpose (no torch import here): command-line parsers read ENGINE_CHOICES.
"""

# How the motion LLM runs its decode steps: the ONNX Runtime engine beside the model when there is one for it
# (auto), required (onnx), or never (torch). See llm_steps.py.
ENGINE_CHOICES = ("auto", "onnx", "torch")

# What the torch layers read prompts (the prefill) in: bfloat16 where the CPU computes it natively and a step
# engine runs the one-token steps (auto), or as asked. See MotionLLM.hold_layers_in.
PROMPT_PRECISIONS = ("auto", "bfloat16", "float32")
