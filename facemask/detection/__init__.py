"""Face detectors: res10 SSD, YuNet, their fusion, and one loader with one final cut."""
