"""motionllm.engines: ONNX export, ONNX Runtime CPU inference and TensorRT compilation.

Light on purpose (no torch import here): command-line parsers read ENGINE_CHOICES.
"""

# How the motion LLM runs its decode steps: the ONNX Runtime engine beside the model when there is one for it
# (auto), required (onnx), or never (torch). See llm_steps.py.
ENGINE_CHOICES = ("auto", "onnx", "torch")
