"""The one builder and the one loop, the overlay, run statistics and stop signals."""
