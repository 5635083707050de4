"""Face detectors: CenterFace (the default) and the res10 SSD, one loader, one final cut."""
