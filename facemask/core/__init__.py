"""Types, labels, configs, errors and boxes: what every stage shares."""
