"""Training: data, splits, augmentation, the networks, fitting, calibration, reports and export."""
