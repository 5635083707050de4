"""Reading and writing: frame sources, images, safe writes, video encoding."""
