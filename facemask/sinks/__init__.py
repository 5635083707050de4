"""Outputs: every one is write(frame, faces) and close()."""
