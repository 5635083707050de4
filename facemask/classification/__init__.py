"""The mask classifier: model cards, crops, the runtime, the shipped models."""
