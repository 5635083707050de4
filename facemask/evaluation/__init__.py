"""Scoring a model on a folder, and timing the pipeline."""
