"""motionllm.engines: ONNX export, ONNX Runtime CPU inference and TensorRT compilation."""
