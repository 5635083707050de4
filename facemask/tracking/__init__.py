"""The tracker: ids per person and smoothed labels; no drawing, no I/O."""
