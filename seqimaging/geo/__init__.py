"""Satellite and radar image series: dated rasters to cubes to training windows."""
