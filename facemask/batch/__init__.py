"""`facemask batch`: a video archive processed file by file, on a Ray cluster or in this process."""
