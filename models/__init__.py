"""motionllm.models: the learned models (motion tokenizer, evaluator, motion-language LLM)."""
