"""Learned listening: speech embeddings, small detectors over them, and their training.

The speech embeddings come from the openWakeWord 0.4.0 wheel's ONNX resource files
(Google's speech embedding), run with onnxruntime; the detectors are small MLPs made by
``haven train`` from the intents' own sentences and stored under ``models/detectors/``.
"""
